//! # procura: buying training data truthfully
//!
//! The procura engine in one crate: this facade re-exports the domain
//! crates under the paths their modules have always had, as ripgrep's
//! `grep` crate does. Depend on a domain crate alone to build less: a
//! server that only clears instances needs `procura-mechanisms`, which
//! builds without any numerical or random library.
//!
//! | path | crate | what |
//! |---|---|---|
//! | [`procurement`], [`threshold`], [`game`], [`tolerance`], [`Mechanism`] | `procura-mechanisms` | the rules of both markets |
//! | [`audit`] | `procura-audit` | the auditor, certificates, best responses |
//! | [`valuation`] | `procura-valuation` | data valuation with real models |
//! | [`datasets`], [`experiment`], [`offer`], [`population`], [`round`], [`seed`], [`synthetic`] | `procura-lab` | built-in data, populations, experiments, claims, offers priced by valuations, rounds on real data |
//!
//! ```
//! use procura::procurement::{clear, Auction, Instance, InstanceSpec, ProviderSpec};
//!
//! let spec = InstanceSpec {
//!     budget: 10.0,
//!     providers: vec![ProviderSpec::new("acme", 2.0, 0.9, 1.5)],
//!     ..InstanceSpec::default()
//! };
//! let outcome = clear(&Instance::new(spec)?, Auction::Qmia)?;
//! assert_eq!(outcome.awards().len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

pub use procura_audit as audit;
pub use procura_lab::{
    datasets, experiment, limits, offer, population, round, seed, synthetic, threshold_population,
};
pub use procura_mechanisms::{
    game, procurement, threshold, tolerance, validate, Market, Mechanism, UnknownMechanism,
};
pub use procura_valuation as valuation;
