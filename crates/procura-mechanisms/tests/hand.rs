//! Small cases derived by hand, with the arithmetic in the comments, and
//! the concrete profitable misreports that show MUT and the baselines are
//! not DSIC (§A.4, §A.6).

use procura_mechanisms::procurement::{clear, Auction, Instance, InstanceSpec, ProviderSpec};
use procura_mechanisms::tolerance::{approx_eq, GOLDEN_RELATIVE};

/// A provider with score w = quality · utility; `volume` and
/// `claimed_quality` for the baselines.
fn provider(id: &str, bid: f64, quality: f64, utility: f64) -> ProviderSpec {
    ProviderSpec::new(id, bid, quality, utility)
}

fn market(budget: f64, providers: Vec<ProviderSpec>) -> Instance {
    Instance::new(InstanceSpec {
        budget,
        providers,
        ..InstanceSpec::default()
    })
    .expect("hand-written instance is valid")
}

/// Clears `instance` and checks the winners (ids, in order) with their
/// (cash, tokens).
fn check(instance: &Instance, mechanism: Auction, expected: &[(&str, f64, f64)]) {
    let outcome = clear(instance, mechanism).expect("mechanism applies");
    let got: Vec<(&str, f64, f64)> = outcome
        .awards()
        .iter()
        .map(|award| {
            let id = instance.providers()[award.provider].id();
            (id, award.cash, award.tokens)
        })
        .collect();
    assert_eq!(
        got.len(),
        expected.len(),
        "{mechanism}: winners {got:?}, expected {expected:?}"
    );
    for (got, expected) in got.iter().zip(expected) {
        assert_eq!(
            got.0, expected.0,
            "{mechanism}: winner order {got:?} vs {expected:?}"
        );
        assert!(
            approx_eq(got.1, expected.1, GOLDEN_RELATIVE)
                && approx_eq(got.2, expected.2, GOLDEN_RELATIVE),
            "{mechanism}: {got:?}, expected {expected:?}"
        );
    }
}

/// The utility of provider `id` with true cost `cost` when `instance` is
/// cleared: reward minus cost if it wins, else 0. MUT shares count R·τ/Π.
fn utility(instance: &Instance, mechanism: Auction, id: &str, cost: f64) -> f64 {
    let outcome = clear(instance, mechanism).expect("mechanism applies");
    let index = instance
        .providers()
        .iter()
        .position(|provider| provider.id() == id)
        .expect("provider exists");
    match outcome.award_of(index) {
        None => 0.0,
        Some(award) if mechanism == Auction::Mut => {
            instance.token_budget() * award.tokens / instance.token_pool() - cost
        }
        Some(award) => award.cash + award.tokens - cost,
    }
}

fn index_of(instance: &Instance, id: &str) -> usize {
    instance
        .providers()
        .iter()
        .position(|provider| provider.id() == id)
        .expect("provider exists")
}

#[test]
fn qmia_two_winners_share_the_budget() {
    // B = 10; a: w = 1, r = 1; c: w = 1, r = 2. Order a, c.
    // Selection: a: 1 ≤ 10·1/1 = 10 ✓; c: 2 ≤ 10·1/2 = 5 ✓.
    // θ_a: others r' = (2). m = 1: 2 ≤ 10/(1+1) = 5 ✓, so m* = 1 and
    //      θ_a = 1·min(r'_2 = ∞, 10/2) = 5. θ_c likewise: 1 ≤ 5, θ_c = 5.
    // Σ θ = 10 = B exactly.
    let instance = market(
        10.0,
        vec![provider("c", 2.0, 1.0, 1.0), provider("a", 1.0, 1.0, 1.0)],
    );
    check(
        &instance,
        Auction::Qmia,
        &[("a", 5.0, 0.0), ("c", 5.0, 0.0)],
    );
}

