//! Procurement auctions (spec Part A, from \[P2\]): a buyer with a budget
//! buys data from providers who privately know their costs.
//!
//! - [`qmia`]: Q-MIA, proportional share with Myerson critical values
//!   (§A.3). DSIC, IR, budget-feasible.
//! - [`mut_token`]: MUT, pro-rata token shares (§A.4, reconstruction). IR,
//!   not DSIC.
//! - [`mixed`]: Mixed-MIA, Q-MIA paid λ in cash and 1 − λ in tokens (§A.5,
//!   reconstruction).
//! - [`baselines`]: volume- and trust-based pay-as-bid (§A.6). Not DSIC.
//! - [`explain`]: why each provider won or lost, replayed from the
//!   clearing's own steps (`procura clear --explain`).
//!
//! [`clear`] dispatches on an [`Auction`]; each module also exposes its own
//! pure `clear`-style function. Providers that misreport (best responses)
//! are the auditor's business (`procura-audit`), and seeded synthetic
//! markets the laboratory's (`procura-lab`).

pub mod baselines;
pub mod explain;
mod game;
mod instance;
pub mod mixed;
pub mod mut_token;
mod numerics;
mod outcome;
pub mod qmia;
mod ranking;

#[cfg(test)]
mod fast_path_tests;

use std::fmt;
use std::str::FromStr;

pub use game::UnilateralView;
pub use instance::{
    Instance, InstanceError, InstanceSpec, Number, Provider, ProviderIds, ProviderNumbers,
    ProviderRef, ProviderSpec, RecordRef, Rule,
};
pub use outcome::{Award, Outcome};

/// The procurement mechanisms of Part A.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum Auction {
    /// Q-MIA (§A.3).
    Qmia,
    /// MUT, the Marginal Utility Token (§A.4, reconstruction).
    Mut,
    /// Mixed-MIA (§A.5, reconstruction).
    Mixed,
    /// Volume-based pay-as-bid baseline (§A.6).
    Volume,
    /// Trust-based pay-as-bid baseline (§A.6).
    Trust,
}

impl Auction {
    /// Every procurement mechanism, in the spec's order.
    pub const ALL: [Auction; 5] = [
        Auction::Qmia,
        Auction::Mut,
        Auction::Mixed,
        Auction::Volume,
        Auction::Trust,
    ];

    /// The name used in files and on the command line.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Auction::Qmia => "qmia",
            Auction::Mut => "mut",
            Auction::Mixed => "mixed",
            Auction::Volume => "volume",
            Auction::Trust => "trust",
        }
    }

    /// One line on what the mechanism does and which properties it keeps.
    #[must_use]
    pub fn summary(self) -> &'static str {
        match self {
            Auction::Qmia => {
                "Q-MIA: rank by bid/(quality·utility), proportional share of the budget, \
                 pay Myerson critical values in cash; DSIC, IR, within budget (§A.3)"
            }
            Auction::Mut => {
                "MUT: same admission with token_budget R, pay pro-rata shares of the token \
                 pool; IR but not DSIC (§A.4, reconstruction)"
            }
            Auction::Mixed => {
                "Mixed-MIA: Q-MIA at budget min(B/λ, R/(1−λ)), paid λ in cash and 1−λ in \
                 tokens; DSIC if tokens count at face value (§A.5, reconstruction)"
            }
            Auction::Volume => {
                "volume baseline: rank by bid/volume, pay as bid until the budget runs out; \
                 not DSIC (§A.6)"
            }
            Auction::Trust => {
                "trust baseline: rank by bid/(claimed_quality·volume), pay as bid; \
                 not DSIC, rewards inflated claims (§A.6)"
            }
        }
    }

    /// Whether the spec claims the mechanism is DSIC in the bid (§A.3,
    /// §A.5): Q-MIA and Mixed-MIA. The auditor checks their Myerson
    /// certificate.
    #[must_use]
    pub fn is_dsic(self) -> bool {
        matches!(self, Auction::Qmia | Auction::Mixed)
    }

    /// Whether this mechanism pays in tokens at `liquidity` λ, and so needs
    /// a `token_budget`: MUT always, Mixed-MIA when λ < 1 (§A.4, §A.5).
    #[must_use]
    pub fn pays_tokens(self, liquidity: f64) -> bool {
        match self {
            Auction::Mut => true,
            Auction::Mixed => liquidity < 1.0,
            Auction::Qmia | Auction::Volume | Auction::Trust => false,
        }
    }

    /// Whether the mechanism can clear `instance` at all: it fails only
    /// when it needs a field the instance omits, which no report changes.
    /// MUT pays only in tokens worth `token_budget`, and Mixed-MIA with
    /// λ < 1 pays 1 − λ of every reward in them: without the field its
    /// effective budget min(B/λ, 0/(1 − λ)) is 0 and it would buy nothing.
    /// An explicit `token_budget` of 0 is the buyer's choice and clears.
    /// [`clear`] and the unilateral view ([`UnilateralView`]) both ask here.
    pub fn check_clears(self, instance: &Instance) -> Result<(), ClearError> {
        if self.pays_tokens(instance.liquidity()) && !instance.has_token_budget() {
            return Err(ClearError::MissingTokenBudget { mechanism: self });
        }
        Ok(())
    }
}

impl fmt::Display for Auction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A mechanism name that is not one of [`Auction::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown mechanism {0:?}: expected one of qmia, mut, mixed, volume, trust")]
pub struct UnknownAuction(pub String);

impl FromStr for Auction {
    type Err = UnknownAuction;
    fn from_str(name: &str) -> Result<Auction, UnknownAuction> {
        Auction::ALL
            .into_iter()
            .find(|mechanism| mechanism.name() == name)
            .ok_or_else(|| UnknownAuction(name.to_owned()))
    }
}

/// Why a valid instance cannot be cleared by a given mechanism.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClearError {
    /// The mechanism pays in tokens worth `token_budget`, which the
    /// instance omits: MUT always, Mixed-MIA whenever λ < 1.
    #[error(
        "token_budget is required by {mechanism}{}",
        if matches!(mechanism, Auction::Mixed) { " when liquidity is below 1" } else { "" }
    )]
    MissingTokenBudget {
        /// The mechanism that needs it: `mut`, or `mixed` with λ < 1.
        mechanism: Auction,
    },
}

/// Clears `instance` with `mechanism`.
///
/// Every mechanism is a pure function of the instance: the same instance
/// gives the same outcome, to the last bit, on every run and machine.
/// Fails only when the mechanism needs a field the instance omits.
pub fn clear(instance: &Instance, mechanism: Auction) -> Result<Outcome, ClearError> {
    mechanism.check_clears(instance)?;
    Ok(match mechanism {
        Auction::Qmia => qmia::clear(instance),
        Auction::Mut => mut_token::clear(instance),
        Auction::Mixed => mixed::clear(instance),
        Auction::Volume => baselines::volume(instance),
        Auction::Trust => baselines::trust(instance),
    })
}
