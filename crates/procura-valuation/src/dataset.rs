//! In-memory labelled datasets and the players that own their rows.
//!
//! A [`Dataset`] is a dense, row-major matrix of finite features with one
//! class label per row. Labels are class indices `0..n_classes`; mapping the
//! labels of a file to indices (the same mapping for the training and the
//! test set) is the caller's job. [`Players`] says which player owns each
//! training row: every row its own player for point-level valuation, or the
//! rows of one provider for provider-level valuation. A [`Standardizer`]
//! z-scores features, fitted on some rows and applied to any.

use std::fmt;

use crate::embeddings::LabelledRows;
use crate::limits::MAX_CLASSES;

/// A labelled dataset: `n_rows × n_features` finite features, row-major, and
/// a label in `0..n_classes` for each row.
///
/// Valid by construction: the only way to get one is [`Dataset::new`].
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    features: Vec<f64>,
    n_features: usize,
    labels: Vec<usize>,
    n_classes: usize,
}

/// Why a [`Dataset`], [`Players`] or [`Standardizer`] could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DatasetError {
    /// The dataset has no rows.
    #[error("dataset has no rows")]
    Empty,
    /// The dataset has no feature columns.
    #[error("dataset has no feature columns")]
    NoFeatures,
    /// There must be at least one class.
    #[error("n_classes must be at least 1")]
    NoClasses,
    /// More classes than [`crate::limits::MAX_CLASSES`].
    #[error("n_classes: {n_classes} classes, more than the limit of {max}")]
    TooManyClasses {
        /// The number of classes asked for.
        n_classes: usize,
        /// The limit, [`crate::limits::MAX_CLASSES`].
        max: usize,
    },
    /// The feature buffer is not `labels.len() × n_features` long.
    #[error("features: {len} values is not {rows} rows × {n_features} features")]
    Shape {
        /// Length of the feature buffer.
        len: usize,
        /// Number of labels, that is of rows.
        rows: usize,
        /// Declared number of features.
        n_features: usize,
    },
    /// A feature is NaN or infinite.
    #[error("row {row}: feature {feature}: {value} is not finite")]
    NonFinite {
        /// 0-based row.
        row: usize,
        /// 0-based feature column.
        feature: usize,
        /// The offending value.
        value: f64,
    },
    /// A label is not a class index.
    #[error("row {row}: label {label} is not below n_classes = {n_classes}")]
    Label {
        /// 0-based row.
        row: usize,
        /// The offending label.
        label: usize,
        /// Number of classes.
        n_classes: usize,
    },
    /// A player owns no row.
    #[error("player {player} owns no row")]
    EmptyPlayer {
        /// 0-based player index.
        player: usize,
    },
    /// A row names a player that cannot own a row: players are numbered
    /// `0..n_players` and each owns a row, so every player index is below
    /// the number of rows.
    #[error("row {row}: player {player} is not below the number of rows, {n_rows}")]
    PlayerIndex {
        /// 0-based row.
        row: usize,
        /// The offending player index.
        player: usize,
        /// Number of rows.
        n_rows: usize,
    },
    /// The players are for a different number of rows.
    #[error("players cover {players} rows but the dataset has {rows}")]
    PlayerRows {
        /// Rows covered by the players.
        players: usize,
        /// Rows of the dataset.
        rows: usize,
    },
    /// A dataset has a different number of features than the others (or
    /// than the rows a [`Standardizer`] was fitted on).
    #[error("dataset {dataset}: {found} features, but {expected} are expected")]
    FeatureCount {
        /// 0-based position of the dataset among those given.
        dataset: usize,
        /// Its number of features.
        found: usize,
        /// The number expected.
        expected: usize,
    },
}

