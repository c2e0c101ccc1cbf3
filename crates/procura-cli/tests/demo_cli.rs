//! Integration tests of `procura demo`: the real binary runs rounds on the
//! built-in wine data. By default it summarises many markets (here a few,
//! with `--seeds`): the summary must be exactly what the single-market
//! tables (`--seed N`) give, and the same bytes on any number of threads.
//! With `--seed N` it prints one market's table. Both write `demo.csv`,
//! `demo-seeds.csv` and `demo.svg`; bad flags exit with code 2, name the
//! flag and write nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use procura::tolerance::{approx_eq, ROUNDING_RELATIVE};

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
    // demo-seeds.csv: the same rows after the seed and the budget.
    let seeds = std::fs::read_to_string(folder.join("tmp/demo-seeds.csv")).expect("demo-seeds.csv");
    let mut seed_lines = seeds.lines();
    assert_eq!(
        seed_lines.next(),
        Some(
            "seed,budget,mechanism,cash,tokens,cost,providers,rows,label_noise,value,\
             test_accuracy,br_rounds,br_converged"
        )
    );
    let budget = stdout
        .split("budget B = ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .expect("the budget line");
    for (seed_line, line) in seed_lines.zip(csv.lines().skip(1)) {
        let (prefix, rest) = seed_line.split_at(seed_line.find(",").expect("a seed") + 1);
        assert_eq!(prefix, "3,");
        let (budget_field, row) = rest.split_once(',').expect("a budget");
        assert_eq!(
            format!("{:.2}", budget_field.parse::<f64>().expect("B")),
            budget
        );
        assert_eq!(row, line);
    }
    assert_eq!(seeds.lines().count(), csv.lines().count());

    // The same seed gives the same table and the same files.
    let (again, other) = demo("good-again", &["--out", "tmp", "--seed", "3"]);
    assert_eq!(text(&again.stdout), stdout);
    let csv_again = std::fs::read_to_string(other.join("tmp/demo.csv")).expect("demo.csv");
    assert_eq!(csv_again, csv);
}

