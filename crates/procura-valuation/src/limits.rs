//! Limits on what an input may ask of memory, in one place.
//!
//! Every allocation of this crate whose size comes from its input is
//! either linear in the input (a copy of the data, a number per row, per
//! player or per feature) or bounded by a limit here, checked before
//! anything is allocated and refused with a typed error that names the
//! sizes:
//!
//! | limit | bounds | checked by | refusal |
//! |---|---|---|---|
//! | [`MAX_LOGISTIC_PARAMETERS`] = 4,096 | coefficients of logistic regression, (features + 1) × (1, or classes when there are ≥ 3): its Newton Hessian is their square | [`Model::check`](crate::Model::check), from [`LearningGame::new`](crate::LearningGame::new), [`quality_scores`](crate::quality_scores), [`fit`](crate::fit) and [`fit_logistic`](crate::fit_logistic) | [`ModelError::TooManyParameters`](crate::ModelError::TooManyParameters) |
//! | [`MAX_CLASSES`] = 64 | classes of a dataset: the per-class counts of every vote and fit, and the score matrices of logistic regression (rows × classes) | [`Dataset::new`](crate::Dataset::new), [`Classes::of`](crate::table::Classes::of) | [`DatasetError::TooManyClasses`](crate::DatasetError::TooManyClasses), [`TableError::TooManyClasses`](crate::table::TableError::TooManyClasses) |
//! | [`NEIGHBOUR_TABLE_MAX`] = 2²⁴ | entries of the KNN game's neighbour table, test rows × training rows (64 MiB) | [`LearningGame::new`](crate::LearningGame::new) | none: a larger game computes distances per coalition instead |
//! | [`KNN_GROUP_TABLE_MAX`] = 2²⁴ | entries of the provider KNN game's sequence table, test rows × Σ over providers of min(k, its rows) (64 MiB) | [`KnnGroupGame::new`](crate::KnnGroupGame::new) | none: a larger game sorts the coalition's rows per test point instead |
//! | [`npz::MAX_ARRAY_BYTES`](crate::npz::MAX_ARRAY_BYTES) = 4 GiB, [`npz::MAX_HEADER_BYTES`](crate::npz::MAX_HEADER_BYTES) = 16 KiB, [`npz::MAX_COMPRESSION_RATIO`](crate::npz::MAX_COMPRESSION_RATIO) = 64 | one array of an `.npz` file, its `.npy` header, and the size a compressed member may declare beyond 64 MiB (64 × its compressed size) | [`npz::read`](crate::npz::read), before the array is allocated | [`NpzError::TooLarge`](crate::npz::NpzError::TooLarge), [`NpzError::Header`](crate::npz::NpzError::Header), [`NpzError::Compression`](crate::npz::NpzError::Compression) |
//!
//! What stays linear, and so needs no limit: the datasets and their
//! standardised copies; the design matrix of logistic regression (rows ×
//! (features + 1)) and its score, probability and residual matrices
//! (rows × at most [`MAX_CLASSES`]); KNN-Shapley's buffers, per thread at
//! work 32 distances, two sort keys and one value per training row; the samplers' batches of 32 samples of one number
//! (or flag) per player, and one running mean per player — nothing is
//! sized by the number of samples; the players (at most one per row) and
//! the providers of a synthetic split (at most one per row).

/// Most coefficients of a logistic regression: (features + 1) × vectors,
/// with one vector for two classes and one per class for three or more.
///
/// Newton's method builds the dense Hessian, coefficients² doubles, and
/// holds at most three such matrices at once (the Hessian with its
/// intercept ridge, a damped copy and the Cholesky factor): at the limit
/// 128 MiB each, 384 MiB in all, and a Cholesky factorisation of about
/// 2·10¹⁰ flops per Newton step, seconds, for every model a valuation
/// trains. The limit admits binary logistic regression on up to 4,095
/// features, three classes on up to 1,364 and the wine demo's 11 features
/// and 6 classes 60 times over; beyond it, use KNN.
pub const MAX_LOGISTIC_PARAMETERS: usize = 4096;

/// Most classes of a dataset. A label column with more distinct values is
/// most likely a continuous target, not a classification label; the limit
/// also bounds the per-class counts of every KNN vote and the rows ×
/// classes matrices of logistic regression.
pub const MAX_CLASSES: usize = 64;

/// Largest `test rows × training rows` for which the KNN game keeps every
/// test point's neighbour order in memory (4 bytes per entry: 64 MiB).
/// Larger games find the neighbours of each coalition from the distances.
pub const NEIGHBOUR_TABLE_MAX: usize = 1 << 24;

/// Largest `test rows × Σ_i min(k, rows of provider i)` for which the
/// provider KNN game ([`KnnGroupGame`](crate::KnnGroupGame)) keeps every
/// test point's sequence of its providers' k nearest rows (4 bytes per
/// entry: 64 MiB). Larger games sort the coalition's rows by distance for
/// every utility instead.
pub const KNN_GROUP_TABLE_MAX: usize = 1 << 24;

/// The coefficients of a logistic regression on `n_features` features and
/// `n_classes` classes, (features + 1) × (1 if classes ≤ 2, else
/// classes): what [`MAX_LOGISTIC_PARAMETERS`] bounds. `None` if the count
/// overflows.
///
/// ```
/// use procura_valuation::limits::logistic_parameters;
/// assert_eq!(logistic_parameters(13, 2), Some(14));
/// assert_eq!(logistic_parameters(13, 3), Some(42));
/// ```
#[must_use]
pub fn logistic_parameters(n_features: usize, n_classes: usize) -> Option<usize> {
    let vectors = if n_classes <= 2 { 1 } else { n_classes };
    n_features.checked_add(1)?.checked_mul(vectors)
}
