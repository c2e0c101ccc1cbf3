//! The HTML pages in a real headless Chromium (issue 11): the server runs
//! on a loopback port, a procurement round goes through its phases, and at
//! each step `tests/browser/page.mjs` (playwright-core driving Debian's
//! `/usr/bin/chromium`) checks the round list, the round's page, that no
//! bid is in the DOM or the HTML before the reveal phase closes, and the
//! outcome table once the round is cleared.
//!
//! Without Chromium, Node.js or `tests/browser/node_modules` the test says
//! so and passes, unless `PROCURA_REQUIRE_BROWSER=1` (set by `.ci/run`),
//! when it fails. `PROCURA_CHROMIUM` names another Chromium binary.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use procura_market::Kind;

const SKIPPED: &str = "skipped: Chromium or playwright-core is not installed (run .ci/run, or: \
     apt-get install -y chromium && npm ci --prefix crates/procura-server/tests/browser)";

/// Distinctive bids (no other number on the pages has these digits), so a
/// leak cannot hide and a match cannot be a coincidence.
const BIDS: [(&str, &str); 5] = [
    ("acme", "2.0313"),
    ("beta", "3.5271"),
    ("corpus-co", "1.0457"),
    ("delta-labs", "2.5189"),
    ("echo", "4.0923"),
];

