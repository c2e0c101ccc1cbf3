//! Integration tests of `procura demo --text`: the real binary, built with
//! the default features (no embedding model), runs procurement rounds on
//! the built-in snippets and their committed embeddings, offline. The
//! summary over a few markets (`--seeds`) must be exactly what the
//! markets' rows give, and a market shown alone (`--seed N`, on one
//! thread) the same rows as in the summary; both print a table and write
//! `demo-text.csv`, `demo-text-seeds.csv` and `demo-text.svg`. Each market
//! takes a few seconds in a debug build, so the tests run three.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use procura::tolerance::approx_eq;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `procura demo --text ARGS` from a fresh scratch folder, so that the
/// default `--out` lands there too.
fn demo_text(name: &str, args: &[&str]) -> (Output, PathBuf) {
    let folder = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("demo-text-{name}"));
    // A leftover from an earlier run may or may not exist.
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).expect("create scratch folder");
    let output = Command::new(env!("CARGO_BIN_EXE_procura"))
        .args(["demo", "--text"])
        .args(args)
        .current_dir(&folder)
        .output()
        .expect("procura runs");
    (output, folder)
}

const MECHANISMS: [&str; 5] = ["qmia", "mut", "mixed", "volume", "trust"];
const ROWS: [&str; 7] = [
    "qmia",
    "mut",
    "mixed",
    "volume",
    "trust",
    "all-data",
    "no-purchase",
];

/// The lines of a CSV file: its header, then each row's fields.
fn read_csv(path: &Path) -> (String, Vec<Vec<String>>) {
    let csv = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = csv.lines();
    let header = lines.next().unwrap_or_default().to_owned();
    let rows = lines
        .map(|line| line.split(',').map(str::to_owned).collect())
        .collect();
    (header, rows)
}

fn number(field: &str) -> f64 {
    field
        .parse()
        .unwrap_or_else(|e| panic!("{field:?} is not a number: {e}"))
}

/// The per-market columns, after `seed,budget` in `demo-text-seeds.csv`.
const COLUMNS: &str = "mechanism,cash,tokens,cost,providers,snippets,noisy,off_task,value,\
                       probe_accuracy,br_rounds,br_converged";

/// Checks one market's rows (`mechanism,cash,…`): every mechanism and
/// reference in order, counts that add up, accuracies in [0, 1].
fn check_market(rows: &[Vec<String>]) {
    let names: Vec<&str> = rows.iter().map(|row| row[0].as_str()).collect();
    assert_eq!(names, ROWS);
    let all_snippets = number(&rows[5][5]);
    for row in rows {
        assert_eq!(row.len(), 12, "{row:?}");
        let (snippets, noisy, off_task) = (number(&row[5]), number(&row[6]), number(&row[7]));
        assert!(noisy + off_task <= snippets, "{row:?}");
        assert!(snippets <= all_snippets, "{row:?}");
        assert!((0.0..=1.0).contains(&number(&row[9])), "{row:?}");
    }
    // Every provider's snippets hold noisy and off-task ones; none holds
    // none.
    assert!(
        number(&rows[5][6]) > 0.0 && number(&rows[5][7]) > 0.0,
        "{rows:?}"
    );
    assert_eq!(rows[6][5..8], ["0", "0", "0"]);
}

