//! Exact Shapley values of the KNN classifier utility, in O(N log N) per
//! test point (Jia et al., "Efficient task-specific data valuation for
//! nearest neighbor algorithms", PVLDB 12(11), 2019, Theorem 1), and the
//! truncated values of their Theorem 2, at the scale of a million text
//! embeddings.
//!
//! For one test point `(x, y)`, sort the N training rows by their distance
//! to `x` ([`Metric`]), ties broken by row index: `α_1, …, α_N`, nearest
//! first. The unweighted KNN utility of a subset S is the share of the K
//! nearest rows of S that carry the test label:
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
//! Shapley values of `U(S) = (1/|T|) Σ_x U_x(S)`, with `U(∅) = 0`. A
//! provider's value here is the sum of its rows' values, which is *not*
//! the provider's Shapley value in the game whose players are providers
//! ([`crate::knn_group_shapley`] computes that one).
//!
//! Note that this utility is the KNN *soft vote* for the right label, as in
//! the paper and in pyDVL, not the accuracy of the KNN majority vote that
//! [`crate::accuracy`] computes.
//!
//! # Truncation (`K*` nearest neighbours)
//!
//! With [`KnnShapley::with_neighbours`]`(K*)`, `K* ≥ K`, only each test
//! point's K* nearest rows are ranked:
//!
//! ```text
//! ŝ_{α_i} = 0                                   for i ≥ K*
//! ŝ_{α_i} = ŝ_{α_{i+1}} + (same step as above)  for i < K*
//! ```
//!
//! **Every value is within 1/K* of the exact one**, for each test point
//! and so for their average. Proof: for `i ≥ K` the step is
//! `(h_i − h_{i+1}) / i` (with `h_j = 1[y_{α_j} = y]`), and unrolling the
//! recursion from `s_{α_N} = h_N / N` gives
//!
//! ```text
//! s_{α_i} = h_i / i − Σ_{j=i+1}^{N} h_j / (j (j − 1))     (i ≥ K)
//! ```
//!
//! so, since `Σ_{j=i+1}^{N} 1/(j(j−1)) = 1/i − 1/N`, every exact value of
//! rank `i ≥ K` lies in `[−(1/i − 1/N), 1/i]`: `|s_{α_i}| ≤ 1/i`. The
//! truncated values take the same steps below rank K*, so for `i < K*`
//! the error is `|s_{α_{K*}} − 0| ≤ 1/K*`, and for `i ≥ K*` it is
//! `|s_{α_i}| ≤ 1/i ≤ 1/K*`. With `K* = max(K, ⌈1/ε⌉)`
//! ([`KnnShapley::with_epsilon`]) the error is at most ε. A provider's
//! summed value is within `rows / K*`. As in the paper, `K* = N` still
//! sets the farthest row's value to 0; only `K* > N` is exact.
//!
//! # Distances, blocks and determinism
//!
//! Rows are compared in `f64` (an `f32` row is widened exactly). The dot
//! products `x · r` of a block of test points (32 to 128 of them, as many
//! as 256 MiB of distances hold, by the data's size alone) with a block
//! of 2,048 training rows are one matrix product (faer), and
//!
//! ```text
//! Euclidean:  d(x, r) = max(0, (‖x‖² + ‖r‖²) − 2 x·r)     (squared distance)
//! cosine:     d(x, r) = max(0, 1 − x·r / (‖x‖ ‖r‖))
//! ```
//!
//! with each `‖r‖²` summed once, in column order. Two equal rows get the
//! same distance bits, so they tie and the smaller row ranks first. The
//! order agrees with that of exactly computed distances except where two
//! distances differ by a few units in the last place of `‖x‖² + ‖r‖²`.
//!
//! The blocks are the same whatever the thread count; each block of test
//! points sums its points' values in order, and the blocks are added in
//! order: **the values are the same bits on any number of threads**.
//! Memory is the data plus, per thread at work, the block's distances
//! (N × 32 to 128 numbers, at most 256 MiB beyond 32 columns), two sort
//! buffers of N keys and one value per row: O(N), never O(N × test
//! points). Truncated values with `4 K* + 2,048 ≤ N` need less: the
//! training rows stream past each block of test points 2,048 at a time,
//! and each point keeps only its nearest rows so far (at most 2 K*), the
//! same K* nearest rows as ranking all N distances would find, and the
//! same distance bits (tested).
//!
//! The recursion's step weights `min(K, i)/(K i)` are computed once per
//! call, and each sort key carries its row's hit (whether its label is
//! the test point's) beside the row, so ranking a test point reads each
//! row's label once, in row order. Exact values rank a point's N rows
//! with one `u64` a row (the distance's high bits, then `2 row + hit`),
//! sorted by a radix sort and then by the full distance within runs of
//! equal high bits: the order of the (distance, row) pairs, tested
//! against them.

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use rayon::prelude::*;

use super::dataset::Players;
use super::embeddings::LabelledRows;
use super::model::{
    check_rows, check_test, neighbour_key, radix_pass, sort_neighbours, Knn, NeighbourKeys,
    RADIX_BITS, RADIX_BUCKETS,
};
use super::sampling::Progress;
use super::{check_pair, ValuationError};

