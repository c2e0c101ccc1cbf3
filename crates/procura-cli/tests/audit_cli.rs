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
    let coalition = worst.with_extension("coalition.json");
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
            "--worst-coalition",
            coalition.to_str().expect("path"),
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
            .replace("worst-1.", "W.")
            .replace("worst-3.", "W.")
    };
    assert_eq!(strip(&one), strip(&three));
    assert_eq!(worst_one, worst_three);

    let report: Value = serde_json::from_slice(&one).expect("JSON");
    assert_eq!(report["instances"], 24);
    assert!(report["with_deviation"].as_u64().expect("count") > 0);
    // The worst instance replays: auditing it alone finds its gain again.
    let worst = dir.join("worst-1.json");
    let seed = report["worst_unilateral"]["audit_seed"]
        .as_str()
        .expect("audit seed, a string")
        .to_owned();
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
        report["worst_unilateral"]["max_unilateral_gain"]
    );
    // The coalition sample depends on the seed, so this checks it too.
    assert_eq!(
        alone["max_coalition_gain"],
        report["worst_unilateral"]["max_coalition_gain"]
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
            "--worst-coalition",
            worst
                .with_extension("coalition.json")
                .to_str()
                .expect("path"),
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
            "--max-participants: 0 is not at least 1",
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

/// Runs a report's `replay` command (`procura …`, its words quoted for a
/// shell) with this build's binary, and returns its stdout.
fn replay(command: &str) -> Vec<u8> {
    let rest = command.strip_prefix("procura ").expect("a procura command");
    let output = Command::new("sh")
        .arg("-c")
        .arg(format!("\"$PROCURA\" {rest}"))
        .env("PROCURA", env!("CARGO_BIN_EXE_procura"))
        .output()
        .expect("sh runs");
    assert!(
        output.status.success(),
        "{command}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// A report records how it searched and the command that replays it,
/// which prints the same report.
#[test]
fn an_audit_records_its_search_and_the_command_that_replays_it() {
    let output = run(&["audit", &market(), "--mechanism", "trust"], "2");
    let report = json(&output);
    assert_eq!(
        report["search"],
        serde_json::json!({
            "grid": 64, "coalition_size": 2, "max_coalitions": 2000,
            "max_participants": null, "seed": "0", "sampled": false
        })
    );
    assert_eq!(
        report["replay"],
        format!(
            "procura audit {} --mechanism trust --grid 64 --coalition-size 2 \
             --max-coalitions 2000 --seed 0",
            market()
        )
    );
    assert_eq!(
        replay(report["replay"].as_str().expect("replay")),
        output.stdout
    );

    // A sampled search says so, and its flags are in the command.
    let dir = tempdir();
    let spaced = dir.join("my market.json");
    std::fs::copy(market(), &spaced).expect("copy");
    let spaced = spaced.to_str().expect("path");
    let args = [
        "audit",
        spaced,
        "-m",
        "volume",
        "--max-participants",
        "2",
        "--grid",
        "8",
        "--coalition-size",
        "3",
        "--max-coalitions",
        "5",
        "--seed",
        "\"18446744073709551615\"",
    ];
    let output = run(&args, "1");
    let report = json(&output);
    assert_eq!(
        report["search"],
        serde_json::json!({
            "grid": 8, "coalition_size": 3, "max_coalitions": 5,
            "max_participants": 2, "seed": "18446744073709551615", "sampled": true
        })
    );
    assert_eq!(
        report["replay"],
        format!(
            "procura audit '{spaced}' --mechanism volume --grid 8 --coalition-size 3 \
             --max-coalitions 5 --max-participants 2 --seed 18446744073709551615"
        )
    );
    assert_eq!(
        replay(report["replay"].as_str().expect("replay")),
        output.stdout
    );
}

/// The population summary says each instance's search was sampled, gives
/// seeds as strings, and saves the worst unilateral and the worst
/// coalition instance chosen by *profitable* gain: under Q-MIA the
/// unilateral gains are rounding (up to 5.6e-17 here), so no unilateral
/// instance is saved, and the coalition instance is the one with the
/// largest coalition gain. Each replays.
#[test]
fn a_population_audit_saves_the_worst_profitable_instances_and_replays() {
    // A path no shell word needs quoting in, to compare the replay as text.
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("audit-profitable");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("folder");
    let worst = dir.join("worst.json");
    let coalition = dir.join("coalition.json");
    let population = repo("examples/populations/uniform-small.toml");
    let args = [
        "audit",
        "--population",
        population.to_str().expect("path"),
        "-m",
        "qmia",
        "--instances",
        "30",
        "--worst",
        worst.to_str().expect("path"),
        "--worst-coalition",
        coalition.to_str().expect("path"),
    ];
    let output = run(&args, "2");
    let report = json(&output);
    assert_eq!(report["seed"], "0");
    assert_eq!(report["with_deviation"], 0);
    assert!(report["max_gain"].as_f64().expect("gain") > 0.0, "rounding");
    assert_eq!(report["worst_unilateral"], Value::Null);
    assert!(!worst.exists(), "nothing profitable to save");
    let saved = &report["worst_coalition"];
    assert_eq!(saved["max_coalition_gain"], report["max_coalition_gain"]);
    assert_eq!(saved["coalition"]["gain"], report["max_coalition_gain"]);
    assert_eq!(saved["file"], coalition.to_str().expect("path"));
    let seed = saved["audit_seed"].as_str().expect("a string");
    assert!(seed.parse::<u64>().expect("a u64") > 1 << 53, "{seed}");
    assert_eq!(
        report["search"],
        serde_json::json!({
            "grid": 16, "coalition_size": 2, "max_coalitions": 10,
            "max_participants": 10, "seed": "0", "sampled": true, "sampled_instances": 30
        })
    );
    // Its replay finds the same coalition gain on the saved instance.
    let alone: Value =
        serde_json::from_slice(&replay(saved["replay"].as_str().expect("replay"))).expect("JSON");
    assert_eq!(alone["max_coalition_gain"], saved["max_coalition_gain"]);
    assert_eq!(alone["coalition"], saved["coalition"]);
    assert_eq!(
        alone["search"]["seed"], saved["audit_seed"],
        "the replay searches with the instance's own seed"
    );
    // The whole audit replays byte for byte.
    let expected = format!(
        "procura audit --population {} --mechanism qmia --instances 30 --grid 16 \
         --coalition-size 2 --max-coalitions 10 --max-participants 10 --seed 0 --worst {} \
         --worst-coalition {}",
        population.display(),
        worst.display(),
        coalition.display()
    );
    assert_eq!(report["replay"], expected);
    assert_eq!(replay(&expected), output.stdout);

    // Under trust both are real and saved.
    let args = [&args[..4], &["trust", "--instances", "6"], &args[7..]].concat();
    let report = json(&run(&args, "2"));
    assert_eq!(
        report["worst_unilateral"]["max_unilateral_gain"],
        report["max_gain"]
    );
    assert_eq!(
        report["worst_coalition"]["max_coalition_gain"],
        report["max_coalition_gain"]
    );
    assert!(worst.exists() && coalition.exists());
}

#[test]
fn flags_that_do_not_apply_or_make_no_sense_are_refused() {
    let population = repo("examples/populations/uniform-small.toml");
    let population = population.to_str().expect("path");
    let market = market();
    let market = market.as_str();
    let never = "/nonexistent/never-written.json";
    let cases: [(Vec<&str>, &str); 7] = [
        (
            vec!["audit", market, "-m", "qmia", "--instances", "5"],
            "--instances applies only to population audits: add --population FILE, or drop \
             --instances",
        ),
        (
            vec!["audit", market, "-m", "qmia", "--worst", never],
            "--worst applies only to population audits",
        ),
        (
            vec!["audit", market, "-m", "qmia", "--worst-coalition", never],
            "--worst-coalition applies only to population audits",
        ),
        (
            vec![
                "audit",
                "--population",
                population,
                "-m",
                "qmia",
                "--instances",
                "0",
            ],
            "--instances: 0 is not at least 1",
        ),
        (
            vec![
                "audit",
                "--population",
                population,
                "-m",
                "qmia",
                "--worst",
                never,
                "--worst-coalition",
                never,
            ],
            "--worst and --worst-coalition name the same file, /nonexistent/never-written.json",
        ),
        (
            vec!["audit", market, "-m", "qmia", "--threads", "0"],
            "--threads must be at least 1",
        ),
        (
            vec!["audit", market, "-m", "qmia", "--seed", "1.5"],
            "\"1.5\" is not an integer from 0 to 18446744073709551615",
        ),
    ];
    for (args, expected) in cases {
        check_rejected(&args, expected);
    }
}

/// README.md, its whitespace runs made single spaces.
fn readme() -> String {
    let text = std::fs::read_to_string(repo("README.md")).expect("README");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What the README says of the withdrawal audit is what it finds: no
/// unilateral gain, a coalition gain of 0.02 by `hospital-a` and `lab-e`.
#[test]
fn the_readme_says_what_the_withdrawal_audit_finds() {
    let readme = readme();
    assert!(readme.contains(
        "No user gains by misreporting alone (the stage is DSIC), but pairs can: on \
         `examples/threshold.json` the auditor finds a coalition gain of 0.02 (`hospital-a` \
         and `lab-e`)"
    ));
    let threshold = repo("examples/threshold.json");
    let report = json(&run(
        &[
            "audit",
            threshold.to_str().expect("path"),
            "-m",
            "withdrawal",
        ],
        "2",
    ));
    assert_eq!(report["deviation"], Value::Null);
    assert_eq!(
        report["coalition"]["ids"],
        serde_json::json!(["hospital-a", "lab-e"])
    );
    let gain = report["max_coalition_gain"].as_f64().expect("gain");
    assert_eq!(format!("{gain:.2}"), "0.02");
}

/// What the README says of coalition and unilateral gains under a sampled
/// search holds: on a population of trust markets the worst unilateral
/// instance's coalition gain is far below its unilateral gain, and so is
/// the population's.
#[test]
fn the_readme_says_a_sampled_coalition_gain_can_be_below_the_unilateral_one() {
    let readme = readme();
    assert!(!readme.contains("is at least the best unilateral gain"));
    assert!(readme.contains(
        "a sampled search (`--max-participants`, `--max-coalitions`, and every population \
         audit) tries only some coalitions, so `max_coalition_gain` can be below \
         `max_unilateral_gain`"
    ));
    let dir = tempdir().join("sampled");
    std::fs::create_dir_all(&dir).expect("folder");
    let population = repo("examples/populations/heavy-tails.toml");
    let report = json(&run(
        &[
            "audit",
            "--population",
            population.to_str().expect("path"),
            "-m",
            "trust",
            "--instances",
            "20",
            "--worst",
            dir.join("w.json").to_str().expect("path"),
            "--worst-coalition",
            dir.join("c.json").to_str().expect("path"),
        ],
        "2",
    ));
    assert_eq!(report["search"]["sampled"], true);
    let worst = &report["worst_unilateral"];
    let gain = |value: &Value| value.as_f64().expect("a gain");
    assert!(gain(&worst["max_coalition_gain"]) < gain(&worst["max_unilateral_gain"]));
    assert!(gain(&report["max_coalition_gain"]) < gain(&report["max_gain"]));
}
