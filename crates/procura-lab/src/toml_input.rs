//! TOML text in (experiment files and population files): parsed into a
//! table and deserialized with every error naming its dotted key.
//!
//! TOML integers are 64-bit signed; a larger literal (`seed =
//! 18446744073709551615`) is valid syntax but no TOML value, and the
//! `toml` crate's message for it ("u64 value was too large") names no key.
//! [`table`] names it: on failure the text is parsed again with path
//! tracking (the fast path stays untouched).

use serde::de::DeserializeOwned;

/// Why TOML text could not be read: not TOML at all, or a value that is
/// wrong where it stands.
#[derive(Debug)]
pub(crate) enum TomlError {
    /// The text is not TOML: the `toml` crate's error, with its position.
    Syntax(toml::de::Error),
    /// A value at dotted `key` (empty for the whole file) is wrong.
    Key {
        /// The dotted key, as written (`procurement.cost.high`,
        /// `sweep[0].values[1]`).
        key: String,
        /// What is wrong with it.
        problem: String,
    },
}

/// The TOML integers, for messages.
const INTEGER_RANGE: &str = "-9223372036854775808 to 9223372036854775807";

/// Parses `text` into a table. An integer outside the TOML range is named
/// by its key (`TomlError::Key`); every other failure is a syntax error.
pub(crate) fn table(text: &str) -> Result<toml::Table, TomlError> {
    let syntax = match toml::from_str::<toml::Table>(text) {
        Ok(table) => return Ok(table),
        Err(error) => error,
    };
    // Valid syntax that is no TOML value: find its key.
    let Ok(deserializer) = toml::Deserializer::parse(text) else {
        return Err(TomlError::Syntax(syntax));
    };
    match serde_path_to_error::deserialize::<_, toml::Table>(deserializer) {
        Ok(_) => Err(TomlError::Syntax(syntax)),
        Err(error) => {
            let key = key_of(&error.path().to_string());
            let inner = error.into_inner();
            let literal = inner
                .span()
                .and_then(|span| text.get(span))
                .map(str::trim)
                .filter(|literal| is_integer_literal(literal));
            let problem = match literal {
                Some(literal) => {
                    format!("{literal} is not a TOML integer (they run from {INTEGER_RANGE})")
                }
                None => inner.message().trim().to_owned(),
            };
            if key.is_empty() {
                return Err(TomlError::Syntax(syntax));
            }
            Err(TomlError::Key { key, problem })
        }
    }
}

/// Deserializes `value` (the table at dotted key `at`, or "" for the whole
/// file), naming the full key of any error.
pub(crate) fn deserialize<T: DeserializeOwned>(
    value: toml::Value,
    at: &str,
) -> Result<T, TomlError> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = key_of(&error.path().to_string());
        let problem = error.into_inner().message().trim().to_owned();
        let key = match (at.is_empty(), path.is_empty()) {
            (true, _) => path,
            (false, true) => at.to_owned(),
            (false, false) => format!("{at}.{path}"),
        };
        TomlError::Key { key, problem }
    })
}

/// serde_path_to_error's path as a dotted key: "." (the root) and "?" (an
/// unknown position) are no key.
fn key_of(path: &str) -> String {
    if path == "." || path == "?" {
        String::new()
    } else {
        path.to_owned()
    }
}

/// Whether `literal` is written as a TOML integer: decimal digits with an
/// optional sign, or a 0x/0o/0b prefix, underscores between digits.
fn is_integer_literal(literal: &str) -> bool {
    let unsigned = literal.strip_prefix(['+', '-']).unwrap_or(literal);
    let digits = ["0x", "0o", "0b"]
        .iter()
        .find_map(|prefix| unsigned.strip_prefix(prefix))
        .unwrap_or(unsigned);
    !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_hexdigit() || c == '_')
        && (unsigned.len() != digits.len()
            || digits.chars().all(|c| c.is_ascii_digit() || c == '_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_error(text: &str) -> (String, String) {
        match table(text) {
            Err(TomlError::Key { key, problem }) => (key, problem),
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn integers_outside_the_toml_range_name_their_key() {
        for (text, key, literal) in [
            (
                "seed = 18446744073709551615",
                "seed",
                "18446744073709551615",
            ),
            ("seed = 9223372036854775808", "seed", "9223372036854775808"),
            (
                "[a.b]\nc = -99999999999999999999",
                "a.b.c",
                "-99999999999999999999",
            ),
            ("x = 0xffffffffffffffff", "x", "0xffffffffffffffff"),
            (
                "[[s]]\nv = [1, 2]\n[[s]]\nv = [1, 9_223_372_036_854_775_808]",
                "s[1].v[1]",
                "9_223_372_036_854_775_808",
            ),
            (
                "t = { u = 18446744073709551616 }",
                "t.u",
                "18446744073709551616",
            ),
        ] {
            let (found, problem) = key_error(text);
            assert_eq!(found, key, "{text}");
            assert_eq!(
                problem,
                format!(
                    "{literal} is not a TOML integer (they run from \
                     -9223372036854775808 to 9223372036854775807)"
                ),
                "{text}"
            );
        }
        let table = table("seed = 9223372036854775807").expect("the largest TOML integer");
        assert_eq!(table["seed"].as_integer(), Some(i64::MAX));
    }

    #[test]
    fn syntax_errors_stay_syntax_errors() {
        for text in ["seed = ", "a = 1\na = 2", "[x\n"] {
            assert!(matches!(table(text), Err(TomlError::Syntax(_))), "{text}");
        }
    }

    #[test]
    fn integer_literals() {
        for yes in ["1", "-1", "+1_000", "0xff", "0o17", "0b101"] {
            assert!(is_integer_literal(yes), "{yes}");
        }
        for no in ["1.0", "1e5", "inf", "nan", "\"1\"", "", "0x", "ff", "[1]"] {
            assert!(!is_integer_literal(no), "{no}");
        }
    }
}