/// The fewest test points whose distances are computed together (one
/// column each), however many training rows there are.
pub(crate) const TEST_BLOCK: usize = 32;

/// The most test points whose distances are computed together.
const WIDEST_TEST_BLOCK: usize = 128;

/// The bytes of distances a block of test points may hold beyond
/// [`TEST_BLOCK`] columns: 256 MiB, N distances a point.
const BLOCK_DISTANCE_BYTES: usize = 256 << 20;

/// Training rows widened to `f64` and multiplied at a time.
pub(crate) const TRAIN_BLOCK: usize = 2048;

/// How rows are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Metric {
    /// Squared Euclidean distance `‖x − r‖²`.
    #[default]
    Euclidean,
    /// Cosine distance `1 − x·r / (‖x‖ ‖r‖)`; a row of zeros has no
    /// direction and is refused ([`ValuationError::ZeroNorm`]).
    Cosine,
}

/// What KNN-Shapley computes: K, the metric, and whether only each test
/// point's K* nearest rows count (see the module documentation).
///
/// ```
/// use procura_valuation::{Knn, KnnShapley, Metric};
/// let config = KnnShapley::new(Knn::new(5)?).with_metric(Metric::Cosine).with_epsilon(0.01)?;
/// assert_eq!(config.neighbours(), Some(100));
/// assert_eq!(config.error_bound(), 0.01);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnnShapley {
    knn: Knn,
    metric: Metric,
    neighbours: Option<usize>,
}

impl KnnShapley {
    /// Exact values, Euclidean distance.
    #[must_use]
    pub fn new(knn: Knn) -> KnnShapley {
        KnnShapley {
            knn,
            metric: Metric::Euclidean,
            neighbours: None,
        }
    }

    /// The same, comparing rows by `metric`.
    #[must_use]
    pub fn with_metric(self, metric: Metric) -> KnnShapley {
        KnnShapley { metric, ..self }
    }

    /// The same, ranking only each test point's `k_star` nearest rows
    /// (every value within `1/k_star` of the exact one). Refuses
    /// `k_star < K` ([`ValuationError::Neighbours`]).
    pub fn with_neighbours(self, k_star: usize) -> Result<KnnShapley, ValuationError> {
        if k_star < self.knn.k() {
            return Err(ValuationError::Neighbours {
                neighbours: k_star,
                k: self.knn.k(),
            });
        }
        Ok(KnnShapley {
            neighbours: Some(k_star),
            ..self
        })
    }

    /// The same, with `K* = max(K, ⌈1/ε⌉)`: every value within ε of the
    /// exact one. Refuses ε outside (0, 1] ([`ValuationError::Epsilon`]).
    pub fn with_epsilon(self, epsilon: f64) -> Result<KnnShapley, ValuationError> {
        if !(epsilon > 0.0 && epsilon <= 1.0) {
            return Err(ValuationError::Epsilon(epsilon));
        }
        // 1/ε ≥ 1 and finite; a K* beyond any dataset is exact anyway.
        let k_star = (1.0 / epsilon).ceil().min(1e15) as usize;
        self.with_neighbours(k_star.max(self.knn.k()))
    }

    /// The KNN of the game whose players are providers
    /// ([`crate::knn_group_shapley`]), which is the exact Euclidean game:
    /// `None` when this configuration is cosine or truncated, which that
    /// game does not compute.
    #[must_use]
    pub fn providers_game(&self) -> Option<Knn> {
        (self.metric == Metric::Euclidean && self.neighbours.is_none()).then_some(self.knn)
    }

    /// K.
    #[must_use]
    pub fn knn(&self) -> Knn {
        self.knn
    }

    /// The metric.
    #[must_use]
    pub fn metric(&self) -> Metric {
        self.metric
    }

    /// K*, when truncated.
    #[must_use]
    pub fn neighbours(&self) -> Option<usize> {
        self.neighbours
    }

    /// The most any value can differ from the exact one: `1/K*`, or 0.
    #[must_use]
    pub fn error_bound(&self) -> f64 {
        self.neighbours.map_or(0.0, |k_star| 1.0 / k_star as f64)
    }
}

impl From<Knn> for KnnShapley {
    fn from(knn: Knn) -> KnnShapley {
        KnnShapley::new(knn)
    }
}

impl From<&Knn> for KnnShapley {
    fn from(knn: &Knn) -> KnnShapley {
        KnnShapley::new(*knn)
    }
}

impl From<&KnnShapley> for KnnShapley {
    fn from(config: &KnnShapley) -> KnnShapley {
        *config
    }
}