#[test]
fn qmia_critical_value_can_be_the_next_ratio() {
    // B = 10; a: r = 1, c: r = 2, d: r = 4, all w = 1.
    // Selection: a ✓; c: 2 ≤ 10/2 = 5 ✓; d: 4 ≤ 10/3 ≈ 3.33 ✗. Winners a, c.
    // θ_a: others (2, 4). m = 1: 2 ≤ 10/2 ✓; m = 2: 4 ≤ 10/3 ✗. m* = 1,
    //      θ_a = 1·min(r'_2 = 4, 10/2 = 5) = 4.
    // θ_c: others (1, 4). m* = 1 likewise, θ_c = min(4, 5) = 4.
    // Check: c bidding 4.5 lets d in first (d: 4 ≤ 10/2 ✓) and then fails
    // (4.5 > 10/3); bidding 3.9 it stays ahead of d and wins.
    let instance = market(
        10.0,
        vec![
            provider("a", 1.0, 1.0, 1.0),
            provider("c", 2.0, 1.0, 1.0),
            provider("d", 4.0, 1.0, 1.0),
        ],
    );
    check(
        &instance,
        Auction::Qmia,
        &[("a", 4.0, 0.0), ("c", 4.0, 0.0)],
    );
    let c = index_of(&instance, "c");
    let above = clear(&instance.with_bid(c, 4.5).expect("valid"), Auction::Qmia).expect("clears");
    assert!(above.award_of(c).is_none());
    let below = clear(&instance.with_bid(c, 3.9).expect("valid"), Auction::Qmia).expect("clears");
    assert!(below.award_of(c).is_some());
}

#[test]
fn qmia_weights_scores_by_quality_and_utility() {
    // B = 6; a: q = 0.5, μ = 4, w = 2, r = 1/2; c: q = 1, μ = 1, w = 1, r = 3.
    // Selection: a: 1 ≤ 6·2/2 = 6 ✓; c: 3 ≤ 6·1/3 = 2 ✗. Winner a.
    // θ_a: others (3). m = 1: 3 ≤ 6/(1+2) = 2 ✗, so m* = 0 and
    //      θ_a = 2·min(r'_1 = 3, 6/(0+2) = 3) = 6.
    // A zero-quality provider never wins, however low its bid.
    let instance = market(
        6.0,
        vec![
            provider("a", 1.0, 0.5, 4.0),
            provider("c", 3.0, 1.0, 1.0),
            provider("z", 0.0, 0.0, 5.0),
        ],
    );
    check(&instance, Auction::Qmia, &[("a", 6.0, 0.0)]);
}

#[test]
fn qmia_breaks_ratio_ties_by_id() {
    // Equal ratios (1/1 = 2/2): ids decide, byte-wise, so "B" < "a".
    // Selection: B: 1 ≤ 4·1/1 ✓; a: 2 ≤ 4·2/3 ≈ 2.67 ✓.
    // θ_B: others (1). m = 1: 1 ≤ 4/(2+1) ≈ 1.33 ✓, θ_B = 1·min(∞, 4/3).
    // θ_a: others (1). m = 1: 1 ≤ 4/(1+2) ✓, θ_a = 2·min(∞, 4/3) = 8/3.
    let instance = market(
        4.0,
        vec![provider("a", 2.0, 1.0, 2.0), provider("B", 1.0, 1.0, 1.0)],
    );
    check(
        &instance,
        Auction::Qmia,
        &[("B", 4.0 / 3.0, 0.0), ("a", 8.0 / 3.0, 0.0)],
    );
}

#[test]
fn qmia_pays_finitely_at_extreme_magnitudes() {
    // B = 1e300, w = 1·1e-10. Alone, a is paid θ = w·min(∞, B/w), and
    // B/w = 1e310 would overflow a double; procura takes it with an
    // unbounded exponent (`procurement/numerics.rs`), so θ = 1e-10·1e310 =
    // 1e300 = B.
    let instance = market(1e300, vec![provider("a", 1.0, 1.0, 1e-10)]);
    check(&instance, Auction::Qmia, &[("a", 1e300, 0.0)]);
}

#[test]
fn mixed_splits_critical_values_by_liquidity() {
    // The instance of `qmia_two_winners_share_the_budget` with R = 3 and
    // λ = 0.4: B_eff = min(10/0.4 = 25, 3/0.6 = 5) = 5.
    // Selection at 5: a: 1 ≤ 5 ✓; c: 2 ≤ 5/2 ✓. θ = 1·min(∞, 5/2) = 2.5 each.
    // Cash 0.4·2.5 = 1 ≤ B; tokens 0.6·2.5 = 1.5, Σ = 3 = R.
    let mut spec = market(
        10.0,
        vec![provider("a", 1.0, 1.0, 1.0), provider("c", 2.0, 1.0, 1.0)],
    )
    .to_spec();
    spec.token_budget = Some(3.0);
    spec.liquidity = Some(0.4);
    let instance = Instance::new(spec).expect("valid");
    check(
        &instance,
        Auction::Mixed,
        &[("a", 1.0, 1.5), ("c", 1.0, 1.5)],
    );
}

