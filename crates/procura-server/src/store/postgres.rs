//! The PostgreSQL backend, for several server processes behind a load
//! balancer. A batch locks each round it touches with `SELECT size FROM
//! rounds WHERE id = $1 FOR UPDATE`, in round id order (so two processes
//! never deadlock), and compares the stored size with its memory before
//! applying anything: two appends to one round are never interleaved and
//! a round's log cannot fork.
//!
//! The tables go in the connection's `search_path` (a URL may set it with
//! `?options=-c%20search_path%3Dname`). No TLS: reach the database over a
//! trusted network or a local socket.

use anyhow::Context as _;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgExecutor, PgPool, Postgres, QueryBuilder, Row as _, Transaction};

use super::{from_db, to_db, Row};

const SCHEMA: &[&str] = &[
    // Two servers starting at once must not race on CREATE TABLE.
    "SELECT pg_advisory_xact_lock(7072657063757261)",
    "CREATE TABLE IF NOT EXISTS rounds (
        id TEXT PRIMARY KEY,
        size BIGINT NOT NULL CHECK (size >= 0)
    )",
    "CREATE TABLE IF NOT EXISTS entries (
        round TEXT NOT NULL REFERENCES rounds (id),
        idx BIGINT NOT NULL CHECK (idx >= 0),
        kind TEXT NOT NULL,
        nonce BYTEA NOT NULL,
        data BYTEA NOT NULL,
        PRIMARY KEY (round, idx)
    )",
];

pub(crate) async fn connect(url: &str) -> anyhow::Result<PgPool> {
    let options: PgConnectOptions = url.parse().context("db: not a PostgreSQL URL")?;
    let pool = PgPoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await
        .context("connecting to PostgreSQL")?;
    let mut tx = pool.begin().await?;
    for statement in SCHEMA {
        sqlx::query(statement).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(pool)
}

pub(crate) async fn rounds(pool: &PgPool) -> anyhow::Result<Vec<(String, u64)>> {
    sqlx::query("SELECT id, size FROM rounds ORDER BY id")
        .fetch_all(pool)
        .await?
        .iter()
        .map(|row| Ok((row.try_get(0)?, from_db(row.try_get(1)?)?)))
        .collect()
}

pub(crate) async fn size(
    executor: impl PgExecutor<'_>,
    round: &str,
) -> anyhow::Result<Option<u64>> {
    sqlx::query("SELECT size FROM rounds WHERE id = $1")
        .bind(round)
        .fetch_optional(executor)
        .await?
        .map(|row| from_db(row.try_get(0)?))
        .transpose()
}

pub(crate) async fn lock_size(
    tx: &mut Transaction<'static, Postgres>,
    round: &str,
) -> anyhow::Result<Option<u64>> {
    sqlx::query("SELECT size FROM rounds WHERE id = $1 FOR UPDATE")
        .bind(round)
        .fetch_optional(&mut **tx)
        .await?
        .map(|row| from_db(row.try_get(0)?))
        .transpose()
}

pub(crate) async fn entries(
    executor: impl PgExecutor<'_>,
    round: &str,
    from: u64,
    to: u64,
) -> anyhow::Result<Vec<Row>> {
    sqlx::query(
        "SELECT idx, kind, nonce, data FROM entries WHERE round = $1 AND idx >= $2 AND idx < $3 \
         ORDER BY idx",
    )
    .bind(round)
    .bind(to_db(from))
    .bind(to_db(to))
    .fetch_all(executor)
    .await?
    .iter()
    .map(|row| {
        Ok(Row {
            round: round.to_owned(),
            index: from_db(row.try_get(0)?)?,
            kind: row.try_get(1)?,
            nonce: row.try_get(2)?,
            data: row.try_get(3)?,
        })
    })
    .collect()
}

pub(crate) async fn insert_round(
    tx: &mut Transaction<'static, Postgres>,
    round: &str,
) -> anyhow::Result<bool> {
    let done =
        sqlx::query("INSERT INTO rounds (id, size) VALUES ($1, 0) ON CONFLICT (id) DO NOTHING")
            .bind(round)
            .execute(&mut **tx)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// One multi-row `INSERT` of `rows` (at most 128; see `insert_chunks`).
pub(crate) async fn insert_entries(
    tx: &mut Transaction<'static, Postgres>,
    rows: &[Row],
) -> anyhow::Result<()> {
    let mut query =
        QueryBuilder::<Postgres>::new("INSERT INTO entries (round, idx, kind, nonce, data) ");
    query.push_values(rows, |mut values, row| {
        values
            .push_bind(&row.round)
            .push_bind(to_db(row.index))
            .push_bind(&row.kind)
            .push_bind(&row.nonce)
            .push_bind(&row.data);
    });
    query.build().execute(&mut **tx).await?;
    Ok(())
}

pub(crate) async fn set_size(
    tx: &mut Transaction<'static, Postgres>,
    round: &str,
    size: u64,
) -> anyhow::Result<()> {
    sqlx::query("UPDATE rounds SET size = $1 WHERE id = $2")
        .bind(to_db(size))
        .bind(round)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
