//! Instance files in: JSON text parsed into the specs of
//! `procura-mechanisms` and validated. Errors name the field and the
//! record; the caller adds where the text came from.
//!
//! A leading UTF-8 byte order mark (U+FEFF, as some editors write) is
//! skipped. A number written nonzero that is below the smallest double
//! (`1e-400`) is refused rather than read as 0; a subnormal one (`5e-324`)
//! is read as written, since it is nonzero (and outcomes write such
//! doubles back that way).

use procura_mechanisms::procurement::{Instance, InstanceError, InstanceSpec};
use procura_mechanisms::threshold::{ThresholdError, ThresholdInstance, ThresholdSpec};
use procura_mechanisms::Market;
use serde::de::DeserializeOwned;

/// Why a text is not a valid instance. The message names the field and,
/// for a record's field, the record (by id and index).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The text is not well-formed JSON of the instance's shape: a syntax
    /// error, a wrong type, an unknown, missing or repeated field.
    #[error("{0}")]
    Malformed(String),
    /// A procurement instance breaks a rule of §A.1.
    #[error(transparent)]
    Procurement(#[from] InstanceError),
    /// A threshold instance breaks a rule of §B.1.
    #[error(transparent)]
    Threshold(#[from] ThresholdError),
}

/// Parses and validates a procurement instance (spec §A.1).
pub fn procurement_instance(text: &str) -> Result<Instance, ReadError> {
    let spec: InstanceSpec = parse_json(text, Market::Procurement)?;
    Ok(Instance::new(spec)?)
}

/// Parses and validates a threshold instance (spec §B.1).
pub fn threshold_instance(text: &str) -> Result<ThresholdInstance, ReadError> {
    let spec: ThresholdSpec = parse_json(text, Market::Threshold)?;
    Ok(ThresholdInstance::new(spec)?)
}

/// The market of the instance in `text`, by its top-level fields: `None`
/// when it is not a JSON object or has both or neither of `providers` and
/// `users`.
#[must_use]
pub fn market(text: &str) -> Option<Market> {
    let text = without_bom(text);
    #[derive(serde::Deserialize)]
    struct Records {
        providers: Option<serde::de::IgnoredAny>,
        users: Option<serde::de::IgnoredAny>,
    }
    let records: Records = serde_json::from_str(text).ok()?;
    match (records.providers.is_some(), records.users.is_some()) {
        (true, false) => Some(Market::Procurement),
        (false, true) => Some(Market::Threshold),
        _ => None,
    }
}

/// Deserializes `text`, or explains where and why it is malformed.
///
/// The fast path is plain `serde_json`; only on failure is the text parsed
/// again, with path tracking, to name the field. When the failing field
/// belongs to an element of the market's records (e.g. `providers[3].bid`)
/// and that element has a string `id`, the message names the id too.
fn parse_json<T: DeserializeOwned>(text: &str, market: Market) -> Result<T, ReadError> {
    let text = without_bom(text);
    let malformed = |message: String| Err(ReadError::Malformed(message));
    let trimmed = text.trim_start_matches([' ', '\t', '\n', '\r']);
    if trimmed.is_empty() {
        return malformed("empty input, expected a JSON object".to_owned());
    }
    if !trimmed.starts_with('{') {
        return malformed("expected a JSON object at the top level".to_owned());
    }
    match serde_json::from_str(text) {
        Ok(value) => match underflow(text) {
            None => Ok(value),
            Some((path, literal)) => malformed(format!(
                "{}{literal} is not zero, but below the smallest double (about 4.9e-324): \
                 it would read as 0",
                describe_path(text, &path, market.records())
            )),
        },
        Err(_) => {
            let mut deserializer = serde_json::Deserializer::from_str(text);
            let error = match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
                // The value parsed, so what failed is the text after it.
                Ok(_) => {
                    let error = deserializer.end().err();
                    return malformed(
                        error.map_or_else(|| "malformed JSON".to_owned(), |e| e.to_string()),
                    );
                }
                Err(error) => error,
            };
            let path = error.path().to_string();
            let inner = error.into_inner();
            let location = describe_path(text, &path, market.records());
            malformed(format!("{location}{inner}"))
        }
    }
}

/// `text` without a leading UTF-8 byte order mark.
fn without_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// 320 zeros: part of every literal that underflows without an exponent.
const LONG_ZEROS: &str = concat!(
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000000",
);

