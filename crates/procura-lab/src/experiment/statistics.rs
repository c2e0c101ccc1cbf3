//! The statistics of experiments and of the claim judges: summaries of a
//! sample (mean, sd, Student-t 95% interval of the mean), paired and Welch
//! differences of means, the largest value, and the t quantile they share.
//!
//! A sample is a slice of `Option<f64>`: `None` is a replicate where the
//! quantity does not apply (a record field that is `None`, such as the
//! audit gain of a cell that does not audit), and every function skips
//! it. A value that is present is used as it is, **NaN included**: a NaN
//! is never taken for "does not apply", so one produced by a bug makes the
//! mean, the interval and the largest value NaN, where it shows, instead
//! of being dropped. Sums are left folds in the order given, so the same
//! values in the same order give the same bits.

use procura_mechanisms::Mechanism;
use statrs::distribution::{ContinuousCDF, StudentsT};

use super::{CellResult, Column};

/// The summary of a sample: its size, mean, standard deviation and the
/// Student-t 95% confidence interval of its mean.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Number of values that apply (`None`s are skipped; a NaN counts).
    pub n: usize,
    /// Sample mean; NaN when n = 0 or a value is NaN.
    pub mean: f64,
    /// Sample standard deviation (divisor n − 1); NaN when n < 2 or a
    /// value is NaN.
    pub sd: f64,
    /// Lower end of the 95% confidence interval of the mean; NaN when
    /// n < 2 or a value is NaN.
    pub ci_low: f64,
    /// Upper end of the 95% confidence interval of the mean.
    pub ci_high: f64,
}

/// The values that apply: every `Some`, in order.
fn present(values: &[Option<f64>]) -> impl Iterator<Item = f64> + '_ {
    values.iter().flatten().copied()
}

