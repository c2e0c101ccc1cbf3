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

/// Bids tried below a winner's bid (these fractions of it) and above a
/// loser's (these fractions of the way down from a ceiling above it to it).
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
        // A loser is probed between its bid and a ceiling above it: `top`,
        // or twice its bid when it already bids above `top` (else the
        // probes would fall below its bid, to 0 for a bid far above `top`).
        let ceiling = if bid < top {
            top
        } else {
            (2.0 * bid).min(f64::MAX)
        };
        for step in MONOTONE_STEPS {
            let other = if won {
                bid * step
            } else {
                bid + (ceiling - bid) * (1.0 - step)
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
        // The payment is θ in cash and tokens together (λθ + (1 − λ)θ);
        // certificates exist only for Q-MIA and Mixed-MIA, whose tokens
        // count at face value.
        let theta = mechanism.award_value(instance, award);
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

#[cfg(test)]
mod tests {
    use super::certify;
    use procura_mechanisms::procurement::{Auction, Instance, InstanceSpec, ProviderSpec};
    use procura_mechanisms::test_support::procurement_instance;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 48,
            rng_seed: proptest::test_runner::RngSeed::Fixed(0xCE27),
            ..ProptestConfig::default()
        })]

        /// Any provider bidding anywhere from 2B + 1 to the largest double
        /// loses, and every probe above its bid must find it losing.
        #[test]
        fn bids_far_above_the_budget_keep_the_certificate_monotone(
            instance in procurement_instance(4),
            exponent in 0.0f64..308.0,
            who in 0usize..4,
        ) {
            let who = who % instance.providers().len();
            for mechanism in [Auction::Qmia, Auction::Mixed] {
                let floor = 2.0 * mechanism.allocation_budget(&instance) + 1.0;
                let bid = (floor * 10f64.powf(exponent)).min(f64::MAX);
                let instance = instance.with_bid(who, bid).expect("a valid bid");
                let certificate = certify(mechanism, &instance).expect("DSIC mechanism");
                prop_assert!(certificate.monotone, "{mechanism}: bid {bid:e}: {certificate:?}");
            }
        }
    }

    /// A loser bidding far above 2B + 1: the probes above its bid must stay
    /// above it (issue 14, class 4: `bid + (top − bid)·(1 − step)` cancelled
    /// to a bid of 0, which wins, and the certificate said "not monotone").
    #[test]
    fn a_loser_far_above_the_budget_keeps_the_certificate_monotone() {
        let instance = Instance::new(InstanceSpec {
            budget: 1.0,
            providers: vec![
                ProviderSpec::new("a", 1e20, 1.0, 1.0),
                ProviderSpec::new("b", 0.5, 1.0, 1.0),
            ],
            ..InstanceSpec::default()
        })
        .expect("valid");
        for mechanism in [Auction::Qmia, Auction::Mixed] {
            let certificate = certify(mechanism, &instance).expect("DSIC mechanism");
            assert!(certificate.monotone, "{mechanism}: {certificate:?}");
            assert!(certificate.critical_values, "{mechanism}: {certificate:?}");
        }
    }
}
