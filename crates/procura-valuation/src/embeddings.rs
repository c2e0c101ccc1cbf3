//! Labelled rows at the scale of text embeddings: a million rows of 384
//! numbers, stored as they came (`f32` or `f64`), never copied wholesale.
//!
//! A [`Dataset`] holds `f64` features for the models that train on them;
//! an [`Embeddings`] holds its rows as [`Features`] in their own precision,
//! so that 10⁶ × 384 float32 embeddings take 1.5 GB, not 3 GB.
//! KNN-Shapley ([`crate::knn_shapley()`]) reads either through
//! [`LabelledRows`], which hands out rows as `f64`, one block at a time.
//! [`Embeddings::to_dataset`] makes the `f64` copy a model needs.

use std::ops::Range;

use crate::dataset::{check_labels, Dataset, DatasetError};

/// Finite feature rows, row-major, stored as `f32` or `f64`.
///
/// Valid by construction: at least one row and one column, and every
/// value finite ([`Features::from_f32`], [`Features::from_f64`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    store: Store,
    dim: usize,
}

/// The values, in the precision they were given.
#[derive(Debug, Clone, PartialEq)]
enum Store {
    F32(Vec<f32>),
    F64(Vec<f64>),
}

/// The precision [`Features`] are stored in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// IEEE single precision (numpy `float32`).
    F32,
    /// IEEE double precision (numpy `float64`).
    F64,
}

impl Features {
    /// Wraps `values`, `values.len() / dim` rows of `dim` numbers.
    ///
    /// Refuses no rows ([`DatasetError::Empty`]), `dim = 0`
    /// ([`DatasetError::NoFeatures`]), a length that is not a multiple of
    /// `dim` ([`DatasetError::Shape`]) and a NaN or infinity
    /// ([`DatasetError::NonFinite`], naming the row and the column).
    ///
    /// ```
    /// use procura_valuation::Features;
    /// let x = Features::from_f32(vec![0.5, 1.0, 1.5, 2.0], 2)?;
    /// assert_eq!((x.n_rows(), x.dim()), (2, 2));
    /// assert!(Features::from_f32(vec![0.5, f32::NAN], 2).is_err());
    /// # Ok::<(), procura_valuation::DatasetError>(())
    /// ```
    pub fn from_f32(values: Vec<f32>, dim: usize) -> Result<Features, DatasetError> {
        check_shape(values.len(), dim)?;
        if let Some(at) = values.iter().position(|value| !value.is_finite()) {
            return Err(non_finite(at, dim, f64::from(values[at])));
        }
        Ok(Features {
            store: Store::F32(values),
            dim,
        })
    }

    /// As [`Features::from_f32`], for `f64` values.
    pub fn from_f64(values: Vec<f64>, dim: usize) -> Result<Features, DatasetError> {
        check_shape(values.len(), dim)?;
        if let Some(at) = values.iter().position(|value| !value.is_finite()) {
            return Err(non_finite(at, dim, values[at]));
        }
        Ok(Features {
            store: Store::F64(values),
            dim,
        })
    }

    /// Number of rows.
    #[must_use]
    pub fn n_rows(&self) -> usize {
        let len = match &self.store {
            Store::F32(values) => values.len(),
            Store::F64(values) => values.len(),
        };
        len / self.dim
    }

    /// Numbers per row.
    #[must_use]
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The precision the values are stored in.
    #[must_use]
    pub fn precision(&self) -> Precision {
        match self.store {
            Store::F32(_) => Precision::F32,
            Store::F64(_) => Precision::F64,
        }
    }

    /// The values as `f32`, when they are stored so.
    #[must_use]
    pub fn as_f32(&self) -> Option<&[f32]> {
        match &self.store {
            Store::F32(values) => Some(values),
            Store::F64(_) => None,
        }
    }

    /// The values as `f64`, when they are stored so.
    #[must_use]
    pub fn as_f64(&self) -> Option<&[f64]> {
        match &self.store {
            Store::F64(values) => Some(values),
            Store::F32(_) => None,
        }
    }

    /// Writes rows `rows` as `f64` into `out`, row-major; `out` holds
    /// exactly `rows.len() × dim` numbers and `rows` lies within
    /// `0..n_rows()` (the caller's invariant: it panics otherwise).
    /// Widening `f32` to `f64` is exact.
    pub(crate) fn copy_rows_f64(&self, rows: Range<usize>, out: &mut [f64]) {
        let span = rows.start * self.dim..rows.end * self.dim;
        match &self.store {
            Store::F32(values) => {
                for (to, &from) in out.iter_mut().zip(&values[span]) {
                    *to = f64::from(from);
                }
            }
            Store::F64(values) => out.copy_from_slice(&values[span]),
        }
    }

    /// Every value as `f64`, row-major: the copy a model trains on.
    #[must_use]
    pub fn to_f64(&self) -> Vec<f64> {
        match &self.store {
            Store::F32(values) => values.iter().map(|&value| f64::from(value)).collect(),
            Store::F64(values) => values.clone(),
        }
    }
}

