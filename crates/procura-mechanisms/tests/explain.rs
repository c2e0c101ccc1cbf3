//! `procurement::explain`: every explanation agrees with the outcome it
//! explains, and every loser's reason is the admission test that failed,
//! with that test's own numbers; Mixed-MIA refuses λ < 1 without a token
//! budget as MUT refuses any instance without one; the withdrawal null
//! test reports its numbers.

use procura_mechanisms::procurement::explain::{explain, Admission, Explanation, Loss, Verdict};
use procura_mechanisms::procurement::{clear, Auction, Instance, InstanceSpec, ProviderSpec};
use procura_mechanisms::test_support::procurement_instance;
use procura_mechanisms::threshold::{withdrawal, ThresholdInstance, ThresholdSpec, UserSpec};
use proptest::prelude::*;

fn market(budget: f64, providers: Vec<ProviderSpec>) -> Instance {
    Instance::new(InstanceSpec {
        budget,
        providers,
        ..InstanceSpec::default()
    })
    .expect("valid")
}

fn with_volume(id: &str, bid: f64, quality: f64, utility: f64, volume: f64) -> ProviderSpec {
    ProviderSpec {
        volume: Some(volume),
        ..ProviderSpec::new(id, bid, quality, utility)
    }
}

/// Checks the explanation of `instance` under `mechanism` against the
/// outcome of `clear`: the same winners with the same awards, ranks 1..k
/// then unranked providers, and the losers' reasons in order: the first
/// failure (of the mechanism's own test), then the ones after it.
fn check_agrees(instance: &Instance, mechanism: Auction) -> Result<(), TestCaseError> {
    let Ok(outcome) = clear(instance, mechanism) else {
        prop_assert!(explain(instance, mechanism).is_err());
        return Ok(());
    };
    let explanation = explain(instance, mechanism).expect("clears, so explains");
    prop_assert_eq!(explanation.outcome(), &outcome);
    prop_assert_eq!(explanation.providers().len(), instance.providers().len());
    let budget = mechanism.allocation_budget(instance);
    let mut winners = Vec::new();
    let mut first_failure = None;
    for (position, line) in explanation.providers().iter().enumerate() {
        let provider = &instance.providers()[line.provider];
        prop_assert_eq!(line.bid, provider.bid());
        prop_assert_eq!(line.score, provider.score());
        match line.rank {
            Some(rank) => prop_assert_eq!(rank, position + 1),
            None => prop_assert_eq!(line.verdict, Verdict::Lost(Loss::ZeroWeight)),
        }
        match line.verdict {
            Verdict::Won { award, reward } => {
                prop_assert!(first_failure.is_none(), "winners are a prefix");
                prop_assert_eq!(Some(&award), outcome.award_of(line.provider));
                prop_assert_eq!(reward, mechanism.reward(instance, &outcome, line.provider));
                prop_assert_eq!(line.premium(), Some(reward - line.bid));
                winners.push(line.provider);
            }
            Verdict::Lost(Loss::ShareTest {
                share,
                running_score,
            }) => {
                prop_assert_eq!(explanation.admission(), Admission::ProportionalShare);
                prop_assert!(first_failure.is_none());
                prop_assert!(line.bid > share, "{} ≤ its share {share}", line.bid);
                prop_assert!(running_score >= line.score);
                first_failure = line.rank;
            }
            Verdict::Lost(Loss::Budget { spent }) => {
                prop_assert_eq!(explanation.admission(), Admission::PayAsBid);
                prop_assert!(first_failure.is_none());
                prop_assert!(spent + line.bid > budget);
                first_failure = line.rank;
            }
            Verdict::Lost(Loss::AfterCutoff { cutoff_rank }) => {
                prop_assert_eq!(Some(cutoff_rank), first_failure);
            }
            Verdict::Lost(Loss::ZeroWeight) => {
                prop_assert_eq!(line.weight, 0.0);
                prop_assert_eq!(line.rank, None);
            }
        }
        prop_assert_eq!(
            line.premium().is_none(),
            !matches!(line.verdict, Verdict::Won { .. })
        );
    }
    prop_assert!(outcome.winners().eq(winners.iter().copied()));
    prop_assert_eq!(explanation.allocation_budget(), budget);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 128,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0xE7_1A17),
        ..ProptestConfig::default()
    })]

    #[test]
    fn explanations_agree_with_the_outcome(instance in procurement_instance(7)) {
        for mechanism in Auction::ALL {
            check_agrees(&instance, mechanism)?;
        }
    }
}

#[test]
fn the_golden_cases_are_explained_consistently() {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    for case in 0..6 {
        let text =
            std::fs::read_to_string(data.join(format!("proc-00{case}.json"))).expect("instance");
        let spec: InstanceSpec = serde_json::from_str(&text).expect("parses");
        let instance = Instance::new(spec).expect("valid");
        for mechanism in Auction::ALL {
            check_agrees(&instance, mechanism).expect("agrees");
        }
    }
}

fn verdicts(explanation: &Explanation) -> Vec<(usize, Verdict)> {
    explanation
        .providers()
        .iter()
        .map(|line| (line.provider, line.verdict))
        .collect()
}

