//! L2-regularised logistic regression, binary and multinomial, solved by
//! Newton's method with a backtracking line search.
//!
//! The loss is scikit-learn's `LogisticRegression(C = 1/λ)` with an
//! unpenalised intercept: the sum (not the mean) of the log-losses plus a
//! ridge penalty on the weights. With two classes there is one weight
//! vector and the sigmoid link; with K ≥ 3 classes there are K weight
//! vectors and the softmax link (the symmetric multinomial model):
//!
//! ```text
//! binary:       f(w, b) = Σ_i [ log(1 + e^{z_i}) − y_i z_i ] + (λ/2) ‖w‖²,
//!               z_i = w·x_i + b
//! multinomial:  f(W, b) = Σ_i [ log Σ_k e^{z_ik} − z_{i,y_i} ] + (λ/2) Σ_k ‖w_k‖²,
//!               z_ik = w_k·x_i + b_k
//! ```
//!
//! Each Newton step solves `H Δ = −g` by a Cholesky factorisation
//! (`faer`), where H, the Hessian of f, is
//!
//! ```text
//! H_kl = Σ_i p_ik (δ_kl − p_il) x̃_i x̃_iᵀ + δ_kl λ diag(1, …, 1, 0),   x̃_i = (x_i, 1)
//! ```
//!
//! (for the binary model, the single block `Σ_i p_i (1 − p_i) x̃_i x̃_iᵀ + λ diag(1, …, 1, 0)`).
//! The multinomial Hessian is singular along "add a constant to every
//! intercept", a direction the gradient never has a component in; a tiny
//! ridge on the intercepts makes the factorisation succeed without changing
//! the step. Once half the squared Newton decrement is below
//! [`crate::tolerance::NEWTON_DECREMENT_RELATIVE`] of the loss, the solver
//! takes one last full step and stops. The loss
//! is strictly convex in the weights, so the minimiser is unique and the
//! result is a deterministic function of the training rows and their order.
//!
//! Only the classes present in the training rows are modelled, as
//! scikit-learn does: two present classes give the binary model, more give
//! the multinomial one.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, Par, Side};

use super::dataset::{class_counts, Dataset};
use super::model::{check_rows, Logistic, Model, ModelError};
use crate::tolerance::NEWTON_DECREMENT_RELATIVE;

/// Most Newton iterations before the solver gives up and keeps its iterate.
const MAX_ITERATIONS: usize = 100;
/// Most halvings of a step in the line search.
const MAX_HALVINGS: usize = 60;
/// Armijo constant of the line search: accept a step that achieves this
/// share of the decrease its slope predicts.
const ARMIJO: f64 = 1e-4;

/// A fitted logistic-regression classifier.
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticModel {
    /// The classes modelled (present in the training rows), increasing.
    classes: Vec<usize>,
    n_features: usize,
    /// `n_vectors × (n_features + 1)`: each vector's weights, then its
    /// intercept. One vector for two classes, one per class otherwise.
    coefficients: Vec<f64>,
    iterations: usize,
    converged: bool,
}

impl LogisticModel {
    /// The classes the model chooses between, in increasing order.
    #[must_use]
    pub fn classes(&self) -> &[usize] {
        &self.classes
    }
    /// Coefficient vectors, each `n_features` weights followed by the
    /// intercept: one vector (for `classes()[1]` against `classes()[0]`)
    /// in the binary model, one per class in the multinomial one.
    #[must_use]
    pub fn coefficients(&self) -> &[f64] {
        &self.coefficients
    }
    /// Newton iterations taken.
    #[must_use]
    pub fn iterations(&self) -> usize {
        self.iterations
    }
    /// Whether the stopping rule (a small Newton decrement) was met within
    /// the iteration limit. False when the iteration limit ran out, when no
    /// Newton step could be computed, or when the line search found no step
    /// that decreases the loss; the model then keeps its last iterate.
    #[must_use]
    pub fn converged(&self) -> bool {
        self.converged
    }