impl Dataset {
    /// Checks and wraps a feature matrix (row-major) and its labels.
    /// `n_classes` is at most [`crate::limits::MAX_CLASSES`].
    ///
    /// ```
    /// use procura_valuation::Dataset;
    /// let data = Dataset::new(vec![0.0, 1.0, 2.0, 3.0], 2, vec![0, 1], 2)?;
    /// assert_eq!(data.n_rows(), 2);
    /// assert_eq!(data.row(1), Some(&[2.0, 3.0][..]));
    /// assert_eq!(data.label(1), Some(1));
    /// assert_eq!((data.row(2), data.label(2)), (None, None));
    /// # Ok::<(), procura_valuation::DatasetError>(())
    /// ```
    pub fn new(
        features: Vec<f64>,
        n_features: usize,
        labels: Vec<usize>,
        n_classes: usize,
    ) -> Result<Dataset, DatasetError> {
        if labels.is_empty() {
            return Err(DatasetError::Empty);
        }
        if n_features == 0 {
            return Err(DatasetError::NoFeatures);
        }
        if labels.len().checked_mul(n_features) != Some(features.len()) {
            return Err(DatasetError::Shape {
                len: features.len(),
                rows: labels.len(),
                n_features,
            });
        }
        if let Some(position) = features.iter().position(|value| !value.is_finite()) {
            return Err(DatasetError::NonFinite {
                row: position / n_features,
                feature: position % n_features,
                value: features[position],
            });
        }
        check_labels(&labels, n_classes)?;
        Ok(Dataset {
            features,
            n_features,
            labels,
            n_classes,
        })
    }

    /// Number of rows.
    #[must_use]
    pub fn n_rows(&self) -> usize {
        self.labels.len()
    }
    /// Number of feature columns.
    #[must_use]
    pub fn n_features(&self) -> usize {
        self.n_features
    }
    /// Number of classes; labels lie in `0..n_classes`.
    #[must_use]
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }
    /// The features of row `row`; `None` when `row ≥ n_rows()`.
    #[must_use]
    pub fn row(&self, row: usize) -> Option<&[f64]> {
        (row < self.n_rows()).then(|| self.row_at(row))
    }
    /// The label of row `row`; `None` when `row ≥ n_rows()`.
    #[must_use]
    pub fn label(&self, row: usize) -> Option<usize> {
        self.labels.get(row).copied()
    }
    /// Every row's features and label, in row order.
    ///
    /// ```
    /// use procura_valuation::Dataset;
    /// let data = Dataset::new(vec![0.0, 1.0, 2.0, 3.0], 2, vec![0, 1], 2)?;
    /// let rows: Vec<(&[f64], usize)> = data.iter().collect();
    /// assert_eq!(rows, [(&[0.0, 1.0][..], 0), (&[2.0, 3.0][..], 1)]);
    /// # Ok::<(), procura_valuation::DatasetError>(())
    /// ```
    #[must_use]
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&[f64], usize)> + '_ {
        self.features
            .chunks_exact(self.n_features)
            .zip(self.labels.iter().copied())
    }
    /// The features of row `row`, which the caller has checked is below
    /// `n_rows()` (with `model::check_rows`, or by taking it from players
    /// checked against this dataset).
    pub(crate) fn row_at(&self, row: usize) -> &[f64] {
        &self.features[row * self.n_features..(row + 1) * self.n_features]
    }
    /// The label of row `row`, which the caller has checked is below
    /// `n_rows()`.
    pub(crate) fn label_at(&self, row: usize) -> usize {
        self.labels[row]
    }
    /// All labels, one per row.
    #[must_use]
    pub fn labels(&self) -> &[usize] {
        &self.labels
    }
    /// All features, row-major.
    #[must_use]
    pub fn features(&self) -> &[f64] {
        &self.features
    }

    /// The rows `rows` (in that order, repetitions allowed) as a new dataset
    /// with the same classes. `None` when `rows` is empty or out of range.
    #[must_use]
    pub fn select(&self, rows: &[usize]) -> Option<Dataset> {
        if rows.is_empty() || rows.iter().any(|&row| row >= self.n_rows()) {
            return None;
        }
        let features = rows
            .iter()
            .flat_map(|&row| self.row_at(row).iter().copied())
            .collect();
        let labels = rows.iter().map(|&row| self.labels[row]).collect();
        Some(Dataset {
            features,
            n_features: self.n_features,
            labels,
            n_classes: self.n_classes,
        })
    }

    /// The share of rows whose label is the most frequent one: the accuracy
    /// of always predicting the majority class.
    ///
    /// ```text
    /// majority_rate = max_c |{t : y_t = c}| / n_rows
    /// ```
    #[must_use]
    pub fn majority_rate(&self) -> f64 {
        let counts = class_counts(&self.labels, self.n_classes);
        let most = counts.iter().copied().max().unwrap_or(0);
        most as f64 / self.n_rows() as f64
    }
}

