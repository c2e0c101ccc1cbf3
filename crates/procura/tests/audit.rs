//! The auditor's controls: DSIC mechanisms come back clean, the others show
//! their known profitable misreports; every deviation replays; coalition
//! search; certificates; population audits are deterministic across thread
//! counts; brute force on a fine grid never finds twice what the auditor
//! finds.

use std::path::PathBuf;

use procura::audit::{audit, certify, replay, AuditConfig, AuditReport};
use procura::game::ReportGame as _;
use procura::population::{audit_population, Distribution, Population, PopulationSpec};
use procura::procurement::{Auction, Instance, InstanceSpec, ProviderSpec};
use procura::tolerance::{approx_eq, GAIN_RELATIVE};

fn golden(case: &str) -> Instance {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../procura-mechanisms/tests/data/proc-{case}.json"));
    let text = std::fs::read_to_string(path).expect("golden instance");
    let spec: InstanceSpec = serde_json::from_str(&text).expect("parses");
    Instance::new(spec).expect("valid")
}

const CASES: [&str; 6] = ["000", "001", "002", "003", "004", "005"];

fn check_replays(mechanism: Auction, instance: &Instance, report: &AuditReport) {
    for deviation in report.deviation.iter().chain(&report.coalition) {
        let replayed = replay(&mechanism, instance, deviation)
            .expect("participants exist")
            .expect("reports are valid");
        assert_eq!(
            replayed.to_bits(),
            deviation.gain.to_bits(),
            "{mechanism}: replay {replayed} vs {}",
            deviation.gain
        );
    }
}

#[test]
fn dsic_mechanisms_come_back_clean_on_the_golden_cases() {
    for case in CASES {
        let instance = golden(case);
        for mechanism in [Auction::Qmia, Auction::Mixed] {
            let report = audit(&mechanism, &instance, &AuditConfig::thorough());
            assert!(
                report.deviation.is_none(),
                "{mechanism} proc-{case}: {:?}",
                report.deviation
            );
            assert!(
                report.max_unilateral_gain <= GAIN_RELATIVE,
                "{mechanism} proc-{case}: {}",
                report.max_unilateral_gain
            );
            assert_eq!(report.ir_violations, 0);
            assert!(report.budget_ok);
            let certificate = certify(mechanism, &instance).expect("DSIC mechanisms are certified");
            assert!(
                certificate.monotone && certificate.critical_values,
                "{mechanism} proc-{case}: {certificate:?}"
            );
            check_replays(mechanism, &instance, &report);
        }
    }
}

#[test]
fn non_dsic_mechanisms_show_profitable_misreports() {
    // Pay-as-bid: on every golden case some winner can raise its bid.
    for case in CASES {
        let instance = golden(case);
        for mechanism in [Auction::Volume, Auction::Trust] {
            let report = audit(&mechanism, &instance, &AuditConfig::thorough());
            let deviation = report.deviation.as_ref().expect("pay-as-bid is not DSIC");
            assert!(
                deviation.gain > 0.01,
                "{mechanism} proc-{case}: {}",
                deviation.gain
            );
            assert_eq!(report.ir_violations, 0);
            assert!(report.budget_ok);
            check_replays(mechanism, &instance, &report);
            assert!(certify(mechanism, &instance).is_none());
        }
    }
}

/// `instance` with every bid and the budgets multiplied by `factor`.
fn rescaled(instance: &Instance, factor: f64) -> Instance {
    let mut spec = instance.to_spec();
    spec.budget *= factor;
    spec.token_budget = spec.token_budget.map(|r| r * factor);
    for provider in &mut spec.providers {
        provider.bid *= factor;
    }
    Instance::new(spec).expect("valid")
}

#[test]
fn gains_are_found_in_tiny_and_huge_units() {
    // The same market priced in units 1e12 times smaller or larger: the
    // auditor's rounding threshold is relative to the instance, so the
    // pay-as-bid gains stay visible and Q-MIA stays clean.
    let base = golden("005");
    let reference = audit(&Auction::Volume, &base, &AuditConfig::thorough());
    let gain = reference.deviation.as_ref().expect("volume gains").gain;
    for factor in [1e-12, 1e12] {
        let instance = rescaled(&base, factor);
        let report = audit(&Auction::Volume, &instance, &AuditConfig::thorough());
        let deviation = report.deviation.as_ref().expect("still a gain");
        assert!(
            approx_eq(deviation.gain / factor, gain, 1e-6),
            "{factor}: {} vs {gain}",
            deviation.gain
        );
        check_replays(Auction::Volume, &instance, &report);
        let clean = audit(&Auction::Qmia, &instance, &AuditConfig::thorough());
        assert!(clean.deviation.is_none(), "{factor}: {:?}", clean.deviation);
    }
}