#[test]
fn the_default_output_folder_is_demo_out() {
    let (output, folder) = demo(
        "default",
        &[
            "--providers",
            "8",
            "--budget-fraction",
            "0.5",
            "--seeds",
            "2",
        ],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(stdout.contains("2 markets (seeds 0–1)"), "{stdout}");
    assert!(stdout.contains("8 providers"), "{stdout}");
    assert!(
        stdout.contains("budget B = 50% of each market's"),
        "{stdout}"
    );
    for file in ["demo.csv", "demo-seeds.csv", "demo.svg"] {
        assert!(folder.join("demo-out").join(file).is_file(), "{file}");
    }
}

/// The default is the summary over 50 markets; `--help` says so.
#[test]
fn the_default_is_fifty_markets() {
    let output = procura()
        .args(["demo", "--help"])
        .output()
        .expect("procura runs");
    let help = text(&output.stdout);
    let seeds = help.split("--seeds <N>").nth(1).expect("a --seeds flag");
    assert!(seeds.contains("[default: 50]"), "{help}");
    assert!(
        help.contains("--seed <N>") && help.contains("--threads <N>"),
        "{help}"
    );
}

/// The rows of a CSV file as fields, after its header.
fn rows(path: &Path) -> Vec<Vec<String>> {
    let csv = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    csv.lines()
        .skip(1)
        .map(|line| line.split(',').map(str::to_owned).collect())
        .collect()
}

fn number(field: &str) -> f64 {
    field
        .parse()
        .unwrap_or_else(|e| panic!("{field:?} is not a number: {e}"))
}

/// One market's numbers of each summarised metric, from its `demo.csv`
/// row (`mechanism,cash,tokens,cost,providers,rows,label_noise,value,
/// test_accuracy,…`); spend is cash + tokens, empty for the references.
fn metrics(row: &[String]) -> [(&'static str, Option<f64>); 4] {
    let spend = (!row[1].is_empty()).then(|| number(&row[1]) + number(&row[2]));
    [
        ("value", Some(number(&row[7]))),
        ("spend", spend),
        ("label_noise", Some(number(&row[6]))),
        ("test_accuracy", Some(number(&row[8]))),
    ]
}

/// `--seeds 3` is exactly what the tables of `--seed 0`, `--seed 1` and
/// `--seed 2` give: their rows, the mean and sd of every mechanism's
/// numbers (left folds in seed order, to the last bit), Student-t 95%
/// intervals, and the paired counts against Q-MIA.
#[test]
fn the_summary_of_three_markets_is_their_tables_summarised() {
    let (output, folder) = demo("summary", &["--out", "tmp", "--seeds", "3"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    let summary = rows(&folder.join("tmp/demo.csv"));
    let singles: Vec<Vec<Vec<String>>> = (0..3)
        .map(|seed| {
            let (single, folder) = demo(
                &format!("summary-{seed}"),
                &["--out", "tmp", "--seed", &seed.to_string()],
            );
            assert!(single.status.success(), "{}", text(&single.stderr));
            let seeds =
                std::fs::read_to_string(folder.join("tmp/demo-seeds.csv")).expect("demo-seeds.csv");
            assert!(seeds
                .lines()
                .skip(1)
                .all(|l| l.starts_with(&format!("{seed},"))));
            rows(&folder.join("tmp/demo.csv"))
        })
        .collect();

    // demo-seeds.csv holds the three markets' rows, in seed order.
    let all_rows: Vec<Vec<String>> = rows(&folder.join("tmp/demo-seeds.csv"))
        .into_iter()
        .map(|row| row[2..].to_vec())
        .collect();
    let expected_rows: Vec<Vec<String>> = singles.iter().flatten().cloned().collect();
    assert_eq!(all_rows, expected_rows);

    let header = std::fs::read_to_string(folder.join("tmp/demo.csv")).expect("demo.csv");
    assert_eq!(
        header.lines().next(),
        Some(
            "mechanism,metric,n,mean,sd,ci_low,ci_high,markets_above_qmia,markets_tied_qmia,\
             markets_below_qmia"
        )
    );
    let names = [
        "qmia",
        "mut",
        "mixed",
        "volume",
        "trust",
        "all-data",
        "no-purchase",
    ];
    let mut expected_lines = 0;
    for (index, name) in names.iter().enumerate() {
        for (metric_index, (metric, _)) in metrics(&singles[0][index]).iter().enumerate() {
            let values: Vec<f64> = singles
                .iter()
                .filter_map(|table| {
                    assert_eq!(table[index][0], *name);
                    metrics(&table[index])[metric_index].1
                })
                .collect();
            let row = summary
                .iter()
                .find(|row| row[0] == *name && row[1] == *metric);
            let Some(row) = row else {
                assert!(values.is_empty(), "no summary of {name} {metric}");
                continue;
            };
            expected_lines += 1;
            let mean = values.iter().fold(0.0, |sum, v| sum + v) / 3.0;
            let sd = (values
                .iter()
                .fold(0.0, |sum, v| sum + (v - mean) * (v - mean))
                / 2.0)
                .sqrt();
            assert_eq!(row[2], "3", "{row:?}");
            assert_eq!(number(&row[3]), mean, "{row:?}");
            assert_eq!(number(&row[4]), sd, "{row:?}");
            // t(0.975, 2) = 4.302652729749…
            let half = 4.302_652_729_749_464 * sd / 3f64.sqrt();
            assert!(approx_eq(number(&row[5]), mean - half, 1e-9), "{row:?}");
            assert!(approx_eq(number(&row[6]), mean + half, 1e-9), "{row:?}");
            // Paired counts, on test accuracy and value, against Q-MIA's.
            let paired =
                index > 0 && index < 5 && (*metric == "test_accuracy" || *metric == "value");
            if paired {
                let qmia: Vec<f64> = singles
                    .iter()
                    .filter_map(|table| metrics(&table[0])[metric_index].1)
                    .collect();
                let (mut above, mut tied, mut below) = (0, 0, 0);
                for (x, q) in values.iter().zip(&qmia) {
                    if approx_eq(*x, *q, ROUNDING_RELATIVE) {
                        tied += 1;
                    } else if x > q {
                        above += 1;
                    } else {
                        below += 1;
                    }
                }
                let counts = [above, tied, below].map(|c: i32| c.to_string());
                assert_eq!(row[7..], counts, "{row:?}");
                // The printed table shows the same counts.
                assert!(
                    stdout.contains(&format!("{above} / {tied} / {below}")),
                    "{stdout}"
                );
            } else {
                assert_eq!(row[7..], ["", "", ""], "{row:?}");
            }
        }
    }
    assert_eq!(summary.len(), expected_lines);
    assert_eq!(expected_lines, 5 * 4 + 2 * 3);

    // The printed table: a row per mechanism and reference, the paired
    // section, and the headline.
    assert!(stdout.contains("3 markets (seeds 0–2)"), "{stdout}");
    assert!(
        stdout.contains("95% t-interval, t(0.975, 2) · sd / √3"),
        "{stdout}"
    );
    for name in MECHANISMS.iter().chain(&["all data", "no purchase"]) {
        assert!(
            stdout.lines().any(|line| line.starts_with(name)),
            "{name}: {stdout}"
        );
    }
    assert!(stdout.contains("paired with Q-MIA"), "{stdout}");
    assert!(
        stdout.contains("Over 3 markets, Q-MIA's model scored higher"),
        "{stdout}"
    );
    let qmia_accuracy = summary
        .iter()
        .find(|row| row[0] == "qmia" && row[1] == "test_accuracy")
        .expect("Q-MIA's accuracy");
    let half = (number(&qmia_accuracy[6]) - number(&qmia_accuracy[5])) / 2.0;
    let cell = format!("{:.4} ± {:.4}", number(&qmia_accuracy[3]), half);
    let qmia_line = stdout
        .lines()
        .find(|l| l.starts_with("qmia"))
        .expect("a qmia row");
    assert!(qmia_line.ends_with(&cell), "{qmia_line} vs {cell}");

    // The chart: a panel per metric and per paired metric.
    let svg = std::fs::read_to_string(folder.join("tmp/demo.svg")).expect("demo.svg");
    for caption in [
        "value",
        "spend",
        "label noise",
        "test accuracy",
        "test accuracy: paired with Q-MIA",
        "value: paired with Q-MIA",
    ] {
        assert!(
            svg.contains(&format!(">\n{caption}\n</text>"))
                || svg.contains(&format!(">{caption}</text>")),
            "no caption {caption:?}"
        );
    }
}

/// The summary is the same bytes, printed and written, on 1 and 2 threads.
#[test]
fn the_summary_does_not_depend_on_the_thread_count() {
    let runs: Vec<(Output, PathBuf)> = ["1", "2"]
        .iter()
        .map(|threads| {
            demo(
                &format!("threads-{threads}"),
                &["--out", "tmp", "--seeds", "3", "--threads", threads],
            )
        })
        .collect();
    for (output, _) in &runs {
        assert!(output.status.success(), "{}", text(&output.stderr));
    }
    assert_eq!(runs[0].0.stdout, runs[1].0.stdout);
    for file in ["demo.csv", "demo-seeds.csv", "demo.svg"] {
        let read = |folder: &PathBuf| std::fs::read(folder.join("tmp").join(file)).expect(file);
        assert_eq!(read(&runs[0].1), read(&runs[1].1), "{file}");
    }
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
        (&["--seeds", "-1"], "--seeds"),
        (&["--seeds", "0"], "--seeds"),
        (&["--seeds", "1"], "--seeds"),
        (&["--seeds", "100001"], "--seeds"),
        (&["--seed", "1", "--seeds", "3"], "--seeds"),
        (&["--threads", "0"], "--threads"),
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
        (
            &["--seeds", "1"],
            "error: --seeds: 1 is not in 2 to 100000 (an interval needs two markets; --seed N \
             shows one)",
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
