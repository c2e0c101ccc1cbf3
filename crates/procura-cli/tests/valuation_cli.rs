//! Integration tests of `procura value` and `procura quality`: the real
//! binary on small CSV files. Bad files exit with code 2, a message naming
//! the file, line and column on stderr, nothing on stdout, and no output
//! file; good runs write the documented CSV and a valid instance.
//!
//! The CSV fixtures are written from the tables below into the target's
//! temporary folder, so that `tests/data/` keeps only `cli.rs`'s files
//! (whose test counts that folder's entries).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn procura() -> Command {
    Command::new(env!("CARGO_BIN_EXE_procura"))
}

/// Rows `x1,x2,label` of the training set; row i belongs to provider
/// `"abc"[i % 3]` in `train.csv`.
const POINTS: &[&str] = &[
    "0.492,0.967,1",
    "1.77,0.96,1",
    "-1.884,-0.138,0",
    "0.596,1.604,1",
    "-0.124,-1.014,0",
    "0.296,-1.948,0",
    "-0.882,1.665,1",
    "-1.362,1.189,0",
    "0.47,-1.493,0",
    "1.486,-1.162,1",
    "1.93,1.49,1",
    "1.846,0.157,1",
    "-1.181,1.764,1",
    "1.866,1.575,1",
    "-0.555,-1.336,0",
    "-1.739,-0.795,0",
    "-1.986,0.712,0",
    "-0.76,1.274,0",
    "-0.737,-0.075,0",
    "-1.772,1.9,0",
    "0.999,1.38,1",
    "1.151,-0.535,1",
    "-1.964,-1.813,0",
    "1.821,-1.214,1",
];

/// Rows of the test set.
const TEST: &[&str] = &[
    "1.719,1.768,1",
    "-0.581,0.099,0",
    "-1.568,0.994,0",
    "1.439,-1.853,1",
    "-1.635,-0.637,0",
    "1.672,-0.64,1",
    "0.181,-0.75,0",
    "-1.29,-1.687,0",
    "0.757,1.987,1",
    "-1.806,1.947,0",
    "-0.376,-1.051,0",
    "1.305,-0.177,1",
];

/// Small files, each one problem at most: (name, contents).
const FILES: &[(&str, &str)] = &[
    (
        "bids-unknown.csv",
        "provider,bid\na,1.0\nb,2.0\nc,0.5\nz,1.0\n",
    ),
    (
        "bids.csv",
        "provider,bid,volume,claimed_quality\na,1.0,8,0.9\nb,2.0,,\nc,0.5,8,1.0\n",
    ),
    (
        "bids-nan.csv",
        "provider,bid,volume\na,1.0,8\nb,NaN,8\nc,0.5,8\n",
    ),
    ("bids-ragged.csv", "provider,bid\na,1.0\nb\nc,0.5\n"),
    ("empty-cell.csv", "x1,x2,label\n0.1,,1\n"),
    ("empty.csv", ""),
    ("header-only.csv", "x1,x2,label\n"),
    ("missing-feature.csv", "x1,x3,label\n0.1,0.2,1\n"),
    ("nan.csv", "x1,x2,label\n0.1,NaN,1\n"),
    ("no-label-column.csv", "x1,x2,y\n0.1,0.2,1\n"),
    ("non-numeric.csv", "x1,x2,label\n0.1,0.2,1\nabc,0.4,0\n"),
    ("ragged.csv", "x1,x2,label\n0.1,0.2,1\n0.3,1\n"),
    (
        "three-features.csv",
        "x1,x2,x3,label\n0.1,0.2,0.3,1\n0.4,0.5,0.6,0\n",
    ),
];