#[test]
fn certificates_hold_at_budgets_near_the_largest_double() {
    // B = R = 8e307 and λ = 0.5 give B_eff = 1.6e308: the bisection bracket
    // must saturate instead of overflowing to +∞.
    let instance = Instance::new(InstanceSpec {
        budget: 8e307,
        token_budget: Some(8e307),
        liquidity: Some(0.5),
        providers: vec![
            ProviderSpec::new("a", 1.0, 1.0, 1e-300),
            ProviderSpec::new("b", 2.0, 1.0, 1e-300),
        ],
        ..InstanceSpec::default()
    })
    .expect("valid");
    let certificate = certify(Auction::Mixed, &instance).expect("certified");
    assert!(
        certificate.monotone && certificate.critical_values,
        "{certificate:?}"
    );
}

/// Issue 14's hostile instances, through the auditor: budgets kept, no IR
/// violation, and a monotone certificate for a loser bidding far above
/// 2B + 1 (its probes used to cancel to a bid of 0, which wins).
#[test]
fn hostile_instances_audit_clean() {
    let provider = |id: &str, bid: f64, utility: f64| ProviderSpec::new(id, bid, 1.0, utility);
    let cases = [
        // Class 1: B·w subnormal (Q-MIA paid 1.0 against B = 0.6).
        (0.6, None, vec![provider("a", 0.0, 5e-324)]),
        // Class 2: B/w underflows (the winner was paid 0).
        (1e-300, None, vec![provider("a", 1e-300, 1e30)]),
        (1e-300, Some(1e-300), vec![provider("a", 5e-324, 1e30)]),
        // Class 4: a loser far above 2B + 1.
        (
            1.0,
            None,
            vec![provider("a", 1e20, 1.0), provider("b", 0.5, 1.0)],
        ),
    ];
    for (budget, token_budget, providers) in cases {
        let instance = Instance::new(InstanceSpec {
            budget,
            token_budget,
            liquidity: token_budget.map(|_| 0.5),
            providers,
            ..InstanceSpec::default()
        })
        .expect("valid");
        for mechanism in [Auction::Qmia, Auction::Mixed] {
            let report = audit(&mechanism, &instance, &AuditConfig::thorough());
            assert_eq!(report.ir_violations, 0, "{mechanism}: {instance:?}");
            assert!(report.budget_ok, "{mechanism}: {instance:?}");
            let certificate = certify(mechanism, &instance).expect("certified");
            assert!(certificate.monotone, "{mechanism}: {certificate:?}");
        }
    }
}

#[test]
fn large_coalitions_stay_bounded() {
    // Coalitions of up to all six providers: the joint candidates per
    // coalition are capped, so the search stays small however large the
    // coalitions.
    let instance = golden("005");
    let config = AuditConfig::thorough()
        .with_coalition_size(6)
        .expect("6 is within the limit");
    let report = audit(&Auction::Trust, &instance, &config);
    // 6 providers: 57 coalitions of 2 to 6 members, at most 256 joint
    // reports each plus refinement.
    assert!(report.evaluations < 200_000, "{}", report.evaluations);
    assert!(report.max_coalition_gain >= report.max_unilateral_gain);
    check_replays(Auction::Trust, &instance, &report);
}

#[test]
fn mut_rewards_shedding_costly_members_on_a_golden_case() {
    // proc-004 under MUT admits p000 and p004, whose shares add up to R.
    // No one gains alone there, but if p004 (cost 1.0555) drops out, p000
    // takes all of R: the pair keeps R and saves p004's cost, a coalition
    // gain of exactly 1.0555 (the shares are fixed; only costs change).
    let instance = golden("004");
    let report = audit(&Auction::Mut, &instance, &AuditConfig::thorough());
    assert!(report.deviation.is_none());
    let coalition = report.coalition.as_ref().expect("MUT coalition gain");
    assert!(
        approx_eq(coalition.gain, 1.0555, 1e-9),
        "gain {}",
        coalition.gain
    );
    check_replays(Auction::Mut, &instance, &report);
}