/// `--seeds 2`: the summary's table on stdout, and files that agree with
/// it: every market's rows, and each summary number the mean (to the last
/// bit) and Student-t interval of those rows. Then `--seed 1`: the same
/// rows for market 1.
#[test]
fn the_text_demo_prints_its_tables_and_writes_its_files() {
    let (output, folder) = demo_text("summary", &["--seeds", "2", "--out", "tmp"]);
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "stderr: {}", text(&output.stderr));
    assert!(
        stdout.starts_with("procura demo --text: movie-review sentiment (fresh or rotten)"),
        "{stdout}"
    );
    assert!(stdout.contains("30 providers (10 of them pad"), "{stdout}");
    assert!(stdout.contains("2 markets (seeds 0–1)"), "{stdout}");
    let header = stdout
        .lines()
        .find(|line| line.starts_with("mechanism"))
        .expect("table header");
    for column in ["spend", "snippets", "noisy", "off-task", "probe accuracy"] {
        assert!(header.contains(column), "{header}");
    }
    for name in MECHANISMS.iter().chain(&["all data", "no purchase"]) {
        assert!(
            stdout.lines().any(|line| line.starts_with(name)),
            "no row for {name}: {stdout}"
        );
    }
    assert!(stdout.contains("Over 2 markets"), "{stdout}");

    let out = folder.join("tmp");
    let (seed_header, seed_rows) = read_csv(&out.join("demo-text-seeds.csv"));
    assert_eq!(seed_header, format!("seed,budget,{COLUMNS}"));
    assert_eq!(seed_rows.len(), 2 * ROWS.len());
    let markets: Vec<Vec<Vec<String>>> = seed_rows
        .chunks(ROWS.len())
        .map(|rows| rows.iter().map(|row| row[2..].to_vec()).collect())
        .collect();
    for (seed, market) in markets.iter().enumerate() {
        assert!(seed_rows[seed * ROWS.len()][0] == seed.to_string());
        check_market(market);
    }

    let (summary_header, summary) = read_csv(&out.join("demo-text.csv"));
    assert_eq!(summary_header, "mechanism,metric,n,mean,sd,ci_low,ci_high");
    // 5 mechanisms × 5 metrics, 2 references × 4 (no spend).
    assert_eq!(summary.len(), 5 * 5 + 2 * 4);
    for row in &summary {
        let index = ROWS
            .iter()
            .position(|name| *name == row[0])
            .expect("a known row");
        let value = |market: &Vec<Vec<String>>| -> f64 {
            let fields = &market[index];
            let share = |count: &str| {
                let snippets = number(&fields[5]);
                if snippets == 0.0 {
                    0.0
                } else {
                    number(count) / snippets
                }
            };
            match row[1].as_str() {
                "spend" => number(&fields[1]) + number(&fields[2]),
                "snippets" => number(&fields[5]),
                "noisy_share" => share(&fields[6]),
                "off_task_share" => share(&fields[7]),
                "probe_accuracy" => number(&fields[9]),
                other => panic!("unknown metric {other}"),
            }
        };
        let values: Vec<f64> = markets.iter().map(value).collect();
        let mean = (0.0 + values[0] + values[1]) / 2.0;
        let sd = ((values[0] - mean).powi(2) + (values[1] - mean).powi(2)).sqrt();
        assert_eq!(row[2], "2", "{row:?}");
        assert_eq!(number(&row[3]), mean, "{row:?}");
        assert!(approx_eq(number(&row[4]), sd, 1e-12), "{row:?}");
        // t(0.975, 1) = 12.7062…
        let half = 12.706_204_736_174_7 * sd / 2f64.sqrt();
        assert!(approx_eq(number(&row[5]), mean - half, 1e-9), "{row:?}");
        assert!(approx_eq(number(&row[6]), mean + half, 1e-9), "{row:?}");
    }
    assert!(
        !summary
            .iter()
            .any(|row| row[0] == "all-data" && row[1] == "spend"),
        "{summary:?}"
    );

    let svg = std::fs::read_to_string(out.join("demo-text.svg")).expect("demo-text.svg");
    assert!(svg.contains("<svg"), "{svg}");
    for caption in ["probe accuracy", "off-task", "noisy"] {
        assert!(svg.contains(caption), "no panel {caption}");
    }

    // `--seed 1` on one thread: market 1's table, and in its files exactly
    // the rows the summary (on every core) holds for it.
    let (one, one_folder) = demo_text("one", &["--seed", "1", "--threads", "1"]);
    let one_stdout = text(&one.stdout);
    assert!(one.status.success(), "stderr: {}", text(&one.stderr));
    let header = one_stdout
        .lines()
        .find(|line| line.starts_with("mechanism"))
        .expect("table header");
    for column in ["cash", "snippets", "noisy", "off-task", "probe acc"] {
        assert!(header.contains(column), "{header}");
    }
    for name in MECHANISMS.iter().chain(&["all data", "no purchase"]) {
        assert!(
            one_stdout.lines().any(|line| line.starts_with(name)),
            "no row for {name}: {one_stdout}"
        );
    }
    assert!(one_stdout.contains("; seed 1,"), "{one_stdout}");
    assert!(
        one_stdout.contains("Q-MIA"),
        "the explanation: {one_stdout}"
    );
    let one_out = one_folder.join("demo-out");
    let (one_header, one_rows) = read_csv(&one_out.join("demo-text.csv"));
    assert_eq!(one_header, COLUMNS);
    assert_eq!(one_rows, markets[1]);
    let (_, one_seeds) = read_csv(&one_out.join("demo-text-seeds.csv"));
    assert_eq!(one_seeds, seed_rows[ROWS.len()..]);
    assert!(std::fs::read_to_string(one_out.join("demo-text.svg"))
        .expect("demo-text.svg")
        .contains("<svg"));
}

/// More providers than reviews to share: exit 2, the flag named, nothing
/// written.
#[test]
fn too_many_providers_are_refused() {
    let (output, folder) = demo_text("bad", &["--seed", "0", "--providers", "5000"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.starts_with("error: --providers: cannot split 1400 reviews among 5000 providers"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
    assert!(!folder.join("demo-out").exists());
}
