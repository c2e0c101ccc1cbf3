//! The shared invariant suite (spec §A.3–§A.6), run by proptest over random
//! instances for every mechanism, plus the extra Myerson checks for the DSIC
//! mechanisms (Q-MIA and Mixed-MIA): critical values equal a brute-force
//! bisection of the allocation rule, and no bid on a fine grid improves any
//! provider's utility.

use procura::procurement::{clear, Instance, InstanceSpec, Mechanism, Outcome, ProviderSpec};
use procura::tolerance::{approx_eq, at_most, GOLDEN_RELATIVE, ROUNDING_RELATIVE};
use proptest::prelude::*;

// ---------------------------------------------------------------------------
// Random instances.

/// Numbers drawn from a small set half of the time, so that ties in ratio,
/// zero scores, zero bids and boundary qualities actually occur.
fn mostly_continuous(low: f64, high: f64, specials: &'static [f64]) -> BoxedStrategy<f64> {
    prop_oneof![
        3 => low..=high,
        1 => proptest::sample::select(specials),
    ]
    .boxed()
}

fn provider(index: usize) -> impl Strategy<Value = ProviderSpec> {
    (
        mostly_continuous(0.0, 5.0, &[0.0, 1.0, 2.0, 2.5]),
        mostly_continuous(0.0, 1.0, &[0.0, 0.5, 1.0]),
        mostly_continuous(0.0, 3.0, &[0.0, 1.0, 2.0]),
        mostly_continuous(0.0, 2000.0, &[0.0, 100.0, 1000.0]),
        proptest::option::of(mostly_continuous(0.0, 1.0, &[0.0, 1.0])),
    )
        .prop_map(
            move |(bid, quality, utility, volume, claimed_quality)| ProviderSpec {
                // Ids out of input order, so ranking ties exercise the id rule.
                id: format!("p{:02}", (index * 7) % 11),
                bid,
                quality,
                utility,
                volume: Some(volume),
                claimed_quality,
            },
        )
}

fn instance() -> impl Strategy<Value = Instance> {
    (1usize..=7)
        .prop_flat_map(|n| {
            (
                mostly_continuous(0.1, 12.0, &[1.0, 5.0]),
                mostly_continuous(0.0, 6.0, &[0.0, 1.0]),
                mostly_continuous(0.0, 1.0, &[0.0, 0.5, 1.0]),
                mostly_continuous(0.5, 1000.0, &[1.0, 1000.0]),
                (0..n).map(provider).collect::<Vec<_>>(),
            )
        })
        .prop_map(|(budget, token_budget, liquidity, token_pool, providers)| {
            let spec = InstanceSpec {
                budget,
                token_budget: Some(token_budget),
                liquidity: Some(liquidity),
                token_pool: Some(token_pool),
                providers,
            };
            Instance::new(spec).expect("generated instances are valid")
        })
}

// ---------------------------------------------------------------------------
// Helpers shared by the checks.

fn run(instance: &Instance, mechanism: Mechanism) -> Outcome {
    clear(instance, mechanism).expect("generated instances carry token_budget")
}

fn wins(instance: &Instance, mechanism: Mechanism, index: usize) -> bool {
    run(instance, mechanism).award_of(index).is_some()
}

/// What provider `index` receives, valued as the spec says: cash and
/// Mixed-MIA tokens at face value, a MUT share τ at R·τ/Π.
fn reward(instance: &Instance, outcome: &Outcome, index: usize) -> f64 {
    outcome
        .award_of(index)
        .map_or(0.0, |award| match outcome.mechanism() {
            Mechanism::Mut => instance.token_budget() * award.tokens / instance.token_pool(),
            _ => award.cash + award.tokens,
        })
}

/// The utility of provider `index`, whose true cost is `cost`, in `outcome`.
fn utility(instance: &Instance, outcome: &Outcome, index: usize, cost: f64) -> f64 {
    match outcome.award_of(index) {
        Some(_) => reward(instance, outcome, index) - cost,
        None => 0.0,
    }
}

/// The budget a mechanism's allocation runs with.
fn allocation_budget(instance: &Instance, mechanism: Mechanism) -> f64 {
    match mechanism {
        Mechanism::Mut => instance.token_budget(),
        Mechanism::Mixed => procura::procurement::mixed::effective_budget(instance),
        _ => instance.budget(),
    }
}

