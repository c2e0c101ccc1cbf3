//! # procura-mechanisms: the rules of truthful data markets
//!
//! The mechanisms of the project's specification (`docs/SPECIFICATION.md`): procurement
//! auctions in which providers bid for the right to sell data (Part A,
//! [`procurement`]) and threshold contributions in which users give data
//! towards a model that improves only past a threshold (Part B,
//! [`threshold`]). [`game`] is the view of every mechanism as a game of
//! reports that the auditor probes; [`Mechanism`] names every mechanism once,
//! for the command line, experiments and every other edge.
//!
//! The crate does no IO and depends on no numerical or random library. The
//! `test-support` feature, for dev-dependencies only, adds
//! `test_support`: the proptest strategies every procura crate's tests
//! draw instances from.
//! Every mechanism is a pure function from a validated instance to an
//! outcome, and the same input always gives the same bytes.
//!
//! ```
//! use procura_mechanisms::procurement::{clear, Auction, Instance, InstanceSpec, ProviderSpec};
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
//! let outcome = clear(&instance, Auction::Qmia)?;
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

pub mod game;
mod mechanism;
pub mod procurement;
#[cfg(feature = "test-support")]
pub mod test_support;
pub mod threshold;
pub mod tolerance;
pub mod validate;

pub use mechanism::{Market, Mechanism, UnknownMechanism};
