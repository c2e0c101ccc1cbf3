//! # procura-lab: experiments on data markets
//!
//! The laboratory around the mechanisms: it draws markets, runs them, and
//! judges the papers' claims.
//!
//! - [`population`] and [`threshold_population`]: markets drawn from
//!   distributions (ChaCha8, one stream per instance), and population
//!   audits ([`population::audit_population`]);
//! - [`synthetic`]: seeded synthetic procurement markets for benchmarks;
//! - [`experiment`]: the Monte-Carlo engine (cells, replicates, typed
//!   records, statistics), the judges of the claims
//!   ([`experiment::claims`]) and, with the `serde` feature, experiment
//!   files (`experiment::design`), their results tables and the merge of
//!   sharded runs (`experiment::results_csv`), and the reproduction of the
//!   claims (`experiment::reproduce`);
//! - [`limits`]: every resource bound on what is read (grid cells,
//!   records, shards, providers, users), in one place;
//! - [`seed`]: how one master seed becomes the seeds of cells and audits;
//! - [`offer`]: providers' offers and the buyer's valuations of their data
//!   made into a procurement instance, in one place (`procura value
//!   --emit-instance` and [`round`]);
//! - [`round`]: one procurement round on real data, from valuation to the
//!   accuracy of the model trained on what each mechanism bought.
//!
//! Everything is a pure function of its inputs and seed, the same bits on
//! any number of threads. The crate does no IO.
//!
//! ```
//! use procura_lab::synthetic;
//! use procura_mechanisms::procurement::{clear, Auction};
//!
//! let market = synthetic::market(50, 7);
//! let outcome = clear(&market, Auction::Qmia)?;
//! assert!(outcome.total_cash() <= market.budget() * (1.0 + 1e-12));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

pub mod datasets;
pub mod experiment;
pub mod limits;
pub mod offer;
pub mod population;
pub mod round;
pub mod seed;
pub mod synthetic;
pub mod threshold_population;
#[cfg(feature = "serde")]
mod toml_input;