/// The supremum of the bids with which `index` wins, by bisection of the
/// allocation rule alone (the test oracle of §A.3). Starts from a bid that
/// wins (its own) and one that cannot (above the whole budget).
fn bisect_critical_value(instance: &Instance, mechanism: Mechanism, index: usize) -> f64 {
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

fn check_invariants(instance: &Instance, mechanism: Mechanism) {
    let outcome = run(instance, mechanism);
    let providers = instance.providers();

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

    // Losers are paid nothing: every payment belongs to a winner, and the
    // totals are exactly the winners' payments.
    let cash: f64 = outcome.awards().iter().map(|award| award.cash).sum();
    let tokens: f64 = outcome.awards().iter().map(|award| award.tokens).sum();
    assert!(approx_eq(outcome.total_cash(), cash, ROUNDING_RELATIVE));
    assert!(approx_eq(outcome.total_tokens(), tokens, ROUNDING_RELATIVE));

    // IR: each winner receives at least its bid.
    for award in outcome.awards() {
        let bid = providers[award.provider].bid();
        let reward = reward(instance, &outcome, award.provider);
        assert!(
            at_most(bid, reward, ROUNDING_RELATIVE),
            "{mechanism}: IR broken for {}: reward {reward} < bid {bid}",
            providers[award.provider].id()
        );
    }

    // Budgets: cash ≤ B, tokens ≤ R (MUT: shares ≤ Π, worth ≤ R).
    assert!(
        at_most(outcome.total_cash(), instance.budget(), ROUNDING_RELATIVE),
        "{mechanism}: cash {} over budget {}",
        outcome.total_cash(),
        instance.budget()
    );
    let token_bound = match mechanism {
        Mechanism::Mut => instance.token_pool(),
        _ => instance.token_budget(),
    };
    assert!(
        at_most(outcome.total_tokens(), token_bound, ROUNDING_RELATIVE),
        "{mechanism}: tokens {} over {token_bound}",
        outcome.total_tokens()
    );
    if matches!(
        mechanism,
        Mechanism::Qmia | Mechanism::Volume | Mechanism::Trust
    ) {
        assert_eq!(outcome.total_tokens(), 0.0, "{mechanism} pays no tokens");
    }
    if mechanism == Mechanism::Mut {
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
fn check_myerson(instance: &Instance, mechanism: Mechanism) {
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

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn qmia_keeps_the_invariants(instance in instance()) {
        check_invariants(&instance, Mechanism::Qmia);
    }

    #[test]
    fn mut_keeps_the_invariants(instance in instance()) {
        check_invariants(&instance, Mechanism::Mut);
    }

    #[test]
    fn mixed_keeps_the_invariants(instance in instance()) {
        check_invariants(&instance, Mechanism::Mixed);
    }

    #[test]
    fn volume_keeps_the_invariants(instance in instance()) {
        check_invariants(&instance, Mechanism::Volume);
    }

    #[test]
    fn trust_keeps_the_invariants(instance in instance()) {
        check_invariants(&instance, Mechanism::Trust);
    }

    #[test]
    fn qmia_pays_critical_values_and_is_truthful(instance in instance()) {
        check_myerson(&instance, Mechanism::Qmia);
    }

    #[test]
    fn mixed_pays_critical_values_and_is_truthful(instance in instance()) {
        check_myerson(&instance, Mechanism::Mixed);
    }

    /// Mixed-MIA at λ = 1 is Q-MIA (§A.5) when B ≤ R/(1−λ) reads +∞.
    #[test]
    fn mixed_at_full_liquidity_is_qmia(instance in instance()) {
        let mut spec = instance.to_spec();
        spec.liquidity = Some(1.0);
        let instance = Instance::new(spec).expect("valid");
        let mixed = run(&instance, Mechanism::Mixed);
        let qmia = run(&instance, Mechanism::Qmia);
        prop_assert_eq!(mixed.awards(), qmia.awards());
    }

    /// Relabelling providers (a permutation of the input order) changes
    /// nothing but indices: outcomes depend on ids, not on file order.
    #[test]
    fn input_order_does_not_matter(instance in instance(), mechanism in proptest::sample::select(Mechanism::ALL.to_vec())) {
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
        let forward = run(&instance, mechanism);
        let backward = run(&reversed, mechanism);
        prop_assert_eq!(ids(&instance, &forward), ids(&reversed, &backward));
    }
}
