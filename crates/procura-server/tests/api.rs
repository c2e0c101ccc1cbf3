//! Every endpoint of §C.5 through the router (`oneshot`), with every
//! status code it can answer, sealing, proofs, the operator, the OpenAPI
//! document and the HTML pages.

mod common;

use base64::Engine as _;
use common::*;
use procura_market::merkle::{verify_consistency, verify_inclusion, Hash};
use procura_market::{Envelope, Kind};
use serde_json::Value;

async fn server() -> (tempfile::TempDir, Client) {
    let dir = tempfile::tempdir().expect("tempdir");
    let client = start(sqlite_config(dir.path())).await;
    (dir, client)
}

fn hash(text: &Value) -> Hash {
    procura_market::envelope::parse_hex32(text.as_str().expect("hex")).expect("hex")
}

#[tokio::test]
async fn opens_are_created_or_refused_with_the_status_of_c5() {
    let (_dir, client) = server().await;
    let open = procurement_open("r1");
    // 400: not an envelope, bad base64, a payload that is not an object,
    // a commit where an open is due, an operator that is not the server.
    let answer = client.post("/v1/rounds", b"not json".to_vec()).await;
    assert_eq!(answer.status, 400);
    assert!(
        answer.error().contains("not a DSSE envelope"),
        "{}",
        answer.error()
    );
    let mut value: Value =
        serde_json::from_slice(&signed(Kind::Open, &open, &buyer())).expect("json");
    value["payload"] = "e30".into();
    let answer = client
        .post("/v1/rounds", value.to_string().into_bytes())
        .await;
    assert_eq!(answer.status, 400);
    assert!(
        answer
            .error()
            .contains("payload is not canonical standard base64"),
        "{}",
        answer.error()
    );
    let answer = client
        .post("/v1/rounds", signed(Kind::Open, "[1,2]", &buyer()))
        .await;
    assert_eq!(answer.status, 400, "{}", answer.text());
    assert!(
        answer.error().contains("open payload is not valid"),
        "{}",
        answer.error()
    );
    let answer = client
        .post(
            "/v1/rounds",
            signed(
                Kind::Commit,
                r#"{"round":"r1","id":"a","commitment":"00"}"#,
                &buyer(),
            ),
        )
        .await;
    assert_eq!(answer.status, 400);
    assert!(
        answer.error().starts_with("payloadType"),
        "{}",
        answer.error()
    );
    let with_operator = {
        let mut payload: Value = serde_json::from_str(&open).expect("json");
        payload["operator"] = key_id(&key(99)).into();
        payload.to_string()
    };
    let answer = client
        .post("/v1/rounds", signed(Kind::Open, &with_operator, &buyer()))
        .await;
    assert_eq!(answer.status, 400);
    assert!(
        answer.error().starts_with("operator:"),
        "{}",
        answer.error()
    );
    // 400: an instance that breaks a rule.
    let bad = open.replace(r#""budget":10.0"#, r#""budget":-1.0"#);
    let answer = client
        .post("/v1/rounds", signed(Kind::Open, &bad, &buyer()))
        .await;
    assert_eq!(answer.status, 400, "{}", answer.text());
    // 401: a bad signature.
    let mut value: Value =
        serde_json::from_slice(&signed(Kind::Open, &open, &buyer())).expect("json");
    value["signatures"][0]["keyid"] = key_id(&key(3)).into();
    let answer = client
        .post("/v1/rounds", value.to_string().into_bytes())
        .await;
    assert_eq!(answer.status, 401);
    assert!(
        answer.error().contains("does not verify"),
        "{}",
        answer.error()
    );
    // 201, then 409 for the same id (even with other bytes).
    let opened = accepted(&client, "/v1/rounds", signed(Kind::Open, &open, &buyer())).await;
    assert_eq!(opened["round"], "r1");
    assert_eq!(opened["receipt"]["index"], 0);
    let answer = client
        .post("/v1/rounds", signed(Kind::Open, &open, &key(3)))
        .await;
    assert_eq!(answer.status, 409);
    assert!(
        answer.error().contains("already exists"),
        "{}",
        answer.error()
    );
    // The operator named explicitly is fine when it is the server.
    let operator = client.get("/v1/operator").await.json();
    assert_eq!(operator["name"], "procura.example");
    let mut payload: Value = serde_json::from_str(&procurement_open("r2")).expect("json");
    payload["operator"] = operator["key"].clone();
    accepted(
        &client,
        "/v1/rounds",
        signed(Kind::Open, &payload.to_string(), &buyer()),
    )
    .await;
    // 413: a body over 64 MiB.
    let answer = client
        .post(
            "/v1/rounds",
            vec![b' '; procura_server::OPEN_BODY_LIMIT + 1],
        )
        .await;
    assert_eq!(answer.status, 413);
    assert!(answer.error().starts_with("body:"), "{}", answer.error());
}

#[tokio::test]
async fn the_number_of_rounds_is_limited() {
    let dir = tempfile::tempdir().expect("tempdir");
    let client = start(sqlite_config(dir.path()).with_max_rounds(1).expect("valid")).await;
    accepted(
        &client,
        "/v1/rounds",
        signed(Kind::Open, &procurement_open("a"), &buyer()),
    )
    .await;
    let answer = client
        .post(
            "/v1/rounds",
            signed(Kind::Open, &procurement_open("b"), &buyer()),
        )
        .await;
    assert_eq!(answer.status, 413);
    assert!(
        answer.error().contains("limit of 1 rounds"),
        "{}",
        answer.error()
    );
}

#[tokio::test]
async fn entries_are_refused_with_the_status_of_c5() {
    let (_dir, client) = server().await;
    accepted(
        &client,
        "/v1/rounds",
        signed(Kind::Open, &procurement_open("r1"), &buyer()),
    )
    .await;
    let entries = "/v1/rounds/r1/entries";
    let reveal = procurement_reveal("r1", "acme", "2.0", 11);
    let commit = format!(
        r#"{{"round":"r1","id":"acme","commitment":"{}"}}"#,
        commitment(&reveal)
    );
    // 404: an unknown round, for a post and a get.
    let answer = client
        .post(
            "/v1/rounds/nope/entries",
            signed(Kind::Commit, &commit, &key(11)),
        )
        .await;
    assert_eq!(answer.status, 404);
    assert!(answer.error().starts_with("round:"), "{}", answer.error());
    for path in [
        "/v1/rounds/nope",
        "/v1/rounds/nope/transcript",
        "/v1/rounds/nope/outcome",
        "/v1/rounds/%3Cx%3E",
    ] {
        assert_eq!(client.get(path).await.status, 404, "{path}");
    }
    // 400: malformed, bad base64, payload not an object, another round.
    assert_eq!(client.post(entries, b"{}".to_vec()).await.status, 400);
    let mut value: Value =
        serde_json::from_slice(&signed(Kind::Commit, &commit, &key(11))).expect("json");
    value["signatures"][0]["sig"] = "!!!".into();
    let answer = client.post(entries, value.to_string().into_bytes()).await;
    assert_eq!(answer.status, 400);
    assert!(
        answer.error().contains("signatures[0].sig"),
        "{}",
        answer.error()
    );
    let answer = client
        .post(entries, signed(Kind::Commit, "\"text\"", &key(11)))
        .await;
    assert_eq!(answer.status, 400);
    let answer = client
        .post(
            entries,
            signed(
                Kind::Commit,
                &commit.replace(r#""round":"r1""#, r#""round":"r2""#),
                &key(11),
            ),
        )
        .await;
    assert_eq!(answer.status, 400);
    assert!(answer.error().starts_with("round:"), "{}", answer.error());
    // 401: a signature that does not verify.
    let mut value: Value =
        serde_json::from_slice(&signed(Kind::Commit, &commit, &key(11))).expect("json");
    value["signatures"][0]["keyid"] = key_id(&key(12)).into();
    assert_eq!(
        client
            .post(entries, value.to_string().into_bytes())
            .await
            .status,
        401
    );
    // 403: an outsider, the wrong signer, an operator's kind of entry.
    let outsider = commit.replace("acme", "mallory");
    let answer = client
        .post(entries, signed(Kind::Commit, &outsider, &key(40)))
        .await;
    assert_eq!(answer.status, 403);
    assert!(
        answer.error().contains("not in the roster"),
        "{}",
        answer.error()
    );
    let answer = client
        .post(entries, signed(Kind::Commit, &commit, &key(12)))
        .await;
    assert_eq!(answer.status, 403);
    let answer = client
        .post(
            entries,
            signed(Kind::Outcome, r#"{"round":"r1","outcome":{}}"#, &buyer()),
        )
        .await;
    assert_eq!(answer.status, 403);
    assert!(
        answer.error().contains("written by the server"),
        "{}",
        answer.error()
    );
    let answer = client
        .post(
            entries,
            signed(Kind::Open, &procurement_open("r1"), &buyer()),
        )
        .await;
    assert_eq!(answer.status, 403);
    // 409: a reveal in the commit phase, the same entry twice.
    assert_eq!(
        client
            .post(entries, signed(Kind::Reveal, &reveal, &key(11)))
            .await
            .status,
        409
    );
    accepted(&client, entries, signed(Kind::Commit, &commit, &key(11))).await;
    let answer = client
        .post(entries, signed(Kind::Commit, &commit, &key(11)))
        .await;
    assert_eq!(answer.status, 409);
    assert!(
        answer.error().contains("already in the round's log"),
        "{}",
        answer.error()
    );
    let beta = procurement_reveal("r1", "beta", "3.0", 12);
    let beta_commit = format!(
        r#"{{"round":"r1","id":"beta","commitment":"{}"}}"#,
        commitment(&beta)
    );
    accepted(
        &client,
        entries,
        signed(Kind::Commit, &beta_commit, &key(12)),
    )
    .await;
    // 403: a close by someone else than the buyer.
    let close = r#"{"round":"r1","phase":"commit"}"#;
    assert_eq!(
        client
            .post(entries, signed(Kind::Close, close, &key(11)))
            .await
            .status,
        403
    );
    accepted(&client, entries, signed(Kind::Close, close, &buyer())).await;
    // 409: a commit after the close, a mismatching reveal, a second reveal,
    // a reveal of one who never committed.
    let late = commit.replace(&commitment(&reveal), &"ab".repeat(32));
    assert_eq!(
        client
            .post(entries, signed(Kind::Commit, &late, &key(11)))
            .await
            .status,
        409
    );
    let other_bid = procurement_reveal("r1", "acme", "2.5", 11);
    let answer = client
        .post(entries, signed(Kind::Reveal, &other_bid, &key(11)))
        .await;
    assert_eq!(answer.status, 409);
    assert!(
        answer.error().contains("does not match"),
        "{}",
        answer.error()
    );
    accepted(&client, entries, signed(Kind::Reveal, &reveal, &key(11))).await;
    let answer = client
        .post(
            entries,
            signed(
                Kind::Reveal,
                &reveal.replace("\"bid\":2.0", "\"bid\":2.00"),
                &key(11),
            ),
        )
        .await;
    assert_eq!(answer.status, 409);
    assert!(
        answer.error().contains("already revealed"),
        "{}",
        answer.error()
    );
    let echo = procurement_reveal("r1", "echo", "1.0", 15);
    assert_eq!(
        client
            .post(entries, signed(Kind::Reveal, &echo, &key(15)))
            .await
            .status,
        409
    );
    // 409: the outcome before the reveal phase closes.
    let answer = client.get("/v1/rounds/r1/outcome").await;
    assert_eq!(answer.status, 409);
    assert!(answer.error().starts_with("outcome:"), "{}", answer.error());
    // 413: an entry body over 64 KiB.
    let answer = client
        .post(entries, vec![b' '; procura_server::ENTRY_BODY_LIMIT + 1])
        .await;
    assert_eq!(answer.status, 413);
    // A decide in a procurement round: 409 (no decide phase).
    let decide = r#"{"round":"r1","id":"acme","decision":"stay"}"#;
    assert_eq!(
        client
            .post(entries, signed(Kind::Decide, decide, &key(11)))
            .await
            .status,
        409
    );
    // Nothing refused was stored.
    let status = client.get("/v1/rounds/r1").await.json();
    assert_eq!(status["size"], 5);
    assert_eq!(status["phase"], "reveal");
    assert_eq!(status["committed"], serde_json::json!(["acme", "beta"]));
    assert_eq!(status["revealed"], serde_json::json!(["acme"]));
    assert_eq!(status["decided"], serde_json::json!([]));
    assert_eq!(status["mechanism"], "qmia");
}

#[tokio::test]
async fn reveals_are_sealed_until_the_reveal_phase_closes() {
    let (_dir, client) = server().await;
    accepted(
        &client,
        "/v1/rounds",
        signed(Kind::Open, &procurement_open("r1"), &buyer()),
    )
    .await;
    let entries = "/v1/rounds/r1/entries";
    let reveal = procurement_reveal("r1", "acme", "2.0", 11);
    let commit = format!(
        r#"{{"round":"r1","id":"acme","commitment":"{}"}}"#,
        commitment(&reveal)
    );
    accepted(&client, entries, signed(Kind::Commit, &commit, &key(11))).await;
    accepted(
        &client,
        entries,
        signed(Kind::Close, r#"{"round":"r1","phase":"commit"}"#, &buyer()),
    )
    .await;
    let receipt = accepted(&client, entries, signed(Kind::Reveal, &reveal, &key(11))).await;
    let transcript = transcript_of(&client, "r1").await;
    assert_eq!(transcript.entries.len(), 4);
    let sealed = &transcript.entries[3];
    assert_eq!(sealed.as_object().map(|o| o.len()), Some(1), "{sealed}");
    assert_eq!(sealed["leaf_hash"], receipt["leaf_hash"]);
    let envelope = Envelope::parse(&signed(Kind::Reveal, &reveal, &key(11))).expect("envelope");
    assert_eq!(sealed["leaf_hash"], hex::encode(envelope.leaf_hash()));
    // The sealed transcript verifies as far as it goes.
    let verified = procura_market::transcript::verify(&transcript).expect("verifies");
    assert_eq!(verified.sealed(), 1);
    assert!(!transcript_text(&client)
        .await
        .contains(&base64::engine::general_purpose::STANDARD.encode(&reveal)));
    let closed = accepted(
        &client,
        entries,
        signed(Kind::Close, r#"{"round":"r1","phase":"reveal"}"#, &buyer()),
    )
    .await;
    assert_eq!(closed["index"], 4);
    assert_eq!(closed["then"]["index"], 5);
    let transcript = transcript_of(&client, "r1").await;
    assert_eq!(transcript.entries[3], envelope.to_value());
    let outcome = client.get("/v1/rounds/r1/outcome").await;
    assert_eq!(outcome.status, 200);
    assert_eq!(outcome.json()["winners"], serde_json::json!(["acme"]));
}

async fn transcript_text(client: &Client) -> String {
    client.get("/v1/rounds/r1/transcript").await.text()
}

#[tokio::test]
async fn proofs_verify_and_out_of_range_requests_are_refused() {
    let (_dir, client) = server().await;
    let receipts = run_procurement(&client, "r1").await;
    let transcript = transcript_of(&client, "r1").await;
    let leaves: Vec<Hash> = transcript
        .entries
        .iter()
        .map(|e| {
            Envelope::from_value(e.clone())
                .expect("envelope")
                .leaf_hash()
        })
        .collect();
    let tree = procura_market::merkle::Tree::from_leaves(leaves.iter().copied());
    let size = leaves.len() as u64;
    assert_eq!(receipts.len() as u64, size);
    for index in [0, 3, size - 1] {
        let answer = client
            .get(&format!(
                "/v1/rounds/r1/proof/inclusion?index={index}&size={size}"
            ))
            .await;
        assert_eq!(answer.status, 200);
        let proof: Vec<Hash> = answer.json()["proof"]
            .as_array()
            .expect("array")
            .iter()
            .map(hash)
            .collect();
        verify_inclusion(index, size, &leaves[index as usize], &proof, &tree.root())
            .expect("verifies");
    }
    for from in [1, 4, size] {
        let answer = client
            .get(&format!(
                "/v1/rounds/r1/proof/consistency?from={from}&to={size}"
            ))
            .await;
        assert_eq!(answer.status, 200);
        let proof: Vec<Hash> = answer.json()["proof"]
            .as_array()
            .expect("array")
            .iter()
            .map(hash)
            .collect();
        verify_consistency(
            from,
            size,
            &proof,
            &tree.root_at(from).expect("root"),
            &tree.root(),
        )
        .expect("verifies");
    }
    for path in [
        format!("/v1/rounds/r1/proof/inclusion?index={size}&size={size}"),
        format!("/v1/rounds/r1/proof/inclusion?index=0&size={}", size + 1),
        "/v1/rounds/r1/proof/inclusion?index=0".to_owned(),
        "/v1/rounds/r1/proof/inclusion?index=x&size=1".to_owned(),
        format!("/v1/rounds/r1/proof/consistency?from=3&to={}", size + 1),
        "/v1/rounds/r1/proof/consistency?from=3&to=2".to_owned(),
        "/v1/rounds/r1/proof/consistency".to_owned(),
    ] {
        let answer = client.get(&path).await;
        assert_eq!(answer.status, 400, "{path}: {}", answer.text());
        assert!(!answer.error().is_empty());
    }
    assert_eq!(
        client
            .get("/v1/rounds/zz/proof/inclusion?index=0&size=1")
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn the_openapi_document_lists_every_route_and_every_listed_route_answers() {
    let (_dir, client) = server().await;
    let answer = client.get("/openapi.json").await;
    assert_eq!(answer.status, 200);
    let document = answer.json();
    assert!(
        document["openapi"]
            .as_str()
            .expect("version")
            .starts_with("3.1"),
        "{}",
        document["openapi"]
    );
    let routes = [
        ("post", "/v1/rounds"),
        ("post", "/v1/rounds/{round}/entries"),
        ("get", "/v1/rounds/{round}"),
        ("get", "/v1/rounds/{round}/outcome"),
        ("get", "/v1/rounds/{round}/transcript"),
        ("get", "/v1/rounds/{round}/proof/consistency"),
        ("get", "/v1/rounds/{round}/proof/inclusion"),
        ("get", "/v1/operator"),
        ("get", "/openapi.json"),
        ("get", "/"),
        ("get", "/rounds/{round}"),
    ];
    let paths = document["paths"].as_object().expect("paths");
    let mut documented = 0;
    for (path, item) in paths {
        for method in item.as_object().expect("item").keys() {
            documented += 1;
            assert!(
                routes.contains(&(method.as_str(), path.as_str())),
                "{method} {path} is documented but not expected"
            );
        }
    }
    assert_eq!(documented, routes.len());
    for (method, path) in routes {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} is not documented"
        );
        // The router answers it: anything but the fallback's 404 or a 405.
        let concrete = path.replace("{round}", "r1");
        let answer = client
            .call(&method.to_uppercase(), &concrete, Some(Vec::new()))
            .await;
        assert_ne!(answer.status, 405, "{method} {path}");
        if answer.status == 404 {
            assert!(
                !answer.text().contains("no such endpoint"),
                "{method} {path} is not routed"
            );
        }
    }
    let answer = client.get("/v2/nothing").await;
    assert_eq!(answer.status, 404);
    assert!(answer.error().contains("no such endpoint"));
    assert!(procura_server::openapi_json().contains("/v1/rounds/{round}/entries"));
}

#[tokio::test]
async fn the_pages_list_rounds_and_show_outcomes_escaped() {
    let (_dir, client) = server().await;
    let page = client.get("/").await;
    assert_eq!(page.status, 200);
    assert!(page.text().contains("No rounds yet"));
    // A roster id with markup in it.
    let open = procurement_open("r1").replace("\"echo\"", "\"<b>echo</b>\"");
    accepted(&client, "/v1/rounds", signed(Kind::Open, &open, &buyer())).await;
    let entries = "/v1/rounds/r1/entries";
    let reveal = procurement_reveal("r1", "<b>echo</b>", "1.5", 15);
    let commit = format!(
        r#"{{"round":"r1","id":"<b>echo</b>","commitment":"{}"}}"#,
        commitment(&reveal)
    );
    accepted(&client, entries, signed(Kind::Commit, &commit, &key(15))).await;
    let page = client.get("/").await.text();
    assert!(page.contains("<a href=\"/rounds/r1\">r1</a>"), "{page}");
    assert!(
        page.contains("<td>commit</td><td>5</td><td>1</td>"),
        "{page}"
    );
    accepted(
        &client,
        entries,
        signed(Kind::Close, r#"{"round":"r1","phase":"commit"}"#, &buyer()),
    )
    .await;
    accepted(&client, entries, signed(Kind::Reveal, &reveal, &key(15))).await;
    let page = client.get("/rounds/r1").await.text();
    assert!(!page.contains("1.5"), "no bid before the close: {page}");
    assert!(page.contains("The current transcript verifies"), "{page}");
    assert!(!page.contains("<h2>Outcome</h2>"));
    accepted(
        &client,
        entries,
        signed(Kind::Close, r#"{"round":"r1","phase":"reveal"}"#, &buyer()),
    )
    .await;
    let page = client.get("/rounds/r1").await;
    assert_eq!(page.status, 200);
    let page = page.text();
    assert!(page.contains("<h2>Outcome</h2>"), "{page}");
    assert!(page.contains("&lt;b&gt;echo&lt;/b&gt;"), "{page}");
    assert!(!page.contains("<b>echo"), "{page}");
    assert!(page.contains("phase cleared"), "{page}");
    let missing = client.get("/rounds/nope").await;
    assert_eq!(missing.status, 404);
    assert!(missing.text().contains("<!DOCTYPE html>"));
}
