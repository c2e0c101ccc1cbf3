//! The default view of `procura demo`: the round over many markets (seeds
//! 0 to n − 1), summarised per mechanism.
//!
//! For each mechanism (and the two references, every provider's rows and
//! none), the mean over the markets of the value bought, the spend, the
//! label noise and the test accuracy, each with its Student-t 95% interval
//! ([`summarize`]: mean ± t₀.₉₇₅,ₙ₋₁ · sd / √n over the markets); and,
//! paired by market, in how many markets each mechanism's test accuracy and
//! value are above, equal to or below Q-MIA's. Equal means equal up to
//! rounding ([`tolerance::ROUNDING_RELATIVE`], 1e-12 relative): two
//! mechanisms that buy the same providers train the same model (the same
//! accuracy, to the last bit) and buy the same value (summed in another
//! order, so off by a unit in the last place), and such ties are common.
//!
//! The markets run in parallel and are reduced in seed order, so every
//! number, and every byte written, is the same on any number of threads.

use std::fmt::Write as _;

use procura::experiment::results_csv::format_number;
use procura::experiment::statistics::{summarize, Summary};
use procura::procurement::Auction;
use procura::round::{Purchase, Reference, RoundConfig, RoundReport};
use procura::tolerance::{self, approx_eq};
use procura::valuation::Dataset;
use rayon::prelude::*;

use super::{
    market_round, references, seed_columns, seed_rows, wrap, Written, N_POOL, N_TEST, N_TRUSTED,
};
use crate::plot::{self, Estimate, EstimatePanel, Tally, TallyPanel};
use crate::progress;

/// A quantity summarised over the markets, in table and CSV order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Metric {
    /// Σ q_i·μ_i over the providers bought.
    Value,
    /// Cash plus cash-equivalent tokens paid (mechanisms only).
    Spend,
    /// Expected share of wrong labels among the rows bought.
    LabelNoise,
    /// Test accuracy of the model trained on the rows bought.
    TestAccuracy,
}

impl Metric {
    const ALL: [Metric; 4] = [
        Metric::Value,
        Metric::Spend,
        Metric::LabelNoise,
        Metric::TestAccuracy,
    ];
    /// The metrics paired with Q-MIA's: the two the buyer wants high.
    const PAIRED: [Metric; 2] = [Metric::TestAccuracy, Metric::Value];

    /// The name in `demo.csv` (the column name of `demo-seeds.csv`).
    fn name(self) -> &'static str {
        match self {
            Metric::Value => "value",
            Metric::Spend => "spend",
            Metric::LabelNoise => "label_noise",
            Metric::TestAccuracy => "test_accuracy",
        }
    }

    /// The name in the printed table and the chart.
    fn title(self) -> &'static str {
        match self {
            Metric::Value => "value",
            Metric::Spend => "spend",
            Metric::LabelNoise => "label noise",
            Metric::TestAccuracy => "test accuracy",
        }
    }
}

/// One market's numbers of one mechanism or reference.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Measures {
    value: f64,
    /// `None` for the references, which pay nothing.
    spend: Option<f64>,
    label_noise: f64,
    test_accuracy: f64,
}

impl Measures {
    fn of_purchase(purchase: &Purchase) -> Measures {
        Measures {
            value: purchase.value(),
            spend: Some(purchase.spend()),
            label_noise: purchase.label_noise,
            test_accuracy: purchase.accuracy,
        }
    }

    fn of_reference(reference: &Reference) -> Measures {
        Measures {
            value: reference.value,
            spend: None,
            label_noise: reference.label_noise,
            test_accuracy: reference.accuracy,
        }
    }

    /// `metric`'s number; `None` where it does not apply.
    fn get(&self, metric: Metric) -> Option<f64> {
        match metric {
            Metric::Value => Some(self.value),
            Metric::Spend => self.spend,
            Metric::LabelNoise => Some(self.label_noise),
            Metric::TestAccuracy => Some(self.test_accuracy),
        }
    }
}

