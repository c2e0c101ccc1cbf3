//! Shared helpers of the server's tests: a client that runs requests
//! through the router (`oneshot`) or over a loopback TCP port, signed
//! envelopes, and whole rounds driven through HTTP.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::path::Path;

use axum::body::Body;
use axum::http::Request;
use ed25519_dalek::SigningKey;
use http_body_util::BodyExt as _;
use procura_market::transcript::{self, Transcript, Verified};
use procura_market::{Envelope, Kind, Receipt};
use procura_server::Config;
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tower::ServiceExt as _;

/// An answer: status and body bytes.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {}", self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The `error` message of a JSON error body.
    pub fn error(&self) -> String {
        self.json()["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error message: {}", self.text()))
            .to_owned()
    }
}

/// Where requests go.
#[derive(Debug, Clone)]
pub enum Client {
    Router(axum::Router),
    Tcp(SocketAddr),
}

impl Client {
    pub async fn call(&self, method: &str, path: &str, body: Option<Vec<u8>>) -> Answer {
        match self {
            Client::Router(router) => {
                let request = Request::builder()
                    .method(method)
                    .uri(path)
                    .header("content-type", "application/json")
                    .body(Body::from(body.unwrap_or_default()))
                    .expect("a request");
                let response = router.clone().oneshot(request).await.expect("infallible");
                let status = response.status().as_u16();
                let body = response
                    .into_body()
                    .collect()
                    .await
                    .expect("a body")
                    .to_bytes()
                    .to_vec();
                Answer { status, body }
            }
            Client::Tcp(address) => tcp(*address, method, path, body.unwrap_or_default()).await,
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.call("GET", path, None).await
    }

    pub async fn post(&self, path: &str, body: Vec<u8>) -> Answer {
        self.call("POST", path, Some(body)).await
    }
}

/// A minimal HTTP/1.1 exchange with `Connection: close`.
async fn tcp(address: SocketAddr, method: &str, path: &str, body: Vec<u8>) -> Answer {
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    stream.write_all(&body).await.expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    let mut body = raw[split + 4..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let line_end = rest
                .windows(2)
                .position(|w| w == b"\r\n")
                .expect("chunk size");
            let size = usize::from_str_radix(
                std::str::from_utf8(&rest[..line_end]).expect("utf8").trim(),
                16,
            )
            .expect("hex size");
            if size == 0 {
                break;
            }
            out.extend_from_slice(&rest[line_end + 2..line_end + 2 + size]);
            rest = &rest[line_end + 4 + size..];
        }
        body = out;
    }
    Answer { status, body }
}

pub fn key(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n; 32])
}

pub fn key_id(key: &SigningKey) -> String {
    hex::encode(key.verifying_key().as_bytes())
}

/// The leaf bytes of an envelope of `kind` over `payload`, signed by `key`.
pub fn signed(kind: Kind, payload: &str, key: &SigningKey) -> Vec<u8> {
    Envelope::sign(kind, payload.as_bytes().to_vec(), key)
        .leaf_bytes()
        .into_bytes()
}

pub fn nonce(n: u8) -> String {
    hex::encode([n; 32])
}

/// Hex of the commitment to a reveal payload.
pub fn commitment(reveal: &str) -> String {
    hex::encode(procura_market::payload::commitment(reveal.as_bytes()))
}

pub fn sqlite_config(dir: &Path) -> Config {
    Config::new(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        format!("sqlite://{}", dir.join("market.sqlite").display()),
        dir.join("operator.key"),
        "procura.example",
    )
    .expect("a valid config")
}

pub async fn start(config: Config) -> Client {
    Client::Router(procura_server::app(config).await.expect("the app starts"))
}

/// The buyer's key.
pub fn buyer() -> SigningKey {
    key(2)
}

/// A procurement round's providers: (id, key, quality, utility, volume).
pub const PROVIDERS: [(&str, u8, f64, f64, f64); 5] = [
    ("acme", 11, 0.9, 1.5, 1200.0),
    ("beta", 12, 0.8, 2.0, 800.0),
    ("corpus-co", 13, 0.95, 0.8, 400.0),
    ("delta-labs", 14, 0.6, 1.2, 900.0),
    ("echo", 15, 0.7, 2.5, 300.0),
];

/// The open payload of a procurement round (the instance of the worked
/// example `r1`, with these tests' keys).
pub fn procurement_open(round: &str) -> String {
    let roster: Vec<String> = PROVIDERS
        .iter()
        .map(|(id, n, quality, utility, volume)| {
            format!(
                r#"{{"id":"{id}","key":"{}","quality":{quality},"utility":{utility},"volume":{volume}}}"#,
                key_id(&key(*n))
            )
        })
        .collect();
    format!(
        r#"{{"round":"{round}","mechanism":"qmia","instance":{{"budget":10.0}},"roster":[{}]}}"#,
        roster.join(",")
    )
}

pub fn procurement_reveal(round: &str, id: &str, bid: &str, n: u8) -> String {
    format!(
        r#"{{"round":"{round}","id":"{id}","bid":{bid},"nonce":"{}"}}"#,
        nonce(n)
    )
}