/// The fixture `name`, written (once per test process) with the others.
fn data(name: &str) -> PathBuf {
    static FOLDER: OnceLock<PathBuf> = OnceLock::new();
    FOLDER
        .get_or_init(|| {
            let folder = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("valuation-fixtures");
            std::fs::create_dir_all(&folder).expect("create fixture folder");
            let table = |header: &str, rows: Vec<String>| {
                let mut text = format!("{header}\n");
                for row in rows {
                    text.push_str(&row);
                    text.push('\n');
                }
                text
            };
            let points = POINTS.iter().map(|row| (*row).to_owned()).collect();
            let owned = POINTS
                .iter()
                .enumerate()
                .map(|(i, row)| format!("{},{row}", ["a", "b", "c"][i % 3]))
                .collect();
            let test = TEST.iter().map(|row| (*row).to_owned()).collect();
            let cells = |row: &str| -> Vec<String> { row.split(',').map(str::to_owned).collect() };
            // The test set with its columns in another order.
            let reordered = TEST
                .iter()
                .map(|row| {
                    let c = cells(row);
                    format!("{},{},{}", c[2], c[1], c[0])
                })
                .collect();
            // The test set with its labels written 0.0 and 1.0.
            let float_labels = TEST.iter().map(|row| format!("{row}.0")).collect();
            // A continuous target as the label: one class per row.
            let continuous = POINTS
                .iter()
                .map(|row| {
                    let c = cells(row);
                    format!("{},{},{}", c[0], c[1], c[0])
                })
                .collect();
            let generated = [
                ("points.csv", table("x1,x2,label", points)),
                ("train.csv", table("owner,x1,x2,label", owned)),
                ("test.csv", table("x1,x2,label", test)),
                ("test-reordered.csv", table("label,x2,x1", reordered)),
                ("test-float-labels.csv", table("x1,x2,label", float_labels)),
                ("continuous.csv", table("x1,x2,label", continuous)),
            ];
            let small = FILES.iter().map(|(name, text)| (*name, (*text).to_owned()));
            for (name, text) in generated.into_iter().chain(small) {
                std::fs::write(folder.join(name), text).expect("write fixture");
            }
            folder
        })
        .join(name)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A fresh, empty folder for one test's output files.
fn scratch(name: &str) -> PathBuf {
    let folder = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("valuation-{name}"));
    // A leftover from an earlier run may or may not exist.
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).expect("create scratch folder");
    folder
}

fn value(args: &[&str], train: &Path, test: &Path, out: &Path) -> Output {
    procura()
        .arg("value")
        .arg("--train")
        .arg(train)
        .arg("--test")
        .arg(test)
        .arg("--out")
        .arg(out)
        .args(args)
        .output()
        .expect("procura runs")
}

