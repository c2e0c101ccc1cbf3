//! Myerson certificates for single-parameter procurement mechanisms.
//!
//! A mechanism in which each provider reports one number (its bid) is DSIC
//! exactly when (Myerson 1981) its allocation is monotone — a winner still
//! wins with any lower bid — and each winner is paid its critical value,
//! the supremum of the bids with which it still wins. This module checks
//! both conditions directly, for Q-MIA and Mixed-MIA (§A.3, §A.5), by
//! re-running the allocation: a certificate that does not rely on the
//! closed form being right.

use procura_mechanisms::procurement::{clear, Auction, Instance};
use procura_mechanisms::tolerance::{approx_eq, GOLDEN_RELATIVE};

/// Which Myerson conditions hold on an instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Certificate {
    /// Every winner still wins at every lower bid tried, and every loser
    /// still loses at every higher bid tried.
    pub monotone: bool,
    /// Every winner's payment equals the critical value found by bisection
    /// of the allocation, to [`GOLDEN_RELATIVE`].
    pub critical_values: bool,
    /// The largest relative gap between a payment and its bisected critical
    /// value.
    pub max_payment_error: f64,
    /// Number of times the mechanism was run.
    pub evaluations: u64,
}

/// Bids tried below a winner's bid and above a loser's, as fractions and
/// multiples of it.
const MONOTONE_STEPS: [f64; 6] = [0.0, 0.25, 0.5, 0.9, 0.99, 0.999_999];
/// Bisection rounds: enough to shrink any bracket below one ulp.
const BISECTION_ROUNDS: usize = 1100;

/// Checks the Myerson characterisation of `mechanism` on `instance`, or
/// returns `None` for mechanisms that are not single-parameter DSIC
/// mechanisms with critical-value payments (MUT and the baselines), and for
/// MUT without a token budget.
#[must_use]
pub fn certify(mechanism: Auction, instance: &Instance) -> Option<Certificate> {
    if !mechanism.is_dsic() {
        return None;
    }
    let mut evaluations = 0u64;
    let mut wins = |bid_instance: &Instance, index: usize| -> bool {
        evaluations += 1;
        clear(bid_instance, mechanism)
            .map(|outcome| outcome.award_of(index).is_some())
            .unwrap_or(false)
    };
    let outcome = clear(instance, mechanism).ok()?;
    // No winning bid exceeds the allocation budget; saturate so that a
    // budget near the largest double does not make the bracket infinite.
    let top = (2.0 * mechanism.allocation_budget(instance) + 1.0).min(f64::MAX);

    let mut monotone = true;
    for (index, provider) in instance.providers().iter().enumerate() {
        let bid = provider.bid();
        let won = outcome.award_of(index).is_some();
        for step in MONOTONE_STEPS {
            let other = if won {
                bid * step
            } else {
                bid + (top - bid) * (1.0 - step)
            };
            let Ok(deviation) = instance.with_bid(index, other) else {
                continue;
            };
            if wins(&deviation, index) != won {
                monotone = false;
            }
        }
    }

    let mut max_payment_error = 0.0f64;
    let mut critical_values = true;
    for award in outcome.awards() {
        let index = award.provider;
        // The payment is θ in cash and tokens together (λθ + (1 − λ)θ).
        let theta = award.cash + award.tokens;
        let (mut low, mut high) = (instance.providers()[index].bid(), top);
        for _ in 0..BISECTION_ROUNDS {
            let middle = low + (high - low) / 2.0;
            if middle <= low || middle >= high {
                break;
            }
            match instance.with_bid(index, middle) {
                Ok(deviation) if wins(&deviation, index) => low = middle,
                _ => high = middle,
            }
        }
        let error = (theta - low).abs() / theta.abs().max(1.0);
        max_payment_error = max_payment_error.max(error);
        if !approx_eq(theta, low, GOLDEN_RELATIVE) {
            critical_values = false;
        }
    }

    Some(Certificate {
        monotone,
        critical_values,
        max_payment_error,
        evaluations,
    })
}
