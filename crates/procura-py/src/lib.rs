//! # procura-py: procura from Python
//!
//! The extension module `procura._procura` of the Python package `procura`
//! (`pip install ./crates/procura-py`; the package's `__init__.py` re-exports
//! it). It is the only crate that knows PyO3. Every function is a thin layer
//! over the same library calls the `procura` command line makes, so results
//! are the CLI's to the last bit:
//!
//! | Python | library | module |
//! |---|---|---|
//! | `clear`, `audit` | `procura-format` (read, write), `procura::procurement`, `procura::threshold`, `procura::audit` | [`market`] |
//! | `verify` | `procura_market::transcript` | [`market`] |
//! | `knn_shapley`, `loo`, `tmc_shapley`, `banzhaf_msr`, `quality` | `procura::valuation` | [`valuation`] |
//! | `read_npz` | `procura::valuation::npz` | [`npz`] |
//! | `experiment` | `procura::experiment::design` | [`experiment`] |
//!
//! Conventions:
//!
//! - bad input raises `procura.InputError` (a `ValueError`) with the
//!   CLI's message, less the file name the CLI puts first;
//! - the GIL is released around everything that can take long
//!   ([`Python::detach`]);
//! - `threads=None` runs on rayon's global pool, `threads=N` on a pool of
//!   N threads ([`with_threads`]); results never depend on it.

use std::cell::RefCell;
use std::fmt::Display;
use std::sync::{Arc, OnceLock};

use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

mod arrays;
mod classes;
mod experiment;
mod json;
mod market;
mod npz;
mod python_model;
mod valuation;

create_exception!(
    procura,
    InputError,
    PyValueError,
    "Bad input: an instance, array, model or configuration that procura refuses. \
     The message is the command line's: it names the field and the record, or the \
     array, row and column."
);

/// An [`InputError`] with `message`.
fn input_error(message: impl Display) -> PyErr {
    InputError::new_err(message.to_string())
}

/// What a Python exception says, `str(exception)`, without its type.
fn python_message(error: &PyErr) -> String {
    Python::attach(|py| error.value(py).to_string())
}

/// Thread pools by size.
type Pools = Vec<(usize, Arc<rayon::ThreadPool>)>;

/// Runs `work` on `threads` worker threads (`None`: rayon's global pool,
/// one thread per core), as the command line's `--threads` does. Results
/// never depend on it.
///
/// A pool of N threads is kept for the calling thread's next call with
/// `threads=N` (a few sizes per thread), so that a call does not pay for
/// starting threads and their allocator arenas (about 10 ms of a 0.2 s
/// KNN-Shapley call on one thread); each Python thread has its own pools,
/// so calls from two Python threads never queue on one pool; a process
/// forked from this one starts new pools.
fn with_threads<T: Send>(
    threads: Option<usize>,
    work: impl FnOnce() -> T + Send,
) -> Result<T, String> {
    /// Pool sizes kept per thread.
    const KEPT: usize = 4;
    thread_local! {
        /// The process the pools were started in, and the pools.
        static POOLS: RefCell<(u32, Pools)> = const { RefCell::new((0, Vec::new())) };
    }
    /// The process whose rayon global pool this module uses.
    static GLOBAL_POOL_PROCESS: OnceLock<u32> = OnceLock::new();
    let process = std::process::id();
    let threads = match threads {
        Some(0) => return Err("threads must be at least 1".to_owned()),
        Some(threads) => threads,
        // rayon's global pool, unless this process was forked from one
        // that used it: its threads stayed behind, and a call would wait
        // for them for ever. Then a pool of one thread per core.
        None if *GLOBAL_POOL_PROCESS.get_or_init(|| process) == process => return Ok(work()),
        None => std::thread::available_parallelism().map_or(1, usize::from),
    };
    let kept = POOLS.with_borrow_mut(|(owner, pools)| {
        if *owner != process {
            // After a fork the pools' threads are gone (only the forking
            // thread is copied): start afresh, and leave the old pools
            // alone rather than signal threads that do not exist.
            *owner = process;
            Box::leak(Box::new(std::mem::take(pools)));
        }
        pools
            .iter()
            .find(|(size, _)| *size == threads)
            .map(|(_, pool)| Arc::clone(pool))
    });
    let pool = match kept {
        Some(pool) => pool,
        None => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .map(Arc::new)
                .map_err(|error| format!("cannot start the worker threads: {error}"))?;
            POOLS.with_borrow_mut(|(_, pools)| {
                if pools.len() == KEPT {
                    pools.remove(0);
                }
                pools.push((threads, Arc::clone(&pool)));
            });
            pool
        }
    };
    Ok(pool.install(work))
}

/// The extension module `procura._procura`.
#[pymodule]
fn _procura(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    module.add("InputError", module.py().get_type::<InputError>())?;
    module.add_function(wrap_pyfunction!(market::clear, module)?)?;
    module.add_function(wrap_pyfunction!(market::audit, module)?)?;
    module.add_function(wrap_pyfunction!(market::verify, module)?)?;
    module.add_function(wrap_pyfunction!(valuation::knn_shapley, module)?)?;
    module.add_function(wrap_pyfunction!(valuation::loo, module)?)?;
    module.add_function(wrap_pyfunction!(valuation::tmc_shapley, module)?)?;
    module.add_function(wrap_pyfunction!(valuation::banzhaf_msr, module)?)?;
    module.add_function(wrap_pyfunction!(valuation::quality, module)?)?;
    module.add_function(wrap_pyfunction!(npz::read_npz, module)?)?;
    module.add_function(wrap_pyfunction!(experiment::experiment, module)?)?;
    Ok(())
}
