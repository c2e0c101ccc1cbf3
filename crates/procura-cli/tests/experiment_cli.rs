//! Integration tests of `procura experiment` and `procura merge`: the same
//! bytes on any number of threads and across shard-and-merge, named errors
//! for bad experiment files, and records that keep the mechanisms'
//! guarantees.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn procura() -> Command {
    Command::new(env!("CARGO_BIN_EXE_procura"))
}

fn run(args: &[&str]) -> Output {
    procura().args(args).output().expect("procura runs")
}

fn succeed(args: &[&str]) -> Output {
    let output = run(args);
    assert!(
        output.status.success(),
        "procura {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A small procurement sweep: 2 × 2 = 4 cells of 6 replicates, with
/// best-responding baselines and an audit, so that every code path of a
/// record runs. The library's tests run the same file.
const PROCUREMENT: &str = include_str!("../../procura-lab/tests/data/procurement.toml");

/// Withdrawal rights and the subsidy over feasible and infeasible
/// instances: 3 cells of 10 replicates. The library's tests run the same
/// file.
const THRESHOLD: &str = include_str!("../../procura-lab/tests/data/threshold.toml");

struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("procura-experiment-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch folder");
        Scratch(dir)
    }

    fn file(&self, name: &str, contents: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, contents).expect("write");
        path.display().to_string()
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Every file under `dir`, by relative path.
fn folder(dir: &str) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, files: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).expect("read folder") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(root, &path, files);
            } else {
                let name = path.strip_prefix(root).expect("under root");
                files.insert(
                    name.display().to_string(),
                    std::fs::read(&path).expect("read file"),
                );
            }
        }
    }
    let mut files = BTreeMap::new();
    walk(Path::new(dir), Path::new(dir), &mut files);
    files
}

fn csv_rows(text: &str) -> Vec<BTreeMap<String, String>> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("a header").split(',').collect();
    lines
        .map(|line| {
            header
                .iter()
                .zip(line.split(','))
                .map(|(key, value)| ((*key).to_owned(), value.to_owned()))
                .collect()
        })
        .collect()
}

#[test]
fn results_are_the_same_bytes_on_any_number_of_threads_and_after_shard_and_merge() {
    let scratch = Scratch::new("bytes");
    let file = scratch.file("tiny.toml", PROCUREMENT);
    let one = scratch.path("one");
    let three = scratch.path("three");
    succeed(&["experiment", &file, "--out", &one, "--threads", "1"]);
    succeed(&["experiment", &file, "--out", &three, "--threads", "3"]);
    let reference = folder(&one);
    assert_eq!(
        reference.keys().collect::<Vec<_>>(),
        [
            "experiment.toml",
            "figures/cash.svg",
            "figures/value.svg",
            "results.csv",
            "summary.csv"
        ]
    );
    assert_eq!(folder(&three), reference, "1 vs 3 threads");

    // Shards in an odd order, each on its own thread count.
    let mut shards = Vec::new();
    for (index, threads) in [(3, "2"), (1, "1"), (2, "3")] {
        let out = scratch.path(&format!("shard-{index}"));
        let shard = format!("{index}/3");
        succeed(&[
            "experiment",
            &file,
            "--out",
            &out,
            "--shard",
            &shard,
            "--threads",
            threads,
        ]);
        let files = folder(&out);
        assert_eq!(
            files.keys().collect::<Vec<_>>(),
            ["experiment.toml", "results.csv", "shard.txt"]
        );
        shards.push(out);
    }
    let merged = scratch.path("merged");
    let mut args = vec!["merge"];
    args.extend(shards.iter().map(String::as_str));
    args.extend(["--out", &merged]);
    succeed(&args);
    assert_eq!(folder(&merged), reference, "shard + merge vs one run");
}