    /// The predicted class of a feature vector: the class of largest score,
    /// the smaller class on a tie (`classes()[0]` when the binary score is 0).
    #[must_use]
    pub fn predict(&self, x: &[f64]) -> usize {
        let width = self.n_features + 1;
        let score = |vector: &[f64]| -> f64 {
            let weights = &vector[..self.n_features];
            dot(weights, x) + vector[self.n_features]
        };
        if self.classes.len() == 2 {
            let z = score(&self.coefficients);
            return if z > 0.0 {
                self.classes[1]
            } else {
                self.classes[0]
            };
        }
        let mut best = 0;
        let mut best_score = f64::NEG_INFINITY;
        for (k, vector) in self.coefficients.chunks_exact(width).enumerate() {
            let z = score(vector);
            if z > best_score {
                best = k;
                best_score = z;
            }
        }
        self.classes[best]
    }
}

pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

/// Fits the model on rows `rows` of `data` (in that order). `None` when the
/// rows hold fewer than two classes: there is nothing to learn. Before
/// anything is allocated, [`ModelError::TooManyParameters`] when `data`'s
/// features and classes make more coefficients than
/// [`MAX_LOGISTIC_PARAMETERS`](crate::limits::MAX_LOGISTIC_PARAMETERS),
/// and [`ModelError::NoSuchRow`] for the first of `rows` that is not a row
/// of `data`.
///
/// ```
/// use procura_valuation::{fit_logistic, Dataset, Logistic, ModelError};
/// let data = Dataset::new(vec![-2.0, -1.0, 1.0, 2.0], 1, vec![0, 0, 1, 1], 2)?;
/// let model = fit_logistic(&data, &[0, 1, 2, 3], &Logistic::new(1.0)?)?.expect("two classes");
/// assert!(model.converged());
/// assert_eq!(model.predict(&[1.5]), 1);
/// assert_eq!(
///     fit_logistic(&data, &[0, 9], &Logistic::new(1.0)?),
///     Err(ModelError::NoSuchRow { row: 9, n_rows: 4 })
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn fit_logistic(
    data: &Dataset,
    rows: &[usize],
    penalty: &Logistic,
) -> Result<Option<LogisticModel>, ModelError> {
    Model::Logistic(*penalty).check(data)?;
    check_rows(data, rows)?;
    Ok(fit_checked(data, rows, penalty))
}

/// [`fit_logistic`], for a model checked against `data` and rows of `data`.
pub(crate) fn fit_checked(
    data: &Dataset,
    rows: &[usize],
    penalty: &Logistic,
) -> Option<LogisticModel> {
    let counts = class_counts(
        &rows
            .iter()
            .map(|&row| data.label_at(row))
            .collect::<Vec<_>>(),
        data.n_classes(),
    );
    let classes: Vec<usize> = (0..data.n_classes()).filter(|&c| counts[c] > 0).collect();
    if classes.len() < 2 {
        return None;
    }
    let mut local = vec![usize::MAX; data.n_classes()];
    for (index, &class) in classes.iter().enumerate() {
        local[class] = index;
    }
    let problem = Problem {
        x: design(data, rows),
        y: rows.iter().map(|&row| local[data.label_at(row)]).collect(),
        n_vectors: if classes.len() == 2 { 1 } else { classes.len() },
        l2: penalty.l2(),
    };
    let (coefficients, iterations, converged) = problem.solve();
    Some(LogisticModel {
        classes,
        n_features: data.n_features(),
        coefficients,
        iterations,
        converged,
    })
}

/// The design matrix `x̃`: the rows' features (rows of `data`) and a final
/// column of ones.
fn design(data: &Dataset, rows: &[usize]) -> Mat<f64> {
    let d = data.n_features();
    Mat::from_fn(rows.len(), d + 1, |i, j| {
        if j < d {
            data.row_at(rows[i])[j]
        } else {
            1.0
        }
    })
}

struct Problem {
    x: Mat<f64>,
    /// Local class index of each row.
    y: Vec<usize>,
    n_vectors: usize,
    l2: f64,
}

impl Problem {
    fn width(&self) -> usize {
        self.x.ncols()
    }
    fn n_rows(&self) -> usize {
        self.x.nrows()
    }

    /// The scores `z = x̃ Θ`, `n_rows × n_vectors`.
    fn scores(&self, theta: &[f64]) -> Mat<f64> {
        let width = self.width();
        let theta = Mat::from_fn(width, self.n_vectors, |j, k| theta[k * width + j]);
        let mut z = Mat::zeros(self.n_rows(), self.n_vectors);
        matmul(z.as_mut(), Accum::Replace, &self.x, &theta, 1.0, Par::Seq);
        z
    }

