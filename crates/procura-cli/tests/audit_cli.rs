//! Integration tests of `procura audit`: controls on the shipped example,
//! replayable deviations, population audits that are byte-identical across
//! thread counts, and named errors for bad population files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn procura() -> Command {
    Command::new(env!("CARGO_BIN_EXE_procura"))
}

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/audit")
        .join(name)
}

fn run(args: &[&str], threads: &str) -> Output {
    procura()
        .args(args)
        .env("RAYON_NUM_THREADS", threads)
        .output()
        .expect("procura runs")
}

fn json(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("stdout is JSON")
}

fn market() -> String {
    repo("examples/market.json").display().to_string()
}

#[test]
fn trust_shows_a_profitable_misreport_that_replays() {
    let report = json(&run(&["audit", &market(), "--mechanism", "trust"], "2"));
    let deviation = &report["deviation"];
    let gain = deviation["gain"].as_f64().expect("gain");
    assert!(gain > 1.0, "{report}");
    assert_eq!(report["max_unilateral_gain"], deviation["gain"]);
    assert!(report["certificate"].is_null());

    // Replay: write the instance with the deviating report and clear both
    // with `procura clear`; the winner's payment minus its true bid changes
    // by exactly the stated gain.
    let id = deviation["id"].as_str().expect("id");
    let text = std::fs::read_to_string(market()).expect("market");
    let mut instance: Value = serde_json::from_str(&text).expect("JSON");
    let providers = instance["providers"].as_array_mut().expect("providers");
    let provider = providers
        .iter_mut()
        .find(|p| p["id"] == id)
        .expect("deviator");
    let cost = provider["bid"].as_f64().expect("bid");
    for (field, value) in deviation["report"].as_object().expect("report") {
        provider[field.as_str()] = value.clone();
    }
    let dir = tempdir();
    let altered = dir.join("altered.json");
    std::fs::write(&altered, serde_json::to_string(&instance).expect("JSON")).expect("write");
    let utility = |path: &str| -> f64 {
        let outcome = json(&run(&["clear", path, "--mechanism", "trust"], "1"));
        let payments = outcome["payments"].as_array().expect("payments");
        payments
            .iter()
            .find(|p| p["id"] == id)
            .map_or(0.0, |p| p["cash"].as_f64().expect("cash") - cost)
    };
    let replayed = utility(altered.to_str().expect("path")) - utility(&market());
    assert_eq!(replayed, gain);
}

#[test]
fn qmia_comes_back_clean_with_a_certificate() {
    let report = json(&run(&["audit", &market(), "--mechanism", "qmia"], "2"));
    assert!(report["deviation"].is_null(), "{report}");
    assert!(report["max_unilateral_gain"].as_f64().expect("gain") <= 1e-9);
    assert_eq!(report["ir_violations"], 0);
    assert_eq!(report["budget_ok"], true);
    assert_eq!(report["certificate"]["monotone"], true);
    assert_eq!(report["certificate"]["critical_values"], true);
}

fn tempdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "procura-audit-test-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn population(threads: &str, worst: &Path) -> (Vec<u8>, Vec<u8>) {
    let output = run(
        &[
            "audit",
            "--population",
            repo("examples/populations/uniform-small.toml")
                .to_str()
                .expect("path"),
            "--mechanism",
            "volume",
            "--instances",
            "24",
            "--seed",
            "7",
            "--worst",
            worst.to_str().expect("path"),
        ],
        threads,
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    (
        output.stdout,
        std::fs::read(worst).expect("worst instance written"),
    )
}

#[test]
fn population_audits_are_byte_identical_across_thread_counts() {
    let dir = tempdir();
    let (one, worst_one) = population("1", &dir.join("worst-1.json"));
    let (three, worst_three) = population("3", &dir.join("worst-3.json"));
    let strip = |bytes: &[u8]| {
        String::from_utf8_lossy(bytes)
            .replace("worst-1.json", "W")
            .replace("worst-3.json", "W")
    };
    assert_eq!(strip(&one), strip(&three));
    assert_eq!(worst_one, worst_three);

    let report: Value = serde_json::from_slice(&one).expect("JSON");
    assert_eq!(report["instances"], 24);
    assert!(report["with_deviation"].as_u64().expect("count") > 0);
    // The worst instance replays: auditing it alone finds its gain again.
    let worst = dir.join("worst-1.json");
    let seed = report["worst"]["audit_seed"]
        .as_u64()
        .expect("audit seed")
        .to_string();
    let alone = json(&run(
        &[
            "audit",
            worst.to_str().expect("path"),
            "--mechanism",
            "volume",
            "--max-participants",
            "10",
            "--max-coalitions",
            "10",
            "--grid",
            "16",
            "--seed",
            &seed,
        ],
        "1",
    ));
    assert_eq!(
        alone["max_unilateral_gain"],
        report["worst"]["max_unilateral_gain"]
    );
    // The coalition sample depends on the seed, so this checks it too.
    assert_eq!(
        alone["max_coalition_gain"],
        report["worst"]["max_coalition_gain"]
    );
}

