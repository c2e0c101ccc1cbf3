//! Hostile input (issue 14): valid instances whose numbers leave the normal
//! range of doubles. Each class of broken promise has a regression test
//! (each failed before the fix in `procurement/numerics.rs`); a property
//! test then draws instances over the whole range of doubles and checks
//! every promise of every auction.
//!
//! The promises, as `procurement/numerics.rs` states and proves them, with
//! n providers and ε_n = (8n + 16)·2⁻⁵³ (`tolerance::rounding_bound`):
//!
//! ```text
//! reward_i ≥ b_i·(1 − ε_n)      Q-MIA, Mixed-MIA (cash + tokens), MUT (R·τ/Π)
//! Σ cash ≤ B·(1 + ε_n), Σ tokens ≤ R·(1 + ε_n) (Mixed), Σ τ ≤ Π·(1 + ε_n) (MUT)
//! reward_i = b_i, Σ cash ≤ B    the baselines, exactly
//! ```
//!
//! The checks here restate that bound on their own (they do not call the
//! library's `pays_at_least` and `within_budget`, which the auditor uses),
//! and compare exactly: numbers are scaled by a power of two, which is
//! exact, before a tiny bound is applied, so that no subnormal rounding
//! loosens it.

use procura_mechanisms::procurement::{
    clear, Auction, Instance, InstanceSpec, Outcome, ProviderSpec,
};
use procura_mechanisms::test_support::extreme_procurement_spec;
use procura_mechanisms::tolerance::{
    at_most, pays_at_least, rounding_bound, within_budget, ROUNDING_RELATIVE,
};
use proptest::prelude::*;

/// 2⁻⁵³.
const U: f64 = 1.0 / 9_007_199_254_740_992.0;

/// ε_n, restated.
fn bound(n: usize) -> f64 {
    (8.0 * n as f64 + 16.0) * U
}

/// `(a, b)` scaled by 2²⁰⁰ when both are below 1e-240, exactly.
fn scaled(a: f64, b: f64) -> (f64, f64) {
    if a.max(b) < 1e-240 {
        (a * 2f64.powi(200), b * 2f64.powi(200))
    } else {
        (a, b)
    }
}

/// reward ≥ bid·(1 − ε_n).
fn covers(reward: f64, bid: f64, n: usize) -> bool {
    let (reward, bid) = scaled(reward, bid);
    reward >= bid * (1.0 - bound(n))
}

/// total ≤ budget·(1 + ε_n), and finite.
fn keeps(total: f64, budget: f64, n: usize) -> bool {
    let (total, budget) = scaled(total, budget);
    total.is_finite() && total <= budget * (1.0 + bound(n))
}

fn spec(budget: f64, providers: Vec<ProviderSpec>) -> InstanceSpec {
    InstanceSpec {
        budget,
        providers,
        ..InstanceSpec::default()
    }
}

fn instance(spec: InstanceSpec) -> Instance {
    Instance::new(spec).expect("the instance is valid")
}

fn run(instance: &Instance, mechanism: Auction) -> Outcome {
    clear(instance, mechanism).expect("the mechanism applies")
}

// ---------------------------------------------------------------------------
// Class 1: a budget broken when B·w is subnormal. The fallback of Q-MIA's θ
// computed (B·w)/W with a numerator that had lost its bits: 0.6·5e-324
// rounds to 5e-324, and θ = 5e-324/5e-324 = 1 > B = 0.6.

#[test]
fn subnormal_score_keeps_qmia_within_budget() {
    let instance = instance(spec(0.6, vec![ProviderSpec::new("a", 0.0, 1.0, 5e-324)]));
    let outcome = run(&instance, Auction::Qmia);
    // θ = w·(B/w) = 0.6 exactly, B/w taken with an unbounded exponent.
    assert_eq!(outcome.total_cash(), 0.6, "{outcome:?}");
}

#[test]
fn subnormal_score_keeps_mixed_within_both_budgets() {
    // B_eff = min(0.3/0.5, 0.3/0.5) = 0.6: θ = 0.6, paid 0.3 and 0.3 (was
    // θ = 1, paid 0.5 and 0.5).
    let mut spec = spec(0.3, vec![ProviderSpec::new("a", 0.0, 1.0, 5e-324)]);
    spec.token_budget = Some(0.3);
    spec.liquidity = Some(0.5);
    let outcome = run(&instance(spec), Auction::Mixed);
    assert_eq!(outcome.total_cash(), 0.3, "{outcome:?}");
    assert_eq!(outcome.total_tokens(), 0.3, "{outcome:?}");
}

