//! How `procura value` reads its CSV files (issue 15, item 9): columns
//! to ignore or the features to read, a bids file keyed by the
//! `--provider-column` name, providers without a bid skipped on request,
//! extra bid columns refused by name, and semicolon-separated files
//! refused with a message that says only commas are read.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Twelve rows `x1,x2,label`; row i belongs to provider `"abcd"[i % 4]`.
const ROWS: &[&str] = &[
    "0.49,0.97,1",
    "1.77,0.96,1",
    "-1.88,-0.14,0",
    "0.6,1.6,1",
    "-0.12,-1.01,0",
    "0.3,-1.95,0",
    "-0.88,1.67,1",
    "-1.36,1.19,0",
    "0.47,-1.49,0",
    "1.49,-1.16,1",
    "1.93,1.49,1",
    "1.85,0.16,1",
];
/// Test rows `x1,x2,label`.
const TEST: &str = "x1,x2,label\n1.72,1.77,1\n-0.58,0.1,0\n-1.57,0.99,0\n1.44,-1.85,1\n";

fn procura() -> Command {
    Command::new(env!("CARGO_BIN_EXE_procura"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A fresh folder with the fixtures: `plain.csv` (x1,x2,label),
/// `owned.csv` (owner first), `extra.csv` (an id column and a date
/// between the features, label last), `test.csv`, and the `files` given.
fn folder(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let folder = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("value-columns-{name}"));
    // A leftover from an earlier run may or may not exist.
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).expect("create the folder");
    let mut plain = String::from("x1,x2,label\n");
    let mut owned = String::from("owner,x1,x2,label\n");
    let mut extra = String::from("id,x1,date,x2,label\n");
    for (i, row) in ROWS.iter().enumerate() {
        let c: Vec<&str> = row.split(',').collect();
        plain.push_str(&format!("{row}\n"));
        owned.push_str(&format!("{},{row}\n", ["a", "b", "c", "d"][i % 4]));
        extra.push_str(&format!(
            "{},{},2024-01-0{},{},{}\n",
            100 + i,
            c[0],
            1 + i % 9,
            c[1],
            c[2]
        ));
    }
    let fixtures = [
        ("plain.csv", plain.as_str()),
        ("owned.csv", owned.as_str()),
        ("extra.csv", extra.as_str()),
        ("test.csv", TEST),
    ];
    for (name, contents) in fixtures.iter().chain(files) {
        std::fs::write(folder.join(name), contents).expect("write a fixture");
    }
    folder
}

fn value(folder: &Path, args: &[&str]) -> Output {
    procura()
        .current_dir(folder)
        .args(["value", "--quiet"])
        .args(args)
        .output()
        .expect("procura runs")
}

fn read(folder: &Path, name: &str) -> String {
    std::fs::read_to_string(folder.join(name)).expect("output written")
}

/// `--ignore-column` (repeatable) and `--features` read a file with
/// non-feature columns as the plain file: the same bytes out. The test
/// file may lack the ignored columns.
#[test]
fn ignored_columns_and_listed_features_are_not_read() {
    let folder = folder("ignore", &[]);
    let run = |train: &str, extra: &[&str], out: &str| {
        let mut args = vec!["--method", "knn-shapley", "--k", "3", "--train", train];
        args.extend_from_slice(&["--test", "test.csv", "--out", out]);
        args.extend_from_slice(extra);
        let output = value(&folder, &args);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{extra:?}: {}",
            text(&output.stderr)
        );
        read(&folder, out)
    };
    let plain = run("plain.csv", &[], "plain-values.csv");
    let ignored = run(
        "extra.csv",
        &["--ignore-column", "id", "--ignore-column", "date"],
        "ignored-values.csv",
    );
    let listed = run("extra.csv", &["--features", "x2,x1"], "listed-values.csv");
    assert_eq!(ignored, plain);
    assert_eq!(listed, plain);
    // Without them, the date column is a feature that is not a number.
    let output = value(
        &folder,
        &[
            "--method",
            "loo",
            "--train",
            "extra.csv",
            "--test",
            "test.csv",
            "--out",
            "x.csv",
        ],
    );
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        text(&output.stderr),
        "error: extra.csv: line 2, column 3 (date): \"2024-01-01\" is not a number\n"
    );
}

