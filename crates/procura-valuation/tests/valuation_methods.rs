//! Valuation methods against brute force: exact KNN-Shapley equals subset
//! enumeration; TMC-Shapley and MSR-Banzhaf converge to the exact values;
//! efficiency; TMC's truncation bound; determinism across thread counts;
//! the logistic-regression solver reaches a zero gradient (on random data
//! and on the shipped wine data); the utility's conventions; invalid
//! players.

use procura_valuation::tolerance::SHAPLEY_EXACT;
use procura_valuation::{
    accuracy, banzhaf_msr, fit_logistic, knn_shapley, knn_utility, leave_one_out, no_progress,
    tmc_shapley, CooperativeGame, Dataset, DatasetError, Estimate, Knn, LearningGame, Logistic,
    Model, Players, SamplingConfig,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A random dataset. Features on a small integer grid when `grid` is set,
/// so that distance ties occur.
fn dataset(seed: u64, rows: usize, features: usize, classes: usize, grid: Option<u32>) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x = (0..rows * features)
        .map(|_| match grid {
            Some(levels) => f64::from(rng.random_range(0..levels)),
            None => rng.random_range(-2.0..2.0),
        })
        .collect();
    let y = (0..rows).map(|_| rng.random_range(0..classes)).collect();
    Dataset::new(x, features, y, classes).expect("valid random dataset")
}

/// A dataset whose label follows the sign of a linear score, with noise.
fn linear_dataset(seed: u64, rows: usize, features: usize, classes: usize) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut x = Vec::with_capacity(rows * features);
    let mut y = Vec::with_capacity(rows);
    for _ in 0..rows {
        let row: Vec<f64> = (0..features).map(|_| rng.random_range(-2.0..2.0)).collect();
        let score = row[0] + 0.5 * row[features - 1] + rng.random_range(-0.7..0.7);
        let class = ((score + 3.0) / 6.0 * classes as f64).clamp(0.0, classes as f64 - 1.0);
        x.extend(row);
        y.push(class as usize);
    }
    Dataset::new(x, features, y, classes).expect("valid linear dataset")
}

/// U(S) for every coalition, indexed by bit mask.
fn all_utilities(n: usize, utility: &dyn Fn(&[usize]) -> f64) -> Vec<f64> {
    (0..1usize << n)
        .map(|mask| {
            let coalition: Vec<usize> = (0..n).filter(|&i| mask >> i & 1 == 1).collect();
            utility(&coalition)
        })
        .collect()
}

/// Shapley values by enumerating all subsets:
///
/// ```text
/// φ_i = Σ_{S ⊆ N∖i} |S|! (n − |S| − 1)! / n! · [U(S ∪ i) − U(S)]
/// ```
fn brute_shapley(n: usize, utilities: &[f64]) -> Vec<f64> {
    let factorial = |m: usize| (1..=m).map(|v| v as f64).product::<f64>();
    (0..n)
        .map(|i| {
            (0..1usize << n)
                .filter(|mask| mask >> i & 1 == 0)
                .map(|mask| {
                    let size = mask.count_ones() as usize;
                    let weight = factorial(size) * factorial(n - size - 1) / factorial(n);
                    weight * (utilities[mask | 1 << i] - utilities[mask])
                })
                .sum()
        })
        .collect()
}

/// Banzhaf values by enumeration: the mean marginal contribution over all
/// coalitions of the others.
fn brute_banzhaf(n: usize, utilities: &[f64]) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let total: f64 = (0..1usize << n)
                .filter(|mask| mask >> i & 1 == 0)
                .map(|mask| utilities[mask | 1 << i] - utilities[mask])
                .sum();
            total / (1usize << (n - 1)) as f64
        })
        .collect()
}