#[test]
fn subnormal_score_keeps_mut_within_the_pool() {
    // τ = (Π·w)/W_A = Π = 0.6 (was 5e-324/5e-324 = 1).
    let mut spec = spec(1.0, vec![ProviderSpec::new("a", 0.0, 1.0, 5e-324)]);
    spec.token_budget = Some(1.0);
    spec.token_pool = Some(0.6);
    let outcome = run(&instance(spec), Auction::Mut);
    assert_eq!(outcome.total_tokens(), 0.6, "{outcome:?}");
}

// ---------------------------------------------------------------------------
// Class 2: IR broken when B/W or b/w underflows.

#[test]
fn underflowing_share_still_pays_qmia_winners_their_bid() {
    // B/w = 1e-330 underflowed to 0, and θ = w·0 = 0 < b = 1e-300.
    let instance = instance(spec(
        1e-300,
        vec![ProviderSpec::new("a", 1e-300, 1.0, 1e30)],
    ));
    let outcome = run(&instance, Auction::Qmia);
    assert_eq!(outcome.awards().len(), 1);
    let cash = outcome.awards()[0].cash;
    assert!(covers(cash, 1e-300, 1), "{outcome:?}");
    assert!(keeps(cash, 1e-300, 1), "{outcome:?}");
}

#[test]
fn underflowing_share_still_pays_mixed_winners_their_bid() {
    // B_eff/w = 2e-330 underflowed to 0: 0 in cash and 0 in tokens to a
    // winner bidding 5e-324.
    let mut spec = spec(1e-300, vec![ProviderSpec::new("a", 5e-324, 1.0, 1e30)]);
    spec.token_budget = Some(1e-300);
    spec.liquidity = Some(0.5);
    let instance = instance(spec);
    let outcome = run(&instance, Auction::Mixed);
    assert_eq!(outcome.awards().len(), 1);
    let award = outcome.awards()[0];
    assert!(covers(award.cash + award.tokens, 5e-324, 1), "{outcome:?}");
    assert!(keeps(award.cash, 1e-300, 1), "{outcome:?}");
    assert!(keeps(award.tokens, 1e-300, 1), "{outcome:?}");
}

#[test]
fn underflowing_ratio_still_pays_qmia_winners_their_bid() {
    // Both ratios b/w lie near 1e-320 (2024 subnormal steps) and rounded to
    // the same subnormal, a first by id although its true ratio is lower
    // only by a third of a step; b fails its share (b > B·w/2w), so a's
    // critical value is w·r_b, and w times the rounded r_b fell below b_a
    // by 1.5e-4 of it. With unbounded exponents r_b keeps its bits.
    let instance = instance(spec(
        1.5e-290,
        vec![
            ProviderSpec::new("a", 1.000_137_086_876_435_4e-290, 1.0, 1e30),
            ProviderSpec::new("b", 1.000_186_493_441_019_6e-290, 1.0, 1e30),
        ],
    ));
    let outcome = run(&instance, Auction::Qmia);
    assert_eq!(outcome.awards().len(), 1);
    let bid = instance.providers()[0].bid();
    assert!(covers(outcome.awards()[0].cash, bid, 2), "{outcome:?}");
}

/// The auditor counted neither: its IR and budget checks allowed an
/// absolute slack of 1e-12 below 1. The checks it uses now are relative at
/// every magnitude.
#[test]
fn the_auditors_checks_see_tiny_violations() {
    // What the old check, `at_most(bid, reward, ROUNDING_RELATIVE)`, let
    // through:
    assert!(at_most(1e-300, 0.0, ROUNDING_RELATIVE));
    assert!(at_most(5e-324, 0.0, ROUNDING_RELATIVE));
    assert!(!at_most(1.0, 0.6, ROUNDING_RELATIVE));
    assert!(at_most(1e-300 * 1.5, 1e-300, ROUNDING_RELATIVE));
    // What the auditor checks now.
    assert!(!pays_at_least(0.0, 1e-300, 1));
    assert!(!pays_at_least(0.0, 5e-324, 1));
    assert!(!pays_at_least(
        9.999_888_671_826_83e-291,
        1.000_137_086_876_435_4e-290,
        2
    ));
    assert!(!within_budget(1e-300 * 1.5, 1e-300, 1));
    assert!(!within_budget(2e-323, 1e-323, 1));
    // And what it lets through: rounding within ε_n, at every magnitude.
    assert!(pays_at_least(1.0 - f64::EPSILON, 1.0, 1));
    assert!(pays_at_least(1e-300 * (1.0 - f64::EPSILON), 1e-300, 1));
    assert!(within_budget(0.600_000_000_000_000_1, 0.6, 1));
    for n in [0, 1, 7, 1000] {
        assert_eq!(rounding_bound(n), bound(n));
    }
}

