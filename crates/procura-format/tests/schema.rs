//! The JSON Schemas of `procura schema` against every shipped example:
//! each instance of `examples/` and of the spec's worked examples (copied to
//! `procura-mechanisms/tests/data/`) validates against the instance
//! schema, each expected outcome and each outcome procura writes for them
//! against the outcome schema, and files that validation refuses for a
//! single field's sake are refused by the schema too.

use std::path::{Path, PathBuf};

use procura_format::{read, schema, write};
use procura_mechanisms::procurement::{self, Auction};
use procura_mechanisms::threshold::{subsidy, withdrawal};
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn validator(schema: &str) -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(schema).expect("the schema is JSON");
    jsonschema::draft202012::new(&schema).expect("a valid draft 2020-12 schema")
}

fn json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("readable");
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn check(validator: &jsonschema::Validator, document: &Value, name: &str) {
    let errors: Vec<String> = validator
        .iter_errors(document)
        .map(|error| format!("{} at {}", error, error.instance_path))
        .collect();
    assert!(errors.is_empty(), "{name}: {errors:#?}");
}

/// The worked examples: (instances, expected outcomes).
fn worked_examples() -> (Vec<PathBuf>, Vec<PathBuf>) {
    let folder = root().join("crates/procura-mechanisms/tests/data");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)
        .expect("the copied examples")
        .map(|entry| entry.expect("an entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .partition(|path| !path.to_string_lossy().ends_with(".expected.json"))
}

#[test]
fn every_shipped_instance_validates() {
    let validator = validator(&schema::instance());
    let (mut instances, _) = worked_examples();
    assert_eq!(instances.len(), 12, "six procurement and six threshold");
    instances.push(root().join("examples/market.json"));
    instances.push(root().join("examples/threshold.json"));
    for path in &instances {
        check(&validator, &json(path), &path.display().to_string());
    }
}

#[test]
fn every_expected_and_written_outcome_validates() {
    let validator = validator(&schema::outcome());
    let (instances, expected) = worked_examples();
    assert_eq!(expected.len(), 6 * 5 + 6 * 2);
    for path in &expected {
        check(&validator, &json(path), &path.display().to_string());
    }
    let mut instances = instances;
    instances.push(root().join("examples/market.json"));
    instances.push(root().join("examples/threshold.json"));
    for path in &instances {
        let text = std::fs::read_to_string(path).expect("readable");
        let name = path.display().to_string();
        let written: Vec<String> = match read::procurement_instance(&text) {
            Ok(instance) => Auction::ALL
                .into_iter()
                .filter_map(|auction| procurement::clear(&instance, auction).ok())
                .map(|outcome| write::procurement_outcome(&instance, &outcome).expect("writes"))
                .collect(),
            Err(_) => {
                let instance = read::threshold_instance(&text).expect("a valid instance");
                let rights = withdrawal::clear(&instance, instance.protocol()).expect("clears");
                let subsidy = subsidy::clear(&instance).expect("clears");
                vec![
                    write::withdrawal_outcome(&instance, &rights).expect("writes"),
                    write::subsidy_outcome(&instance, &subsidy).expect("writes"),
                ]
            }
        };
        assert!(!written.is_empty(), "{name}");
        for text in written {
            let document: Value = serde_json::from_str(&text).expect("JSON");
            check(&validator, &document, &name);
        }
    }
}

#[test]
fn instances_with_a_bad_field_are_refused() {
    let validator = validator(&schema::instance());
    let market = r#""providers": [{"id": "a", "bid": 1, "quality": 0.5, "utility": 1}]"#;
    let users = r#""users": [{"id": "u", "cost": 1, "capacity": 2}]"#;
    for (case, text) in [
        ("budget 0", format!(r#"{{"budget": 0, {market}}}"#)),
        ("no budget", format!("{{{market}}}")),
        ("unknown field", format!(r#"{{"budget": 1, "bugdet": 1, {market}}}"#)),
        ("liquidity 2", format!(r#"{{"budget": 1, "liquidity": 2, {market}}}"#)),
        ("null volume", r#"{"budget": 1, "providers": [{"id": "a", "bid": 1, "quality": 0.5, "utility": 1, "volume": null}]}"#.to_owned()),
        ("quality 1.5", r#"{"budget": 1, "providers": [{"id": "a", "bid": 1, "quality": 1.5, "utility": 1}]}"#.to_owned()),
        ("negative bid", r#"{"budget": 1, "providers": [{"id": "a", "bid": -1, "quality": 0.5, "utility": 1}]}"#.to_owned()),
        ("string bid", r#"{"budget": 1, "providers": [{"id": "a", "bid": "1", "quality": 0.5, "utility": 1}]}"#.to_owned()),
        ("empty id", r#"{"budget": 1, "providers": [{"id": "", "bid": 1, "quality": 0.5, "utility": 1}]}"#.to_owned()),
        ("unknown provider field", r#"{"budget": 1, "providers": [{"id": "a", "bid": 1, "quality": 0.5, "utility": 1, "cost": 1}]}"#.to_owned()),
        ("threshold 0", format!(r#"{{"threshold": 0, {users}}}"#)),
        ("bad protocol", format!(r#"{{"threshold": 1, "protocol": "random", {users}}}"#)),
        ("zero capacity", r#"{"threshold": 1, "users": [{"id": "u", "cost": 1, "capacity": 0}]}"#.to_owned()),
        ("both records", format!(r#"{{"budget": 1, "threshold": 1, {market}, {users}}}"#)),
    ] {
        let document: Value = serde_json::from_str(&text).expect("JSON");
        assert!(!validator.is_valid(&document), "{case} validated: {text}");
    }
    // The same shapes with the field fixed validate.
    for text in [
        format!(r#"{{"budget": 1, "liquidity": 0.5, {market}}}"#),
        format!(r#"{{"threshold": 1, "protocol": "small-first", {users}}}"#),
    ] {
        let document: Value = serde_json::from_str(&text).expect("JSON");
        check(&validator, &document, &text);
    }
}

#[test]
fn outcomes_name_a_known_mechanism() {
    let validator = validator(&schema::outcome());
    let outcome = |mechanism: &str| -> Value {
        serde_json::from_str(&format!(
            r#"{{"mechanism": "{mechanism}", "null": false, "winners": [], "payments": [],
                "total_cash": 0, "total_tokens": 0, "value": 0}}"#
        ))
        .expect("JSON")
    };
    assert!(validator.is_valid(&outcome("qmia")));
    assert!(!validator.is_valid(&outcome("vickrey")));
}