#[test]
fn mut_jump_ahead_is_found() {
    // The instance of `hand.rs::mut_rewards_a_loser_for_jumping_ahead_of_another_loser`:
    // l (true cost 1.1) gains up to 0.4 by underbidding f's ratio.
    let spec = InstanceSpec {
        budget: 1.0,
        token_budget: Some(3.0),
        token_pool: Some(100.0),
        providers: vec![
            ProviderSpec::new("a", 0.1, 1.0, 1.0),
            ProviderSpec::new("f", 4.0, 1.0, 4.0),
            ProviderSpec::new("l", 1.1, 1.0, 1.0),
        ],
        ..InstanceSpec::default()
    };
    let instance = Instance::new(spec).expect("valid");
    let report = audit(&Auction::Mut, &instance, &AuditConfig::thorough());
    let deviation = report.deviation.as_ref().expect("MUT is not DSIC");
    assert_eq!(deviation.participants, [2]);
    assert!(
        approx_eq(deviation.gain, 0.4, 1e-9),
        "gain {}",
        deviation.gain
    );
    assert!(deviation.reports[0][0] < 1.0, "l must underbid f's ratio 1");
    check_replays(Auction::Mut, &instance, &report);
}

#[test]
fn trust_claim_inflation_is_found() {
    // `hand.rs::trust_rewards_overbidding_and_inflated_claims`: y gains 3
    // by claiming full quality and bidding the whole budget.
    let with = |id: &str, bid: f64| ProviderSpec {
        volume: Some(100.0),
        claimed_quality: Some(0.5),
        ..ProviderSpec::new(id, bid, 0.5, 1.0)
    };
    let instance = Instance::new(InstanceSpec {
        budget: 7.0,
        providers: vec![with("x", 5.0), with("y", 4.0)],
        ..InstanceSpec::default()
    })
    .expect("valid");
    let report = audit(&Auction::Trust, &instance, &AuditConfig::thorough());
    let deviation = report.deviation.as_ref().expect("trust is not DSIC");
    assert_eq!(deviation.participants, [1]);
    assert!(
        approx_eq(deviation.gain, 3.0, 1e-6),
        "gain {}",
        deviation.gain
    );
    assert_eq!(deviation.reports[0][1], 1.0);
    check_replays(Auction::Trust, &instance, &report);
}

#[test]
fn qmia_is_not_coalition_proof_and_the_auditor_measures_it() {
    // B = 10; a and c both have w = 1, bids 1 and 2: each is paid 5
    // (`hand.rs::qmia_two_winners_share_the_budget`). If c drops out, a
    // alone is paid 1·min(∞, 10/1) = 10: a gains 5, c loses 5 − 2 = 3, so
    // the pair gains at least 2 with a side payment. (P2-c: measured, not
    // assumed away.)
    let instance = Instance::new(InstanceSpec {
        budget: 10.0,
        providers: vec![
            ProviderSpec::new("a", 1.0, 1.0, 1.0),
            ProviderSpec::new("c", 2.0, 1.0, 1.0),
        ],
        ..InstanceSpec::default()
    })
    .expect("valid");
    let report = audit(&Auction::Qmia, &instance, &AuditConfig::thorough());
    assert!(report.deviation.is_none());
    let coalition = report
        .coalition
        .as_ref()
        .expect("dropping out pays the pair");
    assert_eq!(coalition.participants, [0, 1]);
    assert!(coalition.gain >= 2.0 - 1e-9, "gain {}", coalition.gain);
    assert_eq!(report.max_coalition_gain, coalition.gain);
    check_replays(Auction::Qmia, &instance, &report);
}

#[test]
fn coalitions_are_sampled_reproducibly_when_there_are_too_many() {
    let instance = golden("005");
    let config = AuditConfig::thorough()
        .with_max_coalitions(5)
        .expect("5 is within the limit")
        .with_seed(11);
    let first = audit(&Auction::Volume, &instance, &config);
    let second = audit(&Auction::Volume, &instance, &config);
    assert_eq!(first, second);
    let all = audit(&Auction::Volume, &instance, &AuditConfig::thorough());
    // Fewer coalitions searched means fewer evaluations.
    assert!(first.evaluations < all.evaluations);
    assert!(first.max_coalition_gain <= all.max_coalition_gain + 1e-12);
}

