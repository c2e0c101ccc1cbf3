//! The statistics of experiments and of the claim judges: summaries of a
//! sample (mean, sd, Student-t 95% interval of the mean), paired and Welch
//! differences of means, and the t quantile they share.
//!
//! A sample is a slice of `f64` in which NaN marks a missing value: a
//! replicate where the quantity does not apply (a record field that is
//! `None`, see [`missing_as_nan`]) or a ratio with nothing to divide.
//! Every function skips NaNs. Sums are left folds in the order given, so
//! the same values in the same order give the same bits.

use statrs::distribution::{ContinuousCDF, StudentsT};

/// The summary of a sample: its size, mean, standard deviation and the
/// Student-t 95% confidence interval of its mean.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Number of values that apply (NaNs are skipped).
    pub n: usize,
    /// Sample mean; NaN when n = 0.
    pub mean: f64,
    /// Sample standard deviation (divisor n − 1); NaN when n < 2.
    pub sd: f64,
    /// Lower end of the 95% confidence interval of the mean; NaN when
    /// n < 2.
    pub ci_low: f64,
    /// Upper end of the 95% confidence interval of the mean.
    pub ci_high: f64,
}

/// Summarises `values`, skipping NaNs (values that are missing).
///
/// ```text
/// mean = Σ x / n      sd = √(Σ (x − mean)² / (n − 1))
/// CI   = mean ± t_{0.975, n−1} · sd / √n          (Student t)
/// ```
///
/// Sums are left folds in the order given, so the summary of the same
/// values in the same order is the same to the last bit.
///
/// ```
/// use procura_lab::experiment::statistics::summarize;
/// let s = summarize(&[1.0, 2.0, 3.0, f64::NAN]);
/// assert_eq!((s.n, s.mean, s.sd), (3, 2.0, 1.0));
/// // t_{0.975, 2} = 4.3027…
/// assert!((s.ci_high - (2.0 + 4.302652729911275 / 3f64.sqrt())).abs() < 1e-9);
/// ```
#[must_use]
pub fn summarize(values: &[f64]) -> Summary {
    let (n, sum) = values
        .iter()
        .filter(|x| !x.is_nan())
        .fold((0usize, 0.0), |(n, sum), x| (n + 1, sum + x));
    let mean = if n == 0 { f64::NAN } else { sum / n as f64 };
    if n < 2 {
        return Summary {
            n,
            mean,
            sd: f64::NAN,
            ci_low: f64::NAN,
            ci_high: f64::NAN,
        };
    }
    let squares = values
        .iter()
        .filter(|x| !x.is_nan())
        .fold(0.0, |sum, x| sum + (x - mean) * (x - mean));
    let sd = (squares / (n - 1) as f64).sqrt();
    let t = t_975((n - 1) as f64);
    let half = t * sd / (n as f64).sqrt();
    Summary {
        n,
        mean,
        sd,
        ci_low: mean - half,
        ci_high: mean + half,
    }
}

/// A value that may be missing, as a sample value: NaN for `None`.
#[must_use]
pub fn missing_as_nan(value: Option<f64>) -> f64 {
    value.unwrap_or(f64::NAN)
}

/// The mean difference a − b over the replicates where both apply (pairs
/// with a NaN on either side are skipped), with its paired 95% confidence
/// interval: [`summarize`] of the differences a_i − b_i.
#[must_use]
pub fn paired_difference(a: &[f64], b: &[f64]) -> Summary {
    let differences: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    summarize(&differences)
}

/// The difference of the means of two independent samples, mean(a) −
/// mean(b), with Welch's 95% confidence interval (NaNs skipped):
///
/// ```text
/// se² = s_a²/n_a + s_b²/n_b
/// ν   = se⁴ / ( (s_a²/n_a)²/(n_a − 1) + (s_b²/n_b)²/(n_b − 1) )
/// CI  = mean(a) − mean(b) ± t_{0.975, ν} · se
/// ```
///
/// Both samples constant gives a zero-width interval; fewer than 2 values
/// in either gives NaN ends. In the returned [`Summary`], `n` is n_a + n_b
/// and `sd` is the standard error se.
#[must_use]
pub fn welch_difference(a: &[f64], b: &[f64]) -> Summary {
    let (sa, sb) = (summarize(a), summarize(b));
    let mean = sa.mean - sb.mean;
    let n = sa.n + sb.n;
    if sa.n < 2 || sb.n < 2 {
        return Summary {
            n,
            mean,
            sd: f64::NAN,
            ci_low: f64::NAN,
            ci_high: f64::NAN,
        };
    }
    let va = sa.sd * sa.sd / sa.n as f64;
    let vb = sb.sd * sb.sd / sb.n as f64;
    let se = (va + vb).sqrt();
    if se == 0.0 {
        return Summary {
            n,
            mean,
            sd: 0.0,
            ci_low: mean,
            ci_high: mean,
        };
    }
    let df = (va + vb).powi(2) / (va * va / (sa.n - 1) as f64 + vb * vb / (sb.n - 1) as f64);
    // Rounding (variances near the underflow) can make ν huge or ∞:
    // `t_975` answers for any ν.
    let t = t_975(df);
    Summary {
        n,
        mean,
        sd: se,
        ci_low: mean - t * se,
        ci_high: mean + t * se,
    }
}

/// The largest of `values`, NaNs skipped; NaN when there is none.
pub fn max(values: impl IntoIterator<Item = f64>) -> f64 {
    values
        .into_iter()
        .filter(|x| !x.is_nan())
        .fold(f64::NAN, f64::max)
}

