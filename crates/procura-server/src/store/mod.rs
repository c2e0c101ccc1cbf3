//! Storage: a `rounds` table (id, size) and an `entries` table (round,
//! index, kind, nonce, sealed bytes), in SQLite or PostgreSQL.
//!
//! [`Store`] and [`Tx`] are enums over the two concrete backends
//! ([`sqlite`], [`postgres`]); each method runs the backend's SQL. Every
//! write goes through a [`Tx`]: the writer opens one per batch, locks the
//! rows of the rounds it touches ([`Tx::lock_size`]: `FOR UPDATE` on
//! PostgreSQL; SQLite's `BEGIN IMMEDIATE` takes the database's write lock
//! at the start), catches up on entries another process appended, writes
//! the batch's entries and sizes and commits.
//!
//! Entries are stored sealed ([`crate::seal`]); the `kind` column is the
//! entry's kind name, which the status endpoint shows anyway.

pub(crate) mod postgres;
pub(crate) mod sqlite;

use crate::config::{Backend, Config};

/// One stored entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row {
    pub(crate) round: String,
    pub(crate) index: u64,
    pub(crate) kind: String,
    pub(crate) nonce: Vec<u8>,
    pub(crate) data: Vec<u8>,
}

/// Most rows one `INSERT` writes (5 parameters each: 640 in all, below
/// SQLite's oldest limit of 999).
const MAX_ROWS_PER_INSERT: usize = 128;

/// Splits `rows` into chunks of 128, 64, 32, …, 1 rows, largest first:
/// a batch takes at most 7 statements beyond its full chunks of 128, and
/// the statements come from 8 texts, which stay prepared in each
/// connection's cache.
pub(crate) fn insert_chunks(rows: &[Row]) -> Vec<&[Row]> {
    let mut chunks = Vec::new();
    let mut rest = rows;
    while !rest.is_empty() {
        let size = MAX_ROWS_PER_INSERT.min(1 << rest.len().ilog2());
        let (chunk, tail) = rest.split_at(size);
        chunks.push(chunk);
        rest = tail;
    }
    chunks
}

