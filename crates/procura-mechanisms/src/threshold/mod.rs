//! Threshold contribution mechanisms (spec Part B, from \[P1\]): a model
//! improves only if the data used in training reaches a threshold T, and
//! users who hold the data privately know what contributing costs them.
//!
//! - [`subsidy`]: a lump payment to everyone who gives a floor amount
//!   (§B.2). The benchmark: it leaks money whenever the threshold fails.
//! - [`withdrawal`]: withdrawal rights with cost reports, personalized
//!   assignment and Myerson quantity payments held in escrow (§B.3). DSIC
//!   and IR in the assignment stage, and it never leaks.
//! - [`protocol`]: what happens after assignment when users may withdraw,
//!   simultaneously or one at a time (§B.4, **reconstruction**).
//!
//! Instances are validated once by [`ThresholdInstance::new`]; mechanisms
//! take `&ThresholdInstance` and fail only when they need a field that the
//! instance omits ([`ClearError`]).
//!
//! ```
//! use procura_mechanisms::threshold::{withdrawal, Protocol, ThresholdInstance, ThresholdSpec, UserSpec};
//!
//! let spec = ThresholdSpec {
//!     threshold: 2.0,
//!     reserve_price: Some(3.0),
//!     users: vec![UserSpec::new("u1", 1.0, 1.5), UserSpec::new("u2", 2.0, 1.5)],
//!     ..ThresholdSpec::default()
//! };
//! let instance = ThresholdInstance::new(spec)?;
//! let outcome = withdrawal::clear(&instance, Protocol::SmallFirst)?;
//!
//! // u1 (cost 1) gets 1.5 units, u2 (cost 2) the remaining 0.5.
//! assert_eq!(outcome.assignments().len(), 2);
//! // With no shocks and no slack both stay, so training happens for sure.
//! let report = outcome.protocol().expect("the outcome is not null");
//! assert_eq!(report.success_probability, 1.0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod game;
mod instance;
pub mod protocol;
pub mod subsidy;
pub mod withdrawal;

pub use game::WithdrawalAssignment;
pub use instance::{ThresholdError, ThresholdInstance, ThresholdSpec, User, UserRef, UserSpec};
pub use protocol::{Protocol, ProtocolReport, Solver, UnknownProtocol};
pub use subsidy::SubsidyOutcome;
pub use withdrawal::{Allocation, WithdrawalOutcome};

use crate::tolerance::REACH_RELATIVE;

/// Why a valid instance cannot be cleared by a given mechanism: it omits a
/// field that only this mechanism reads (§B.1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} is required by {mechanism}")]
pub struct ClearError {
    /// The missing field's name in the instance file.
    pub field: &'static str,
    /// The name of the mechanism that needs it: `subsidy` or `withdrawal`.
    pub mechanism: &'static str,
}

/// One user's assignment: the amount it is asked to give and its payment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Assignment {
    /// Index of the user in [`ThresholdInstance::users`].
    pub user: usize,
    /// Units of data assigned, x_i (§B.2: the floor f; §B.3: the greedy
    /// fill).
    pub amount: f64,
    /// Payment: the lump P (§B.2) or the Myerson payment t_i (§B.3).
    pub payment: f64,
}

/// Whether a sum of data amounts reaches the threshold (spec "Numerics").
///
/// ```text
/// S reaches T  ⇔  S ≥ T·(1 − 10⁻⁹)
/// ```
///
/// ```
/// use procura_mechanisms::threshold::reaches;
/// assert!(reaches(1.0 - 1e-12, 1.0));
/// assert!(!reaches(0.999, 1.0));
/// ```
#[must_use]
pub fn reaches(sum: f64, threshold: f64) -> bool {
    sum >= reach_level(threshold)
}

/// The smallest amount that reaches `threshold`, T·(1 − 10⁻⁹).
pub(crate) fn reach_level(threshold: f64) -> f64 {
    threshold * (1.0 - REACH_RELATIVE)
}
