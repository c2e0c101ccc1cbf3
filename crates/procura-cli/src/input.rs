//! Reading instance files: JSON text from a path or standard input, parsed
//! into the library's specs and validated. Errors name the source, the
//! field and the record.

use std::fmt;
use std::io::Read;
use std::path::Path;

use anyhow::{anyhow, Context};
use procura::procurement::{Instance, InstanceSpec};
use procura::threshold::{ThresholdInstance, ThresholdSpec};
use serde::de::DeserializeOwned;

/// Where an instance came from, for error messages.
#[derive(Debug, Clone)]
pub struct Source(String);

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Reads the whole input: the file at `path`, or standard input for `-`.
pub fn read(path: &Path) -> anyhow::Result<(Source, String)> {
    if path == Path::new("-") {
        let source = Source("<stdin>".to_owned());
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .with_context(|| format!("{source}: cannot read"))?;
        Ok((source, text))
    } else {
        let source = Source(path.display().to_string());
        let text =
            std::fs::read_to_string(path).with_context(|| format!("{source}: cannot read"))?;
        Ok((source, text))
    }
}

/// Parses and validates a procurement instance (spec §A.1).
pub fn procurement_instance(source: &Source, text: &str) -> anyhow::Result<Instance> {
    let spec: InstanceSpec = parse_json(source, text, "providers")?;
    Instance::new(spec).map_err(|error| anyhow!("{source}: {error}"))
}

/// Parses and validates a threshold instance (spec §B.1).
pub fn threshold_instance(source: &Source, text: &str) -> anyhow::Result<ThresholdInstance> {
    let spec: ThresholdSpec = parse_json(source, text, "users")?;
    ThresholdInstance::new(spec).map_err(|error| anyhow!("{source}: {error}"))
}

/// The two kinds of instance, told apart by their records' field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Part A: `providers`.
    Procurement,
    /// Part B: `users`.
    Threshold,
}

impl Kind {
    /// "procurement" or "threshold".
    pub fn name(self) -> &'static str {
        match self {
            Kind::Procurement => "procurement",
            Kind::Threshold => "threshold",
        }
    }

    /// The field that holds the records.
    pub fn records(self) -> &'static str {
        match self {
            Kind::Procurement => "providers",
            Kind::Threshold => "users",
        }
    }
}

/// The kind of the instance in `text`, by its top-level fields: `None` when
/// it is not a JSON object or has both or neither of `providers` and
/// `users`.
pub fn kind(text: &str) -> Option<Kind> {
    #[derive(serde::Deserialize)]
    struct Records {
        providers: Option<serde::de::IgnoredAny>,
        users: Option<serde::de::IgnoredAny>,
    }
    let records: Records = serde_json::from_str(text).ok()?;
    match (records.providers.is_some(), records.users.is_some()) {
        (true, false) => Some(Kind::Procurement),
        (false, true) => Some(Kind::Threshold),
        _ => None,
    }
}

/// Deserializes `text`, or explains where and why it is malformed.
///
/// The fast path is plain `serde_json`; only on failure is the text parsed
/// again, with path tracking, to name the field. When the failing field
/// belongs to an element of the `records` array (e.g. `providers[3].bid`)
/// and that element has a string `id`, the message names the id too.
fn parse_json<T: DeserializeOwned>(
    source: &Source,
    text: &str,
    records: &str,
) -> anyhow::Result<T> {
    let trimmed = text.trim_start_matches([' ', '\t', '\n', '\r']);
    if trimmed.is_empty() {
        return Err(anyhow!("{source}: empty input, expected a JSON object"));
    }
    if !trimmed.starts_with('{') {
        return Err(anyhow!("{source}: expected a JSON object at the top level"));
    }
    match serde_json::from_str(text) {
        Ok(value) => Ok(value),
        Err(_) => {
            let mut deserializer = serde_json::Deserializer::from_str(text);
            let error = match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
                // The value parsed, so what failed is the text after it.
                Ok(_) => {
                    let error = deserializer.end().err();
                    let reason =
                        error.map_or_else(|| "malformed JSON".to_owned(), |e| e.to_string());
                    return Err(anyhow!("{source}: {reason}"));
                }
                Err(error) => error,
            };
            let path = error.path().to_string();
            let inner = error.into_inner();
            let location = describe_path(text, &path, records);
            Err(anyhow!("{source}: {location}{inner}"))
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