/// What the summary keeps of one market: its numbers per row of the
/// table, in [`Auction::ALL`] order then the references, and its rows of
/// `demo-seeds.csv`. (A whole [`RoundReport`] holds the market's data; 50
/// of them are not kept.)
#[derive(Debug, Clone, PartialEq)]
struct Market {
    measures: Vec<Measures>,
    csv_rows: String,
}

/// The labels of the table's rows: the mechanisms, then the references.
fn row_labels() -> Vec<&'static str> {
    let mut labels: Vec<&'static str> = Auction::ALL.iter().map(|a| a.name()).collect();
    labels.extend(["all data", "no purchase"]);
    labels
}

impl Market {
    /// The numbers of `report`, whose purchases are in [`Auction::ALL`]
    /// order ([`RoundReport::purchases`]).
    fn of(report: &RoundReport) -> Market {
        let mut measures: Vec<Measures> =
            report.purchases.iter().map(Measures::of_purchase).collect();
        measures.extend(
            references(report)
                .into_iter()
                .map(|(_, reference)| Measures::of_reference(reference)),
        );
        Market {
            measures,
            csv_rows: seed_rows(report),
        }
    }
}

/// Markets in which a mechanism's number is above, equal to (up to
/// rounding) or below Q-MIA's in the same market.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Paired {
    above: usize,
    tied: usize,
    below: usize,
}

/// Counts, market by market, where `numbers` stand against `qmia`'s:
/// equal when within [`tolerance::ROUNDING_RELATIVE`] of each other
/// ([`approx_eq`]), else above or below. Markets where either number does
/// not apply are skipped; a pair that is neither equal, above nor below (a
/// NaN, which a round never produces) counts as equal.
fn pair(numbers: &[Option<f64>], qmia: &[Option<f64>]) -> Paired {
    numbers
        .iter()
        .zip(qmia)
        .filter_map(|(x, q)| Some(((*x)?, (*q)?)))
        .fold(Paired::default(), |mut paired, (x, q)| {
            if approx_eq(x, q, tolerance::ROUNDING_RELATIVE) {
                paired.tied += 1;
            } else if x > q {
                paired.above += 1;
            } else if x < q {
                paired.below += 1;
            } else {
                paired.tied += 1;
            }
            paired
        })
}

/// One row of the summary: a mechanism or a reference.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    label: &'static str,
    /// Per [`Metric::ALL`], the summary over the markets; `None` where the
    /// metric does not apply (a reference's spend).
    summaries: Vec<Option<Summary>>,
    /// Per [`Metric::PAIRED`], against Q-MIA; `None` for Q-MIA itself and
    /// the references.
    paired: Option<Vec<Paired>>,
}

/// The summary of the markets, in seed order.
#[derive(Debug, Clone, PartialEq)]
struct SeedSummary {
    markets: usize,
    rows: Vec<Row>,
}

/// Summarises `markets` (in seed order): the row of each mechanism and
/// reference.
fn summarize_markets(markets: &[Market]) -> SeedSummary {
    let labels = row_labels();
    let numbers = |row: usize, metric: Metric| -> Vec<Option<f64>> {
        markets
            .iter()
            .map(|market| market.measures.get(row).and_then(|m| m.get(metric)))
            .collect()
    };
    let qmia = Auction::ALL
        .iter()
        .position(|a| *a == Auction::Qmia)
        .unwrap_or(0);
    let rows = labels
        .iter()
        .enumerate()
        .map(|(row, &label)| {
            let summaries = Metric::ALL
                .iter()
                .map(|&metric| {
                    let values = numbers(row, metric);
                    values
                        .iter()
                        .any(Option::is_some)
                        .then(|| summarize(&values))
                })
                .collect();
            let paired = (row != qmia && row < Auction::ALL.len()).then(|| {
                Metric::PAIRED
                    .iter()
                    .map(|&metric| pair(&numbers(row, metric), &numbers(qmia, metric)))
                    .collect()
            });
            Row {
                label,
                summaries,
                paired,
            }
        })
        .collect();
    SeedSummary {
        markets: markets.len(),
        rows,
    }
}