/// Summarises the values that apply (`None`s are skipped; a NaN that is
/// present makes every number of the summary but `n` NaN).
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
/// let s = summarize(&[Some(1.0), Some(2.0), Some(3.0), None]);
/// assert_eq!((s.n, s.mean, s.sd), (3, 2.0, 1.0));
/// // t_{0.975, 2} = 4.3027…
/// assert!((s.ci_high - (2.0 + 4.302652729911275 / 3f64.sqrt())).abs() < 1e-9);
/// // A NaN is a value, not a missing one: it shows.
/// let s = summarize(&[Some(1.0), Some(f64::NAN)]);
/// assert_eq!(s.n, 2);
/// assert!(s.mean.is_nan() && s.ci_low.is_nan());
/// ```
#[must_use]
pub fn summarize(values: &[Option<f64>]) -> Summary {
    let (n, sum) = present(values).fold((0usize, 0.0), |(n, sum), x| (n + 1, sum + x));
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
    let squares = present(values).fold(0.0, |sum, x| sum + (x - mean) * (x - mean));
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

/// The mean difference a − b over the replicates where both apply (pairs
/// with a `None` on either side are skipped), with its paired 95%
/// confidence interval: [`summarize`] of the differences a_i − b_i.
#[must_use]
pub fn paired_difference(a: &[Option<f64>], b: &[Option<f64>]) -> Summary {
    let differences: Vec<Option<f64>> = a.iter().zip(b).map(|(x, y)| Some((*x)? - (*y)?)).collect();
    summarize(&differences)
}

/// The difference of the means of two independent samples, mean(a) −
/// mean(b), with Welch's 95% confidence interval (`None`s skipped):
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
pub fn welch_difference(a: &[Option<f64>], b: &[Option<f64>]) -> Summary {
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

/// The largest of the values that apply (`None`s skipped): `None` when
/// none does, NaN when one of them is NaN.
///
/// ```
/// use procura_lab::experiment::statistics::max;
/// assert_eq!(max([Some(1.0), None, Some(3.0)]), Some(3.0));
/// assert_eq!(max([None]), None);
/// assert!(max([Some(1.0), Some(f64::NAN)]).is_some_and(f64::is_nan));
/// ```
pub fn max(values: impl IntoIterator<Item = Option<f64>>) -> Option<f64> {
    values.into_iter().flatten().reduce(|largest, x| {
        if largest.is_nan() || x.is_nan() {
            f64::NAN
        } else {
            largest.max(x)
        }
    })
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

/// The columns of an experiment's summary table after `cell` and the
/// swept keys (`summary.csv`, and the Python package's `summary`).
pub const SUMMARY_COLUMNS: [&str; 7] = [
    "mechanism",
    "metric",
    "n",
    "mean",
    "sd",
    "ci_low",
    "ci_high",
];

/// One row of an experiment's summary table: a cell, a mechanism, a metric
/// and the [`Summary`] of its replicates.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryRow {
    /// The cell's number.
    pub cell: u64,
    /// The mechanism.
    pub mechanism: Mechanism,
    /// The metric (a column of the cell's records).
    pub metric: Column,
    /// Its replicates' statistics.
    pub summary: Summary,
}

/// The summary table of `results`: for each result in the given order,
/// each of its mechanisms in record order and each column of its market
/// in column order, the [`Summary`] of the replicates' values, leaving out
/// a metric with no value that applies (n = 0).
#[must_use]
pub fn summary_rows(results: &[CellResult]) -> Vec<SummaryRow> {
    let mut rows = Vec::new();
    for result in results {
        for (index, mechanism) in result.mechanisms().into_iter().enumerate() {
            for metric in Column::all(result.market()) {
                let summary = summarize(&result.column(index, metric).unwrap_or_default());
                if summary.n > 0 {
                    rows.push(SummaryRow {
                        cell: result.cell(),
                        mechanism,
                        metric,
                        summary,
                    });
                }
            }
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_rows_follow_cells_mechanisms_and_columns_and_skip_empty_metrics() {
        use super::super::{Record, ThresholdRecord};
        use procura_mechanisms::Market;
        let record = |collected: f64| {
            Record::Threshold(ThresholdRecord {
                feasible: None,
                null: None,
                collected,
                success: 1.0,
                expected_data: 2.0,
                participants: 2.0,
                spend: 1.0,
                leakage: 0.0,
            })
        };
        let subsidy = vec![Mechanism::Subsidy];
        let results = [
            CellResult::new(
                4,
                Market::Threshold,
                subsidy.clone(),
                vec![vec![record(1.0)], vec![record(3.0)]],
            )
            .expect("a result"),
            CellResult::new(2, Market::Threshold, subsidy, vec![vec![record(5.0)]])
                .expect("a result"),
        ];
        let rows = summary_rows(&results);
        // `feasible` and `null` never apply: 6 of the 8 columns per cell.
        let names: Vec<(u64, &str)> = rows
            .iter()
            .map(|row| (row.cell, row.metric.name()))
            .collect();
        let columns = [
            "collected",
            "success",
            "expected_data",
            "participants",
            "spend",
            "leakage",
        ];
        let expected: Vec<(u64, &str)> = [4, 2]
            .into_iter()
            .flat_map(|cell| columns.map(|name| (cell, name)))
            .collect();
        assert_eq!(names, expected);
        assert_eq!(rows[0].summary, summarize(&[Some(1.0), Some(3.0)]));
        assert_eq!((rows[0].summary.n, rows[0].summary.mean), (2, 2.0));
        assert_eq!((rows[6].summary.n, rows[6].summary.mean), (1, 5.0));
        assert!(rows.iter().all(|row| row.mechanism == Mechanism::Subsidy));
    }

    fn some(values: &[f64]) -> Vec<Option<f64>> {
        values.iter().copied().map(Some).collect()
    }

    #[test]
    fn large_samples_approach_the_normal_interval() {
        let values: Vec<Option<f64>> = (0..10_000).map(|i| Some(f64::from(i % 2))).collect();
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
        let s = summarize(&[Some(2.5); 5]);
        assert_eq!((s.mean, s.sd, s.ci_low, s.ci_high), (2.5, 0.0, 2.5, 2.5));
    }

    #[test]
    fn too_few_values_leave_the_interval_undefined() {
        assert!(summarize(&[]).mean.is_nan());
        let one = summarize(&[None, Some(4.0)]);
        assert_eq!((one.n, one.mean), (1, 4.0));
        assert!(one.ci_low.is_nan() && one.sd.is_nan());
    }

    #[test]
    fn welch_answers_when_the_variances_underflow() {
        // ν = (v_a + v_b)² / (v_a²/3 + v_b²/3) is ∞ in floating point.
        let tiny = [Some(0.0), Some(5e-81), Some(0.0), Some(5e-81)];
        let d = welch_difference(&tiny, &tiny);
        assert_eq!(d.mean, 0.0);
        assert!(d.ci_low < 0.0 && d.ci_high > 0.0, "{d:?}");
    }

    #[test]
    fn welch_matches_a_hand_computation() {
        // a = {1, 2, 3}: mean 2, s² = 1; b = {0, 0, 0, 4}: mean 1, s² = 4.
        let d = welch_difference(&some(&[1.0, 2.0, 3.0]), &some(&[0.0, 0.0, 0.0, 4.0]));
        let (va, vb) = (1.0 / 3.0, 4.0 / 4.0);
        let se: f64 = f64::sqrt(va + vb);
        let df = (va + vb) * (va + vb) / (va * va / 2.0 + vb * vb / 3.0);
        let t = StudentsT::new(0.0, 1.0, df)
            .expect("df > 0")
            .inverse_cdf(0.975);
        assert_eq!(d.mean, 1.0);
        assert!((d.ci_high - (1.0 + t * se)).abs() < 1e-12);
        let constant = welch_difference(&[Some(2.0); 3], &[Some(1.0); 4]);
        assert_eq!((constant.ci_low, constant.ci_high), (1.0, 1.0));
        assert!(welch_difference(&[Some(1.0)], &some(&[1.0, 2.0]))
            .ci_low
            .is_nan());
    }

    #[test]
    fn paired_differences_skip_replicates_where_either_side_is_missing() {
        let d = paired_difference(&[Some(3.0), None, Some(5.0)], &some(&[1.0, 1.0, 2.0]));
        assert_eq!((d.n, d.mean), (2, 2.5));
    }

    #[test]
    fn a_nan_that_is_present_shows_instead_of_being_skipped() {
        for values in [
            vec![Some(1.0), Some(f64::NAN), Some(3.0)],
            vec![Some(f64::NAN), None],
        ] {
            let s = summarize(&values);
            assert_eq!(s.n, values.iter().flatten().count());
            assert!(s.mean.is_nan(), "{values:?}");
        }
        let s = summarize(&[Some(1.0), Some(f64::NAN), Some(3.0)]);
        assert!(s.sd.is_nan() && s.ci_low.is_nan() && s.ci_high.is_nan());
        let d = paired_difference(&[Some(f64::NAN), Some(2.0)], &[Some(1.0), Some(1.0)]);
        assert_eq!(d.n, 2);
        assert!(d.mean.is_nan());
        assert!(
            welch_difference(&[Some(f64::NAN), Some(1.0)], &[Some(1.0); 3])
                .mean
                .is_nan()
        );
        assert!(max([Some(f64::NAN), Some(1.0)]).is_some_and(f64::is_nan));
    }

    #[test]
    fn max_skips_missing_values() {
        assert_eq!(max([Some(1.0), None, Some(3.0), Some(2.0)]), Some(3.0));
        assert_eq!(max([None]), None);
        assert_eq!(max([]), None);
    }
}