#[test]
fn mixed_with_no_tokens_and_full_liquidity_is_qmia() {
    // λ = 1 and R = 0: R/(1−λ) is 0/0, which §A.5 reads as +∞, so
    // B_eff = B and the outcome is Q-MIA's (not an empty NaN auction).
    let mut spec = market(
        10.0,
        vec![provider("a", 1.0, 1.0, 1.0), provider("c", 2.0, 1.0, 1.0)],
    )
    .to_spec();
    spec.token_budget = Some(0.0);
    spec.liquidity = Some(1.0);
    let instance = Instance::new(spec).expect("valid");
    check(
        &instance,
        Auction::Mixed,
        &[("a", 5.0, 0.0), ("c", 5.0, 0.0)],
    );
}

#[test]
fn mut_shares_the_pool_pro_rata() {
    // R = 4, Π = 100; a: w = 1, r = 0.5; c: w = 3, r = 1. Order a, c.
    // Admission at R: a: 0.5 ≤ 4 ✓; c: 3 ≤ 4·3/4 = 3 ✓.
    // τ_a = 100·1/4 = 25, τ_c = 100·3/4 = 75; c's share is worth
    // 4·75/100 = 3 = its bid (IR with equality).
    let mut spec = market(
        1.0,
        vec![provider("a", 0.5, 1.0, 1.0), provider("c", 3.0, 1.0, 3.0)],
    )
    .to_spec();
    spec.token_budget = Some(4.0);
    spec.token_pool = Some(100.0);
    let instance = Instance::new(spec).expect("valid");
    check(
        &instance,
        Auction::Mut,
        &[("a", 0.0, 25.0), ("c", 0.0, 75.0)],
    );
}

#[test]
fn mut_requires_a_token_budget() {
    let instance = market(1.0, vec![provider("a", 0.5, 1.0, 1.0)]);
    let error = clear(&instance, Auction::Mut).expect_err("no token_budget");
    assert_eq!(error.to_string(), "token_budget is required by mut");
}

#[test]
fn baselines_fill_the_budget_pay_as_bid() {
    // B = 5. volume ranks by bid/volume: y 1/100 = 0.01, x 2/50 = 0.04,
    // z 3/60 = 0.05, n (volume 0) is ineligible. Fill: y 1 ≤ 5, x 3 ≤ 5,
    // z 6 > 5 stop. trust ranks by bid/(claimed·volume): x 2/(1·50) = 0.04,
    // y 1/(0.2·100) = 0.05, z 3/(1·60) = 0.05 (tie: y < z by id).
    // Fill: x 2, y 3, z 6 > 5 stop.
    let with = |id: &str, bid: f64, volume: f64, claimed: f64| ProviderSpec {
        volume: Some(volume),
        claimed_quality: Some(claimed),
        ..provider(id, bid, 0.5, 1.0)
    };
    let instance = market(
        5.0,
        vec![
            with("x", 2.0, 50.0, 1.0),
            with("y", 1.0, 100.0, 0.2),
            with("z", 3.0, 60.0, 1.0),
            with("n", 0.1, 0.0, 1.0),
        ],
    );
    check(
        &instance,
        Auction::Volume,
        &[("y", 1.0, 0.0), ("x", 2.0, 0.0)],
    );
    check(
        &instance,
        Auction::Trust,
        &[("x", 2.0, 0.0), ("y", 1.0, 0.0)],
    );
}

// ---------------------------------------------------------------------------
// Not DSIC: concrete profitable misreports.

