//! How TMC-Shapley's truncation rule biases it: the error of the estimated
//! Shapley values of 12 providers against their exact values, by subset
//! enumeration, at 200, 1,000 and 5,000 permutations, for four rules:
//!
//! - `plain`: Ghorbani and Zou's truncation, procura's rule before issue 13
//!   (stop a permutation once a non-empty prefix is worth within
//!   τ·|U(N)| of U(N), τ = 0.01);
//! - `pydvl`: pyDVL 0.10's default for `TMCShapleyValuation`,
//!   `RelativeTruncation(rtol=0.01, burn_in_fraction=0.4)` (the same test,
//!   `|U(prefix) − U(N)| ≤ 1e-8 + 0.01·|U(N)|`, made only once the prefix
//!   holds at least 40% of the players);
//! - `none`: no truncation (τ = 0), unbiased and the most expensive;
//! - `roulette`: [`tmc_shapley`] as it is now (τ = 0.01): at the
//!   truncation point a fair coin stops the permutation or lets it run on
//!   with the later contributions doubled, which is unbiased.
//!
//! The games are real learning games on the red-wine data
//! (`data/winequality-red.csv`, six quality grades): 600 training rows dealt
//! at random to 12 providers of 50 rows, the last 4 of which have 30% of
//! their labels replaced by another grade, and 400 test rows; the utility
//! is the test accuracy of L2 logistic regression (λ = 1) or of 5-nearest
//! neighbours, on standardised features. Every coalition's utility is
//! computed once (4,096 models each) and the samplers read that table, so
//! that the 50 repetitions of every rule and size cost no training; the
//! table is the game itself, so this changes no estimate.
//!
//! For every rule and sample size the example prints, averaged over the 50
//! seeds: the RMSE over players, the largest error, the RMSE divided by the
//! root mean square of the reported standard errors (about 1 for an
//! unbiased estimator whose standard errors are right), the RMSE of the
//! mean of the 50 estimates (the bias, next to what sampling error alone
//! leaves: the RMS standard error over √50), and the utility evaluations
//! per permutation. Deterministic: the same numbers on any machine and
//! thread count.
//!
//! ```text
//! cargo run --release -p procura-valuation --example tmc_truncation
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};

use procura_valuation::{
    no_progress, tmc_shapley, CooperativeGame, Dataset, Knn, LearningGame, Logistic, Model,
    Players, SamplingConfig, Standardizer,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

const PROVIDERS: usize = 12;
const ROWS_EACH: usize = 50;
const NOISY: std::ops::Range<usize> = 8..12;
const NOISE_RATE: f64 = 0.3;
const TEST_ROWS: usize = 400;
const TOLERANCE: f64 = 0.01;
const SAMPLE_SIZES: [usize; 3] = [200, 1000, 5000];
const REPETITIONS: u64 = 50;

/// A game given by its utility on every coalition, indexed by bit mask.
struct TableGame {
    n: usize,
    utilities: Vec<f64>,
    calls: AtomicUsize,
}

impl TableGame {
    fn of(game: &dyn CooperativeGame) -> TableGame {
        let n = game.n_players();
        let utilities = (0..1usize << n)
            .into_par_iter()
            .map(|mask| game.utility(&members(n, mask)))
            .collect();
        TableGame {
            n,
            utilities,
            calls: AtomicUsize::new(0),
        }
    }
}

impl CooperativeGame for TableGame {
    fn n_players(&self) -> usize {
        self.n
    }
    fn utility(&self, coalition: &[usize]) -> f64 {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.utilities[coalition.iter().map(|&i| 1usize << i).sum::<usize>()]
    }
}

fn members(n: usize, mask: usize) -> Vec<usize> {
    (0..n).filter(|&i| mask >> i & 1 == 1).collect()
}

/// Shapley values by enumeration:
/// `φ_i = Σ_{S ⊆ N∖i} |S|! (n − |S| − 1)! / n! · [U(S ∪ i) − U(S)]`.
fn exact_shapley(game: &TableGame) -> Vec<f64> {
    let n = game.n;
    let factorial = |m: usize| (1..=m).map(|v| v as f64).product::<f64>();
    (0..n)
        .map(|i| {
            (0..1usize << n)
                .filter(|mask| mask >> i & 1 == 0)
                .map(|mask| {
                    let size = mask.count_ones() as usize;
                    let weight = factorial(size) * factorial(n - size - 1) / factorial(n);
                    weight * (game.utilities[mask | 1 << i] - game.utilities[mask])
                })
                .sum()
        })
        .collect()
}

/// The red-wine data, six quality grades (3 to 8) as classes 0..6.
fn wine() -> Dataset {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/winequality-red.csv");
    let text = std::fs::read_to_string(path).expect("data/winequality-red.csv is shipped");
    let mut features = Vec::new();
    let mut grades = Vec::new();
    for line in text.lines().skip(1) {
        let cells: Vec<f64> = line
            .split(',')
            .map(|cell| cell.parse().expect("a number"))
            .collect();
        features.extend_from_slice(&cells[..11]);
        grades.push(cells[11] as usize - 3);
    }
    Dataset::new(features, 11, grades, 6).expect("valid wine data")
}

/// The training set (providers' rows, noisy labels included), its players
/// and the test set, standardised on the training rows.
fn wine_providers() -> (Dataset, Players, Dataset) {
    let data = wine();
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let mut order: Vec<usize> = (0..data.n_rows()).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.random_range(0..=i));
    }
    let n_train = PROVIDERS * ROWS_EACH;
    let (train_rows, rest) = order.split_at(n_train);
    let train = data.select(train_rows).expect("rows of the data");
    let test = data.select(&rest[..TEST_ROWS]).expect("rows of the data");
    let of_row: Vec<usize> = (0..n_train).map(|row| row % PROVIDERS).collect();
    let classes = train.n_classes();
    let labels: Vec<usize> = train
        .labels()
        .iter()
        .zip(&of_row)
        .map(|(&label, provider)| {
            if NOISY.contains(provider) && rng.random_range(0.0..1.0) < NOISE_RATE {
                let other = rng.random_range(0..classes - 1);
                if other >= label {
                    other + 1
                } else {
                    other
                }
            } else {
                label
            }
        })
        .collect();
    let train = Dataset::new(train.features().to_vec(), 11, labels, classes).expect("valid");
    let scale = Standardizer::fit(&[&train]).expect("training rows");
    let train = scale.apply(&train).expect("same features");
    let test = scale.apply(&test).expect("same features");
    let players = Players::groups(of_row).expect("every provider owns rows");
    (train, players, test)
}

