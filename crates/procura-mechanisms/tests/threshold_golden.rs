//! Golden cases for Part B: every `thr-*` worked example of
//! the specification (docs/SPECIFICATION.md; copied to `tests/data/`), cleared by the subsidy
//! (§B.2) and by withdrawal rights with the instance's protocol (§B.3,
//! §B.4), and compared field by field: amounts and payments to 1e-9
//! relative, protocol statistics to 1e-6.

use std::path::PathBuf;

use procura_mechanisms::threshold::{
    subsidy, withdrawal, Assignment, ThresholdInstance, ThresholdSpec,
};
use procura_mechanisms::tolerance::{approx_eq, GOLDEN_RELATIVE, PROTOCOL_GOLDEN};
use serde_json::Value;

const CASES: [&str; 6] = ["000", "001", "002", "003", "004", "005"];

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn read_json(name: &str) -> Value {
    let text = std::fs::read_to_string(data(name)).expect("golden file is readable");
    serde_json::from_str(&text).expect("golden file is JSON")
}

fn instance(case: &str) -> ThresholdInstance {
    let text = std::fs::read_to_string(data(&format!("thr-{case}.json"))).expect("instance");
    let spec: ThresholdSpec = serde_json::from_str(&text).expect("instance parses");
    ThresholdInstance::new(spec).expect("instance is valid")
}

fn number(value: &Value, what: &str) -> f64 {
    value
        .as_f64()
        .unwrap_or_else(|| panic!("{what} is not a number"))
}

fn flag(value: &Value, what: &str) -> bool {
    value
        .as_bool()
        .unwrap_or_else(|| panic!("{what} is not a boolean"))
}

fn assert_close(actual: f64, expected: f64, relative: f64, what: &str) {
    assert!(
        approx_eq(actual, expected, relative),
        "{what}: got {actual:?}, expected {expected:?}"
    );
}

/// Compares assignments (ids in order, amounts, payments) with the expected
/// `assignments` array.
fn check_assignments(
    instance: &ThresholdInstance,
    assignments: &[Assignment],
    expected: &Value,
    label: &str,
) {
    let expected = expected.as_array().expect("assignments array");
    let ids: Vec<&str> = assignments
        .iter()
        .map(|assignment| instance.users()[assignment.user].id())
        .collect();
    let expected_ids: Vec<&str> = expected
        .iter()
        .map(|entry| entry["id"].as_str().expect("assignment id"))
        .collect();
    assert_eq!(ids, expected_ids, "{label}: assignment order");
    for (assignment, entry) in assignments.iter().zip(expected) {
        let id = instance.users()[assignment.user].id();
        assert_close(
            assignment.amount,
            number(&entry["amount"], "amount"),
            GOLDEN_RELATIVE,
            &format!("{label}: {id} amount"),
        );
        assert_close(
            assignment.payment,
            number(&entry["payment"], "payment"),
            GOLDEN_RELATIVE,
            &format!("{label}: {id} payment"),
        );
    }
}

/// Clears `thr-{case}.json` with the subsidy and compares with
/// `thr-{case}.subsidy.expected.json`.
fn check_subsidy(case: &str) {
    let instance = instance(case);
    let outcome = subsidy::clear(&instance).expect("golden instances carry payment and floor");
    let expected = read_json(&format!("thr-{case}.subsidy.expected.json"));
    let label = format!("thr-{case} subsidy");

    assert_eq!(expected["mechanism"], "subsidy", "{label}: mechanism");
    // The examples write "null": false for the subsidy, which is never null.
    assert!(!flag(&expected["null"], "null"), "{label}: null");
    assert_eq!(
        outcome.improved(),
        flag(&expected["improved"], "improved"),
        "{label}: improved"
    );
    check_assignments(
        &instance,
        outcome.assignments(),
        &expected["assignments"],
        &label,
    );
    for (actual, field) in [
        (outcome.collected(), "collected"),
        (outcome.total_payment(), "total_payment"),
        (outcome.leakage(), "leakage"),
    ] {
        assert_close(
            actual,
            number(&expected[field], field),
            GOLDEN_RELATIVE,
            &format!("{label}: {field}"),
        );
    }
}

/// Clears `thr-{case}.json` with withdrawal rights and the instance's
/// protocol, and compares with `thr-{case}.withdrawal.expected.json`.
fn check_withdrawal(case: &str) {
    let instance = instance(case);
    let outcome = withdrawal::clear(&instance, instance.protocol())
        .expect("golden instances carry reserve_price");
    let expected = read_json(&format!("thr-{case}.withdrawal.expected.json"));
    let label = format!("thr-{case} withdrawal");

    assert_eq!(expected["mechanism"], "withdrawal", "{label}: mechanism");
    assert_eq!(
        outcome.is_null(),
        flag(&expected["null"], "null"),
        "{label}: null"
    );
    check_assignments(
        &instance,
        outcome.assignments(),
        &expected["assignments"],
        &label,
    );
    for (actual, field) in [
        (outcome.total_payment(), "total_payment"),
        (outcome.leakage(), "leakage"),
    ] {
        assert_close(
            actual,
            number(&expected[field], field),
            GOLDEN_RELATIVE,
            &format!("{label}: {field}"),
        );
    }

    let expected_protocol = &expected["protocol"];
    match outcome.protocol() {
        None => assert!(expected_protocol.is_null(), "{label}: protocol is missing"),
        Some(report) => {
            assert_eq!(
                expected_protocol["name"],
                report.protocol.name(),
                "{label}: protocol name"
            );
            for (actual, field) in [
                (report.success_probability, "success_probability"),
                (report.expected_payment, "expected_payment"),
                (report.expected_participants, "expected_participants"),
                (report.expected_data, "expected_data"),
            ] {
                assert_close(
                    actual,
                    number(&expected_protocol[field], field),
                    PROTOCOL_GOLDEN,
                    &format!("{label}: protocol {field}"),
                );
            }
        }
    }
}

#[test]
fn every_subsidy_golden_case_matches() {
    for case in CASES {
        check_subsidy(case);
    }
}

#[test]
fn every_withdrawal_golden_case_matches() {
    for case in CASES {
        check_withdrawal(case);
    }
}

#[test]
fn every_threshold_golden_file_in_the_data_folder_is_checked() {
    // Guards against a new example being copied in and silently skipped.
    let mut files: Vec<String> = std::fs::read_dir(data(""))
        .expect("data folder")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.starts_with("thr-"))
        .collect();
    files.sort();
    let expected: Vec<String> = CASES
        .iter()
        .flat_map(|case| {
            [
                format!("thr-{case}.json"),
                format!("thr-{case}.subsidy.expected.json"),
                format!("thr-{case}.withdrawal.expected.json"),
            ]
        })
        .collect();
    assert_eq!(files, expected);
}
