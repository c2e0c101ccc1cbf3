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
        // P1-c's figure shows the paired differences its judge reads.
        let paired = out.join("figures/paired-differences.svg");
        assert_eq!(
            paired.is_file(),
            claim.contains("P1-c"),
            "{}",
            file.display()
        );
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

/// Every file under `root` (relative path → bytes), links included as
/// their targets' names, so that two folders compare exactly.
fn snapshot(root: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, below: &Path, into: &mut std::collections::BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(root.join(below)).expect("read folder") {
            let entry = entry.expect("entry");
            let relative = below.join(entry.file_name());
            let path = entry.path();
            let meta = std::fs::symlink_metadata(&path).expect("metadata");
            if meta.is_dir() {
                into.insert(format!("{}/", relative.display()), Vec::new());
                walk(root, &relative, into);
            } else if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&path).expect("link");
                into.insert(
                    format!("{} ->", relative.display()),
                    target.display().to_string().into_bytes(),
                );
            } else {
                into.insert(
                    relative.display().to_string(),
                    std::fs::read(&path).expect("read"),
                );
            }
        }
    }
    let mut files = std::collections::BTreeMap::new();
    walk(root, Path::new(""), &mut files);
    files
}

/// A shrunk reproduction (one replicate, no real-data rounds: about 2 s in
/// a debug build) into `out`, run from `current_dir`, with `extra` flags.
fn tiny_reproduction(out: &Path, current_dir: &Path, extra: &[&str]) -> Output {
    procura()
        .args(["reproduce", "--replicates", "1", "--seeds", "0", "--out"])
        .arg(out)
        .args(extra)
        .current_dir(current_dir)
        .output()
        .expect("procura runs")
}

/// A refused run: exit code 2, nothing on stdout; returns stderr.
fn refused(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(output.stdout.is_empty());
    stderr
}

#[test]
fn a_used_output_folder_is_refused_unless_force_replaces_what_it_holds() {
    let scratch = tempfile::tempdir().expect("a temporary folder");
    let here = scratch.path();
    let out = here.join("repro");
    succeed(&tiny_reproduction(&out, here, &[]));
    let fresh = snapshot(&out);
    assert!(fresh.contains_key("claims.json"));
    // What an earlier run leaves: a stale file, a stale experiment folder,
    // a stale figure in a kept folder, and a link to a folder outside.
    std::fs::write(out.join("notes.txt"), "mine").expect("write");
    std::fs::create_dir_all(out.join("p9-old/figures")).expect("folder");
    std::fs::write(out.join("p9-old/results.csv"), "x\n").expect("write");
    std::fs::write(out.join("p1b-null/figures/old.svg"), "<svg/>").expect("write");
    let outside = here.join("outside");
    std::fs::create_dir_all(&outside).expect("folder");
    std::fs::write(outside.join("keep.txt"), "keep").expect("write");
    std::os::unix::fs::symlink(&outside, out.join("link")).expect("link");
    let used = snapshot(&out);

    // Without --force: refused before anything runs, nothing changed.
    let stderr = refused(&tiny_reproduction(&out, here, &[]));
    assert_eq!(
        stderr,
        format!(
            "error: --out {}: the folder is not empty; choose a new or empty folder, or add \
             --force to replace what it holds with this run's files\n",
            out.display()
        )
    );
    assert_eq!(snapshot(&out), used);

    // --force: exactly the files of a run into a new folder; the link is
    // removed, never followed.
    let report = succeed(&tiny_reproduction(&out, here, &["--force"]));
    assert!(report.contains("claims hold"), "{report}");
    assert_eq!(snapshot(&out), fresh);
    assert_eq!(
        std::fs::read_to_string(outside.join("keep.txt")).expect("kept"),
        "keep"
    );

    // --force clears only a folder that a reproduction wrote: not an
    // experiment's result folder, not a folder of notes.
    let experiment = here.join("experiment");
    succeed(
        &procura()
            .arg("experiment")
            .arg(out.join("p1b-null/experiment.toml"))
            .arg("--out")
            .arg(&experiment)
            .output()
            .expect("procura runs"),
    );
    let notes = here.join("notes");
    std::fs::create_dir_all(&notes).expect("folder");
    std::fs::write(notes.join("todo.txt"), "mine").expect("write");
    for folder in [&experiment, &notes] {
        let before = snapshot(folder);
        let stderr = refused(&tiny_reproduction(folder, here, &["--force"]));
        assert_eq!(
            stderr,
            format!(
                "error: --out {}: --force will not clear a folder without a claims.json (only a \
                 folder that procura reproduce wrote is cleared)\n",
                folder.display()
            )
        );
        assert_eq!(snapshot(folder), before);
    }
    // Nor the current folder (the rule `procura experiment --force` keeps).
    let stderr = refused(&tiny_reproduction(Path::new("."), &out, &["--force"]));
    assert_eq!(
        stderr,
        "error: --out .: --force will not clear the current folder or a folder that holds it\n"
    );
    assert_eq!(snapshot(&out), fresh);

    // An empty folder needs no --force.
    let empty = here.join("empty");
    std::fs::create_dir_all(&empty).expect("folder");
    succeed(&tiny_reproduction(&empty, here, &[]));
    assert_eq!(snapshot(&empty), fresh);
}
