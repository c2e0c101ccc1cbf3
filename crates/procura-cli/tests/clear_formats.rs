//! `procura clear --format`, `--mechanism all` or a list, `--explain`, the
//! refusal of Mixed-MIA with λ < 1 and no token budget, and the reason a
//! withdrawal outcome is null: the real binary on small files, compared
//! with exact outputs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/clear")
        .join(name)
}

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../procura-mechanisms/tests/data")
        .join(name)
}

fn procura(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_procura"))
        .args(args)
        .output()
        .expect("procura runs")
}

fn clear(path: &Path, flags: &[&str]) -> Output {
    let path = path.to_str().expect("UTF-8 path");
    let mut args = vec!["clear", path];
    args.extend_from_slice(flags);
    procura(&args)
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).expect("UTF-8")
}

/// The top-level keys of a pretty-printed JSON object, in written order
/// (`serde_json::Value` sorts them).
fn keys(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| line.strip_prefix("  \""))
        .filter_map(|rest| rest.split_once("\": {"))
        .map(|(key, _)| key.to_owned())
        .collect()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A refusal: exit code 2, nothing on stdout, `expected` on stderr.
fn check_refused(output: &Output, expected: &str) {
    assert_eq!(output.status.code(), Some(2), "{}", stderr(output));
    assert!(output.stdout.is_empty());
    assert!(stderr(output).contains(expected), "{:?}", stderr(output));
}

const QMIA_JSON: &str = r#"{
  "mechanism": "qmia",
  "null": false,
  "winners": [
    "a"
  ],
  "payments": [
    {
      "id": "a",
      "cash": 1.5,
      "tokens": 0.0
    }
  ],
  "total_cash": 1.5,
  "total_tokens": 0.0,
  "value": 1.0
}
"#;

#[test]
fn json_is_the_default_and_the_spec_outcome_byte_for_byte() {
    let three = data("three.json");
    assert_eq!(stdout(&clear(&three, &["-m", "qmia"])), QMIA_JSON);
    assert_eq!(
        stdout(&clear(&three, &["-m", "qmia", "--format", "json"])),
        QMIA_JSON
    );
}

#[test]
fn several_mechanisms_are_one_object_keyed_by_name() {
    for case in ["000", "003", "005"] {
        let path = golden(&format!("proc-{case}.json"));
        let text = stdout(&clear(&path, &["-m", "all"]));
        assert_eq!(
            keys(&text),
            ["qmia", "mut", "mixed", "volume", "trust"],
            "{case}"
        );
        let all: Value = serde_json::from_str(&text).expect("JSON");
        let object = all.as_object().expect("an object");
        assert_eq!(object.len(), 5);
        for (name, outcome) in object {
            let alone: Value =
                serde_json::from_str(&stdout(&clear(&path, &["-m", name]))).expect("JSON");
            assert_eq!(outcome, &alone, "proc-{case} {name}");
        }
    }
    // A list keeps its order, each mechanism once.
    let path = golden("proc-001.json");
    let listed = stdout(&clear(&path, &["-m", "trust,qmia,trust"]));
    assert_eq!(keys(&listed), ["trust", "qmia"]);
    assert!(listed.starts_with("{\n  \"trust\": {\n    \"mechanism\": \"trust\",\n"));
    // Threshold instances: the subsidy and withdrawal rights.
    let path = golden("thr-000.json");
    assert_eq!(
        keys(&stdout(&clear(&path, &["-m", "all"]))),
        ["subsidy", "withdrawal"]
    );
}

#[test]
fn all_skips_a_mechanism_that_needs_a_missing_field_with_a_note() {
    let output = clear(
        &data("mixed-no-token-budget.json"),
        &["-m", "all", "--format", "csv"],
    );
    assert_eq!(
        stdout(&output),
        "mechanism,id,bid,won,cash,tokens\n\
         qmia,acme,2,true,10,0\n\
         volume,acme,2,false,0,0\n\
         trust,acme,2,false,0,0\n"
    );
    assert_eq!(
        stderr(&output),
        "note: mut skipped: token_budget is required by mut\n\
         note: mixed skipped: token_budget is required by mixed when liquidity is below 1\n"
    );
}

#[test]
fn mixed_below_full_liquidity_without_a_token_budget_is_refused_like_mut() {
    let path = data("mixed-no-token-budget.json");
    check_refused(
        &clear(&path, &["-m", "mixed"]),
        "mixed-no-token-budget.json: cannot clear with mixed: token_budget is required by mixed \
         when liquidity is below 1",
    );
    check_refused(
        &clear(&path, &["-m", "mut"]),
        "cannot clear with mut: token_budget is required by mut",
    );
    // Named in a list, it fails the whole call.
    check_refused(
        &clear(&path, &["-m", "qmia,mixed"]),
        "token_budget is required by mixed",
    );
}