/// Exact KNN-Shapley equals brute-force Shapley of the KNN utility.
#[test]
fn knn_shapley_equals_brute_force() {
    // (seed, train rows, test rows, features, classes, k, grid levels)
    let cases = [
        (1, 6, 1, 2, 2, 1, None),
        (2, 7, 3, 2, 2, 2, None),
        (3, 8, 4, 3, 3, 3, None),
        (4, 8, 5, 1, 2, 3, Some(3)),
        (5, 9, 2, 2, 2, 5, Some(2)),
        (6, 5, 3, 2, 3, 8, None),
        (7, 10, 4, 2, 2, 4, Some(3)),
        (8, 4, 2, 1, 2, 4, Some(2)),
    ];
    for (seed, rows, tests, features, classes, k, grid) in cases {
        let train = dataset(seed, rows, features, classes, grid);
        let test = dataset(seed + 100, tests, features, classes, grid);
        let knn = Knn::new(k).expect("k ≥ 1");
        let values = knn_shapley(&train, &test, knn, &Players::points(&train), &no_progress)
            .expect("knn-shapley runs");
        let utilities = all_utilities(rows, &|s| {
            knn_utility(&train, &test, knn, s).expect("rows of train")
        });
        let expected = brute_shapley(rows, &utilities);
        for (i, (v, e)) in values.iter().zip(&expected).enumerate() {
            assert!(
                (v - e).abs() <= SHAPLEY_EXACT,
                "case {seed}: row {i}: {v} vs brute force {e}"
            );
        }
        // Efficiency: U(∅) = 0 for the KNN utility.
        let total: f64 = values.iter().sum();
        assert!((total - utilities[(1 << rows) - 1]).abs() <= SHAPLEY_EXACT);
    }
}

/// At provider level, a provider's KNN-Shapley value is the sum of its rows'.
#[test]
fn knn_shapley_sums_rows_per_provider() {
    let train = dataset(11, 40, 3, 2, None);
    let test = dataset(12, 10, 3, 2, None);
    let knn = Knn::new(5).expect("k ≥ 1");
    let groups: Vec<usize> = (0..40).map(|row| row % 4).collect();
    let players = Players::groups(groups.clone()).expect("groups");
    let per_row =
        knn_shapley(&train, &test, knn, &Players::points(&train), &no_progress).expect("runs");
    let per_provider = knn_shapley(&train, &test, knn, &players, &no_progress).expect("runs");
    for (provider, value) in per_provider.iter().enumerate() {
        let expected: f64 = (0..40)
            .filter(|&row| groups[row] == provider)
            .map(|row| per_row[row])
            .sum();
        assert!((value - expected).abs() <= SHAPLEY_EXACT);
    }
}

/// U(S) = (Σ_{i ∈ S} w_i)²: both the Shapley and the Banzhaf value of
/// player i are w_i · Σ_j w_j.
struct Square(Vec<f64>);

impl CooperativeGame for Square {
    fn n_players(&self) -> usize {
        self.0.len()
    }
    fn utility(&self, coalition: &[usize]) -> f64 {
        coalition.iter().map(|&i| self.0[i]).sum::<f64>().powi(2)
    }
}

/// Every estimate lies within `z` standard errors (plus `slack`) of the
/// exact value, and the standard errors are below `max_se`.
fn check_converged(name: &str, estimate: &Estimate, exact: &[f64], z: f64, max_se: f64) {
    for (i, ((v, se), e)) in estimate
        .values
        .iter()
        .zip(&estimate.std_errors)
        .zip(exact)
        .enumerate()
    {
        assert!(*se <= max_se, "{name}: player {i}: standard error {se}");
        assert!(
            (v - e).abs() <= z * se + 1e-9,
            "{name}: player {i}: {v} vs exact {e} (se {se})"
        );
    }
}

fn config(samples: usize, seed: u64) -> SamplingConfig {
    SamplingConfig::new(samples, seed).expect("at least one sample")
}

#[test]
fn sampling_converges_on_a_known_game() {
    let weights = vec![0.1, 0.5, 1.0, 0.3, 0.8, 0.05];
    let total: f64 = weights.iter().sum();
    let exact: Vec<f64> = weights.iter().map(|w| w * total).collect();
    let game = Square(weights);
    let tmc = tmc_shapley(&game, &config(4000, 1), 0.0, &no_progress).expect("tmc");
    check_converged("tmc", &tmc, &exact, 4.0, 0.05);
    let msr = banzhaf_msr(&game, &config(4000, 2), &no_progress).expect("msr");
    check_converged("msr", &msr, &exact, 4.0, 0.1);
}

