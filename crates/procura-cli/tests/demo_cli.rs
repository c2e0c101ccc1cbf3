//! Integration tests of `procura demo`: the real binary runs a whole round
//! on the built-in wine data, prints the table, and writes `demo.csv` and
//! `demo.svg`; bad flags exit with code 2, name the flag and write nothing.

use std::path::PathBuf;
use std::process::{Command, Output};

fn procura() -> Command {
    Command::new(env!("CARGO_BIN_EXE_procura"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A path for one test's output folder, which does not exist yet.
fn scratch(name: &str) -> PathBuf {
    let folder = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("demo-{name}"));
    // A leftover from an earlier run may or may not exist.
    let _ = std::fs::remove_dir_all(&folder);
    folder
}

/// Runs `procura demo`, from a scratch working folder so that the default
/// `--out` lands there too.
fn demo(name: &str, args: &[&str]) -> (Output, PathBuf) {
    let folder = scratch(name);
    std::fs::create_dir_all(&folder).expect("create scratch folder");
    let output = procura()
        .arg("demo")
        .args(args)
        .current_dir(&folder)
        .output()
        .expect("procura runs");
    (output, folder)
}

const MECHANISMS: [&str; 5] = ["qmia", "mut", "mixed", "volume", "trust"];

#[test]
fn the_demo_prints_a_table_and_writes_csv_and_svg() {
    let (output, folder) = demo("good", &["--out", "tmp", "--seed", "3"]);
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "stderr: {}", text(&output.stderr));
    assert!(stdout.contains("30 providers"), "{stdout}");
    let header = stdout
        .lines()
        .find(|line| line.starts_with("mechanism"))
        .expect("table header");
    for column in ["cash", "tokens", "providers", "rows", "value", "test acc"] {
        assert!(header.contains(column), "{header}");
    }
    for name in MECHANISMS.iter().chain(&["all data", "no purchase"]) {
        assert!(
            stdout.lines().any(|line| line.starts_with(name)),
            "no row for {name}: {stdout}"
        );
    }
    assert!(stdout.contains("Q-MIA"), "the explanation: {stdout}");

    let csv = std::fs::read_to_string(folder.join("tmp/demo.csv")).expect("demo.csv");
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some(
            "mechanism,cash,tokens,cost,providers,rows,label_noise,value,test_accuracy,\
             br_rounds,br_converged"
        )
    );
    let rows: Vec<Vec<&str>> = lines.map(|line| line.split(',').collect()).collect();
    let names: Vec<&str> = rows.iter().map(|row| row[0]).collect();
    assert_eq!(
        names,
        [
            "qmia",
            "mut",
            "mixed",
            "volume",
            "trust",
            "all-data",
            "no-purchase"
        ]
    );
    for row in &rows {
        assert_eq!(row.len(), 11, "{row:?}");
        let accuracy: f64 = row[8].parse().expect("test accuracy is a number");
        assert!((0.0..=1.0).contains(&accuracy), "{row:?}");
    }
    let svg = std::fs::read_to_string(folder.join("tmp/demo.svg")).expect("demo.svg");
    assert!(svg.contains("<svg"), "{svg}");
    for name in MECHANISMS {
        assert!(svg.contains(name), "no bar for {name}");
    }

    // The same seed gives the same table and the same files.
    let (again, other) = demo("good-again", &["--out", "tmp", "--seed", "3"]);
    assert_eq!(text(&again.stdout), stdout);
    let csv_again = std::fs::read_to_string(other.join("tmp/demo.csv")).expect("demo.csv");
    assert_eq!(csv_again, csv);
}

#[test]
fn the_default_output_folder_is_demo_out() {
    let (output, folder) = demo("default", &["--providers", "8", "--budget-fraction", "0.5"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("8 providers"));
    assert!(folder.join("demo-out/demo.csv").is_file());
    assert!(folder.join("demo-out/demo.svg").is_file());
}

/// Each bad flag: exit 2, the flag named on stderr, nothing on stdout and
/// no output folder.
#[test]
fn bad_flags_are_refused_and_write_nothing() {
    let cases: &[(&[&str], &str)] = &[
        (&["--budget-fraction", "-1"], "--budget-fraction"),
        (&["--budget-fraction", "0"], "--budget-fraction"),
        (&["--budget-fraction", "1.5"], "--budget-fraction"),
        (&["--budget-fraction", "NaN"], "--budget-fraction"),
        (&["--budget-fraction", "abc"], "--budget-fraction"),
        (&["--providers", "0"], "--providers"),
        (&["--providers", "-3"], "--providers"),
        (&["--providers", "1000"], "--providers"),
        (&["--seed", "-1"], "--seed"),
        (&["--bogus"], "--bogus"),
    ];
    for (index, (args, flag)) in cases.iter().enumerate() {
        let mut all = vec!["--out", "tmp"];
        all.extend_from_slice(args);
        let (output, folder) = demo(&format!("bad-{index}"), &all);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(flag), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?}");
        assert!(!folder.join("tmp").exists(), "{args:?} wrote output");
    }
}

/// Out-of-range values are refused by the library's `RoundConfig` checks,
/// whose messages the command shows with the flag's name.
#[test]
fn range_errors_come_from_the_library_and_name_the_flag() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--budget-fraction", "1.5"],
            "error: --budget-fraction: 1.5 is not in (0, 1]",
        ),
        (
            &["--budget-fraction", "NaN"],
            "error: --budget-fraction: NaN is not in (0, 1]",
        ),
        (&["--providers", "0"], "error: --providers: 0 is not ≥ 1"),
        (
            &["--providers", "1000"],
            "error: --providers: cannot split 999 rows among 1000 providers",
        ),
    ];
    for (index, (args, message)) in cases.iter().enumerate() {
        let mut all = vec!["--out", "tmp"];
        all.extend_from_slice(args);
        let (output, _) = demo(&format!("range-{index}"), &all);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert_eq!(text(&output.stderr).trim_end(), *message, "{args:?}");
    }
}

#[test]
fn an_unwritable_output_folder_exits_1() {
    let folder = scratch("unwritable");
    std::fs::create_dir_all(&folder).expect("create scratch folder");
    std::fs::write(folder.join("file"), "not a folder").expect("write file");
    let output = procura()
        .args(["demo", "--out", "file/sub"])
        .current_dir(&folder)
        .output()
        .expect("procura runs");
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("file/sub"));
    assert!(output.stdout.is_empty());
}