fn small_population() -> Population {
    Population::new(PopulationSpec {
        providers: 6,
        budget_fraction: 0.4,
        token_budget_fraction: Some(0.2),
        liquidity: Some(0.5),
        token_pool: Some(100.0),
        cost: Distribution::LogNormal {
            mu: 0.0,
            sigma: 0.5,
        },
        quality: Distribution::Beta {
            alpha: 2.0,
            beta: 2.0,
        },
        utility: Distribution::Pareto {
            scale: 0.5,
            shape: 3.0,
        },
        volume: Some(Distribution::Pareto {
            scale: 100.0,
            shape: 2.0,
        }),
        claimed_quality: Some(Distribution::Uniform {
            low: 0.5,
            high: 1.0,
        }),
    })
    .expect("valid population")
}

#[test]
fn population_audits_are_identical_on_1_and_4_threads() {
    let population = small_population();
    let config = AuditConfig::thorough()
        .with_grid(16)
        .expect("16 is within the limit");
    let run = |threads: usize, mechanism: Auction| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool");
        pool.install(|| audit_population(mechanism, &population, 12, 99, &config, &|| {}))
    };
    for mechanism in [Auction::Qmia, Auction::Trust] {
        let one = run(1, mechanism);
        let four = run(4, mechanism);
        assert_eq!(format!("{one:?}"), format!("{four:?}"), "{mechanism}");
        assert_eq!(one.instances, 12);
    }
    let trust = run(2, Auction::Trust);
    assert!(trust.with_deviation > 0 && trust.max_gain > 0.0);
    let worst = trust.worst.expect("worst instance");
    assert_eq!(worst.instance, population.draw(99, worst.index));
    assert_eq!(
        worst.audit_seed,
        procura::population::instance_seed(config.seed(), worst.index)
    );
    assert_eq!(worst.audit.max_unilateral_gain, trust.max_gain);
    let qmia = run(2, Auction::Qmia);
    assert_eq!(qmia.with_deviation, 0);
    assert_eq!(qmia.ir_violations + qmia.budget_violations, 0);
}

#[test]
fn population_errors_name_the_key() {
    let check = |edit: fn(&mut PopulationSpec), expected: &str| {
        let mut spec = small_population().spec().clone();
        edit(&mut spec);
        let error = Population::new(spec).expect_err(expected);
        assert_eq!(error.to_string(), expected);
    };
    check(|s| s.providers = 0, "providers: 0 is not ≥ 1");
    check(
        |s| s.budget_fraction = -1.0,
        "budget_fraction: -1 is not > 0",
    );
    check(
        |s| {
            s.cost = Distribution::Uniform {
                low: 2.0,
                high: 1.0,
            }
        },
        "cost.high: 1 is not > low 2",
    );
    check(
        |s| {
            s.quality = Distribution::Uniform {
                low: 0.5,
                high: 1.5,
            }
        },
        "quality: draws must be in [0, 1], but this distribution reaches [0.5, 1.5]",
    );
    check(
        |s| {
            s.utility = Distribution::Pareto {
                scale: 0.0,
                shape: 1.0,
            }
        },
        "utility.scale: 0 is not > 0",
    );
    check(
        |s| {
            s.cost = Distribution::LogNormal {
                mu: f64::NAN,
                sigma: 1.0,
            }
        },
        "cost.mu: NaN is not finite",
    );
    check(
        |s| s.liquidity = Some(2.0),
        "liquidity: 2 is outside [0, 1]",
    );
}

mod properties {
    use super::*;
    use procura_mechanisms::test_support::{extreme_procurement_spec, procurement_instance};
    use proptest::prelude::*;

    fn config() -> ProptestConfig {
        ProptestConfig {
            cases: 40,
            rng_seed: proptest::test_runner::RngSeed::Fixed(0xA0D1),
            ..ProptestConfig::default()
        }
    }

    /// Shared random instances, small enough for the brute force.
    fn instance() -> impl Strategy<Value = Instance> {
        procurement_instance(4)
    }

