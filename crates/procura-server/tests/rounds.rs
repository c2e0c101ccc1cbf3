//! Whole rounds through HTTP: a procurement round and a threshold round
//! under each protocol; every final transcript verifies with
//! `procura_market::transcript::verify` and every receipt checks against
//! it. One round runs over a real loopback port.

mod common;

use common::*;
use procura_market::Kind;

#[tokio::test]
async fn a_procurement_round_clears_as_the_worked_example() {
    let dir = tempfile::tempdir().expect("tempdir");
    let client = start(sqlite_config(dir.path())).await;
    let receipts = run_procurement(&client, "r1").await;
    assert_eq!(receipts.len(), 13);
    let verified = verify_all(&client, "r1", &receipts).await;
    assert_eq!(
        verified.summary(),
        "valid: round r1, mechanism qmia, phase cleared, 13 entries\n\
         winners: corpus-co, acme, beta\ntotal paid: 8.48\n"
    );
    let outcome = client.get("/v1/rounds/r1/outcome").await;
    assert_eq!(outcome.status, 200);
    assert_eq!(outcome.json()["total_cash"], 8.48);
    let status = client.get("/v1/rounds/r1").await.json();
    assert_eq!(status["phase"], "cleared");
    assert_eq!(
        status["revealed"],
        serde_json::json!(["acme", "beta", "corpus-co", "echo"])
    );
    // The round is over: nothing more is accepted.
    let close = r#"{"round":"r1","phase":"reveal"}"#;
    let answer = client
        .post("/v1/rounds/r1/entries", signed(Kind::Close, close, &key(7)))
        .await;
    assert_eq!(answer.status, 403);
}

#[tokio::test]
async fn threshold_rounds_settle_under_every_protocol() {
    let dir = tempfile::tempdir().expect("tempdir");
    let client = start(sqlite_config(dir.path())).await;
    for protocol in ["simultaneous", "small-first", "large-first"] {
        let round = format!("t-{protocol}");
        let receipts = run_threshold(&client, &round, protocol).await;
        assert_eq!(receipts.len(), 20, "{protocol}");
        let verified = verify_all(&client, &round, &receipts).await;
        assert_eq!(verified.round().phase().name(), "settled");
        let settled = verified.round().settlement_entry().expect("settled");
        assert!(settled.trained, "{protocol}");
        assert_eq!(settled.collected, 6.0);
        let status = client.get(&format!("/v1/rounds/{round}")).await.json();
        assert_eq!(status["phase"], "settled");
        assert_eq!(status["decided"].as_array().map(Vec::len), Some(4));
    }
}

#[tokio::test]
async fn sequential_decisions_out_of_turn_are_refused_and_simultaneous_ones_sealed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let client = start(sqlite_config(dir.path())).await;
    for protocol in ["small-first", "simultaneous"] {
        let round = format!("t-{protocol}");
        accepted(
            &client,
            "/v1/rounds",
            signed(Kind::Open, &threshold_open(&round, protocol), &buyer()),
        )
        .await;
        let entries = format!("/v1/rounds/{round}/entries");
        for (id, n, _, _, cost) in USERS {
            let reveal = threshold_reveal(&round, id, cost, n);
            let commit = format!(
                r#"{{"round":"{round}","id":"{id}","commitment":"{}"}}"#,
                commitment(&reveal)
            );
            accepted(&client, &entries, signed(Kind::Commit, &commit, &key(n))).await;
        }
        let close = format!(r#"{{"round":"{round}","phase":"commit"}}"#);
        accepted(&client, &entries, signed(Kind::Close, &close, &buyer())).await;
        for (id, n, _, _, cost) in USERS {
            let reveal = threshold_reveal(&round, id, cost, n);
            accepted(&client, &entries, signed(Kind::Reveal, &reveal, &key(n))).await;
        }
        let close = format!(r#"{{"round":"{round}","phase":"reveal"}}"#);
        accepted(&client, &entries, signed(Kind::Close, &close, &buyer())).await;
        let order = decision_order(&client, &round, protocol).await;
        let last = order.last().expect("assigned").clone();
        let n = USERS
            .iter()
            .find(|u| u.0 == last)
            .map(|u| u.1)
            .expect("user");
        let decide = format!(r#"{{"round":"{round}","id":"{last}","decision":"stay"}}"#);
        let answer = client
            .post(&entries, signed(Kind::Decide, &decide, &key(n)))
            .await;
        if protocol == "small-first" {
            assert_eq!(answer.status, 409, "{}", answer.text());
            assert!(answer.json()["error"]
                .as_str()
                .expect("error")
                .contains("turn"));
        } else {
            assert_eq!(answer.status, 201, "{}", answer.text());
            let transcript = transcript_of(&client, &round).await;
            let sealed = transcript.entries.last().expect("entries");
            assert!(
                sealed.get("leaf_hash").is_some(),
                "a simultaneous decision is sealed: {sealed}"
            );
            // A second decision by the same user.
            let again = decide.replace("stay", "withdraw");
            assert_eq!(
                client
                    .post(&entries, signed(Kind::Decide, &again, &key(n)))
                    .await
                    .status,
                409
            );
        }
        // u5 is not assigned (cost 2.8 over the reserve price): 403.
        let u5 = format!(r#"{{"round":"{round}","id":"u5","decision":"stay"}}"#);
        assert_eq!(
            client
                .post(&entries, signed(Kind::Decide, &u5, &key(25)))
                .await
                .status,
            403
        );
    }
}

#[tokio::test]
async fn a_round_runs_over_a_loopback_port() {
    let dir = tempfile::tempdir().expect("tempdir");
    let router = procura_server::app(sqlite_config(dir.path()))
        .await
        .expect("app");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let client = Client::Tcp(address);
    let receipts = run_threshold(&client, "t1", "small-first").await;
    verify_all(&client, "t1", &receipts).await;
    let page = client.get("/").await;
    assert_eq!(page.status, 200);
    assert!(page.text().contains("settled"));
    server.abort();
}