/// Checks `n_classes` (at least 1, at most [`MAX_CLASSES`]) and that
/// every label is below it: the label rule of [`Dataset`] and
/// [`Embeddings`](crate::Embeddings).
pub(crate) fn check_labels(labels: &[usize], n_classes: usize) -> Result<(), DatasetError> {
    if n_classes == 0 {
        return Err(DatasetError::NoClasses);
    }
    if n_classes > MAX_CLASSES {
        return Err(DatasetError::TooManyClasses {
            n_classes,
            max: MAX_CLASSES,
        });
    }
    if let Some(row) = labels.iter().position(|&label| label >= n_classes) {
        return Err(DatasetError::Label {
            row,
            label: labels[row],
            n_classes,
        });
    }
    Ok(())
}

/// Per-feature standardisation (z-scores), fitted on some rows and applied
/// to any dataset with the same features:
///
/// ```text
/// x ↦ (x − mean) / sd    mean and population sd of the feature over the fitted rows
/// x ↦ 0                  for a feature that is constant over the fitted rows
/// ```
///
/// Fit it on the rows a model may learn from and apply it to those and to
/// held-out rows alike, so that nothing about the held-out rows, not even
/// their features, enters the fit.
///
/// # Numerics
///
/// The mean and the variance are two-pass, each a left fold in row order:
/// the mean first, then the mean of the squared deviations from it, so
/// there is no cancellation as in E\[x²\] − E\[x\]². A mapped value is
/// `(x − mean) · (1 / sd)`.
///
/// Two cases are handled explicitly:
///
/// - a feature whose fitted values are all equal (zero variance) maps to 0,
///   exactly, for every row: its computed mean can be off by a rounding,
///   and dividing that rounding by itself would give ±1;
/// - a feature whose sums overflow, or whose variance underflows (values
///   beyond about 1e154 in magnitude, or a spread below about 1e-154), is
///   fitted again on its values divided by their largest magnitude, and
///   mapped the same way, `(x / max|x| − mean') · (1 / sd')`, so that it is
///   standardised rather than turned into NaN or 0.
///
/// ```
/// use procura_valuation::{Dataset, Standardizer};
/// let train = Dataset::new(vec![1.0, 5.0, 3.0, 5.0], 2, vec![0, 1], 2)?;
/// let test = Dataset::new(vec![5.0, 7.0], 2, vec![1], 2)?;
/// let scaler = Standardizer::fit(&[&train])?;
/// assert_eq!(scaler.apply(&train)?.features(), &[-1.0, 0.0, 1.0, 0.0]);
/// // Feature 1 is constant on the fitted rows: 0 everywhere.
/// assert_eq!(scaler.apply(&test)?.features(), &[3.0, 0.0]);
/// # Ok::<(), procura_valuation::DatasetError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Standardizer {
    features: Vec<Standardization>,
}

/// The map of one feature: `x ↦ (x / divisor − mean) · inverse_sd`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Standardization {
    /// 1, or the largest fitted magnitude where plain sums overflow or
    /// underflow.
    divisor: f64,
    /// Mean of the divided fitted values.
    mean: f64,
    /// 1 / sd of the divided fitted values; 0 for a constant feature.
    inverse_sd: f64,
}

impl Standardizer {
    /// Fits the map on the rows of `parts`, taken together in order (all
    /// the rows of the first dataset, then of the second, …).
    ///
    /// [`DatasetError::Empty`] without a dataset;
    /// [`DatasetError::FeatureCount`] naming the first dataset whose
    /// number of features differs from the first one's.
    pub fn fit(parts: &[&Dataset]) -> Result<Standardizer, DatasetError> {
        let Some(first) = parts.first() else {
            return Err(DatasetError::Empty);
        };
        let n_features = first.n_features();
        if let Some((dataset, part)) = parts
            .iter()
            .enumerate()
            .find(|(_, part)| part.n_features() != n_features)
        {
            return Err(DatasetError::FeatureCount {
                dataset,
                found: part.n_features(),
                expected: n_features,
            });
        }
        // Saturating: only a slice of more references than memory holds
        // could reach usize::MAX rows.
        let n_rows = parts
            .iter()
            .fold(0_usize, |sum, part| sum.saturating_add(part.n_rows()))
            as f64;
        let features = (0..n_features)
            .map(|feature| {
                let column = || {
                    parts.iter().flat_map(move |part| {
                        part.features()[feature..]
                            .iter()
                            .step_by(n_features)
                            .copied()
                    })
                };
                Standardization::fit(column, n_rows)
            })
            .collect();
        Ok(Standardizer { features })
    }