/// Each bad input: exit 2, nothing on stdout, stderr naming the problem, and
/// no output file.
#[test]
fn bad_datasets_are_refused() {
    let folder = scratch("bad");
    // (train, test, extra arguments, expected fragments of the message)
    let cases: &[(&str, &str, &[&str], &[&str])] = &[
        (
            "ragged.csv",
            "test.csv",
            &[],
            &["ragged.csv: line 3: 2 fields, but the header has 3"],
        ),
        (
            "non-numeric.csv",
            "test.csv",
            &[],
            &["non-numeric.csv: line 3, column 1 (x1): \"abc\" is not a number"],
        ),
        (
            "nan.csv",
            "test.csv",
            &[],
            &["nan.csv: line 2, column 2 (x2): \"NaN\" is not a finite number"],
        ),
        (
            "empty-cell.csv",
            "test.csv",
            &[],
            &["empty-cell.csv: line 2, column 2 (x2): empty cell"],
        ),
        ("empty.csv", "test.csv", &[], &["empty.csv: empty file"]),
        (
            "header-only.csv",
            "test.csv",
            &[],
            &["header-only.csv: no data rows"],
        ),
        (
            "test.csv",
            "three-features.csv",
            &[],
            &["three-features.csv: line 1: feature column \"x3\" is not a feature column of the training set"],
        ),
        (
            "test.csv",
            "missing-feature.csv",
            &[],
            &["missing-feature.csv: line 1: no feature column named \"x2\", which the training set"],
        ),
        (
            "continuous.csv",
            "test.csv",
            &[],
            &[
                "label column \"label\" has 26 distinct values in 36 rows",
                "continuous target",
            ],
        ),
        (
            "test.csv",
            "no-label-column.csv",
            &["--label", "label"],
            &["no-label-column.csv: line 1: no column named \"label\" (--label)"],
        ),
        (
            "test.csv",
            "test.csv",
            &["--provider-column", "owner"],
            &["test.csv: line 1: no column named \"owner\" (--provider-column)"],
        ),
        (
            "missing.csv",
            "test.csv",
            &[],
            &["missing.csv: cannot read"],
        ),
        (
            "train.csv",
            "test.csv",
            &["--k", "0"],
            &["--k: k must be at least 1"],
        ),
        (
            "points.csv",
            "test.csv",
            &["--method", "banzhaf-msr", "--samples", "0"],
            &["--samples must be at least 1"],
        ),
        (
            "train.csv",
            "test.csv",
            &[
                "--provider-column",
                "owner",
                "--emit-instance",
                "i.json",
                "--bids",
                "BIDS",
                "--budget",
                "3",
            ],
            &["bids-unknown.csv: line 5: provider \"z\" has no rows in the training set"],
        ),
        (
            "train.csv",
            "test.csv",
            &[
                "--provider-column",
                "owner",
                "--emit-instance",
                "i.json",
                "--bids",
                "BIDS",
                "--budget=-1",
            ],
            &["budget"],
        ),
        // The bids are read and checked before the valuation.
        (
            "train.csv",
            "test.csv",
            &[
                "--provider-column",
                "owner",
                "--emit-instance",
                "i.json",
                "--bids",
                "bids-nan.csv",
                "--budget",
                "3",
            ],
            &["bids-nan.csv: line 3, column 2 (bid): \"NaN\" is not a finite number"],
        ),
        (
            "train.csv",
            "test.csv",
            &[
                "--provider-column",
                "owner",
                "--emit-instance",
                "i.json",
                "--bids",
                "bids-ragged.csv",
                "--budget",
                "3",
            ],
            &["bids-ragged.csv: line 3: 1 fields, but the header has 2"],
        ),
    ];
    for (index, (train, test, extra, expected)) in cases.iter().enumerate() {
        let out = folder.join(format!("out-{index}.csv"));
        let instance = folder.join("i.json");
        let bids = data(if extra.contains(&"--budget=-1") {
            "bids.csv"
        } else {
            "bids-unknown.csv"
        });
        let mut args: Vec<String> = vec!["--method".into(), "knn-shapley".into()];
        if extra.contains(&"--method") {
            args.clear();
        }
        for arg in *extra {
            args.push(match *arg {
                "i.json" => instance.display().to_string(),
                "BIDS" => bids.display().to_string(),
                other if other.ends_with(".csv") => data(other).display().to_string(),
                other => other.to_owned(),
            });
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = value(&args, &data(train), &data(test), &out);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "case {index}: {stderr}");
        assert!(output.stdout.is_empty(), "case {index}: stdout not empty");
        for fragment in *expected {
            assert!(
                stderr.contains(fragment),
                "case {index}: {stderr:?} lacks {fragment:?}"
            );
        }
        assert!(!out.exists(), "case {index}: output written");
        assert!(!instance.exists(), "case {index}: instance written");
    }
    // Only the output files' temporary siblings could be left behind.
    let left: Vec<_> = std::fs::read_dir(&folder).expect("list").collect();
    assert!(left.is_empty(), "files left behind: {left:?}");
}

/// A failing run leaves an existing output file untouched.
#[test]
fn failure_keeps_the_old_output() {
    let folder = scratch("keep");
    let out = folder.join("values.csv");
    std::fs::write(&out, "old\n").expect("write");
    let output = value(
        &["--method", "knn-shapley"],
        &data("nan.csv"),
        &data("test.csv"),
        &out,
    );
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&out).expect("read"), "old\n");
}

fn parse_values(path: &Path) -> (String, Vec<(String, f64)>) {
    let contents = std::fs::read_to_string(path).expect("output written");
    let mut lines = contents.lines();
    let header = lines.next().expect("header").to_owned();
    let rows = lines
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            assert_eq!(fields.len(), 4, "{line}: key, value, std_error, samples");
            (fields[0].to_owned(), fields[1].parse().expect("number"))
        })
        .collect();
    (header, rows)
}

