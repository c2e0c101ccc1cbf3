//! Storage: a restarted server serves the same log; a row edited behind
//! the server's back is refused at start-up (that round answers 500, the
//! others serve); bids never appear in readable form in the database
//! files or any answer before the reveal phase closes; concurrent writes
//! are committed in groups without losing or forking anything; the key
//! file's mode is checked. The same tests run on PostgreSQL when
//! `PROCURA_TEST_POSTGRES` holds a URL.

mod common;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use common::*;
use procura_market::Kind;
use procura_server::Config;

/// Runs one round, restarts, checks the same log is served, then goes on
/// with a second round across another restart.
async fn restart_serves_the_same_log(config: Config) {
    let client = start(config.clone()).await;
    let receipts = run_procurement(&client, "r1").await;
    let before = client.get("/v1/rounds/r1/transcript").await.text();
    accepted(
        &client,
        "/v1/rounds",
        signed(Kind::Open, &procurement_open("r2"), &buyer()),
    )
    .await;
    let reveal = procurement_reveal("r2", "acme", "2.0", 11);
    let commit = format!(
        r#"{{"round":"r2","id":"acme","commitment":"{}"}}"#,
        commitment(&reveal)
    );
    accepted(
        &client,
        "/v1/rounds/r2/entries",
        signed(Kind::Commit, &commit, &key(11)),
    )
    .await;
    drop(client);
    let client = start(config.clone()).await;
    assert_eq!(client.get("/v1/rounds/r1/transcript").await.text(), before);
    verify_all(&client, "r1", &receipts).await;
    let status = client.get("/v1/rounds/r2").await.json();
    assert_eq!(status["size"], 2);
    // The replayed state refuses a duplicate and accepts what follows.
    assert_eq!(
        client
            .post(
                "/v1/rounds/r2/entries",
                signed(Kind::Commit, &commit, &key(11))
            )
            .await
            .status,
        409
    );
    let close = r#"{"round":"r2","phase":"commit"}"#;
    accepted(
        &client,
        "/v1/rounds/r2/entries",
        signed(Kind::Close, close, &buyer()),
    )
    .await;
    accepted(
        &client,
        "/v1/rounds/r2/entries",
        signed(Kind::Reveal, &reveal, &key(11)),
    )
    .await;
    drop(client);
    let client = start(config).await;
    let close = r#"{"round":"r2","phase":"reveal"}"#;
    let closed = accepted(
        &client,
        "/v1/rounds/r2/entries",
        signed(Kind::Close, close, &buyer()),
    )
    .await;
    assert_eq!(closed["then"]["index"], 5);
    verify_all(&client, "r2", &[]).await;
}

/// Edits stored rows of r1 (one changed byte) and r3 (a row moved from
/// another index) with `edit`, restarts, and expects those rounds refused
/// and r2 served.
async fn edited_rows_are_refused_at_start_up<F, Fut>(config: Config, edit: F)
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let client = start(config.clone()).await;
    run_procurement(&client, "r1").await;
    run_procurement(&client, "r3").await;
    accepted(
        &client,
        "/v1/rounds",
        signed(Kind::Open, &procurement_open("r2"), &buyer()),
    )
    .await;
    drop(client);
    edit().await;
    let client = start(config).await;
    for round in ["r1", "r3"] {
        for path in [
            format!("/v1/rounds/{round}"),
            format!("/v1/rounds/{round}/transcript"),
            format!("/v1/rounds/{round}/outcome"),
        ] {
            let answer = client.get(&path).await;
            assert_eq!(answer.status, 500, "{path}: {}", answer.text());
            let error = answer.error();
            assert!(
                error.contains(&format!("round {round:?}")) && error.contains("entry 3"),
                "{error}"
            );
        }
        let close = format!(r#"{{"round":"{round}","phase":"commit"}}"#);
        let answer = client
            .post(
                &format!("/v1/rounds/{round}/entries"),
                signed(Kind::Close, &close, &buyer()),
            )
            .await;
        assert_eq!(answer.status, 500, "{}", answer.text());
    }
    assert_eq!(client.get("/v1/rounds/r2").await.status, 200);
    let page = client.get("/").await.text();
    assert!(page.contains("failed the integrity check"), "{page}");
    let close = r#"{"round":"r2","phase":"commit"}"#;
    accepted(
        &client,
        "/v1/rounds/r2/entries",
        signed(Kind::Close, close, &buyer()),
    )
    .await;
}