/// The KNN utility `U(S)` of rows `rows` of `train`, averaged over `test`
/// (see the module documentation), with the distances of `config`'s
/// metric (truncation plays no part). `U(∅) = 0`.
///
/// Refuses a `test` with other features or classes than `train`
/// ([`ValuationError::Features`], [`ValuationError::Classes`]) and a row
/// that is not one of `train`'s
/// ([`ModelError::NoSuchRow`](crate::ModelError::NoSuchRow)).
pub fn knn_utility<R: LabelledRows>(
    train: &R,
    test: &R,
    config: impl Into<KnnShapley>,
    rows: &[usize],
) -> Result<f64, ValuationError> {
    let config = config.into();
    check_test(train, test)?;
    check_rows(train, rows)?;
    let geometry = Geometry::of(train, test, config.metric)?;
    let k = config.knn.k();
    let n = train.n_rows();
    let (train_labels, test_labels) = (train.labels(), test.labels());
    let mut keys: NeighbourKeys = Vec::with_capacity(rows.len());
    let mut distances = Vec::new();
    let mut total = 0.0;
    for block in test_blocks(test.n_rows(), n) {
        geometry.distances(train, test, block.clone(), &mut distances);
        for (column, t) in block.enumerate() {
            let of_point = &distances[column * n..(column + 1) * n];
            keys.clear();
            keys.extend(rows.iter().map(|&row| neighbour_key(of_point[row], row)));
            keys.sort_unstable();
            let hits = keys
                .iter()
                .take(k)
                .filter(|&&(_, row)| train_labels[row] == test_labels[t])
                .count();
            total += hits as f64 / k as f64;
        }
    }
    Ok(total / test.n_rows() as f64)
}

/// KNN-Shapley values of the `players` of `train` against `test`, exact
/// or truncated as `config` says (a [`Knn`] alone means exact and
/// Euclidean): one value per player, a player's value the sum of its
/// rows'. Exact values sum to `U(all rows)` (efficiency, since
/// `U(∅) = 0`).
///
/// Parallel over blocks of test points and the same bits on any number of
/// threads. `progress` is told how many test points are done.
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
pub fn knn_shapley<R: LabelledRows>(
    train: &R,
    test: &R,
    config: impl Into<KnnShapley>,
    players: &Players,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Vec<f64>, ValuationError> {
    let config = config.into();
    check_pair(train, test, players)?;
    let per_row = knn_shapley_rows(train, test, &config, progress)?;
    Ok(players.sum_by_player(&per_row))
}

/// The values of every training row (see [`knn_shapley()`]).
fn knn_shapley_rows<R: LabelledRows>(
    train: &R,
    test: &R,
    config: &KnnShapley,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Vec<f64>, ValuationError> {
    let geometry = Geometry::of(train, test, config.metric)?;
    let n_test = test.n_rows();
    let weights = recursion_weights(train.n_rows(), config.knn.k());
    let blocks: Vec<Range<usize>> = test_blocks(n_test, train.n_rows()).collect();
    let done = AtomicUsize::new(0);
    // Each block at work takes a set of buffers from here and puts it
    // back: at most one set per thread, allocated once.
    let spare = Mutex::new(Vec::<BlockBuffers>::new());
    let streamed = config
        .neighbours
        .filter(|&k_star| streams_nearest(k_star, train.n_rows()));
    let block_values = |block: &Range<usize>| {
        let taken = spare.lock().ok().and_then(|mut spare| spare.pop());
        let mut buffers = taken.unwrap_or_default();
        let n = train.n_rows();
        let mut values = vec![0.0; n];
        if let Some(k_star) = streamed {
            let mut nearest = Vec::new();
            geometry.nearest_rows(
                train,
                test,
                block.clone(),
                k_star,
                &mut buffers.distances,
                &mut nearest,
            );
            for point in &mut nearest {
                add_truncated(point, &weights, &mut values);
            }
        } else {
            let BlockBuffers { distances, ranking } = &mut buffers;
            geometry.distances(train, test, block.clone(), distances);
            for (column, t) in block.clone().enumerate() {
                let point = PointRanking {
                    distances: &distances[column * n..(column + 1) * n],
                    label: test.labels()[t],
                };
                point.add_values(train.labels(), config, &weights, ranking, &mut values);
            }
        }
        if let Ok(mut spare) = spare.lock() {
            spare.push(buffers);
        }
        let finished = done.fetch_add(block.len(), Ordering::Relaxed) + block.len();
        progress(Progress {
            done: finished,
            total: n_test,
        });
        values
    };
    // Blocks run a wave at a time, one per thread, and are added in block
    // order: the sum does not depend on how many run at once.
    let wave = rayon::current_num_threads().max(1);
    let mut per_row = vec![0.0; train.n_rows()];
    for wave_blocks in blocks.chunks(wave) {
        let partials: Vec<Vec<f64>> = wave_blocks.par_iter().map(block_values).collect();
        for partial in &partials {
            for (sum, value) in per_row.iter_mut().zip(partial) {
                *sum += value;
            }
        }
    }
    for value in &mut per_row {
        *value /= n_test as f64;
    }
    Ok(per_row)
}

/// The working memory of one block of test points: its distances and the
/// sorts' keys.
#[derive(Default)]
struct BlockBuffers {
    distances: Vec<f64>,
    ranking: RankingBuffers,
}

/// The keys of one test point's ranking: (distance, row) pairs for the
/// truncated values and beyond [`PACKED_ROWS`], packed keys otherwise.
#[derive(Default)]
struct RankingBuffers {
    keys: NeighbourKeys,
    scratch: NeighbourKeys,
    packed: Vec<u64>,
    packed_scratch: Vec<u64>,
}

/// The test points in blocks, in order, as wide as [`test_block_width`]
/// says for `n_train` rows.
fn test_blocks(n_test: usize, n_train: usize) -> impl Iterator<Item = Range<usize>> {
    let width = test_block_width(n_train);
    (0..n_test)
        .step_by(width)
        .map(move |start| start..(start + width).min(n_test))
}

/// Test points in a block: as many as [`BLOCK_DISTANCE_BYTES`] of
/// distances hold, a multiple of 8 between [`TEST_BLOCK`] and
/// [`WIDEST_TEST_BLOCK`]. A wider block multiplies more test points by
/// each training row read (memory traffic is what a narrow product
/// spends its time on), and depends on the data's size only, never on
/// the thread count.
fn test_block_width(n_train: usize) -> usize {
    let fit = BLOCK_DISTANCE_BYTES / (n_train.max(1) * size_of::<f64>());
    (fit / 8 * 8).clamp(TEST_BLOCK, WIDEST_TEST_BLOCK)
}

/// Whether truncated values stream the training rows past each block of
/// test points ([`Geometry::nearest_rows`]: at most 2 K* keys of 16 bytes
/// and one tile of 2,048 distances a point) rather than rank all N
/// distances a point (8 N bytes, and a selection among N keys): when that
/// holds less, `4 K* + 2,048 ≤ N`. Both give the same values, bit for bit.
fn streams_nearest(k_star: usize, n_train: usize) -> bool {
    k_star.saturating_mul(4).saturating_add(TRAIN_BLOCK) <= n_train
}

/// One test point: its distance to every training row, and its label.
struct PointRanking<'a> {
    distances: &'a [f64],
    label: usize,
}

impl PointRanking<'_> {
    /// Ranks the rows (all of them, or the K* nearest) and adds this
    /// point's Shapley values to `values` by the recursion.
    fn add_values(
        &self,
        train_labels: &[usize],
        config: &KnnShapley,
        weights: &[f64],
        buffers: &mut RankingBuffers,
        values: &mut [f64],
    ) {
        let n = self.distances.len();
        let hit = |row: usize| train_labels[row] == self.label;
        let last = |last_hit: f64| last_hit / n.max(config.knn.k()) as f64;
        let wide_keys = |keys: &mut NeighbourKeys| {
            keys.clear();
            keys.extend(
                self.distances
                    .iter()
                    .enumerate()
                    .map(|(row, &distance)| ranked_key(distance, row, hit(row))),
            );
        };
        match config.neighbours {
            Some(k_star) if k_star <= n => {
                let keys = &mut buffers.keys;
                wide_keys(keys);
                keys.select_nth_unstable(k_star - 1);
                keys.truncate(k_star);
                add_truncated(keys, weights, values);
            }
            _ if n <= PACKED_ROWS => {
                let keys = &mut buffers.packed;
                rank_packed(self.distances, hit, keys, &mut buffers.packed_scratch);
                let (_, last_hit) = packed_row(keys[n - 1]);
                let ranked = keys.iter().map(|&key| packed_row(key));
                add_recursion(ranked, weights, last(last_hit), values);
            }
            _ => {
                let keys = &mut buffers.keys;
                wide_keys(keys);
                sort_neighbours(keys, &mut buffers.scratch);
                let (_, last_hit) = ranked_row(keys[n - 1]);
                let ranked = keys.iter().map(|&key| ranked_row(key));
                add_recursion(ranked, weights, last(last_hit), values);
            }
        }
    }
}

