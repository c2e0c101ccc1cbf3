//! Every resource bound the laboratory enforces on what it reads, in one
//! place (the README's "Limits" paragraph lists them too).
//!
//! Files are hostile until checked: a 1.5 KB experiment file can describe
//! 2⁴⁰ grid cells, a shard folder can claim 2⁶² replicates. Each bound is
//! checked with checked arithmetic **before** anything of that size is
//! built or allocated, and the error names the key that breaks it.
//!
//! | bound | value | what it bounds | checked by |
//! |---|---|---|---|
//! | [`MAX_CELLS`] | 100 000 | cells of an experiment's grid (the product of its sweeps' lengths) | `experiment::design::parse_design` |
//! | [`MAX_RECORDS`] | 20 000 000 | records of an experiment: cells × replicates × mechanisms (so replicates ≤ 20 000 000) | `parse_design` |
//! | [`MAX_SHARDS`] | 100 000 | N of `--shard I/N` and of a shard's `shard.txt` | [`Shard::new`](crate::experiment::Shard::new) |
//! | [`MAX_PROVIDERS`] | 1 000 000 | providers of a procurement population | [`Population::new`](crate::population::Population::new) |
//! | [`MAX_PROVIDER_IDS`] | 10 000 000 | provider ids an experiment's cells hold: the sum of the distinct values of a `procurement.providers` sweep (cells with the same count share their ids) | `parse_design` |
//! | [`MAX_USERS`] | 1 000 000 | users of a threshold population | [`ThresholdPopulation::new`](crate::threshold_population::ThresholdPopulation::new) |
//!
//! The auditor and best-response dynamics bound their own settings
//! (`procura_audit`: grid, coalitions, markups, rounds); an experiment's
//! `[audit]` and `[strategic]` tables are checked against those.

/// The most cells an experiment's grid may have: the product of its
/// sweeps' lengths. A cell costs about a kilobyte before it runs (its
/// population, labels and settings), so the grid stays within a few
/// hundred MB however the sweeps multiply.
pub const MAX_CELLS: u64 = 100_000;

/// The most records (cell × replicate × mechanism) an experiment may have:
/// a run, and a merge of its shards, hold them all in memory (a few GiB).
/// With one cell and one mechanism, this is also the most replicates.
pub const MAX_RECORDS: u64 = 20_000_000;

/// The most shards an experiment may be split into (`--shard I/N`,
/// `shard.txt`): as many as it may have cells.
pub const MAX_SHARDS: u64 = MAX_CELLS;

/// The most providers an instance of a procurement population may have.
pub const MAX_PROVIDERS: usize = 1_000_000;

/// The most provider ids the cells of an experiment may hold, the sum of
/// its distinct provider counts: cells with as many providers share their
/// ids, but a sweep of `procurement.providers` over many large counts
/// would hold each (about 50 bytes an id, so at most about 500 MB).
pub const MAX_PROVIDER_IDS: usize = 10 * MAX_PROVIDERS;

/// The most users an instance of a threshold population may have.
pub const MAX_USERS: usize = 1_000_000;
