//! Instance files in: JSON text parsed into the specs of
//! `procura-mechanisms` and validated. Errors name the field and the
//! record; the caller adds where the text came from.

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
    let malformed = |message: String| Err(ReadError::Malformed(message));
    let trimmed = text.trim_start_matches([' ', '\t', '\n', '\r']);
    if trimmed.is_empty() {
        return malformed("empty input, expected a JSON object".to_owned());
    }
    if !trimmed.starts_with('{') {
        return malformed("expected a JSON object at the top level".to_owned());
    }
    match serde_json::from_str(text) {
        Ok(value) => Ok(value),
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