/// Many concurrent commits: every one gets a distinct index, every
/// receipt checks against the final transcript.
async fn concurrent_writes_are_grouped_and_none_is_lost(config: Config) {
    let client = start(config).await;
    accepted(
        &client,
        "/v1/rounds",
        signed(Kind::Open, &procurement_open("r1"), &buyer()),
    )
    .await;
    let mut tasks = tokio::task::JoinSet::new();
    for attempt in 0..20u8 {
        for (id, n, ..) in PROVIDERS {
            let client = client.clone();
            tasks.spawn(async move {
                let reveal = procurement_reveal("r1", id, &format!("{attempt}.5"), n);
                let commit = format!(
                    r#"{{"round":"r1","id":"{id}","commitment":"{}"}}"#,
                    commitment(&reveal)
                );
                accepted(
                    &client,
                    "/v1/rounds/r1/entries",
                    signed(Kind::Commit, &commit, &key(n)),
                )
                .await
            });
        }
    }
    let mut receipts = Vec::new();
    while let Some(body) = tasks.join_next().await {
        receipts_of(&body.expect("a task"), &mut receipts);
    }
    let mut indices: Vec<u64> = receipts.iter().map(|r| r.index).collect();
    indices.sort_unstable();
    assert_eq!(indices, (1..=100).collect::<Vec<u64>>());
    verify_all(&client, "r1", &receipts).await;
}

fn sqlite_files(dir: &std::path::Path) -> Vec<u8> {
    let mut all = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        if let Ok(bytes) = std::fs::read(dir.join(format!("market.sqlite{suffix}"))) {
            all.extend_from_slice(&bytes);
        }
    }
    all
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn restart_on_the_same_sqlite_file_serves_the_same_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    restart_serves_the_same_log(sqlite_config(dir.path())).await;
}

#[tokio::test]
async fn a_sqlite_row_edited_behind_the_servers_back_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = sqlite_config(dir.path());
    let url = config.db().to_owned();
    edited_rows_are_refused_at_start_up(config, || async move {
        let pool = sqlx::SqlitePool::connect(&url).await.expect("connect");
        sqlx::query("UPDATE entries SET data = CAST(X'00' || substr(data, 2) AS BLOB) WHERE round = 'r1' AND idx = 3")
            .execute(&pool)
            .await
            .expect("edit");
        sqlx::query(
            "UPDATE entries SET nonce = (SELECT nonce FROM entries WHERE round = 'r3' AND idx = 2), \
             data = (SELECT data FROM entries WHERE round = 'r3' AND idx = 2) WHERE round = 'r3' AND idx = 3",
        )
        .execute(&pool)
        .await
        .expect("move");
        pool.close().await;
    })
    .await;
}

#[tokio::test]
async fn concurrent_sqlite_writes_are_grouped_and_none_is_lost() {
    let dir = tempfile::tempdir().expect("tempdir");
    concurrent_writes_are_grouped_and_none_is_lost(sqlite_config(dir.path())).await;
}