/// Each bad column list is refused naming the flag, and nothing is written.
#[test]
fn bad_column_lists_are_refused_naming_the_flag() {
    let folder = folder("bad-lists", &[]);
    let cases: &[(&[&str], &str)] = &[
        (
            &["--ignore-column", "idd"],
            "error: extra.csv: line 1: no column named \"idd\" (--ignore-column)\n",
        ),
        (
            &["--features", "x1,x3"],
            "error: extra.csv: line 1: no column named \"x3\" (--features)\n",
        ),
        (
            &["--features", "x1,x1"],
            "error: extra.csv: column \"x1\" is listed twice (--features)\n",
        ),
        (
            &["--features", "x1,label"],
            "error: extra.csv: line 1: column \"label\" is the label column, so it cannot be a \
             feature (--features)\n",
        ),
        (
            &["--ignore-column", "label"],
            "error: extra.csv: line 1: column \"label\" is the label column, so it cannot be \
             ignored (--ignore-column)\n",
        ),
        (
            &["--ignore-column", "id", "--features", "x1"],
            "the argument '--ignore-column <NAME>' cannot be used with '--features <A,B,...>'",
        ),
    ];
    for (extra, expected) in cases {
        let mut args = vec![
            "--method",
            "loo",
            "--train",
            "extra.csv",
            "--test",
            "test.csv",
        ];
        args.extend_from_slice(&["--out", "values.csv"]);
        args.extend_from_slice(extra);
        let output = value(&folder, &args);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{extra:?}: {stderr}");
        assert!(
            stderr.contains(expected),
            "{extra:?}: {stderr:?} lacks {expected:?}"
        );
        assert!(output.stdout.is_empty());
        assert!(!folder.join("values.csv").exists(), "{extra:?}");
    }
}

/// The instance of a run with `bids`, or its error.
fn emit(folder: &Path, bids: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "--method",
        "knn-shapley",
        "--k",
        "3",
        "--train",
        "owned.csv",
    ];
    args.extend_from_slice(&["--test", "test.csv", "--out", "values.csv"]);
    args.extend_from_slice(&["--provider-column", "owner", "--budget", "10"]);
    args.extend_from_slice(&["--emit-instance", "instance.json", "--bids", bids]);
    args.extend_from_slice(extra);
    value(folder, &args)
}

fn providers(folder: &Path) -> Vec<String> {
    let json: serde_json::Value =
        serde_json::from_str(&read(folder, "instance.json")).expect("instance json");
    json["providers"]
        .as_array()
        .expect("providers")
        .iter()
        .map(|provider| provider["id"].as_str().expect("id").to_owned())
        .collect()
}

/// The bids file may name its id column as the datasets do
/// (`--provider-column owner`) instead of `provider`.
#[test]
fn bids_may_use_the_provider_column_name() {
    let folder = folder(
        "bids-owner",
        &[
            ("owner-bids.csv", "owner,bid\nd,1\nc,2\nb,3\na,4\n"),
            ("provider-bids.csv", "provider,bid\nd,1\nc,2\nb,3\na,4\n"),
            ("other-bids.csv", "seller,bid\na,1\n"),
        ],
    );
    for bids in ["owner-bids.csv", "provider-bids.csv"] {
        let output = emit(&folder, bids, &[]);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{bids}: {}",
            text(&output.stderr)
        );
        assert_eq!(providers(&folder), ["d", "c", "b", "a"], "{bids}");
    }
    let output = emit(&folder, "other-bids.csv", &[]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        text(&output.stderr),
        "error: other-bids.csv: line 1: no column named \"owner\" (--provider-column) or \
         \"provider\" (--bids)\n"
    );
}

