//! Exact Shapley values of the KNN classifier utility, in O(N log N) per
//! test point (Jia et al., "Efficient task-specific data valuation for
//! nearest neighbor algorithms", PVLDB 12(11), 2019, Theorem 1).
//!
//! For one test point `(x, y)`, sort the N training rows by squared
//! Euclidean distance to `x`, ties broken by row index: `α_1, …, α_N`,
//! nearest first. The unweighted KNN utility of a subset S is the share of
//! the K nearest rows of S that carry the test label:
//!
//! ```text
//! U_x(S) = (1/K) Σ_{j=1}^{min(K, |S|)} 1[y_{α_j(S)} = y]
//! ```
//!
//! and its Shapley values follow from the recursion
//!
//! ```text
//! s_{α_N} = 1[y_{α_N} = y] / max(N, K)
//! s_{α_i} = s_{α_{i+1}} + (1[y_{α_i} = y] − 1[y_{α_{i+1}} = y]) / K · min(K, i) / i
//! ```
//!
//! (Jia et al. state the first line for N ≥ K; for N < K the game is
//! additive and each row is worth `1[y_α = y] / K`, which `max(N, K)`
//! covers). The values for a test set are the averages over its points, the
//! Shapley values of `U(S) = (1/|T|) Σ_x U_x(S)`, with `U(∅) = 0`; a
//! provider's value is the sum of its rows' values.
//!
//! Note that this utility is the KNN *soft vote* for the right label, as in
//! the paper and in pyDVL, not the accuracy of the KNN majority vote that
//! [`crate::accuracy`] computes.

use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;

use super::dataset::{Dataset, Players};
use super::model::{
    check_rows, check_test, neighbour_key, sort_neighbours, squared_distance, Knn, NeighbourKeys,
};
use super::sampling::Progress;
use super::{check_pair, ValuationError};

/// Test points are split into at most this many chunks, whatever the thread
/// count: each chunk sums its points' values in order, then the chunks are
/// added in order, so the result is the same bits on any number of threads.
/// Memory is `CHUNKS × N_train` numbers.
const CHUNKS: usize = 32;

/// The KNN utility `U(S)` of rows `rows` of `train`, averaged over `test`
/// (see the module documentation). `U(∅) = 0`.
///
/// Refuses a `test` with other features or classes than `train`
/// ([`ValuationError::Features`], [`ValuationError::Classes`]) and a row
/// that is not one of `train`'s
/// ([`ModelError::NoSuchRow`](crate::ModelError::NoSuchRow)).
pub fn knn_utility(
    train: &Dataset,
    test: &Dataset,
    knn: &Knn,
    rows: &[usize],
) -> Result<f64, ValuationError> {
    check_test(train, test)?;
    check_rows(train, rows)?;
    let k = knn.k();
    let mut keys: Vec<(u64, usize)> = Vec::with_capacity(rows.len());
    let mut total = 0.0;
    for (x, label) in test.iter() {
        keys.clear();
        keys.extend(
            rows.iter()
                .map(|&row| neighbour_key(squared_distance(train.row_at(row), x), row)),
        );
        keys.sort_unstable();
        let hits = keys
            .iter()
            .take(k)
            .filter(|&&(_, row)| train.label_at(row) == label)
            .count();
        total += hits as f64 / k as f64;
    }
    Ok(total / test.n_rows() as f64)
}

/// Exact KNN-Shapley values of the `players` of `train` against `test`: one
/// value per player, summing to `U(all rows)` (efficiency, since `U(∅) = 0`).
///
/// Parallel over test points and deterministic whatever the thread count.
/// `progress` is told how many test points are done.
///
/// ```
/// use procura_valuation::{knn_shapley, knn_utility, Dataset, Knn, Players};
/// let train = Dataset::new(vec![0.0, 1.0, 5.0], 1, vec![0, 1, 0], 2)?;
/// let test = Dataset::new(vec![0.2], 1, vec![0], 2)?;
/// let knn = Knn::new(1)?;
/// let values = knn_shapley(&train, &test, &knn, &Players::points(&train), &|_| {})?;
/// let total: f64 = values.iter().sum();
/// assert!((total - knn_utility(&train, &test, &knn, &[0, 1, 2])?).abs() < 1e-12);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn knn_shapley(
    train: &Dataset,
    test: &Dataset,
    knn: &Knn,
    players: &Players,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Vec<f64>, ValuationError> {
    check_pair(train, test, players)?;
    let n_test = test.n_rows();
    let chunk = n_test.div_ceil(CHUNKS);
    let done = AtomicUsize::new(0);
    let partials: Vec<Vec<f64>> = (0..n_test)
        .step_by(chunk)
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|start| {
            let end = (start + chunk).min(n_test);
            let mut values = vec![0.0; train.n_rows()];
            let mut keys = Vec::with_capacity(train.n_rows());
            let mut scratch = Vec::with_capacity(train.n_rows());
            for t in start..end {
                let point = (test.row_at(t), test.label_at(t));
                let buffers = (&mut keys, &mut scratch);
                add_point_values(train, point, knn.k(), buffers, &mut values);
            }
            let finished = done.fetch_add(end - start, Ordering::Relaxed) + (end - start);
            progress(Progress {
                done: finished,
                total: n_test,
            });
            values
        })
        .collect();
    let mut per_row = vec![0.0; train.n_rows()];
    for partial in &partials {
        for (sum, value) in per_row.iter_mut().zip(partial) {
            *sum += value;
        }
    }
    for value in &mut per_row {
        *value /= n_test as f64;
    }
    Ok(players.sum_by_player(&per_row))
}

/// Adds one test point's Shapley values to `values` by the recursion.
fn add_point_values(
    train: &Dataset,
    (x, y): (&[f64], usize),
    k: usize,
    (keys, scratch): (&mut NeighbourKeys, &mut NeighbourKeys),
    values: &mut [f64],
) {
    let n = train.n_rows();
    keys.clear();
    keys.extend((0..n).map(|row| neighbour_key(squared_distance(train.row_at(row), x), row)));
    sort_neighbours(keys, scratch);
    let hit = |i: usize| -> f64 {
        if train.label_at(keys[i].1) == y {
            1.0
        } else {
            0.0
        }
    };
    let kf = k as f64;
    let mut s = hit(n - 1) / n.max(k) as f64;
    values[keys[n - 1].1] += s;
    for i in (0..n - 1).rev() {
        // Position i (0-based) is rank i + 1 in the paper's notation.
        let rank = (i + 1) as f64;
        s += (hit(i) - hit(i + 1)) / kf * (kf.min(rank) / rank);
        values[keys[i].1] += s;
    }
}