    /// Number of features the map is for.
    #[must_use]
    pub fn n_features(&self) -> usize {
        self.features.len()
    }

    /// `data` with every feature mapped; labels and classes unchanged.
    ///
    /// [`DatasetError::FeatureCount`] (dataset 0) when `data` has another
    /// number of features than the fitted rows; [`DatasetError::NonFinite`]
    /// naming the row and feature of a value far enough outside the fitted
    /// rows' range that its z-score overflows.
    pub fn apply(&self, data: &Dataset) -> Result<Dataset, DatasetError> {
        let n_features = self.n_features();
        if data.n_features() != n_features {
            return Err(DatasetError::FeatureCount {
                dataset: 0,
                found: data.n_features(),
                expected: n_features,
            });
        }
        let features = data
            .features()
            .iter()
            .enumerate()
            .map(|(i, &x)| self.features[i % n_features].apply(x))
            .collect();
        Dataset::new(
            features,
            n_features,
            data.labels().to_vec(),
            data.n_classes(),
        )
    }
}

impl Standardization {
    /// Fits one feature on the `n_rows ≥ 1` values `column()` yields.
    fn fit<I: Iterator<Item = f64>>(column: impl Fn() -> I, n_rows: f64) -> Standardization {
        let first = column().next().unwrap_or_default();
        if column().all(|x| x == first) {
            return Standardization::CONSTANT;
        }
        let plain = Standardization::moments(&column, 1.0, n_rows);
        if plain.mean.is_finite() && plain.inverse_sd.is_finite() && plain.inverse_sd > 0.0 {
            return plain;
        }
        // Beyond about 1e154 the squares (or the sums) overflow, below
        // about 1e-154 the squares underflow: divide by the largest
        // magnitude, which is positive since the feature is not constant.
        let divisor = column().fold(0.0, |max: f64, x| max.max(x.abs()));
        let scaled = Standardization::moments(&column, divisor, n_rows);
        if scaled.inverse_sd.is_finite() && scaled.inverse_sd > 0.0 {
            scaled
        } else {
            Standardization::CONSTANT
        }
    }

    /// The map of a feature that does not vary: 0 everywhere.
    const CONSTANT: Standardization = Standardization {
        divisor: 1.0,
        mean: 0.0,
        inverse_sd: 0.0,
    };

    /// Mean and 1 / sd (population) of the values divided by `divisor`, two
    /// passes of left folds in order. `inverse_sd` is infinite or NaN where
    /// the variance is 0, subnormal or not finite.
    fn moments<I: Iterator<Item = f64>>(
        column: &impl Fn() -> I,
        divisor: f64,
        n_rows: f64,
    ) -> Standardization {
        // x / 1 is x, bit for bit: the plain case is (x − mean) · (1 / sd).
        let mean = column().fold(0.0, |sum, x| sum + x / divisor) / n_rows;
        let variance = column().fold(0.0, |sum, x| {
            let deviation = x / divisor - mean;
            sum + deviation * deviation
        }) / n_rows;
        let inverse_sd = if variance.is_normal() {
            1.0 / variance.sqrt()
        } else {
            f64::NAN
        };
        Standardization {
            divisor,
            mean,
            inverse_sd,
        }
    }

    fn apply(&self, x: f64) -> f64 {
        if self.inverse_sd == 0.0 {
            0.0
        } else {
            (x / self.divisor - self.mean) * self.inverse_sd
        }
    }
}

/// How many labels fall in each class.
pub(crate) fn class_counts(labels: &[usize], n_classes: usize) -> Vec<usize> {
    let mut counts = vec![0; n_classes];
    for &label in labels {
        counts[label] += 1;
    }
    counts
}

/// The players of a valuation game and the training rows each one owns.
///
/// Every row belongs to exactly one player and every player owns at least
/// one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Players {
    of_row: Vec<usize>,
    rows: Vec<Vec<usize>>,
}

impl Players {
    /// Point-level valuation of `data`: row `i` is player `i`. The table it
    /// builds is sized by the rows `data` already holds, never by a bare
    /// number.
    ///
    /// ```
    /// use procura_valuation::{Dataset, Players};
    /// let data = Dataset::new(vec![0.0, 1.0, 2.0], 1, vec![0, 1, 0], 2)?;
    /// let players = Players::points(&data);
    /// assert_eq!((players.n_players(), players.n_rows()), (3, 3));
    /// assert_eq!(players.rows_of(2), &[2]);
    /// # Ok::<(), procura_valuation::DatasetError>(())
    /// ```
    #[must_use]
    pub fn points<R: LabelledRows + ?Sized>(data: &R) -> Players {
        let n_rows = data.n_rows();
        Players {
            of_row: (0..n_rows).collect(),
            rows: (0..n_rows).map(|row| vec![row]).collect(),
        }
    }

