//! # procura-valuation: what data is worth to a model
//!
//! Data valuation: how much each row, or each provider's rows, is worth to
//! a model trained on them. The crate knows nothing of mechanisms; its
//! values become the `quality` and `utility` that procurement auctions
//! price (`procura-mechanisms`, spec §A.1). It measures both from data, by
//! training real models:
//!
//! - the *utility* of a training set S is the test accuracy of the model
//!   trained on S ([`model`]: k-nearest neighbours or L2-regularised
//!   logistic regression solved by Newton's method);
//! - a player's *value* divides that utility among the players, by exact
//!   KNN-Shapley ([`knn_shapley()`]), leave-one-out ([`leave_one_out`]),
//!   truncated Monte-Carlo Shapley ([`tmc_shapley`]) or Data Banzhaf with
//!   maximum sample reuse ([`banzhaf_msr`]);
//! - a provider's *quality* is how often its labels agree with a reference
//!   model trained on a trusted set ([`quality_scores`]).
//!
//! Datasets are read from CSV text ([`table`]: columns by name, errors by
//! line and column, labels numbered as classes across files) and
//! standardised by [`Standardizer`], fitted on the rows a model may see.
//! Players are rows ([`Players::points`]) or providers ([`Players::groups`]).
//! What an input may ask of memory is bounded in [`limits`]: every
//! allocation sized from the input is linear in it or checked against a
//! limit there before it is made.
//! Everything is in memory and deterministic: sampling methods run in
//! parallel and give the same bits for a given seed on any number of
//! threads.
//!
//! ```
//! use procura_valuation::{
//!     banzhaf_msr, no_progress, Dataset, LearningGame, Logistic, Model, Players, SamplingConfig,
//! };
//!
//! // Two providers: one with clean labels, one with every label flipped.
//! let x = vec![-2.0, -1.0, 1.0, 2.0, -2.0, -1.0, 1.0, 2.0];
//! let train = Dataset::new(x, 1, vec![0, 0, 1, 1, 1, 1, 0, 0], 2)?;
//! let test = Dataset::new(vec![-1.5, 1.5], 1, vec![0, 1], 2)?;
//! let players = Players::groups(vec![0, 0, 0, 0, 1, 1, 1, 1])?;
//! let game = LearningGame::new(&train, &test, &players, Model::Logistic(Logistic::new(1.0)?))?;
//! let config = SamplingConfig::new(64, 7)?;
//! let estimate = banzhaf_msr(&game, &config, &no_progress)?;
//! assert!(estimate.values[0] > estimate.values[1]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

mod dataset;
mod embeddings;
mod game;
pub mod knn_group;
mod knn_shapley;
pub mod limits;
pub mod logistic;
pub mod model;
pub mod npz;
mod quality;
mod sampling;
mod synthetic;
pub mod table;
pub mod tolerance;

pub use dataset::{Dataset, DatasetError, Players, Standardizer};
pub use embeddings::{Embeddings, Features, LabelledRows, Precision};
pub use game::{CooperativeGame, LearningGame};
pub use knn_group::{knn_group_shapley, GroupMethod, KnnGroupGame};
pub use knn_shapley::{knn_shapley, knn_utility, KnnShapley, Metric};
pub use logistic::{fit_logistic, LogisticModel};
pub use model::{accuracy, fit, Classifier, Knn, KnnClassifier, Logistic, Model, ModelError};
pub use quality::quality_scores;
pub use sampling::{
    banzhaf_msr, leave_one_out, no_progress, tmc_shapley, Estimate, Progress, SamplingConfig, BATCH,
};
pub use synthetic::{split_among_providers, ProviderSplit, SplitConfig};
pub use table::{Table, TableError};

/// Why a valuation could not run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ValuationError {
    /// A dataset or the players are invalid.
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    /// A model configuration is invalid.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The test (or trusted) set has a different number of features.
    #[error("test set has {test} features but the training set has {train}")]
    Features {
        /// Features of the training set.
        train: usize,
        /// Features of the test set.
        test: usize,
    },
    /// The two datasets number their classes differently.
    #[error("test set has {test} classes but the training set has {train}")]
    Classes {
        /// Classes of the training set.
        train: usize,
        /// Classes of the test set.
        test: usize,
    },
    /// Sampling needs at least one sample.
    #[error("samples must be at least 1")]
    Samples,
    /// The target standard error is not finite and positive.
    #[error("target_se: {0} is not finite and > 0")]
    TargetSe(f64),
    /// The truncation tolerance is not finite and non-negative.
    #[error("truncation: {0} is not finite and ≥ 0")]
    Truncation(f64),
    /// Truncated KNN-Shapley needs K* ≥ K.
    #[error("neighbours: K* = {neighbours} is less than k = {k}")]
    Neighbours {
        /// K* asked for.
        neighbours: usize,
        /// K.
        k: usize,
    },
    /// The error bound ε of truncated KNN-Shapley is not in (0, 1].
    #[error("epsilon: {0} is not in (0, 1]")]
    Epsilon(f64),
    /// Cosine distance needs rows that are not all zeros.
    #[error("{set} set: row {row} is all zeros, which has no cosine distance")]
    ZeroNorm {
        /// "training" or "test".
        set: &'static str,
        /// 0-based row.
        row: usize,
    },
    /// Cannot split the rows among that many providers.
    #[error("n_providers: cannot split {n_rows} rows among {n_providers} providers")]
    Providers {
        /// Providers asked for.
        n_providers: usize,
        /// Rows available.
        n_rows: usize,
    },
    /// A rate is outside [0, 1].
    #[error("{field}: {value} is not in [0, 1]")]
    Rate {
        /// The configuration field.
        field: &'static str,
        /// The offending value.
        value: f64,
    },
}

/// Checks that `test` can score models trained on `train`, and that
/// `players` own the rows of `train`.
pub(crate) fn check_pair<R: LabelledRows + ?Sized>(
    train: &R,
    test: &R,
    players: &Players,
) -> Result<(), ValuationError> {
    model::check_test(train, test)?;
    players.check_rows(train)?;
    Ok(())
}
