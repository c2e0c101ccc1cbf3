//! How `procura quality` reads its CSV files (issue 15, item 9): columns
//! to ignore or the features to read, and semicolon-separated files
//! refused with a message that says only commas are read.

use std::path::PathBuf;
use std::process::{Command, Output};

/// The providers' rows: owner, x1, x2, label.
const DATA: &[&str] = &[
    "a,0.49,0.97,1",
    "b,1.77,0.96,0",
    "a,-1.88,-0.14,0",
    "b,0.6,1.6,1",
    "a,-0.12,-1.01,0",
    "b,0.3,-1.95,1",
];
/// Trusted rows `x1,x2,label`.
const TRUSTED: &str =
    "x1,x2,label\n1.72,1.77,1\n-0.58,0.1,0\n-1.57,0.99,0\n1.44,-1.85,1\n0.9,1.1,1\n-1.2,-0.3,0\n";

fn procura() -> Command {
    Command::new(env!("CARGO_BIN_EXE_procura"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A fresh folder with `data.csv` (owner,x1,x2,label), `extra.csv` (the
/// same with an id and a note column), `trusted.csv`, `trusted-id.csv`
/// (with an id column) and `semi.csv` (semicolons).
fn folder(name: &str) -> PathBuf {
    let folder = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("quality-{name}"));
    // A leftover from an earlier run may or may not exist.
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).expect("create the folder");
    let mut data = String::from("owner,x1,x2,label\n");
    let mut extra = String::from("id,owner,x1,note,x2,label\n");
    for (i, row) in DATA.iter().enumerate() {
        let c: Vec<&str> = row.split(',').collect();
        data.push_str(&format!("{row}\n"));
        extra.push_str(&format!("{i},{},{},n{i},{},{}\n", c[0], c[1], c[2], c[3]));
    }
    let trusted_id: String = TRUSTED
        .lines()
        .enumerate()
        .map(|(i, line)| match i {
            0 => format!("id,{line}\n"),
            _ => format!("{i},{line}\n"),
        })
        .collect();
    let files = [
        ("data.csv", data),
        ("extra.csv", extra),
        ("trusted.csv", TRUSTED.to_owned()),
        ("trusted-id.csv", trusted_id),
        ("semi.csv", TRUSTED.replace(',', ";")),
    ];
    for (name, contents) in files {
        std::fs::write(folder.join(name), contents).expect("write a fixture");
    }
    folder
}

fn quality(folder: &PathBuf, data: &str, trusted: &str, extra: &[&str]) -> Output {
    procura()
        .current_dir(folder)
        .args(["quality", "--data", data, "--trusted", trusted])
        .args(["--provider-column", "owner", "--model", "knn", "--k", "1"])
        .args(extra)
        .output()
        .expect("procura runs")
}

/// A file with an id and a note column scores as the plain file with
/// `--ignore-column` or `--features`; the trusted file may lack the
/// ignored columns or have them.
#[test]
fn ignored_columns_and_listed_features_are_not_read() {
    let folder = folder("ignore");
    // b's first row, labelled 0, lies nearest a trusted row labelled 1.
    let plain = quality(&folder, "data.csv", "trusted.csv", &[]);
    assert_eq!(plain.status.code(), Some(0), "{}", text(&plain.stderr));
    assert_eq!(
        text(&plain.stdout),
        "provider,quality,rows\na,1,3\nb,0.6666666666666666,3\n"
    );
    let ignore = ["--ignore-column", "id", "--ignore-column", "note"];
    for (trusted, extra) in [
        ("trusted.csv", &ignore[..]),
        ("trusted-id.csv", &ignore[..]),
        ("trusted-id.csv", &["--features", "x1,x2"][..]),
    ] {
        let output = quality(&folder, "extra.csv", trusted, extra);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{trusted} {extra:?}: {}",
            text(&output.stderr)
        );
        assert_eq!(output.stdout, plain.stdout, "{trusted} {extra:?}");
    }
    let output = quality(
        &folder,
        "extra.csv",
        "trusted.csv",
        &["--ignore-column", "note"],
    );
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        text(&output.stderr),
        "error: trusted.csv: line 1: no feature column named \"id\", which the training set has \
         (extra.csv)\n"
    );
    let output = quality(
        &folder,
        "extra.csv",
        "trusted.csv",
        &["--ignore-column", "nope"],
    );
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        text(&output.stderr),
        "error: extra.csv: line 1: no column named \"nope\" (--ignore-column)\n"
    );
}

/// A semicolon-separated file is refused, saying that only commas are
/// read.
#[test]
fn semicolon_files_are_refused_saying_only_commas_are_read() {
    let folder = folder("semicolons");
    let output = quality(&folder, "data.csv", "semi.csv", &[]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        text(&output.stderr),
        "error: semi.csv: line 1: the header is one column holding ';': fields must be \
         separated by commas (only comma-separated files are read)\n"
    );
    assert!(output.stdout.is_empty());
}

/// `--threads` changes nothing in the scores; 0 threads is refused.
#[test]
fn the_scores_are_the_same_on_any_number_of_threads() {
    let folder = folder("threads");
    let one = quality(&folder, "data.csv", "trusted.csv", &["--threads", "1"]);
    let two = quality(&folder, "data.csv", "trusted.csv", &["--threads", "2"]);
    assert_eq!(one.status.code(), Some(0), "{}", text(&one.stderr));
    assert_eq!(one.stdout, two.stdout);
    let zero = quality(&folder, "data.csv", "trusted.csv", &["--threads", "0"]);
    assert_eq!(zero.status.code(), Some(2));
    assert!(zero.stdout.is_empty());
    assert!(
        text(&zero.stderr).contains("--threads"),
        "{}",
        text(&zero.stderr)
    );
}