    /// Provider-level valuation: row `i` belongs to player `of_row[i]`.
    /// Players are numbered `0..=max(of_row)` and each must own a row, so
    /// every index is below `of_row.len()`
    /// ([`DatasetError::PlayerIndex`] otherwise, before anything is
    /// allocated for the players).
    ///
    /// ```
    /// use procura_valuation::Players;
    /// let players = Players::groups(vec![1, 0, 1])?;
    /// assert_eq!(players.n_players(), 2);
    /// assert_eq!(players.rows_of(1), &[0, 2]);
    /// // An index that is no player's owns no rows.
    /// assert!(players.rows_of(2).is_empty());
    /// # Ok::<(), procura_valuation::DatasetError>(())
    /// ```
    pub fn groups(of_row: Vec<usize>) -> Result<Players, DatasetError> {
        let n_rows = of_row.len();
        if let Some(row) = of_row.iter().position(|&player| player >= n_rows) {
            return Err(DatasetError::PlayerIndex {
                row,
                player: of_row[row],
                n_rows,
            });
        }
        // Every index is below n_rows, so max + 1 ≤ n_rows: no overflow, and
        // the player table is no larger than the rows.
        let n_players = of_row.iter().max().map_or(0, |&max| max + 1);
        let mut rows = vec![Vec::new(); n_players];
        for (row, &player) in of_row.iter().enumerate() {
            rows[player].push(row);
        }
        if let Some(player) = rows.iter().position(Vec::is_empty) {
            return Err(DatasetError::EmptyPlayer { player });
        }
        Ok(Players { of_row, rows })
    }

    /// Provider-level valuation by name: the distinct names of `names`
    /// (one per row) in order of first appearance, and the players they
    /// form (player `i` is the `i`-th name).
    ///
    /// ```
    /// use procura_valuation::Players;
    /// let names = ["b", "a", "b"].map(str::to_owned);
    /// let (order, players) = Players::named(&names);
    /// assert_eq!(order, ["b", "a"]);
    /// assert_eq!(players.rows_of(0), &[0, 2]);
    /// ```
    #[must_use]
    pub fn named(names: &[String]) -> (Vec<String>, Players) {
        let mut order: Vec<String> = Vec::new();
        let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        let mut rows: Vec<Vec<usize>> = Vec::new();
        let of_row = names
            .iter()
            .enumerate()
            .map(|(row, name)| {
                let player = *index.entry(name.as_str()).or_insert_with(|| {
                    order.push(name.clone());
                    rows.push(Vec::new());
                    order.len() - 1
                });
                rows[player].push(row);
                player
            })
            .collect();
        (order, Players { of_row, rows })
    }

    /// Number of players.
    #[must_use]
    pub fn n_players(&self) -> usize {
        self.rows.len()
    }
    /// Number of rows the players cover.
    #[must_use]
    pub fn n_rows(&self) -> usize {
        self.of_row.len()
    }
    /// The rows owned by `player`, in increasing order: at least one for
    /// every player, none for an index that is no player's
    /// (`player ≥ n_players()`).
    #[must_use]
    pub fn rows_of(&self, player: usize) -> &[usize] {
        self.rows.get(player).map_or(&[], Vec::as_slice)
    }
    /// The player owning each row.
    #[must_use]
    pub fn of_row(&self) -> &[usize] {
        &self.of_row
    }

    /// Sums per-row amounts into per-player amounts.
    pub(crate) fn sum_by_player(&self, per_row: &[f64]) -> Vec<f64> {
        self.rows
            .iter()
            .map(|rows| rows.iter().map(|&row| per_row[row]).sum())
            .collect()
    }

    /// Checks that these players are for `data`.
    pub(crate) fn check_rows<R: LabelledRows + ?Sized>(
        &self,
        data: &R,
    ) -> Result<(), DatasetError> {
        if self.n_rows() == data.n_rows() {
            Ok(())
        } else {
            Err(DatasetError::PlayerRows {
                players: self.n_rows(),
                rows: data.n_rows(),
            })
        }
    }
}

