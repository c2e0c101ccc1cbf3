//! The shared invariant suite (spec §A.3–§A.6), run by proptest over random
//! instances for every mechanism, plus the extra Myerson checks for the DSIC
//! mechanisms (Q-MIA and Mixed-MIA): critical values equal a brute-force
//! bisection of the allocation rule, and no bid on a fine grid improves any
//! provider's utility.

use procura_mechanisms::procurement::{clear, Auction, Instance, Outcome};
use procura_mechanisms::test_support::{extreme_procurement_spec, procurement_instance};
use procura_mechanisms::tolerance::{
    approx_eq, at_most, pays_at_least, within_budget, GOLDEN_RELATIVE, ROUNDING_RELATIVE,
};
use proptest::prelude::*;

/// Random instances of the shared suite: up to 7 providers.
fn instance() -> impl Strategy<Value = Instance> {
    procurement_instance(7)
}

// ---------------------------------------------------------------------------
// Helpers shared by the checks.

/// Clears `instance`, or returns `None` for MUT, or Mixed-MIA with λ < 1,
/// without a token budget (and checks that this is the only way to fail).
fn try_run(instance: &Instance, mechanism: Auction) -> Option<Outcome> {
    match clear(instance, mechanism) {
        Ok(outcome) => Some(outcome),
        Err(error) => {
            let pays_tokens = mechanism == Auction::Mut
                || (mechanism == Auction::Mixed && instance.liquidity() < 1.0);
            assert!(pays_tokens && !instance.has_token_budget(), "{error}");
            None
        }
    }
}

fn run(instance: &Instance, mechanism: Auction) -> Outcome {
    try_run(instance, mechanism).expect("mechanism applies")
}

fn wins(instance: &Instance, mechanism: Auction, index: usize) -> bool {
    run(instance, mechanism).award_of(index).is_some()
}

/// What provider `index` receives (cash and Mixed-MIA tokens at face
/// value, a MUT share τ at R·τ/Π).
fn reward(instance: &Instance, outcome: &Outcome, index: usize) -> f64 {
    outcome.mechanism().reward(instance, outcome, index)
}

/// The utility of provider `index`, whose true cost is `cost`, in `outcome`.
fn utility(instance: &Instance, outcome: &Outcome, index: usize, cost: f64) -> f64 {
    match outcome.award_of(index) {
        Some(_) => reward(instance, outcome, index) - cost,
        None => 0.0,
    }
}

fn allocation_budget(instance: &Instance, mechanism: Auction) -> f64 {
    mechanism.allocation_budget(instance)
}

/// The winners of §A.3 and §A.6 written straight from the spec, as an
/// independent reference for the library's shared ranking code: sort by the
/// key with ids breaking ties, recompute W_j (or the spend) from scratch for
/// every j, and stop at the first failure. Quadratic, and fine for tests.
fn reference_winners(instance: &Instance, mechanism: Auction) -> Vec<String> {
    let providers = instance.providers();
    let key = |index: usize| -> Option<f64> {
        let p = &providers[index];
        let weight = match mechanism {
            Auction::Volume => p.volume(),
            Auction::Trust => p.claimed_quality() * p.volume(),
            _ => p.quality() * p.utility(),
        };
        (weight > 0.0).then(|| p.bid() / weight)
    };
    let mut order: Vec<usize> = (0..providers.len()).filter(|&i| key(i).is_some()).collect();
    order.sort_by(|&a, &b| {
        let (ka, kb) = (key(a).unwrap_or(0.0), key(b).unwrap_or(0.0));
        if ka < kb {
            std::cmp::Ordering::Less
        } else if ka > kb {
            std::cmp::Ordering::Greater
        } else {
            providers[a]
                .id()
                .as_bytes()
                .cmp(providers[b].id().as_bytes())
        }
    });
    let budget = allocation_budget(instance, mechanism);
    let mut winners = Vec::new();
    for j in 0..order.len() {
        let p = &providers[order[j]];
        let passes = match mechanism {
            Auction::Volume | Auction::Trust => {
                let spend = order[..=j]
                    .iter()
                    .fold(0.0, |sum, &i| sum + providers[i].bid());
                spend <= budget
            }
            _ => {
                let total = order[..=j].iter().fold(0.0, |sum, &i| {
                    sum + providers[i].quality() * providers[i].utility()
                });
                p.bid() <= (budget * (p.quality() * p.utility())) / total
            }
        };
        if !passes {
            break;
        }
        winners.push(p.id().to_owned());
    }
    winners
}