#[test]
fn mut_rewards_a_loser_for_jumping_ahead_of_another_loser() {
    // R = 3, Π = 100. a: w = 1, b = 0.1 (r = 0.1); f: w = 4, b = 4 (r = 1);
    // l: w = 1, true cost 1.1 (r = 1.1). Truthful order a, f, l:
    // a ✓; f: 4 ≤ 3·4/5 = 2.4 ✗, stop. l loses: utility 0.
    // l bids 0.9 (r = 0.9 < 1) and jumps ahead of f: a ✓; l: 0.9 ≤ 3·1/2
    // ✓; f: 4 ≤ 3·4/6 = 2 ✗. l gets τ = 100·1/2 = 50 tokens, worth
    // 3·50/100 = 1.5 > 1.1: a gain of 0.4.
    let mut spec = market(
        1.0,
        vec![
            provider("a", 0.1, 1.0, 1.0),
            provider("f", 4.0, 1.0, 4.0),
            provider("l", 1.1, 1.0, 1.0),
        ],
    )
    .to_spec();
    spec.token_budget = Some(3.0);
    spec.token_pool = Some(100.0);
    let instance = Instance::new(spec).expect("valid");
    let l = index_of(&instance, "l");
    let truthful = utility(&instance, Auction::Mut, "l", 1.1);
    let lie = utility(
        &instance.with_bid(l, 0.9).expect("valid"),
        Auction::Mut,
        "l",
        1.1,
    );
    assert_eq!(truthful, 0.0);
    assert!(approx_eq(lie, 0.4, 1e-12), "gain {lie}");

    // The same misreport gains nothing under Q-MIA at budget R: l's
    // critical value is 1·min(r'_2 = 1, 3/2) = 1 < 1.1, so it cannot win
    // at a profit.
    let mut spec = instance.to_spec();
    spec.budget = 3.0;
    let qmia = Instance::new(spec).expect("valid");
    for bid in [0.0, 0.5, 0.9, 0.99, 1.0, 1.1, 2.0] {
        let deviation = qmia.with_bid(l, bid).expect("valid");
        assert!(utility(&deviation, Auction::Qmia, "l", 1.1) <= 0.0);
    }
}

#[test]
fn volume_rewards_overbidding() {
    // One provider, true cost 1, B = 10, volume 100: pay-as-bid pays 1
    // when truthful (utility 0) and 9 when it bids 9 (utility 8).
    let instance = market(
        10.0,
        vec![ProviderSpec {
            volume: Some(100.0),
            ..provider("v", 1.0, 1.0, 1.0)
        }],
    );
    let truthful = utility(&instance, Auction::Volume, "v", 1.0);
    let lie = utility(
        &instance.with_bid(0, 9.0).expect("valid"),
        Auction::Volume,
        "v",
        1.0,
    );
    assert_eq!(truthful, 0.0);
    assert!(approx_eq(lie, 8.0, 1e-12));
}

#[test]
fn trust_rewards_overbidding_and_inflated_claims() {
    // B = 7. x: bid 5, volume 100, claimed 0.5 (key 5/50 = 0.1).
    // y: true cost 4, true quality 0.5, volume 100.
    // Truthful claim 0.5: y's key is z/50 for a bid z; it is first iff
    // z < 5, and then x (5 + z > 7) is dropped. Best overbid 4.99: gain 0.99.
    // Claiming 1.0: y's key is z/100 < 0.1 iff z < 10, so y bids 7 = B,
    // still goes first and is paid 7: gain 3.
    let with = |id: &str, bid: f64, claimed: f64| ProviderSpec {
        volume: Some(100.0),
        claimed_quality: Some(claimed),
        ..provider(id, bid, 0.5, 1.0)
    };
    let instance = market(7.0, vec![with("x", 5.0, 0.5), with("y", 4.0, 0.5)]);
    let y = index_of(&instance, "y");
    assert_eq!(utility(&instance, Auction::Trust, "y", 4.0), 0.0);

    let overbid = instance.with_bid(y, 4.99).expect("valid");
    assert!(approx_eq(
        utility(&overbid, Auction::Trust, "y", 4.0),
        0.99,
        1e-12
    ));
    let too_high = instance.with_bid(y, 7.0).expect("valid");
    assert_eq!(utility(&too_high, Auction::Trust, "y", 4.0), 0.0);

    let inflated = too_high.with_claimed_quality(y, 1.0).expect("valid");
    assert!(approx_eq(
        utility(&inflated, Auction::Trust, "y", 4.0),
        3.0,
        1e-12
    ));
}