/// TMC and MSR converge to the enumerated values of a real learning game.
#[test]
fn sampling_converges_on_a_learning_game() {
    // (seed, rows, players, model)
    let cases = [
        (21, 24, 6, Model::Knn(Knn::new(3).expect("k"))),
        (22, 30, 5, Model::Logistic(Logistic::new(1.0).expect("l2"))),
    ];
    for (seed, rows, n_players, model) in cases {
        let train = linear_dataset(seed, rows, 2, 2);
        let test = linear_dataset(seed + 1, 40, 2, 2);
        let players =
            Players::groups((0..rows).map(|row| row % n_players).collect()).expect("groups");
        let game = LearningGame::new(&train, &test, &players, model).expect("game");
        let utilities = all_utilities(n_players, &|s| game.utility(s));
        let shapley = brute_shapley(n_players, &utilities);
        let banzhaf = brute_banzhaf(n_players, &utilities);

        let tmc = tmc_shapley(&game, &config(1500, seed), 0.0, &no_progress).expect("tmc");
        check_converged("tmc", &tmc, &shapley, 4.0, 0.02);
        // Efficiency, sample by sample: Σ φ_i = U(N) − U(∅).
        let sum: f64 = tmc.values.iter().sum();
        let span = utilities[(1 << n_players) - 1] - utilities[0];
        assert!(
            (sum - span).abs() <= 1e-9,
            "tmc efficiency: {sum} vs {span}"
        );

        let msr = banzhaf_msr(&game, &config(3000, seed), &no_progress).expect("msr");
        check_converged("msr", &msr, &banzhaf, 4.0, 0.03);

        let loo = leave_one_out(&game, &no_progress);
        let full = (1usize << n_players) - 1;
        for (i, value) in loo.values.iter().enumerate() {
            assert_eq!(*value, utilities[full] - utilities[full & !(1 << i)]);
        }
    }
}

/// U(S) = 0.6 + 0.3·[0 ∈ S] − 0.3·[1 ∈ S] + 0.1·[2 ∈ S] − 0.1·[3 ∈ S]:
/// additive, so every player's Shapley value is its term, and U(N) = U(∅)
/// like a model no better than the majority rate on the whole set.
struct Cancelling;

impl CooperativeGame for Cancelling {
    fn n_players(&self) -> usize {
        4
    }
    fn utility(&self, coalition: &[usize]) -> f64 {
        let terms = [0.3, -0.3, 0.1, -0.1];
        0.6 + coalition.iter().map(|&i| terms[i]).sum::<f64>()
    }
}

/// Truncation never stops a permutation before its first player: with
/// U(N) = U(∅), TMC still finds the players' values (the truncation
/// check at the empty prefix would return all zeros with SE 0).
#[test]
fn tmc_does_not_truncate_the_empty_prefix() {
    let tmc = tmc_shapley(&Cancelling, &config(64, 1), 0.01, &no_progress).expect("tmc");
    for (i, (value, exact)) in tmc.values.iter().zip([0.3, -0.3, 0.1, -0.1]).enumerate() {
        // Truncation may cut a permutation once its prefix is within 0.006
        // of U(N), which an additive game reaches only when the remaining
        // players cancel: the mean stays near the exact value.
        assert!(
            (value - exact).abs() <= 0.1,
            "player {i}: {value} vs exact {exact}"
        );
    }
    assert!(tmc.std_errors.iter().any(|&se| se > 0.0));
}

/// A game that counts its utility evaluations.
struct Counting<'a> {
    game: &'a dyn CooperativeGame,
    calls: std::sync::atomic::AtomicUsize,
}

impl CooperativeGame for Counting<'_> {
    fn n_players(&self) -> usize {
        self.game.n_players()
    }
    fn utility(&self, coalition: &[usize]) -> f64 {
        self.calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.game.utility(coalition)
    }
}