/// Users of a threshold round: (id, key, capacity, benefit, cost).
pub const USERS: [(&str, u8, f64, f64, &str); 5] = [
    ("u1", 21, 2.0, 0.5, "1.0"),
    ("u2", 22, 1.5, 0.2, "0.5"),
    ("u3", 23, 3.0, 0.0, "2.0"),
    ("u4", 24, 2.5, 0.4, "1.5"),
    ("u5", 25, 1.0, 0.1, "2.8"),
];

pub fn threshold_open(round: &str, protocol: &str) -> String {
    let roster: Vec<String> = USERS
        .iter()
        .map(|(id, n, capacity, benefit, _)| {
            format!(
                r#"{{"id":"{id}","key":"{}","capacity":{capacity},"benefit":{benefit}}}"#,
                key_id(&key(*n))
            )
        })
        .collect();
    format!(
        r#"{{"round":"{round}","mechanism":"withdrawal","instance":{{"threshold":6.0,"reserve_price":3.0,"budget":100.0,"slack":0.25,"reversibility":0.5,"shock_mean":0.5,"protocol":"{protocol}"}},"roster":[{}]}}"#,
        roster.join(",")
    )
}

pub fn threshold_reveal(round: &str, id: &str, cost: &str, n: u8) -> String {
    format!(
        r#"{{"round":"{round}","id":"{id}","cost":{cost},"nonce":"{}"}}"#,
        nonce(n)
    )
}

/// Posts and expects 201; returns the body.
pub async fn accepted(client: &Client, path: &str, body: Vec<u8>) -> Value {
    let answer = client.post(path, body).await;
    assert_eq!(answer.status, 201, "{path}: {}", answer.text());
    answer.json()
}

/// Collects the receipts of an entry's answer (and its `then`).
pub fn receipts_of(body: &Value, into: &mut Vec<Receipt>) {
    let mut body = body.clone();
    let then = body.as_object_mut().and_then(|o| o.remove("then"));
    let receipt = body.get("receipt").cloned().unwrap_or(body);
    into.push(serde_json::from_value(receipt).expect("a receipt"));
    if let Some(then) = then {
        into.push(serde_json::from_value(then).expect("a receipt"));
    }
}

pub async fn transcript_of(client: &Client, round: &str) -> Transcript {
    let answer = client.get(&format!("/v1/rounds/{round}/transcript")).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    serde_json::from_slice(&answer.body).expect("a transcript")
}

/// Verifies the served transcript and every receipt against it.
pub async fn verify_all(client: &Client, round: &str, receipts: &[Receipt]) -> Verified {
    let transcript = transcript_of(client, round).await;
    let verified =
        transcript::verify(&transcript).unwrap_or_else(|failure| panic!("{round}: {failure}"));
    for receipt in receipts {
        verified
            .check_receipt(receipt)
            .unwrap_or_else(|error| panic!("{round}: receipt {}: {error}", receipt.index));
    }
    verified
}