/// Runs markets 0 to `seeds` − 1 of `wine` under `config` in parallel
/// (one progress step each), and returns the summary's files and text.
pub(super) fn run(wine: &Dataset, config: &RoundConfig, seeds: u64) -> anyhow::Result<Written> {
    let bar = progress::bar(seeds, "markets");
    let markets: Vec<anyhow::Result<Market>> = (0..seeds)
        .into_par_iter()
        .map(|seed| {
            let market =
                market_round(wine, config, seed, &|_| {}).map(|report| Market::of(&report));
            bar.inc(1);
            market
        })
        .collect();
    bar.finish_and_clear();
    let markets = markets.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
    let summary = summarize_markets(&markets);

    let mut seeds_csv = format!("{}\n", seed_columns());
    for market in &markets {
        seeds_csv.push_str(&market.csv_rows);
    }
    let files = vec![
        ("demo.csv".to_owned(), csv(&summary).into_bytes()),
        ("demo-seeds.csv".to_owned(), seeds_csv.into_bytes()),
        ("demo.svg".to_owned(), chart(&summary)?.into_bytes()),
    ];
    let mut text = table(&summary, config);
    text.push('\n');
    text.push_str(&explain(&summary));
    Ok((files, text))
}

/// A summary as `mean ± half-width` of its 95% interval, printed as
/// `format` says, or `-` where the metric does not apply.
fn estimate(summary: Option<&Summary>, format: Format) -> String {
    let Some(summary) = summary else {
        return "-".to_owned();
    };
    let half = (summary.ci_high - summary.ci_low) / 2.0;
    match format {
        Format::Decimals(places) => format!("{:.places$} ± {:.places$}", summary.mean, half),
        Format::Percent => format!("{:.1}% ± {:.1}%", 100.0 * summary.mean, 100.0 * half),
    }
}

/// How a metric's numbers print.
#[derive(Debug, Clone, Copy)]
enum Format {
    /// Fixed decimal places.
    Decimals(usize),
    /// A percentage with one decimal.
    Percent,
}

fn format_of(metric: Metric) -> Format {
    match metric {
        Metric::Value | Metric::TestAccuracy => Format::Decimals(4),
        Metric::Spend => Format::Decimals(2),
        Metric::LabelNoise => Format::Percent,
    }
}

/// The printed summary: the means with their intervals, then the paired
/// counts against Q-MIA.
fn table(summary: &SeedSummary, config: &RoundConfig) -> String {
    let n = summary.markets;
    let mut text = String::new();
    let _ = writeln!(
        text,
        "procura demo: red-wine quality, {n} markets (seeds 0–{}), each {N_TEST} test wines, \
         {N_TRUSTED} trusted and {N_POOL} split among {} providers",
        n - 1,
        config.n_providers(),
    );
    let _ = writeln!(
        text,
        "budget B = {}% of each market's total true cost, in cash-equivalent units for every \
         mechanism",
        config.budget_fraction() * 100.0
    );
    let _ = writeln!(
        text,
        "each cell: mean over the {n} markets ± half-width of its 95% t-interval, \
         t(0.975, {}) · sd / √{n}\n",
        n - 1
    );
    let _ = write!(text, "{:<12}", "mechanism");
    for metric in Metric::ALL {
        let _ = write!(text, " {:>17}", metric.title());
    }
    text.push('\n');
    for row in &summary.rows {
        let _ = write!(text, "{:<12}", row.label);
        for (metric, stats) in Metric::ALL.iter().zip(&row.summaries) {
            let _ = write!(
                text,
                " {:>17}",
                estimate(stats.as_ref(), format_of(*metric))
            );
        }
        text.push('\n');
    }
    text.push('\n');
    text.push_str(&wrap(
        "paired with Q-MIA, market by market: in how many markets each number is above / equal \
         to / below Q-MIA's (equal: the same up to rounding, 1e-12 relative)",
        100,
    ));
    text.push('\n');
    let _ = write!(text, "{:<12}", "mechanism");
    for metric in Metric::PAIRED {
        let _ = write!(text, " {:>22}", metric.title());
    }
    text.push('\n');
    for row in &summary.rows {
        let Some(paired) = &row.paired else {
            continue;
        };
        let _ = write!(text, "{:<12}", row.label);
        for p in paired {
            let counts = format!("{} / {} / {}", p.above, p.tied, p.below);
            let _ = write!(text, " {counts:>22}");
        }
        text.push('\n');
    }
    text
}