fn check_rejected(args: &[&str], expected: &str) {
    let output = run(args, "1");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(output.stdout.is_empty());
    assert!(stderr.contains(expected), "{stderr:?} lacks {expected:?}");
}

#[test]
fn bad_population_files_get_named_errors() {
    let cases = [
        ("unknown-key.toml", "unknown field `colour`"),
        ("bad-range.toml", "cost.high: 0.05 is not > low 0.1"),
        ("bad-distribution.toml", "unknown variant `gamma`"),
        ("wrong-type.toml", "providers"),
        ("missing-utility.toml", "missing field `utility`"),
        (
            "huge-integer.toml",
            "huge-integer.toml: budget_fraction: 18446744073709551615 is not a TOML integer",
        ),
    ];
    for (file, expected) in cases {
        let path = data(file);
        check_rejected(
            &[
                "audit",
                "--population",
                path.to_str().expect("path"),
                "--mechanism",
                "qmia",
                "--worst",
                "/nonexistent/never-written.json",
            ],
            expected,
        );
    }
    assert_eq!(
        std::fs::read_dir(data("")).expect("data").count(),
        cases.len()
    );
}

/// MUT needs a token budget, so a population without
/// `token_budget_fraction` is refused by the library's
/// `Population::check_clears` before anything is drawn or written.
#[test]
fn mut_needs_a_token_budget_fraction() {
    let text = std::fs::read_to_string(repo("examples/populations/uniform-small.toml"))
        .expect("population");
    let without: String = text
        .lines()
        .filter(|line| !line.trim_start().starts_with("token_budget_fraction"))
        .map(|line| format!("{line}\n"))
        .collect();
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("audit-no-token-budget.toml");
    std::fs::write(&path, without).expect("write population");
    let path = path.to_str().expect("path");
    let worst = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("never-written-worst.json");
    let _ = std::fs::remove_file(&worst);
    check_rejected(
        &[
            "audit",
            "--population",
            path,
            "--mechanism",
            "mut",
            "--worst",
            worst.to_str().expect("path"),
        ],
        &format!("{path}: token_budget_fraction is required by mut"),
    );
    assert!(!worst.exists());
    let report = json(&run(
        &[
            "audit",
            "--population",
            path,
            "--mechanism",
            "qmia",
            "--instances",
            "2",
            "--worst",
            worst.to_str().expect("path"),
        ],
        "1",
    ));
    assert_eq!(report["instances"], 2);
}

#[test]
fn an_instance_and_a_population_conflict() {
    let population = repo("examples/populations/uniform-small.toml");
    let output = run(
        &[
            "audit",
            &market(),
            "--population",
            population.to_str().expect("path"),
            "--mechanism",
            "qmia",
        ],
        "1",
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
}

#[test]
fn search_sizes_are_bounded_and_named() {
    for (flag, value, message) in [
        ("--grid", "0", "--grid: 0 is not between 1 and 10000"),
        (
            "--grid",
            "1000000000000",
            "--grid: 1000000000000 is not between 1 and 10000",
        ),
        (
            "--coalition-size",
            "0",
            "--coalition-size: 0 is not between 1 and 8",
        ),
        (
            "--coalition-size",
            "30",
            "--coalition-size: 30 is not between 1 and 8",
        ),
        (
            "--max-coalitions",
            "18446744073709551615",
            "--max-coalitions: 18446744073709551615 is not between 1 and 100000",
        ),
        (
            "--max-participants",
            "0",
            "--max-participants: 0 is not between 1 and",
        ),
    ] {
        let output = run(
            &["audit", &market(), "--mechanism", "qmia", flag, value],
            "1",
        );
        assert_eq!(output.status.code(), Some(2), "{flag} {value}");
        assert!(
            output.stdout.is_empty(),
            "{flag} {value}: no partial output"
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(message), "{flag} {value}: {stderr}");
    }
}
