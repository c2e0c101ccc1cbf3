//! The plain-`f64` path of the formulas against the [`Wide`] path, bit for
//! bit, on random instances within [`FastRange`] (`numerics.rs`), with
//! numbers drawn across the whole range and at its edges.

use proptest::prelude::*;

use super::baselines::{pay_as_bid, trust_ranking, volume_ranking};
use super::numerics::{FastRange, Wide};
use super::UnilateralView;
use super::{mixed, mut_token, qmia, Auction, Instance, InstanceSpec, Outcome, ProviderSpec};

/// `2^exponent`, for |exponent| ≤ 1023.
fn power(exponent: i32) -> f64 {
    f64::from_bits(u64::from((exponent + 1023).unsigned_abs()) << 52)
}

/// A number 0 or within [2^-`k`, 2^`k`]: its edges (and one ulp inside
/// them) half the time, otherwise a random significand at a random
/// exponent.
fn in_range(k: i32) -> BoxedStrategy<f64> {
    let (low, high) = (power(-k), power(k));
    prop_oneof![
        1 => Just(0.0),
        1 => Just(low),
        1 => Just(high),
        1 => Just(f64::from_bits(low.to_bits() + 1)),
        1 => Just(f64::from_bits(high.to_bits() - 1)),
        1 => Just(1.0),
        6 => ((-k)..k, 1.0f64..2.0).prop_map(|(exponent, significand)| significand * power(exponent)),
        2 => 0.1f64..10.0,
    ]
    .boxed()
}

/// A share in [0, 1]: 0, 1, one half, or random in [1/2, 1] (so that a
/// product with a number in range mostly stays in range).
fn share() -> BoxedStrategy<f64> {
    prop_oneof![
        1 => Just(0.0),
        2 => Just(1.0),
        1 => Just(0.5),
        4 => 0.5f64..1.0,
    ]
    .boxed()
}

/// A valid instance all of whose numbers are 0 or within [2⁻²⁰⁰, 2²⁰⁰]
/// (some are then refused by [`FastRange`] all the same, a product of two
/// of them leaving the range; the tests skip those).
fn instance() -> impl Strategy<Value = Instance> {
    (
        in_range(200).prop_filter("budget > 0", |budget| *budget > 0.0),
        in_range(200),
        share(),
        in_range(200).prop_filter("pool > 0", |pool| *pool > 0.0),
        proptest::collection::vec(
            (
                in_range(200),
                share(),
                in_range(200),
                in_range(200),
                proptest::option::of(share()),
            ),
            1..8,
        ),
    )
        .prop_filter_map(
            "valid",
            |(budget, token_budget, liquidity, token_pool, providers)| {
                Instance::new(InstanceSpec {
                    budget,
                    token_budget: Some(token_budget),
                    liquidity: Some(liquidity),
                    token_pool: Some(token_pool),
                    providers: providers
                        .into_iter()
                        .enumerate()
                        .map(
                            |(i, (bid, quality, utility, volume, claimed_quality))| ProviderSpec {
                                volume: Some(volume),
                                claimed_quality,
                                // Ids out of order, some keys tied.
                                ..ProviderSpec::new(
                                    format!("p{}", (7 * i) % 12),
                                    bid,
                                    quality,
                                    utility,
                                )
                            },
                        )
                        .collect(),
                })
                .ok()
            },
        )
}

/// Every amount of an outcome, as bits.
fn bits(outcome: &Outcome) -> Vec<(usize, u64, u64)> {
    outcome
        .awards()
        .iter()
        .map(|award| (award.provider, award.cash.to_bits(), award.tokens.to_bits()))
        .collect()
}

