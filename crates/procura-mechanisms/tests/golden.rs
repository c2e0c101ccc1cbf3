//! Golden cases: every worked example of the specification (docs/SPECIFICATION.md; copied to
//! `tests/data/`), cleared by every mechanism and compared field by field.

use std::path::PathBuf;

use procura_mechanisms::procurement::{clear, Auction, Instance, InstanceSpec};
use procura_mechanisms::tolerance::{approx_eq, GOLDEN_RELATIVE};
use serde_json::Value;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn read_json(name: &str) -> Value {
    let text = std::fs::read_to_string(data(name)).expect("golden file is readable");
    serde_json::from_str(&text).expect("golden file is JSON")
}

fn number(value: &Value, what: &str) -> f64 {
    value
        .as_f64()
        .unwrap_or_else(|| panic!("{what} is not a number"))
}

fn assert_close(actual: f64, expected: f64, what: &str) {
    assert!(
        approx_eq(actual, expected, GOLDEN_RELATIVE),
        "{what}: got {actual:?}, expected {expected:?}"
    );
}

/// Clears `proc-{case}.json` with `mechanism` and compares with
/// `proc-{case}.{mechanism}.expected.json`.
fn check(case: &str, mechanism: Auction) {
    let text = std::fs::read_to_string(data(&format!("proc-{case}.json"))).expect("instance");
    let spec: InstanceSpec = serde_json::from_str(&text).expect("instance parses");
    let instance = Instance::new(spec).expect("instance is valid");
    let outcome = clear(&instance, mechanism).expect("mechanism applies");
    let expected = read_json(&format!("proc-{case}.{mechanism}.expected.json"));
    let label = format!("proc-{case} {mechanism}");
    let providers = instance.providers();

    assert_eq!(
        expected["mechanism"],
        mechanism.name(),
        "{label}: mechanism"
    );
    let winners: Vec<&str> = outcome.winners().map(|i| providers[i].id()).collect();
    let expected_winners: Vec<&str> = expected["winners"]
        .as_array()
        .expect("winners array")
        .iter()
        .map(|id| id.as_str().expect("winner id"))
        .collect();
    assert_eq!(winners, expected_winners, "{label}: winners");

    let payments = expected["payments"].as_array().expect("payments array");
    assert_eq!(outcome.awards().len(), payments.len(), "{label}: payments");
    for (award, payment) in outcome.awards().iter().zip(payments) {
        let id = providers[award.provider].id();
        assert_eq!(payment["id"], id, "{label}: payment order");
        assert_close(
            award.cash,
            number(&payment["cash"], "cash"),
            &format!("{label}: {id} cash"),
        );
        assert_close(
            award.tokens,
            number(&payment["tokens"], "tokens"),
            &format!("{label}: {id} tokens"),
        );
    }
    assert_close(
        outcome.total_cash(),
        number(&expected["total_cash"], "total_cash"),
        &format!("{label}: total_cash"),
    );
    assert_close(
        outcome.total_tokens(),
        number(&expected["total_tokens"], "total_tokens"),
        &format!("{label}: total_tokens"),
    );
    assert_close(
        outcome.value(),
        number(&expected["value"], "value"),
        &format!("{label}: value"),
    );
}

#[test]
fn every_golden_case_matches_for_every_mechanism() {
    let mut checked = 0;
    for case in ["000", "001", "002", "003", "004", "005"] {
        for mechanism in Auction::ALL {
            check(case, mechanism);
            checked += 1;
        }
    }
    assert_eq!(checked, 30);
}

#[test]
fn every_golden_file_in_the_data_folder_is_checked() {
    // Guards against a new example being copied in and silently skipped.
    let mut instances: Vec<String> = std::fs::read_dir(data(""))
        .expect("data folder")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.starts_with("proc-") && !name.contains(".expected"))
        .collect();
    instances.sort();
    assert_eq!(
        instances,
        ["000", "001", "002", "003", "004", "005"].map(|case| format!("proc-{case}.json"))
    );
}
