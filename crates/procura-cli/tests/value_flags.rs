//! Which flags `procura value` and `procura quality` take (issue 15, item
//! 10): a flag that the method or the model does not read is refused
//! naming it, not ignored; a value out of range is refused naming the
//! flag; `--help` states every default.

use std::path::PathBuf;
use std::process::{Command, Output};

const METHODS: [&str; 4] = ["knn-shapley", "loo", "tmc-shapley", "banzhaf-msr"];

fn procura() -> Command {
    Command::new(env!("CARGO_BIN_EXE_procura"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `procura value --method METHOD ARGS` writing into a folder that does
/// not exist: the flags are checked first, so a run whose flags are
/// accepted stops at the output (exit code 1) without reading a file.
fn value(method: &str, args: &[&str]) -> Output {
    procura()
        .args(["value", "--method", method, "--train", "no-train.csv"])
        .args([
            "--test",
            "no-test.csv",
            "--out",
            "no-such-folder/values.csv",
        ])
        .args(args)
        .output()
        .expect("procura runs")
}

/// Every flag with every method: accepted where the method (and the
/// model) read it, refused naming the flag elsewhere.
#[test]
fn every_flag_with_every_method() {
    let accepted = "error: no-such-folder/values.csv: cannot write: the folder no-such-folder \
                    does not exist\n";
    let sampling = "does not apply to --method {m}: only tmc-shapley and banzhaf-msr draw samples";
    let k = "error: --k does not apply to --model logreg (the default): it is the number of \
             neighbours of KNN (--model knn)\n";
    let l2_knn = "error: --l2 does not apply to --model knn: it is the penalty of logistic \
                  regression (--model logreg)\n";
    let l2_shapley = "error: --l2 does not apply to --method knn-shapley: it is the penalty of \
                      logistic regression (--model logreg)\n";
    // (flags, [knn-shapley, loo, tmc-shapley, banzhaf-msr]: None accepts,
    // Some(message) refuses; {m} is the method)
    let refuse = |message: &str| Some(message.to_owned());
    let sampling_flag = |flag: &str| {
        let message = format!("error: {flag} {sampling}\n");
        [refuse(&message), refuse(&message), None, None]
    };
    let truncation =
        "error: --truncation does not apply to --method {m}: only tmc-shapley truncates\n";
    let cases: Vec<(&[&str], [Option<String>; 4])> = vec![
        (&[], [None, None, None, None]),
        (&["--samples", "10"], sampling_flag("--samples")),
        (&["--seed", "1"], sampling_flag("--seed")),
        (&["--target-se", "0.1"], sampling_flag("--target-se")),
        (
            &["--truncation", "0.1"],
            [
                refuse(truncation),
                refuse(truncation),
                None,
                refuse(truncation),
            ],
        ),
        (&["--k", "3"], [None, refuse(k), refuse(k), refuse(k)]),
        (&["--model", "knn", "--k", "3"], [None, None, None, None]),
        (&["--l2", "2"], [refuse(l2_shapley), None, None, None]),
        (
            &["--model", "knn", "--l2", "2"],
            [
                refuse(l2_shapley),
                refuse(l2_knn),
                refuse(l2_knn),
                refuse(l2_knn),
            ],
        ),
        (
            &["--model", "logreg", "--l2", "2"],
            [
                refuse("error: --method knn-shapley values the KNN utility: drop --model logreg\n"),
                None,
                None,
                None,
            ],
        ),
        (&["--model", "knn"], [None, None, None, None]),
        (&["--threads", "2"], [None, None, None, None]),
        (&["--quiet"], [None, None, None, None]),
        (
            &["--label", "y", "--provider-column", "owner"],
            [None, None, None, None],
        ),
        (
            &["--ignore-column", "id", "--ignore-column", "date"],
            [None, None, None, None],
        ),
        (&["--features", "x1,x2"], [None, None, None, None]),
    ];
    for (flags, expected) in &cases {
        for (method, expected) in METHODS.iter().zip(expected) {
            let output = value(method, flags);
            let stderr = text(&output.stderr);
            match expected {
                None => {
                    assert_eq!(
                        output.status.code(),
                        Some(1),
                        "{method} {flags:?}: {stderr}"
                    );
                    assert_eq!(stderr, accepted, "{method} {flags:?}");
                }
                Some(message) => {
                    assert_eq!(
                        output.status.code(),
                        Some(2),
                        "{method} {flags:?}: {stderr}"
                    );
                    assert_eq!(stderr, message.replace("{m}", method), "{method} {flags:?}");
                }
            }
            assert!(output.stdout.is_empty());
        }
    }
    // The market's flags need --emit-instance (clap says so), with any method.
    for method in METHODS {
        for flags in [
            &["--budget", "1"][..],
            &["--bids", "b.csv"],
            &["--trusted", "t.csv"],
            &["--token-budget", "1"],
            &[
                "--emit-instance",
                "i.json",
                "--bids",
                "b.csv",
                "--skip-providers-without-bid",
            ],
        ] {
            let output = value(method, flags);
            let stderr = text(&output.stderr);
            assert_eq!(
                output.status.code(),
                Some(2),
                "{method} {flags:?}: {stderr}"
            );
            assert!(
                stderr.contains("required arguments were not provided"),
                "{stderr}"
            );
        }
        let output = value(
            method,
            &[
                "--provider-column",
                "owner",
                "--emit-instance",
                "i.json",
                "--bids",
                "b.csv",
                "--budget",
                "1",
                "--token-budget",
                "1",
                "--liquidity",
                "0.5",
                "--token-pool",
                "2",
                "--trusted",
                "t.csv",
                "--skip-providers-without-bid",
            ],
        );
        assert_eq!(
            output.status.code(),
            Some(1),
            "{method}: {}",
            text(&output.stderr)
        );
    }
}

/// Each value out of range is refused before any file is read, naming
/// the flag.
#[test]
fn nonsense_values_are_refused() {
    let cases: &[(&str, &[&str], &str)] = &[
        (
            "tmc-shapley",
            &["--samples", "0"],
            "--samples must be at least 1",
        ),
        (
            "banzhaf-msr",
            &["--samples", "0"],
            "--samples must be at least 1",
        ),
        (
            "banzhaf-msr",
            &["--target-se", "0"],
            "--target-se: 0 is not finite and > 0",
        ),
        (
            "tmc-shapley",
            &["--target-se=-1"],
            "--target-se: -1 is not finite and > 0",
        ),
        (
            "tmc-shapley",
            &["--target-se", "inf"],
            "--target-se: inf is not finite and > 0",
        ),
        (
            "tmc-shapley",
            &["--truncation=-0.1"],
            "--truncation: -0.1 is not in [0, 1) (a relative tolerance; 0 never truncates)",
        ),
        (
            "tmc-shapley",
            &["--truncation", "1"],
            "--truncation: 1 is not in [0, 1) (a relative tolerance; 0 never truncates)",
        ),
        (
            "tmc-shapley",
            &["--truncation", "NaN"],
            "--truncation: NaN is not in [0, 1) (a relative tolerance; 0 never truncates)",
        ),
        ("knn-shapley", &["--k", "0"], "--k: k must be at least 1"),
        (
            "loo",
            &["--model", "knn", "--k", "0"],
            "--k: k must be at least 1",
        ),
        ("loo", &["--l2", "0"], "--l2: 0 is not finite and > 0"),
        ("loo", &["--threads", "0"], "--threads must be at least 1"),
    ];
    for (method, flags, expected) in cases {
        let output = value(method, flags);
        let stderr = text(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{method} {flags:?}: {stderr}"
        );
        assert_eq!(stderr, format!("error: {expected}\n"), "{method} {flags:?}");
    }
}

/// A fresh folder with a training file of 6 rows (providers a, b) and a
/// test file of 4.
fn folder(name: &str) -> PathBuf {
    let folder = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("value-flags-{name}"));
    // A leftover from an earlier run may or may not exist.
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).expect("create the folder");
    let files = [
        (
            "train.csv",
            "owner,x,label\na,0.1,0\nb,0.2,0\na,0.3,0\nb,0.7,1\na,0.8,1\nb,0.9,1\n",
        ),
        ("test.csv", "x,label\n0.15,0\n0.25,0\n0.75,1\n0.85,1\n"),
        ("bids.csv", "provider,bid\na,1\nb,1\n"),
    ];
    for (name, contents) in files {
        std::fs::write(folder.join(name), contents).expect("write a fixture");
    }
    folder
}

/// More neighbours than the rows the KNN is trained on is refused, naming
/// the file: the training set for the valuation, the trusted set for the
/// quality score; as many is fine.
#[test]
fn more_neighbours_than_rows_are_refused() {
    let folder = folder("neighbours");
    let run = |command: &[&str]| {
        procura()
            .current_dir(&folder)
            .args(command)
            .output()
            .expect("procura runs")
    };
    let value = [
        "value",
        "--train",
        "train.csv",
        "--test",
        "test.csv",
        "--out",
        "v.csv",
        "-q",
        "--provider-column",
        "owner",
    ];
    let emit = [
        "--emit-instance",
        "i.json",
        "--bids",
        "bids.csv",
        "--budget",
        "3",
    ];
    let quality = [
        "quality",
        "--data",
        "train.csv",
        "--provider-column",
        "owner",
    ];
    let cases: Vec<(Vec<&str>, Option<&str>)> = vec![
        (
            [&value[..], &["--method", "knn-shapley", "--k", "7"]].concat(),
            Some("--k: 7 neighbours, but the training set (train.csv) has only 6 rows"),
        ),
        (
            [
                &value[..],
                &["--method", "loo", "--model", "knn", "--k", "100000"],
            ]
            .concat(),
            Some("--k: 100000 neighbours, but the training set (train.csv) has only 6 rows"),
        ),
        (
            [&value[..], &["--method", "knn-shapley", "--k", "6"]].concat(),
            None,
        ),
        (
            [
                &value[..],
                &["--method", "knn-shapley", "--k", "5"],
                &emit[..],
            ]
            .concat(),
            Some("--k: 5 neighbours, but the trusted set (test.csv) has only 4 rows"),
        ),
        (
            [
                &value[..],
                &["--method", "knn-shapley", "--k", "4"],
                &emit[..],
            ]
            .concat(),
            None,
        ),
        (
            [
                &quality[..],
                &["--trusted", "test.csv", "--model", "knn", "--k", "100000"],
            ]
            .concat(),
            Some("--k: 100000 neighbours, but the trusted set (test.csv) has only 4 rows"),
        ),
        (
            [
                &quality[..],
                &["--trusted", "test.csv", "--model", "knn", "--k", "4"],
            ]
            .concat(),
            None,
        ),
    ];
    for (command, expected) in cases {
        let _ = std::fs::remove_file(folder.join("v.csv"));
        let output = run(&command);
        let stderr = text(&output.stderr);
        match expected {
            None => assert_eq!(output.status.code(), Some(0), "{command:?}: {stderr}"),
            Some(message) => {
                assert_eq!(output.status.code(), Some(2), "{command:?}: {stderr}");
                assert_eq!(stderr, format!("error: {message}\n"), "{command:?}");
                assert!(output.stdout.is_empty());
                assert!(!folder.join("v.csv").exists(), "{command:?}");
            }
        }
    }
}

/// `quality` refuses the other model's flag, naming it.
#[test]
fn quality_refuses_the_other_models_flag() {
    let folder = folder("quality");
    let cases: &[(&[&str], &str)] = &[
        (
            &["--k", "3"],
            "--k does not apply to --model logreg: it is the number of neighbours of KNN \
             (--model knn)",
        ),
        (
            &["--model", "knn", "--l2", "2"],
            "--l2 does not apply to --model knn: it is the penalty of logistic regression \
             (--model logreg)",
        ),
        (&["--model", "knn", "--k", "0"], "--k: k must be at least 1"),
        (&["--l2=-1"], "--l2: -1 is not finite and > 0"),
    ];
    for (flags, expected) in cases {
        let output = procura()
            .current_dir(&folder)
            .args(["quality", "--data", "train.csv", "--trusted", "test.csv"])
            .args(["--provider-column", "owner"])
            .args(*flags)
            .output()
            .expect("procura runs");
        assert_eq!(output.status.code(), Some(2), "{flags:?}");
        assert_eq!(
            text(&output.stderr),
            format!("error: {expected}\n"),
            "{flags:?}"
        );
        assert!(output.stdout.is_empty());
    }
}

/// The options of `--help`, each with its help text on one line.
fn options(command: &str) -> Vec<(String, String)> {
    let output = procura()
        .args([command, "--help"])
        .output()
        .expect("procura runs");
    assert_eq!(output.status.code(), Some(0));
    let help = text(&output.stdout);
    let mut options: Vec<(String, String)> = Vec::new();
    for line in help.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("-") && line.starts_with("  ") && !line.starts_with("          ") {
            let name = trimmed
                .split([' ', ','])
                .find(|word| word.starts_with("--"))
                .unwrap_or(trimmed)
                .to_owned();
            options.push((name, String::new()));
        } else if let Some((_, text)) = options.last_mut() {
            text.push(' ');
            text.push_str(trimmed);
        }
    }
    options
}