fn both(fast: &Outcome, wide: &Outcome) -> Result<(), TestCaseError> {
    prop_assert_eq!(bits(fast), bits(wide));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 1000,
        max_global_rejects: 1_000_000,
        ..ProptestConfig::default()
    })]

    #[test]
    fn clearing_in_f64_is_clearing_in_wide(instance in instance()) {
        prop_assume!(FastRange::instance(&instance));
        both(&qmia::clear_in::<f64>(&instance), &qmia::clear_in::<Wide>(&instance))?;
        both(&mut_token::clear_in::<f64>(&instance), &mut_token::clear_in::<Wide>(&instance))?;
        both(&mixed::clear_in::<f64>(&instance), &mixed::clear_in::<Wide>(&instance))?;
        both(
            &pay_as_bid(Auction::Volume, &instance, &volume_ranking::<f64>(&instance)),
            &pay_as_bid(Auction::Volume, &instance, &volume_ranking::<Wide>(&instance)),
        )?;
        both(
            &pay_as_bid(Auction::Trust, &instance, &trust_ranking::<f64>(&instance)),
            &pay_as_bid(Auction::Trust, &instance, &trust_ranking::<Wide>(&instance)),
        )?;
    }

    #[test]
    fn the_unilateral_view_in_f64_is_the_view_in_wide(
        instance in instance(),
        participant in 0usize..8,
        reports in proptest::collection::vec((in_range(400), share()), 1..8),
    ) {
        prop_assume!(FastRange::instance(&instance));
        let participant = participant % instance.providers().len();
        for mechanism in Auction::ALL {
            let view = UnilateralView::with_cost(mechanism, &instance, participant, 1.0)
                .expect("a participant of the instance");
            let fast = view.fast.as_ref().expect("within FastRange");
            for claim in [0.0, 1.0] {
                let weight = view.weight(claim);
                if weight > 0.0 && FastRange::holds(weight) {
                    let (f, w) = (
                        view.critical_bids_in(fast, weight),
                        view.critical_bids_in(view.wide(), weight),
                    );
                    prop_assert_eq!(
                        f.iter().map(|b| b.to_bits()).collect::<Vec<_>>(),
                        w.iter().map(|b| b.to_bits()).collect::<Vec<_>>()
                    );
                }
            }
            for &(bid, claim) in &reports {
                let weight = view.weight(claim);
                if weight > 0.0 && FastRange::holds(weight) && FastRange::report(bid) {
                    let f = view.utility_in(fast, bid, weight).map(f64::to_bits);
                    let w = view.utility_in(view.wide(), bid, weight).map(f64::to_bits);
                    prop_assert_eq!(f, w, "{} bid {} claim {}", mechanism, bid, claim);
                }
                // The dispatching entry point agrees with the Wide path too.
                prop_assert_eq!(
                    view.utility(&[bid, claim]).map(f64::to_bits),
                    if weight > 0.0 && mechanism.check_clears(&instance).is_ok() {
                        view.utility_in(view.wide(), bid, weight).map(f64::to_bits)
                    } else {
                        view.utility(&[bid, claim]).map(f64::to_bits)
                    }
                );
            }
        }
    }

    #[test]
    fn token_values_agree(instance in instance(), tokens in in_range(400)) {
        prop_assume!(FastRange::holds(instance.token_budget()) && FastRange::holds(instance.token_pool()));
        let wide = Wide::product_over(instance.token_budget(), tokens, instance.token_pool()).to_amount();
        prop_assert_eq!(mut_token::token_value(&instance, tokens).to_bits(), wide.to_bits());
    }
}

proptest! {
    #[test]
    fn changes_keep_the_count_outside_the_range(
        instance in instance(),
        changes in proptest::collection::vec((0usize..8, in_range(400), proptest::option::of(share())), 0..4),
    ) {
        let count = |instance: &Instance| FastRange::count_outside(instance.providers());
        prop_assert_eq!(instance.outside_fast_range(), count(&instance));
        let n = instance.providers().len();
        let changes: Vec<_> = changes
            .into_iter()
            .map(|(index, bid, claim)| (index % n, bid, claim))
            .collect();
        let changed = instance.with_reports(&changes).expect("valid reports");
        prop_assert_eq!(changed.outside_fast_range(), count(&changed));
        for &(index, bid, claim) in &changes {
            let one = instance.with_bid(index, bid).expect("a valid bid");
            prop_assert_eq!(one.outside_fast_range(), count(&one));
            if let Some(claim) = claim {
                let one = instance.with_claimed_quality(index, claim).expect("a valid claim");
                prop_assert_eq!(one.outside_fast_range(), count(&one));
            }
        }
    }
}
