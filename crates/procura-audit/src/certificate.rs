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
use procura_mechanisms::tolerance::GOLDEN_RELATIVE;

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
    // No absolute term: at a budget of 1e-200 the bracket must be of that
    // size too.
    let top = (2.0 * mechanism.allocation_budget(instance)).min(f64::MAX);

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
        let low = critical_bid(instance.providers()[index].bid(), top, |bid| {
            instance
                .with_bid(index, bid)
                .is_ok_and(|deviation| wins(&deviation, index))
        });
        let error = relative_gap(theta, low);
        max_payment_error = max_payment_error.max(error);
        if error > GOLDEN_RELATIVE {
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

/// The largest bid in `[low, high]` that still wins, to one ulp, given
/// that `low` wins and winning is monotone in the bid: a bisection on the
/// doubles' bit patterns, which are ordered like the non-negative doubles
/// themselves, so it takes at most 64 steps at any magnitude (a bisection
/// on values needs over 1,000 to cross the exponent range).
fn critical_bid(low: f64, high: f64, mut wins: impl FnMut(f64) -> bool) -> f64 {
    if !(low >= 0.0 && high > low) {
        return low;
    }
    let (mut low, mut high) = (low.to_bits(), high.to_bits());
    while high - low > 1 {
        let middle = low + (high - low) / 2;
        if wins(f64::from_bits(middle)) {
            low = middle;
        } else {
            high = middle;
        }
    }
    f64::from_bits(low)
}

/// |a − b| relative to the larger magnitude, 0 when both are 0: no
/// absolute floor, so a payment of 1e-200 is judged as finely as one of 1.
fn relative_gap(a: f64, b: f64) -> f64 {
    let scale = a.abs().max(b.abs());
    if scale == 0.0 {
        0.0
    } else {
        (a - b).abs() / scale
    }
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

    /// The bit-pattern bisection finds the largest winning bid to the ulp
    /// at any magnitude, in at most 64 steps.
    #[test]
    fn the_critical_bid_is_found_to_the_ulp_at_every_magnitude() {
        for critical in [1e-300, 3.7e-200, 1.0, 0.1 + 0.2, 6.02e23, 1e300] {
            let mut steps = 0;
            let found = super::critical_bid(0.0, f64::MAX, |bid| {
                steps += 1;
                bid <= critical
            });
            assert_eq!(found, critical);
            assert!(steps <= 64, "{steps} steps");
        }
        // An empty or inverted bracket returns its low end.
        assert_eq!(super::critical_bid(2.0, 2.0, |_| true), 2.0);
        assert_eq!(super::critical_bid(2.0, 1.0, |_| true), 2.0);
    }

    /// Payments of 1e-200 are judged as finely as payments of 1: a 1% gap
    /// is a 1% gap (the old absolute floor of 1 saw 1e-202).
    #[test]
    fn the_payment_gap_has_no_absolute_floor() {
        assert!(super::relative_gap(1e-200, 1.01e-200) > 0.009);
        assert_eq!(super::relative_gap(0.0, 0.0), 0.0);
        assert_eq!(super::relative_gap(2.0, 2.0), 0.0);
    }

    /// An instance scaled down to 1e-200: the certificate still holds, with
    /// payments equal to the bisected critical bids to 1e-9 relative.
    #[test]
    fn a_certificate_holds_at_tiny_magnitudes() {
        let scale = 1e-200;
        let instance = Instance::new(InstanceSpec {
            budget: 10.0 * scale,
            providers: vec![
                ProviderSpec::new("a", 2.0 * scale, 0.9, 1.5),
                ProviderSpec::new("b", 3.5 * scale, 0.8, 2.0),
                ProviderSpec::new("c", 1.0 * scale, 0.95, 0.8),
                ProviderSpec::new("d", 4.0 * scale, 0.7, 2.5),
            ],
            ..InstanceSpec::default()
        })
        .expect("valid");
        for mechanism in [Auction::Qmia, Auction::Mixed] {
            let certificate = certify(mechanism, &instance).expect("DSIC mechanism");
            assert!(certificate.monotone, "{mechanism}: {certificate:?}");
            assert!(certificate.critical_values, "{mechanism}: {certificate:?}");
            assert!(certificate.max_payment_error < 1e-9, "{certificate:?}");
        }
    }
}
