//! Procurement auctions (spec Part A, from \[P2\]): a buyer with a budget
//! buys data from providers who privately know their costs.
//!
//! - [`qmia`]: Q-MIA, proportional share with Myerson critical values
//!   (§A.3). DSIC, IR, budget-feasible.
//! - MUT: pro-rata token shares (§A.4, reconstruction). IR, not DSIC.
//! - [`mixed`]: Mixed-MIA, Q-MIA paid λ in cash and 1 − λ in tokens (§A.5,
//!   reconstruction).
//! - [`baselines`]: volume- and trust-based pay-as-bid (§A.6). Not DSIC.
//! - [`strategic`]: providers that misreport: iterated best response on a
//!   grid, to compare the non-DSIC mechanisms at equilibrium rather than at
//!   the truth (reconstruction).
//!
//! [`clear`] dispatches on a [`Mechanism`]; each module also exposes its own
//! pure `clear`-style function.

pub mod baselines;
mod game;
mod instance;
pub mod mixed;
mod mut_token;
mod outcome;
pub mod qmia;
mod ranking;
pub mod strategic;
pub mod synthetic;

use std::fmt;
use std::str::FromStr;

pub(crate) use instance::DrawnNumbers;
pub use instance::{
    Instance, InstanceError, InstanceSpec, Number, Provider, ProviderRef, ProviderSpec, RecordRef,
    Rule,
};
pub use outcome::{Award, Outcome};
pub use strategic::{best_response_dynamics, BestResponseConfig, Equilibrium, StrategicError};

/// The procurement mechanisms of Part A.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum Mechanism {
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

impl Mechanism {
    /// Every procurement mechanism, in the spec's order.
    pub const ALL: [Mechanism; 5] = [
        Mechanism::Qmia,
        Mechanism::Mut,
        Mechanism::Mixed,
        Mechanism::Volume,
        Mechanism::Trust,
    ];

    /// The name used in files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Qmia => "qmia",
            Mechanism::Mut => "mut",
            Mechanism::Mixed => "mixed",
            Mechanism::Volume => "volume",
            Mechanism::Trust => "trust",
        }
    }

    /// One line on what the mechanism does and which properties it keeps.
    pub fn summary(self) -> &'static str {
        match self {
            Mechanism::Qmia => {
                "Q-MIA: rank by bid/(quality·utility), proportional share of the budget, \
                 pay Myerson critical values in cash; DSIC, IR, within budget (§A.3)"
            }
            Mechanism::Mut => {
                "MUT: same admission with token_budget R, pay pro-rata shares of the token \
                 pool; IR but not DSIC (§A.4, reconstruction)"
            }
            Mechanism::Mixed => {
                "Mixed-MIA: Q-MIA at budget min(B/λ, R/(1−λ)), paid λ in cash and 1−λ in \
                 tokens; DSIC if tokens count at face value (§A.5, reconstruction)"
            }
            Mechanism::Volume => {
                "volume baseline: rank by bid/volume, pay as bid until the budget runs out; \
                 not DSIC (§A.6)"
            }
            Mechanism::Trust => {
                "trust baseline: rank by bid/(claimed_quality·volume), pay as bid; \
                 not DSIC, rewards inflated claims (§A.6)"
            }
        }
    }

    /// Whether the spec claims the mechanism is DSIC in the bid (§A.3,
    /// §A.5): Q-MIA and Mixed-MIA. The auditor checks their Myerson
    /// certificate.
    pub fn is_dsic(self) -> bool {
        matches!(self, Mechanism::Qmia | Mechanism::Mixed)
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A mechanism name that is not one of [`Mechanism::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown mechanism {0:?}: expected one of qmia, mut, mixed, volume, trust")]
pub struct UnknownMechanism(pub String);

impl FromStr for Mechanism {
    type Err = UnknownMechanism;
    fn from_str(name: &str) -> Result<Mechanism, UnknownMechanism> {
        Mechanism::ALL
            .into_iter()
            .find(|mechanism| mechanism.name() == name)
            .ok_or_else(|| UnknownMechanism(name.to_owned()))
    }
}

/// Why a valid instance cannot be cleared by a given mechanism.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClearError {
    /// MUT divides rights worth `token_budget`, which the instance omits.
    #[error("token_budget is required by mut")]
    MissingTokenBudget,
}

/// Clears `instance` with `mechanism`.
///
/// Every mechanism is a pure function of the instance: the same instance
/// gives the same outcome, to the last bit, on every run and machine.
/// Fails only when the mechanism needs a field the instance omits.
pub fn clear(instance: &Instance, mechanism: Mechanism) -> Result<Outcome, ClearError> {
    Ok(match mechanism {
        Mechanism::Qmia => qmia::clear(instance),
        Mechanism::Mut => {
            if !instance.has_token_budget() {
                return Err(ClearError::MissingTokenBudget);
            }
            mut_token::clear(instance)
        }
        Mechanism::Mixed => mixed::clear(instance),
        Mechanism::Volume => baselines::volume(instance),
        Mechanism::Trust => baselines::trust(instance),
    })
}
