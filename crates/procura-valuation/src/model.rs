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
use super::embeddings::LabelledRows;
use super::logistic::{self, LogisticModel};
use super::ValuationError;
use crate::limits::{logistic_parameters, MAX_LOGISTIC_PARAMETERS};

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

/// Why a model cannot be trained: its configuration is invalid, too large
/// for the data, or the rows asked for are not rows of the data.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// k must be at least 1.
    #[error("k must be at least 1")]
    ZeroK,
    /// λ must be finite and positive.
    #[error("l2: {0} is not finite and > 0")]
    L2(f64),
    /// Logistic regression on this data would have more coefficients than
    /// [`crate::limits::MAX_LOGISTIC_PARAMETERS`]: its Newton Hessian, the
    /// square of their number, would not fit in memory.
    #[error(
        "logistic regression on {features} features and {classes} classes has {} \
         coefficients ((features + 1) × {}), more than the limit of {max}: its Newton \
         Hessian would hold their square",
        .parameters.map_or_else(|| "too many".to_owned(), |n| n.to_string()),
        if *.classes <= 2 { 1 } else { *.classes }
    )]
    TooManyParameters {
        /// Feature columns of the training data.
        features: usize,
        /// Classes of the training data.
        classes: usize,
        /// The coefficients, (features + 1) × (1, or classes when ≥ 3);
        /// `None` when that overflows.
        parameters: Option<usize>,
        /// The limit, [`crate::limits::MAX_LOGISTIC_PARAMETERS`].
        max: usize,
    },
    /// A training row asked for is not a row of the training data.
    #[error("row {row} is not a row of the training data, which has {n_rows} rows")]
    NoSuchRow {
        /// The first row asked for that is not below `n_rows`.
        row: usize,
        /// Rows of the training data.
        n_rows: usize,
    },
}

/// Checks that every one of `rows` is a row of `data`: the first that is
/// not is [`ModelError::NoSuchRow`].
pub(crate) fn check_rows<R: LabelledRows + ?Sized>(
    data: &R,
    rows: &[usize],
) -> Result<(), ModelError> {
    let n_rows = data.n_rows();
    match rows.iter().find(|&&row| row >= n_rows) {
        Some(&row) => Err(ModelError::NoSuchRow { row, n_rows }),
        None => Ok(()),
    }
}

/// Checks that `test` can score models trained on `train`: the same
/// features and classes.
pub(crate) fn check_test<R: LabelledRows + ?Sized>(
    train: &R,
    test: &R,
) -> Result<(), ValuationError> {
    if train.dim() != test.dim() {
        return Err(ValuationError::Features {
            train: train.dim(),
            test: test.dim(),
        });
    }
    if train.n_classes() != test.n_classes() {
        return Err(ValuationError::Classes {
            train: train.n_classes(),
            test: test.n_classes(),
        });
    }
    Ok(())
}

impl Model {
    /// Checks that this model can be trained on rows of `train` within the
    /// [`crate::limits`]: logistic regression on `train`'s features and
    /// classes may have at most [`MAX_LOGISTIC_PARAMETERS`] coefficients
    /// (whatever rows it is trained on: the count is that of all of
    /// `train`'s classes). KNN has no such limit.
    ///
    /// ```
    /// use procura_valuation::{Dataset, Logistic, Model, ModelError};
    /// let wide = Dataset::new(vec![0.0; 2 * 5000], 5000, vec![0, 1], 2)?;
    /// let logistic = Model::Logistic(Logistic::new(1.0)?);
    /// assert!(matches!(
    ///     logistic.check(&wide),
    ///     Err(ModelError::TooManyParameters { features: 5000, parameters: Some(5001), .. })
    /// ));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check(&self, train: &Dataset) -> Result<(), ModelError> {
        match self {
            Model::Knn(_) => Ok(()),
            Model::Logistic(_) => {
                let (features, classes) = (train.n_features(), train.n_classes());
                let parameters = logistic_parameters(features, classes);
                match parameters {
                    Some(n) if n <= MAX_LOGISTIC_PARAMETERS => Ok(()),
                    _ => Err(ModelError::TooManyParameters {
                        features,
                        classes,
                        parameters,
                        max: MAX_LOGISTIC_PARAMETERS,
                    }),
                }
            }
        }
    }
}

/// A trained classifier.
#[derive(Debug, Clone, PartialEq)]
pub enum Classifier<'a> {
    /// Predicts one class whatever the input.
    Constant(usize),
    /// k-nearest neighbours among rows of a dataset.
    Knn(KnnClassifier<'a>),
    /// A fitted logistic regression.
    Logistic(LogisticModel),
}