/// The first number literal of `text` (valid JSON) that is written nonzero
/// but reads as 0, with its path (`providers[3].bid`, as
/// serde_path_to_error writes paths). One pass, O(length).
fn underflow(text: &str) -> Option<(String, &str)> {
    // A literal below 2.5e-324 has a negative exponent ("e-", "E-") or,
    // without one, "0." and at least 323 zeros: three substring searches
    // dismiss almost every file before the scan below.
    let may_underflow = text.contains("e-") || text.contains("E-") || text.contains(LONG_ZEROS);
    if !may_underflow {
        return None;
    }
    // Keys are kept as written (with their quotes) and decoded only for
    // the path of a literal that underflows: the scan allocates nothing.
    enum Frame<'a> {
        Object(Option<&'a str>),
        Array(usize),
    }
    let bytes = text.as_bytes();
    let mut stack: Vec<Frame<'_>> = Vec::new();
    let mut expect_key = false;
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        match byte {
            b'{' => {
                stack.push(Frame::Object(None));
                expect_key = true;
                i += 1;
            }
            b'[' => {
                stack.push(Frame::Array(0));
                i += 1;
            }
            b'}' | b']' => {
                stack.pop();
                i += 1;
            }
            b',' => {
                match stack.last_mut() {
                    Some(Frame::Array(index)) => *index += 1,
                    Some(Frame::Object(_)) => expect_key = true,
                    None => {}
                }
                i += 1;
            }
            b':' => {
                expect_key = false;
                i += 1;
            }
            b'"' => {
                // The closing quote: the first one not escaped.
                let mut end = i + 1;
                while let Some(&b) = bytes.get(end) {
                    match b {
                        b'\\' => end += 2,
                        b'"' => break,
                        _ => end += 1,
                    }
                }
                let end = (end + 1).min(bytes.len());
                if expect_key {
                    if let Some(Frame::Object(key)) = stack.last_mut() {
                        *key = text.get(i..end);
                    }
                }
                i = end;
            }
            b'-' | b'0'..=b'9' => {
                let end = bytes[i..]
                    .iter()
                    .position(|b| !matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                    .map_or(bytes.len(), |n| i + n);
                let literal = text.get(i..end).unwrap_or_default();
                if reads_as_zero(literal) {
                    let mut path = String::new();
                    for frame in &stack {
                        match frame {
                            Frame::Object(Some(raw)) => {
                                let Ok(key) = serde_json::from_str::<String>(raw) else {
                                    continue;
                                };
                                if !path.is_empty() {
                                    path.push('.');
                                }
                                path.push_str(&key);
                            }
                            Frame::Object(None) => {}
                            Frame::Array(index) => path.push_str(&format!("[{index}]")),
                        }
                    }
                    return Some((path, literal));
                }
                i = end;
            }
            _ => i += 1,
        }
    }
    None
}

/// Whether a JSON number literal has a nonzero digit before its exponent
/// yet reads as zero (it is below half the smallest subnormal double).
fn reads_as_zero(literal: &str) -> bool {
    // Below 2.5e-324 a literal needs an exponent or over 320 characters
    // (0.000…): the common number is dismissed without being parsed.
    if literal.len() <= 320 && !literal.bytes().any(|b| matches!(b, b'e' | b'E')) {
        return false;
    }
    let mantissa = literal.split(['e', 'E']).next().unwrap_or_default();
    mantissa.bytes().any(|b| matches!(b, b'1'..=b'9'))
        && literal.parse::<f64>().is_ok_and(|x| x == 0.0)
}