/// The supremum of the bids with which `index` wins, by bisection of the
/// allocation rule alone (the test oracle of §A.3). Starts from a bid that
/// wins (its own) and one that cannot (above the whole budget).
fn bisect_critical_value(instance: &Instance, mechanism: Auction, index: usize) -> f64 {
    let mut low = instance.providers()[index].bid();
    let mut high = 2.0 * allocation_budget(instance, mechanism) + 1.0;
    let deviate = |bid: f64| instance.with_bid(index, bid).expect("bid is valid");
    assert!(wins(&deviate(low), mechanism, index));
    assert!(!wins(&deviate(high), mechanism, index));
    for _ in 0..200 {
        let middle = low + (high - low) / 2.0;
        if middle <= low || middle >= high {
            break;
        }
        if wins(&deviate(middle), mechanism, index) {
            low = middle;
        } else {
            high = middle;
        }
    }
    low
}

// ---------------------------------------------------------------------------
// The shared suite: every mechanism must pass it.

fn check_invariants(instance: &Instance, mechanism: Auction) {
    let Some(outcome) = try_run(instance, mechanism) else {
        return;
    };
    let providers = instance.providers();

    // The allocation is the spec's, as an independent implementation
    // computes it, and exactly the winners are paid.
    let winners: Vec<String> = outcome
        .winners()
        .map(|i| providers[i].id().to_owned())
        .collect();
    assert_eq!(
        winners,
        reference_winners(instance, mechanism),
        "{mechanism}: winners"
    );

    // Winners are distinct, and payments are finite and non-negative.
    let mut seen = vec![false; providers.len()];
    for award in outcome.awards() {
        assert!(!seen[award.provider], "{mechanism}: winner listed twice");
        seen[award.provider] = true;
        assert!(
            award.cash.is_finite() && award.cash >= 0.0,
            "{mechanism}: cash {}",
            award.cash
        );
        assert!(
            award.tokens.is_finite() && award.tokens >= 0.0,
            "{mechanism}: tokens {}",
            award.tokens
        );
    }

    // The totals are exactly the winners' payments (losers get nothing).
    let cash: f64 = outcome.awards().iter().map(|award| award.cash).sum();
    let tokens: f64 = outcome.awards().iter().map(|award| award.tokens).sum();
    assert!(approx_eq(outcome.total_cash(), cash, ROUNDING_RELATIVE));
    assert!(approx_eq(outcome.total_tokens(), tokens, ROUNDING_RELATIVE));

    // IR: each winner receives at least its bid: exactly under the
    // pay-as-bid baselines, up to the proved rounding bound ε_n
    // (`tolerance::rounding_bound`) under the others.
    let n = providers.len();
    let pays_as_bid = matches!(mechanism, Auction::Volume | Auction::Trust);
    for award in outcome.awards() {
        let bid = providers[award.provider].bid();
        let reward = reward(instance, &outcome, award.provider);
        let covered = if pays_as_bid {
            reward == bid
        } else {
            pays_at_least(reward, bid, n)
        };
        assert!(
            covered,
            "{mechanism}: IR broken for {}: reward {reward} < bid {bid}",
            providers[award.provider].id()
        );
    }

    // Budgets: cash ≤ B, tokens ≤ R (MUT: shares ≤ Π): exactly under the
    // baselines, up to ε_n under the others.
    assert!(
        if pays_as_bid {
            outcome.total_cash() <= instance.budget()
        } else {
            within_budget(outcome.total_cash(), instance.budget(), n)
        },
        "{mechanism}: cash {} over budget {}",
        outcome.total_cash(),
        instance.budget()
    );
    let token_bound = match mechanism {
        Auction::Mut => instance.token_pool(),
        _ => instance.token_budget(),
    };
    assert!(
        within_budget(outcome.total_tokens(), token_bound, n),
        "{mechanism}: tokens {} over {token_bound}",
        outcome.total_tokens()
    );
    if matches!(mechanism, Auction::Qmia | Auction::Volume | Auction::Trust) {
        assert_eq!(outcome.total_tokens(), 0.0, "{mechanism} pays no tokens");
    }
    if mechanism == Auction::Mut {
        assert_eq!(outcome.total_cash(), 0.0, "mut pays no cash");
    }

    // Monotone allocation: a winner still wins with any lower bid, and a
    // loser still loses with any higher bid.
    for (index, provider) in providers.iter().enumerate() {
        let bid = provider.bid();
        let won = outcome.award_of(index).is_some();
        let others = if won {
            [0.0, bid * 0.5, bid * 0.999]
        } else {
            [bid * 1.001 + 1e-9, bid * 2.0 + 0.5, bid + 100.0]
        };
        for other in others {
            let deviation = instance.with_bid(index, other).expect("bid is valid");
            assert_eq!(
                wins(&deviation, mechanism, index),
                won,
                "{mechanism}: allocation not monotone for {} at bid {other} (truth {bid})",
                provider.id()
            );
        }
    }
}