/// A KNN classifier: the training rows it votes among, checked against
/// their dataset when [`fit`] built it (its fields are private, so every
/// one is valid).
#[derive(Debug, Clone, PartialEq)]
pub struct KnnClassifier<'a> {
    data: &'a Dataset,
    /// Rows of `data`, increasing.
    rows: Vec<usize>,
    /// At least 1.
    k: usize,
}

impl<'a> KnnClassifier<'a> {
    /// The training data.
    #[must_use]
    pub fn data(&self) -> &'a Dataset {
        self.data
    }
    /// The training rows, increasing.
    #[must_use]
    pub fn rows(&self) -> &[usize] {
        &self.rows
    }
    /// Neighbours that vote.
    #[must_use]
    pub fn k(&self) -> usize {
        self.k
    }
}

impl Classifier<'_> {
    /// The predicted class of `x` (a vector of the training data's
    /// features; extra values are ignored, missing ones count as absent
    /// from the distance or the score).
    #[must_use]
    pub fn predict(&self, x: &[f64]) -> usize {
        match self {
            Classifier::Constant(class) => *class,
            Classifier::Knn(knn) => {
                let mut scratch = Vec::with_capacity(knn.rows.len());
                knn_vote(knn.data, &knn.rows, knn.k, x, &mut scratch)
            }
            Classifier::Logistic(model) => model.predict(x),
        }
    }
}

/// Trains `model` on rows `rows` of `train`: a constant classifier when the
/// rows hold a single class, `None` when there are no rows. Refuses a
/// model that `train` makes too large ([`Model::check`]) and a row that is
/// not one of `train`'s ([`ModelError::NoSuchRow`]) before training.
///
/// ```
/// use procura_valuation::{fit, Dataset, Knn, Model, ModelError};
/// let train = Dataset::new(vec![0.0, 1.0], 1, vec![0, 1], 2)?;
/// let knn = Model::Knn(Knn::new(1)?);
/// assert!(fit(&knn, &train, &[0, 1])?.is_some());
/// assert_eq!(fit(&knn, &train, &[0, 2]), Err(ModelError::NoSuchRow { row: 2, n_rows: 2 }));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn fit<'a>(
    model: &Model,
    train: &'a Dataset,
    rows: &[usize],
) -> Result<Option<Classifier<'a>>, ModelError> {
    model.check(train)?;
    check_rows(train, rows)?;
    Ok(fit_checked(model, train, rows))
}

/// [`fit`], for a model checked against `train` and rows of `train`.
pub(crate) fn fit_checked<'a>(
    model: &Model,
    train: &'a Dataset,
    rows: &[usize],
) -> Option<Classifier<'a>> {
    let &first = rows.first()?;
    let first = train.label_at(first);
    if rows.iter().all(|&row| train.label_at(row) == first) {
        return Some(Classifier::Constant(first));
    }
    Some(match model {
        Model::Knn(knn) => {
            let mut rows = rows.to_vec();
            rows.sort_unstable();
            Classifier::Knn(KnnClassifier {
                data: train,
                rows,
                k: knn.k(),
            })
        }
        Model::Logistic(penalty) => match logistic::fit_checked(train, rows, penalty) {
            Some(fitted) => Classifier::Logistic(fitted),
            None => Classifier::Constant(first),
        },
    })
}

/// The utility U(S): accuracy on `test` of `model` trained on rows `rows` of
/// `train`, with the conventions of this module for small S.
///
/// Refuses, before training, a `test` with other features or classes than
/// `train` ([`ValuationError::Features`], [`ValuationError::Classes`]), a
/// model too large for `train` ([`Model::check`]) and a row that is not
/// one of `train`'s ([`ModelError::NoSuchRow`]).
///
/// ```
/// use procura_valuation::{accuracy, Dataset, Knn, Model, ModelError, ValuationError};
/// let train = Dataset::new(vec![0.0, 1.0, 10.0, 11.0], 1, vec![0, 0, 1, 1], 2)?;
/// let test = Dataset::new(vec![0.5, 10.5, 12.0], 1, vec![0, 1, 1], 2)?;
/// let knn = Model::Knn(Knn::new(1)?);
/// assert_eq!(accuracy(&knn, &train, &[0, 1, 2, 3], &test)?, 1.0);
/// assert_eq!(accuracy(&knn, &train, &[], &test)?, 2.0 / 3.0);
/// assert_eq!(accuracy(&knn, &train, &[0], &test)?, 1.0 / 3.0);
/// assert_eq!(
///     accuracy(&knn, &train, &[0, 4], &test),
///     Err(ValuationError::Model(ModelError::NoSuchRow { row: 4, n_rows: 4 }))
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn accuracy(
    model: &Model,
    train: &Dataset,
    rows: &[usize],
    test: &Dataset,
) -> Result<f64, ValuationError> {
    check_test(train, test)?;
    model.check(train)?;
    check_rows(train, rows)?;
    Ok(accuracy_checked(model, train, rows, test))
}

