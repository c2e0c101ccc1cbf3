//! One procurement round end to end (`procura::round`) on a small synthetic
//! dataset: determinism across runs and thread counts, every mechanism
//! within its share of the budget, the rows trained on are exactly the
//! winners' rows, the measured quality and utility are what the valuation
//! functions give on the trusted set, and the configuration is checked.

use procura::audit::BestResponseConfig;
use procura::procurement::{Auction, Instance};
use procura::round::{run, RoundConfig, RoundData, RoundError, RoundReport, STAGES};
use procura::tolerance::{approx_eq, at_most, ROUNDING_RELATIVE};
use procura::valuation::{
    accuracy, knn_shapley, no_progress, quality_scores, Dataset, Model, Progress, ValuationError,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Two overlapping classes in two features: label 1 when x₀ + x₁ plus noise
/// is positive, so a linear model reaches about 85% accuracy.
fn blobs(seed: u64, rows: usize) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut x = Vec::with_capacity(rows * 2);
    let mut y = Vec::with_capacity(rows);
    for _ in 0..rows {
        let a: f64 = rng.random_range(-2.0..2.0);
        let b: f64 = rng.random_range(-2.0..2.0);
        y.push(usize::from(a + b + rng.random_range(-1.0..1.0) > 0.0));
        x.extend([a, b]);
    }
    Dataset::new(x, 2, y, 2).expect("valid blobs")
}

/// 500 rows: 150 test, 60 trusted, 290 among the providers.
fn data(seed: u64) -> RoundData {
    RoundData::split(&blobs(99, 500), 150, 60, seed).expect("split")
}

fn config() -> RoundConfig {
    RoundConfig::demo()
        .with_n_providers(12)
        .expect("12 providers")
}

fn round(seed: u64) -> RoundReport {
    run(&data(seed), &config(), seed, &no_progress).expect("round runs")
}

fn on_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool")
        .install(f)
}

#[test]
fn a_round_is_a_pure_function_of_data_config_and_seed() {
    let one = on_threads(1, || round(3));
    let four = on_threads(4, || round(3));
    assert_eq!(one, four);
    assert_eq!(one, round(3));
    // The seed reaches the split, the providers and the costs.
    let other = round(4);
    assert_ne!(one.split, other.split);
    assert_ne!(one.truth, other.truth);
}

#[test]
fn the_holdout_split_deals_every_row_once_and_scales_on_what_the_buyer_sees() {
    let all = blobs(99, 500);
    let parts = data(5);
    let sizes = (
        parts.test.n_rows(),
        parts.trusted.n_rows(),
        parts.pool.n_rows(),
    );
    assert_eq!(sizes, (150, 60, 290));
    let dealt = [&parts.test, &parts.trusted, &parts.pool];
    let rows = |parts: &[&Dataset]| -> Vec<(Vec<f64>, usize)> {
        parts
            .iter()
            .flat_map(|d| d.iter().map(|(x, label)| (x.to_vec(), label)))
            .collect()
    };
    let scaled = rows(&dealt);
    let original = rows(&[&all]);
    // Every row is dealt once, scaled by one increasing affine map per
    // feature: fit each map on the extreme values, and the unscaled rows
    // are the original rows, as a multiset.
    let n_features = all.n_features();
    let maps: Vec<(f64, f64)> = (0..n_features)
        .map(|f| {
            let min_max = |rows: &[(Vec<f64>, usize)]| {
                rows.iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (x, _)| {
                        (lo.min(x[f]), hi.max(x[f]))
                    })
            };
            let ((v_lo, v_hi), (x_lo, x_hi)) = (min_max(&scaled), min_max(&original));
            let slope = (v_hi - v_lo) / (x_hi - x_lo);
            assert!(slope > 0.0);
            (slope, v_lo - slope * x_lo)
        })
        .collect();
    let key = |x: &[f64], label: usize| -> Vec<i64> {
        let mut key: Vec<i64> = x.iter().map(|v| (v * 1e6).round() as i64).collect();
        key.push(label as i64);
        key
    };
    let mut unscaled: Vec<Vec<i64>> = scaled
        .iter()
        .map(|(x, label)| {
            let x: Vec<f64> = x
                .iter()
                .zip(&maps)
                .map(|(v, (slope, offset))| (v - offset) / slope)
                .collect();
            key(&x, *label)
        })
        .collect();
    let mut originals: Vec<Vec<i64>> = original.iter().map(|(x, l)| key(x, *l)).collect();
    unscaled.sort();
    originals.sort();
    assert_eq!(unscaled, originals);

    // The scaling is fitted on the pool and the trusted rows only: there
    // every feature has mean 0 and standard deviation 1, and the test rows
    // are not standardised among themselves.
    let seen = rows(&[&parts.pool, &parts.trusted]);
    let test = rows(&[&parts.test]);
    for f in 0..n_features {
        let moments = |rows: &[(Vec<f64>, usize)]| {
            let n = rows.len() as f64;
            let mean = rows.iter().map(|(x, _)| x[f]).sum::<f64>() / n;
            let var = rows.iter().map(|(x, _)| (x[f] - mean).powi(2)).sum::<f64>() / n;
            (mean, var.sqrt())
        };
        let (mean, sd) = moments(&seen);
        assert!(
            mean.abs() < 1e-12 && (sd - 1.0).abs() < 1e-12,
            "{f}: {mean} {sd}"
        );
        let (test_mean, test_sd) = moments(&test);
        assert!(test_mean.abs() > 1e-9 || (test_sd - 1.0).abs() > 1e-9);
    }
    assert_ne!(parts, data(6), "the shuffle depends on the seed");
}