/// Each sample's contributions add up to U(N) − U(∅) within τ·|U(N)| (a
/// one-sample estimate is that sample's contributions), exactly when τ = 0;
/// and a large τ does truncate (fewer evaluations than U(N), U(∅) and one
/// per player).
#[test]
fn tmc_truncation_bound_holds_per_sample() {
    let train = linear_dataset(71, 40, 2, 2);
    let test = linear_dataset(72, 30, 2, 2);
    let players = Players::points(&train);
    let knn = Model::Knn(Knn::new(3).expect("k"));
    let learning = LearningGame::new(&train, &test, &players, knn).expect("game");
    let games: [&dyn CooperativeGame; 2] = [&learning, &Cancelling];
    for game in games {
        let n = game.n_players();
        let all: Vec<usize> = (0..n).collect();
        let (u_all, u_empty) = (game.utility(&all), game.utility(&[]));
        for truncation in [0.0, 0.05, 0.3] {
            let counting = Counting {
                game,
                calls: 0.into(),
            };
            for seed in 0..20 {
                let tmc = tmc_shapley(&counting, &config(1, seed), truncation, &no_progress)
                    .expect("tmc");
                let sum: f64 = tmc.values.iter().sum();
                let bound = truncation * u_all.abs() + 1e-12;
                assert!(
                    (sum - (u_all - u_empty)).abs() <= bound,
                    "{n} players, τ {truncation}, seed {seed}: {sum} vs {}",
                    u_all - u_empty
                );
            }
            let calls = counting.calls.into_inner();
            if truncation == 0.0 {
                assert_eq!(calls, 20 * (n + 2));
            } else if truncation >= 0.3 {
                assert!(calls < 20 * (n + 2), "τ {truncation}: nothing truncated");
            }
        }
    }
}

/// Runs `f` on a pool of `threads` threads.
fn on_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool")
        .install(f)
}

fn bits(values: &[f64]) -> Vec<u64> {
    values.iter().map(|v| v.to_bits()).collect()
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let train = linear_dataset(31, 120, 3, 3);
    let test = linear_dataset(32, 50, 3, 3);
    let points = Players::points(&train);
    let providers = Players::groups((0..120).map(|row| row % 7).collect()).expect("groups");
    let knn = Knn::new(5).expect("k");
    let logistic = Model::Logistic(Logistic::new(0.5).expect("l2"));
    let early = SamplingConfig::new(400, 9)
        .and_then(|config| config.with_target_se(Some(0.02)))
        .expect("valid config");
    let run = || {
        let exact = knn_shapley(&train, &test, knn, &points, &no_progress).expect("knn");
        let knn_game = LearningGame::new(&train, &test, &providers, Model::Knn(knn)).expect("g");
        let logistic_game = LearningGame::new(&train, &test, &providers, logistic).expect("g");
        let tmc = tmc_shapley(&knn_game, &config(40, 3), 0.01, &no_progress).expect("tmc");
        let msr = banzhaf_msr(&logistic_game, &config(40, 4), &no_progress).expect("msr");
        let stopped = banzhaf_msr(&knn_game, &early, &no_progress).expect("msr");
        let loo = leave_one_out(&logistic_game, &no_progress);
        vec![
            bits(&exact),
            bits(&tmc.values),
            bits(&tmc.std_errors),
            bits(&msr.values),
            bits(&stopped.values),
            vec![stopped.samples as u64],
            bits(&loo.values),
        ]
    };
    let one = on_threads(1, run);
    let four = on_threads(4, run);
    assert_eq!(one, four);
    // The early stop happened, at a batch boundary.
    let stopped = one[5][0] as usize;
    assert!(
        stopped < 400 && (stopped / procura_valuation::BATCH) * procura_valuation::BATCH == stopped
    );
}

/// Gradient of the penalised loss of `fit_logistic`, computed here
/// independently: binary (one vector) or multinomial (one per class).
fn gradient(data: &Dataset, l2: f64, classes: &[usize], coefficients: &[f64]) -> Vec<f64> {
    let d = data.n_features();
    let width = d + 1;
    let n_vectors = coefficients.len() / width;
    let mut g = vec![0.0; coefficients.len()];
    for (x, label) in data.iter() {
        let z: Vec<f64> = coefficients
            .chunks_exact(width)
            .map(|v| v[..d].iter().zip(x).map(|(w, x)| w * x).sum::<f64>() + v[d])
            .collect();
        let p: Vec<f64> = if n_vectors == 1 {
            vec![1.0 / (1.0 + (-z[0]).exp())]
        } else {
            let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = z.iter().map(|z| (z - max).exp()).sum();
            z.iter().map(|z| (z - max).exp() / sum).collect()
        };
        for k in 0..n_vectors {
            let class = if n_vectors == 1 {
                classes[1]
            } else {
                classes[k]
            };
            let residual = p[k] - if label == class { 1.0 } else { 0.0 };
            for j in 0..d {
                g[k * width + j] += residual * x[j];
            }
            g[k * width + d] += residual;
        }
    }
    for k in 0..n_vectors {
        for j in 0..d {
            g[k * width + j] += l2 * coefficients[k * width + j];
        }
    }
    g
}

