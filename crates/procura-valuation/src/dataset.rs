//! In-memory labelled datasets and the players that own their rows.
//!
//! A [`Dataset`] is a dense, row-major matrix of finite features with one
//! class label per row. Labels are class indices `0..n_classes`; mapping the
//! labels of a file to indices (the same mapping for the training and the
//! test set) is the caller's job. [`Players`] says which player owns each
//! training row: every row its own player for point-level valuation, or the
//! rows of one provider for provider-level valuation.

use std::fmt;

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

/// Why a [`Dataset`] or [`Players`] could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
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
}

impl Dataset {
    /// Checks and wraps a feature matrix (row-major) and its labels.
    ///
    /// ```
    /// use procura_valuation::Dataset;
    /// let data = Dataset::new(vec![0.0, 1.0, 2.0, 3.0], 2, vec![0, 1], 2)?;
    /// assert_eq!(data.n_rows(), 2);
    /// assert_eq!(data.row(1), &[2.0, 3.0]);
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
        if n_classes == 0 {
            return Err(DatasetError::NoClasses);
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
        if let Some(row) = labels.iter().position(|&label| label >= n_classes) {
            return Err(DatasetError::Label {
                row,
                label: labels[row],
                n_classes,
            });
        }
        Ok(Dataset {
            features,
            n_features,
            labels,
            n_classes,
        })
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.labels.len()
    }
    /// Number of feature columns.
    pub fn n_features(&self) -> usize {
        self.n_features
    }
    /// Number of classes; labels lie in `0..n_classes`.
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }
    /// The features of row `row`.
    ///
    /// # Panics
    ///
    /// When `row ≥ n_rows()`.
    pub fn row(&self, row: usize) -> &[f64] {
        &self.features[row * self.n_features..(row + 1) * self.n_features]
    }
    /// The label of row `row`.
    ///
    /// # Panics
    ///
    /// When `row ≥ n_rows()`.
    pub fn label(&self, row: usize) -> usize {
        self.labels[row]
    }
    /// All labels, one per row.
    pub fn labels(&self) -> &[usize] {
        &self.labels
    }
    /// All features, row-major.
    pub fn features(&self) -> &[f64] {
        &self.features
    }

    /// The rows `rows` (in that order, repetitions allowed) as a new dataset
    /// with the same classes. `None` when `rows` is empty or out of range.
    pub fn select(&self, rows: &[usize]) -> Option<Dataset> {
        if rows.is_empty() || rows.iter().any(|&row| row >= self.n_rows()) {
            return None;
        }
        let features = rows
            .iter()
            .flat_map(|&row| self.row(row).iter().copied())
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
    pub fn majority_rate(&self) -> f64 {
        let counts = class_counts(&self.labels, self.n_classes);
        let most = counts.iter().copied().max().unwrap_or(0);
        most as f64 / self.n_rows() as f64
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
    /// Point-level valuation: row `i` is player `i`.
    pub fn points(n_rows: usize) -> Players {
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

    /// Number of players.
    pub fn n_players(&self) -> usize {
        self.rows.len()
    }
    /// Number of rows the players cover.
    pub fn n_rows(&self) -> usize {
        self.of_row.len()
    }
    /// The rows owned by `player`, in increasing order.
    ///
    /// # Panics
    ///
    /// When `player ≥ n_players()`.
    pub fn rows_of(&self, player: usize) -> &[usize] {
        &self.rows[player]
    }
    /// The player owning each row.
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
    pub(crate) fn check_rows(&self, data: &Dataset) -> Result<(), DatasetError> {
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
