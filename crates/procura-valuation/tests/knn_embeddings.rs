//! KNN-Shapley on embeddings: subset enumeration on tiny sets, the
//! truncation bound on every row of every test point, the same bits on
//! any thread count, and magnitudes from subnormals to 1e300.

use procura_valuation::{
    knn_shapley, knn_utility, Embeddings, Features, Knn, KnnShapley, Metric, Players,
    ValuationError,
};
use proptest::prelude::*;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn embeddings(x: Vec<f32>, dim: usize, labels: Vec<usize>, n_classes: usize) -> Embeddings {
    Embeddings::new(
        Features::from_f32(x, dim).expect("finite"),
        labels,
        n_classes,
    )
    .expect("valid")
}

/// Random rows in `dim` dimensions from a few clusters, with `classes`
/// labels; some rows repeated exactly.
fn random_set(rng: &mut ChaCha8Rng, rows: usize, dim: usize, classes: usize) -> Embeddings {
    let mut x = Vec::with_capacity(rows * dim);
    let mut labels = Vec::with_capacity(rows);
    for row in 0..rows {
        if row > 2 && rng.random_range(0..6) == 0 {
            let copy = rng.random_range(0..row);
            let copied: Vec<f32> = x[copy * dim..(copy + 1) * dim].to_vec();
            x.extend(copied);
        } else {
            x.extend((0..dim).map(|_| rng.random_range(-1.0f32..1.0)));
        }
        labels.push(rng.random_range(0..classes));
    }
    embeddings(x, dim, labels, classes)
}

/// The Shapley value of each row by enumerating every subset of the
/// others, with the utility computed from scratch.
fn enumerated(train: &Embeddings, test: &Embeddings, config: &KnnShapley) -> Vec<f64> {
    let n = train.labels().len();
    let factorial = |m: usize| (1..=m).map(|i| i as f64).product::<f64>();
    let utility = |mask: u32| {
        let rows: Vec<usize> = (0..n).filter(|&row| mask & (1 << row) != 0).collect();
        knn_utility(train, test, config, &rows).expect("rows of train")
    };
    (0..n)
        .map(|player| {
            (0..1u32 << n)
                .filter(|mask| mask & (1 << player) == 0)
                .map(|mask| {
                    let size = mask.count_ones() as usize;
                    let weight = factorial(size) * factorial(n - size - 1) / factorial(n);
                    weight * (utility(mask | (1 << player)) - utility(mask))
                })
                .sum()
        })
        .collect()
}

#[test]
fn exact_values_equal_subset_enumeration() {
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    for (n, k, metric) in [
        (7, 1, Metric::Euclidean),
        (8, 3, Metric::Cosine),
        (6, 8, Metric::Euclidean),
        (8, 2, Metric::Cosine),
    ] {
        let train = random_set(&mut rng, n, 4, 3);
        let test = random_set(&mut rng, 5, 4, 3);
        let config = KnnShapley::new(Knn::new(k).expect("k ≥ 1")).with_metric(metric);
        let values =
            knn_shapley(&train, &test, config, &Players::points(&train), &|_| {}).expect("runs");
        let expected = enumerated(&train, &test, &config);
        for (row, (got, want)) in values.iter().zip(&expected).enumerate() {
            assert!(
                (got - want).abs() < 1e-12,
                "n={n} k={k} {metric:?} row {row}: {got} vs {want}"
            );
        }
    }
}

#[test]
fn truncated_values_are_within_one_over_k_star_on_every_point() {
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let train = random_set(&mut rng, 400, 8, 2);
    let points = Players::points(&train);
    for t in 0..20 {
        let test = random_set(&mut rng, 1, 8, 2);
        for (k, k_star) in [(1, 1), (3, 10), (5, 50), (5, 399), (5, 400), (2, 1000)] {
            let exact_config = KnnShapley::new(Knn::new(k).expect("k"));
            let config = exact_config.with_neighbours(k_star).expect("K* ≥ K");
            let exact = knn_shapley(&train, &test, exact_config, &points, &|_| {}).expect("runs");
            let truncated = knn_shapley(&train, &test, config, &points, &|_| {}).expect("runs");
            let worst = exact
                .iter()
                .zip(&truncated)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            assert!(
                worst <= config.error_bound() + 1e-15,
                "point {t}, k {k}, K* {k_star}: {worst}"
            );
            if k_star > train.labels().len() {
                assert_eq!(exact, truncated, "K* > N is exact");
            }
        }
    }
}