    /// The best unilateral gain on a fine grid (and, for trust, a grid of
    /// claims): the brute-force oracle.
    fn brute_force(mechanism: Auction, instance: &Instance) -> f64 {
        let truthful = mechanism
            .evaluate(instance, instance)
            .expect("same instance")
            .utilities;
        let top = 2.0 * mechanism.allocation_budget(instance).max(instance.budget()) + 4.0;
        let claims: Vec<Option<f64>> = match mechanism {
            Auction::Trust => (0..=10).map(|k| Some(f64::from(k) / 10.0)).collect(),
            _ => vec![None],
        };
        let mut best = 0.0f64;
        for (participant, truthful) in truthful.iter().enumerate() {
            for &claim in &claims {
                for k in 0..=800 {
                    let bid = top * f64::from(k) / 800.0;
                    let mut report = vec![bid];
                    report.extend(claim);
                    let Some(reported) = mechanism
                        .with_report(instance, participant, &report)
                        .expect("participant exists")
                    else {
                        continue;
                    };
                    let gain = mechanism
                        .evaluate(instance, &reported)
                        .expect("same participants")
                        .utilities[participant]
                        - truthful;
                    best = best.max(gain);
                }
            }
        }
        best
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn dsic_mechanisms_show_no_gain(instance in instance()) {
            for mechanism in [Auction::Qmia, Auction::Mixed] {
                let report = audit(&mechanism, &instance, &AuditConfig::thorough());
                prop_assert!(report.deviation.is_none(), "{mechanism}: {:?}", report.deviation);
                prop_assert!(report.max_unilateral_gain <= GAIN_RELATIVE * instance.budget().max(1.0));
                let certificate = certify(mechanism, &instance).expect("certified");
                prop_assert!(certificate.monotone && certificate.critical_values, "{certificate:?}");
            }
        }

        /// The procurement mechanisms screen unilateral reports with a fast
        /// O(log n) path; it must agree with a full clear, tie-breaks
        /// included (reports on the others' ratios hit the id rule): bit
        /// for bit for MUT and the pay-as-bid baselines, to 1e-9 for the
        /// critical values of Q-MIA and Mixed-MIA (W'_m summed over the
        /// others only).
        #[test]
        fn the_fast_unilateral_screen_agrees_with_full_clearing(instance in instance(), fractions in proptest::collection::vec(0.0f64..3.0, 8)) {
            for mechanism in Auction::ALL {
                for participant in 0..instance.providers().len() {
                    let mut reports: Vec<Vec<f64>> = mechanism.critical_reports(&instance, participant).expect("participant exists");
                    let truth = mechanism.report(&instance, participant).expect("participant exists");
                    reports.extend(fractions.iter().map(|f| {
                        let mut report = truth.clone();
                        report[0] = f * (truth[0] + 0.5);
                        report
                    }));
                    if mechanism == Auction::Trust {
                        reports.extend(fractions.iter().map(|f| vec![truth[0], (f / 3.0).min(1.0)]));
                    }
                    let fast = mechanism.unilateral_utilities(&instance, participant, &reports).expect("participant exists");
                    for (report, fast) in reports.iter().zip(fast) {
                        let full = mechanism
                            .with_report(&instance, participant, report)
                            .expect("participant exists")
                            .map(|reported| mechanism.evaluate(&instance, &reported).expect("same participants").utilities[participant]);
                        match (fast, full) {
                            (Some(fast), Some(full)) if mechanism.is_dsic() => prop_assert!(
                                approx_eq(fast, full, 1e-9),
                                "{mechanism}: participant {participant} report {report:?}: fast {fast} vs full {full}"
                            ),
                            (Some(fast), Some(full)) => prop_assert_eq!(
                                fast.to_bits(), full.to_bits(),
                                "{}: participant {} report {:?}: fast {} vs full {}", mechanism, participant, report, fast, full
                            ),
                            (fast, full) => prop_assert_eq!(fast.is_some(), full.is_some(), "{}: {:?}", mechanism, report),
                        }
                    }
                }
            }
        }

        /// The same agreement over the whole range of doubles, where the
        /// mechanisms compute with an unbounded exponent
        /// (`procurement/numerics.rs`): bit for bit for MUT and the
        /// baselines, whose view runs the very same arithmetic.
        #[test]
        fn the_fast_unilateral_screen_agrees_at_any_magnitude(spec in extreme_procurement_spec(), fractions in proptest::collection::vec(0.0f64..3.0, 6)) {
            let Ok(instance) = Instance::new(spec) else {
                return Ok(());
            };
            for mechanism in [Auction::Mut, Auction::Volume, Auction::Trust] {
                for participant in 0..instance.providers().len() {
                    let truth = mechanism.report(&instance, participant).expect("participant exists");
                    let mut reports: Vec<Vec<f64>> = mechanism.critical_reports(&instance, participant).expect("participant exists");
                    reports.extend(fractions.iter().map(|f| {
                        let mut report = truth.clone();
                        report[0] *= f;
                        report
                    }));
                    let fast = mechanism.unilateral_utilities(&instance, participant, &reports).expect("participant exists");
                    for (report, fast) in reports.iter().zip(fast) {
                        let full = mechanism
                            .with_report(&instance, participant, report)
                            .expect("participant exists")
                            .map(|reported| mechanism.evaluate(&instance, &reported).expect("same participants").utilities[participant]);
                        prop_assert_eq!(
                            fast.map(f64::to_bits), full.map(f64::to_bits),
                            "{}: participant {} report {:?}: fast {:?} vs full {:?}", mechanism, participant, report, fast, full
                        );
                    }
                }
            }
        }

        #[test]
        fn the_auditor_finds_at_least_half_of_what_brute_force_finds(instance in instance()) {
            for mechanism in [Auction::Mut, Auction::Volume, Auction::Trust] {
                let oracle = brute_force(mechanism, &instance);
                let report = audit(&mechanism, &instance, &unilateral());
                prop_assert!(report.max_unilateral_gain >= 0.5 * oracle, "{mechanism}: auditor {} vs grid {oracle}", report.max_unilateral_gain);
                check_replays(mechanism, &instance, &report);
            }
        }
    }
}