/// "providers[3].bid" becomes `provider "acme" (#3): bid: `; a top-level
/// field becomes `budget: `; the root becomes nothing.
fn describe_path(text: &str, path: &str, records: &str) -> String {
    // serde_path_to_error writes "." for the root and "?" for an unknown
    // position, e.g. when the text ends early.
    if path.is_empty() || path == "." || path == "?" {
        return String::new();
    }
    let Some(rest) = path
        .strip_prefix(records)
        .and_then(|rest| rest.strip_prefix('['))
    else {
        return format!("{path}: ");
    };
    let Some((index, field)) = rest.split_once(']') else {
        return format!("{path}: ");
    };
    let Ok(index) = index.parse::<usize>() else {
        return format!("{path}: ");
    };
    let field = field.strip_prefix('.').unwrap_or(field);
    let field = if field == "?" { "" } else { field };
    let record = records.strip_suffix('s').unwrap_or(records);
    let id = serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|value| {
            value
                .get(records)?
                .get(index)?
                .get("id")?
                .as_str()
                .map(str::to_owned)
        })
        .filter(|id| !id.is_empty());
    let who = match id {
        Some(id) => format!("{record} {id:?} (#{index})"),
        None => format!("{record} #{index}"),
    };
    if field.is_empty() {
        format!("{who}: ")
    } else {
        format!("{who}: {field}: ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MARKET: &str = r#"{"budget": 10, "providers": [
        {"id": "acme", "bid": 1, "quality": 0.9, "utility": 1.5},
        {"id": "tiny", "bid": 2, "quality": 0.9, "utility": 1.5}]}"#;

    fn refused(text: &str) -> String {
        procurement_instance(text).expect_err("refused").to_string()
    }

    #[test]
    fn numbers_that_underflow_to_zero_are_refused_naming_the_field() {
        let last = r#""utility": 1.5}]"#;
        let cases = [
            (r#""bid": 2"#, "1e-400", r#"provider "tiny" (#1): bid: "#),
            (r#""bid": 2"#, "-2.5E-999", r#"provider "tiny" (#1): bid: "#),
            (r#""budget": 10"#, "1e-400", "budget: "),
            (last, "2e-324", r#"provider "tiny" (#1): utility: "#),
        ];
        // Without an exponent, a literal needs over 320 characters to
        // underflow; the scan still sees it.
        let long = format!("0.{}1", "0".repeat(400));
        let cases = cases.into_iter().chain([(
            r#""bid": 2"#,
            long.as_str(),
            r#"provider "tiny" (#1): bid: "#,
        )]);
        for (from, literal, location) in cases {
            let (key, rest) = from.split_once(": ").expect("a field");
            let closing = rest.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
            let text = MARKET.replacen(from, &format!("{key}: {literal}{closing}"), 1);
            assert_eq!(
                refused(&text),
                format!(
                    "{location}{literal} is not zero, but below the smallest double (about \
                     4.9e-324): it would read as 0"
                ),
                "{text}"
            );
        }
        // Zero written as zero, and subnormals, read as written.
        for literal in ["0", "0.0", "-0", "0e-400", "0.000e5", "5e-324", "1e-310"] {
            let text = MARKET.replacen(last, &format!(r#""utility": {literal}}}]"#), 1);
            let instance = procurement_instance(&text).expect("valid");
            let utility = instance.providers()[1].utility();
            assert_eq!(
                utility,
                literal.parse::<f64>().expect("a number"),
                "{literal}"
            );
        }
        // Numbers inside strings are not numbers.
        let text = MARKET.replacen(r#""id": "tiny""#, r#""id": "1e-400""#, 1);
        assert!(procurement_instance(&text).is_ok());
    }

    #[test]
    fn paths_name_keys_and_indices() {
        let text = r#"{"a": {"b\"c": [1, {"d": 1e-999}]}}"#;
        assert_eq!(underflow(text), Some(("a.b\"c[1].d".to_owned(), "1e-999")));
        assert_eq!(
            underflow(r#"[1, 2, 3e-500]"#),
            Some(("[2]".to_owned(), "3e-500"))
        );
        assert_eq!(underflow(r#"{"x": "1e-400", "y": 1e-300}"#), None);
    }

    #[test]
    fn a_byte_order_mark_is_skipped() {
        let with_bom = format!("\u{feff}{MARKET}");
        assert_eq!(market(&with_bom), Some(Market::Procurement));
        assert_eq!(
            procurement_instance(&with_bom).expect("valid"),
            procurement_instance(MARKET).expect("valid")
        );
        let threshold = r#"{"users": [{"id": "u", "cost": 1, "capacity": 2}], "threshold": 1}"#;
        assert_eq!(
            market(&format!("\u{feff}{threshold}")),
            Some(Market::Threshold)
        );
        // Only one, and only at the start.
        assert!(procurement_instance(&format!("\u{feff}\u{feff}{MARKET}")).is_err());
        assert!(procurement_instance(&format!(" \u{feff}{MARKET}")).is_err());
    }
}
