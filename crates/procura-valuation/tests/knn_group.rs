//! The providers' KNN-Shapley values (`knn_group_shapley`) against brute
//! force: exact values equal subset enumeration of a straightforward
//! implementation of the utility; efficiency, symmetry and the null
//! player; the sampled values are within their standard errors of the
//! exact ones; the sequence table and its fallback agree; and the sum of a
//! provider's row values is not its value, nor orders providers as it does.

use procura_valuation::knn_group::leaves_bound;
use procura_valuation::tolerance::SHAPLEY_EXACT;
use procura_valuation::{
    knn_group_shapley, no_progress, CooperativeGame, Dataset, Estimate, GroupMethod, Knn,
    KnnGroupGame, Players, SamplingConfig,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The KNN soft-vote utility, written out: for each test point, the rows
/// of `rows` sorted by (squared distance, row), the share of the first K
/// that carry the test label; averaged over the test set; 0 for no rows.
fn brute_utility(train: &Dataset, test: &Dataset, k: usize, rows: &[usize]) -> f64 {
    let mut total = 0.0;
    for (x, y) in test.iter() {
        let mut near: Vec<(f64, usize)> = rows
            .iter()
            .map(|&row| {
                let r = train.row(row).expect("a row");
                let d: f64 = r.iter().zip(x).map(|(a, b)| (a - b) * (a - b)).sum();
                (d, row)
            })
            .collect();
        near.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let hits = near
            .iter()
            .take(k)
            .filter(|&&(_, row)| train.label(row) == Some(y))
            .count();
        total += hits as f64 / k as f64;
    }
    total / test.n_rows() as f64
}

/// Shapley values of the providers by enumerating every coalition:
/// `φ_i = Σ_{S ⊆ N∖i} |S|! (n − |S| − 1)! / n! · [U(S ∪ i) − U(S)]`.
fn brute_shapley(train: &Dataset, test: &Dataset, k: usize, players: &Players) -> Vec<f64> {
    let n = players.n_players();
    let utilities: Vec<f64> = (0..1usize << n)
        .map(|mask| {
            let rows: Vec<usize> = (0..n)
                .filter(|&i| mask >> i & 1 == 1)
                .flat_map(|i| players.rows_of(i).to_vec())
                .collect();
            brute_utility(train, test, k, &rows)
        })
        .collect();
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

/// A random instance: features on a small grid (distance ties), random
/// labels, rows dealt to `n_players` providers (each owns at least one).
fn instance(seed: u64, rows: usize, n_players: usize) -> (Dataset, Dataset, Players) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let features = rng.random_range(1..=2);
    let classes = rng.random_range(2..=3);
    let mut data = |rows: usize| {
        let x = (0..rows * features)
            .map(|_| f64::from(rng.random_range(0..4u32)))
            .collect();
        let y = (0..rows).map(|_| rng.random_range(0..classes)).collect();
        Dataset::new(x, features, y, classes).expect("valid")
    };
    let train = data(rows);
    let test = data(3);
    let mut of_row: Vec<usize> = (0..rows).map(|row| row % n_players).collect();
    for i in (1..rows).rev() {
        of_row.swap(i, rng.random_range(0..=i));
    }
    (train, test, Players::groups(of_row).expect("groups"))
}

fn exact(train: &Dataset, test: &Dataset, k: usize, players: &Players) -> Estimate {
    let knn = Knn::new(k).expect("k ≥ 1");
    knn_group_shapley(train, test, &knn, players, GroupMethod::Exact, &no_progress)
        .expect("valid inputs")
}

fn assert_close(name: &str, got: &[f64], want: &[f64], tolerance: f64) {
    assert_eq!(got.len(), want.len(), "{name}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tolerance,
            "{name}: player {i}: {g} vs {w} (all: {got:?} vs {want:?})"
        );
    }
}

