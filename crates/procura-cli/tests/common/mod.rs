//! Helpers shared by the CLI integration tests.

use procura::tolerance::{approx_eq, GOLDEN_RELATIVE, PROTOCOL_GOLDEN};
use serde_json::Value;

/// Compares an outcome with a worked example: same keys, same strings and
/// booleans, numbers to 1e-9 relative, and to 1e-6 inside `protocol`
/// (docs/SPECIFICATION.md, "Worked examples").
pub(crate) fn assert_same_outcome(actual: &Value, expected: &Value, at: &str) {
    match (actual, expected) {
        (Value::Number(a), Value::Number(e)) => {
            let (a, e) = (a.as_f64().expect("f64"), e.as_f64().expect("f64"));
            let tolerance = if at.contains(".protocol") {
                PROTOCOL_GOLDEN
            } else {
                GOLDEN_RELATIVE
            };
            assert!(approx_eq(a, e, tolerance), "{at}: {a} vs {e}");
        }
        (Value::Array(a), Value::Array(e)) => {
            assert_eq!(a.len(), e.len(), "{at}: lengths");
            for (k, (a, e)) in a.iter().zip(e).enumerate() {
                assert_same_outcome(a, e, &format!("{at}[{k}]"));
            }
        }
        (Value::Object(a), Value::Object(e)) => {
            let mut keys: Vec<_> = a.keys().collect();
            let mut expected_keys: Vec<_> = e.keys().collect();
            keys.sort();
            expected_keys.sort();
            assert_eq!(keys, expected_keys, "{at}: keys");
            for (key, value) in a {
                assert_same_outcome(value, &e[key], &format!("{at}.{key}"));
            }
        }
        _ => assert_eq!(actual, expected, "{at}"),
    }
}