/// Every option of `value --help` and `quality --help` that may be left
/// out says what it is then, as `[default: …]`.
#[test]
fn help_shows_every_default() {
    // Required options and switches have no default to state.
    let value_exempt = [
        "--method",
        "--train",
        "--test",
        "--out",
        "--quiet",
        "--skip-providers-without-bid",
        "--budget",
        "--bids",
        "--help",
    ];
    let quality_exempt = ["--trusted", "--data", "--provider-column", "--help"];
    for (command, exempt, expected) in [
        (
            "value",
            &value_exempt[..],
            &[
                ("--samples", "[default: 1000]"),
                ("--seed", "[default: 0]"),
                ("--truncation", "[default: 0.01]"),
                ("--k", "[default: 5]"),
                ("--l2", "[default: 1]"),
                ("--model", "[default: logreg]"),
                ("--threads", "[default: one per core]"),
                ("--liquidity", "[default: 1]"),
                ("--token-pool", "[default: 1]"),
                ("--provider-column", "[default: none, value rows]"),
            ][..],
        ),
        (
            "quality",
            &quality_exempt[..],
            &[
                ("--k", "[default: 5]"),
                ("--l2", "[default: 1]"),
                ("--model", "[default: logreg]"),
            ],
        ),
    ] {
        let options = options(command);
        assert!(options.len() > 8, "{command}: {options:?}");
        for (name, help) in &options {
            if !exempt.contains(&name.as_str()) {
                assert!(help.contains("[default: "), "{command} {name}: {help:?}");
            }
        }
        for (name, default) in expected {
            let help = options
                .iter()
                .find(|(option, _)| option == name)
                .map(|(_, help)| help.as_str())
                .unwrap_or_else(|| panic!("{command}: no {name}"));
            assert!(help.contains(default), "{command} {name}: {help:?}");
        }
    }
}