/// Adds a test point's truncated values (Theorem 2) from `nearest`, its
/// K* nearest rows' [`ranked_key`]s in any order: sorted, they run the
/// recursion from ŝ = 0 at rank K*.
fn add_truncated(nearest: &mut NeighbourKeys, weights: &[f64], values: &mut [f64]) {
    nearest.sort_unstable();
    add_recursion(
        nearest.iter().map(|&key| ranked_row(key)),
        weights,
        0.0,
        values,
    );
}

/// The K* nearest rows of one test point, kept while the training rows
/// stream by a block at a time: every row nearer than the farthest kept
/// one is added, and whenever 2 K* are held the K* nearest are selected
/// (O(held)), which at least halves them, so a point costs O(N) in all.
/// The K* nearest rows by (distance, row) are one set whatever the order
/// the rows come in.
struct NearestRows {
    k_star: usize,
    kept: NeighbourKeys,
    /// The farthest kept key once K* are selected; every key before.
    farthest: (u64, usize),
}

impl NearestRows {
    fn new(k_star: usize, mut kept: NeighbourKeys) -> NearestRows {
        kept.clear();
        NearestRows {
            k_star,
            kept,
            farthest: (u64::MAX, usize::MAX),
        }
    }

    /// Offers one row's [`ranked_key`].
    fn offer(&mut self, key: (u64, usize)) {
        if key < self.farthest {
            self.kept.push(key);
            if self.kept.len() >= 2 * self.k_star {
                self.select();
            }
        }
    }