    fn penalty(&self, theta: &[f64]) -> f64 {
        let width = self.width();
        let sum: f64 = theta
            .chunks_exact(width)
            .map(|vector| {
                let weights = &vector[..width - 1];
                dot(weights, weights)
            })
            .sum();
        0.5 * self.l2 * sum
    }

    /// The penalised loss f(θ).
    fn loss(&self, theta: &[f64]) -> f64 {
        let z = self.scores(theta);
        let mut total = 0.0;
        for i in 0..self.n_rows() {
            if self.n_vectors == 1 {
                let zi = z[(i, 0)];
                let target = if self.y[i] == 1 { zi } else { 0.0 };
                total += softplus(zi) - target;
            } else {
                let row: Vec<f64> = (0..self.n_vectors).map(|k| z[(i, k)]).collect();
                total += log_sum_exp(&row) - row[self.y[i]];
            }
        }
        total + self.penalty(theta)
    }

    /// Class probabilities of each row: `n_rows × n_vectors` (for the binary
    /// model, the probability of local class 1).
    fn probabilities(&self, theta: &[f64]) -> Mat<f64> {
        let mut p = self.scores(theta);
        for i in 0..self.n_rows() {
            if self.n_vectors == 1 {
                p[(i, 0)] = sigmoid(p[(i, 0)]);
            } else {
                let row: Vec<f64> = (0..self.n_vectors).map(|k| p[(i, k)]).collect();
                let lse = log_sum_exp(&row);
                for (k, zk) in row.iter().enumerate() {
                    p[(i, k)] = (zk - lse).exp();
                }
            }
        }
        p
    }

    /// The gradient and Hessian of f at θ.
    fn derivatives(&self, theta: &[f64]) -> (Vec<f64>, Mat<f64>) {
        let width = self.width();
        let n = self.n_rows();
        let dim = width * self.n_vectors;
        let p = self.probabilities(theta);
        // Residuals r_ik = p_ik − 1[y_i = k] (binary: p_i − y_i).
        let residual = Mat::from_fn(n, self.n_vectors, |i, k| {
            let target = if self.n_vectors == 1 {
                self.y[i] == 1
            } else {
                self.y[i] == k
            };
            p[(i, k)] - if target { 1.0 } else { 0.0 }
        });
        let mut gradient_matrix = Mat::<f64>::zeros(width, self.n_vectors);
        matmul(
            gradient_matrix.as_mut(),
            Accum::Replace,
            self.x.transpose(),
            &residual,
            1.0,
            Par::Seq,
        );
        let mut gradient = vec![0.0; dim];
        for k in 0..self.n_vectors {
            for j in 0..width {
                let ridge = if j + 1 < width {
                    self.l2 * theta[k * width + j]
                } else {
                    0.0
                };
                gradient[k * width + j] = gradient_matrix[(j, k)] + ridge;
            }
        }

        let mut hessian = Mat::<f64>::zeros(dim, dim);
        let mut scaled = Mat::<f64>::zeros(n, width);
        for k in 0..self.n_vectors {
            for l in k..self.n_vectors {
                // c_i = p_ik (δ_kl − p_il); binary: p_i (1 − p_i).
                let weight = |i: usize| -> f64 {
                    if self.n_vectors == 1 {
                        p[(i, 0)] * (1.0 - p[(i, 0)])
                    } else {
                        let delta = if k == l { 1.0 } else { 0.0 };
                        p[(i, k)] * (delta - p[(i, l)])
                    }
                };
                for j in 0..width {
                    for i in 0..n {
                        scaled[(i, j)] = self.x[(i, j)] * weight(i);
                    }
                }
                let block = hessian
                    .as_mut()
                    .submatrix_mut(k * width, l * width, width, width);
                matmul(
                    block,
                    Accum::Replace,
                    self.x.transpose(),
                    &scaled,
                    1.0,
                    Par::Seq,
                );
                if k != l {
                    for a in 0..width {
                        for b in 0..width {
                            hessian[(l * width + b, k * width + a)] =
                                hessian[(k * width + a, l * width + b)];
                        }
                    }
                }
            }
        }
        for k in 0..self.n_vectors {
            for j in 0..width - 1 {
                hessian[(k * width + j, k * width + j)] += self.l2;
            }
        }
        (gradient, hessian)
    }