#[test]
fn records_keep_the_mechanisms_guarantees_and_mark_what_does_not_apply() {
    let scratch = Scratch::new("records");
    let file = scratch.file("tiny.toml", PROCUREMENT);
    let out = scratch.path("out");
    succeed(&["experiment", &file, "--out", &out]);
    let results = std::fs::read_to_string(format!("{out}/results.csv")).expect("results");
    let rows = csv_rows(&results);
    assert_eq!(rows.len(), 4 * 6 * 5, "cells × replicates × mechanisms");
    for row in &rows {
        let mechanism = row["mechanism"].as_str();
        assert_eq!(row["budget_ok"], "1", "{row:?}");
        assert_eq!(row["ir_violations"], "0", "{row:?}");
        // Best-response columns only for the strategic mechanisms; audit
        // gains for all.
        let strategic = matches!(mechanism, "volume" | "trust");
        assert_eq!(row["br_rounds"].is_empty(), !strategic, "{row:?}");
        assert!(!row["unilateral_gain"].is_empty(), "{row:?}");
        if matches!(mechanism, "qmia" | "mixed") {
            assert_eq!(row["unilateral_gain"], "0", "DSIC: {row:?}");
        }
    }
    let summary = std::fs::read_to_string(format!("{out}/summary.csv")).expect("summary");
    let summary = csv_rows(&summary);
    let qmia_value = summary
        .iter()
        .find(|row| row["mechanism"] == "qmia" && row["metric"] == "value")
        .expect("a qmia value row");
    assert_eq!(qmia_value["n"], "6");
    let (low, mean, high): (f64, f64, f64) = (
        qmia_value["ci_low"].parse().expect("number"),
        qmia_value["mean"].parse().expect("number"),
        qmia_value["ci_high"].parse().expect("number"),
    );
    assert!(low <= mean && mean <= high);
    let svg = std::fs::read_to_string(format!("{out}/figures/value.svg")).expect("figure");
    assert!(svg.contains("<svg") && svg.contains("tiny: value"));
}

#[test]
fn threshold_experiments_record_feasibility_and_leakage() {
    let scratch = Scratch::new("threshold");
    let file = scratch.file("threshold.toml", THRESHOLD);
    let out = scratch.path("out");
    succeed(&["experiment", &file, "--out", &out]);
    let results = std::fs::read_to_string(format!("{out}/results.csv")).expect("results");
    let rows = csv_rows(&results);
    assert_eq!(rows.len(), 3 * 10 * 3);
    let mut infeasible = 0;
    for row in &rows {
        match row["mechanism"].as_str() {
            "subsidy" => {
                assert!(row["null"].is_empty());
                let leaked: f64 = row["leakage"].parse().expect("number");
                let success = row["success"] == "1";
                assert_eq!(leaked > 0.0, !success && row["spend"] != "0", "{row:?}");
            }
            _ => {
                assert_eq!(row["leakage"], "0", "{row:?}");
                assert_eq!(row["null"] == "1", row["feasible"] == "0", "{row:?}");
                infeasible += usize::from(row["feasible"] == "0");
            }
        }
    }
    assert!(infeasible > 0, "the sweep reaches infeasible instances");
    let figures = folder(&out);
    for metric in ["success", "expected_data", "spend", "leakage"] {
        assert!(figures.contains_key(&format!("figures/{metric}.svg")));
    }
}