/// A token budget below the normal range is accepted and kept: Mixed-MIA
/// rounds tokens down there and pays the difference in cash.
#[test]
fn subnormal_token_budget_is_kept() {
    // B_eff = min(1/0.5, R/0.5) = 2R = 2·5e-324; two equal winners bidding
    // 0 are each owed θ = 5e-324, half in cash and half in tokens: the
    // half-subnormal tokens round down to 0 and the cash up to 5e-324.
    let mut spec = spec(
        1.0,
        vec![
            ProviderSpec::new("a", 0.0, 1.0, 1.0),
            ProviderSpec::new("b", 0.0, 1.0, 1.0),
        ],
    );
    spec.token_budget = Some(5e-324);
    spec.liquidity = Some(0.5);
    let instance = instance(spec);
    let outcome = run(&instance, Auction::Mixed);
    assert_eq!(outcome.awards().len(), 2);
    for award in outcome.awards() {
        assert_eq!((award.cash, award.tokens), (5e-324, 0.0), "{outcome:?}");
    }
    assert!(outcome.total_tokens() <= 5e-324);
}

// ---------------------------------------------------------------------------
// Class 3: false refusals. The scale check doubled B first, so any budget
// from f64::MAX / 2 up was refused, even for the empty market ("-0 times
// budget … overflows").

#[test]
fn budgets_near_the_largest_double_are_not_refused() {
    let empty = Instance::new(spec(f64::MAX, Vec::new()));
    assert!(empty.is_ok(), "{empty:?}");
    for mechanism in Auction::ALL {
        let outcome = clear(&empty.clone().expect("valid"), mechanism);
        if let Ok(outcome) = outcome {
            assert_eq!(outcome.awards().len(), 0);
        }
    }
    let budget = f64::MAX / 1.5;
    let mut spec = spec(
        budget,
        vec![
            ProviderSpec::new("a", 1.0, 1.0, 3.0),
            ProviderSpec {
                volume: Some(10.0),
                ..ProviderSpec::new("b", 1e300, 0.5, 1e-300)
            },
        ],
    );
    spec.token_budget = Some(budget);
    spec.liquidity = Some(0.25);
    spec.token_pool = Some(budget);
    let instance = instance(spec);
    for mechanism in Auction::ALL {
        let outcome = run(&instance, mechanism);
        assert!(!outcome.awards().is_empty(), "{mechanism}: {outcome:?}");
        assert!(
            keeps(outcome.total_cash(), budget, 2),
            "{mechanism}: {outcome:?}"
        );
        assert!(
            keeps(outcome.total_tokens(), budget, 2),
            "{mechanism}: {outcome:?}"
        );
        assert!(outcome.value().is_finite());
    }
}

// ---------------------------------------------------------------------------
// The normal range: why the promises carry ε_n at all. These outcomes are
// what plain doubles give, and stay bit for bit what they were.

#[test]
fn normal_range_rounding_is_within_the_bound() {
    // A lone winner is paid w·(B/w): 37·(0.6/37) = 0.6000000000000001 > 0.6.
    let outcome = run(
        &instance(spec(0.6, vec![ProviderSpec::new("a", 0.0, 1.0, 37.0)])),
        Auction::Qmia,
    );
    assert_eq!(outcome.total_cash(), 0.600_000_000_000_000_1);
    assert!(keeps(outcome.total_cash(), 0.6, 1));
    // b = 1 passes 1 ≤ (1·49)/49 = 1, and is paid 49·(1/49) = 1 − 2⁻⁵³.
    let outcome = run(
        &instance(spec(1.0, vec![ProviderSpec::new("a", 1.0, 1.0, 49.0)])),
        Auction::Qmia,
    );
    assert_eq!(outcome.awards()[0].cash, 1.0 - U);
    assert!(covers(outcome.awards()[0].cash, 1.0, 1));
}