    /// Runs Newton's method from θ = 0: the coefficients, the iterations
    /// taken and whether the stopping rule was met.
    fn solve(&self) -> (Vec<f64>, usize, bool) {
        let width = self.width();
        let dim = width * self.n_vectors;
        let mut theta = vec![0.0; dim];
        let mut loss = self.loss(&theta);
        for iteration in 0..MAX_ITERATIONS {
            let (gradient, hessian) = self.derivatives(&theta);
            let Some(step) = newton_step(hessian, &gradient, width, self.n_vectors) else {
                return (theta, iteration, false);
            };
            // The Newton decrement: slope = gᵀΔ = −gᵀH⁻¹g.
            let slope = dot(&gradient, &step);
            if -0.5 * slope <= NEWTON_DECREMENT_RELATIVE * loss.abs().max(1.0) {
                // In the quadratic region: one last full step takes the
                // gradient from about √tolerance to rounding level.
                for (a, s) in theta.iter_mut().zip(&step) {
                    *a += s;
                }
                return (theta, iteration + 1, true);
            }
            let mut t = 1.0;
            let mut accepted = false;
            for _ in 0..MAX_HALVINGS {
                let trial: Vec<f64> = theta.iter().zip(&step).map(|(a, s)| a + t * s).collect();
                let trial_loss = self.loss(&trial);
                if trial_loss <= loss + ARMIJO * t * slope {
                    theta = trial;
                    loss = trial_loss;
                    accepted = true;
                    break;
                }
                t *= 0.5;
            }
            if !accepted {
                // No step along Δ decreases the loss enough, yet the Newton
                // decrement says θ is not optimal: the iterate is kept but
                // not claimed to be converged.
                return (theta, iteration + 1, false);
            }
        }
        (theta, MAX_ITERATIONS, false)
    }
}

/// Solves `H Δ = −g` by Cholesky. A tiny ridge on the intercepts removes the
/// multinomial model's flat direction; if the factorisation still fails
/// (a Hessian singular to rounding), a growing ridge on every coordinate is
/// tried, which gives a damped Newton step. Takes the Hessian, so that at
/// most three dim × dim matrices are alive at once: it (with the
/// intercept ridge), a damped copy and the factor.
fn newton_step(
    hessian: Mat<f64>,
    gradient: &[f64],
    width: usize,
    n_vectors: usize,
) -> Option<Vec<f64>> {
    let dim = gradient.len();
    let scale = (0..dim)
        .map(|j| hessian[(j, j)].abs())
        .fold(0.0_f64, f64::max)
        .max(1.0);
    let mut system = hessian;
    if n_vectors > 1 {
        for k in 0..n_vectors {
            let j = k * width + width - 1;
            system[(j, j)] += 1e-12 * scale;
        }
    }
    let mut ridge = 0.0;
    for _ in 0..8 {
        let mut damped = system.clone();
        for j in 0..dim {
            damped[(j, j)] += ridge;
        }
        if let Ok(factor) = damped.llt(Side::Lower) {
            let mut rhs = Mat::from_fn(dim, 1, |j, _| -gradient[j]);
            faer::linalg::solvers::Solve::solve_in_place(&factor, rhs.as_mut());
            let step: Vec<f64> = (0..dim).map(|j| rhs[(j, 0)]).collect();
            if step.iter().all(|s| s.is_finite()) {
                return Some(step);
            }
        }
        ridge = if ridge == 0.0 {
            1e-10 * scale
        } else {
            ridge * 100.0
        };
    }
    None
}

/// `log(1 + e^z)` without overflow.
fn softplus(z: f64) -> f64 {
    z.max(0.0) + (-z.abs()).exp().ln_1p()
}

/// `1 / (1 + e^{−z})` without overflow.
fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// `log Σ_k e^{z_k}` without overflow.
fn log_sum_exp(z: &[f64]) -> f64 {
    let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    max + z.iter().map(|zk| (zk - max).exp()).sum::<f64>().ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_link_functions() {
        assert_eq!(softplus(1000.0), 1000.0);
        assert_eq!(softplus(-1000.0), 0.0);
        assert_eq!(sigmoid(-1000.0), 0.0);
        assert_eq!(sigmoid(1000.0), 1.0);
        assert!((log_sum_exp(&[1000.0, 1000.0]) - (1000.0 + 2f64.ln())).abs() < 1e-12);
    }
}