    /// Keeps the K* nearest of those held (all of them when fewer).
    fn select(&mut self) {
        if self.kept.len() > self.k_star {
            self.kept.select_nth_unstable(self.k_star - 1);
            self.kept.truncate(self.k_star);
            self.farthest = self.kept[self.k_star - 1];
        }
    }
}

/// The most rows [`rank_packed`] ranks: `2 row + hit` must fit in 32 bits.
const PACKED_ROWS: usize = 1 << 31;

/// Ranks the rows of one test point by (distance, row), nearest first,
/// into `keys`, as [`sort_neighbours`] orders (distance, row) pairs but
/// moving half the bytes and half the passes: each key is one `u64`, the
/// top 32 bits of the distance's bit pattern above the
/// smallest (`d_bits − min_bits`, shifted right just enough to fit)
/// followed by `2 row + hit` ([`packed_row`]). Three radix passes of 11
/// bits (those in which keys differ) sort the keys by their high half,
/// stably, so rows keep their order; then each run of keys whose high
/// halves are equal but whose distances may not be (the shift dropped
/// their low bits) is sorted by (distance bits, row). At most
/// [`PACKED_ROWS`] rows.
fn rank_packed(
    distances: &[f64],
    hit: impl Fn(usize) -> bool,
    keys: &mut Vec<u64>,
    scratch: &mut Vec<u64>,
) {
    let (lowest, highest) = distances
        .iter()
        .fold((u64::MAX, 0), |(low, high), distance| {
            let (bits, _) = neighbour_key(*distance, 0);
            (low.min(bits), high.max(bits))
        });
    let span = highest.saturating_sub(lowest);
    let shift = (u64::BITS - span.leading_zeros()).saturating_sub(32);
    keys.clear();
    keys.extend(distances.iter().enumerate().map(|(row, &distance)| {
        let (bits, _) = neighbour_key(distance, row);
        (((bits - lowest) >> shift) << 32) | ((row as u64) << 1) | u64::from(hit(row))
    }));
    // The high half's three digits, all counted in one reading.
    let digit =
        |key: u64, pass: u32| (key >> (32 + pass * RADIX_BITS)) as usize & (RADIX_BUCKETS - 1);
    let mut counts = [[0usize; RADIX_BUCKETS]; 3];
    for &key in keys.iter() {
        for (pass, counts) in (0..).zip(counts.iter_mut()) {
            counts[digit(key, pass)] += 1;
        }
    }
    scratch.clear();
    scratch.resize(keys.len(), 0);
    for (pass, counts) in (0..).zip(counts.iter_mut()) {
        radix_pass(keys, scratch, counts, |&key| digit(key, pass));
    }
    if shift > 0 {
        let full_key = |key: u64| neighbour_key(distances[packed_row(key).0], packed_row(key).0);
        let mut start = 0;
        while start < keys.len() {
            let high = keys[start] >> 32;
            let mut end = start + 1;
            while end < keys.len() && keys[end] >> 32 == high {
                end += 1;
            }
            if end - start > 1 {
                keys[start..end].sort_unstable_by_key(|&key| full_key(key));
            }
            start = end;
        }
    }
}

/// The row and its hit (1 or 0) of a [`rank_packed`] key.
fn packed_row(key: u64) -> (usize, f64) {
    let payload = key & u64::from(u32::MAX);
    (
        (payload >> 1) as usize,
        f64::from(u8::from(payload & 1 == 1)),
    )
}

/// [`neighbour_key`] with the row's hit (whether it carries the test
/// label) in the lowest bit of its second half, `2 row + hit`: it orders
/// like `neighbour_key`, and the recursion reads each row's hit without
/// looking its label up again.
fn ranked_key(distance: f64, row: usize, hit: bool) -> (u64, usize) {
    let (distance_bits, row) = neighbour_key(distance, row);
    (distance_bits, (row << 1) | usize::from(hit))
}

/// The row and its hit (1 or 0) of a [`ranked_key`].
fn ranked_row((_, payload): (u64, usize)) -> (usize, f64) {
    (payload >> 1, f64::from(u8::from(payload & 1 == 1)))
}

/// The weight of the recursion's step at each 0-based position `i` (rank
/// `i + 1`), `w_i = (1/K) · min(K, i + 1) / (i + 1)`, for `n` positions:
/// the step is `(h_i − h_{i+1}) · w_i` (see the module documentation),
/// with `h_i − h_{i+1}` ∈ {−1, 0, 1}, so each step is computed with one
/// multiplication, exactly.
fn recursion_weights(n: usize, k: usize) -> Vec<f64> {
    let kf = k as f64;
    (1..=n)
        .map(|rank| {
            let rank = rank as f64;
            (1.0 / kf) * (kf.min(rank) / rank)
        })
        .collect()
}

