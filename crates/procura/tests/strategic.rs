//! Best-response dynamics (`procura_audit::strategic`): DSIC mechanisms stay
//! at the truth, converged profiles are Nash equilibria on the grid by a
//! brute-force oracle, utilities stay individually rational, hand examples
//! of overbidding and inflated claims, config errors, determinism.

use procura::audit::is_profitable;
use procura::audit::strategic::{
    best_response_dynamics, BestResponseConfig, Equilibrium, StrategicError,
};
use procura::procurement::{clear, Auction, Instance, InstanceSpec, ProviderSpec};
use procura::synthetic;
use procura::tolerance::ROUNDING_RELATIVE;
use procura_mechanisms::test_support::{mostly_continuous, procurement_instance};
use proptest::prelude::*;

// ---------------------------------------------------------------------------
// Instances and grids.

fn spec(id: &str, cost: f64, quality: f64, volume: f64) -> ProviderSpec {
    ProviderSpec {
        volume: Some(volume),
        ..ProviderSpec::new(id, cost, quality, 1.0)
    }
}

fn market(budget: f64, providers: Vec<ProviderSpec>) -> Instance {
    Instance::new(InstanceSpec {
        budget,
        providers,
        ..InstanceSpec::default()
    })
    .expect("valid instance")
}

fn config(markups: &[f64], claim_steps: usize, max_rounds: usize) -> BestResponseConfig {
    BestResponseConfig::new(markups.to_vec(), claim_steps, max_rounds).expect("a valid grid")
}

/// Shared random instances ([`procurement_instance`]) with up to
/// `max_providers` providers.
fn instance(max_providers: usize) -> impl Strategy<Value = Instance> {
    procurement_instance(max_providers)
}

/// `truth` with every claimed quality at the verified quality: the
/// truthful profile that best-response dynamics start from.
fn truthful_profile(truth: &Instance) -> Instance {
    let reports: Vec<(usize, f64, Option<f64>)> = truth
        .providers()
        .iter()
        .enumerate()
        .map(|(index, provider)| (index, provider.bid(), Some(provider.quality())))
        .collect();
    truth
        .with_reports(&reports)
        .expect("truthful reports are valid")
}

fn grid() -> impl Strategy<Value = BestResponseConfig> {
    (
        proptest::collection::vec(mostly_continuous(1.0, 3.0, &[1.0, 1.5, 2.0]), 1..8),
        1usize..5,
        1usize..10,
    )
        .prop_map(|(markups, claim_steps, max_rounds)| config(&markups, claim_steps, max_rounds))
}

/// Grids that may also underbid (markups from 0.5).
fn grid_with_underbids() -> impl Strategy<Value = BestResponseConfig> {
    (
        proptest::collection::vec(mostly_continuous(0.5, 3.0, &[0.5, 0.9, 1.0, 2.0]), 1..8),
        1usize..5,
        1usize..10,
    )
        .prop_map(|(markups, claim_steps, max_rounds)| config(&markups, claim_steps, max_rounds))
}

// ---------------------------------------------------------------------------
// The oracle: plain `clear`, grids rebuilt from the documented formulas.

/// The gains below which a move is rounding (module docs: max(B, R)).
fn scale(truth: &Instance) -> f64 {
    truth.budget().max(truth.token_budget())
}

/// Provider `index`'s true utility on `reports`, by clearing.
fn utility(truth: &Instance, mechanism: Auction, reports: &Instance, index: usize) -> f64 {
    let outcome = clear(reports, mechanism).expect("clears");
    match outcome.award_of(index) {
        Some(_) => mechanism.reward(reports, &outcome, index) - truth.providers()[index].bid(),
        None => 0.0,
    }
}