/// A database.
#[derive(Debug, Clone)]
pub(crate) enum Store {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// A write transaction.
#[derive(Debug)]
pub(crate) enum Tx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// Sizes and indices are `BIGINT`s in the database.
pub(crate) fn to_db(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A stored size or index read back; a negative one is an edited row.
pub(crate) fn from_db(value: i64) -> anyhow::Result<u64> {
    u64::try_from(value)
        .map_err(|_| anyhow::anyhow!("a negative size or index ({value}) is stored"))
}

impl Store {
    /// Connects, creates the tables if missing and checks the backend's
    /// durability settings.
    pub(crate) async fn connect(config: &Config) -> anyhow::Result<Store> {
        Ok(match config.backend() {
            Backend::Sqlite => Store::Sqlite(sqlite::connect(config.db()).await?),
            Backend::Postgres => Store::Postgres(postgres::connect(config.db()).await?),
        })
    }

    /// Every round id with its stored size, in id order.
    pub(crate) async fn rounds(&self) -> anyhow::Result<Vec<(String, u64)>> {
        match self {
            Store::Sqlite(pool) => sqlite::rounds(pool).await,
            Store::Postgres(pool) => postgres::rounds(pool).await,
        }
    }

    /// A round's stored size, if it exists.
    pub(crate) async fn size(&self, round: &str) -> anyhow::Result<Option<u64>> {
        match self {
            Store::Sqlite(pool) => sqlite::size(pool, round).await,
            Store::Postgres(pool) => postgres::size(pool, round).await,
        }
    }

    /// A round's stored entries with index in `from..to`, in order.
    pub(crate) async fn entries(
        &self,
        round: &str,
        from: u64,
        to: u64,
    ) -> anyhow::Result<Vec<Row>> {
        match self {
            Store::Sqlite(pool) => sqlite::entries(pool, round, from, to).await,
            Store::Postgres(pool) => postgres::entries(pool, round, from, to).await,
        }
    }

    /// Begins a write transaction (SQLite: `BEGIN IMMEDIATE`).
    pub(crate) async fn begin(&self) -> anyhow::Result<Tx> {
        Ok(match self {
            Store::Sqlite(pool) => Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Store::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Closes the pool.
    pub(crate) async fn close(&self) {
        match self {
            Store::Sqlite(pool) => pool.close().await,
            Store::Postgres(pool) => pool.close().await,
        }
    }
}

impl Tx {
    /// Locks a round's row for the rest of the transaction and reads its
    /// stored size; `None` when the round is not stored.
    pub(crate) async fn lock_size(&mut self, round: &str) -> anyhow::Result<Option<u64>> {
        match self {
            Tx::Sqlite(tx) => sqlite::size(&mut **tx, round).await,
            Tx::Postgres(tx) => postgres::lock_size(tx, round).await,
        }
    }

    /// A round's entries with index in `from..to`, read inside the
    /// transaction.
    pub(crate) async fn entries(
        &mut self,
        round: &str,
        from: u64,
        to: u64,
    ) -> anyhow::Result<Vec<Row>> {
        match self {
            Tx::Sqlite(tx) => sqlite::entries(&mut **tx, round, from, to).await,
            Tx::Postgres(tx) => postgres::entries(&mut **tx, round, from, to).await,
        }
    }

    /// Inserts a round row of size 0; `false` when the id is taken.
    pub(crate) async fn insert_round(&mut self, round: &str) -> anyhow::Result<bool> {
        match self {
            Tx::Sqlite(tx) => sqlite::insert_round(tx, round).await,
            Tx::Postgres(tx) => postgres::insert_round(tx, round).await,
        }
    }

    /// Inserts entries: a few multi-row `INSERT`s ([`insert_chunks`])
    /// rather than one statement, and one round trip to the database, per
    /// row.
    pub(crate) async fn insert_entries(&mut self, rows: &[Row]) -> anyhow::Result<()> {
        for chunk in insert_chunks(rows) {
            match self {
                Tx::Sqlite(tx) => sqlite::insert_entries(tx, chunk).await?,
                Tx::Postgres(tx) => postgres::insert_entries(tx, chunk).await?,
            }
        }
        Ok(())
    }

    /// Sets a round's stored size.
    pub(crate) async fn set_size(&mut self, round: &str, size: u64) -> anyhow::Result<()> {
        match self {
            Tx::Sqlite(tx) => sqlite::set_size(tx, round, size).await,
            Tx::Postgres(tx) => postgres::set_size(tx, round, size).await,
        }
    }

    /// Commits: once this returns `Ok`, the batch is durable.
    pub(crate) async fn commit(self) -> anyhow::Result<()> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await?,
            Tx::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_chunks_cover_every_row_in_order_with_power_of_two_sizes() {
        let row = |index| Row {
            round: "r".into(),
            index,
            kind: "commit".into(),
            nonce: Vec::new(),
            data: Vec::new(),
        };
        for n in [0u64, 1, 2, 3, 7, 64, 127, 128, 129, 256, 300, 1000] {
            let rows: Vec<Row> = (0..n).map(row).collect();
            let chunks = insert_chunks(&rows);
            let flat: Vec<u64> = chunks
                .iter()
                .flat_map(|c| c.iter().map(|r| r.index))
                .collect();
            assert_eq!(flat, (0..n).collect::<Vec<_>>(), "n = {n}");
            for chunk in &chunks {
                assert!(chunk.len().is_power_of_two() && chunk.len() <= MAX_ROWS_PER_INSERT);
            }
            let full = usize::try_from(n).expect("small") / MAX_ROWS_PER_INSERT;
            assert!(chunks.len() <= full + 7, "n = {n}: {} chunks", chunks.len());
        }
    }
}