/// A feature constant over the rows the buyer sees carries nothing: it is 0
/// in every part, the test rows included (valuation's `Standardizer`).
#[test]
fn a_constant_feature_becomes_zero_in_every_part() {
    let blobs = blobs(99, 500);
    let features: Vec<f64> = blobs.iter().flat_map(|(x, _)| [x[0], 0.1, x[1]]).collect();
    let with_constant = Dataset::new(features, 3, blobs.labels().to_vec(), 2).expect("valid");
    let parts = RoundData::split(&with_constant, 150, 60, 5).expect("split");
    let plain = data(5);
    for (part, plain) in [
        (&parts.test, &plain.test),
        (&parts.trusted, &plain.trusted),
        (&parts.pool, &plain.pool),
    ] {
        for (row, (x, _)) in part.iter().enumerate() {
            assert_eq!(x[1].to_bits(), 0.0_f64.to_bits());
            // The other features are scaled exactly as without the column.
            assert_eq!(Some(&[x[0], x[2]][..]), plain.row(row));
        }
    }
}

#[test]
fn every_mechanism_runs_and_stays_within_its_share_of_the_budget() {
    for seed in 0..4 {
        let report = round(seed);
        let budget = report.budget;
        let costs: f64 = report.truth.providers().iter().map(|p| p.bid()).sum();
        assert!(approx_eq(budget, 0.3 * costs, 1e-12), "B = 0.3 Σ c_i");
        let mechanisms: Vec<Auction> = report.purchases.iter().map(|p| p.mechanism).collect();
        assert_eq!(mechanisms, Auction::ALL);
        let lambda = config().liquidity();
        for purchase in &report.purchases {
            let (cash_share, token_share) = match purchase.mechanism {
                Auction::Qmia | Auction::Volume | Auction::Trust => (1.0, 0.0),
                Auction::Mut => (0.0, 1.0),
                Auction::Mixed => (lambda, 1.0 - lambda),
            };
            let within = |paid: f64, share: f64| at_most(paid, share * budget, ROUNDING_RELATIVE);
            assert!(
                within(purchase.cash, cash_share) && within(purchase.tokens, token_share),
                "seed {seed}, {}: cash {} tokens {} budget {budget}",
                purchase.mechanism,
                purchase.cash,
                purchase.tokens
            );
            assert!(at_most(purchase.spend(), budget, ROUNDING_RELATIVE));
        }
    }
}