#[test]
fn epsilon_sets_k_star_and_bad_settings_are_refused() {
    let knn = Knn::new(5).expect("k");
    assert_eq!(
        KnnShapley::new(knn)
            .with_epsilon(0.01)
            .expect("ε")
            .neighbours(),
        Some(100)
    );
    assert_eq!(
        KnnShapley::new(knn)
            .with_epsilon(0.5)
            .expect("ε")
            .neighbours(),
        Some(5)
    );
    assert_eq!(
        KnnShapley::new(knn)
            .with_epsilon(0.003)
            .expect("ε")
            .neighbours(),
        Some(334)
    );
    for epsilon in [0.0, -0.1, 1.5, f64::NAN] {
        assert!(matches!(
            KnnShapley::new(knn).with_epsilon(epsilon),
            Err(ValuationError::Epsilon(_))
        ));
    }
    assert_eq!(
        KnnShapley::new(knn).with_neighbours(4),
        Err(ValuationError::Neighbours {
            neighbours: 4,
            k: 5
        })
    );
}

#[test]
fn values_are_the_same_bits_on_one_two_and_three_threads() {
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let train = random_set(&mut rng, 3000, 16, 3);
    let test = random_set(&mut rng, 150, 16, 3);
    let groups: Vec<usize> = (0..3000).map(|row| row % 7).collect();
    let players = Players::groups(groups).expect("players");
    let config = KnnShapley::new(Knn::new(5).expect("k")).with_metric(Metric::Cosine);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool");
        pool.install(|| knn_shapley(&train, &test, config, &players, &|_| {}).expect("runs"))
    };
    let one: Vec<u64> = run(1).iter().map(|v| v.to_bits()).collect();
    for threads in [2, 3] {
        let other: Vec<u64> = run(threads).iter().map(|v| v.to_bits()).collect();
        assert_eq!(one, other, "{threads} threads");
    }
}

#[test]
fn cosine_refuses_a_row_of_zeros() {
    let train = Embeddings::new(
        Features::from_f64(vec![1.0, 0.0, 0.0, 0.0], 2).expect("finite"),
        vec![0, 1],
        2,
    )
    .expect("valid");
    let test = embeddings(vec![1.0, 1.0], 2, vec![0], 2);
    let config = KnnShapley::new(Knn::new(1).expect("k")).with_metric(Metric::Cosine);
    let error = knn_shapley(&train, &test, config, &Players::points(&train), &|_| {})
        .expect_err("row 1 is zeros");
    assert_eq!(
        error.to_string(),
        "training set: row 1 is all zeros, which has no cosine distance"
    );
}

/// A double from the whole range: zero, subnormals, 1e-300 … 1e300.
fn any_magnitude() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(0.0),
        Just(f64::MIN_POSITIVE / 4.0),
        (-300i32..=300, -1.0f64..1.0)
            .prop_map(|(exponent, mantissa)| mantissa * 10f64.powi(exponent)),
        (-1.0f64..1.0),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// On rows of any magnitude the values are finite, add up to U(all)
    /// (efficiency) and equal subset enumeration; the truncated ones are
    /// within their bound.
    #[test]
    fn any_magnitudes_keep_efficiency_and_enumeration(
        x in proptest::collection::vec(any_magnitude(), 12..=12),
        t in proptest::collection::vec(any_magnitude(), 4..=4),
        labels in proptest::collection::vec(0usize..2, 6..=6),
        test_labels in proptest::collection::vec(0usize..2, 2..=2),
        k in 1usize..4,
    ) {
        let train = Embeddings::new(Features::from_f64(x, 2).expect("finite"), labels, 2).expect("valid");
        let test = Embeddings::new(Features::from_f64(t, 2).expect("finite"), test_labels, 2).expect("valid");
        let config = KnnShapley::new(Knn::new(k).expect("k"));
        let points = Players::points(&train);
        let values = knn_shapley(&train, &test, config, &points, &|_| {}).expect("runs");
        prop_assert!(values.iter().all(|v| v.is_finite()));
        let total: f64 = values.iter().sum();
        let all = knn_utility(&train, &test, config, &[0, 1, 2, 3, 4, 5]).expect("rows");
        prop_assert!((total - all).abs() < 1e-12);
        let expected = enumerated(&train, &test, &config);
        for (got, want) in values.iter().zip(&expected) {
            prop_assert!((got - want).abs() < 1e-12, "{} vs {}", got, want);
        }
        let truncated = config.with_neighbours(k + 1).expect("K* ≥ K");
        let approx = knn_shapley(&train, &test, truncated, &points, &|_| {}).expect("runs");
        for (a, b) in values.iter().zip(&approx) {
            prop_assert!((a - b).abs() <= truncated.error_bound() + 1e-15);
        }
    }
}