/// Commits for every provider, closes, reveals for all but delta-labs,
/// closes; returns the receipts. The worked example's bids.
pub async fn run_procurement(client: &Client, round: &str) -> Vec<Receipt> {
    let mut receipts = Vec::new();
    let opened = accepted(
        client,
        "/v1/rounds",
        signed(Kind::Open, &procurement_open(round), &buyer()),
    )
    .await;
    assert_eq!(opened["round"], round);
    receipts_of(&opened, &mut receipts);
    let entries = format!("/v1/rounds/{round}/entries");
    let bids = [
        ("acme", "2.0"),
        ("beta", "3.5"),
        ("corpus-co", "1.0"),
        ("delta-labs", "2.5"),
        ("echo", "4.0"),
    ];
    for (id, n, ..) in PROVIDERS {
        let bid = bids
            .iter()
            .find(|(b, _)| *b == id)
            .map(|(_, bid)| *bid)
            .expect("a bid");
        let reveal = procurement_reveal(round, id, bid, n);
        let commit = format!(
            r#"{{"round":"{round}","id":"{id}","commitment":"{}"}}"#,
            commitment(&reveal)
        );
        receipts_of(
            &accepted(client, &entries, signed(Kind::Commit, &commit, &key(n))).await,
            &mut receipts,
        );
    }
    let close = format!(r#"{{"round":"{round}","phase":"commit"}}"#);
    receipts_of(
        &accepted(client, &entries, signed(Kind::Close, &close, &buyer())).await,
        &mut receipts,
    );
    for (id, n, ..) in PROVIDERS {
        if id == "delta-labs" {
            continue;
        }
        let bid = bids
            .iter()
            .find(|(b, _)| *b == id)
            .map(|(_, bid)| *bid)
            .expect("a bid");
        let reveal = procurement_reveal(round, id, bid, n);
        receipts_of(
            &accepted(client, &entries, signed(Kind::Reveal, &reveal, &key(n))).await,
            &mut receipts,
        );
    }
    let close = format!(r#"{{"round":"{round}","phase":"reveal"}}"#);
    let closed = accepted(client, &entries, signed(Kind::Close, &close, &buyer())).await;
    assert!(
        closed.get("then").is_some(),
        "the outcome entry follows the close"
    );
    receipts_of(&closed, &mut receipts);
    receipts
}

/// A threshold round under `protocol`: every user commits and reveals
/// (the worked example's costs), every assigned user decides in turn (u3
/// withdraws, the others stay), the buyer closes; returns the receipts.
pub async fn run_threshold(client: &Client, round: &str, protocol: &str) -> Vec<Receipt> {
    let mut receipts = Vec::new();
    let opened = accepted(
        client,
        "/v1/rounds",
        signed(Kind::Open, &threshold_open(round, protocol), &buyer()),
    )
    .await;
    receipts_of(&opened, &mut receipts);
    let entries = format!("/v1/rounds/{round}/entries");
    for (id, n, _, _, cost) in USERS {
        let reveal = threshold_reveal(round, id, cost, n);
        let commit = format!(
            r#"{{"round":"{round}","id":"{id}","commitment":"{}"}}"#,
            commitment(&reveal)
        );
        receipts_of(
            &accepted(client, &entries, signed(Kind::Commit, &commit, &key(n))).await,
            &mut receipts,
        );
    }
    let close = format!(r#"{{"round":"{round}","phase":"commit"}}"#);
    receipts_of(
        &accepted(client, &entries, signed(Kind::Close, &close, &buyer())).await,
        &mut receipts,
    );
    for (id, n, _, _, cost) in USERS {
        let reveal = threshold_reveal(round, id, cost, n);
        receipts_of(
            &accepted(client, &entries, signed(Kind::Reveal, &reveal, &key(n))).await,
            &mut receipts,
        );
    }
    let close = format!(r#"{{"round":"{round}","phase":"reveal"}}"#);
    receipts_of(
        &accepted(client, &entries, signed(Kind::Close, &close, &buyer())).await,
        &mut receipts,
    );
    let order = decision_order(client, round, protocol).await;
    for id in order {
        let n = USERS
            .iter()
            .find(|u| u.0 == id)
            .map(|u| u.1)
            .expect("a user");
        let decision = if id == "u3" { "withdraw" } else { "stay" };
        let decide = format!(r#"{{"round":"{round}","id":"{id}","decision":"{decision}"}}"#);
        receipts_of(
            &accepted(client, &entries, signed(Kind::Decide, &decide, &key(n))).await,
            &mut receipts,
        );
    }
    let close = format!(r#"{{"round":"{round}","phase":"decide"}}"#);
    let closed = accepted(client, &entries, signed(Kind::Close, &close, &buyer())).await;
    assert!(
        closed.get("then").is_some(),
        "the settle entry follows the close"
    );
    receipts_of(&closed, &mut receipts);
    receipts
}

/// The assigned users in the order `protocol` lets them decide (§B.4:
/// ascending or descending (x_i, id); any order under simultaneous).
pub async fn decision_order(client: &Client, round: &str, protocol: &str) -> Vec<String> {
    let outcome = client.get(&format!("/v1/rounds/{round}/outcome")).await;
    assert_eq!(outcome.status, 200, "{}", outcome.text());
    let mut assigned: Vec<(f64, String)> = outcome.json()["assignments"]
        .as_array()
        .expect("assignments")
        .iter()
        .filter(|a| a["amount"].as_f64().expect("amount") > 0.0)
        .map(|a| {
            (
                a["amount"].as_f64().expect("amount"),
                a["id"].as_str().expect("id").to_owned(),
            )
        })
        .collect();
    assert!(!assigned.is_empty(), "some users are assigned");
    match protocol {
        "small-first" => assigned.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1))),
        "large-first" => assigned.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1))),
        // Simultaneous: any order; the reverse of the assignment order.
        _ => assigned.reverse(),
    }
    assigned.into_iter().map(|(_, id)| id).collect()
}

/// A PostgreSQL URL with a fresh schema for this test, or `None` (with
/// the plain message) when `PROCURA_TEST_POSTGRES` is not set.
pub async fn postgres_schema(test: &str) -> Option<(String, String, sqlx::PgPool)> {
    let Ok(base) = std::env::var("PROCURA_TEST_POSTGRES") else {
        println!("skipped: PROCURA_TEST_POSTGRES is not set");
        return None;
    };
    let admin = sqlx::PgPool::connect(&base)
        .await
        .expect("connect to PROCURA_TEST_POSTGRES");
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_nanos();
    let schema = format!("procura_test_{test}_{}_{nanos}", std::process::id());
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&admin)
        .await
        .expect("create schema");
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}options=-c%20search_path%3D{schema}");
    Some((url, schema, admin))
}

pub async fn drop_schema(admin: &sqlx::PgPool, schema: &str) {
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(admin)
        .await
        .expect("drop schema");
}

pub fn postgres_config(dir: &Path, url: &str) -> Config {
    Config::new(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        url,
        dir.join("operator.key"),
        "procura.example",
    )
    .expect("a valid config")
}