/// The exact values equal subset enumeration, on 200 random tiny
/// instances (ties in distance included), and sum to U(N).
#[test]
fn exact_equals_subset_enumeration() {
    for seed in 0..200 {
        let mut rng = ChaCha8Rng::seed_from_u64(1000 + seed);
        let rows = rng.random_range(1..=12);
        let n_players = rng.random_range(1..=rows.min(6));
        let k = rng.random_range(1..=5);
        let (train, test, players) = instance(seed, rows, n_players);
        let got = exact(&train, &test, k, &players);
        let want = brute_shapley(&train, &test, k, &players);
        let name = format!("seed {seed}: {rows} rows, {n_players} providers, k {k}");
        assert_close(&name, &got.values, &want, SHAPLEY_EXACT);
        assert!(got.std_errors.iter().all(|&se| se == 0.0));
        let all: Vec<usize> = (0..rows).collect();
        let total: f64 = got.values.iter().sum();
        let u_all = brute_utility(&train, &test, k, &all);
        assert!((total - u_all).abs() <= SHAPLEY_EXACT, "{name}: efficiency");
    }
}

/// The game's utility (its sequence table, and the fallback that sorts the
/// coalition's rows) equals the written-out utility on every coalition.
#[test]
fn game_utility_equals_the_written_out_one() {
    for seed in 0..50 {
        let mut rng = ChaCha8Rng::seed_from_u64(2000 + seed);
        let rows = rng.random_range(1..=12);
        let n_players = rng.random_range(1..=rows.min(5));
        let k = rng.random_range(1..=4);
        let (train, test, players) = instance(seed, rows, n_players);
        let knn = Knn::new(k).expect("k");
        let game = KnnGroupGame::new(&train, &test, &knn, &players).expect("game");
        for mask in 0..1usize << n_players {
            let coalition: Vec<usize> = (0..n_players).filter(|&i| mask >> i & 1 == 1).collect();
            let rows: Vec<usize> = coalition
                .iter()
                .flat_map(|&i| players.rows_of(i).to_vec())
                .collect();
            let want = brute_utility(&train, &test, k, &rows);
            let got = game.utility(&coalition);
            assert!(
                (got - want).abs() <= 1e-15,
                "seed {seed}, coalition {coalition:?}: {got} vs {want}"
            );
        }
    }
}

/// Efficiency on a larger game (20 providers, 400 rows, k = 5): the
/// values add up to U(N).
#[test]
fn exact_values_add_up_to_the_whole_set() {
    let (train, test, players) = instance(7, 400, 20);
    let values = exact(&train, &test, 5, &players);
    let all: Vec<usize> = (0..400).collect();
    let total: f64 = values.values.iter().sum();
    let u_all = brute_utility(&train, &test, 5, &all);
    assert!((total - u_all).abs() <= 1e-12, "{total} vs {u_all}");
}

/// Symmetry: providers A (row at −1) and B (row at +1) are mirror images
/// for the test points at ∓1.1, with C's rows at ±3: equal values. Null
/// player: D's rows are the farthest from every test point and carry no
/// test label, and the others own at least k rows: value 0.
#[test]
fn symmetric_providers_are_worth_the_same_and_a_null_one_nothing() {
    // Rows: A at −1, B at +1 (label 0); C at −3 and +3 (label 1); D at
    // ±40 (label 2).
    let train = Dataset::new(
        vec![-1.0, 1.0, -3.0, 3.0, -40.0, 40.0],
        1,
        vec![0, 0, 1, 1, 2, 2],
        3,
    )
    .expect("valid");
    let test = Dataset::new(vec![-1.1, 1.1, -2.5, 2.5], 1, vec![0, 0, 1, 0], 3).expect("valid");
    let players = Players::groups(vec![0, 1, 2, 2, 3, 3]).expect("groups");
    for k in 1..=2 {
        let values = exact(&train, &test, k, &players).values;
        let want = brute_shapley(&train, &test, k, &players);
        assert_close(&format!("k {k}"), &values, &want, SHAPLEY_EXACT);
        assert!(
            (values[0] - values[1]).abs() <= SHAPLEY_EXACT,
            "k {k}: A {} vs B {}",
            values[0],
            values[1]
        );
        assert!(values[3].abs() <= SHAPLEY_EXACT, "k {k}: D {}", values[3]);
        assert!(values[0] > 0.0 && values[2] != 0.0, "k {k}: {values:?}");
    }
}

