//! JSON Schemas (draft 2020-12) of the instance and outcome formats,
//! derived from the very types that read instances (§A.1, §B.1) and write
//! outcomes (§A.2, §B.2–§B.4), so they cannot drift from them. Behind the
//! `schema` feature.
//!
//! A schema checks shapes, types, required and unknown fields and the
//! ranges of single numbers; the rules that relate several values (unique
//! ids, a total score that stays finite) are checked by validation only.

use procura_mechanisms::procurement::InstanceSpec;
use procura_mechanisms::threshold::ThresholdSpec;
use schemars::JsonSchema;

use crate::write::{to_json, OutcomeJson};

/// An instance file: procurement (with `providers`) or threshold (with
/// `users`).
#[derive(JsonSchema)]
#[schemars(title = "procura instance", untagged)]
#[allow(dead_code)] // Only its schema is used.
enum InstanceFile {
    /// A procurement instance (§A.1).
    Procurement(InstanceSpec),
    /// A threshold instance (§B.1).
    Threshold(ThresholdSpec),
}

/// The JSON Schema of instance files, pretty-printed, ending in a newline.
#[must_use]
pub fn instance() -> String {
    to_json(&schemars::schema_for!(InstanceFile))
}

/// The JSON Schema of the outcomes `procura clear` writes (one mechanism,
/// `--format json`), pretty-printed, ending in a newline.
#[must_use]
pub fn outcome() -> String {
    let mut schema = schemars::schema_for!(OutcomeJson<'static>);
    schema.insert("title".to_owned(), "procura outcome".into());
    to_json(&schema)
}
