//! Summary statistics of experiment metrics: mean, standard deviation and
//! a 95% confidence interval for the mean.

use statrs::distribution::{ContinuousCDF, StudentsT};

/// The summary of one metric over replicates.
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

/// Summarises `values`, skipping NaNs (metrics that do not apply).
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
/// use procura::experiment::summarize;
/// let s = summarize(&[1.0, 2.0, 3.0, f64::NAN]);
/// assert_eq!((s.n, s.mean, s.sd), (3, 2.0, 1.0));
/// // t_{0.975, 2} = 4.3027…
/// assert!((s.ci_high - (2.0 + 4.302652729911275 / 3f64.sqrt())).abs() < 1e-9);
/// ```
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
    let t = StudentsT::new(0.0, 1.0, (n - 1) as f64).map_or(f64::NAN, |t| t.inverse_cdf(0.975));
    let half = t * sd / (n as f64).sqrt();
    Summary {
        n,
        mean,
        sd,
        ci_low: mean - half,
        ci_high: mean + half,
    }
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
}