/// The sampled values (TMC without truncation on the game) are within 4
/// standard errors of the exact ones, and add up to U(N) exactly: 10
/// providers, k = 3, 2,000 permutations.
#[test]
fn sampled_values_are_within_their_standard_errors() {
    let (train, test, players) = instance(11, 60, 10);
    let exact_values = exact(&train, &test, 3, &players).values;
    let knn = Knn::new(3).expect("k");
    let config = SamplingConfig::new(2000, 5).expect("samples");
    let method = GroupMethod::Sampled(config);
    let sampled = knn_group_shapley(&train, &test, &knn, &players, method, &no_progress)
        .expect("valid inputs");
    assert_eq!(sampled.samples, 2000);
    for (i, ((v, se), e)) in sampled
        .values
        .iter()
        .zip(&sampled.std_errors)
        .zip(&exact_values)
        .enumerate()
    {
        assert!(*se > 0.0 && *se < 0.02, "player {i}: standard error {se}");
        assert!(
            (v - e).abs() <= 4.0 * se,
            "player {i}: {v} vs exact {e} (se {se})"
        );
    }
    let total: f64 = sampled.values.iter().sum();
    let all: Vec<usize> = (0..60).collect();
    let u_all = brute_utility(&train, &test, 3, &all);
    assert!((total - u_all).abs() <= 1e-12, "{total} vs {u_all}");
}

/// The auto rule: exact within the work bound, sampled past it, and exact
/// at k = 1 for any number of providers (a test point's tree then has at
/// most n + 1 leaves).
#[test]
fn auto_chooses_by_the_work_bound() {
    let config = SamplingConfig::standard();
    let k1 = Knn::new(1).expect("k");
    let k5 = Knn::new(5).expect("k");
    assert_eq!(leaves_bound(10_000, 1), 10_001);
    assert_eq!(leaves_bound(4, 5), 16);
    assert_eq!(leaves_bound(500, 500), u128::MAX);
    assert_eq!(GroupMethod::auto(12, 400, &k5, config), GroupMethod::Exact);
    assert_eq!(
        GroupMethod::auto(10_000, 500, &k1, config),
        GroupMethod::Exact
    );
    assert_eq!(
        GroupMethod::auto(1_000, 500, &k5, config),
        GroupMethod::Sampled(config)
    );
}

/// The sum of a provider's rows' values (rows as players) is not the
/// provider's value, and at k = 1 it can order providers the other way.
///
/// Rows (x, label, provider): (7, 0, P0), (6, 1, P2), (8, 1, P0),
/// (3, 0, P1), (1, 1, P1); test points 8.5 and 2.5, both label 1. By
/// subset enumeration over rows and summed: P0 0.358, P1 −0.142, P2 0.283;
/// as providers: P0 0.25, P1 −0.25, P2 0.5. P0's two rows share the work
/// of its one nearest row at 8.5 and its second row is counted where the
/// provider, already present, adds nothing.
#[test]
fn row_sums_are_not_provider_values() {
    let train =
        Dataset::new(vec![7.0, 6.0, 8.0, 3.0, 1.0], 1, vec![0, 1, 1, 0, 1], 2).expect("valid");
    let test = Dataset::new(vec![8.5, 2.5], 1, vec![1, 1], 2).expect("valid");
    let providers = Players::groups(vec![0, 2, 0, 1, 1]).expect("groups");
    let rows = Players::points(&train);
    let row_values = exact(&train, &test, 1, &rows).values;
    assert_close(
        "rows",
        &row_values,
        &brute_shapley(&train, &test, 1, &rows),
        1e-12,
    );
    let row_sums: Vec<f64> = (0..3)
        .map(|p| providers.rows_of(p).iter().map(|&r| row_values[r]).sum())
        .collect();
    let group = exact(&train, &test, 1, &providers).values;
    assert_close(
        "row sums",
        &row_sums,
        &[43.0 / 120.0, -17.0 / 120.0, 34.0 / 120.0],
        1e-12,
    );
    assert_close("providers", &group, &[0.25, -0.25, 0.5], 1e-12);
    assert!(row_sums[0] > row_sums[2] && group[0] < group[2]);
}