/// Every report provider `index` may make: cost × markup, and under `trust`
/// every claim q + (1 − q)·k/(s − 1), the last exactly 1.
fn grid_reports(
    truth: &Instance,
    mechanism: Auction,
    config: &BestResponseConfig,
    index: usize,
) -> Vec<(f64, Option<f64>)> {
    let provider = &truth.providers()[index];
    let claims: Vec<Option<f64>> = match mechanism {
        Auction::Trust => {
            let quality = provider.quality();
            let last = config.claim_steps() - 1;
            (0..config.claim_steps())
                .map(|k| match k {
                    0 => Some(quality),
                    k if k == last => Some(1.0),
                    k => Some((quality + (1.0 - quality) * (k as f64 / last as f64)).min(1.0)),
                })
                .collect()
        }
        _ => vec![None],
    };
    config
        .markups()
        .iter()
        .flat_map(|markup| {
            let bid = provider.bid() * markup;
            claims.iter().map(move |&claim| (bid, claim))
        })
        .collect()
}

/// No provider gains more than rounding by moving anywhere on its grid.
fn check_grid_nash(
    truth: &Instance,
    mechanism: Auction,
    config: &BestResponseConfig,
    played: &Equilibrium,
) -> Result<(), TestCaseError> {
    for index in 0..truth.providers().len() {
        let current = utility(truth, mechanism, &played.reports, index);
        prop_assert_eq!(current.to_bits(), played.utilities[index].to_bits());
        for (bid, claim) in grid_reports(truth, mechanism, config, index) {
            let deviated = played
                .reports
                .with_reports(&[(index, bid, claim)])
                .expect("grid reports are valid");
            let gain = utility(truth, mechanism, &deviated, index) - current;
            prop_assert!(
                !is_profitable(gain, scale(truth)),
                "{}: provider {} gains {} by reporting ({}, {:?})",
                mechanism,
                index,
                gain,
                bid,
                claim
            );
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Properties.

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Truth is a best response under the DSIC mechanisms, so nobody moves
    /// and play stops after one round at the truthful profile (the truth
    /// with claimed qualities at the verified ones).
    #[test]
    fn dsic_mechanisms_stay_at_the_truth(truth in instance(8), markups in grid_with_underbids()) {
        let config = markups.with_max_rounds(25).expect("25 rounds");
        for mechanism in [Auction::Qmia, Auction::Mixed] {
            let played = best_response_dynamics(&truth, mechanism, &config).expect("plays");
            prop_assert!(played.converged);
            prop_assert_eq!(played.rounds, 1);
            let truthful = truthful_profile(&truth);
            prop_assert_eq!(&played.reports, &truthful);
            prop_assert_eq!(&played.outcome, &clear(&truthful, mechanism).expect("clears"));
        }
    }

    /// A converged profile is a Nash equilibrium on the grid, by brute force
    /// with plain `clear`; MUT, not DSIC either, is checked alongside.
    #[test]
    fn converged_profiles_are_grid_nash(truth in instance(6), config in grid_with_underbids()) {
        for mechanism in [Auction::Volume, Auction::Trust, Auction::Mut] {
            if mechanism == Auction::Mut && !truth.has_token_budget() {
                continue;
            }
            let played = best_response_dynamics(&truth, mechanism, &config).expect("plays");
            prop_assert!(played.rounds <= config.max_rounds());
            prop_assert!(played.converged || played.rounds == config.max_rounds());
            if played.converged {
                check_grid_nash(&truth, mechanism, &config, &played)?;
            }
        }
    }

    /// Every candidate bid is at least the true cost and every mechanism is
    /// IR in reported bids, so every final utility is ≥ 0 up to rounding,
    /// converged or not, with or without the truthful markup in the grid.
    /// Costs, volumes and qualities stay unchanged; only reports move.
    #[test]
    fn final_utilities_are_individually_rational(truth in instance(8), config in grid()) {
        for mechanism in Auction::ALL {
            if mechanism == Auction::Mut && !truth.has_token_budget() {
                continue;
            }
            let played = best_response_dynamics(&truth, mechanism, &config).expect("plays");
            let slack = ROUNDING_RELATIVE * scale(&truth).max(1.0);
            for (index, provider) in truth.providers().iter().enumerate() {
                let utility = played.utilities[index];
                prop_assert!(utility >= -slack, "{}: provider {} utility {}", mechanism, index, utility);
                let reported = &played.reports.providers()[index];
                prop_assert!(reported.bid() >= provider.bid());
                prop_assert_eq!(reported.volume(), provider.volume());
                prop_assert_eq!(reported.score(), provider.score());
                prop_assert!(reported.claimed_quality() >= provider.quality());
                if mechanism != Auction::Trust {
                    prop_assert_eq!(reported.claimed_quality(), provider.quality());
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Hand examples.

/// Budget 5, two providers of volume 1 with costs 1 and 4. Truthfully both
/// win (1 + 4 ≤ 5). Round 1: `a` ranks first whatever it bids on the grid
/// (at most 3 < 4), so it bids 3 = 1 × 3.0; then `b` loses at any bid
/// (3 + 4 > 5) and stays. Round 2: nobody moves. The buyer pays 3 for value
/// 1 where the truth bought value 2 for 5.
#[test]
fn volume_overbidding_crowds_out_a_provider() {
    let truth = market(
        5.0,
        vec![spec("a", 1.0, 1.0, 1.0), spec("b", 4.0, 1.0, 1.0)],
    );
    let played =
        best_response_dynamics(&truth, Auction::Volume, &BestResponseConfig::default_grid())
            .expect("plays");
    assert!(played.converged);
    assert_eq!(played.rounds, 2);
    let bids: Vec<f64> = played.reports.providers().iter().map(|p| p.bid()).collect();
    assert_eq!(bids, [3.0, 4.0]);
    assert_eq!(played.outcome.winners().collect::<Vec<_>>(), [0]);
    assert_eq!(played.outcome.total_cash(), 3.0);
    assert_eq!(played.utilities, [2.0, 0.0]);

    let truthful = clear(&truth, Auction::Volume).expect("clears");
    assert_eq!(truthful.winners().collect::<Vec<_>>(), [0, 1]);
    assert_eq!((truthful.value(), played.outcome.value()), (2.0, 1.0));

    // With the truthful bid as the only option nobody can move.
    let stuck =
        best_response_dynamics(&truth, Auction::Volume, &config(&[1.0], 5, 25)).expect("plays");
    assert_eq!((stuck.rounds, stuck.converged), (1, true));
    assert_eq!(stuck.reports, truth);
}

/// Budget 2, volume 1 each. `a` has quality 0.5 and cost 1, `b` quality 1
/// and cost 1.55. Truthfully `b` ranks first (key 1.55 < 1/0.5 = 2) and `a`
/// no longer fits. With claims 0.5, 0.625, …, 1, `a` wins only by ranking
/// first, bid/claim < 1.55: the best is claim 1 with bid 1.5 (utility 0.5;
/// claim 0.875 allows only 1.3). Then `b` loses at any bid ≥ 1.55 and stays.
/// The buyer gets value 0.5 instead of 1.
#[test]
fn trust_provider_inflates_its_claim_when_it_pays() {
    let truth = market(
        2.0,
        vec![spec("a", 1.0, 0.5, 1.0), spec("b", 1.55, 1.0, 1.0)],
    );
    let played =
        best_response_dynamics(&truth, Auction::Trust, &BestResponseConfig::default_grid())
            .expect("plays");
    assert_eq!((played.rounds, played.converged), (2, true));
    let a = &played.reports.providers()[0];
    assert_eq!((a.bid(), a.claimed_quality()), (1.5, 1.0));
    assert_eq!(played.reports.providers()[1].bid(), 1.55);
    assert_eq!(played.outcome.winners().collect::<Vec<_>>(), [0]);
    assert_eq!(played.utilities, [0.5, 0.0]);
    assert_eq!(played.outcome.value(), 0.5);
    assert_eq!(clear(&truth, Auction::Trust).expect("clears").value(), 1.0);

    // Without claims to inflate, `a` cannot win and keeps its true quality;
    // `b` overbids instead, up to the largest grid bid that stays ahead of
    // `a` (key 2) and within the budget: 1.55 × 1.2.
    let truthful_claims = config(BestResponseConfig::default_grid().markups(), 1, 25);
    let played = best_response_dynamics(&truth, Auction::Trust, &truthful_claims).expect("plays");
    assert!(played.converged);
    assert_eq!(played.reports.providers()[0].claimed_quality(), 0.5);
    assert_eq!(played.outcome.winners().collect::<Vec<_>>(), [1]);
    assert_eq!(played.reports.providers()[1].bid(), 1.55 * 1.2);
}

/// Budget 1.5; `b` (cost 2.9) never fits. `a` (quality 0.5, cost 1) wins by
/// ranking first, bid/claim < 2.9, and fitting, bid ≤ 1.5. With its true
/// claim the best is 1.4 (1.5/0.5 = 3 > 2.9); every claim from 0.625 up
/// allows 1.5, and among equally good reports the lowest claim is taken.
#[test]
fn trust_provider_inflates_its_claim_only_as_far_as_it_pays() {
    let truth = market(
        1.5,
        vec![spec("a", 1.0, 0.5, 1.0), spec("b", 2.9, 1.0, 1.0)],
    );
    let played =
        best_response_dynamics(&truth, Auction::Trust, &BestResponseConfig::default_grid())
            .expect("plays");
    assert_eq!((played.rounds, played.converged), (2, true));
    let a = &played.reports.providers()[0];
    assert_eq!((a.bid(), a.claimed_quality()), (1.5, 0.625));
    assert_eq!(played.utilities, [0.5, 0.0]);
}

/// MUT without a token budget cannot clear, whatever the reports.
#[test]
fn clearing_errors_are_passed_on() {
    let truth = market(2.0, vec![spec("a", 1.0, 0.5, 1.0)]);
    let error = best_response_dynamics(&truth, Auction::Mut, &BestResponseConfig::default_grid())
        .expect_err("mut needs token_budget");
    assert!(matches!(error, StrategicError::Clear(_)));
    assert_eq!(error.to_string(), "token_budget is required by mut");
}

#[test]
fn config_errors_name_the_field() {
    let check = |markups: &[f64], claim_steps: usize, max_rounds: usize, expected: &str| {
        let error = BestResponseConfig::new(markups.to_vec(), claim_steps, max_rounds)
            .expect_err("invalid config");
        assert_eq!(error.to_string(), expected);
    };
    check(
        &[],
        5,
        25,
        "markups is empty: list at least one bid multiplier",
    );
    check(
        &[1.0, 0.0],
        5,
        25,
        "markups[1] 0 is not a finite number > 0",
    );
    check(
        &[f64::NAN],
        5,
        25,
        "markups[0] NaN is not a finite number > 0",
    );
    check(
        &[1.0, f64::INFINITY],
        5,
        25,
        "markups[1] inf is not a finite number > 0",
    );
    check(
        &[1.0],
        0,
        25,
        "claim_steps is 0: the claim grid needs at least 1 point",
    );
    check(
        &[1.0],
        5,
        0,
        "max_rounds is 0: at least 1 round must be played",
    );
    // Every grid is bounded before it is allocated.
    check(
        &[1.0],
        100_000_000_000,
        25,
        "claim_steps: 100000000000 is more than 10000",
    );
    check(
        &vec![1.0; 10_001],
        5,
        25,
        "markups: 10001 is more than 10000",
    );
    check(
        &[1.0],
        5,
        usize::MAX,
        &format!("max_rounds: {} is more than 100000", usize::MAX),
    );
    // The setters check the same rules.
    let grid = BestResponseConfig::default_grid();
    assert!(grid.clone().with_claim_steps(0).is_err());
    assert!(grid.clone().with_max_rounds(0).is_err());
    assert!(grid.with_markups(vec![-1.0]).is_err());
}

/// Zero-cost providers can only bid 0: they never move.
#[test]
fn zero_cost_providers_bid_zero() {
    let truth = market(
        3.0,
        vec![spec("a", 0.0, 1.0, 1.0), spec("b", 1.0, 1.0, 1.0)],
    );
    let played =
        best_response_dynamics(&truth, Auction::Volume, &BestResponseConfig::default_grid())
            .expect("plays");
    assert!(played.converged);
    assert_eq!(played.reports.providers()[0].bid(), 0.0);
    // `b` ranks second whatever it bids and takes the rest of the budget
    // on the grid: 3.0 = 1 × 3.0 fits (0 + 3 ≤ 3).
    assert_eq!(played.reports.providers()[1].bid(), 3.0);
    assert_eq!(played.utilities, [0.0, 2.0]);
}

/// Same input, same bits, on mid-sized synthetic markets for every
/// mechanism.
#[test]
fn dynamics_are_deterministic() {
    let config = BestResponseConfig::default_grid();
    for seed in 0..3 {
        let truth = synthetic::market(20, seed);
        for mechanism in Auction::ALL {
            let first = best_response_dynamics(&truth, mechanism, &config).expect("plays");
            let second = best_response_dynamics(&truth, mechanism, &config).expect("plays");
            let bits = |played: &Equilibrium| -> Vec<u64> {
                played
                    .reports
                    .providers()
                    .iter()
                    .flat_map(|p| [p.bid().to_bits(), p.claimed_quality().to_bits()])
                    .chain(played.utilities.iter().map(|u| u.to_bits()))
                    .chain([played.outcome.total_cash().to_bits()])
                    .collect()
            };
            assert_eq!(bits(&first), bits(&second), "{mechanism} seed {seed}");
            assert_eq!(first, second);
        }
    }
}

/// MUT's manipulation, found by best responses once the grid may underbid
/// (the misreport of `hand.rs`): R = 3, Π = 100; a (cost 0.1, w = 1),
/// f (cost 4, w = 4), l (cost 1.1, w = 1). Truthfully only a is admitted
/// (f fails its share 3·4/5 and stops the prefix). At 0.8 × its cost, l's
/// ratio 0.88 jumps ahead of f's 1: a ✓, l: 0.88 ≤ 3·1/2 ✓, f ✗. l's share
/// of 50 tokens is worth 1.5 against its cost 1.1, so it moves in round 1;
/// nobody gains by moving after that (f loses at 3.2 or 4 either way).
#[test]
fn mut_providers_underbid_when_the_grid_allows_it() {
    let truth = Instance::new(InstanceSpec {
        budget: 1.0,
        token_budget: Some(3.0),
        token_pool: Some(100.0),
        providers: vec![
            ProviderSpec::new("a", 0.1, 1.0, 1.0),
            ProviderSpec::new("f", 4.0, 1.0, 4.0),
            ProviderSpec::new("l", 1.1, 1.0, 1.0),
        ],
        ..InstanceSpec::default()
    })
    .expect("valid");
    let overbids_only =
        best_response_dynamics(&truth, Auction::Mut, &config(&[1.0, 2.0], 1, 25)).expect("plays");
    assert_eq!((overbids_only.rounds, overbids_only.converged), (1, true));
    assert_eq!(overbids_only.outcome.value(), 1.0);

    let played =
        best_response_dynamics(&truth, Auction::Mut, &config(&[0.8, 1.0], 1, 25)).expect("plays");
    assert_eq!((played.rounds, played.converged), (2, true));
    assert_eq!(played.reports.providers()[2].bid(), 1.1 * 0.8);
    assert_eq!(played.reports.providers()[0].bid(), 0.1);
    assert_eq!(played.outcome.value(), 2.0);
    let l_utility = played.utilities[2];
    assert!((l_utility - 0.4).abs() < 1e-12, "{l_utility}");
    // a now shares the pool with l: 1.5 − 0.1.
    assert!((played.utilities[0] - 1.4).abs() < 1e-12);
}