/// Degrees of freedom above which [`t_975`] does not ask statrs: its
/// inverse CDF drifts beyond about 10⁶ and does not return at all from
/// about 10⁸ (or ∞) on.
const LARGE_DF: f64 = 1e6;

/// The 0.975 quantile of Student's t with `df` degrees of freedom; NaN
/// when `df` is NaN or ≤ 0: statrs's inverse CDF up to 10⁶ degrees of
/// freedom, [`t_975_expansion`] above (∞ included).
fn t_975(df: f64) -> f64 {
    if df > LARGE_DF {
        return t_975_expansion(df);
    }
    StudentsT::new(0.0, 1.0, df).map_or(f64::NAN, |t| t.inverse_cdf(0.975))
}

/// The Cornish–Fisher expansion of t_{0.975, ν} around the normal
/// quantile z, exact to rounding for large ν:
///
/// ```text
/// t ≈ z + (z³ + z)/(4ν) + (5z⁵ + 16z³ + 3z)/(96ν²)
/// ```
fn t_975_expansion(df: f64) -> f64 {
    const Z: f64 = 1.959_963_984_540_054;
    let z3 = Z * Z * Z;
    let z5 = z3 * Z * Z;
    Z + (z3 + Z) / (4.0 * df) + (5.0 * z5 + 16.0 * z3 + 3.0 * Z) / (96.0 * df * df)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_samples_approach_the_normal_interval() {
        let values: Vec<f64> = (0..10_000).map(|i| f64::from(i % 2)).collect();
        let s = summarize(&values);
        assert_eq!(s.mean, 0.5);
        // t_{0.975, 9999} = 1.960201…, just above the normal 1.959964.
        let half = 1.960_201 * s.sd / 100.0;
        assert!((s.ci_high - s.mean - half).abs() < 1e-6 * half);
        assert!((s.mean - s.ci_low - half).abs() < 1e-6 * half);
    }

    #[test]
    fn t_quantiles_answer_for_any_degrees_of_freedom() {
        let statrs = |df: f64| {
            StudentsT::new(0.0, 1.0, df)
                .expect("df > 0")
                .inverse_cdf(0.975)
        };
        // statrs's inverse CDF does not return for these.
        for df in [1e8, 1e15, f64::MAX, f64::INFINITY] {
            let t = t_975(df);
            assert!((t - 1.959_963_984_540_054).abs() < 1e-7, "{df}: {t}");
        }
        // The expansion agrees with statrs where statrs is accurate.
        for df in [1e3, 1e4] {
            assert!((t_975_expansion(df) - statrs(df)).abs() < 1e-7, "{df}");
        }
        assert!(t_975(2e6) > 1.959_963_984_540_054 && t_975(2e6) < t_975(1.5e6));
        assert_eq!(t_975(2.0), statrs(2.0));
        assert!(t_975(f64::NAN).is_nan() && t_975(0.0).is_nan() && t_975(-1.0).is_nan());
    }

    #[test]
    fn constant_values_have_a_zero_width_interval() {
        let s = summarize(&[2.5; 5]);
        assert_eq!((s.mean, s.sd, s.ci_low, s.ci_high), (2.5, 0.0, 2.5, 2.5));
    }

    #[test]
    fn too_few_values_leave_the_interval_undefined() {
        assert!(summarize(&[]).mean.is_nan());
        let one = summarize(&[f64::NAN, 4.0]);
        assert_eq!((one.n, one.mean), (1, 4.0));
        assert!(one.ci_low.is_nan() && one.sd.is_nan());
    }

    #[test]
    fn welch_answers_when_the_variances_underflow() {
        // ν = (v_a + v_b)² / (v_a²/3 + v_b²/3) is ∞ in floating point.
        let tiny = [0.0, 5e-81, 0.0, 5e-81];
        let d = welch_difference(&tiny, &tiny);
        assert_eq!(d.mean, 0.0);
        assert!(d.ci_low < 0.0 && d.ci_high > 0.0, "{d:?}");
    }

    #[test]
    fn welch_matches_a_hand_computation() {
        // a = {1, 2, 3}: mean 2, s² = 1; b = {0, 0, 0, 4}: mean 1, s² = 4.
        let d = welch_difference(&[1.0, 2.0, 3.0], &[0.0, 0.0, 0.0, 4.0]);
        let (va, vb) = (1.0 / 3.0, 4.0 / 4.0);
        let se: f64 = f64::sqrt(va + vb);
        let df = (va + vb) * (va + vb) / (va * va / 2.0 + vb * vb / 3.0);
        let t = StudentsT::new(0.0, 1.0, df)
            .expect("df > 0")
            .inverse_cdf(0.975);
        assert_eq!(d.mean, 1.0);
        assert!((d.ci_high - (1.0 + t * se)).abs() < 1e-12);
        let constant = welch_difference(&[2.0; 3], &[1.0; 4]);
        assert_eq!((constant.ci_low, constant.ci_high), (1.0, 1.0));
        assert!(welch_difference(&[1.0], &[1.0, 2.0]).ci_low.is_nan());
    }

    #[test]
    fn paired_differences_skip_replicates_where_either_side_is_missing() {
        let d = paired_difference(&[3.0, f64::NAN, 5.0], &[1.0, 1.0, 2.0]);
        assert_eq!((d.n, d.mean), (2, 2.5));
    }

    #[test]
    fn max_skips_missing_values() {
        assert_eq!(max([1.0, f64::NAN, 3.0, 2.0]), 3.0);
        assert!(max([f64::NAN]).is_nan() && max([]).is_nan());
        assert!(missing_as_nan(None).is_nan());
        assert_eq!(missing_as_nan(Some(2.0)), 2.0);
    }
}
