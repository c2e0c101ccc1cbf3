//! The SQLite backend, the embedded default: one file in WAL mode with
//! `synchronous=FULL`, so a committed transaction survives a power loss.
//! Both pragmas are read back at start-up; the server refuses to start
//! when either did not take (an in-memory database, a file system without
//! shared memory for the WAL, …).

use std::str::FromStr as _;
use std::time::Duration;

use anyhow::{bail, Context as _};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{
    QueryBuilder, Row as _, Sqlite, SqliteConnection, SqliteExecutor, SqlitePool, Transaction,
};

use super::{from_db, to_db, Row};

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS rounds (
        id TEXT PRIMARY KEY NOT NULL,
        size INTEGER NOT NULL CHECK (size >= 0)
    )",
    "CREATE TABLE IF NOT EXISTS entries (
        round TEXT NOT NULL REFERENCES rounds (id),
        idx INTEGER NOT NULL CHECK (idx >= 0),
        kind TEXT NOT NULL,
        nonce BLOB NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (round, idx)
    )",
];

pub(crate) async fn connect(url: &str) -> anyhow::Result<SqlitePool> {
    let options = SqliteConnectOptions::from_str(url)
        .with_context(|| format!("db: {url:?} is not a SQLite URL"))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .with_context(|| format!("opening the SQLite database {url:?}"))?;
    let mut connection = pool.acquire().await?;
    check_pragmas(&mut connection).await?;
    for statement in SCHEMA {
        sqlx::query(statement).execute(&mut *connection).await?;
    }
    Ok(pool)
}

/// Reads `journal_mode` and `synchronous` back: `wal` and 2 (FULL).
async fn check_pragmas(connection: &mut SqliteConnection) -> anyhow::Result<()> {
    let journal: String = sqlx::query("PRAGMA journal_mode")
        .fetch_one(&mut *connection)
        .await?
        .try_get(0)?;
    if !journal.eq_ignore_ascii_case("wal") {
        bail!(
            "SQLite: journal_mode is {journal:?}, not \"wal\": the server needs a database file \
             in WAL mode (an in-memory database cannot be used)"
        );
    }
    let synchronous: i64 = sqlx::query("PRAGMA synchronous")
        .fetch_one(&mut *connection)
        .await?
        .try_get(0)?;
    if synchronous != 2 {
        bail!("SQLite: synchronous is {synchronous}, not 2 (FULL): commits would not be durable");
    }
    Ok(())
}

pub(crate) async fn rounds(pool: &SqlitePool) -> anyhow::Result<Vec<(String, u64)>> {
    sqlx::query("SELECT id, size FROM rounds ORDER BY id")
        .fetch_all(pool)
        .await?
        .iter()
        .map(|row| Ok((row.try_get(0)?, from_db(row.try_get(1)?)?)))
        .collect()
}

pub(crate) async fn size(
    executor: impl SqliteExecutor<'_>,
    round: &str,
) -> anyhow::Result<Option<u64>> {
    sqlx::query("SELECT size FROM rounds WHERE id = ?")
        .bind(round)
        .fetch_optional(executor)
        .await?
        .map(|row| from_db(row.try_get(0)?))
        .transpose()
}

pub(crate) async fn entries(
    executor: impl SqliteExecutor<'_>,
    round: &str,
    from: u64,
    to: u64,
) -> anyhow::Result<Vec<Row>> {
    sqlx::query(
        "SELECT idx, kind, nonce, data FROM entries WHERE round = ? AND idx >= ? AND idx < ? \
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
    tx: &mut Transaction<'static, Sqlite>,
    round: &str,
) -> anyhow::Result<bool> {
    let done =
        sqlx::query("INSERT INTO rounds (id, size) VALUES (?, 0) ON CONFLICT (id) DO NOTHING")
            .bind(round)
            .execute(&mut **tx)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// One multi-row `INSERT` of `rows` (at most 128; see `insert_chunks`).
pub(crate) async fn insert_entries(
    tx: &mut Transaction<'static, Sqlite>,
    rows: &[Row],
) -> anyhow::Result<()> {
    let mut query =
        QueryBuilder::<Sqlite>::new("INSERT INTO entries (round, idx, kind, nonce, data) ");
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
    tx: &mut Transaction<'static, Sqlite>,
    round: &str,
    size: u64,
) -> anyhow::Result<()> {
    sqlx::query("UPDATE rounds SET size = ? WHERE id = ?")
        .bind(to_db(size))
        .bind(round)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