/// A truncation rule of the reference sampler.
#[derive(Debug, Clone, Copy)]
enum Rule {
    /// Stop at the truncation point, checked once the prefix holds at
    /// least `burn_in` of the players.
    Stop { burn_in: f64 },
    /// Never truncate.
    Never,
}

/// One run's summary: values, standard errors and utility evaluations per
/// permutation.
struct Run {
    values: Vec<f64>,
    std_errors: Vec<f64>,
    evaluations: f64,
}

/// TMC-Shapley with `rule`, drawing the permutations exactly as
/// [`tmc_shapley`] does (sample m from ChaCha8 stream m of the seed,
/// Fisher–Yates), so the rules are compared on the same permutations.
fn reference_tmc(game: &TableGame, samples: usize, seed: u64, rule: Rule) -> Run {
    let n = game.n;
    let all: Vec<usize> = (0..n).collect();
    let u_all = game.utilities[(1 << n) - 1];
    let u_empty = game.utilities[0];
    let evaluations = AtomicUsize::new(0);
    let per_sample: Vec<Vec<f64>> = (0..samples)
        .into_par_iter()
        .map(|index| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(index as u64);
            let mut permutation = all.clone();
            for i in (1..n).rev() {
                let j = rng.random_range(0..=i);
                permutation.swap(i, j);
            }
            let mut marginals = vec![0.0; n];
            let mut previous = u_empty;
            let mut mask = 0usize;
            for (j, &player) in permutation.iter().enumerate() {
                mask |= 1 << player;
                let current = game.utilities[mask];
                evaluations.fetch_add(1, Ordering::Relaxed);
                marginals[player] = current - previous;
                previous = current;
                let stop = match rule {
                    Rule::Never => false,
                    Rule::Stop { burn_in } => {
                        (j + 1) as f64 >= burn_in * n as f64
                            && (u_all - current).abs() <= TOLERANCE * u_all.abs()
                    }
                };
                if stop {
                    break;
                }
            }
            marginals
        })
        .collect();
    // Running means and variances in sample order (Welford), as the
    // library keeps them.
    let mut mean = vec![0.0; n];
    let mut m2 = vec![0.0; n];
    for (count, marginals) in per_sample.iter().enumerate() {
        for (i, &x) in marginals.iter().enumerate() {
            let delta = x - mean[i];
            mean[i] += delta / (count + 1) as f64;
            m2[i] += delta * (x - mean[i]);
        }
    }
    let m = samples as f64;
    let values = mean;
    let std_errors = m2.iter().map(|m2| (m2 / ((m - 1.0) * m)).sqrt()).collect();
    Run {
        values,
        std_errors,
        evaluations: evaluations.into_inner() as f64 / m,
    }
}

