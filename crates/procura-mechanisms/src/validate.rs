//! Validation shared by every instance type: the rules a number can break,
//! how numbers are shown in messages, and the serde helpers that keep
//! instance files strict (`null` is a wrong type, records must be objects).

use std::fmt;

/// Displays a number for a message: plainly when that is short, in
/// scientific notation when it is very large or very small.
#[derive(Debug, Clone, Copy)]
pub struct Number(pub f64);

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let magnitude = self.0.abs();
        if magnitude.is_finite() && magnitude != 0.0 && !(1e-6..1e16).contains(&magnitude) {
            write!(f, "{:e}", self.0)
        } else {
            write!(f, "{}", self.0)
        }
    }
}

/// Which record (a provider or a user) an error is about: its id when it
/// has a usable one, and always its 0-based index in the file's array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordRef {
    /// Position in the records array.
    pub index: usize,
    /// The record's id, if non-empty.
    pub id: Option<String>,
}

impl fmt::Display for RecordRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.id {
            Some(id) => write!(f, "{id:?} (#{})", self.index),
            None => write!(f, "#{}", self.index),
        }
    }
}

/// The rule a number broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// NaN or ±∞.
    Finite,
    /// Must be ≥ 0.
    NonNegative,
    /// Must be > 0.
    Positive,
    /// Must lie in [0, 1].
    UnitInterval,
    /// Must be 0 or at least 2⁻¹⁰²² ≈ 2.2e-308, the smallest normal double:
    /// amounts a subnormal budget would be split into cannot be rounded to
    /// keep both it and every winner's bid (see `procurement/numerics.rs`).
    NotSubnormal,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rule::Finite => "is not finite",
            Rule::NonNegative => "is negative",
            Rule::Positive => "is not > 0",
            Rule::UnitInterval => "is outside [0, 1]",
            Rule::NotSubnormal => {
                "is subnormal: below 2.2250738585072014e-308, the smallest normal double"
            }
        })
    }
}

/// Checks `value` against `rule`, returning it with any -0.0 turned into
/// +0.0, or the field, value and broken rule.
pub(crate) fn check(
    field: &'static str,
    value: f64,
    rule: Rule,
) -> Result<f64, (&'static str, f64, Rule)> {
    if !value.is_finite() {
        return Err((field, value, Rule::Finite));
    }
    let ok = match rule {
        Rule::Finite => true,
        Rule::NonNegative => value >= 0.0,
        Rule::Positive => value > 0.0,
        Rule::UnitInterval => (0.0..=1.0).contains(&value),
        Rule::NotSubnormal => value == 0.0 || value.abs() >= f64::MIN_POSITIVE,
    };
    // Adding +0.0 turns a -0.0 into +0.0, so that no sign of zero reaches a
    // comparison or the output.
    if ok {
        Ok(value + 0.0)
    } else {
        Err((field, value, rule))
    }
}

/// Deserializes an optional value that, when present, must be a value of
/// its type: `null` is a wrong type, not an absent field.
#[cfg(feature = "serde")]
pub(crate) fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// Deserializes an array whose every element is a JSON object, refusing the
/// positional array form that derived struct deserializers also accept, so
/// that every field is named where it is given.
#[cfg(feature = "serde")]
pub(crate) fn objects<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    struct Object<T>(T);

    impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Object<T> {
        fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct ObjectVisitor<T>(std::marker::PhantomData<T>);
            impl<'de, T: serde::Deserialize<'de>> serde::de::Visitor<'de> for ObjectVisitor<T> {
                type Value = Object<T>;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    map: A,
                ) -> Result<Self::Value, A::Error> {
                    T::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Object)
                }
            }
            deserializer.deserialize_map(ObjectVisitor(std::marker::PhantomData))
        }
    }

    let objects: Vec<Object<T>> = serde::Deserialize::deserialize(deserializer)?;
    Ok(objects.into_iter().map(|Object(value)| value).collect())
}