#[tokio::test]
async fn no_bid_is_readable_in_the_database_or_any_answer_before_the_reveal_phase_closes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let client = start(sqlite_config(dir.path())).await;
    let bid = "7.654321987";
    let reveal = procurement_reveal("r1", "acme", bid, 11);
    let reveal_envelope = signed(Kind::Reveal, &reveal, &key(11));
    let secrets: Vec<Vec<u8>> = vec![
        bid.as_bytes().to_vec(),
        STANDARD.encode(bid).into_bytes(),
        hex::encode(bid).into_bytes(),
        reveal.as_bytes().to_vec(),
        STANDARD.encode(&reveal).into_bytes(),
        hex::encode(&reveal).into_bytes(),
        hex::encode(7.654_321_987_f64.to_le_bytes()).into_bytes(),
        hex::encode(7.654_321_987_f64.to_be_bytes()).into_bytes(),
        reveal_envelope.clone(),
    ];
    let check = |phase: &str, what: &str, bytes: &[u8]| {
        for secret in &secrets {
            assert!(
                !contains(bytes, secret),
                "{phase}: {what} shows {:?}",
                String::from_utf8_lossy(secret)
            );
        }
    };
    accepted(
        &client,
        "/v1/rounds",
        signed(Kind::Open, &procurement_open("r1"), &buyer()),
    )
    .await;
    let commit = format!(
        r#"{{"round":"r1","id":"acme","commitment":"{}"}}"#,
        commitment(&reveal)
    );
    accepted(
        &client,
        "/v1/rounds/r1/entries",
        signed(Kind::Commit, &commit, &key(11)),
    )
    .await;
    let gets = [
        "/",
        "/rounds/r1",
        "/v1/rounds/r1",
        "/v1/rounds/r1/transcript",
        "/v1/rounds/r1/outcome",
        "/v1/rounds/r1/proof/inclusion?index=1&size=2",
        "/v1/rounds/r1/proof/consistency?from=1&to=2",
        "/v1/operator",
    ];
    for phase in ["commit", "reveal"] {
        if phase == "reveal" {
            let close = r#"{"round":"r1","phase":"commit"}"#;
            accepted(
                &client,
                "/v1/rounds/r1/entries",
                signed(Kind::Close, close, &buyer()),
            )
            .await;
            let answer = client
                .post("/v1/rounds/r1/entries", reveal_envelope.clone())
                .await;
            assert_eq!(answer.status, 201);
            check(phase, "the reveal's receipt", &answer.body);
        }
        check(phase, "the SQLite files", &sqlite_files(dir.path()));
        for path in gets {
            check(phase, path, &client.get(path).await.body);
        }
    }
    // After the close the bid is public.
    let close = r#"{"round":"r1","phase":"reveal"}"#;
    accepted(
        &client,
        "/v1/rounds/r1/entries",
        signed(Kind::Close, close, &buyer()),
    )
    .await;
    assert!(contains(
        &client.get("/v1/rounds/r1/transcript").await.body,
        &STANDARD.encode(&reveal).into_bytes()
    ));
    // Still not in the database: entries are sealed at rest.
    check("cleared", "the SQLite files", &sqlite_files(dir.path()));
}

#[cfg(unix)]
#[tokio::test]
async fn a_key_file_others_may_read_stops_the_start() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = sqlite_config(dir.path());
    let first = start(config.clone()).await;
    let key = first.get("/v1/operator").await.json()["key"].clone();
    drop(first);
    // The same key on restart.
    assert_eq!(
        start(config.clone()).await.get("/v1/operator").await.json()["key"],
        key
    );
    std::fs::set_permissions(config.key_file(), std::fs::Permissions::from_mode(0o640))
        .expect("chmod");
    let error = procura_server::app(config)
        .await
        .expect_err("refused")
        .to_string();
    assert!(error.contains("group or others may read it"), "{error}");
}

#[tokio::test]
async fn an_in_memory_sqlite_database_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = Config::new(
        "127.0.0.1:0".parse().expect("address"),
        "sqlite::memory:",
        dir.path().join("operator.key"),
        "procura.example",
    )
    .expect("valid");
    let error = format!(
        "{:#}",
        procura_server::app(config).await.expect_err("refused")
    );
    assert!(error.contains("journal_mode"), "{error}");
}