/// Runs `procura experiment` on `contents` and returns its stderr, checking
/// that it fails with exit code 2 and writes nothing.
fn refused(contents: &str) -> String {
    let scratch = Scratch::new("refused");
    let file = scratch.file("bad.toml", contents);
    let out = scratch.path("out");
    let output = run(&["experiment", &file, "--out", &out]);
    assert_eq!(output.status.code(), Some(2), "{contents}");
    assert!(!Path::new(&out).exists(), "nothing is written");
    assert!(output.stdout.is_empty());
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn bad_experiment_files_are_refused_naming_the_key() {
    let cases: [(&str, &str, &str); 13] = [
        ("replicates = 6", "replicate = 6", "replicate"),
        ("replicates = 6", "replicates = 0", "replicates"),
        (
            "budget_fraction = 0.3\n",
            "budget_fractoin = 0.3\n",
            "procurement.budget_fractoin",
        ),
        (
            "liquidity = 0.5",
            "liquidity = 1.5",
            "procurement.liquidity",
        ),
        ("sigma = 0.5", "sigma = nan", "procurement.cost.sigma"),
        (
            r#"mechanisms = ["qmia", "volume", "trust", "mixed", "mut"]"#,
            r#"mechanisms = ["qmia", "vcg"]"#,
            "mechanisms[1]",
        ),
        (
            "token_budget_fraction = 0.3\n",
            "\n",
            "mut needs token_budget_fraction",
        ),
        (
            r#"figures = ["value", "cash"]"#,
            r#"figures = ["welfare"]"#,
            "figures[0]",
        ),
        (
            r#"key = "procurement.providers""#,
            r#"key = "seed""#,
            "sweep[1].key",
        ),
        (
            "values = [5, 8]",
            r#"values = [5, "eight"]"#,
            "sweep[1].values[1]",
        ),
        (
            "values = [5, 8]",
            "values = [5, 0]",
            "procurement.providers = 0",
        ),
        ("max_rounds = 5", "max_rounds = 0", "strategic.max_rounds"),
        // Sizes are bounded before anything is allocated.
        (
            "max_rounds = 5",
            "max_rounds = 5\nclaim_steps = 100000000000",
            "strategic.claim_steps: 100000000000 is more than 10000",
        ),
    ];
    for (from, to, key) in cases {
        assert!(PROCUREMENT.contains(from), "{from}");
        let message = refused(&PROCUREMENT.replacen(from, to, 1));
        assert!(message.contains(key), "{to}: {message}");
    }
    let message = refused("name = ");
    assert!(message.contains("bad.toml"), "{message}");
}

/// `text` with field `index` of its line `row` replaced by `value`.
fn tamper_field(text: &str, row: &str, index: usize, value: &str) -> String {
    let mut fields: Vec<&str> = row.split(',').collect();
    fields[index] = value;
    text.replacen(row, &fields.join(","), 1)
}

#[test]
fn merge_refuses_incomplete_repeated_or_mixed_shards() {
    let scratch = Scratch::new("merge");
    let file = scratch.file("tiny.toml", THRESHOLD);
    let other = scratch.file("other.toml", &THRESHOLD.replace("seed = 3", "seed = 4"));
    for (index, path) in [(1, &file), (2, &file)] {
        let out = scratch.path(&format!("a{index}"));
        succeed(&[
            "experiment",
            path,
            "--out",
            &out,
            "--shard",
            &format!("{index}/3"),
        ]);
    }
    succeed(&[
        "experiment",
        &other,
        "--out",
        &scratch.path("b3"),
        "--shard",
        "3/3",
    ]);
    let merged = scratch.path("merged");
    let attempt = |shards: &[&str]| {
        let mut args = vec!["merge"];
        args.extend(shards.iter().map(|s| s.to_owned()));
        args.extend(["--out", &merged]);
        let output = run(&args);
        assert_eq!(output.status.code(), Some(2));
        assert!(!Path::new(&merged).exists());
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let (a1, a2, b3) = (scratch.path("a1"), scratch.path("a2"), scratch.path("b3"));
    assert!(attempt(&[&a1, &a2]).contains("shards missing: 3/3"));
    assert!(attempt(&[&a1, &a1, &a2]).contains("given twice"));
    assert!(attempt(&[&a1, &a2, &b3]).contains("different experiments"));
    let output = run(&["experiment", &file, "--out", &merged, "--shard", "4/3"]);
    assert_eq!(output.status.code(), Some(2));

    // Tampered shard files: every row must be the one the shard writes.
    let a3 = scratch.path("a3");
    succeed(&["experiment", &file, "--out", &a3, "--shard", "3/3"]);
    let original = std::fs::read_to_string(format!("{a3}/results.csv")).expect("results");
    let a1_rows = std::fs::read_to_string(format!("{a1}/results.csv")).expect("results");
    let mut lines: Vec<&str> = original.lines().collect();
    let header = lines[0];
    let tampered = [
        // Shard 1's cell 0 in place of shard 3's cell 2.
        (
            format!(
                "{header}\n{}\n",
                a1_rows.lines().skip(1).collect::<Vec<_>>().join("\n")
            ),
            "expected cell 2",
        ),
        (
            original.replacen("\n2,1,", "\n2,18446744073709551615,", 1),
            "expected cell 2, replicate 1",
        ),
        (original.replacen("cell,replicate", "cell,rep", 1), "header"),
        (
            {
                let row = lines[1];
                let last = row.rfind(',').expect("fields");
                original.replacen(row, &format!("{},inf", &row[..last]), 1)
            },
            "not a finite number",
        ),
        // Fields read back into typed records: a flag must be 0 or 1, and
        // a field that applies to every record must be there.
        (
            tamper_field(&original, lines[1], 4, "0.5"),
            "row 2: feasible: 0.5 is not a flag (0 or 1)",
        ),
        (
            tamper_field(&original, lines[1], 6, ""),
            "row 2: collected: empty, but it applies to every record",
        ),
        (lines[..lines.len() - 1].join("\n") + "\n", "incomplete"),
        (
            {
                lines.push(lines[1]);
                lines.join("\n") + "\n"
            },
            "more rows",
        ),
    ];
    for (contents, message) in tampered {
        std::fs::write(format!("{a3}/results.csv"), &contents).expect("write");
        let error = attempt(&[&a1, &a2, &a3]);
        assert!(error.contains(message), "{message}: {error}");
    }

    // A single shard is a shard too: 1/1 merges into the full folder.
    let whole = scratch.path("whole");
    let single = scratch.path("single");
    succeed(&["experiment", &file, "--out", &whole]);
    succeed(&["experiment", &file, "--out", &single, "--shard", "1/1"]);
    succeed(&["merge", &single, "--out", &merged]);
    assert_eq!(folder(&merged), folder(&whole));
}

/// One cell, two replicates, Q-MIA alone: the last field of every row is
/// the budget, a double with many digits.
const SMALL: &str = r#"
name = "small"
seed = 5
replicates = 2
mechanisms = ["qmia"]

[procurement]
providers = 4
budget_fraction = 0.3
cost = { distribution = "uniform", low = 0.5, high = 1.5 }
quality = { distribution = "uniform", low = 0.5, high = 1.0 }
utility = { distribution = "uniform", low = 0.0, high = 1.0 }
"#;

#[test]
fn merge_refuses_a_results_table_cut_short() {
    let scratch = Scratch::new("cut");
    let file = scratch.file("small.toml", SMALL);
    let shard = scratch.path("shard");
    succeed(&["experiment", &file, "--out", &shard, "--shard", "1/1"]);
    let results = format!("{shard}/results.csv");
    let original = std::fs::read_to_string(&results).expect("results");
    let lines = original.lines().count();
    let body = original.strip_suffix('\n').expect("a final newline");
    let last_comma = body.rfind(',').expect("fields");
    assert!(body.len() - last_comma > 3, "a long last field: {body}");
    let merged = scratch.path("merged");
    for cut in [
        &body[..body.len() - 2], // inside the last field
        &body[..=last_comma],    // right after the last comma
        &body[..last_comma],     // right before it
        body,                    // before the final newline
    ] {
        std::fs::write(&results, cut).expect("write");
        let output = run(&["merge", &shard, "--out", &merged]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{cut:?}: {stderr}");
        assert!(!Path::new(&merged).exists(), "nothing is written");
        assert!(
            stderr.contains(&format!(
                "{results}: line {lines}: the file ends inside this row (no newline after it): \
                 it was cut short"
            )),
            "{stderr}"
        );
    }
    // Whole rows missing: the count of rows per cell is checked.
    let short: String = original
        .lines()
        .take(lines - 1)
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&results, short).expect("write");
    let output = run(&["merge", &shard, "--out", &merged]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr)
        .contains("incomplete: the rows end before cell 0, replicate 1"));
    std::fs::write(&results, &original).expect("write");
    succeed(&["merge", &shard, "--out", &merged]);
}

/// Runs `procura merge` on `shards` into a fresh folder, checking that it
/// fails with exit code 2 and writes nothing; returns stderr.
fn merge_refused(scratch: &Scratch, shards: &[&str]) -> String {
    let merged = scratch.path("merged-refused");
    let mut args = vec!["merge"];
    args.extend_from_slice(shards);
    args.extend(["--out", &merged]);
    let output = run(&args);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(!Path::new(&merged).exists(), "nothing is written");
    stderr
}

#[test]
fn hostile_shards_are_refused_before_anything_is_allocated() {
    let scratch = Scratch::new("hostile-shards");
    let file = scratch.file("small.toml", SMALL);
    let shard = scratch.path("shard");
    succeed(&["experiment", &file, "--out", &shard, "--shard", "1/1"]);
    let toml = format!("{shard}/experiment.toml");

    // A shard's replicates are the design's, and bounded with it.
    for replicates in ["4611686018427387904", "1000000000000"] {
        std::fs::write(
            &toml,
            SMALL.replacen("replicates = 2", &format!("replicates = {replicates}"), 1),
        )
        .expect("write");
        let stderr = merge_refused(&scratch, &[&shard]);
        assert!(
            stderr.contains(&format!(
                "experiment.toml of the shards: replicates: 1 cells × {replicates} replicates × 1 \
                 mechanisms is more than the 20000000 records an experiment may have"
            )),
            "{stderr}"
        );
    }
    std::fs::write(&toml, SMALL).expect("write");

    // Shard counts are bounded, on the command line and in shard.txt.
    let output = run(&[
        "experiment",
        &file,
        "--out",
        &scratch.path("never"),
        "--shard",
        "1/18446744073709551615",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("N is above the limit of 100000 shards")
    );
    assert!(!Path::new(&scratch.path("never")).exists());
    for count in ["18446744073709551615", "100001"] {
        std::fs::write(format!("{shard}/shard.txt"), format!("1/{count}\n")).expect("write");
        let stderr = merge_refused(&scratch, &[&shard]);
        assert!(
            stderr.contains(&format!(
                "shard.txt: \"1/{count}\": N is above the limit of 100000 shards"
            )),
            "{stderr}"
        );
    }
    // Many missing shards are counted, not all listed.
    std::fs::write(format!("{shard}/shard.txt"), "1/100000\n").expect("write");
    let stderr = merge_refused(&scratch, &[&shard]);
    assert!(
        stderr.contains(
            "shards missing: 2/100000, 3/100000, 4/100000, 5/100000, 6/100000, 7/100000, \
             8/100000, 9/100000, 10/100000, 11/100000 and 99989 more"
        ),
        "{stderr}"
    );
}

#[test]
fn a_failed_write_leaves_the_old_folder_as_it_was() {
    let scratch = Scratch::new("atomic");
    let file = scratch.file("small.toml", SMALL);
    let out = scratch.path("out");
    succeed(&["experiment", &file, "--out", &out]);
    // A file of the user's in the output folder is left alone.
    std::fs::write(format!("{out}/notes.txt"), "mine").expect("write");
    // A folder where a figure goes: that figure cannot be written, after
    // the files before it (experiment.toml, results.csv, summary.csv) are
    // ready.
    std::fs::remove_file(format!("{out}/figures/value.svg")).expect("remove");
    std::fs::create_dir_all(format!("{out}/figures/value.svg")).expect("folder");
    std::fs::write(format!("{out}/figures/value.svg/in-the-way"), "x").expect("write");
    let before = folder(&out);
    let entries = |dir: &str| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("read folder")
            .map(|entry| {
                entry
                    .expect("entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    };
    let (top, figures, beside) = (
        entries(&out),
        entries(&format!("{out}/figures")),
        entries(&scratch.0.display().to_string()),
    );

    let changed = scratch.file("changed.toml", &SMALL.replace("seed = 5", "seed = 6"));
    let output = run(&["experiment", &changed, "--out", &out, "--force"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "a write failure: {stderr}");
    assert!(stderr.contains("value.svg"), "{stderr}");
    assert!(output.stdout.is_empty());
    let now = folder(&out);
    let differ: Vec<&String> = now
        .keys()
        .chain(before.keys())
        .filter(|name| now.get(*name) != before.get(*name))
        .collect();
    assert!(differ.is_empty(), "changed: {differ:?}");
    // No staging folder or backup is left, in the folder or beside it.
    assert_eq!(entries(&out), top);
    assert_eq!(entries(&format!("{out}/figures")), figures);
    let mut beside_now = beside;
    beside_now.push("changed.toml".to_owned());
    beside_now.sort();
    assert_eq!(entries(&scratch.0.display().to_string()), beside_now);

    // Once the way is clear, the new files replace the old, and --force
    // removes the rest (the user's file too: it said to replace them).
    std::fs::remove_dir_all(format!("{out}/figures/value.svg")).expect("remove");
    succeed(&["experiment", &changed, "--out", &out, "--force"]);
    let after = folder(&out);
    assert!(!after.contains_key("notes.txt"));
    assert_ne!(after["results.csv"], before["results.csv"]);
    let mut without_notes = top;
    without_notes.retain(|name| name != "notes.txt");
    assert_eq!(entries(&out), without_notes);

    // A new folder appears whole: written beside it, then renamed.
    let fresh = scratch.path("fresh/nested");
    succeed(&["experiment", &file, "--out", &fresh]);
    assert_eq!(entries(&scratch.path("fresh")), ["nested"]);
}

/// The exit code and stderr of a refused run, which must print nothing.
fn refused_run(args: &[&str], current_dir: &str) -> String {
    let output = procura()
        .args(args)
        .current_dir(current_dir)
        .output()
        .expect("procura runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(output.stdout.is_empty(), "{args:?}");
    stderr
}

#[test]
fn a_used_output_folder_is_refused_unless_force_replaces_what_it_holds() {
    let scratch = Scratch::new("used");
    let file = scratch.file("small.toml", SMALL);
    let out = scratch.path("out");
    succeed(&["experiment", &file, "--out", &out]);
    // What an earlier run of another design leaves: a shard's note, a
    // figure of a metric no longer plotted, a folder of notes.
    std::fs::write(format!("{out}/shard.txt"), "1/2\n").expect("write");
    std::fs::write(format!("{out}/figures/old.svg"), "<svg/>").expect("write");
    std::fs::create_dir_all(format!("{out}/old/deeper")).expect("folder");
    std::fs::write(format!("{out}/old/deeper/x"), "x").expect("write");
    // A link to a folder outside: removed, never followed.
    let outside = scratch.path("outside");
    std::fs::create_dir_all(&outside).expect("folder");
    std::fs::write(format!("{outside}/keep.txt"), "keep").expect("write");
    std::os::unix::fs::symlink(&outside, format!("{out}/link")).expect("link");
    let before = folder(&out);
    let changed = scratch.file("changed.toml", &SMALL.replace("seed = 5", "seed = 6"));
    let stderr = refused_run(&["experiment", &changed, "--out", &out], &scratch.path(""));
    assert!(
        stderr.contains(&format!(
            "--out {out}: the folder is not empty; choose a new or empty folder, or add --force"
        )),
        "{stderr}"
    );
    assert_eq!(folder(&out), before, "a refused run changes nothing");

    // --force: exactly the files of a run into a new folder.
    succeed(&["experiment", &changed, "--out", &out, "--force"]);
    let fresh = scratch.path("fresh");
    succeed(&["experiment", &changed, "--out", &fresh]);
    assert_eq!(folder(&out), folder(&fresh));
    assert!(!Path::new(&format!("{out}/old")).exists());
    assert!(std::fs::symlink_metadata(format!("{out}/link")).is_err());
    assert_eq!(
        std::fs::read_to_string(format!("{outside}/keep.txt")).expect("kept"),
        "keep"
    );
    // An empty folder needs no --force.
    let empty = scratch.path("empty");
    std::fs::create_dir_all(&empty).expect("folder");
    succeed(&["experiment", &file, "--out", &empty]);

    // merge follows the same rule.
    let shard = scratch.path("shard");
    succeed(&["experiment", &file, "--out", &shard, "--shard", "1/1"]);
    let stderr = refused_run(&["merge", &shard, "--out", &out], &scratch.path(""));
    assert!(stderr.contains("the folder is not empty"), "{stderr}");
    succeed(&["merge", &shard, "--out", &out, "--force"]);
    let single = scratch.path("single");
    succeed(&["experiment", &file, "--out", &single]);
    assert_eq!(folder(&out), folder(&single));
}

#[test]
fn force_clears_only_a_result_folder_and_never_one_that_holds_the_inputs_or_the_caller() {
    let scratch = Scratch::new("force-guard");
    let file = scratch.file("small.toml", SMALL);
    let out = scratch.path("out");
    succeed(&["experiment", &file, "--out", &out]);
    let here = scratch.path("");
    let check = |args: &[&str], current_dir: &str, expected: &str| {
        let before = folder(&here);
        let stderr = refused_run(args, current_dir);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert_eq!(folder(&here), before, "{args:?} changed files");
    };
    // Not a folder an experiment wrote.
    let notes = scratch.path("notes");
    std::fs::create_dir_all(&notes).expect("folder");
    std::fs::write(format!("{notes}/todo.txt"), "mine").expect("write");
    check(
        &["experiment", &file, "--out", &notes, "--force"],
        &here,
        "--force will not clear a folder without an experiment.toml, a results.csv and a \
         summary.csv",
    );
    // A user's own project folder that holds its experiment file: the
    // experiment file alone does not make it a results folder.
    let project = scratch.path("project");
    std::fs::create_dir_all(&project).expect("folder");
    let own = format!("{project}/experiment.toml");
    std::fs::write(&own, SMALL).expect("write");
    std::fs::write(format!("{project}/analysis.py"), "mine").expect("write");
    check(
        &["experiment", &own, "--out", &project, "--force"],
        &here,
        "--force will not clear a folder without an experiment.toml, a results.csv",
    );
    // Even with results in it, a folder under version control.
    std::fs::write(format!("{project}/results.csv"), "x\n").expect("write");
    std::fs::write(format!("{project}/summary.csv"), "x\n").expect("write");
    std::fs::create_dir_all(format!("{project}/.git")).expect("folder");
    check(
        &["experiment", &own, "--out", &project, "--force"],
        &here,
        "--force will not clear a folder under version control (it holds .git)",
    );
    // The current folder, or one that holds it.
    check(
        &["experiment", &file, "--out", ".", "--force"],
        &out,
        "--out .: --force will not clear the current folder or a folder that holds it",
    );
    check(
        &["experiment", &file, "--out", &out, "--force"],
        &format!("{out}/figures"),
        "--force will not clear the current folder or a folder that holds it",
    );
    // The home folder, or one that holds it.
    let output = procura()
        .args(["experiment", &file, "--out", &out, "--force"])
        .current_dir(&here)
        .env("HOME", format!("{out}/figures"))
        .output()
        .expect("procura runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr)
        .contains("--force will not clear the home folder or a folder that holds it"));
    assert!(Path::new(&format!("{out}/figures/value.svg")).exists());
    // A folder that holds the experiment file (other than its own copy,
    // read before anything is written) or a shard being merged.
    let inside = format!("{out}/mine.toml");
    std::fs::write(&inside, SMALL).expect("write");
    check(
        &["experiment", &inside, "--out", &out, "--force"],
        &here,
        &format!("--force will not clear the folder that holds {inside}"),
    );
    let shard = format!("{out}/shard");
    succeed(&["experiment", &file, "--out", &shard, "--shard", "1/1"]);
    check(
        &["merge", &shard, "--out", &out, "--force"],
        &here,
        &format!("--force will not clear the folder that holds {shard}"),
    );
    std::fs::remove_file(&inside).expect("remove");
    std::fs::remove_dir_all(&shard).expect("remove");
    let own = format!("{out}/experiment.toml");
    succeed(&["experiment", &own, "--out", &out, "--force"]);
    assert_eq!(std::fs::read_to_string(&own).expect("kept"), SMALL);
}

/// Makes `file` undeletable by this process, and returns how to undo it;
/// `None` where this machine offers no way. Its folder is made read-only,
/// which stops any user but a privileged one (root); where that is not
/// enough, the file is made immutable (`chattr +i`, which root may do).
fn lock(file: &Path) -> Option<Box<dyn Fn()>> {
    use std::os::unix::fs::PermissionsExt;
    let set_mode = |path: &Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    };
    let folder = file.parent().expect("a folder").to_path_buf();
    // Does a read-only folder stop this process? Ask a canary beside it.
    let probe = folder.with_extension("probe");
    std::fs::create_dir_all(&probe).expect("folder");
    std::fs::write(probe.join("x"), "x").expect("write");
    set_mode(&probe, 0o555);
    let stopped = std::fs::remove_file(probe.join("x")).is_err();
    set_mode(&probe, 0o755);
    std::fs::remove_dir_all(&probe).expect("remove the probe");
    if stopped {
        set_mode(&folder, 0o555);
        return Some(Box::new(move || set_mode(&folder, 0o755)));
    }
    let chattr = |flag: &str, path: &Path| {
        Command::new("chattr")
            .arg(flag)
            .arg(path)
            .output()
            .is_ok_and(|output| output.status.success())
    };
    if chattr("+i", file) {
        let file = file.to_path_buf();
        return Some(Box::new(move || {
            chattr("-i", &file);
        }));
    }
    None
}

/// `--force` writes the new results first and deletes the old files
/// after: a deletion that fails is an output failure (exit code 1), with
/// the new results in place.
#[test]
fn a_failed_deletion_under_force_is_an_output_failure() {
    let scratch = Scratch::new("undeletable");
    let file = scratch.file("small.toml", SMALL);
    let out = scratch.path("out");
    succeed(&["experiment", &file, "--out", &out]);
    let stale = Path::new(&out).join("stale");
    std::fs::create_dir_all(&stale).expect("folder");
    let locked = stale.join("locked.txt");
    std::fs::write(&locked, "old").expect("write");
    let Some(unlock) = lock(&locked) else {
        eprintln!("skipped: no way to make a file undeletable on this machine");
        return;
    };
    let changed = scratch.file("changed.toml", &SMALL.replace("seed = 5", "seed = 6"));
    let output = run(&["experiment", &changed, "--out", &out, "--force"]);
    unlock();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(output.stdout.is_empty());
    assert!(
        stderr.starts_with(&format!(
            "error: {out}: the new results are written, but the old files could not all be \
             removed: "
        )),
        "{stderr}"
    );
    // The new results are in place, the locked file where it was.
    let fresh = scratch.path("fresh");
    succeed(&["experiment", &changed, "--out", &fresh]);
    let mut now = folder(&out);
    assert_eq!(now.remove("stale/locked.txt").as_deref(), Some(&b"old"[..]));
    assert_eq!(now, folder(&fresh));
}

/// A sweep of a population key and of a best-response setting: 2 × 2
/// cells, two instance streams.
const SWEPT: &str = r#"
name = "swept"
seed = 5
replicates = 3
mechanisms = ["qmia", "volume"]

[procurement]
providers = 4
budget_fraction = 0.3
cost = { distribution = "uniform", low = 0.5, high = 1.5 }
quality = { distribution = "uniform", low = 0.5, high = 1.0 }
utility = { distribution = "uniform", low = 0.0, high = 1.0 }

[strategic]
mechanisms = ["volume"]

[[sweep]]
key = "procurement.budget_fraction"
values = [0.2, 0.45]

[[sweep]]
key = "strategic.max_rounds"
values = [1, 10]
"#;

#[test]
fn a_plan_lists_the_cells_and_records_and_runs_nothing() {
    let scratch = Scratch::new("plan");
    let file = scratch.file("swept.toml", SWEPT);
    let out = scratch.path("out");
    let output = succeed(&["experiment", &file, "--plan"]);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "swept: 4 cells × 3 replicates × 2 mechanisms = 24 records (a plan: nothing is run)
mechanisms: qmia, volume
cell  procurement.budget_fraction  strategic.max_rounds  instances
0     0.2                          1                     0
1     0.2                          10                    0
2     0.45                         1                     1
3     0.45                         10                    1
cells with the same `instances` draw the same instances (common random numbers)
"
    );
    let output = succeed(&[
        "experiment",
        &file,
        "--plan",
        "--shard",
        "2/3",
        "--out",
        &out,
    ]);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "swept, shard 2/3: 1 of 4 cells × 3 replicates × 2 mechanisms = 6 records (a plan: nothing is run)
mechanisms: qmia, volume
output: OUT (new or empty)
cell  procurement.budget_fraction  strategic.max_rounds  instances
1     0.2                          10                    0
cells with the same `instances` draw the same instances (common random numbers)
"
        .replace("OUT", &out)
    );
    assert!(!Path::new(&out).exists(), "a plan writes nothing");
    // A plan checks the output folder as a run would.
    succeed(&["experiment", &file, "--out", &out]);
    let stderr = refused_run(
        &["experiment", &file, "--plan", "--out", &out],
        &scratch.path(""),
    );
    assert!(stderr.contains("the folder is not empty"), "{stderr}");
    let output = succeed(&["experiment", &file, "--plan", "--out", &out, "--force"]);
    assert!(String::from_utf8_lossy(&output.stdout).contains(&format!(
        "output: {out} (not empty: --force replaces what it holds)"
    )));

    // The cells that share a stream saw the same instances: qmia, which
    // nobody best-responds to, has the same records in cells 0 and 1.
    let results = std::fs::read_to_string(format!("{out}/results.csv")).expect("results");
    let rows = csv_rows(&results);
    let qmia = |cell: &str| -> Vec<BTreeMap<String, String>> {
        rows.iter()
            .filter(|row| row["cell"] == cell && row["mechanism"] == "qmia")
            .map(|row| {
                let mut row = row.clone();
                for key in ["cell", "strategic.max_rounds"] {
                    row.remove(key);
                }
                row
            })
            .collect()
    };
    assert_eq!(qmia("0").len(), 3);
    assert_eq!(qmia("0"), qmia("1"));
    assert_eq!(qmia("2"), qmia("3"));
    assert_ne!(qmia("0"), qmia("2"));
}

#[test]
fn flags_that_do_not_apply_are_refused() {
    let scratch = Scratch::new("flags");
    let file = scratch.file("small.toml", SMALL);
    let out = scratch.path("out");
    let here = scratch.path("");
    for (args, expected) in [
        (
            vec!["experiment", &file, "--plan", "--threads", "2"],
            "'--plan' cannot be used with '--threads <THREADS>'",
        ),
        (
            vec!["experiment", &file, "--force", "--plan"],
            "--out <OUT>",
        ),
        (vec!["experiment", &file], "--out <OUT>"),
        (
            vec!["experiment", &file, "--out", &out, "--threads", "0"],
            "--threads must be at least 1",
        ),
    ] {
        let stderr = refused_run(&args, &here);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    assert!(!Path::new(&out).exists());
}

#[test]
fn the_help_states_every_default() {
    for command in ["experiment", "merge"] {
        let output = succeed(&[command, "--help"]);
        let help = String::from_utf8_lossy(&output.stdout);
        if command == "experiment" {
            assert!(help.contains("[default: one per core]"), "{help}");
            assert!(help.contains("[required unless --plan]"), "{help}");
            assert!(
                help.contains("[default: every cell, written as a result folder]"),
                "{help}"
            );
        }
        assert!(help.contains("unless --force"), "{help}");
    }
}