mod withdrawal {
    use super::*;
    use procura::threshold::{ThresholdInstance, ThresholdSpec, WithdrawalAssignment};
    use procura_mechanisms::test_support::threshold_instance;
    use proptest::prelude::*;

    fn threshold_golden(case: &str) -> ThresholdInstance {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join(format!("../procura-mechanisms/tests/data/thr-{case}.json"));
        let text = std::fs::read_to_string(path).expect("golden instance");
        let spec: ThresholdSpec = serde_json::from_str(&text).expect("parses");
        ThresholdInstance::new(spec).expect("valid")
    }

    #[test]
    fn the_assignment_stage_is_clean_on_the_golden_cases() {
        for case in CASES {
            let instance = threshold_golden(case);
            let report = audit(&WithdrawalAssignment, &instance, &AuditConfig::thorough());
            assert!(
                report.deviation.is_none(),
                "thr-{case}: {:?}",
                report.deviation
            );
            assert!(report.max_unilateral_gain <= GAIN_RELATIVE, "thr-{case}");
            assert_eq!(report.ir_violations, 0);
            assert!(report.budget_ok);
            if let Some(deviation) = &report.coalition {
                let replayed = replay(&WithdrawalAssignment, &instance, deviation)
                    .expect("participants exist")
                    .expect("valid");
                assert_eq!(replayed.to_bits(), deviation.gain.to_bits());
            }
        }
    }

    fn config() -> ProptestConfig {
        ProptestConfig {
            cases: 32,
            rng_seed: proptest::test_runner::RngSeed::Fixed(0x7D1),
            ..ProptestConfig::default()
        }
    }

    proptest! {
        #![proptest_config(config())]

        /// §B.3: the assignment stage is DSIC and IR on random instances.
        #[test]
        fn the_assignment_stage_shows_no_gain(instance in threshold_instance(5)) {
            let report = audit(&WithdrawalAssignment, &instance, &unilateral());
            prop_assert!(report.deviation.is_none(), "{:?}", report.deviation);
            prop_assert_eq!(report.ir_violations, 0);
            prop_assert!(report.budget_ok);
        }
    }
}

/// The thorough preset without coalitions.
fn unilateral() -> AuditConfig {
    AuditConfig::thorough()
        .with_coalition_size(1)
        .expect("1 searches no coalitions")
}
