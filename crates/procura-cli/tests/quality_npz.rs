//! `procura quality` on `.npz` embedding files (issue 13): the same
//! scores as on the same rows written as CSV, and flags and files that do
//! not apply refused, naming them.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};

use procura::valuation::npz;

/// Rows of `dim` float32 numbers in three classes around three centres,
/// and their providers `p0` to `p3`, from a fixed sequence (no
/// randomness); the labels of the providers in `shifted` name the next
/// class instead of their own.
fn rows(
    n: usize,
    dim: usize,
    offset: usize,
    shifted: &[usize],
) -> (Vec<f32>, Vec<String>, Vec<String>) {
    let mut x = Vec::with_capacity(n * dim);
    let mut labels = Vec::with_capacity(n);
    let mut providers = Vec::with_capacity(n);
    for row in 0..n {
        let i = row + offset;
        let class = i % 3;
        let provider = i % 4;
        for j in 0..dim {
            let wobble = ((i * 7 + j * 13) % 17) as f32 / 17.0 - 0.5;
            x.push(if j == class { 2.0 } else { 0.0 } + wobble);
        }
        let label = if shifted.contains(&provider) {
            (class + 1) % 3
        } else {
            class
        };
        labels.push(["cat", "dog", "emu"][label].to_owned());
        providers.push(format!("p{provider}"));
    }
    (x, labels, providers)
}

fn write_npz(path: &Path, x: &[f32], dim: usize, labels: &[String], providers: Option<&[String]>) {
    let file = std::fs::File::create(path).expect("create");
    npz::write(file, x, dim, Some(labels), providers).expect("write npz");
}

/// The same rows as CSV: each float32 written as the exact f64 it widens
/// to, so the CSV reader gets the same numbers.
fn write_csv(path: &Path, x: &[f32], dim: usize, labels: &[String], providers: Option<&[String]>) {
    let mut text = String::new();
    let columns: Vec<String> = (0..dim).map(|j| format!("x{j}")).collect();
    text.push_str(&columns.join(","));
    text.push_str(",label");
    if providers.is_some() {
        text.push_str(",provider");
    }
    text.push('\n');
    for (row, label) in labels.iter().enumerate() {
        let numbers: Vec<String> = x[row * dim..(row + 1) * dim]
            .iter()
            .map(|&value| format!("{}", f64::from(value)))
            .collect();
        text.push_str(&numbers.join(","));
        text.push(',');
        text.push_str(label);
        if let Some(providers) = providers {
            text.push(',');
            text.push_str(&providers[row]);
        }
        text.push('\n');
    }
    std::fs::File::create(path)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .expect("write csv");
}

fn quality(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_procura"))
        .arg("quality")
        .args(args)
        .output()
        .expect("procura runs")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn npz_files_score_as_their_csv() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let dim = 6;
    let (x, labels, providers) = rows(80, dim, 0, &[3]);
    let (tx, tlabels, _) = rows(45, dim, 1000, &[]);
    let path = |name: &str| dir.path().join(name).display().to_string();
    write_npz(
        dir.path().join("data.npz").as_path(),
        &x,
        dim,
        &labels,
        Some(&providers),
    );
    write_npz(
        dir.path().join("trusted.npz").as_path(),
        &tx,
        dim,
        &tlabels,
        None,
    );
    write_csv(
        dir.path().join("data.csv").as_path(),
        &x,
        dim,
        &labels,
        Some(&providers),
    );
    write_csv(
        dir.path().join("trusted.csv").as_path(),
        &tx,
        dim,
        &tlabels,
        None,
    );
    for model in [
        &["--model", "logreg"][..],
        &["--model", "knn", "--k", "3"][..],
    ] {
        let run = |data: &str, trusted: &str| {
            stdout(&quality(
                &[
                    &["--data", &path(data), "--trusted", &path(trusted)][..],
                    &["--provider-column", "provider"][..],
                    model,
                ]
                .concat(),
            ))
        };
        let from_npz = run("data.npz", "trusted.npz");
        assert_eq!(from_npz, run("data.csv", "trusted.csv"), "{model:?}");
        // p3's labels are all shifted: the reference model disagrees with
        // them, far more than with anyone else's.
        let scores: Vec<(String, f64)> = from_npz
            .lines()
            .skip(1)
            .map(|line| {
                let fields: Vec<&str> = line.split(',').collect();
                (fields[0].to_owned(), fields[1].parse().expect("a number"))
            })
            .collect();
        assert_eq!(scores.len(), 4, "{from_npz}");
        let shifted = scores[3].1;
        assert_eq!(scores[3].0, "p3");
        assert!(
            scores[..3].iter().all(|(_, q)| *q > 2.0 * shifted),
            "{from_npz}"
        );
    }
}

#[test]
fn flags_and_files_that_do_not_apply_are_refused() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let dim = 4;
    let (x, labels, providers) = rows(30, dim, 0, &[]);
    let data = dir.path().join("data.npz");
    let bare = dir.path().join("bare.npz");
    let csv = dir.path().join("data.csv");
    write_npz(&data, &x, dim, &labels, Some(&providers));
    write_npz(&bare, &x, dim, &labels, None);
    write_csv(&csv, &x, dim, &labels, Some(&providers));
    let (data, bare, csv) = (
        data.display().to_string(),
        bare.display().to_string(),
        csv.display().to_string(),
    );
    let cases: Vec<(Vec<&str>, String)> = vec![
        (
            vec![
                "--data",
                &data,
                "--trusted",
                &data,
                "--provider-column",
                "provider",
                "--label",
                "y",
            ],
            "error: --label does not apply to .npz files".to_owned(),
        ),
        (
            vec![
                "--data",
                &data,
                "--trusted",
                &csv,
                "--provider-column",
                "provider",
            ],
            format!("error: {csv}: the other dataset is .npz (embeddings): this one must be too"),
        ),
        (
            vec![
                "--data",
                &bare,
                "--trusted",
                &data,
                "--provider-column",
                "provider",
            ],
            format!("error: {bare}: no array named \"provider\" (--provider-column)"),
        ),
        (
            vec![
                "--data",
                &data,
                "--trusted",
                &data,
                "--provider-column",
                "owner",
            ],
            format!("error: {data}: --provider-column \"owner\": an .npz file names its providers"),
        ),
    ];
    for (args, expected) in cases {
        let output = quality(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?}: {stderr}");
        assert!(stderr.starts_with(&expected), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?}");
    }
}