/// The recursion of Jia et al. over the `ranked` rows and their hits,
/// nearest first, from the value `last` of the last one (see the module
/// documentation), with the step `weights` of [`recursion_weights`].
fn add_recursion(
    ranked: impl DoubleEndedIterator<Item = (usize, f64)> + ExactSizeIterator,
    weights: &[f64],
    last: f64,
    values: &mut [f64],
) {
    let mut ranked = ranked.enumerate().rev();
    let Some((_, (row, mut next_hit))) = ranked.next() else {
        return;
    };
    let mut s = last;
    values[row] += s;
    for (i, (row, this_hit)) in ranked {
        s += (this_hit - next_hit) * weights[i];
        values[row] += s;
        next_hit = this_hit;
    }
}

/// The squared norms of the training and test rows, the metric, and the
/// training rows themselves when they are stored as `f64` (`f32` rows are
/// widened a block at a time, which reads half the bytes of a widened
/// copy).
struct Geometry<'a> {
    metric: Metric,
    train_squared: Vec<f64>,
    test_squared: Vec<f64>,
    train_f64: Option<&'a [f64]>,
}

impl<'a> Geometry<'a> {
    /// Sums every row's squared norm; refuses a zero row for cosine.
    fn of<R: LabelledRows>(
        train: &'a R,
        test: &R,
        metric: Metric,
    ) -> Result<Geometry<'a>, ValuationError> {
        let train_f64 = train.as_f64();
        let train_squared = squared_norms(train);
        let test_squared = squared_norms(test);
        if metric == Metric::Cosine {
            for (set, squared) in [("training", &train_squared), ("test", &test_squared)] {
                if let Some(row) = squared
                    .iter()
                    .position(|&norm| norm <= 0.0 || !norm.is_finite())
                {
                    return Err(ValuationError::ZeroNorm { set, row });
                }
            }
        }
        Ok(Geometry {
            metric,
            train_squared,
            test_squared,
            train_f64,
        })
    }

    /// The distances of test points `block` to every training row, into
    /// `out`: column-major, one column of N distances per test point.
    fn distances<R: LabelledRows>(
        &self,
        train: &R,
        test: &R,
        block: Range<usize>,
        out: &mut Vec<f64>,
    ) {
        let (n, width) = (train.n_rows(), block.len());
        let points = test_points(test, block.clone());
        out.clear();
        out.resize(n * width, 0.0);
        let mut widened = Vec::new();
        let mut all = MatMut::from_column_major_slice_mut(out, n, width);
        for start in (0..n).step_by(TRAIN_BLOCK) {
            let end = (start + TRAIN_BLOCK).min(n);
            let dots = all.as_mut().submatrix_mut(start, 0, end - start, width);
            self.dots(train, start..end, &points, &mut widened, dots);
        }
        for (column, t) in block.enumerate() {
            self.dots_to_distances(&mut out[column * n..(column + 1) * n], t, 0..n);
        }
    }

    /// The K* nearest training rows of each test point of `block`, as
    /// [`ranked_key`]s in no order, one list per point: the training rows
    /// stream by [`TRAIN_BLOCK`] at a time through `tile` (their distances
    /// to the block's points, computed as [`Geometry::distances`] computes
    /// them, the same bits), so memory is the block's K* nearest rows and
    /// one tile, not N distances a point.
    fn nearest_rows<R: LabelledRows>(
        &self,
        train: &R,
        test: &R,
        block: Range<usize>,
        k_star: usize,
        tile: &mut Vec<f64>,
        nearest: &mut Vec<NeighbourKeys>,
    ) {
        let (n, width) = (train.n_rows(), block.len());
        let points = test_points(test, block.clone());
        let mut kept: Vec<NearestRows> = (0..width)
            .map(|_| NearestRows::new(k_star, Vec::with_capacity(2 * k_star)))
            .collect();
        let mut widened = Vec::new();
        let (train_labels, test_labels) = (train.labels(), test.labels());
        for start in (0..n).step_by(TRAIN_BLOCK) {
            let end = (start + TRAIN_BLOCK).min(n);
            let len = end - start;
            tile.clear();
            tile.resize(len * width, 0.0);
            let dots = MatMut::from_column_major_slice_mut(tile, len, width);
            self.dots(train, start..end, &points, &mut widened, dots);
            for ((column, t), point) in block.clone().enumerate().zip(&mut kept) {
                let distances = &mut tile[column * len..(column + 1) * len];
                self.dots_to_distances(distances, t, start..end);
                for (row, &distance) in (start..end).zip(distances.iter()) {
                    let hit = train_labels[row] == test_labels[t];
                    point.offer(ranked_key(distance, row, hit));
                }
            }
        }
        nearest.clear();
        nearest.extend(kept.into_iter().map(|mut point| {
            point.select();
            point.kept
        }));
    }

    /// The dot products of training rows `rows` (at most [`TRAIN_BLOCK`])
    /// with the test points `points` ([`test_points`]), into `out`
    /// (`rows.len()` × points): one matrix product. `f32` rows are widened
    /// into `widened` first.
    fn dots<R: LabelledRows>(
        &self,
        train: &R,
        rows: Range<usize>,
        points: &[f64],
        widened: &mut Vec<f64>,
        out: MatMut<'_, f64>,
    ) {
        let dim = train.dim();
        let rows_f64 = match self.train_f64 {
            Some(all) => &all[rows.start * dim..rows.end * dim],
            None => {
                widened.resize(rows.len() * dim, 0.0);
                train.copy_rows_f64(rows.clone(), widened);
                &widened[..]
            }
        };
        let rows_f64 = MatRef::from_row_major_slice(rows_f64, rows.len(), dim);
        let points = MatRef::from_row_major_slice(points, points.len() / dim, dim);
        matmul(
            out,
            Accum::Replace,
            rows_f64,
            points.transpose(),
            1.0,
            Par::Seq,
        );
    }

    /// Turns the dot products of test point `t` with training rows `rows`
    /// into their distances, in place.
    fn dots_to_distances(&self, dots: &mut [f64], t: usize, rows: Range<usize>) {
        let point = self.test_squared[t];
        for (dot, &row) in dots.iter_mut().zip(&self.train_squared[rows]) {
            *dot = self.distance(*dot, point, row);
        }
    }

    /// The distance from a dot product and the two squared norms.
    fn distance(&self, dot: f64, point_squared: f64, row_squared: f64) -> f64 {
        let distance = match self.metric {
            Metric::Euclidean => (point_squared + row_squared) - 2.0 * dot,
            Metric::Cosine => 1.0 - dot / (point_squared.sqrt() * row_squared.sqrt()),
        };
        // Rounding can make a distance slightly negative; −0.0 would sort
        // after every positive distance. Norms that overflow (values
        // beyond about 1e154) make ∞ − ∞: such rows are infinitely far.
        if distance > 0.0 {
            distance
        } else if distance.is_nan() {
            f64::INFINITY
        } else {
            0.0
        }
    }
}

