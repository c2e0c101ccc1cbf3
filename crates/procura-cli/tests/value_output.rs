//! Where `procura value` writes (issue 15, item 8): `--out -` is stdout,
//! an unwritable `--out` is refused before anything is read or valued, no
//! message names a temporary file, the values CSV carries each value's
//! standard error and sample count, status lines go to stderr, and
//! `--quiet` silences them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use procura::valuation::table::{Classes, Columns, Table};
use procura::valuation::{
    banzhaf_msr, no_progress, LearningGame, Logistic, Model, Players, SamplingConfig,
};

/// Eight rows `x1,x2,label`.
const TRAIN: &str = "x1,x2,label\n0.49,0.97,1\n1.77,0.96,1\n-1.88,-0.14,0\n0.6,1.6,1\n\
                     -0.12,-1.01,0\n0.3,-1.95,0\n-0.88,1.67,1\n-1.36,1.19,0\n";
/// Four test rows.
const TEST: &str = "x1,x2,label\n1.72,1.77,1\n-0.58,0.1,0\n-1.57,0.99,0\n1.44,-1.85,1\n";

fn procura() -> Command {
    Command::new(env!("CARGO_BIN_EXE_procura"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A fresh folder holding `train.csv` and `test.csv`.
fn folder(name: &str) -> PathBuf {
    let folder = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("value-output-{name}"));
    // A leftover from an earlier run may or may not exist.
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).expect("create the folder");
    std::fs::write(folder.join("train.csv"), TRAIN).expect("write train.csv");
    std::fs::write(folder.join("test.csv"), TEST).expect("write test.csv");
    folder
}

/// `procura value` in `folder` (relative paths resolve there).
fn value(folder: &Path, args: &[&str]) -> Output {
    procura()
        .current_dir(folder)
        .args(["value", "--train", "train.csv", "--test", "test.csv"])
        .args(args)
        .output()
        .expect("procura runs")
}

fn entries(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .expect("list")
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
}

/// `--out -` writes the CSV on stdout, creates no file named `-`, and
/// says what it did on stderr.
#[test]
fn out_dash_is_stdout() {
    let folder = folder("dash");
    let output = value(
        &folder,
        &[
            "--method", "loo", "--model", "knn", "--k", "1", "--out", "-",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout),
        "row,value,std_error,samples\n0,0,0,\n1,0,0,\n2,0,0,\n3,0,0,\n4,0,0,\n5,0,0,\n\
         6,0,0,\n7,0.25,0,\n"
    );
    assert_eq!(
        text(&output.stderr),
        "valued 8 rows (exact, 9 models retrained) into stdout\n"
    );
    assert_eq!(entries(&folder), ["test.csv", "train.csv"]);
}

/// An --out that cannot be written is refused first: before the training
/// file, whose NaN would otherwise be the error, is even read; exit code 1
/// (an output error), and no temporary name in the message.
#[test]
fn unwritable_out_is_refused_before_the_valuation() {
    let folder = folder("unwritable");
    std::fs::write(folder.join("nan.csv"), "x1,x2,label\n0.1,NaN,1\n").expect("write");
    let cases: &[(&str, &str)] = &[
        (
            "missing/values.csv",
            "error: missing/values.csv: cannot write: the folder missing does not exist\n",
        ),
        (".", "error: .: cannot write: it is a folder\n"),
        (
            "test.csv/values.csv",
            "error: test.csv/values.csv: cannot write: test.csv is not a folder\n",
        ),
    ];
    for (out, expected) in cases {
        let output = procura()
            .current_dir(&folder)
            .args([
                "value", "--method", "loo", "--train", "nan.csv", "--test", "test.csv",
            ])
            .args(["--out", out])
            .output()
            .expect("procura runs");
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{out}: {stderr}");
        assert_eq!(stderr, *expected, "{out}");
        assert!(!stderr.contains(".tmp"), "{out}: {stderr}");
        assert!(output.stdout.is_empty(), "{out}");
    }
    // The instance's file is checked as early, and the values' file is
    // not left behind.
    let output = value(
        &folder,
        &[
            "--method",
            "loo",
            "--out",
            "values.csv",
            "--provider-column",
            "x1",
            "--emit-instance",
            "missing/instance.json",
            "--bids",
            "no-such-bids.csv",
            "--budget",
            "1",
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stderr),
        "error: missing/instance.json: cannot write: the folder missing does not exist\n"
    );
    assert_eq!(entries(&folder), ["nan.csv", "test.csv", "train.csv"]);
}

/// The values CSV has a `std_error` and a `samples` column: the library's
/// standard errors, bit for bit, and the samples drawn; the exact methods
/// write 0 and nothing.
#[test]
fn standard_errors_and_samples_are_columns() {
    let folder = folder("columns");
    let output = value(
        &folder,
        &[
            "--method",
            "banzhaf-msr",
            "--samples",
            "40",
            "--seed",
            "3",
            "--out",
            "values.csv",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(
        output.stdout.is_empty(),
        "status on stdout: {}",
        text(&output.stdout)
    );

    let train = Table::read_csv(TRAIN.as_bytes(), Columns::default()).expect("train");
    let mut test = Table::read_csv(TEST.as_bytes(), Columns::default()).expect("test");
    test.align_features(&train).expect("features");
    let classes = Classes::of(&[&train, &test]).expect("classes");
    let train = classes.dataset(&train).expect("train");
    let test = classes.dataset(&test).expect("test");
    let players = Players::points(&train);
    let model = Model::Logistic(Logistic::new(1.0).expect("l2"));
    let game = LearningGame::new(&train, &test, &players, model).expect("game");
    let config = SamplingConfig::new(40, 3).expect("config");
    let estimate = banzhaf_msr(&game, &config, &no_progress).expect("estimate");
    let mut expected = String::from("row,value,std_error,samples\n");
    for (row, (value, se)) in estimate.values.iter().zip(&estimate.std_errors).enumerate() {
        expected.push_str(&format!("{row},{value},{se},40\n"));
    }
    let written = std::fs::read_to_string(folder.join("values.csv")).expect("values");
    assert_eq!(written, expected);
    assert!(estimate.std_errors.iter().all(|se| *se > 0.0));
    let largest = estimate.std_errors.iter().copied().fold(0.0, f64::max);
    assert_eq!(
        text(&output.stderr),
        format!("valued 8 rows (40 samples, largest standard error {largest}) into values.csv\n")
    );
}

/// `--quiet` prints nothing but the output; errors still go to stderr.
#[test]
fn quiet_prints_no_status() {
    let folder = folder("quiet");
    for quiet in ["--quiet", "-q"] {
        let output = value(
            &folder,
            &[
                "--method",
                "knn-shapley",
                "--k",
                "3",
                "--out",
                "values.csv",
                quiet,
            ],
        );
        assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
        assert!(output.stdout.is_empty(), "{quiet}");
        assert!(
            output.stderr.is_empty(),
            "{quiet}: {}",
            text(&output.stderr)
        );
        let written = std::fs::read_to_string(folder.join("values.csv")).expect("values");
        assert!(
            written.starts_with("row,value,std_error,samples\n0,"),
            "{written}"
        );
    }
    let output = value(
        &folder,
        &["--method", "loo", "--k", "3", "--out", "-", "--quiet"],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).starts_with("error: --k does not apply to --model logreg"));
}

/// `--emit-instance -` writes the instance on stdout, for `procura clear
/// -`; both outputs on stdout, or both in one file, is refused.
#[test]
fn emit_instance_dash_is_stdout() {
    let folder = folder("instance");
    let owned: String = TRAIN
        .lines()
        .enumerate()
        .map(|(line, row)| match line {
            0 => format!("owner,{row}\n"),
            _ => format!("{},{row}\n", ["a", "b"][line % 2]),
        })
        .collect();
    std::fs::write(folder.join("owned.csv"), owned).expect("write");
    std::fs::write(folder.join("bids.csv"), "provider,bid\na,1\nb,2\n").expect("write");
    let run = |out: &str, instance: &str| {
        procura()
            .current_dir(&folder)
            .args(["value", "--method", "knn-shapley", "--k", "3"])
            .args(["--train", "owned.csv", "--test", "test.csv", "--out", out])
            .args([
                "--provider-column",
                "owner",
                "--bids",
                "bids.csv",
                "--budget",
                "4",
            ])
            .args(["--emit-instance", instance])
            .output()
            .expect("procura runs")
    };
    let output = run("values.csv", "-");
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json on stdout");
    assert_eq!(json["budget"], 4.0);
    assert_eq!(json["providers"][0]["id"], "a");
    assert_eq!(
        entries(&folder),
        [
            "bids.csv",
            "owned.csv",
            "test.csv",
            "train.csv",
            "values.csv"
        ]
    );
    let cleared = procura()
        .args(["clear", "-", "--mechanism", "qmia"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(&output.stdout)?;
            child.wait_with_output()
        })
        .expect("procura clear runs");
    assert_eq!(cleared.status.code(), Some(0), "{}", text(&cleared.stderr));
    assert!(text(&cleared.stdout).contains("\"mechanism\": \"qmia\""));

    for (out, instance, expected) in [
        (
            "-",
            "-",
            "error: --out and --emit-instance are both - (stdout): write one to a file\n",
        ),
        (
            "same.json",
            "same.json",
            "error: --out and --emit-instance are the same file, same.json\n",
        ),
    ] {
        let output = run(out, instance);
        assert_eq!(output.status.code(), Some(2));
        assert_eq!(text(&output.stderr), expected);
        assert!(output.stdout.is_empty());
    }
    assert!(!folder.join("same.json").exists());
}