/// A bids file with a column it does not know is refused naming it, as
/// an instance with an unknown field is.
#[test]
fn extra_bid_columns_are_refused() {
    let folder = folder(
        "bids-extra",
        &[
            (
                "colour.csv",
                "provider,bid,colour\na,1,red\nb,1,red\nc,1,red\nd,1,red\n",
            ),
            (
                "both.csv",
                "owner,provider,bid\na,a,1\nb,b,1\nc,c,1\nd,d,1\n",
            ),
        ],
    );
    let cases = [
        (
            "colour.csv",
            "error: colour.csv: line 1: unknown column \"colour\", expected \"provider\", \
             \"bid\", \"volume\", \"claimed_quality\"\n",
        ),
        (
            "both.csv",
            "error: both.csv: line 1: unknown column \"provider\", expected \"owner\", \"bid\", \
             \"volume\", \"claimed_quality\"\n",
        ),
    ];
    for (bids, expected) in cases {
        let output = emit(&folder, bids, &[]);
        assert_eq!(output.status.code(), Some(2), "{bids}");
        assert_eq!(text(&output.stderr), expected);
        assert!(!folder.join("values.csv").exists(), "{bids}");
        assert!(!folder.join("instance.json").exists(), "{bids}");
    }
}

/// A provider without a bid is an error that names the flag that skips
/// it; with `--skip-providers-without-bid` its rows are left out of the
/// valuation and of the instance, and stderr says how many, even with
/// `--quiet`.
#[test]
fn providers_without_a_bid_can_be_skipped() {
    let folder = folder(
        "skip",
        &[
            ("some-bids.csv", "provider,bid\nc,2\na,1\n"),
            ("no-bids.csv", "provider,bid\nz,2\n"),
        ],
    );
    let output = emit(&folder, "some-bids.csv", &[]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        text(&output.stderr),
        "error: instance.json: cannot build the instance: some-bids.csv: provider \"b\" of the \
         training set has no bid (--skip-providers-without-bid leaves such providers out)\n"
    );

    let output = emit(&folder, "some-bids.csv", &["--skip-providers-without-bid"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stderr),
        "skipped 2 providers without a bid (\"b\", \"d\"): 6 rows of owned.csv left out\n"
    );
    assert_eq!(providers(&folder), ["c", "a"]);
    let values = read(&folder, "values.csv");
    let keys: Vec<&str> = values.lines().skip(1).map(|line| &line[..1]).collect();
    assert_eq!(keys, ["a", "c"]);
    // The same values as a training file holding only a's and c's rows.
    let only: String = read(&folder, "owned.csv")
        .lines()
        .filter(|line| !line.starts_with("b,") && !line.starts_with("d,"))
        .map(|line| format!("{line}\n"))
        .collect();
    std::fs::write(folder.join("ac.csv"), only).expect("write");
    let output = value(
        &folder,
        &[
            "--method",
            "knn-shapley",
            "--k",
            "3",
            "--train",
            "ac.csv",
            "--test",
            "test.csv",
            "--provider-column",
            "owner",
            "--out",
            "-",
        ],
    );
    assert_eq!(text(&output.stdout), values);

    let output = emit(&folder, "no-bids.csv", &["--skip-providers-without-bid"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        text(&output.stderr),
        "error: no-bids.csv: no provider of the training set (owned.csv) has a bid\n"
    );
}

/// A semicolon- (or tab-) separated file is refused with a message that
/// says only commas are read: as training, test or bids file.
#[test]
fn semicolon_files_are_refused_saying_only_commas_are_read() {
    let folder = folder(
        "semicolons",
        &[
            ("semi.csv", "x1;x2;label\n0,5;1,2;1\n"),
            ("tabs.csv", "x1\tx2\tlabel\n0.5\t1.2\t1\n"),
            ("semi-bids.csv", "provider;bid\na;1\n"),
        ],
    );
    let message = |file: &str, separator: &str| {
        format!(
            "error: {file}: line 1: the header is one column holding {separator}: fields must \
             be separated by commas (only comma-separated files are read)\n"
        )
    };
    let cases = [
        (
            ["--train", "semi.csv", "--test", "test.csv"],
            message("semi.csv", "';'"),
        ),
        (
            ["--train", "plain.csv", "--test", "semi.csv"],
            message("semi.csv", "';'"),
        ),
        (
            ["--train", "tabs.csv", "--test", "test.csv"],
            message("tabs.csv", "'\\t'"),
        ),
    ];
    for (files, expected) in cases {
        let mut args = vec!["--method", "loo", "--out", "values.csv"];
        args.extend_from_slice(&files);
        let output = value(&folder, &args);
        assert_eq!(output.status.code(), Some(2), "{files:?}");
        assert_eq!(text(&output.stderr), expected);
    }
    let output = emit(&folder, "semi-bids.csv", &[]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(text(&output.stderr), message("semi-bids.csv", "';'"));
}