#[test]
fn every_method_writes_its_values() {
    let folder = scratch("methods");
    // (arguments, expected header, expected rows)
    let cases: &[(&[&str], &str, usize)] = &[
        (
            &["--method", "knn-shapley", "--k", "3"],
            "row,value,std_error,samples",
            24,
        ),
        (
            &["--method", "loo", "--model", "knn"],
            "row,value,std_error,samples",
            24,
        ),
        (
            &[
                "--method",
                "tmc-shapley",
                "--model",
                "knn",
                "--samples",
                "20",
            ],
            "row,value,std_error,samples",
            24,
        ),
        (
            &["--method", "banzhaf-msr", "--samples", "40"],
            "row,value,std_error,samples",
            24,
        ),
        (
            &["--method", "knn-shapley", "--provider-column", "owner"],
            "provider,value,std_error,samples",
            3,
        ),
        (
            &[
                "--method",
                "banzhaf-msr",
                "--provider-column",
                "owner",
                "--samples",
                "40",
            ],
            "provider,value,std_error,samples",
            3,
        ),
    ];
    for (index, (args, header, rows)) in cases.iter().enumerate() {
        let out = folder.join(format!("values-{index}.csv"));
        let train = if header.starts_with("row") {
            "points.csv"
        } else {
            "train.csv"
        };
        let output = value(args, &data(train), &data("test.csv"), &out);
        assert_eq!(
            output.status.code(),
            Some(0),
            "case {index}: {}",
            text(&output.stderr)
        );
        assert!(text(&output.stderr).starts_with("valued "));
        assert!(output.stdout.is_empty());
        let (actual_header, values) = parse_values(&out);
        assert_eq!(actual_header, *header);
        assert_eq!(values.len(), *rows);
        if header.starts_with("row") {
            for (row, (key, _)) in values.iter().enumerate() {
                assert_eq!(key, &row.to_string());
            }
        } else {
            let keys: Vec<&str> = values.iter().map(|(key, _)| key.as_str()).collect();
            assert_eq!(keys, ["a", "b", "c"]);
        }
    }
}

/// The same seed gives the same bytes on 1 and 3 threads.
#[test]
fn sampling_is_deterministic_across_threads() {
    let folder = scratch("threads");
    let run = |threads: &str| {
        let out = folder.join(format!("values-{threads}.csv"));
        let output = value(
            &[
                "--method",
                "tmc-shapley",
                "--model",
                "knn",
                "--samples",
                "70",
                "--seed",
                "5",
                "--threads",
                threads,
            ],
            &data("points.csv"),
            &data("test.csv"),
            &out,
        );
        assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
        std::fs::read(&out).expect("output")
    };
    assert_eq!(run("1"), run("3"));
}

/// `value --emit-instance` writes an instance that `procura clear` accepts.
#[test]
fn emitted_instance_clears() {
    let folder = scratch("instance");
    let out = folder.join("values.csv");
    let instance = folder.join("instance.json");
    let output = value(
        &[
            "--method",
            "knn-shapley",
            "--provider-column",
            "owner",
            "--emit-instance",
            instance.to_str().expect("utf-8 path"),
            "--bids",
            data("bids.csv").to_str().expect("utf-8 path"),
            "--budget",
            "3",
        ],
        &data("train.csv"),
        &data("test.csv"),
        &out,
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&instance).expect("instance")).expect("json");
    assert_eq!(json["budget"], 3.0);
    // Every default is written out (spec §A.1); no token budget was given.
    assert_eq!(json["liquidity"], 1.0);
    assert_eq!(json["token_pool"], 1.0);
    assert!(json.get("token_budget").is_none());
    let providers = json["providers"].as_array().expect("providers");
    assert_eq!(providers.len(), 3);
    // b has no volume in the bids file: its row count, 8, is used; and no
    // claimed quality: its quality.
    assert_eq!(providers[1]["volume"], 8.0);
    assert_eq!(providers[1]["claimed_quality"], providers[1]["quality"]);
    let (_, values) = parse_values(&out);
    for (provider, (_, value)) in providers.iter().zip(&values) {
        assert_eq!(provider["utility"].as_f64(), Some(value.max(0.0)));
        let quality = provider["quality"].as_f64().expect("quality");
        assert!((0.0..=1.0).contains(&quality));
    }
    let cleared = procura()
        .arg("clear")
        .arg(&instance)
        .args(["--mechanism", "qmia"])
        .output()
        .expect("procura runs");
    assert_eq!(cleared.status.code(), Some(0), "{}", text(&cleared.stderr));
}