#[tokio::test]
async fn postgres_restart_serves_the_same_log() {
    let Some((url, schema, admin)) = postgres_schema("restart").await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    restart_serves_the_same_log(postgres_config(dir.path(), &url)).await;
    drop_schema(&admin, &schema).await;
}

#[tokio::test]
async fn a_postgres_row_edited_behind_the_servers_back_is_refused() {
    let Some((url, schema, admin)) = postgres_schema("edited").await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let editor = admin.clone();
    let table = format!("{schema}.entries");
    edited_rows_are_refused_at_start_up(postgres_config(dir.path(), &url), || async move {
        sqlx::query(&format!(
            "UPDATE {table} SET data = overlay(data placing '\\x00'::bytea from 1 for 1) \
             WHERE round = 'r1' AND idx = 3"
        ))
        .execute(&editor)
        .await
        .expect("edit");
        sqlx::query(&format!(
            "UPDATE {table} AS e SET nonce = s.nonce, data = s.data FROM {table} AS s \
             WHERE e.round = 'r3' AND e.idx = 3 AND s.round = 'r3' AND s.idx = 2"
        ))
        .execute(&editor)
        .await
        .expect("move");
    })
    .await;
    drop_schema(&admin, &schema).await;
}

#[tokio::test]
async fn postgres_whole_rounds_and_concurrent_writes() {
    let Some((url, schema, admin)) = postgres_schema("rounds").await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let config = postgres_config(dir.path(), &url);
    let client = start(config.clone()).await;
    let receipts = run_threshold(&client, "t1", "large-first").await;
    verify_all(&client, "t1", &receipts).await;
    drop(client);
    concurrent_writes_are_grouped_and_none_is_lost(config).await;
    drop_schema(&admin, &schema).await;
}

#[tokio::test]
async fn two_servers_on_one_postgres_database_never_fork_a_round() {
    let Some((url, schema, admin)) = postgres_schema("two").await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let config = postgres_config(dir.path(), &url);
    let a = start(config.clone()).await;
    let b = start(config).await;
    // Opened on a, unknown to b's memory until asked.
    accepted(
        &a,
        "/v1/rounds",
        signed(Kind::Open, &procurement_open("r1"), &buyer()),
    )
    .await;
    assert_eq!(
        b.post(
            "/v1/rounds",
            signed(Kind::Open, &procurement_open("r1"), &buyer())
        )
        .await
        .status,
        409
    );
    let mut tasks = tokio::task::JoinSet::new();
    for attempt in 0..10u8 {
        for (at, (id, n, ..)) in PROVIDERS.iter().copied().enumerate() {
            let client = if (usize::from(attempt) + at) % 2 == 0 {
                a.clone()
            } else {
                b.clone()
            };
            tasks.spawn(async move {
                let reveal = procurement_reveal("r1", id, &format!("{attempt}.25"), n);
                let commit = format!(
                    r#"{{"round":"r1","id":"{id}","commitment":"{}"}}"#,
                    commitment(&reveal)
                );
                accepted(
                    &client,
                    "/v1/rounds/r1/entries",
                    signed(Kind::Commit, &commit, &key(n)),
                )
                .await
            });
        }
    }
    let mut receipts = Vec::new();
    while let Some(body) = tasks.join_next().await {
        receipts_of(&body.expect("a task"), &mut receipts);
    }
    let mut indices: Vec<u64> = receipts.iter().map(|r| r.index).collect();
    indices.sort_unstable();
    assert_eq!(
        indices,
        (1..=50).collect::<Vec<u64>>(),
        "no index is given twice"
    );
    // Both serve the same log, and every receipt from either checks.
    let from_a = a.get("/v1/rounds/r1/transcript").await.text();
    assert_eq!(b.get("/v1/rounds/r1/transcript").await.text(), from_a);
    verify_all(&a, "r1", &receipts).await;
    verify_all(&b, "r1", &receipts).await;
    drop((a, b));
    drop_schema(&admin, &schema).await;
}