/// The rows each final model was trained on are the winners' rows, no more
/// and no less, and its accuracy is that of a model trained on them.
#[test]
fn the_model_is_trained_on_exactly_the_winners_rows() {
    let parts = data(1);
    let report = run(&parts, &config(), 1, &no_progress).expect("round");
    let players = &report.split.players;
    let model = Model::Logistic(config().logistic());
    let mut bought_something = false;
    for purchase in &report.purchases {
        let mut expected: Vec<usize> = purchase
            .outcome
            .winners()
            .flat_map(|winner| players.rows_of(winner).to_vec())
            .collect();
        expected.sort_unstable();
        assert_eq!(purchase.rows, expected, "{}", purchase.mechanism);
        bought_something |= !expected.is_empty();
        let volume: f64 = purchase
            .outcome
            .winners()
            .map(|winner| report.truth.providers()[winner].volume())
            .sum();
        assert_eq!(purchase.n_rows() as f64, volume, "volume is the row count");
        let retrained =
            accuracy(&model, &report.split.data, &expected, &parts.test).expect("trains");
        assert_eq!(purchase.accuracy, retrained, "{}", purchase.mechanism);
        let cost: f64 = purchase
            .outcome
            .winners()
            .map(|winner| report.truth.providers()[winner].bid())
            .sum();
        assert!(approx_eq(purchase.cost, cost, 1e-12));
    }
    assert!(bought_something);
    let all: Vec<usize> = (0..report.split.data.n_rows()).collect();
    assert_eq!(report.all_data.n_rows, all.len());
    assert_eq!(
        report.all_data.accuracy,
        accuracy(&model, &report.split.data, &all, &parts.test).expect("trains")
    );
    assert_eq!(report.no_purchase.accuracy, parts.test.majority_rate());
}

/// Quality is agreement with a logistic regression trained on the trusted
/// set, and utility is the providers' KNN-Shapley value on the trusted set
/// (not the test set), clamped at 0.
#[test]
fn quality_and_utility_are_measured_on_the_trusted_set() {
    let noisy = config().with_max_noise(1.0).expect("noise up to 1");
    let parts = data(2);
    let report = run(&parts, &noisy, 2, &no_progress).expect("round");
    let split = &report.split;
    let model = Model::Logistic(noisy.logistic());
    let quality = quality_scores(&parts.trusted, &split.data, &split.players, &model).expect("q");
    let values = knn_shapley(
        &split.data,
        &parts.trusted,
        noisy.knn(),
        &split.players,
        &|_| {},
    )
    .expect("μ");
    let providers = report.truth.providers();
    for (i, provider) in providers.iter().enumerate() {
        assert_eq!(provider.quality(), quality[i]);
        assert_eq!(provider.utility(), values[i].max(0.0));
        assert_eq!(provider.claimed_quality(), quality[i]);
        assert_eq!(provider.volume(), split.players.rows_of(i).len() as f64);
    }
    // Mostly flipped labels are worth less than nothing, and are clamped.
    assert!(values.iter().any(|&value| value < 0.0));
    assert!(providers.iter().any(|provider| provider.utility() == 0.0));
}

/// Value is Σ q·μ over the winners and can only grow with the set bought:
/// no mechanism buys more than every provider's rows are worth.
#[test]
fn values_are_scores_of_winners_and_bounded_by_all_data() {
    for seed in 0..4 {
        let report = round(seed);
        for purchase in &report.purchases {
            let value = purchase.outcome.winners().fold(0.0, |sum, winner| {
                sum + report.truth.providers()[winner].score()
            });
            assert_eq!(purchase.value(), value);
            assert!(purchase.value() <= report.all_data.value * (1.0 + 1e-12));
            assert!(purchase.n_rows() <= report.all_data.n_rows);
            // Quality and utility are the buyer's measurements, not reports.
            for (reported, true_provider) in purchase
                .reports
                .providers()
                .iter()
                .zip(report.truth.providers())
            {
                assert_eq!(reported.score(), true_provider.score());
                assert_eq!(reported.id(), true_provider.id());
            }
        }
    }
}

/// Q-MIA and Mixed-MIA are DSIC, so best-response dynamics stop after one
/// round at the true costs, and at B_eff = B Mixed-MIA buys Q-MIA's
/// providers, paying λ of each critical value in cash and the rest in
/// tokens.
#[test]
fn the_dsic_mechanisms_are_cleared_at_true_costs() {
    let lambda = config().liquidity();
    for seed in 0..4 {
        let report = round(seed);
        let qmia = report.purchase(Auction::Qmia).expect("qmia");
        let mixed = report.purchase(Auction::Mixed).expect("mixed");
        for purchase in [qmia, mixed] {
            assert_eq!(bids(&purchase.reports), bids(&report.truth));
            assert_eq!((purchase.rounds, purchase.converged), (1, true));
        }
        assert_eq!(
            qmia.outcome.winners().collect::<Vec<_>>(),
            mixed.outcome.winners().collect::<Vec<_>>()
        );
        assert!(approx_eq(mixed.cash, lambda * qmia.cash, 1e-9));
        assert!(approx_eq(mixed.tokens, (1.0 - lambda) * qmia.cash, 1e-9));
    }
}

