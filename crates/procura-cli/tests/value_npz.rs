//! `procura value` on `.npz` embedding files (issue 13): rows and
//! providers valued from the arrays x, y and provider, truncated and
//! cosine KNN-Shapley, a provider's Shapley value against the row sum,
//! and bad files and flags refused naming them.

use std::path::PathBuf;
use std::process::{Command, Output};

fn fixture(name: &str) -> String {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "..",
        "procura-valuation",
        "tests",
        "fixtures",
        name,
    ]
    .iter()
    .collect();
    path.display().to_string()
}

fn value(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_procura"))
        .args(["value", "--quiet", "--out", "-"])
        .args(args)
        .output()
        .expect("procura runs")
}

fn values(output: &Output) -> Vec<(String, f64)> {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .skip(1)
        .map(|line| {
            let mut fields = line.split(',');
            let key = fields.next().expect("key").to_owned();
            let value = fields.next().expect("value").parse().expect("a number");
            (key, value)
        })
        .collect()
}

fn gauss() -> [String; 2] {
    [
        fixture("knn_numpy/gauss.train.npz"),
        fixture("knn_numpy/gauss.test.npz"),
    ]
}

#[test]
fn rows_and_providers_are_valued_from_npz() {
    let [train, test] = gauss();
    let files = ["--train", &train, "--test", &test];
    let rows = values(&value(
        &[&["--method", "knn-shapley", "--k", "3"], &files[..]].concat(),
    ));
    assert_eq!(rows.len(), 40);
    let sums = values(&value(
        &[
            &[
                "--method",
                "knn-shapley",
                "--k",
                "3",
                "--provider-column",
                "provider",
            ],
            &["--provider-value", "row-sum"][..],
            &files[..],
        ]
        .concat(),
    ));
    let shapley = values(&value(
        &[
            &[
                "--method",
                "knn-shapley",
                "--k",
                "3",
                "--provider-column",
                "provider",
            ],
            &files[..],
        ]
        .concat(),
    ));
    assert_eq!(sums.len(), shapley.len());
    // Both divide U(all rows): efficiency.
    let total = |values: &[(String, f64)]| values.iter().map(|(_, v)| v).sum::<f64>();
    assert!((total(&rows) - total(&sums)).abs() < 1e-12);
    assert!((total(&rows) - total(&shapley)).abs() < 1e-12);
    // …but a provider's Shapley value is not its rows' sum.
    assert!(sums
        .iter()
        .zip(&shapley)
        .any(|(a, b)| (a.1 - b.1).abs() > 1e-6));
}

#[test]
fn truncated_values_stay_within_their_bound() {
    let [train, test] = gauss();
    let files = [
        "--train",
        &train,
        "--test",
        &test,
        "--method",
        "knn-shapley",
        "--k",
        "2",
    ];
    for metric in ["euclidean", "cosine"] {
        let exact = values(&value(&[&files[..], &["--metric", metric]].concat()));
        let truncated = values(&value(
            &[&files[..], &["--metric", metric, "--epsilon", "0.1"]].concat(),
        ));
        for (a, b) in exact.iter().zip(&truncated) {
            assert!((a.1 - b.1).abs() <= 0.1 + 1e-15, "{metric}: {a:?} {b:?}");
        }
    }
}

#[test]
fn bad_files_and_flags_are_refused() {
    let [train, test] = gauss();
    let nan = fixture("npz/bad_nan.npz");
    let cases: Vec<(Vec<&str>, String)> = vec![
        (
            vec!["--method", "knn-shapley", "--train", &nan, "--test", &test],
            format!("error: {nan}: array x: row 1, column 2: NaN is not finite"),
        ),
        (
            vec![
                "--method",
                "knn-shapley",
                "--train",
                &train,
                "--test",
                "test.csv",
            ],
            "error: test.csv: the other dataset is .npz (embeddings): this one must be too"
                .to_owned(),
        ),
        (
            vec![
                "--method",
                "knn-shapley",
                "--train",
                &train,
                "--test",
                &test,
                "--label",
                "y",
            ],
            "error: --label does not apply to .npz files".to_owned(),
        ),
        (
            vec![
                "--method",
                "knn-shapley",
                "--train",
                &train,
                "--test",
                &test,
                "--provider-column",
                "owner",
            ],
            format!(
                "error: {train}: --provider-column \"owner\": an .npz file names its providers"
            ),
        ),
        (
            vec![
                "--method",
                "knn-shapley",
                "--train",
                &train,
                "--test",
                &test,
                "--provider-column",
                "provider",
                "--metric",
                "cosine",
            ],
            "error: a provider's Shapley value (--provider-value shapley, the default)".to_owned(),
        ),
        (
            vec![
                "--method",
                "loo",
                "--train",
                &train,
                "--test",
                &test,
                "--epsilon",
                "0.1",
            ],
            "error: --epsilon does not apply to --method loo".to_owned(),
        ),
        (
            vec![
                "--method",
                "knn-shapley",
                "--train",
                &train,
                "--test",
                &test,
                "--neighbours",
                "2",
            ],
            "error: --neighbours: K* = 2 is less than k = 5".to_owned(),
        ),
        (
            vec![
                "--method",
                "knn-shapley",
                "--train",
                &train,
                "--test",
                &test,
                "--epsilon",
                "2",
            ],
            "error: --epsilon: 2 is not in (0, 1]".to_owned(),
        ),
    ];
    for (args, expected) in cases {
        let output = value(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?}");
        assert!(output.stdout.is_empty(), "{args:?}: no partial output");
        assert!(stderr.starts_with(&expected), "{args:?}: {stderr}");
    }
}