/// `--token-budget`, `--liquidity` and `--token-pool` complete the market,
/// so that the emitted instance clears with `mut` and `mixed`; the instance
/// is written in the spec's key order (§A.1), `id` first; a bad value is
/// refused naming the field, and nothing is written.
#[test]
fn emitted_instance_with_tokens_clears_with_mut() {
    let folder = scratch("instance-tokens");
    let out = folder.join("values.csv");
    let instance = folder.join("instance.json");
    let bids = data("bids.csv");
    let emit = |extra: &[&str]| {
        let mut args = vec![
            "--method",
            "knn-shapley",
            "--provider-column",
            "owner",
            "--emit-instance",
            instance.to_str().expect("utf-8 path"),
            "--bids",
            bids.to_str().expect("utf-8 path"),
            "--budget",
            "3",
        ];
        args.extend_from_slice(extra);
        value(&args, &data("train.csv"), &data("test.csv"), &out)
    };
    let output = emit(&[
        "--token-budget",
        "2",
        "--liquidity",
        "0.5",
        "--token-pool",
        "100",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let written = std::fs::read_to_string(&instance).expect("instance");
    let position = |key: &str| {
        written
            .find(&format!("\"{key}\""))
            .unwrap_or_else(|| panic!("no {key}: {written}"))
    };
    let order = [
        "budget",
        "token_budget",
        "liquidity",
        "token_pool",
        "providers",
        "id",
        "bid",
        "quality",
        "utility",
        "volume",
        "claimed_quality",
    ];
    for pair in order.windows(2) {
        assert!(position(pair[0]) < position(pair[1]), "{pair:?}: {written}");
    }
    let json: serde_json::Value = serde_json::from_str(&written).expect("json");
    assert_eq!(json["token_budget"], 2.0);
    assert_eq!(json["liquidity"], 0.5);
    assert_eq!(json["token_pool"], 100.0);
    for mechanism in ["mut", "mixed", "qmia"] {
        let cleared = procura()
            .arg("clear")
            .arg(&instance)
            .args(["--mechanism", mechanism])
            .output()
            .expect("procura runs");
        assert_eq!(
            cleared.status.code(),
            Some(0),
            "{mechanism}: {}",
            text(&cleared.stderr)
        );
        assert!(text(&cleared.stdout).contains(&format!("\"mechanism\": \"{mechanism}\"")));
    }

    let cases: &[(&[&str], &str)] = &[
        (&["--token-budget=-1"], "token_budget"),
        (&["--token-budget", "inf"], "token_budget"),
        (&["--liquidity", "1.5"], "liquidity"),
        (&["--token-pool", "0"], "token_pool"),
    ];
    for (extra, field) in cases {
        // Left by the good run above, or not at all.
        let _ = std::fs::remove_file(&instance);
        let _ = std::fs::remove_file(&out);
        let output = emit(extra);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{extra:?}: {stderr}");
        assert!(
            stderr.contains("cannot build the instance") && stderr.contains(field),
            "{extra:?}: {stderr}"
        );
        assert!(output.stdout.is_empty(), "{extra:?}");
        assert!(!instance.exists(), "{extra:?}: instance written");
        assert!(!out.exists(), "{extra:?}: values written");
    }
}

#[test]
fn quality_prints_agreement_rates() {
    let output = procura()
        .arg("quality")
        .arg("--trusted")
        .arg(data("test.csv"))
        .arg("--data")
        .arg(data("train.csv"))
        .args(["--provider-column", "owner", "--model", "knn", "--k", "3"])
        .output()
        .expect("procura runs");
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    let mut lines = stdout.lines();
    assert_eq!(lines.next(), Some("provider,quality,rows"));
    let rows: Vec<Vec<&str>> = lines.map(|line| line.split(',').collect()).collect();
    assert_eq!(rows.len(), 3);
    for row in rows {
        let q: f64 = row[1].parse().expect("number");
        assert!((0.0..=1.0).contains(&q));
        assert_eq!(row[2], "8");
    }
    let bad = procura()
        .arg("quality")
        .arg("--trusted")
        .arg(data("three-features.csv"))
        .arg("--data")
        .arg(data("train.csv"))
        .args(["--provider-column", "owner"])
        .output()
        .expect("procura runs");
    assert_eq!(bad.status.code(), Some(2));
    assert!(bad.stdout.is_empty());
    assert!(text(&bad.stderr)
        .contains("three-features.csv: line 1: feature column \"x3\" is not a feature column"));
}

/// A test file's feature columns are matched by name, not position, and
/// numeric labels by value ("1.0" is class "1"): the values are the same
/// bytes as with the plain test file. The summary of an exact method
/// counts test rows, not samples.
#[test]
fn test_columns_match_by_name_and_labels_by_value() {
    let folder = scratch("align");
    let run = |test: &str| {
        let out = folder.join(format!("values-{test}"));
        let output = value(
            &["--method", "knn-shapley", "--k", "3"],
            &data("points.csv"),
            &data(test),
            &out,
        );
        assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
        let stderr = text(&output.stderr);
        assert!(
            stderr.starts_with("valued 24 rows (exact, over 12 test rows) into "),
            "{stderr}"
        );
        std::fs::read(&out).expect("output")
    };
    let plain = run("test.csv");
    assert_eq!(plain, run("test-reordered.csv"));
    assert_eq!(plain, run("test-float-labels.csv"));
}

/// Issue 14, class 9: a 360 KB CSV with 25,000 feature columns and 2 rows
/// made `--model logreg` build a 25,001² Hessian (5 GB) and abort inside
/// the linear algebra. Both commands now refuse it before training, with
/// exit code 2 and a message naming the file and the sizes; KNN, which
/// needs no Hessian, still values it.
#[test]
fn logistic_regression_past_the_size_limit_is_refused() {
    let folder = scratch("wide");
    let wide = folder.join("wide.csv");
    let columns = 25_000;
    let mut csv = String::from("owner,");
    for column in 0..columns {
        csv.push_str(&format!("f{column},"));
    }
    csv.push_str("label\n");
    for (owner, value, label) in [("a", "0.1", 0), ("b", "0.2", 1)] {
        csv.push_str(owner);
        for _ in 0..columns {
            csv.push(',');
            csv.push_str(value);
        }
        csv.push_str(&format!(",{label}\n"));
    }
    std::fs::write(&wide, csv).expect("write wide.csv");
    let expected = "wide.csv: logistic regression on 25000 features and 2 classes has 25001 \
                    coefficients ((features + 1) × 1), more than the limit of 4096";

    let out = folder.join("values.csv");
    for method in ["loo", "tmc-shapley", "banzhaf-msr"] {
        let output = value(
            &[
                "--method",
                method,
                "--model",
                "logreg",
                "--provider-column",
                "owner",
            ],
            &wide,
            &wide,
            &out,
        );
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{method}: {stderr}");
        assert!(stderr.contains(expected), "{method}: {stderr}");
        assert!(!stderr.contains("panicked"), "{method}: {stderr}");
        assert!(output.stdout.is_empty(), "{method}");
        assert!(!out.exists(), "{method}: values written");
    }
    let quality = procura()
        .arg("quality")
        .arg("--trusted")
        .arg(&wide)
        .arg("--data")
        .arg(&wide)
        .args(["--provider-column", "owner"])
        .output()
        .expect("procura runs");
    let stderr = text(&quality.stderr);
    assert_eq!(quality.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(expected), "{stderr}");
    assert!(quality.stdout.is_empty());

    let knn = value(
        &[
            "--method",
            "knn-shapley",
            "--k",
            "1",
            "--provider-column",
            "owner",
        ],
        &wide,
        &wide,
        &out,
    );
    assert_eq!(knn.status.code(), Some(0), "{}", text(&knn.stderr));
    assert!(out.exists());
}