/// The Myerson checks of §A.3 for the DSIC mechanisms.
fn check_myerson(instance: &Instance, mechanism: Auction) {
    let outcome = run(instance, mechanism);
    let providers = instance.providers();

    // Every payment is the critical value found by bisecting the allocation.
    for award in outcome.awards() {
        let theta = award.cash + award.tokens;
        let oracle = bisect_critical_value(instance, mechanism, award.provider);
        assert!(
            approx_eq(theta, oracle, GOLDEN_RELATIVE),
            "{mechanism}: {} paid {theta}, bisection gives {oracle}",
            providers[award.provider].id()
        );
    }

    // No bid on a fine grid beats the truth, for winners and losers alike.
    let top = 2.0 * allocation_budget(instance, mechanism) + 1.0;
    for (index, provider) in providers.iter().enumerate() {
        let cost = provider.bid();
        let truthful = utility(instance, &outcome, index, cost);
        let grid = (0..=120).map(|k| top * f64::from(k) / 120.0);
        let near_truth = (1..=10).flat_map(|k| {
            let step = 0.01 * f64::from(k) * (cost + 0.1);
            [cost - step, cost + step]
        });
        for bid in grid.chain(near_truth).filter(|bid| *bid >= 0.0) {
            let deviation = instance.with_bid(index, bid).expect("bid is valid");
            let lie = utility(instance, &run(&deviation, mechanism), index, cost);
            assert!(
                at_most(lie, truthful, ROUNDING_RELATIVE),
                "{mechanism}: {} gains {} by bidding {bid} instead of {cost}",
                provider.id(),
                lie - truthful
            );
        }
    }
}

/// Fixed seed: CI sees the same cases on every run (STYLE: seeded,
/// reproducible inputs). Failures found are saved as regressions.
fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 96,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x5EED_2026),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    /// No valid instance, however extreme its magnitudes, yields a NaN or
    /// infinite payment, total or value (the output would print `null`).
    #[test]
    fn outcomes_are_finite_at_any_magnitude(spec in extreme_procurement_spec()) {
        // Instances whose totals could overflow, or with a subnormal budget,
        // are refused; the rest must clear (every promise: tests/hostile.rs).
        if let Ok(instance) = Instance::new(spec) {
            for mechanism in Auction::ALL {
                let outcome = run(&instance, mechanism);
                for award in outcome.awards() {
                    prop_assert!(award.cash.is_finite() && award.tokens.is_finite(), "{mechanism}: {award:?}");
                }
                prop_assert!(outcome.total_cash().is_finite() && outcome.total_tokens().is_finite());
                prop_assert!(outcome.value().is_finite());
            }
        }
    }

    #[test]
    fn qmia_keeps_the_invariants(instance in instance()) {
        check_invariants(&instance, Auction::Qmia);
    }

    #[test]
    fn mut_keeps_the_invariants(instance in instance()) {
        check_invariants(&instance, Auction::Mut);
    }

    #[test]
    fn mixed_keeps_the_invariants(instance in instance()) {
        check_invariants(&instance, Auction::Mixed);
    }

    #[test]
    fn volume_keeps_the_invariants(instance in instance()) {
        check_invariants(&instance, Auction::Volume);
    }

    #[test]
    fn trust_keeps_the_invariants(instance in instance()) {
        check_invariants(&instance, Auction::Trust);
    }

    #[test]
    fn qmia_pays_critical_values_and_is_truthful(instance in instance()) {
        check_myerson(&instance, Auction::Qmia);
    }

    #[test]
    fn mixed_pays_critical_values_and_is_truthful(instance in instance()) {
        check_myerson(&instance, Auction::Mixed);
    }

    /// Mixed-MIA at λ = 1 is Q-MIA (§A.5) when B ≤ R/(1−λ) reads +∞.
    #[test]
    fn mixed_at_full_liquidity_is_qmia(instance in instance()) {
        let mut spec = instance.to_spec();
        spec.liquidity = Some(1.0);
        let instance = Instance::new(spec).expect("valid");
        let mixed = run(&instance, Auction::Mixed);
        let qmia = run(&instance, Auction::Qmia);
        prop_assert_eq!(mixed.awards(), qmia.awards());
    }

    /// Relabelling providers (a permutation of the input order) changes
    /// nothing but indices: outcomes depend on ids, not on file order.
    #[test]
    fn input_order_does_not_matter(instance in instance(), mechanism in proptest::sample::select(Auction::ALL.to_vec())) {
        let mut spec = instance.to_spec();
        spec.providers.reverse();
        let reversed = Instance::new(spec).expect("valid");
        let ids = |instance: &Instance, outcome: &Outcome| -> Vec<(String, u64, u64)> {
            outcome.awards().iter().map(|award| (
                instance.providers()[award.provider].id().to_owned(),
                award.cash.to_bits(),
                award.tokens.to_bits(),
            )).collect()
        };
        if let (Some(forward), Some(backward)) = (try_run(&instance, mechanism), try_run(&reversed, mechanism)) {
            prop_assert_eq!(ids(&instance, &forward), ids(&reversed, &backward));
        }
    }
}