/// The bids of a second round that stays in its commit phase throughout.
const SEALED_BIDS: [(&str, &str); 2] = [("acme", "1.9137"), ("beta", "3.3391")];

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// Chromium's path when the browser, Node.js and playwright-core are all
/// here; otherwise `None` after saying why, or a panic when
/// `PROCURA_REQUIRE_BROWSER=1`.
fn browser() -> Option<PathBuf> {
    let chromium = std::env::var_os("PROCURA_CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    let playwright = browser_dir().join("node_modules/playwright-core/package.json");
    let node = Command::new("node").arg("--version").output();
    let missing = if !chromium.is_file() || !playwright.is_file() {
        Some(SKIPPED.to_owned())
    } else if !node.is_ok_and(|out| out.status.success()) {
        Some("skipped: Node.js (`node`) is not installed (run .ci/run)".to_owned())
    } else {
        None
    };
    match missing {
        None => Some(chromium),
        Some(message) if std::env::var("PROCURA_REQUIRE_BROWSER").as_deref() == Ok("1") => {
            panic!(
                "PROCURA_REQUIRE_BROWSER=1 but {}",
                message.trim_start_matches("skipped: ")
            )
        }
        Some(message) => {
            println!("{message}");
            None
        }
    }
}

/// Runs `node page.mjs URL ARGS…` off the runtime's threads (the server
/// answers meanwhile): the command line, exit code and output.
async fn script(chromium: &Path, url: &str, args: Vec<String>) -> (String, Option<i32>, String) {
    let script = browser_dir().join("page.mjs");
    let mut command = Command::new("node");
    command
        .arg(&script)
        .arg(url)
        .args(&args)
        .arg("--chromium")
        .arg(chromium);
    let shown = format!("node {} {url} {}", script.display(), args.join(" "));
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("the node process is awaited")
        .expect("node runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (shown, output.status.code(), text)
}

/// Fails with the script's output unless every check holds.
async fn check(chromium: &Path, url: &str, args: Vec<String>) {
    let (shown, code, text) = script(chromium, url, args).await;
    print!("{text}");
    assert!(
        code == Some(0),
        "the browser checks failed: {shown}\nexited with {code:?}:\n{text}"
    );
}

/// Fails unless the script's checks fail (exit 1) naming each of `wanted`.
async fn check_fails(chromium: &Path, url: &str, args: Vec<String>, wanted: &[&str]) {
    let (shown, code, text) = script(chromium, url, args).await;
    assert!(
        code == Some(1),
        "{shown}\nshould have failed (exit 1), exited with {code:?}:\n{text}"
    );
    for want in wanted {
        assert!(
            text.contains(want),
            "{shown}\nshould report {want:?}:\n{text}"
        );
    }
}

fn bid_of(id: &str) -> &'static str {
    BIDS.iter()
        .find(|(b, _)| *b == id)
        .map(|(_, bid)| *bid)
        .expect("a bid")
}

fn key_of(id: &str) -> u8 {
    PROVIDERS
        .iter()
        .find(|p| p.0 == id)
        .map(|p| p.1)
        .expect("a provider")
}

/// `--round ID:PHASE:ROSTER:COMMITMENTS` for both rounds, `b1` in `phase`.
fn listed(phase: &str) -> Vec<String> {
    vec![
        "--round".into(),
        format!("b1:{phase}:5:5"),
        "--round".into(),
        "b2:commit:5:2".into(),
        "--page".into(),
        "b1".into(),
    ]
}

fn flags(flag: &str, values: impl IntoIterator<Item = String>) -> Vec<String> {
    values
        .into_iter()
        .flat_map(|value| [flag.to_owned(), value])
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_in_headless_chromium_list_rounds_keep_bids_sealed_and_show_the_outcome() {
    let Some(chromium) = browser() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let router = procura_server::app(sqlite_config(dir.path()))
        .await
        .expect("the app starts");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let client = Client::Tcp(address);
    let url = format!("http://{address}");

    // b1 runs through its phases; b2 has two commitments and stays sealed.
    for round in ["b1", "b2"] {
        accepted(
            &client,
            "/v1/rounds",
            signed(Kind::Open, &procurement_open(round), &buyer()),
        )
        .await;
    }
    let commit = |round: &str, id: &str, bid: &str| {
        let reveal = procurement_reveal(round, id, bid, key_of(id));
        let payload = format!(
            r#"{{"round":"{round}","id":"{id}","commitment":"{}"}}"#,
            commitment(&reveal)
        );
        signed(Kind::Commit, &payload, &key(key_of(id)))
    };
    for (id, ..) in PROVIDERS {
        accepted(
            &client,
            "/v1/rounds/b1/entries",
            commit("b1", id, bid_of(id)),
        )
        .await;
    }
    for (id, bid) in SEALED_BIDS {
        accepted(&client, "/v1/rounds/b2/entries", commit("b2", id, bid)).await;
    }
    let all_bids = || {
        flags(
            "--bid",
            BIDS.iter()
                .chain(&SEALED_BIDS)
                .map(|(_, bid)| (*bid).to_owned()),
        )
    };

    // The commit phase: only commitments exist.
    let mut args = vec!["sealed".to_owned()];
    args.extend(listed("commit"));
    args.extend(["--revealed".to_owned(), "none".to_owned()]);
    args.extend(all_bids());
    check(&chromium, &url, args).await;

    // The reveal phase with two of five reveals in: the server holds those
    // bids, and the pages must still not show them.
    let close = r#"{"round":"b1","phase":"commit"}"#;
    accepted(
        &client,
        "/v1/rounds/b1/entries",
        signed(Kind::Close, close, &buyer()),
    )
    .await;
    let reveal = |id: &str| {
        let payload = procurement_reveal("b1", id, bid_of(id), key_of(id));
        signed(Kind::Reveal, &payload, &key(key_of(id)))
    };
    let mut hidden = Vec::new();
    for id in ["acme", "corpus-co"] {
        let envelope = reveal(id);
        let value: serde_json::Value = serde_json::from_slice(&envelope).expect("json");
        hidden.push(value["payload"].as_str().expect("payload").to_owned());
        accepted(&client, "/v1/rounds/b1/entries", envelope).await;
    }
    let mut args = vec!["sealed".to_owned()];
    args.extend(listed("reveal"));
    args.extend(["--revealed".to_owned(), "acme,corpus-co".to_owned()]);
    args.extend(all_bids());
    args.extend(flags("--hidden", hidden));
    check(&chromium, &url, args).await;

    // Two more reveals (delta-labs never reveals), the close: cleared.
    for id in ["beta", "echo"] {
        accepted(&client, "/v1/rounds/b1/entries", reveal(id)).await;
    }
    let close = r#"{"round":"b1","phase":"reveal"}"#;
    accepted(
        &client,
        "/v1/rounds/b1/entries",
        signed(Kind::Close, close, &buyer()),
    )
    .await;
    let outcome = client.get("/v1/rounds/b1/outcome").await;
    assert_eq!(outcome.status, 200, "{}", outcome.text());
    let outcome = outcome.json();
    let payments: Vec<String> = outcome["payments"]
        .as_array()
        .expect("payments")
        .iter()
        .map(|p| format!("{}={}", p["id"].as_str().expect("id"), p["cash"]))
        .collect();
    assert!(!payments.is_empty(), "somebody wins: {outcome}");
    let winners: Vec<&str> = outcome["winners"]
        .as_array()
        .expect("winners")
        .iter()
        .map(|w| w.as_str().expect("id"))
        .collect();
    let mut args = vec!["cleared".to_owned()];
    args.extend(listed("cleared"));
    args.extend(["--winners".to_owned(), winners.join(",")]);
    args.extend([
        "--revealed".to_owned(),
        "acme,beta,corpus-co,echo".to_owned(),
    ]);
    args.extend(flags("--payment", payments));
    args.extend(["--total-cash".to_owned(), outcome["total_cash"].to_string()]);
    // b2 is still in its commit phase: its bids stay out of the pages.
    args.extend(flags(
        "--bid",
        SEALED_BIDS.iter().map(|(_, bid)| (*bid).to_owned()),
    ));
    check(&chromium, &url, args).await;

    // The checks can fail: a number the cleared page shows, looked for as
    // if it were a sealed bid, is found in both the text and the HTML.
    let paid = outcome["payments"][0]["cash"].to_string();
    let mut args = vec!["sealed".to_owned()];
    args.extend(listed("cleared"));
    args.extend(["--bid".to_owned(), paid.clone()]);
    check_fails(
        &chromium,
        &url,
        args,
        &[
            &format!("/rounds/b1: the bid {paid} is in the page's text"),
            &format!("/rounds/b1: the bid {paid} is in the page's HTML"),
            "/rounds/b1: an outcome is shown before the round is cleared",
        ],
    )
    .await;
    server.abort();
}
