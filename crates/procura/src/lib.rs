//! # procura: buying training data truthfully
//!
//! `procura` is the pure engine behind the `procura` command line. It
//! implements the mechanisms of the project's specification
//! (`shared/spec/mechanisms.md`): procurement auctions in which providers
//! bid for the right to sell data, and (in later modules) threshold
//! contribution games.
//!
//! The crate does no IO. Every mechanism is a pure function from a validated
//! instance to an outcome, and the same input always gives the same bytes.
//!
//! ```
//! use procura::procurement::{clear, Instance, InstanceSpec, Mechanism, ProviderSpec};
//!
//! let spec = InstanceSpec {
//!     budget: 10.0,
//!     providers: vec![
//!         ProviderSpec::new("acme", 2.0, 0.9, 1.5),
//!         ProviderSpec::new("beta", 1.0, 0.5, 1.0),
//!     ],
//!     ..InstanceSpec::default()
//! };
//! let instance = Instance::new(spec)?;
//! let outcome = clear(&instance, Mechanism::Qmia)?;
//!
//! // Both providers win, and each is paid at least its bid (IR) ...
//! assert_eq!(outcome.awards().len(), 2);
//! for award in outcome.awards() {
//!     assert!(award.cash >= instance.providers()[award.provider].bid());
//! }
//! // ... while the total stays within the budget.
//! assert!(outcome.total_cash() <= 10.0 * (1.0 + 1e-12));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

pub mod audit;
pub mod experiment;
pub mod mechanism;
pub mod procurement;
pub mod round;
pub mod threshold;
pub mod tolerance;
mod validate;
pub mod valuation;
