//! Integration tests of the real `procura` binary: golden cases end to end,
//! standard input, help text, and every kind of bad input (exit code 2, a
//! message naming the field and record on stderr, nothing on stdout).

mod common;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn procura() -> Command {
    Command::new(env!("CARGO_BIN_EXE_procura"))
}

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../procura-mechanisms/tests/data")
        .join(name)
}

fn clear(path: &PathBuf, mechanism: &str) -> Output {
    procura()
        .arg("clear")
        .arg(path)
        .args(["--mechanism", mechanism])
        .output()
        .expect("procura runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn golden_cases_end_to_end() {
    for case in ["000", "001", "002", "003", "004", "005"] {
        for mechanism in ["qmia", "mut", "mixed", "volume", "trust"] {
            let output = clear(&golden(&format!("proc-{case}.json")), mechanism);
            assert!(output.status.success(), "{}", text(&output.stderr));
            assert!(output.stderr.is_empty());
            let actual: Value = serde_json::from_slice(&output.stdout).expect("stdout is JSON");
            let expected_text =
                std::fs::read_to_string(golden(&format!("proc-{case}.{mechanism}.expected.json")))
                    .expect("expected file");
            let expected: Value = serde_json::from_str(&expected_text).expect("expected JSON");
            common::assert_same_outcome(&actual, &expected, &format!("proc-{case} {mechanism}"));
        }
    }
}

#[test]
fn the_shipped_example_market_clears_with_every_mechanism() {
    let market = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/market.json");
    for mechanism in ["qmia", "mut", "mixed", "volume", "trust"] {
        let output = clear(&market, mechanism);
        assert!(
            output.status.success(),
            "{mechanism}: {}",
            text(&output.stderr)
        );
        let outcome: Value = serde_json::from_slice(&output.stdout).expect("JSON");
        assert_eq!(outcome["mechanism"], mechanism);
        assert!(!outcome["winners"].as_array().expect("winners").is_empty());
    }
}

#[test]
fn reads_standard_input() {
    let instance = std::fs::read(golden("proc-000.json")).expect("instance");
    let mut child = procura()
        .args(["clear", "-", "--mechanism", "qmia"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("procura runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&instance)
        .expect("write stdin");
    let output = child.wait_with_output().expect("procura exits");
    assert!(output.status.success(), "{}", text(&output.stderr));
    let from_stdin: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let from_file: Value =
        serde_json::from_slice(&clear(&golden("proc-000.json"), "qmia").stdout).expect("JSON");
    assert_eq!(from_stdin, from_file);
}

/// Runs `procura clear - --mechanism MECHANISM` on `input`.
fn clear_stdin(input: &[u8], mechanism: &str) -> Output {
    let mut child = procura()
        .args(["clear", "-", "--mechanism", mechanism])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("procura runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write stdin");
    child.wait_with_output().expect("procura exits")
}

#[test]
fn a_byte_order_mark_is_skipped() {
    let examples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    for (file, mechanism) in [("market.json", "qmia"), ("threshold.json", "withdrawal")] {
        let path = examples.join(file);
        let instance = std::fs::read(&path).expect("instance");
        let with_bom = [b"\xef\xbb\xbf".as_slice(), &instance].concat();
        let output = clear_stdin(&with_bom, mechanism);
        assert!(output.status.success(), "{file}: {}", text(&output.stderr));
        assert_eq!(output.stdout, clear(&path, mechanism).stdout, "{file}");
    }
}

#[test]
fn output_is_identical_across_runs() {
    let first = clear(&golden("proc-005.json"), "qmia").stdout;
    let second = clear(&golden("proc-005.json"), "qmia").stdout;
    assert!(!first.is_empty());
    assert_eq!(first, second);
}

#[test]
fn help_explains_every_mechanism() {
    let output = procura().args(["clear", "--help"]).output().expect("runs");
    assert!(output.status.success());
    let help = text(&output.stdout);
    use procura::{procurement::Auction, threshold::Protocol, Mechanism};
    let every = Auction::ALL
        .map(Mechanism::Auction)
        .into_iter()
        .chain([Mechanism::Subsidy])
        .chain(Protocol::ALL.map(Mechanism::Withdrawal));
    for mechanism in every {
        let (name, summary) = (mechanism.to_string(), mechanism.summary());
        let line = format!("- {name}:");
        assert!(help.contains(&line), "help lacks {line}:\n{help}");
        assert!(help.contains(summary), "help lacks the summary of {name}");
    }
}

/// Runs `procura clear` on a bad file and checks the contract for bad
/// input: exit code 2, nothing on stdout, and `expected` on stderr.
fn check_rejected(file: &str, mechanism: &str, expected: &str) {
    let path = data(&format!("{file}.json"));
    let output = clear(&path, mechanism);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{file}: {stderr}");
    assert!(
        output.stdout.is_empty(),
        "{file}: wrote {}",
        text(&output.stdout)
    );
    assert!(
        stderr.contains(expected),
        "{file}: {stderr:?} lacks {expected:?}"
    );
    assert!(!stderr.contains("panicked"), "{file}: {stderr}");
}

#[test]
fn bad_input_is_rejected_with_a_named_error() {
    let cases = [
        ("empty", "empty input, expected a JSON object"),
        ("truncated", "EOF while parsing"),
        ("top-array", "expected a JSON object at the top level"),
        (
            "providers-object",
            "providers: invalid type: map, expected a sequence",
        ),
        (
            "provider-array",
            "provider #0: invalid type: sequence, expected an object",
        ),
        ("huge-number", "budget: number out of range"),
        (
            "underflow",
            "provider \"tiny\" (#1): bid: 1e-400 is not zero, but below the smallest double \
             (about 4.9e-324): it would read as 0",
        ),
        ("nan", "provider #0: bid: expected value"),
        (
            "string-bid",
            r#"provider "acme" (#0): bid: invalid type: string "2", expected f64"#,
        ),
        (
            "unknown-provider-field",
            r#"provider "acme" (#0): colour: unknown field `colour`"#,
        ),
        ("unknown-top-field", "currency: unknown field `currency`"),
        (
            "missing-utility",
            r#"provider "acme" (#0): missing field `utility`"#,
        ),
        ("missing-budget", "missing field `budget`"),
        (
            "null-volume",
            r#"provider "acme" (#0): volume: invalid type: null, expected f64"#,
        ),
        (
            "duplicate-key",
            r#"provider "acme" (#0): duplicate field `bid`"#,
        ),
        (
            "duplicate-id",
            r#"provider "acme" (#1): id is a duplicate of provider #0"#,
        ),
        ("empty-id", "provider #0: id is empty"),
        (
            "negative-bid",
            r#"provider "acme" (#0): bid -2 is negative"#,
        ),
        (
            "quality-above-one",
            r#"provider "acme" (#0): quality 1.5 is outside [0, 1]"#,
        ),
        ("zero-budget", "budget 0 is not > 0"),
        ("liquidity-above-one", "liquidity 2 is outside [0, 1]"),
        ("trailing", "trailing characters"),
        (
            "integer-id",
            "provider #0: id: invalid type: integer `7`, expected a string",
        ),
    ];
    for (file, expected) in cases {
        check_rejected(file, "qmia", expected);
    }
    // Every bad file in the folder is in the table above, or mechanism-specific.
    let listed = std::fs::read_dir(data(""))
        .expect("data")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".json"))
        .count();
    assert_eq!(listed, cases.len() + 1);
}

#[test]
fn a_mechanism_that_needs_a_missing_field_is_refused() {
    check_rejected(
        "no-token-budget",
        "mut",
        "cannot clear with mut: token_budget is required by mut",
    );
}

#[test]
fn a_missing_file_is_an_input_error() {
    let output = clear(&data("does-not-exist.json"), "qmia");
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    assert!(text(&output.stderr).contains("does-not-exist.json: cannot read"));
}

#[test]
fn an_unknown_mechanism_is_a_usage_error() {
    let output = clear(&golden("proc-000.json"), "vickrey");
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    assert!(text(&output.stderr).contains("invalid value 'vickrey'"));
}
