//! Cost of the valuation kernels, library only (no CSV): exact KNN-Shapley
//! and one logistic-regression fit, the unit of work of the sampling
//! methods. `bench/vs_pydvl.sh` compares the whole command with pyDVL.
//!
//! Run: `cargo bench -p procura --bench valuation`

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use procura::valuation::{fit_logistic, knn_shapley, no_progress, Dataset, Knn, Logistic, Players};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Gaussian-ish features and a noisy linear label.
fn dataset(rows: usize, features: usize, seed: u64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x: Vec<f64> = (0..rows * features)
        .map(|_| rng.random_range(-1.0..1.0) + rng.random_range(-1.0..1.0))
        .collect();
    let y = x
        .chunks_exact(features)
        .map(|row| usize::from(row.iter().sum::<f64>() + rng.random_range(-1.0..1.0) > 0.0))
        .collect();
    Dataset::new(x, features, y, 2).unwrap_or_else(|e| unreachable!("valid dataset: {e}"))
}

fn valuation(c: &mut Criterion) {
    let mut group = c.benchmark_group("valuation");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));

    let train = dataset(10_000, 20, 1);
    let test = dataset(500, 20, 2);
    let players = Players::points(&train);
    let knn = Knn::new(5).unwrap_or_else(|e| unreachable!("{e}"));
    group.bench_function("knn_shapley/10000x500x20", |b| {
        b.iter(|| knn_shapley(black_box(&train), &test, knn, &players, &no_progress))
    });

    let rows: Vec<usize> = (0..1_000).collect();
    let penalty = Logistic::new(1.0).unwrap_or_else(|e| unreachable!("{e}"));
    group.bench_function("fit_logistic/1000x20", |b| {
        b.iter(|| fit_logistic(black_box(&train), &rows, &penalty))
    });
    group.finish();
}

criterion_group!(benches, valuation);
criterion_main!(benches);
