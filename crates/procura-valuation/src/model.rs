//! The learning models and the utility U(S) they define: the accuracy, on
//! the test set, of the model trained on the rows S.
//!
//! Conventions, so that U is defined on every subset:
//!
//! ```text
//! U(∅)            = majority-class rate of the test set
//! U(S), one class = share of test rows with that class (the model predicts it)
//! U(S), otherwise = (1/|T|) Σ_{t ∈ T} 1[model_S(x_t) = y_t]
//! ```
//!
//! The empty model guesses the test set's majority class, the best constant
//! guess, so that a useless first row gets no credit for "learning" the
//! base rate. A single-class training set has only one label to predict, so
//! predicting it is the natural model (scikit-learn refuses to fit one).

use super::dataset::{class_counts, Dataset};
use super::logistic::{fit_logistic, LogisticModel};

/// k-nearest-neighbours classification: majority vote of the k training
/// rows nearest in squared Euclidean distance (ties in distance broken by
/// row index, ties in the vote by the smaller class index; all rows vote
/// when there are at most k).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Knn {
    k: usize,
}

impl Knn {
    /// `k ≥ 1` neighbours.
    pub fn new(k: usize) -> Result<Knn, ModelError> {
        if k == 0 {
            Err(ModelError::ZeroK)
        } else {
            Ok(Knn { k })
        }
    }
    /// Number of neighbours.
    #[must_use]
    pub fn k(&self) -> usize {
        self.k
    }
}

/// L2-regularised logistic regression (see [`crate::logistic`]):
/// penalty `(λ/2)‖w‖²` on a summed log-loss, λ = 1/C in scikit-learn's terms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Logistic {
    l2: f64,
}

impl Logistic {
    /// Penalty strength λ: finite and > 0.
    pub fn new(l2: f64) -> Result<Logistic, ModelError> {
        if l2.is_finite() && l2 > 0.0 {
            Ok(Logistic { l2 })
        } else {
            Err(ModelError::L2(l2))
        }
    }
    /// Penalty strength λ.
    #[must_use]
    pub fn l2(&self) -> f64 {
        self.l2
    }
}

/// A learning model whose test accuracy is the utility of a training set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Model {
    /// k-nearest-neighbours classification.
    Knn(Knn),
    /// L2-regularised logistic regression.
    Logistic(Logistic),
}

/// Why a model configuration is invalid.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// k must be at least 1.
    #[error("k must be at least 1")]
    ZeroK,
    /// λ must be finite and positive.
    #[error("l2: {0} is not finite and > 0")]
    L2(f64),
}

/// A trained classifier.
#[derive(Debug, Clone, PartialEq)]
pub enum Classifier<'a> {
    /// Predicts one class whatever the input.
    Constant(usize),
    /// k-nearest neighbours among `rows` of `data`.
    Knn {
        /// The training data.
        data: &'a Dataset,
        /// The training rows, increasing.
        rows: Vec<usize>,
        /// Neighbours that vote.
        k: usize,
    },
    /// A fitted logistic regression.
    Logistic(LogisticModel),
}

impl Classifier<'_> {
    /// The predicted class of `x`.
    #[must_use]
    pub fn predict(&self, x: &[f64]) -> usize {
        match self {
            Classifier::Constant(class) => *class,
            Classifier::Knn { data, rows, k } => {
                let mut scratch = Vec::with_capacity(rows.len());
                knn_vote(data, rows, *k, x, &mut scratch)
            }
            Classifier::Logistic(model) => model.predict(x),
        }
    }
}

/// Trains `model` on rows `rows` of `train`: a constant classifier when the
/// rows hold a single class, `None` when there are no rows.
#[must_use]
pub fn fit<'a>(model: &Model, train: &'a Dataset, rows: &[usize]) -> Option<Classifier<'a>> {
    let first = train.label(*rows.first()?);
    if rows.iter().all(|&row| train.label(row) == first) {
        return Some(Classifier::Constant(first));
    }
    Some(match model {
        Model::Knn(knn) => {
            let mut rows = rows.to_vec();
            rows.sort_unstable();
            Classifier::Knn {
                data: train,
                rows,
                k: knn.k(),
            }
        }
        Model::Logistic(penalty) => match fit_logistic(train, rows, penalty) {
            Some(fitted) => Classifier::Logistic(fitted),
            None => Classifier::Constant(first),
        },
    })
}