/// The test points `block` as `f64`, row-major.
fn test_points<R: LabelledRows>(test: &R, block: Range<usize>) -> Vec<f64> {
    let mut points = vec![0.0; block.len() * test.dim()];
    test.copy_rows_f64(block, &mut points);
    points
}

/// `Σ_j r_j²` of every row, summed in column order.
fn squared_norms<R: LabelledRows>(data: &R) -> Vec<f64> {
    let (n, dim) = (data.n_rows(), data.dim());
    let starts: Vec<usize> = (0..n).step_by(TRAIN_BLOCK).collect();
    let blocks: Vec<Vec<f64>> = starts
        .par_iter()
        .map(|&start| {
            let end = (start + TRAIN_BLOCK).min(n);
            let mut rows = vec![0.0; (end - start) * dim];
            data.copy_rows_f64(start..end, &mut rows);
            rows.chunks_exact(dim)
                .map(|row| row.iter().map(|value| value * value).sum())
                .collect()
        })
        .collect();
    blocks.concat()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Embeddings, Features};
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Equal rows in different training blocks, and in the last partial
    /// one, get the same distance bits from every test point, whatever
    /// the metric: the matrix product does not depend on a row's place.
    #[test]
    fn equal_rows_in_different_blocks_get_equal_distances() {
        let (n, dim) = (2 * TRAIN_BLOCK + 37, 50);
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut x: Vec<f32> = (0..n * dim).map(|_| rng.random_range(-1.0..1.0)).collect();
        let copies = [3, TRAIN_BLOCK - 1, TRAIN_BLOCK + 500, n - 1];
        for &row in &copies[1..] {
            x.copy_within(3 * dim..4 * dim, row * dim);
        }
        let train = Embeddings::new(Features::from_f32(x, dim).expect("finite"), vec![0; n], 1)
            .expect("valid");
        let test_x: Vec<f32> = (0..(TEST_BLOCK + 3) * dim)
            .map(|_| rng.random_range(-1.0..1.0))
            .collect();
        let test = Embeddings::new(
            Features::from_f32(test_x, dim).expect("finite"),
            vec![0; TEST_BLOCK + 3],
            1,
        )
        .expect("valid");
        for metric in [Metric::Euclidean, Metric::Cosine] {
            let geometry = Geometry::of(&train, &test, metric).expect("no zero rows");
            let mut out = Vec::new();
            for block in test_blocks(test.n_rows(), train.n_rows()) {
                geometry.distances(&train, &test, block.clone(), &mut out);
                for column in 0..block.len() {
                    let of_point = &out[column * n..(column + 1) * n];
                    for &row in &copies {
                        assert_eq!(of_point[row].to_bits(), of_point[3].to_bits(), "{metric:?}");
                    }
                    assert!(of_point.iter().all(|d| d.is_sign_positive() && !d.is_nan()));
                }
            }
        }
    }

    /// The packed ranking orders rows as the (distance, row) sort does and
    /// carries each row's hit, on spread distances, on few distinct ones
    /// (ties by row), on the extremes of the doubles, and on values ulps
    /// apart beside far ones (their high halves collide, and the runs are
    /// settled by the full distance).
    #[test]
    fn packed_ranking_orders_as_the_pairs_do() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let mut spread = |n: usize| -> Vec<f64> {
            (0..n)
                .map(|_| rng.random_range(0.0..4.0) * rng.random_range(0.0..1.0))
                .collect()
        };
        let band = |n: usize| -> Vec<f64> {
            (0..n)
                .map(|i| match i % 7 {
                    0 => 1e-300,
                    1 => 1e300,
                    _ => 1.0 + ((i * 7919) % 503) as f64 * f64::EPSILON,
                })
                .collect()
        };
        let extremes = [0.0, 5e-324, 1e-310, 1.0, f64::MAX, f64::INFINITY];
        let cases: Vec<Vec<f64>> = vec![
            vec![0.5],
            spread(3),
            spread(700),
            spread(20_000),
            (0..5000).map(|i| f64::from(i % 4)).collect(),
            (0..5000)
                .map(|i| extremes[(i * 31) % extremes.len()])
                .collect(),
            band(5000),
            vec![2.0; 600],
        ];
        for distances in cases {
            let hit = |row: usize| row % 3 == 1;
            let (mut keys, mut scratch) = (Vec::new(), Vec::new());
            rank_packed(&distances, hit, &mut keys, &mut scratch);
            let ranked: Vec<(usize, f64)> = keys.iter().map(|&key| packed_row(key)).collect();
            let mut pairs: NeighbourKeys = distances
                .iter()
                .enumerate()
                .map(|(row, &distance)| neighbour_key(distance, row))
                .collect();
            pairs.sort_unstable();
            let expected: Vec<(usize, f64)> = pairs
                .iter()
                .map(|&(_, row)| (row, f64::from(u8::from(hit(row)))))
                .collect();
            assert_eq!(ranked, expected, "{} rows", distances.len());
        }
    }

    /// Truncated values streamed past the training rows are the same bits
    /// as those ranked from every point's N distances, for both metrics,
    /// f32 and f64 rows, K* from K to where streaming stops, with ties.
    #[test]
    fn streamed_truncation_equals_ranking_every_distance() {
        let (n, dim, n_test) = (2 * TRAIN_BLOCK + 901, 6, 70);
        let mut rng = ChaCha8Rng::seed_from_u64(21);
        // Coordinates on a coarse grid: many distances tie.
        let mut draw = |rows: usize| -> Vec<f32> {
            (0..rows * dim)
                .map(|_| f32::from(rng.random_range(-4i8..=4)) * 0.5 + 0.25)
                .collect()
        };
        let (x, x_test) = (draw(n), draw(n_test));
        let labels: Vec<usize> = (0..n).map(|row| (row * 7 + row / 3) % 3).collect();
        let test_labels: Vec<usize> = (0..n_test).map(|t| t % 3).collect();
        let wide = |values: &[f32]| values.iter().map(|&v| f64::from(v)).collect::<Vec<f64>>();
        let sets = [
            (
                Features::from_f32(x.clone(), dim).expect("rows"),
                Features::from_f32(x_test.clone(), dim).expect("rows"),
            ),
            (
                Features::from_f64(wide(&x), dim).expect("rows"),
                Features::from_f64(wide(&x_test), dim).expect("rows"),
            ),
        ];
        for (features, test_features) in sets {
            let train = Embeddings::new(features, labels.clone(), 3).expect("train");
            let test = Embeddings::new(test_features, test_labels.clone(), 3).expect("test");
            for metric in [Metric::Euclidean, Metric::Cosine] {
                for k_star in [3, 40, (n - TRAIN_BLOCK) / 4] {
                    assert!(streams_nearest(k_star, n));
                    let config = KnnShapley::new(Knn::new(3).expect("k"))
                        .with_metric(metric)
                        .with_neighbours(k_star)
                        .expect("K*");
                    let streamed =
                        knn_shapley_rows(&train, &test, &config, &|_| {}).expect("values");
                    // Every point's N distances, its K* nearest selected.
                    let geometry = Geometry::of(&train, &test, metric).expect("geometry");
                    let weights = recursion_weights(n, 3);
                    let mut expected = vec![0.0; n];
                    let mut ranking = RankingBuffers::default();
                    let mut distances = Vec::new();
                    for block in test_blocks(n_test, n) {
                        geometry.distances(&train, &test, block.clone(), &mut distances);
                        let mut values = vec![0.0; n];
                        for (column, t) in block.enumerate() {
                            let point = PointRanking {
                                distances: &distances[column * n..(column + 1) * n],
                                label: test_labels[t],
                            };
                            point.add_values(&labels, &config, &weights, &mut ranking, &mut values);
                        }
                        for (sum, value) in expected.iter_mut().zip(&values) {
                            *sum += value;
                        }
                    }
                    for value in &mut expected {
                        *value /= n_test as f64;
                    }
                    assert_eq!(streamed, expected, "{metric:?}, K* = {k_star}");
                }
            }
        }
    }

    /// Only the exact Euclidean configuration has a providers' game.
    #[test]
    fn the_providers_game_is_the_exact_euclidean_one() {
        let knn = Knn::new(3).expect("k");
        let exact = KnnShapley::new(knn);
        assert_eq!(exact.providers_game(), Some(knn));
        assert_eq!(exact.with_metric(Metric::Cosine).providers_game(), None);
        let truncated = exact.with_neighbours(10).expect("K*");
        assert_eq!(truncated.providers_game(), None);
        assert_eq!(exact.with_epsilon(0.5).expect("ε").providers_game(), None);
    }
}
