//! JSON between Python objects and the text the library reads and writes,
//! without Python's `json` module on the common path (it was most of the
//! cost of a `clear` call).
//!
//! - [`to_python`] reads JSON text into the objects `json.loads` gives:
//!   objects as `dict`s in document order, arrays as `list`s, integers as
//!   `int`, other numbers as `float`;
//! - [`text_of`] writes a `dict` (or any JSON value) as the text
//!   `json.dumps` writes, up to the spelling of numbers (both spell a
//!   float so that it reads back as the same double). Anything beyond plain
//!   JSON values (a key that is not a string, a tuple, a NumPy scalar, a
//!   nesting deeper than [`MAX_DEPTH`]) goes through `json.dumps` itself,
//!   so it is refused or converted exactly as `json.dumps` would.

use std::fmt;
use std::fmt::Write as _;

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString};
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::{input_error, python_message};

/// Deeper values go through `json.dumps` (which finds circular
/// references); the library's parser refuses nesting beyond 128 anyway.
const MAX_DEPTH: usize = 64;

/// The Python objects of JSON text, as `json.loads` reads it.
pub(crate) fn to_python<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = Seed { py }
        .deserialize(&mut deserializer)
        .map_err(|error| input_error(format!("not JSON: {error}")))?;
    deserializer
        .end()
        .map_err(|error| input_error(format!("not JSON: {error}")))?;
    value.map_err(|error| error.0)
}

/// A Python error carried through serde's visitor, which cannot hold one.
struct Failed(PyErr);

struct Seed<'py> {
    py: Python<'py>,
}

type Built<'py> = Result<Bound<'py, PyAny>, Failed>;

impl<'de, 'py> DeserializeSeed<'de> for Seed<'py> {
    type Value = Built<'py>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Built<'py>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, 'py> Visitor<'de> for Seed<'py> {
    type Value = Built<'py>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Built<'py>, E> {
        Ok(Ok(PyBool::new(self.py, value).to_owned().into_any()))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Built<'py>, E> {
        Ok(Ok(PyInt::new(self.py, value).into_any()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Built<'py>, E> {
        Ok(Ok(PyInt::new(self.py, value).into_any()))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Built<'py>, E> {
        Ok(Ok(PyFloat::new(self.py, value).into_any()))
    }

    fn visit_str<E>(self, value: &str) -> Result<Built<'py>, E> {
        Ok(Ok(PyString::new(self.py, value).into_any()))
    }

    fn visit_unit<E>(self) -> Result<Built<'py>, E> {
        Ok(Ok(self.py.None().into_bound(self.py)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Built<'py>, A::Error> {
        let list = PyList::empty(self.py);
        while let Some(item) = seq.next_element_seed(Seed { py: self.py })? {
            match item.and_then(|item| list.append(item).map_err(Failed)) {
                Ok(()) => {}
                Err(error) => return Ok(Err(error)),
            }
        }
        Ok(Ok(list.into_any()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Built<'py>, A::Error> {
        let dict = PyDict::new(self.py);
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(Seed { py: self.py })?;
            match value.and_then(|value| dict.set_item(key, value).map_err(Failed)) {
                Ok(()) => {}
                Err(error) => return Ok(Err(error)),
            }
        }
        Ok(Ok(dict.into_any()))
    }
}

/// JSON text of `value`: `str` and `bytes` as they are, anything else as
/// `json.dumps` writes it. `what` names the argument in messages.
pub(crate) fn text_of(value: &Bound<'_, PyAny>, what: &str) -> PyResult<String> {
    if let Ok(text) = value.cast::<PyString>() {
        return Ok(text.to_cow()?.into_owned());
    }
    if let Ok(bytes) = value.cast::<pyo3::types::PyBytes>() {
        return String::from_utf8(bytes.as_bytes().to_vec())
            .map_err(|error| input_error(format!("{what}: not UTF-8: {error}")));
    }
    let mut text = String::new();
    match write_value(value, 0, &mut text) {
        Ok(true) => Ok(text),
        Ok(false) | Err(_) => dumps(value, what),
    }
}

/// `json.dumps(value)`, its error named after `what`.
fn dumps(value: &Bound<'_, PyAny>, what: &str) -> PyResult<String> {
    let json = value.py().import("json")?;
    json.call_method1("dumps", (value,))
        .and_then(|text| text.extract::<String>())
        .map_err(|error| {
            input_error(format!(
                "{what}: cannot be written as JSON: {}",
                python_message(&error)
            ))
        })
}

/// Writes `value` as JSON; `Ok(false)` when it is not a plain JSON value
/// (then `json.dumps` decides).
fn write_value(value: &Bound<'_, PyAny>, depth: usize, out: &mut String) -> PyResult<bool> {
    if depth > MAX_DEPTH {
        return Ok(false);
    }
    if value.is_none() {
        out.push_str("null");
    } else if let Ok(text) = value.cast::<PyString>() {
        let text = text.to_cow()?;
        match serde_json::to_string(text.as_ref()) {
            Ok(quoted) => out.push_str(&quoted),
            Err(_) => return Ok(false),
        }
    } else if value.is_instance_of::<PyBool>() {
        out.push_str(if value.is_truthy()? { "true" } else { "false" });
    } else if value.is_instance_of::<PyInt>() {
        match value.extract::<i64>() {
            Ok(integer) => {
                let _ = write!(out, "{integer}");
            }
            // Beyond 64 bits: its digits, as json.dumps writes them.
            Err(_) => out.push_str(&value.str()?.to_cow()?),
        }
    } else if value.is_instance_of::<PyFloat>() {
        let number: f64 = value.extract()?;
        if number.is_nan() {
            out.push_str("NaN");
        } else if number.is_infinite() {
            out.push_str(if number > 0.0 {
                "Infinity"
            } else {
                "-Infinity"
            });
        } else {
            match serde_json::to_string(&number) {
                Ok(written) => out.push_str(&written),
                Err(_) => return Ok(false),
            }
        }
    } else if let Ok(list) = value.cast::<PyList>() {
        out.push('[');
        for (index, item) in list.iter().enumerate() {
            if index > 0 {
                out.push(',');
            }
            if !write_value(&item, depth + 1, out)? {
                return Ok(false);
            }
        }
        out.push(']');
    } else if let Ok(dict) = value.cast::<PyDict>() {
        out.push('{');
        for (index, (key, item)) in dict.iter().enumerate() {
            let Ok(key) = key.cast::<PyString>() else {
                return Ok(false);
            };
            if index > 0 {
                out.push(',');
            }
            match serde_json::to_string(key.to_cow()?.as_ref()) {
                Ok(quoted) => out.push_str(&quoted),
                Err(_) => return Ok(false),
            }
            out.push(':');
            if !write_value(&item, depth + 1, out)? {
                return Ok(false);
            }
        }
        out.push('}');
    } else {
        return Ok(false);
    }
    Ok(true)
}