/// The utility U(S): accuracy on `test` of `model` trained on rows `rows` of
/// `train`, with the conventions of this module for small S.
///
/// ```
/// use procura_valuation::{accuracy, Dataset, Knn, Model};
/// let train = Dataset::new(vec![0.0, 1.0, 10.0, 11.0], 1, vec![0, 0, 1, 1], 2)?;
/// let test = Dataset::new(vec![0.5, 10.5, 12.0], 1, vec![0, 1, 1], 2)?;
/// let knn = Model::Knn(Knn::new(1)?);
/// assert_eq!(accuracy(&knn, &train, &[0, 1, 2, 3], &test), 1.0);
/// assert_eq!(accuracy(&knn, &train, &[], &test), 2.0 / 3.0);
/// assert_eq!(accuracy(&knn, &train, &[0], &test), 1.0 / 3.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use]
pub fn accuracy(model: &Model, train: &Dataset, rows: &[usize], test: &Dataset) -> f64 {
    let Some(classifier) = fit(model, train, rows) else {
        return test.majority_rate();
    };
    let correct = (0..test.n_rows())
        .filter(|&t| classifier.predict(test.row(t)) == test.label(t))
        .count();
    correct as f64 / test.n_rows() as f64
}

/// Squared Euclidean distance.
///
/// ```text
/// d(a, b) = Σ_j (a_j − b_j)²
/// ```
pub(crate) fn squared_distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(a, b)| (a - b) * (a - b)).sum()
}

/// `(distance bits, row)` pairs, see [`neighbour_key`].
pub(crate) type NeighbourKeys = Vec<(u64, usize)>;

/// A sort key ordering rows by distance, then by row index. Distances are
/// non-negative, so their bit patterns order like the numbers.
pub(crate) fn neighbour_key(distance: f64, row: usize) -> (u64, usize) {
    (distance.to_bits(), row)
}

/// Majority class among the `k` rows of `rows` nearest to `x`.
pub(crate) fn knn_vote(
    data: &Dataset,
    rows: &[usize],
    k: usize,
    x: &[f64],
    scratch: &mut Vec<(u64, usize)>,
) -> usize {
    scratch.clear();
    scratch.extend(
        rows.iter()
            .map(|&row| neighbour_key(squared_distance(data.row(row), x), row)),
    );
    let k = k.min(scratch.len());
    if k < scratch.len() {
        scratch.select_nth_unstable(k - 1);
    }
    let votes: Vec<usize> = scratch[..k]
        .iter()
        .map(|&(_, row)| data.label(row))
        .collect();
    majority(&votes, data.n_classes())
}

/// The most frequent label, the smallest on a tie.
pub(crate) fn majority(labels: &[usize], n_classes: usize) -> usize {
    let counts = class_counts(labels, n_classes);
    let mut best = 0;
    for (class, &count) in counts.iter().enumerate() {
        if count > counts[best] {
            best = class;
        }
    }
    best
}

/// Sorts `(distance bits, row)` pairs in increasing order of distance, ties
/// by row, given pairs whose rows are increasing (as built by scanning the
/// rows in order). A least-significant-digit radix sort over the 64 key
/// bits, 11 bits a pass, skipping passes in which every key has the same
/// digit: it is stable, so equal distances keep their row order. Much
/// faster than a comparison sort for the tens of thousands of rows that
/// KNN-Shapley sorts for every test point.
pub(crate) fn sort_neighbours(keys: &mut NeighbourKeys, scratch: &mut NeighbourKeys) {
    const BITS: u32 = 11;
    const BUCKETS: usize = 1 << BITS;
    if keys.len() < 512 {
        keys.sort_unstable();
        return;
    }
    scratch.clear();
    scratch.resize(keys.len(), (0, 0));
    let mut counts = vec![0usize; BUCKETS];
    let mut shift = 0;
    while shift < 64 {
        let digit = |key: u64| ((key >> shift) as usize) & (BUCKETS - 1);
        counts.fill(0);
        for &(key, _) in keys.iter() {
            counts[digit(key)] += 1;
        }
        if counts
            .iter()
            .all(|&count| count == 0 || count == keys.len())
        {
            shift += BITS;
            continue;
        }
        let mut total = 0;
        for count in counts.iter_mut() {
            let start = total;
            total += *count;
            *count = start;
        }
        for &pair in keys.iter() {
            let slot = &mut counts[digit(pair.0)];
            scratch[*slot] = pair;
            *slot += 1;
        }
        std::mem::swap(keys, scratch);
        shift += BITS;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// The radix sort orders like a comparison sort of (distance, row),
    /// ties included, below and above its cut-over to radix passes.
    #[test]
    fn radix_sort_matches_comparison_sort() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        // (rows, distinct distances)
        for (n, distinct) in [(10, 3), (600, 5), (3000, 100), (5000, 10_000)] {
            let distances: Vec<f64> = (0..distinct)
                .map(|_| rng.random_range(0.0..1e6) * rng.random_range(0.0..1.0))
                .collect();
            let mut keys: Vec<(u64, usize)> = (0..n)
                .map(|row| neighbour_key(distances[rng.random_range(0..distinct)], row))
                .collect();
            let mut expected = keys.clone();
            expected.sort_unstable();
            sort_neighbours(&mut keys, &mut Vec::new());
            assert_eq!(keys, expected);
        }
    }
}
