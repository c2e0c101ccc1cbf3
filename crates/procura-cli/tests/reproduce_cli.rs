//! Integration tests of `procura reproduce` and of the shipped experiments
//! (`experiments/*.toml`).
//!
//! `reproduce --quick` runs in about 20 seconds in a debug build (about 3
//! seconds in release), so the main test runs the real quick mode, exactly
//! as a user would. (The hidden `--replicates N` and `--seeds N` flags can
//! shrink it further; only the argument check uses them here.)

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const CLAIMS: [&str; 7] = ["P1-a", "P1-b", "P1-c", "P2-a", "P2-b", "P2-c", "P2-d"];

fn procura() -> Command {
    Command::new(env!("CARGO_BIN_EXE_procura"))
}

fn experiments() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../experiments")
}

fn succeed(output: &Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn quick_reproduction_judges_every_claim() {
    let out = tempfile::tempdir().expect("a temporary folder");
    let output = procura()
        .args(["reproduce", "--quick", "--out"])
        .arg(out.path())
        .output()
        .expect("procura runs");
    let table = succeed(&output);

    let claims: Value = serde_json::from_str(&read(&out.path().join("claims.json"))).expect("JSON");
    let object = claims.as_object().expect("an object of claims");
    let ids: Vec<&str> = object.keys().map(String::as_str).collect();
    assert_eq!(ids.len(), CLAIMS.len(), "{ids:?}");
    for id in CLAIMS {
        let claim = &claims[id];
        assert!(claim["holds"].is_boolean(), "{id}: holds");
        let evidence = claim["evidence"].as_object().expect("evidence object");
        assert!(!evidence.is_empty(), "{id}: evidence");
        assert!(!claim["rule"].as_str().expect("rule").is_empty(), "{id}");
        let figure = claim["figure"].as_str().expect("figure path");
        assert!(out.path().join(figure).is_file(), "{id}: {figure}");
        assert!(table.contains(id), "{id} missing from the table:\n{table}");
    }
    // The claims that hold by construction of the mechanisms must hold.
    for id in ["P1-a", "P1-b", "P2-a"] {
        assert_eq!(
            claims[id]["holds"], true,
            "{id}: {}",
            claims[id]["headline"]
        );
    }
    assert_eq!(claims["P2-a"]["evidence"]["profitable_misreports"], 0);

    // Each experiment's folder is what `procura experiment` writes, and its
    // experiment.toml (rewritten to the quick replicates) reproduces it.
    let folder = out.path().join("p1b-null");
    for file in ["experiment.toml", "results.csv", "summary.csv"] {
        assert!(folder.join(file).is_file(), "{file}");
    }
    let again = tempfile::tempdir().expect("a temporary folder");
    succeed(
        &procura()
            .arg("experiment")
            .arg(folder.join("experiment.toml"))
            .arg("--out")
            .arg(again.path())
            .output()
            .expect("procura runs"),
    );
    assert_eq!(
        read(&folder.join("results.csv")),
        read(&again.path().join("results.csv"))
    );
    assert!(read(&folder.join("experiment.toml")).contains("as run by procura reproduce"));
}

#[test]
fn every_shipped_experiment_runs() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(experiments())
        .expect("experiments/")
        .map(|entry| entry.expect("an entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert_eq!(files.len(), CLAIMS.len(), "{files:?}");
    let mut claimed = Vec::new();
    for file in files {
        let source = read(&file);
        // Two replicates per cell: enough to exercise every cell.
        let tiny: String = source
            .lines()
            .map(|line| {
                if line.starts_with("replicates =") {
                    "replicates = 2".to_owned()
                } else {
                    line.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        let folder = tempfile::tempdir().expect("a temporary folder");
        let input = folder.path().join("tiny.toml");
        std::fs::write(&input, tiny).expect("write");
        let out = folder.path().join("out");
        let report = succeed(
            &procura()
                .arg("experiment")
                .arg(&input)
                .arg("--out")
                .arg(&out)
                .output()
                .expect("procura runs"),
        );
        assert!(report.contains("× 2 replicates"), "{report}");
        assert!(out.join("summary.csv").is_file());
        let claim = source
            .lines()
            .find_map(|line| line.strip_prefix("claim = "))
            .unwrap_or_else(|| panic!("{}: no claim", file.display()));
        claimed.push(claim.trim_matches('"').to_owned());
    }
    claimed.sort();
    assert_eq!(claimed, CLAIMS);
}

#[test]
fn bad_arguments_write_nothing() {
    let out = tempfile::tempdir().expect("a temporary folder");
    let target = out.path().join("never");
    let output = procura()
        .args(["reproduce", "--replicates", "0", "--out"])
        .arg(&target)
        .output()
        .expect("procura runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    assert!(!target.exists());
}