impl fmt::Display for Players {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} players over {} rows",
            self.n_players(),
            self.n_rows()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(values: &[f64]) -> Dataset {
        Dataset::new(values.to_vec(), 1, vec![0; values.len()], 1).expect("valid")
    }

    /// Fits on `fit`, applies to `fit` itself, and compares with `expected`
    /// within `tolerance` (relative to 1, the scale of z-scores).
    fn check(fit: &[f64], expected: &[f64], tolerance: f64) {
        let data = column(fit);
        let scaler = Standardizer::fit(&[&data]).expect("fit");
        let mapped = scaler.apply(&data).expect("apply");
        for (got, want) in mapped.features().iter().zip(expected) {
            assert!(
                (got - want).abs() <= tolerance,
                "{fit:?}: {:?} is not {expected:?}",
                mapped.features()
            );
        }
    }

    #[test]
    fn features_are_standardised() {
        // Population sd: 0, 1, 2 has sd √(2/3).
        let z = 1.5_f64.sqrt();
        check(&[1.0, 3.0], &[-1.0, 1.0], 0.0);
        check(&[0.0, 1.0, 2.0], &[-z, 0.0, z], 1e-15);
        // Constant features, exact mean or not, map to 0 exactly.
        check(&[0.1, 0.1, 0.1], &[0.0; 3], 0.0);
        check(&[-0.0, 0.0], &[0.0; 2], 0.0);
        // Huge values overflow the plain sums; tiny spreads underflow the
        // squares: both are standardised like their ordinary counterparts.
        check(
            &[1e300, -1e300, 1e300, -1e300],
            &[1.0, -1.0, 1.0, -1.0],
            1e-15,
        );
        check(&[1e200, 3e200], &[-1.0, 1.0], 1e-15);
        check(&[1e-200, 3e-200], &[-1.0, 1.0], 1e-15);
        check(&[f64::MAX, -f64::MAX], &[1.0, -1.0], 1e-15);
        check(&[5e-324, 1e-323], &[-1.0, 1.0], 1e-15);
    }

    /// The ordinary map is `(x − mean) · (1 / sd)` with two-pass left-fold
    /// moments, bit for bit, over the fitted parts in order.
    #[test]
    fn the_ordinary_map_is_two_pass_bit_for_bit() {
        let a =
            Dataset::new(vec![0.3, 7.0, 1.7, -2.0, 2.9, 11.0], 2, vec![0, 1, 0], 2).expect("valid");
        let b = Dataset::new(vec![10.1, 0.5], 2, vec![1], 2).expect("valid");
        let scaler = Standardizer::fit(&[&a, &b]).expect("fit");
        let rows = [a.row_at(0), a.row_at(1), a.row_at(2), b.row_at(0)];
        let n = rows.len() as f64;
        let mapped = scaler.apply(&b).expect("apply");
        for feature in 0..2 {
            let mean = rows.iter().fold(0.0, |sum, row| sum + row[feature]) / n;
            let variance = rows.iter().fold(0.0, |sum, row| {
                sum + (row[feature] - mean) * (row[feature] - mean)
            }) / n;
            let want = (b.row_at(0)[feature] - mean) * (1.0 / variance.sqrt());
            assert_eq!(mapped.row_at(0)[feature].to_bits(), want.to_bits());
        }
        assert_eq!(mapped.labels(), b.labels());
    }

    #[test]
    fn mismatched_and_overflowing_data_are_refused() {
        assert_eq!(Standardizer::fit(&[]), Err(DatasetError::Empty));
        let one = column(&[1.0, 2.0]);
        let two = Dataset::new(vec![1.0, 2.0], 2, vec![0], 1).expect("valid");
        assert_eq!(
            Standardizer::fit(&[&one, &two]),
            Err(DatasetError::FeatureCount {
                dataset: 1,
                found: 2,
                expected: 1
            })
        );
        let scaler = Standardizer::fit(&[&one]).expect("fit");
        assert_eq!(
            scaler.apply(&two),
            Err(DatasetError::FeatureCount {
                dataset: 0,
                found: 2,
                expected: 1
            })
        );
        // Fitted on a spread of 1e-300, a held-out 1e300 has no finite z-score.
        let tiny = Standardizer::fit(&[&column(&[0.0, 1e-300])]).expect("fit");
        assert!(matches!(
            tiny.apply(&column(&[0.0, 1e300])),
            Err(DatasetError::NonFinite {
                row: 1,
                feature: 0,
                ..
            })
        ));
    }
}