/// What the demo's paragraph says of a purchase comes from `Purchase`:
/// the DSIC mechanisms are truthful with no markup; the pay-as-bid
/// baselines' winners bid at least their cost; underbids are counted
/// against the true costs; the trust winners' claims are compared with
/// their verified quality; and a MUT share is worth R·τ/Π.
#[test]
fn purchases_describe_how_their_providers_bid() {
    for seed in 0..4 {
        let report = round(seed);
        let truth = &report.truth;
        for purchase in &report.purchases {
            let costs = bids(truth);
            let reported = bids(&purchase.reports);
            let below = reported.iter().zip(&costs).filter(|(r, c)| r < c).count();
            assert_eq!(purchase.underbids(truth), below);
            assert_eq!(
                purchase.truthful(truth),
                reported == costs && {
                    let claims = |i: &Instance| -> Vec<f64> {
                        i.providers().iter().map(|p| p.claimed_quality()).collect()
                    };
                    claims(&purchase.reports) == claims(truth)
                }
            );
            let winners: Vec<usize> = purchase.outcome.winners().collect();
            match purchase.claim_inflation() {
                None => assert!(winners.is_empty()),
                Some(inflation) => {
                    let mean = |f: &dyn Fn(usize) -> f64| {
                        winners.iter().map(|&w| f(w)).sum::<f64>() / winners.len() as f64
                    };
                    let providers = purchase.reports.providers();
                    assert_eq!(inflation.claimed, mean(&|w| providers[w].claimed_quality()));
                    assert_eq!(
                        inflation.verified,
                        mean(&|w| truth.providers()[w].quality())
                    );
                }
            }
        }
        for mechanism in [Auction::Qmia, Auction::Mixed] {
            let purchase = report.purchase(mechanism).expect("dsic");
            assert!(purchase.truthful(truth));
            assert_eq!(purchase.underbids(truth), 0);
            assert_eq!(purchase.markup(), 0.0);
        }
        for mechanism in [Auction::Volume, Auction::Trust] {
            let purchase = report.purchase(mechanism).expect("baseline");
            assert!(
                purchase.markup() >= 0.0,
                "{mechanism}: pay-as-bid never bids below cost"
            );
            assert_eq!(purchase.underbids(truth), 0);
        }
        let trust = report.purchase(Auction::Trust).expect("trust");
        if let Some(inflation) = trust.claim_inflation() {
            assert!(inflation.claimed >= inflation.verified);
        }
        let mut_token = report.purchase(Auction::Mut).expect("mut");
        let market = &mut_token.reports;
        assert!(approx_eq(
            mut_token.tokens,
            mut_token.outcome.total_tokens() * market.token_budget() / market.token_pool(),
            1e-12
        ));
    }
}

/// Whatever the providers report, every winner is paid at least its true
/// cost (cash and tokens at face value, a MUT share at R·τ/Π), and the
/// non-DSIC mechanisms are cleared where their dynamics stopped: some
/// baseline provider bids above cost.
#[test]
fn winners_are_paid_at_least_their_true_cost() {
    let mut someone_overbid = false;
    for seed in 0..4 {
        let report = round(seed);
        for purchase in &report.purchases {
            assert!(purchase.rounds >= 1);
            for winner in purchase.outcome.winners() {
                let reward =
                    purchase
                        .mechanism
                        .reward(&purchase.reports, &purchase.outcome, winner);
                let cost = report.truth.providers()[winner].bid();
                assert!(
                    reward >= cost * (1.0 - 1e-9),
                    "seed {seed}, {}: provider {winner} paid {reward} for cost {cost}",
                    purchase.mechanism
                );
            }
            let reported = bids(&purchase.reports);
            let truth = bids(&report.truth);
            someone_overbid |= matches!(purchase.mechanism, Auction::Volume | Auction::Trust)
                && reported.iter().zip(&truth).any(|(b, c)| b > c);
        }
    }
    assert!(
        someone_overbid,
        "the baselines are played, not cleared at the truth"
    );
}