/// The library's [`tmc_shapley`] at tolerance `truncation`.
fn library_tmc(game: &TableGame, samples: usize, seed: u64, truncation: f64) -> Run {
    game.calls.store(0, Ordering::Relaxed);
    let config = SamplingConfig::new(samples, seed).expect("samples ≥ 1");
    let estimate = tmc_shapley(game, &config, truncation, &no_progress).expect("valid tolerance");
    // Less U(N) and U(∅), evaluated once per run.
    let calls = game.calls.load(Ordering::Relaxed) - 2;
    Run {
        values: estimate.values,
        std_errors: estimate.std_errors,
        evaluations: calls as f64 / samples as f64,
    }
}

/// The rules compared.
#[derive(Debug, Clone, Copy)]
enum Compared {
    Plain,
    Pydvl,
    NoTruncation,
    Roulette,
}

impl Compared {
    const ALL: [Compared; 4] = [
        Compared::Plain,
        Compared::Pydvl,
        Compared::NoTruncation,
        Compared::Roulette,
    ];

    fn label(self) -> &'static str {
        match self {
            Compared::Plain => "plain (τ = 0.01)",
            Compared::Pydvl => "pydvl (τ = 0.01, burn-in 0.4)",
            Compared::NoTruncation => "none (τ = 0)",
            Compared::Roulette => "roulette (τ = 0.01)",
        }
    }

    fn run(self, game: &TableGame, samples: usize, seed: u64) -> Run {
        match self {
            Compared::Plain => reference_tmc(game, samples, seed, Rule::Stop { burn_in: 0.0 }),
            Compared::Pydvl => reference_tmc(game, samples, seed, Rule::Stop { burn_in: 0.4 }),
            Compared::NoTruncation => library_tmc(game, samples, seed, 0.0),
            Compared::Roulette => library_tmc(game, samples, seed, TOLERANCE),
        }
    }
}

fn rms(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, count) = values.fold((0.0, 0usize), |(s, c), v| (s + v * v, c + 1));
    (sum / count as f64).sqrt()
}

fn main() {
    let (train, players, test) = wine_providers();
    let games = [
        (
            "logistic regression",
            Model::Logistic(Logistic::new(1.0).expect("λ > 0")),
        ),
        (
            "5-nearest neighbours",
            Model::Knn(Knn::new(5).expect("k ≥ 1")),
        ),
    ];
    for (name, model) in games {
        let learning = LearningGame::new(&train, &test, &players, model).expect("valid game");
        let game = TableGame::of(&learning);
        let exact = exact_shapley(&game);
        let n = game.n;
        println!(
            "\n## {name}: U(N) = {:.4}, U(∅) = {:.4}, exact Shapley values {:?}",
            game.utilities[(1 << n) - 1],
            game.utilities[0],
            exact
                .iter()
                .map(|v| (v * 1e4).round() / 1e4)
                .collect::<Vec<_>>()
        );
        // The reference sampler draws the library's permutations.
        let check = reference_tmc(&game, 64, 1, Rule::Never);
        let library = library_tmc(&game, 64, 1, 0.0);
        assert_eq!(check.values, library.values, "reference sampler differs");
        println!(
            "\n| rule | samples | RMSE | max error | RMSE ÷ RMS SE | bias (RMSE of the mean of {REPETITIONS}) | RMS SE ÷ √{REPETITIONS} | evaluations / permutation |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|---:|");
        for rule in Compared::ALL {
            for m in SAMPLE_SIZES {
                let runs: Vec<Run> = (0..REPETITIONS)
                    .map(|seed| rule.run(&game, m, seed))
                    .collect();
                let r = runs.len() as f64;
                let mean = |f: &dyn Fn(&Run) -> f64| runs.iter().map(f).sum::<f64>() / r;
                let rmse = mean(&|run| rms(run.values.iter().zip(&exact).map(|(v, e)| v - e)));
                let max_error = mean(&|run| {
                    run.values
                        .iter()
                        .zip(&exact)
                        .map(|(v, e)| (v - e).abs())
                        .fold(0.0, f64::max)
                });
                let se = mean(&|run| rms(run.std_errors.iter().copied()));
                let bias = rms((0..n)
                    .map(|i| runs.iter().map(|run| run.values[i]).sum::<f64>() / r - exact[i]));
                let evaluations = mean(&|run| run.evaluations);
                println!(
                    "| {} | {m} | {rmse:.5} | {max_error:.5} | {:.2} | {bias:.5} | {:.5} | {evaluations:.2} |",
                    rule.label(),
                    rmse / se,
                    se / r.sqrt()
                );
            }
        }
    }
}