#[test]
fn qmia_losers_name_the_share_test_and_the_cutoff() {
    // B = 4; ratios a 1, b 1.5, c 4, d unranked (quality 0). W: 1, 3, 4.
    // a: 1 ≤ 4·1/1; b: 3 ≤ 4·2/3 fails (share 8/3); c after the cutoff.
    let instance = market(
        4.0,
        vec![
            ProviderSpec::new("a", 1.0, 1.0, 1.0),
            ProviderSpec::new("b", 3.0, 1.0, 2.0),
            ProviderSpec::new("c", 4.0, 1.0, 1.0),
            ProviderSpec::new("d", 0.1, 0.0, 1.0),
        ],
    );
    let explanation = explain(&instance, Auction::Qmia).expect("clears");
    let lines = verdicts(&explanation);
    // θ_a = 1·min(r'_1 = 1.5, 4/1) = 1.5.
    assert!(matches!(lines[0], (0, Verdict::Won { reward, .. }) if reward == 1.5));
    assert_eq!(
        lines[1..],
        [
            (
                1,
                Verdict::Lost(Loss::ShareTest {
                    share: 4.0 * 2.0 / 3.0,
                    running_score: 3.0
                })
            ),
            (2, Verdict::Lost(Loss::AfterCutoff { cutoff_rank: 2 })),
            (3, Verdict::Lost(Loss::ZeroWeight)),
        ]
    );
    let ranks: Vec<Option<usize>> = explanation.providers().iter().map(|l| l.rank).collect();
    assert_eq!(ranks, [Some(1), Some(2), Some(3), None]);
    let ratios: Vec<Option<f64>> = explanation.providers().iter().map(|l| l.key).collect();
    assert_eq!(ratios, [Some(1.0), Some(1.5), Some(4.0), None]);
    assert_eq!(explanation.total_reward(), 1.5);
    assert_eq!(explanation.total_winning_bids(), 1.0);
}

#[test]
fn baseline_losers_name_the_budget() {
    // B = 5, volume ranks by bid/volume: y 1/100, x 2/50, z 4/50; y and x
    // fit (3 spent), z does not (3 + 4 > 5); w has volume 0.
    let instance = market(
        5.0,
        vec![
            with_volume("x", 2.0, 1.0, 1.0, 50.0),
            with_volume("y", 1.0, 1.0, 1.0, 100.0),
            with_volume("z", 4.0, 1.0, 1.0, 50.0),
            with_volume("w", 0.5, 1.0, 1.0, 0.0),
        ],
    );
    let explanation = explain(&instance, Auction::Volume).expect("clears");
    assert_eq!(explanation.admission(), Admission::PayAsBid);
    let lines = verdicts(&explanation);
    assert_eq!(lines[0].0, 1);
    assert_eq!(lines[1].0, 0);
    assert_eq!(
        lines[2..],
        [
            (2, Verdict::Lost(Loss::Budget { spent: 3.0 })),
            (3, Verdict::Lost(Loss::ZeroWeight)),
        ]
    );
    assert_eq!(explanation.providers()[0].weight, 100.0);
    assert_eq!(explanation.providers()[0].premium(), Some(0.0));
}

#[test]
fn mixed_refuses_liquidity_below_one_without_a_token_budget() {
    let spec = |liquidity: Option<f64>, token_budget: Option<f64>| {
        Instance::new(InstanceSpec {
            budget: 10.0,
            liquidity,
            token_budget,
            providers: vec![ProviderSpec::new("acme", 2.0, 1.0, 1.0)],
            ..InstanceSpec::default()
        })
        .expect("valid")
    };
    let error = clear(&spec(Some(0.5), None), Auction::Mixed).expect_err("refused");
    assert_eq!(
        error.to_string(),
        "token_budget is required by mixed when liquidity is below 1"
    );
    assert!(explain(&spec(Some(0.5), None), Auction::Mixed).is_err());
    // MUT's refusal is unchanged.
    let error = clear(&spec(None, None), Auction::Mut).expect_err("refused");
    assert_eq!(error.to_string(), "token_budget is required by mut");
    // λ = 1 pays no tokens; an explicit R = 0 is the buyer's choice.
    assert_eq!(
        clear(&spec(Some(1.0), None), Auction::Mixed).map(|o| o.awards().len()),
        Ok(1)
    );
    assert_eq!(
        clear(&spec(None, None), Auction::Mixed).map(|o| o.awards().len()),
        Ok(1)
    );
    assert_eq!(
        clear(&spec(Some(0.5), Some(0.0)), Auction::Mixed).map(|o| o.awards().len()),
        Ok(0)
    );
}

#[test]
fn the_null_test_reports_eligible_capacity_against_the_threshold() {
    let instance = ThresholdInstance::new(ThresholdSpec {
        threshold: 4.0,
        reserve_price: Some(2.0),
        budget: Some(6.0),
        users: vec![
            UserSpec::new("a", 1.0, 1.5),
            UserSpec::new("b", 1.4, 2.0),
            UserSpec::new("c", 1.6, 5.0),
        ],
        ..ThresholdSpec::default()
    })
    .expect("valid");
    // The budget lowers r to 6/4 = 1.5: a and b accept it, 3.5 < 4.
    let test = withdrawal::null_test(&instance).expect("has a reserve");
    assert_eq!(test.reserve, 1.5);
    assert_eq!(test.eligible_users, 2);
    assert_eq!(test.eligible_capacity, 3.5);
    assert_eq!(test.threshold, 4.0);
    assert!(!test.feasible);
    assert_eq!(withdrawal::is_feasible(&instance), Ok(false));
    assert!(withdrawal::assign(&instance).expect("assigns").is_null());
}