#[test]
fn logistic_regression_reaches_a_zero_gradient() {
    // (seed, rows, features, classes, l2)
    let cases = [
        (41, 200, 5, 2, 1.0),
        (42, 300, 3, 3, 0.1),
        (43, 150, 4, 4, 10.0),
        (44, 80, 2, 2, 1e-3),
    ];
    for (seed, rows, features, classes, l2) in cases {
        let data = linear_dataset(seed, rows, features, classes);
        let all: Vec<usize> = (0..rows).collect();
        let model = fit_logistic(&data, &all, &Logistic::new(l2).expect("l2"))
            .expect("within the limits")
            .expect("several classes");
        assert!(model.converged(), "case {seed}: not converged");
        let g = gradient(&data, l2, model.classes(), model.coefficients());
        let norm = g.iter().map(|g| g.abs()).fold(0.0, f64::max);
        assert!(norm <= 1e-8 * rows as f64, "case {seed}: gradient {norm}");
    }
}

/// The red-wine data with its six quality grades (3 to 8) as classes 0..6.
fn wine_grades() -> Dataset {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/winequality-red.csv");
    let text = std::fs::read_to_string(path).expect("data/winequality-red.csv is shipped");
    let mut features = Vec::new();
    let mut grades = Vec::new();
    for line in text.lines().skip(1) {
        let cells: Vec<f64> = line
            .split(',')
            .map(|c| c.parse().expect("number"))
            .collect();
        assert_eq!(cells.len(), 12, "wine rows have 12 cells");
        features.extend_from_slice(&cells[..11]);
        grades.push(cells[11] as usize - 3);
    }
    Dataset::new(features, 11, grades, 6).expect("valid wine data")
}

/// Newton's method converges on the raw (unscaled) wine features, for the
/// binarised label (quality ≥ 6) and for the six quality grades
/// (multinomial), to a zero gradient of the penalised loss.
#[test]
fn logistic_regression_converges_on_wine() {
    let multi = wine_grades();
    let binary = Dataset::new(
        multi.features().to_vec(),
        11,
        multi
            .labels()
            .iter()
            .map(|&g| usize::from(g >= 3))
            .collect(),
        2,
    )
    .expect("valid");
    let all: Vec<usize> = (0..multi.n_rows()).collect();
    // The gradient sums n rows of features up to about 300 (total sulfur
    // dioxide): scale its tolerance by both.
    let scale = multi.features().iter().fold(1.0_f64, |m, x| m.max(x.abs()));
    // (data, l2): the multinomial fit is the slow one in debug builds.
    let cases = [
        (&binary, 0.01),
        (&binary, 1.0),
        (&binary, 100.0),
        (&multi, 1.0),
    ];
    for (data, l2) in cases {
        let model = fit_logistic(data, &all, &Logistic::new(l2).expect("l2"))
            .expect("within the limits")
            .expect("fit");
        assert!(
            model.converged(),
            "l2 {l2}: {} iterations",
            model.iterations()
        );
        assert!(
            model.iterations() <= 30,
            "l2 {l2}: {} iterations",
            model.iterations()
        );
        let g = gradient(data, l2, model.classes(), model.coefficients());
        let norm = g.iter().map(|g| g.abs()).fold(0.0, f64::max);
        assert!(
            norm <= 1e-11 * all.len() as f64 * scale,
            "l2 {l2}: gradient {norm}"
        );
    }
}

/// x = ±1 with labels 0 and 1 is symmetric, so b = 0 and the weight solves
/// `λ w = 2 σ(−w)`.
#[test]
fn logistic_regression_matches_a_closed_form() {
    let data = Dataset::new(vec![-1.0, 1.0], 1, vec![0, 1], 2).expect("data");
    for l2 in [0.5, 1.0, 4.0] {
        let model = fit_logistic(&data, &[0, 1], &Logistic::new(l2).expect("l2"))
            .expect("within the limits")
            .expect("fit");
        let (w, b) = (model.coefficients()[0], model.coefficients()[1]);
        assert!(b.abs() <= 1e-12, "intercept {b}");
        let residual = l2 * w - 2.0 / (1.0 + w.exp());
        assert!(residual.abs() <= 1e-12, "l2 {l2}: residual {residual}");
    }
}