/// One paragraph on the headline: how often Q-MIA's purchase beat each
/// baseline's.
fn explain(summary: &SeedSummary) -> String {
    let n = summary.markets;
    let paired = |label: &str| {
        summary
            .rows
            .iter()
            .find(|row| row.label == label)
            .and_then(|row| row.paired.clone())
    };
    let (Some(volume), Some(trust)) = (paired("volume"), paired("trust")) else {
        return String::new();
    };
    // Q-MIA beats a baseline where the baseline is below it.
    let text = format!(
        "Over {n} markets, Q-MIA's model scored higher than the volume baseline's in {} and \
         than the trust baseline's in {} (lower in {} and {}), and Q-MIA bought more \
         quality-weighted value in {} and {}. The baselines pay as bid, so their providers \
         inflate bids (and, under trust, claims); Q-MIA pays each winner its critical value, \
         usually above its bid, and that premium is what keeps bids truthful. A single test \
         accuracy carries about ±0.02 of sampling noise from the {N_TEST} test wines, so one \
         market can go either way: `procura demo --seed N` shows market N, what each \
         mechanism bought and why.",
        volume[0].below,
        trust[0].below,
        volume[0].above,
        trust[0].above,
        volume[1].below,
        trust[1].below,
    );
    wrap(&text, 100)
}

/// The header of the summary's `demo.csv`.
const SUMMARY_COLUMNS: &str =
    "mechanism,metric,n,mean,sd,ci_low,ci_high,markets_above_qmia,markets_tied_qmia,markets_below_qmia";

/// The summary's `demo.csv`: one row per mechanism (or reference) and
/// metric that applies, the paired counts on the rows of test accuracy
/// and value of every mechanism but Q-MIA (empty elsewhere). Numbers are
/// written to the last bit.
fn csv(summary: &SeedSummary) -> String {
    let mut text = format!("{SUMMARY_COLUMNS}\n");
    for row in &summary.rows {
        for (metric, stats) in Metric::ALL.iter().zip(&row.summaries) {
            let Some(stats) = stats else {
                continue;
            };
            let _ = write!(
                text,
                "{},{},{},{},{},{},{},",
                row.label.replace(' ', "-"),
                metric.name(),
                stats.n,
                format_number(stats.mean),
                format_number(stats.sd),
                format_number(stats.ci_low),
                format_number(stats.ci_high),
            );
            let paired = Metric::PAIRED
                .iter()
                .position(|m| m == metric)
                .and_then(|index| row.paired.as_ref()?.get(index));
            match paired {
                Some(p) => {
                    let _ = writeln!(text, "{},{},{}", p.above, p.tied, p.below);
                }
                None => text.push_str(",,\n"),
            }
        }
    }
    text
}

