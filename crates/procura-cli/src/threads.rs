//! The `--threads N` option of the parallel commands (`value`, `quality`,
//! `audit`, `experiment`, `reproduce`, `demo`, `verify`): run on a pool of N worker threads, or on
//! rayon's global pool (one thread per core) without it. Results never
//! depend on it.

use anyhow::{bail, Context};

/// Runs `work` on `threads` worker threads (`None`: the global pool).
pub(crate) fn with_threads<T: Send>(
    threads: Option<usize>,
    work: impl FnOnce() -> anyhow::Result<T> + Send,
) -> anyhow::Result<T> {
    match threads {
        Some(0) => bail!("--threads must be at least 1"),
        Some(threads) => rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .context("cannot start the worker threads")?
            .install(work),
        None => work(),
    }
}
