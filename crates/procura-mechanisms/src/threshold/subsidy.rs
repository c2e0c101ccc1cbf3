//! Subsidy with floor contributions (spec §B.2), the benchmark that
//! withdrawal rights are compared with.
//!
//! The buyer posts a lump payment P to every user who gives at least the
//! floor f, paid on submission and unconditionally. No user is pivotal, so
//! each gives exactly f when it can and the payment covers its cost, and
//! nothing otherwise. When the floors fall short of the threshold, the whole
//! spend is wasted: that is the leakage.

use super::instance::ThresholdInstance;
use super::{reaches, Assignment, ClearError};

/// The result of the subsidy (§B.2).
///
/// Contributors appear in input order (the order of
/// [`ThresholdInstance::users`]): the subsidy ranks nobody, and every
/// contributor gives the same f for the same P.
#[derive(Debug, Clone, PartialEq)]
pub struct SubsidyOutcome {
    improved: bool,
    collected: f64,
    assignments: Vec<Assignment>,
    total_payment: f64,
    leakage: f64,
}

impl SubsidyOutcome {
    /// Whether the collected data reaches T (spec "Numerics"), so that the
    /// model improves.
    #[must_use]
    pub fn improved(&self) -> bool {
        self.improved
    }
    /// Collected data X = f · (number of contributors).
    #[must_use]
    pub fn collected(&self) -> f64 {
        self.collected
    }
    /// The contributors, in input order, each giving f for P.
    #[must_use]
    pub fn assignments(&self) -> &[Assignment] {
        &self.assignments
    }
    /// Spend S = P · (number of contributors), paid whatever happens.
    #[must_use]
    pub fn total_payment(&self) -> f64 {
        self.total_payment
    }
    /// The spend wasted on a model that does not improve: S if not
    /// improved, else 0.
    #[must_use]
    pub fn leakage(&self) -> f64 {
        self.leakage
    }
}

/// Whether a user with unit cost `cost` and capacity `capacity` contributes
/// the floor for the subsidy (§B.2): its privately optimal response, since
/// it is not pivotal.
///
/// ```text
/// contributes ⇔ cap_i ≥ f  and  c_i·f ≤ P
/// ```
fn contributes(cost: f64, capacity: f64, floor: f64, payment: f64) -> bool {
    capacity >= floor && cost * floor <= payment
}

/// Clears `instance` with the subsidy (§B.2). Fails when the instance has
/// no `payment` or no `floor`.
///
/// ```text
/// X = f · n_contributors          S = P · n_contributors
/// improved = X reaches T          leakage = S if not improved, else 0
/// ```
pub fn clear(instance: &ThresholdInstance) -> Result<SubsidyOutcome, ClearError> {
    let missing = |field| ClearError {
        field,
        mechanism: "subsidy",
    };
    let payment = instance.payment().ok_or_else(|| missing("payment"))?;
    let floor = instance.floor().ok_or_else(|| missing("floor"))?;

    let assignments: Vec<Assignment> = instance
        .users()
        .iter()
        .enumerate()
        .filter(|(_, user)| contributes(user.cost(), user.capacity(), floor, payment))
        .map(|(user, _)| Assignment {
            user,
            amount: floor,
            payment,
        })
        .collect();
    let n_contributors = assignments.len() as f64;
    let collected = floor * n_contributors;
    let total_payment = payment * n_contributors;
    let improved = reaches(collected, instance.threshold());
    let leakage = if improved { 0.0 } else { total_payment };
    Ok(SubsidyOutcome {
        improved,
        collected,
        assignments,
        total_payment,
        leakage,
    })
}