/// The summary's `demo.svg`: a panel per metric (means with their 95%
/// intervals), then a panel per paired metric (the markets above, equal
/// to and below Q-MIA's, stacked).
fn chart(summary: &SeedSummary) -> anyhow::Result<String> {
    let n = summary.markets;
    let estimates = Metric::ALL
        .iter()
        .enumerate()
        .map(|(index, metric)| EstimatePanel {
            title: metric.title().to_owned(),
            x_label: format!("mean over the {n} markets, 95% t-interval"),
            estimates: summary
                .rows
                .iter()
                .filter_map(|row| {
                    let stats = row.summaries.get(index)?.as_ref()?;
                    Some(Estimate {
                        label: row.label.to_owned(),
                        mean: stats.mean,
                        interval: Some((stats.ci_low, stats.ci_high)),
                    })
                })
                .collect(),
        })
        .collect::<Vec<_>>();
    let tallies = Metric::PAIRED
        .iter()
        .enumerate()
        .map(|(index, metric)| TallyPanel {
            title: format!("{}: paired with Q-MIA", metric.title()),
            x_label: "markets".to_owned(),
            parts: ["above Q-MIA", "equal", "below Q-MIA"].map(str::to_owned),
            tallies: summary
                .rows
                .iter()
                .filter_map(|row| {
                    let p = row.paired.as_ref()?.get(index)?;
                    Some(Tally {
                        label: row.label.to_owned(),
                        counts: [p.above, p.tied, p.below].map(|c| c as u64),
                    })
                })
                .collect(),
        })
        .collect::<Vec<_>>();
    plot::summary_chart(
        &format!(
            "procura demo: {n} markets (seeds 0–{}), red-wine quality",
            n - 1
        ),
        &estimates,
        &tallies,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_count_above_equal_and_below() {
        let check = |numbers: &[f64], qmia: &[f64], expected: (usize, usize, usize)| {
            let some = |values: &[f64]| values.iter().copied().map(Some).collect::<Vec<_>>();
            let p = pair(&some(numbers), &some(qmia));
            assert_eq!((p.above, p.tied, p.below), expected, "{numbers:?} {qmia:?}");
        };
        check(&[], &[], (0, 0, 0));
        check(&[0.7, 0.7, 0.6], &[0.6, 0.7, 0.7], (1, 1, 1));
        // Equal means equal up to rounding, 1e-12 relative.
        check(&[0.1 + 0.2], &[0.3], (0, 1, 0));
        check(&[0.300_000_000_001], &[0.3], (1, 0, 0));
        check(&[2e12 - 1.0], &[2e12], (0, 1, 0));
        check(&[2e12 - 3.0], &[2e12], (0, 0, 1));
        check(&[f64::NAN], &[0.3], (0, 1, 0));
        // A market where either does not apply is skipped.
        let p = pair(&[Some(1.0), None, Some(2.0)], &[Some(0.0), Some(1.0), None]);
        assert_eq!((p.above, p.tied, p.below), (1, 0, 0));
    }

    fn measures(value: f64, spend: Option<f64>, test_accuracy: f64) -> Measures {
        Measures {
            value,
            spend,
            label_noise: value / 10.0,
            test_accuracy,
        }
    }

    /// Three markets of made-up numbers: Q-MIA, MUT, Mixed, volume, trust,
    /// all data, no purchase.
    fn markets() -> Vec<Market> {
        (0..3)
            .map(|seed| {
                let s = f64::from(seed);
                let q = measures(0.2 + s / 100.0, Some(10.0), 0.7);
                let mut rows = vec![q, q, q];
                rows.push(measures(0.1, Some(9.0 + s), 0.7 + (s - 1.0) / 100.0));
                rows.push(measures(0.3 - s, Some(8.0), 0.6));
                rows.push(measures(0.4, None, 0.75));
                rows.push(measures(0.0, None, 0.5));
                Market {
                    measures: rows,
                    csv_rows: String::new(),
                }
            })
            .collect()
    }

    #[test]
    fn the_summary_has_a_row_per_mechanism_and_reference() {
        let summary = summarize_markets(&markets());
        assert_eq!(summary.markets, 3);
        let labels: Vec<&str> = summary.rows.iter().map(|row| row.label).collect();
        assert_eq!(
            labels,
            [
                "qmia",
                "mut",
                "mixed",
                "volume",
                "trust",
                "all data",
                "no purchase"
            ]
        );
        let qmia = &summary.rows[0];
        assert!(qmia.paired.is_none());
        let value = qmia.summaries[0].expect("value applies");
        assert_eq!(value.n, 3);
        assert_eq!(value.mean, (0.2 + 0.21 + 0.22) / 3.0);
        // Identical numbers tie in every market.
        let mut_row = summary.rows[1].paired.clone().expect("paired with Q-MIA");
        assert_eq!(
            mut_row,
            vec![
                Paired {
                    above: 0,
                    tied: 3,
                    below: 0
                };
                2
            ]
        );
        // Volume: accuracy 0.69, 0.70, 0.71 against 0.7; value below in all.
        let volume = summary.rows[3].paired.clone().expect("paired with Q-MIA");
        assert_eq!(
            volume[0],
            Paired {
                above: 1,
                tied: 1,
                below: 1
            }
        );
        assert_eq!(
            volume[1],
            Paired {
                above: 0,
                tied: 0,
                below: 3
            }
        );
        // Trust: value 0.3 > 0.2, then below.
        let trust = summary.rows[4].paired.clone().expect("paired with Q-MIA");
        assert_eq!(
            trust[1],
            Paired {
                above: 1,
                tied: 0,
                below: 2
            }
        );
        // References: no spend, no pairing.
        for row in &summary.rows[5..] {
            assert!(row.summaries[1].is_none() && row.paired.is_none());
        }
    }

    #[test]
    fn the_csv_has_a_row_per_row_and_metric_that_applies() {
        let text = csv(&summarize_markets(&markets()));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], SUMMARY_COLUMNS);
        // 5 mechanisms × 4 metrics + 2 references × 3 (no spend).
        assert_eq!(lines.len(), 1 + 5 * 4 + 2 * 3);
        let row = |name: &str, metric: &str| -> Vec<&str> {
            let prefix = format!("{name},{metric},");
            let line = lines
                .iter()
                .find(|line| line.starts_with(&prefix))
                .unwrap_or_else(|| panic!("no row {prefix} in {text}"));
            line.split(',').collect()
        };
        let number = |field: &str| -> f64 { field.parse().expect("a number") };
        // Mean and sd to the last bit, as left folds in seed order.
        let values = [0.2 + 0.0, 0.2 + 0.01, 0.2 + 0.02];
        let mean = (0.0 + values[0] + values[1] + values[2]) / 3.0;
        let squares = values
            .iter()
            .fold(0.0, |sum, v| sum + (v - mean) * (v - mean));
        let sd = (squares / 2.0f64).sqrt();
        let qmia = row("qmia", "value");
        assert_eq!(qmia[2], "3");
        assert_eq!((number(qmia[3]), number(qmia[4])), (mean, sd));
        // The t-interval: t(0.975, 2) = 4.30265…
        let half = 4.302_652_729_749_464 * sd / 3f64.sqrt();
        assert!((number(qmia[5]) - (mean - half)).abs() < 1e-9, "{qmia:?}");
        assert!((number(qmia[6]) - (mean + half)).abs() < 1e-9, "{qmia:?}");
        assert_eq!(&qmia[7..], ["", "", ""]);
        // The paired counts on test accuracy and value only.
        assert_eq!(&row("volume", "test_accuracy")[7..], ["1", "1", "1"]);
        assert_eq!(&row("volume", "value")[7..], ["0", "0", "3"]);
        assert_eq!(&row("volume", "spend")[7..], ["", "", ""]);
        assert_eq!(&row("trust", "value")[7..], ["1", "0", "2"]);
        // A constant has a zero-width interval; references have no spend.
        assert_eq!(
            row("no-purchase", "test_accuracy")[2..7],
            ["3", "0.5", "0", "0.5", "0.5"]
        );
        assert!(!text.contains("all-data,spend"), "{text}");
    }

    #[test]
    fn estimates_print_mean_and_half_width() {
        let stats = summarize(&[Some(1.0), Some(2.0), Some(3.0)]);
        assert_eq!(estimate(Some(&stats), Format::Decimals(2)), "2.00 ± 2.48");
        let stats = summarize(&[Some(0.1), Some(0.2)]);
        assert_eq!(estimate(Some(&stats), Format::Percent), "15.0% ± 63.5%");
        assert_eq!(estimate(None, Format::Percent), "-");
    }
}
