//! TMC-Shapley's truncation is unbiased (issue 13): with `procura value`'s
//! default tolerance, 0.01, the estimate stays within a few standard
//! errors of the exact Shapley values however many permutations are drawn,
//! on games where plain truncation (stop at the truncation point, the rule
//! before) is many standard errors off and stays so. Plain truncation is
//! written out here, so that the same check is seen to fail on it.

use procura_valuation::{
    no_progress, tmc_shapley, CooperativeGame, Dataset, Estimate, Knn, LearningGame, Model,
    Players, SamplingConfig,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `procura value --truncation`'s default.
const TOLERANCE: f64 = 0.01;

/// U(S) = 0.5 + Σ_{i ∈ S} w_i: additive, so player i's Shapley value is
/// w_i; U(N) = 1. Prefixes often reach U(N) before the end (0.3 + 0.2,
/// 0.3 + 0.1 + 0.1, …), and the players left out then cancel but are not
/// worth 0 each: where plain truncation errs.
struct Additive;

const WEIGHTS: [f64; 6] = [0.3, 0.2, 0.1, -0.1, 0.1, -0.1];

impl CooperativeGame for Additive {
    fn n_players(&self) -> usize {
        WEIGHTS.len()
    }
    fn utility(&self, coalition: &[usize]) -> f64 {
        0.5 + coalition.iter().map(|&i| WEIGHTS[i]).sum::<f64>()
    }
}

/// A game read from its utility on every coalition (by bit mask), counting
/// its evaluations.
struct Table {
    n: usize,
    utilities: Vec<f64>,
    calls: std::sync::atomic::AtomicUsize,
}

impl Table {
    fn of(game: &dyn CooperativeGame) -> Table {
        let n = game.n_players();
        let utilities = (0..1usize << n)
            .map(|mask| {
                let coalition: Vec<usize> = (0..n).filter(|&i| mask >> i & 1 == 1).collect();
                game.utility(&coalition)
            })
            .collect();
        Table {
            n,
            utilities,
            calls: 0.into(),
        }
    }

    /// Shapley values by enumeration:
    /// `φ_i = Σ_{S ⊆ N∖i} |S|! (n − |S| − 1)! / n! · [U(S ∪ i) − U(S)]`.
    fn shapley(&self) -> Vec<f64> {
        let n = self.n;
        let factorial = |m: usize| (1..=m).map(|v| v as f64).product::<f64>();
        (0..n)
            .map(|i| {
                (0..1usize << n)
                    .filter(|mask| mask >> i & 1 == 0)
                    .map(|mask| {
                        let size = mask.count_ones() as usize;
                        let weight = factorial(size) * factorial(n - size - 1) / factorial(n);
                        weight * (self.utilities[mask | 1 << i] - self.utilities[mask])
                    })
                    .sum()
            })
            .collect()
    }

    fn calls(&self) -> usize {
        self.calls.swap(0, std::sync::atomic::Ordering::Relaxed)
    }
}

impl CooperativeGame for Table {
    fn n_players(&self) -> usize {
        self.n
    }
    fn utility(&self, coalition: &[usize]) -> f64 {
        self.calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.utilities[coalition.iter().map(|&i| 1usize << i).sum::<usize>()]
    }
}

/// A learning game: 8 providers of 12 rows each (two features, labels
/// from a linear rule), the last three with 40% of their labels flipped;
/// 3-nearest-neighbour accuracy on 60 test rows.
fn noisy_knn_game() -> Table {
    let mut rng = ChaCha8Rng::seed_from_u64(41);
    let mut data = |rows: usize, noisy_from: usize| {
        let mut x = Vec::new();
        let mut y = Vec::new();
        for row in 0..rows {
            let (a, b): (f64, f64) = (rng.random_range(-2.0..2.0), rng.random_range(-2.0..2.0));
            let clean = usize::from(a + 0.5 * b + rng.random_range(-0.5..0.5) > 0.0);
            let flip = row % 8 >= noisy_from && rng.random_range(0.0..1.0) < 0.4;
            x.extend([a, b]);
            y.push(if flip { 1 - clean } else { clean });
        }
        Dataset::new(x, 2, y, 2).expect("valid")
    };
    let train = data(96, 5);
    let test = data(60, 8);
    let players = Players::groups((0..96).map(|row| row % 8).collect()).expect("groups");
    let knn = Model::Knn(Knn::new(3).expect("k"));
    let game = LearningGame::new(&train, &test, &players, knn).expect("game");
    Table::of(&game)
}

/// Plain truncation, the rule before issue 13 (Ghorbani and Zou): stop
/// once a non-empty prefix is within `TOLERANCE · |U(N)|` of U(N).
fn plain_tmc(game: &dyn CooperativeGame, samples: usize, seed: u64) -> Estimate {
    let n = game.n_players();
    let all: Vec<usize> = (0..n).collect();
    let (u_all, u_empty) = (game.utility(&all), game.utility(&[]));
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut sum = vec![0.0; n];
    let mut sum_sq = vec![0.0; n];
    for _ in 0..samples {
        let mut permutation = all.clone();
        for i in (1..n).rev() {
            permutation.swap(i, rng.random_range(0..=i));
        }
        let mut previous = u_empty;
        for j in 0..n {
            if j > 0 && (u_all - previous).abs() < TOLERANCE * u_all.abs() {
                break;
            }
            let current = game.utility(&permutation[..=j]);
            let marginal = current - previous;
            sum[permutation[j]] += marginal;
            sum_sq[permutation[j]] += marginal * marginal;
            previous = current;
        }
    }
    let m = samples as f64;
    let values: Vec<f64> = sum.iter().map(|s| s / m).collect();
    let std_errors = (0..n)
        .map(|i| ((sum_sq[i] / m - values[i] * values[i]) * m / (m - 1.0) / m).sqrt())
        .collect();
    Estimate {
        values,
        std_errors,
        samples,
    }
}

/// The largest error in standard errors, `max_i |v_i − φ_i| / SE_i`.
fn worst_z(estimate: &Estimate, exact: &[f64]) -> f64 {
    estimate
        .values
        .iter()
        .zip(&estimate.std_errors)
        .zip(exact)
        .map(|((v, se), e)| (v - e).abs() / se.max(1e-12))
        .fold(0.0, f64::max)
}

fn rmse(values: &[f64], exact: &[f64]) -> f64 {
    let sum: f64 = values.iter().zip(exact).map(|(v, e)| (v - e).powi(2)).sum();
    (sum / values.len() as f64).sqrt()
}

fn tmc(game: &dyn CooperativeGame, samples: usize, seed: u64) -> Estimate {
    let config = SamplingConfig::new(samples, seed).expect("samples ≥ 1");
    tmc_shapley(game, &config, TOLERANCE, &no_progress).expect("valid tolerance")
}

/// At 20,000 permutations, the default truncation is within 4 standard
/// errors of the exact values on both games (no bias), while truncating
/// fewer utilities than the permutations hold; plain truncation on the
/// same games is more than 10 standard errors off.
#[test]
fn default_truncation_has_no_bias_where_plain_truncation_has() {
    let additive = Table::of(&Additive);
    let games = [("additive", additive), ("noisy knn", noisy_knn_game())];
    for (name, game) in &games {
        let exact = game.shapley();
        game.calls();
        let estimate = tmc(game, 20_000, 3);
        let per_permutation = (game.calls() - 2) as f64 / 20_000.0;
        let z = worst_z(&estimate, &exact);
        assert!(
            z <= 4.0,
            "{name}: {z:.1} standard errors off: {:?} vs {exact:?}",
            estimate.values
        );
        assert!(
            per_permutation < game.n as f64 - 0.1,
            "{name}: {per_permutation} evaluations per permutation: nothing truncated"
        );
        let plain = plain_tmc(game, 20_000, 3);
        let z = worst_z(&plain, &exact);
        assert!(
            z > 10.0,
            "{name}: plain truncation only {z:.1} standard errors off"
        );
    }
}

/// The error keeps falling with samples: from 500 to 32,000 permutations
/// (64 times as many) the RMSE of the default, over 4 seeds, falls at least
/// 4-fold (8-fold expected without bias), while plain truncation's falls
/// less than 2-fold.
#[test]
fn the_error_keeps_falling_with_samples() {
    let game = noisy_knn_game();
    let exact = game.shapley();
    let error = |run: &dyn Fn(usize, u64) -> Estimate, samples: usize| -> f64 {
        let squares: f64 = (0..4)
            .map(|seed| rmse(&run(samples, seed).values, &exact).powi(2))
            .sum();
        (squares / 4.0).sqrt()
    };
    let default = |samples, seed| tmc(&game, samples, seed);
    let plain = |samples, seed| plain_tmc(&game, samples, seed);
    let (few, many) = (error(&default, 500), error(&default, 32_000));
    assert!(many * 4.0 <= few, "default: RMSE {few} → {many}");
    let (few, many) = (error(&plain, 500), error(&plain, 32_000));
    assert!(many * 2.0 > few, "plain: RMSE {few} → {many}");
}

/// The coin is drawn from the sample's own stream: the same bits on 1 and
/// 3 threads.
#[test]
fn truncation_is_the_same_on_any_thread_count() {
    let game = noisy_knn_game();
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool")
            .install(|| tmc(&game, 500, 4))
    };
    let (one, three) = (run(1), run(3));
    let bits = |e: &Estimate| -> Vec<u64> {
        e.values
            .iter()
            .chain(&e.std_errors)
            .map(|v| v.to_bits())
            .collect()
    };
    assert_eq!(bits(&one), bits(&three));
}