/// Refuses an empty buffer, `dim = 0` and a length that is not rows × dim.
fn check_shape(len: usize, dim: usize) -> Result<(), DatasetError> {
    if dim == 0 {
        return Err(DatasetError::NoFeatures);
    }
    if len == 0 {
        return Err(DatasetError::Empty);
    }
    if !len.is_multiple_of(dim) {
        return Err(DatasetError::Shape {
            len,
            rows: len / dim,
            n_features: dim,
        });
    }
    Ok(())
}

/// The error for the value at flat position `at`.
fn non_finite(at: usize, dim: usize, value: f64) -> DatasetError {
    DatasetError::NonFinite {
        row: at / dim,
        feature: at % dim,
        value,
    }
}

/// Labelled embeddings: [`Features`] and a class in `0..n_classes` for
/// each row. Valid by construction ([`Embeddings::new`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Embeddings {
    features: Features,
    labels: Vec<usize>,
    n_classes: usize,
}

impl Embeddings {
    /// Checks and wraps rows and their labels: one label per row, each
    /// below `n_classes`, and `n_classes` at most
    /// [`crate::limits::MAX_CLASSES`], as [`Dataset::new`] checks.
    ///
    /// ```
    /// use procura_valuation::{Embeddings, Features};
    /// let x = Features::from_f32(vec![0.0, 1.0, 1.0, 0.0], 2)?;
    /// let data = Embeddings::new(x, vec![0, 1], 2)?;
    /// assert_eq!(data.labels(), &[0, 1]);
    /// # Ok::<(), procura_valuation::DatasetError>(())
    /// ```
    pub fn new(
        features: Features,
        labels: Vec<usize>,
        n_classes: usize,
    ) -> Result<Embeddings, DatasetError> {
        if labels.len() != features.n_rows() {
            return Err(DatasetError::Shape {
                len: features.n_rows() * features.dim(),
                rows: labels.len(),
                n_features: features.dim(),
            });
        }
        check_labels(&labels, n_classes)?;
        Ok(Embeddings {
            features,
            labels,
            n_classes,
        })
    }

    /// The rows.
    #[must_use]
    pub fn features(&self) -> &Features {
        &self.features
    }

    /// One class per row.
    #[must_use]
    pub fn labels(&self) -> &[usize] {
        &self.labels
    }

    /// Number of classes.
    #[must_use]
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// The same rows as an `f64` [`Dataset`], for the models that train
    /// on features (logistic regression, the KNN classifier).
    pub fn to_dataset(&self) -> Result<Dataset, DatasetError> {
        Dataset::new(
            self.features.to_f64(),
            self.features.dim(),
            self.labels.clone(),
            self.n_classes,
        )
    }
}

/// Labelled rows that KNN-Shapley can read: a [`Dataset`] or
/// [`Embeddings`]. Rows are handed out as `f64`, a block at a time.
pub trait LabelledRows: Sync {
    /// Number of rows.
    fn n_rows(&self) -> usize;
    /// Numbers per row.
    fn dim(&self) -> usize;
    /// Number of classes; labels lie in `0..n_classes`.
    fn n_classes(&self) -> usize;
    /// One class per row.
    fn labels(&self) -> &[usize];
    /// Writes rows `rows` (within `0..n_rows()`) as `f64` into `out`,
    /// row-major, `rows.len() × dim()` numbers.
    fn copy_rows_f64(&self, rows: Range<usize>, out: &mut [f64]);
    /// Every row as `f64`, row-major, when the rows are stored so (no
    /// copy); `None` when they would have to be widened.
    fn as_f64(&self) -> Option<&[f64]>;
}

impl LabelledRows for Dataset {
    fn n_rows(&self) -> usize {
        Dataset::n_rows(self)
    }
    fn dim(&self) -> usize {
        self.n_features()
    }
    fn n_classes(&self) -> usize {
        Dataset::n_classes(self)
    }
    fn labels(&self) -> &[usize] {
        Dataset::labels(self)
    }
    fn copy_rows_f64(&self, rows: Range<usize>, out: &mut [f64]) {
        let dim = self.n_features();
        out.copy_from_slice(&self.features()[rows.start * dim..rows.end * dim]);
    }
    fn as_f64(&self) -> Option<&[f64]> {
        Some(self.features())
    }
}

impl LabelledRows for Embeddings {
    fn n_rows(&self) -> usize {
        self.features.n_rows()
    }
    fn dim(&self) -> usize {
        self.features.dim()
    }
    fn n_classes(&self) -> usize {
        self.n_classes
    }
    fn labels(&self) -> &[usize] {
        &self.labels
    }
    fn copy_rows_f64(&self, rows: Range<usize>, out: &mut [f64]) {
        self.features.copy_rows_f64(rows, out);
    }
    fn as_f64(&self) -> Option<&[f64]> {
        self.features.as_f64()
    }
}