/// The empty set scores the test set's majority rate; a single-class set
/// predicts its class; the KNN neighbour table agrees with direct training.
#[test]
fn utility_conventions() {
    let train = dataset(51, 30, 2, 3, None);
    let test = Dataset::new(vec![0.0; 10], 2, vec![0, 1, 1, 2, 1], 3).expect("test");
    let knn = Model::Knn(Knn::new(3).expect("k"));
    let logistic = Model::Logistic(Logistic::new(1.0).expect("l2"));
    for model in [knn, logistic] {
        let accuracy = |rows: &[usize]| accuracy(&model, &train, rows, &test).expect("trains");
        assert_eq!(accuracy(&[]), 0.6);
        let of_class = |class| {
            (0..30)
                .filter(|&row| train.label(row) == Some(class))
                .collect::<Vec<_>>()
        };
        assert_eq!(accuracy(&of_class(2)), 0.2);
        assert_eq!(accuracy(&of_class(1)), 0.6);
    }
    let test = dataset(52, 25, 2, 3, None);
    let players = Players::points(&train);
    let game = LearningGame::new(&train, &test, &players, knn).expect("game");
    let mut rng = ChaCha8Rng::seed_from_u64(53);
    for _ in 0..50 {
        let rows: Vec<usize> = (0..30).filter(|_| rng.random_range(0..2) == 1).collect();
        let trained = accuracy(&knn, &train, &rows, &test).expect("trains");
        assert_eq!(game.utility(&rows), trained);
    }
}

#[test]
fn invalid_configurations_are_refused() {
    let train = dataset(61, 10, 2, 2, None);
    let test3 = dataset(62, 5, 3, 2, None);
    let players = Players::points(&train);
    let knn = Knn::new(1).expect("k");
    assert!(knn_shapley(&train, &test3, knn, &players, &no_progress).is_err());
    assert!(LearningGame::new(&train, &test3, &players, Model::Knn(knn)).is_err());
    let test = dataset(63, 5, 2, 2, None);
    let game = LearningGame::new(&train, &test, &players, Model::Knn(knn)).expect("game");
    // A config is checked when built; its errors name the field.
    let no_samples = SamplingConfig::new(0, 1).expect_err("0 samples");
    assert_eq!(no_samples.to_string(), "samples must be at least 1");
    assert!(tmc_shapley(&game, &config(5, 1), -1.0, &no_progress).is_err());
    let bad_target = config(5, 1)
        .with_target_se(Some(f64::NAN))
        .expect_err("NaN target");
    assert_eq!(
        bad_target.to_string(),
        "target_se: NaN is not finite and > 0"
    );
    assert!(config(5, 1).with_target_se(Some(0.0)).is_err());
    assert!(banzhaf_msr(&game, &config(5, 1), &no_progress).is_ok());
    assert!(Knn::new(0).is_err());
    assert!(Logistic::new(0.0).is_err());
    assert!(Logistic::new(f64::INFINITY).is_err());
    assert!(Players::groups(vec![0, 2]).is_err());
}

/// Every player index must be below the number of rows (each player owns a
/// row): a huge index is refused without allocating a table for it.
#[test]
fn players_are_validated() {
    // (player of each row, expected error)
    let cases = [
        (
            vec![0, usize::MAX],
            DatasetError::PlayerIndex {
                row: 1,
                player: usize::MAX,
                n_rows: 2,
            },
        ),
        (
            vec![0, 1, 3],
            DatasetError::PlayerIndex {
                row: 2,
                player: 3,
                n_rows: 3,
            },
        ),
        (vec![2, 2, 0], DatasetError::EmptyPlayer { player: 1 }),
    ];
    for (of_row, expected) in cases {
        assert_eq!(Players::groups(of_row), Err(expected));
    }
    let players = Players::groups(vec![2, 1, 0]).expect("each player owns a row");
    assert_eq!(players.n_players(), 3);
    assert_eq!(Players::groups(Vec::new()).map(|p| p.n_players()), Ok(0));
}
