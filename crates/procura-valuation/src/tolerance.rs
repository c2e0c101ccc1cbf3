//! Numerical tolerances of data valuation, in one place.
//!
//! The mechanisms' tolerances live in `procura_mechanisms::tolerance`;
//! these say when an iterative fit has converged and how closely an exact
//! method must match brute force.

/// Stopping rule of the Newton solver of logistic regression
/// ([`crate::logistic`]): stop when half the squared Newton decrement,
/// the predicted decrease of the penalised loss, is at most this times
/// `max(1, |loss|)`, after one last full step: Newton converges
/// quadratically, so that step lands at rounding level.
pub const NEWTON_DECREMENT_RELATIVE: f64 = 1e-12;

/// Agreement required between an exact Shapley computation and brute-force
/// enumeration of a tiny game: 1e-12 absolute.
pub const SHAPLEY_EXACT: f64 = 1e-12;