#[test]
fn a_table_compares_mechanisms_side_by_side() {
    let output = clear(
        &data("three.json"),
        &["-m", "qmia,volume", "--format", "table"],
    );
    assert_eq!(
        stdout(&output),
        "\
| mechanism | winners | total cash | total tokens | value |
|-----------|---------|------------|--------------|-------|
| qmia      |       1 |        1.5 |            0 |     1 |
| volume    |       1 |          1 |            0 |     1 |

| provider | bid | qmia pays | volume pays |
|----------|-----|-----------|-------------|
| a        |   1 |       1.5 |           1 |
| b        |   3 |         - |           - |
| c        |   4 |         - |           - |
| d        | 0.1 |         - |           - |
"
    );
}

#[test]
fn explain_says_why_each_provider_won_or_lost() {
    let output = clear(
        &data("three.json"),
        &["-m", "qmia,volume", "--explain", "--format", "csv"],
    );
    assert_eq!(
        stdout(&output),
        "\
mechanism,rank,id,bid,score,weight,ratio,won,cash,tokens,reward,premium,lost_because,why
qmia,1,a,1,1,1,1,true,1.5,0,1.5,0.5,,\"won: paid its critical value 1.5, the highest bid with which it would still win\"
qmia,2,b,3,2,2,1.5,false,0,0,0,,share-test,\"lost: fails the share test, bid 3 > B·w/W = 4 × 2 / 3 = 2.6666666666666665\"
qmia,3,c,4,1,1,4,false,0,0,0,,after-cutoff,\"lost: ranked after #2, the first to fail, where admission stops\"
qmia,,d,0.1,0,0,,false,0,0,0,,zero-weight,\"lost: its score w is 0, so it is not ranked\"
volume,1,a,1,1,10,0.1,true,1,0,1,0,,won: paid its bid
volume,2,c,4,1,20,0.2,false,0,0,0,,budget,\"lost: over the budget, 1 already spent + bid 4 > B = 4\"
volume,3,b,3,2,10,0.3,false,0,0,0,,after-cutoff,\"lost: ranked after #2, the first to fail, where admission stops\"
volume,,d,0.1,0,0,,false,0,0,0,,zero-weight,\"lost: its volume is 0, so it is not ranked\"
"
    );
}

#[test]
fn explain_as_a_table_says_what_the_qmia_premium_buys() {
    let output = clear(
        &data("three.json"),
        &["-m", "qmia", "--explain", "--format", "table"],
    );
    let text = stdout(&output);
    let expected_rows = "\
|    1 | a        |   1 |       1 |       1 | won    |  1.5 |      0 |    1.5 |     0.5 | won: paid its critical value 1.5, the highest bid with which it would still win |
|    2 | b        |   3 |       2 |     1.5 | lost   |    0 |      0 |      0 |       - | lost: fails the share test, bid 3 > B·w/W = 4 × 2 / 3 = 2.666667                |
|    3 | c        |   4 |       1 |       4 | lost   |    0 |      0 |      0 |       - | lost: ranked after #2, the first to fail, where admission stops                 |
|    - | d        | 0.1 |       0 |       - | lost   |    0 |      0 |      0 |       - | lost: its score w is 0, so it is not ranked                                     |
";
    assert!(text.contains(expected_rows), "{text}");
    assert!(text.ends_with(
        "total cash 1.5, total tokens 0, value 1\n\
         Q-MIA pays each winner its critical value, not its bid, so it usually spends nearly the \
         whole budget and pays winners above their bids. That premium is what buys truthful \
         bids: no provider can gain by misreporting its cost (DSIC). Here the winners receive \
         1.5 of the allocation budget 4 (37.5%), 0.5 above their bids.\n"
    ));
}