/// [`accuracy`], for a model checked against `train`, rows of `train` and a
/// `test` set of `train`'s features and classes.
pub(crate) fn accuracy_checked(
    model: &Model,
    train: &Dataset,
    rows: &[usize],
    test: &Dataset,
) -> f64 {
    let Some(classifier) = fit_checked(model, train, rows) else {
        return test.majority_rate();
    };
    let correct = test
        .iter()
        .filter(|&(x, label)| classifier.predict(x) == label)
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

/// Majority class among the `k ≥ 1` rows of `rows` (rows of `data`)
/// nearest to `x`.
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
            .map(|&row| neighbour_key(squared_distance(data.row_at(row), x), row)),
    );
    let k = k.min(scratch.len());
    if k < scratch.len() {
        scratch.select_nth_unstable(k - 1);
    }
    let votes: Vec<usize> = scratch[..k]
        .iter()
        .map(|&(_, row)| data.label_at(row))
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
/// digit ([`radix_pass`]): it is stable, so equal distances keep their row
/// order. Much faster than a comparison sort for the thousands of rows
/// that the KNN game and the providers' game sort for every test point
/// (KNN-Shapley's exact values rank packed keys instead, with the same
/// passes).
pub(crate) fn sort_neighbours(keys: &mut NeighbourKeys, scratch: &mut NeighbourKeys) {
    if keys.len() < 512 {
        keys.sort_unstable();
        return;
    }
    scratch.clear();
    scratch.resize(keys.len(), (0, 0));
    let mut counts = [0usize; RADIX_BUCKETS];
    for shift in (0..u64::BITS).step_by(RADIX_BITS as usize) {
        let digit = |&(key, _): &(u64, usize)| ((key >> shift) as usize) & (RADIX_BUCKETS - 1);
        counts.fill(0);
        for pair in keys.iter() {
            counts[digit(pair)] += 1;
        }
        radix_pass(keys, scratch, &mut counts, digit);
    }
}

/// Bits of a radix sort's digit.
pub(crate) const RADIX_BITS: u32 = 11;

/// Values of a radix sort's digit.
pub(crate) const RADIX_BUCKETS: usize = 1 << RADIX_BITS;

/// One pass of a least-significant-digit radix sort: orders `keys` by
/// `digit`, stably (keys with equal digits keep their order), through
/// `scratch` (as long as `keys`), given how many keys have each digit
/// (`counts`, which the pass uses up). A pass in which every key has the
/// same digit moves nothing.
pub(crate) fn radix_pass<T: Copy>(
    keys: &mut Vec<T>,
    scratch: &mut Vec<T>,
    counts: &mut [usize; RADIX_BUCKETS],
    digit: impl Fn(&T) -> usize,
) {
    if counts.contains(&keys.len()) {
        return;
    }
    let mut total = 0;
    for count in counts.iter_mut() {
        let start = total;
        total += *count;
        *count = start;
    }
    for key in keys.iter() {
        let slot = &mut counts[digit(key)];
        scratch[*slot] = *key;
        *slot += 1;
    }
    std::mem::swap(keys, scratch);
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// The radix sort orders like a comparison sort of (distance, row),
    /// ties included, below and above its cut-over to radix passes, on
    /// spread distances and on the extremes of the doubles.
    #[test]
    fn radix_sort_matches_comparison_sort() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut spread = |distinct: usize| -> Vec<f64> {
            (0..distinct)
                .map(|_| rng.random_range(0.0..1e6) * rng.random_range(0.0..1.0))
                .collect()
        };
        // (rows, the distances they draw from)
        let cases = [
            (10, spread(3)),
            (600, spread(5)),
            (3000, spread(100)),
            (5000, spread(10_000)),
            // Zero, subnormals, infinity: every digit moves.
            (
                5000,
                vec![
                    0.0,
                    5e-324,
                    1e-310,
                    1e-300,
                    1.0,
                    1.0 + f64::EPSILON,
                    1e300,
                    f64::MAX,
                    f64::INFINITY,
                ],
            ),
            // One narrow band, values ulps apart: the high digits are shared.
            (
                5000,
                (0..300)
                    .map(|i| 1.5 + f64::from(i) * f64::EPSILON)
                    .collect(),
            ),
        ];
        for (n, distances) in cases {
            let distinct = distances.len();
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