fn bids(instance: &Instance) -> Vec<f64> {
    instance.providers().iter().map(|p| p.bid()).collect()
}

#[test]
fn progress_counts_the_valuation_and_every_mechanism() {
    let seen = std::sync::Mutex::new(Vec::new());
    let record = |step: Progress| seen.lock().expect("lock").push(step);
    run(&data(0), &config(), 0, &record).expect("round");
    let seen = seen.into_inner().expect("lock");
    let done: Vec<usize> = seen.iter().map(|step| step.done).collect();
    assert_eq!(done, (1..=STAGES).collect::<Vec<_>>());
    assert!(seen.iter().all(|step| step.total == STAGES));
}

/// One line per invalid configuration: the setter refuses it and the error
/// names the field; the number of providers is checked again against the
/// pool when the round runs.
#[test]
fn invalid_configurations_name_their_field() {
    fn check(config: Result<RoundConfig, RoundError>, expected: &str) {
        let error = config.expect_err("invalid config");
        assert!(matches!(error, RoundError::Config { .. }), "{error:?}");
        assert_eq!(error.to_string(), expected);
    }
    let base = config();
    for (fraction, expected) in [
        (0.0, "budget_fraction: 0 is not in (0, 1]"),
        (-1.0, "budget_fraction: -1 is not in (0, 1]"),
        (f64::NAN, "budget_fraction: NaN is not in (0, 1]"),
        (1.5, "budget_fraction: 1.5 is not in (0, 1]"),
    ] {
        check(base.clone().with_budget_fraction(fraction), expected);
    }
    check(
        base.clone().with_liquidity(0.0),
        "liquidity: 0 is not in (0, 1]",
    );
    check(
        base.clone().with_token_pool(f64::INFINITY),
        "token_pool: inf is not finite and > 0",
    );
    check(
        base.clone().with_unit_cost_sigma(-0.5),
        "unit_cost_sigma: -0.5 is not finite and ≥ 0",
    );
    check(
        base.clone().with_max_noise(2.0),
        "max_noise: 2 is not in [0, 1]",
    );
    check(
        base.clone().with_max_duplicates(f64::NAN),
        "max_duplicates: NaN is not in [0, 1]",
    );
    check(
        base.clone().with_n_providers(0),
        "n_providers: 0 is not ≥ 1",
    );
    // A refused value leaves nothing half-set: the edges are accepted.
    let edges = base
        .clone()
        .with_budget_fraction(1.0)
        .and_then(|c| c.with_liquidity(1.0))
        .and_then(|c| c.with_max_noise(0.0))
        .and_then(|c| c.with_unit_cost_sigma(0.0))
        .expect("edges are valid");
    assert_eq!(
        (
            edges.budget_fraction(),
            edges.liquidity(),
            edges.max_noise()
        ),
        (1.0, 1.0, 0.0)
    );
    // An empty strategy grid cannot even be built into a config.
    assert_eq!(
        BestResponseConfig::default_grid()
            .with_markups(Vec::new())
            .expect_err("refused")
            .to_string(),
        "markups is empty: list at least one bid multiplier",
    );
    // More providers than the pool's 290 rows: refused when the round runs.
    let too_many = base.with_n_providers(291).expect("≥ 1");
    let error = run(&data(0), &too_many, 0, &no_progress).expect_err("291 providers");
    assert!(matches!(
        error,
        RoundError::Valuation(ValuationError::Providers { .. })
    ));
    assert_eq!(
        error.to_string(),
        "n_providers: cannot split 290 rows among 291 providers"
    );
}

#[test]
fn the_holdout_needs_rows_in_every_part() {
    let all = blobs(1, 10);
    for (n_test, n_trusted) in [(0, 2), (2, 0), (5, 5), (9, 3), (usize::MAX, 1)] {
        let error = RoundData::split(&all, n_test, n_trusted, 0).expect_err("too many held out");
        assert_eq!(
            error,
            RoundError::Holdout {
                n_test,
                n_trusted,
                n_rows: 10
            }
        );
    }
    assert!(RoundData::split(&all, 4, 5, 0).is_ok());
}