#[test]
fn explain_as_json_has_typed_fields_and_agrees_with_the_outcome() {
    let path = golden("proc-002.json");
    for mechanism in ["qmia", "mut", "mixed", "volume", "trust"] {
        let explained: Value =
            serde_json::from_str(&stdout(&clear(&path, &["-m", mechanism, "--explain"])))
                .expect("JSON");
        let outcome: Value =
            serde_json::from_str(&stdout(&clear(&path, &["-m", mechanism]))).expect("JSON");
        assert_eq!(explained["mechanism"], mechanism);
        for total in ["total_cash", "total_tokens", "value"] {
            assert_eq!(explained[total], outcome[total], "{mechanism} {total}");
        }
        let providers = explained["providers"].as_array().expect("providers");
        let won: Vec<&Value> = providers
            .iter()
            .filter(|p| p["won"] == true)
            .map(|p| &p["id"])
            .collect();
        let winners: Vec<&Value> = outcome["winners"]
            .as_array()
            .expect("winners")
            .iter()
            .collect();
        assert_eq!(won, winners, "{mechanism}");
        for provider in providers {
            let lost = provider["won"] == false;
            assert_eq!(provider["lost_because"].is_string(), lost, "{provider}");
            assert_eq!(provider["premium"].is_null(), lost, "{provider}");
        }
        assert!(explained["note"]
            .as_str()
            .expect("a note")
            .contains("Here the winners receive"));
    }
}

#[test]
fn explain_covers_procurement_mechanisms_only() {
    check_refused(
        &clear(&golden("thr-000.json"), &["-m", "withdrawal", "--explain"]),
        "--explain explains the procurement mechanisms (qmia, mut, mixed, volume, trust) only; \
         withdrawal is a threshold mechanism",
    );
}

#[test]
fn all_with_nothing_that_clears_is_refused() {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/threshold/no-reserve.json");
    check_refused(
        &clear(&path, &["-m", "all"]),
        "no-reserve.json: no mechanism can clear this instance (subsidy skipped: payment is \
         required by subsidy; withdrawal skipped: reserve_price is required by withdrawal)",
    );
}

#[test]
fn several_explanations_are_keyed_by_name() {
    let text = stdout(&clear(
        &data("three.json"),
        &["-m", "volume,qmia", "--explain"],
    ));
    assert_eq!(keys(&text), ["volume", "qmia"]);
    let json: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(json["qmia"]["providers"][1]["lost_because"], "share-test");
    assert_eq!(json["volume"]["providers"][1]["lost_because"], "budget");
    assert_eq!(json["volume"]["admission"], "pay-as-bid");
    assert_eq!(json["qmia"]["total_premium"], 0.5);
}

#[test]
fn a_list_of_two_markets_is_refused() {
    check_refused(
        &clear(&golden("proc-000.json"), &["-m", "qmia,subsidy"]),
        "--mechanism lists qmia (a procurement mechanism) and subsidy (a threshold mechanism)",
    );
    check_refused(
        &clear(
            &golden("proc-000.json"),
            &["-m", "qmia", "--protocol", "small-first"],
        ),
        "--protocol applies only to withdrawal",
    );
}

const NULL_REASON: &str = "withdrawal is null: the 2 users whose cost is at most the reserve \
    r = 1.5 can give 3.5 units in all, short of the threshold T = 4, so nothing is collected or \
    paid";

#[test]
fn a_null_withdrawal_outcome_says_why() {
    let path = data("null-withdrawal.json");
    let output = clear(&path, &["-m", "withdrawal"]);
    let json: Value = serde_json::from_str(&stdout(&output)).expect("JSON");
    assert_eq!(json["null"], true);
    assert_eq!(stderr(&output), format!("note: {NULL_REASON}\n"));
    let output = clear(&path, &["-m", "withdrawal", "--format", "table"]);
    assert!(stdout(&output).ends_with(&format!("\n{NULL_REASON}\n")));
    assert!(output.stderr.is_empty());
    // A withdrawal outcome that is not null has no note.
    let output = clear(&golden("thr-000.json"), &["-m", "withdrawal"]);
    assert!(output.status.success());
    assert!(output.stderr.is_empty(), "{}", stderr(&output));
}

#[test]
fn help_shows_every_default() {
    let help = stdout(&procura(&["clear", "--help"]));
    assert!(help.contains("[default: json]"), "{help}");
    assert!(
        help.contains("[default: the instance's `protocol`"),
        "{help}"
    );
    for value in ["json", "table", "csv", "all:", "--explain"] {
        assert!(help.contains(value), "{value}: {help}");
    }
}

/// The explanation names the budget each mechanism allocates: B for Q-MIA
/// and the baselines, the token budget R for MUT, B_eff for Mixed-MIA.
#[test]
fn the_explanation_names_each_mechanisms_own_budget() {
    let market = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/market.json");
    for (mechanism, name) in [
        ("qmia", "B"),
        ("volume", "B"),
        ("mut", "R"),
        ("mixed", "B_eff"),
    ] {
        let text = stdout(&clear(
            &market,
            &["-m", mechanism, "--explain", "--format", "table"],
        ));
        assert!(
            text.contains(&format!("\nallocation budget {name} = ")),
            "{mechanism}: {text}"
        );
    }
}
