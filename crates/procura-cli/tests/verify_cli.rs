//! `procura verify` on the worked examples of spec Part C: exit 0 and a
//! summary for a valid transcript, exit 1 naming the first failing rule and
//! entry, exit 2 for unreadable input; receipts checked for inclusion and
//! consistency, and a forked log caught by one.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ed25519_dalek::SigningKey;
use procura_market::envelope::{parse_hex32, Envelope, KeyId, Kind};
use procura_market::transcript;
use procura_market::RoundLog;
use serde_json::Value;

fn procura() -> Command {
    Command::new(env!("CARGO_BIN_EXE_procura"))
}

/// The examples, copied from the specification into procura-market's tests.
fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../procura-market/tests/data")
        .join(name)
}

fn verify(args: &[&Path]) -> Output {
    procura()
        .arg("verify")
        .args(args)
        .output()
        .expect("procura runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_valid_transcript_exits_0_with_a_summary() {
    let output = verify(&[&example("procurement.transcript.json")]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout),
        "valid: round r1, mechanism qmia, phase cleared, 13 entries\n\
         winners: corpus-co, acme, beta\ntotal paid: 8.48\n"
    );
    let output = verify(&[&example("threshold.transcript.json")]);
    assert_eq!(output.status.code(), Some(0));
    assert!(text(&output.stdout)
        .starts_with("valid: round t1, mechanism withdrawal, phase settled, 20 entries\n"));
}

#[test]
fn every_tampered_example_exits_1_naming_its_rule_and_entry() {
    let expected: Value =
        serde_json::from_slice(&std::fs::read(example("expected.json")).expect("expected.json"))
            .expect("JSON");
    for (file, want) in expected.as_object().expect("object") {
        if want["valid"] == Value::Bool(true) {
            continue;
        }
        let output = verify(&[&example(file)]);
        assert_eq!(output.status.code(), Some(1), "{file}");
        assert!(output.stdout.is_empty(), "{file}: nothing on stdout");
        let stderr = text(&output.stderr);
        assert!(
            stderr.contains(&format!("rule {}", want["rule"])),
            "{file}: {stderr}"
        );
        if let Some(entry) = want["entry"].as_u64() {
            assert!(
                stderr.contains(&format!("entry {entry}:")),
                "{file}: {stderr}"
            );
        }
    }
}

#[test]
fn the_answer_is_the_same_on_any_number_of_threads() {
    for file in [
        "procurement.transcript.json",
        "tampered-payment.transcript.json",
    ] {
        let run = |threads: &str| {
            procura()
                .args(["verify", "--threads", threads])
                .arg(example(file))
                .output()
                .expect("procura runs")
        };
        let one = run("1");
        let two = run("2");
        assert_eq!(one.status.code(), two.status.code(), "{file}");
        assert_eq!(
            (&one.stdout, &one.stderr),
            (&two.stdout, &two.stderr),
            "{file}"
        );
    }
    let zero = procura()
        .args(["verify", "--threads", "0"])
        .arg(example("procurement.transcript.json"))
        .output()
        .expect("procura runs");
    assert_eq!(zero.status.code(), Some(2));
    assert!(
        text(&zero.stderr).contains("--threads"),
        "{}",
        text(&zero.stderr)
    );
}

#[test]
fn unreadable_input_exits_2() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let missing = dir.path().join("missing.json");
    let output = verify(&[&missing]);
    assert_eq!(output.status.code(), Some(2));
    let not_json = dir.path().join("bad.json");
    std::fs::write(&not_json, "{\"origin\": ").expect("written");
    let output = verify(&[&not_json]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("not a transcript"));
    let output = procura()
        .args(["verify"])
        .arg(example("procurement.transcript.json"))
        .arg("--receipt")
        .arg(&not_json)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("not a receipt"));
}

/// The examples' operator key.
fn operator() -> SigningKey {
    let keys: Value =
        serde_json::from_slice(&std::fs::read(example("keys.json")).expect("keys")).expect("JSON");
    SigningKey::from_bytes(&parse_hex32(keys["operator"].as_str().expect("hex")).expect("hex"))
}

fn replay(file: &str) -> RoundLog {
    let transcript = transcript::parse(&std::fs::read(example(file)).expect("read")).expect("ok");
    RoundLog::replay(
        transcript
            .entries
            .into_iter()
            .map(|value| Envelope::from_value(value).expect("envelope")),
        KeyId::of(&operator().verifying_key()),
    )
    .expect("a valid log")
}

fn write_receipt(dir: &Path, name: &str, log: &RoundLog, index: u64) -> PathBuf {
    let receipt = log
        .receipt("procura.example", index, &operator())
        .expect("in range");
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string(&receipt).expect("JSON")).expect("written");
    path
}

#[test]
fn receipts_check_against_the_transcript_and_a_fork_is_caught() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let log = replay("procurement.transcript.json");
    let receipts: Vec<PathBuf> = (0..log.round().size())
        .map(|index| write_receipt(dir.path(), &format!("r{index}.json"), &log, index))
        .collect();
    let mut command = procura();
    command
        .arg("verify")
        .arg(example("procurement.transcript.json"));
    for receipt in &receipts {
        command.arg("--receipt").arg(receipt);
    }
    let output = command.output().expect("runs");
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(text(&output.stdout).ends_with("receipts: 13 checked\n"));

    // The operator forks the log: the same entries but acme's commitment
    // sent again (a valid log of a different shape), signed with its real
    // key. acme's receipt for entry 2 of the real log catches it.
    let keys: Value =
        serde_json::from_slice(&std::fs::read(example("keys.json")).expect("keys")).expect("JSON");
    let acme =
        SigningKey::from_bytes(&parse_hex32(keys["acme"].as_str().expect("hex")).expect("hex"));
    let mut fork = RoundLog::replay(
        log.entries()[..2].iter().cloned(),
        KeyId::of(&operator().verifying_key()),
    )
    .expect("a prefix");
    let again = serde_json::json!({"round": "r1", "id": "acme", "commitment": "00".repeat(32)});
    fork.append(Envelope::sign(
        Kind::Commit,
        again.to_string().into_bytes(),
        &acme,
    ))
    .expect("a second commitment");
    let fork_file = dir.path().join("fork.json");
    std::fs::write(
        &fork_file,
        serde_json::to_string(&fork.transcript("procura.example", &operator())).expect("JSON"),
    )
    .expect("written");
    let output = verify(&[&fork_file]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "the fork verifies on its own"
    );
    let output = procura()
        .arg("verify")
        .arg(&fork_file)
        .arg("--receipt")
        .arg(&receipts[2])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("the receipt for entry 2 does not check"),
        "{stderr}"
    );
}