// ---------------------------------------------------------------------------
// Every promise, every auction, numbers over the whole range of doubles.

/// Checks every promise of `mechanism` on `instance`, exactly up to the
/// documented bound.
fn check_promises(instance: &Instance, mechanism: Auction) -> Result<(), TestCaseError> {
    let outcome = run(instance, mechanism);
    let providers = instance.providers();
    let n = providers.len();

    // Amounts and totals are finite and non-negative; the totals are the
    // left folds of the winners' amounts, so losers (absent) get nothing.
    let mut seen = vec![false; n];
    for award in outcome.awards() {
        prop_assert!(!seen[award.provider], "{mechanism}: a winner twice");
        seen[award.provider] = true;
        prop_assert!(
            award.cash.is_finite() && award.cash >= 0.0,
            "{mechanism}: {award:?}"
        );
        prop_assert!(
            award.tokens.is_finite() && award.tokens >= 0.0,
            "{mechanism}: {award:?}"
        );
    }
    let cash = outcome.awards().iter().fold(0.0, |sum, a| sum + a.cash);
    let tokens = outcome.awards().iter().fold(0.0, |sum, a| sum + a.tokens);
    prop_assert_eq!(outcome.total_cash().to_bits(), cash.to_bits());
    prop_assert_eq!(outcome.total_tokens().to_bits(), tokens.to_bits());
    prop_assert!(outcome.total_cash().is_finite() && outcome.total_tokens().is_finite());
    prop_assert!(outcome.value().is_finite());

    // IR.
    for award in outcome.awards() {
        let bid = providers[award.provider].bid();
        let reward = mechanism.reward(instance, &outcome, award.provider);
        prop_assert!(reward.is_finite(), "{mechanism}: reward {reward}");
        match mechanism {
            Auction::Volume | Auction::Trust => {
                prop_assert_eq!(award.cash, bid, "{}: pays as bid", mechanism);
                prop_assert_eq!(award.tokens, 0.0);
            }
            _ => prop_assert!(
                covers(reward, bid, n),
                "{mechanism}: {} bids {bid:e}, paid {reward:e}",
                providers[award.provider].id()
            ),
        }
    }

    // Budgets.
    let budget = instance.budget();
    match mechanism {
        Auction::Volume | Auction::Trust => {
            prop_assert!(outcome.total_cash() <= budget, "{mechanism}: {outcome:?}");
        }
        Auction::Qmia => {
            prop_assert!(keeps(outcome.total_cash(), budget, n), "qmia: {outcome:?}");
            prop_assert_eq!(outcome.total_tokens(), 0.0);
        }
        Auction::Mixed => {
            prop_assert!(keeps(outcome.total_cash(), budget, n), "mixed: {outcome:?}");
            prop_assert!(
                keeps(outcome.total_tokens(), instance.token_budget(), n),
                "mixed: {outcome:?}"
            );
        }
        Auction::Mut => {
            prop_assert_eq!(outcome.total_cash(), 0.0);
            prop_assert!(
                keeps(outcome.total_tokens(), instance.token_pool(), n),
                "mut: {outcome:?}"
            );
        }
    }
    Ok(())
}

/// Fixed seed: the same cases on every run.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x0014_4057_11E0),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(2048))]

    /// Every valid instance, at any magnitude, keeps every promise under
    /// every auction; the invalid ones are refused with a message.
    #[test]
    fn promises_hold_at_any_magnitude(spec in extreme_procurement_spec()) {
        match Instance::new(spec) {
            Ok(instance) => {
                for mechanism in Auction::ALL {
                    check_promises(&instance, mechanism)?;
                }
            }
            Err(error) => prop_assert!(!error.to_string().is_empty()),
        }
    }

    /// The same instances with every bid moved to a boundary of the
    /// proportional share: the largest bid that still passes alone,
    /// b = (B·w)/w, as plain doubles compute it where they can.
    #[test]
    fn promises_hold_for_bids_at_their_share(spec in extreme_procurement_spec()) {
        let mut spec = spec;
        let budget = spec.budget;
        for provider in &mut spec.providers {
            let score = provider.quality * provider.utility;
            let share = (budget * score) / score;
            if score > 0.0 && share.is_finite() {
                provider.bid = share;
            }
        }
        if let Ok(instance) = Instance::new(spec) {
            for mechanism in Auction::ALL {
                check_promises(&instance, mechanism)?;
            }
        }
    }
}
