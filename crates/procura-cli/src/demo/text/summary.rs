//! The default view of `procura demo --text`: the text round over many
//! markets (seeds 0 to n − 1), summarised per mechanism.
//!
//! For each mechanism (and the two references, every provider's snippets
//! and none), the mean over the markets of the spend, the snippets bought,
//! the shares of noisy and off-task snippets among them and the probe's
//! accuracy, each with its Student-t 95% interval, as the wine demo's
//! summary computes them ([`summarize`]: mean ± t₀.₉₇₅,ₙ₋₁ · sd / √n over
//! the markets).
//!
//! The markets run in parallel and are reduced in seed order, so every
//! number, and every byte written, is the same on any number of threads.

use std::fmt::Write as _;

use procura::experiment::results_csv::format_number;
use procura::experiment::statistics::{summarize, Summary};
use procura::procurement::Auction;
use procura::round::RoundConfig;
use rayon::prelude::*;

use super::corpus::Corpus;
use super::market::{Mix, TextMarket};
use super::{headline, market_round, references, seed_rows, Written, FILES, SEED_COLUMNS};
use crate::demo::wrap;
use crate::plot::{self, Estimate, EstimatePanel};
use crate::progress;

/// A quantity summarised over the markets, in table and CSV order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Metric {
    /// Cash plus cash-equivalent tokens paid (mechanisms only).
    Spend,
    /// Snippets bought, duplicates included.
    Snippets,
    /// Share of the snippets bought that are reviews with a flipped label.
    Noisy,
    /// Share of the snippets bought that are off-task text.
    OffTask,
    /// Test accuracy of the probe trained on the snippets bought.
    ProbeAccuracy,
}

impl Metric {
    const ALL: [Metric; 5] = [
        Metric::Spend,
        Metric::Snippets,
        Metric::Noisy,
        Metric::OffTask,
        Metric::ProbeAccuracy,
    ];

    /// The name in `demo-text.csv`.
    fn name(self) -> &'static str {
        match self {
            Metric::Spend => "spend",
            Metric::Snippets => "snippets",
            Metric::Noisy => "noisy_share",
            Metric::OffTask => "off_task_share",
            Metric::ProbeAccuracy => "probe_accuracy",
        }
    }

    /// The name in the printed table and the chart.
    fn title(self) -> &'static str {
        match self {
            Metric::Spend => "spend",
            Metric::Snippets => "snippets",
            Metric::Noisy => "noisy",
            Metric::OffTask => "off-task",
            Metric::ProbeAccuracy => "probe accuracy",
        }
    }

    /// How its numbers print.
    fn format(self) -> Format {
        match self {
            Metric::Spend => Format::Decimals(2),
            Metric::Snippets => Format::Decimals(0),
            Metric::Noisy | Metric::OffTask => Format::Percent,
            Metric::ProbeAccuracy => Format::Decimals(4),
        }
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

/// One market's numbers of one mechanism or reference.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Measures {
    /// `None` for the references, which pay nothing.
    spend: Option<f64>,
    mix: Mix,
    probe_accuracy: f64,
}

impl Measures {
    /// `metric`'s number; `None` where it does not apply.
    fn get(&self, metric: Metric) -> Option<f64> {
        match metric {
            Metric::Spend => self.spend,
            Metric::Snippets => Some(self.mix.snippets as f64),
            Metric::Noisy => Some(self.mix.noisy_share()),
            Metric::OffTask => Some(self.mix.off_task_share()),
            Metric::ProbeAccuracy => Some(self.probe_accuracy),
        }
    }
}

/// What the summary keeps of one market: its numbers per row of the
/// table, in [`Auction::ALL`] order then the references, and its rows of
/// `demo-text-seeds.csv`.
#[derive(Debug, Clone, PartialEq)]
struct Market {
    measures: Vec<Measures>,
    csv_rows: String,
}

impl Market {
    fn of(market: &TextMarket) -> Market {
        let mut measures: Vec<Measures> = market
            .purchases
            .iter()
            .map(|bought| Measures {
                spend: Some(bought.purchase.spend()),
                mix: bought.mix,
                probe_accuracy: bought.purchase.accuracy,
            })
            .collect();
        measures.extend(
            references(market)
                .into_iter()
                .map(|(_, reference, mix)| Measures {
                    spend: None,
                    mix: *mix,
                    probe_accuracy: reference.accuracy,
                }),
        );
        Market {
            measures,
            csv_rows: seed_rows(market),
        }
    }
}

/// One row of the summary: a mechanism or a reference, and per
/// [`Metric::ALL`] its summary over the markets (`None` where the metric
/// does not apply: a reference's spend).
#[derive(Debug, Clone, PartialEq)]
struct Row {
    label: &'static str,
    summaries: Vec<Option<Summary>>,
}

/// The labels of the table's rows: the mechanisms, then the references.
fn row_labels() -> Vec<&'static str> {
    let mut labels: Vec<&'static str> = Auction::ALL.iter().map(|a| a.name()).collect();
    labels.extend(["all data", "no purchase"]);
    labels
}

/// Summarises `markets` (in seed order): a row per mechanism and
/// reference.
fn summarize_markets(markets: &[Market]) -> Vec<Row> {
    row_labels()
        .into_iter()
        .enumerate()
        .map(|(row, label)| Row {
            label,
            summaries: Metric::ALL
                .iter()
                .map(|&metric| {
                    let values: Vec<Option<f64>> = markets
                        .iter()
                        .map(|market| market.measures.get(row).and_then(|m| m.get(metric)))
                        .collect();
                    values
                        .iter()
                        .any(Option::is_some)
                        .then(|| summarize(&values))
                })
                .collect(),
        })
        .collect()
}

/// Runs markets 0 to `seeds` − 1 of `corpus` under `config` in parallel
/// (one progress step each), and returns the summary's files and text.
pub(super) fn run(corpus: &Corpus, config: &RoundConfig, seeds: u64) -> anyhow::Result<Written> {
    let bar = progress::bar(seeds, "markets");
    let markets: Vec<anyhow::Result<Market>> = (0..seeds)
        .into_par_iter()
        .map(|seed| {
            let market = market_round(corpus, config, seed, &|_| {}).map(|m| Market::of(&m));
            bar.inc(1);
            market
        })
        .collect();
    bar.finish_and_clear();
    let markets = markets.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
    let rows = summarize_markets(&markets);

    let mut seeds_csv = format!("{SEED_COLUMNS}\n");
    for market in &markets {
        seeds_csv.push_str(&market.csv_rows);
    }
    let n = markets.len();
    let files = vec![
        (FILES[0].to_owned(), csv(&rows).into_bytes()),
        (FILES[1].to_owned(), seeds_csv.into_bytes()),
        (FILES[2].to_owned(), chart(&rows, n)?.into_bytes()),
    ];
    let mut text = table(&rows, n, corpus, config);
    text.push('\n');
    text.push_str(&explain(&rows, n));
    Ok((files, text))
}

/// A summary as `mean ± half-width` of its 95% interval, or `-` where the
/// metric does not apply.
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

/// The printed summary: the means with their intervals.
fn table(rows: &[Row], n: usize, corpus: &Corpus, config: &RoundConfig) -> String {
    let mut text = headline(corpus, config);
    let _ = writeln!(text, "; {n} markets (seeds 0–{})", n - 1);
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
    for row in rows {
        let _ = write!(text, "{:<12}", row.label);
        for (metric, stats) in Metric::ALL.iter().zip(&row.summaries) {
            let _ = write!(text, " {:>17}", estimate(stats.as_ref(), metric.format()));
        }
        text.push('\n');
    }
    text
}

/// One paragraph on the headline: what Q-MIA bought against the
/// pay-as-bid baselines, on average.
fn explain(rows: &[Row], n: usize) -> String {
    let mean = |label: &str, metric: Metric| -> Option<f64> {
        let index = Metric::ALL.iter().position(|m| *m == metric)?;
        let row = rows.iter().find(|row| row.label == label)?;
        Some(row.summaries.get(index)?.as_ref()?.mean)
    };
    let numbers = (|| {
        Some([
            mean("qmia", Metric::OffTask)?,
            mean("volume", Metric::OffTask)?,
            mean("trust", Metric::OffTask)?,
            mean("qmia", Metric::Noisy)?,
            mean("volume", Metric::Noisy)?,
            mean("trust", Metric::Noisy)?,
            mean("qmia", Metric::ProbeAccuracy)?,
            mean("volume", Metric::ProbeAccuracy)?,
            mean("trust", Metric::ProbeAccuracy)?,
        ])
    })();
    let Some([off_q, off_v, off_t, noisy_q, noisy_v, noisy_t, acc_q, acc_v, acc_t]) = numbers
    else {
        return String::new();
    };
    let pct = |share: f64| format!("{:.1}%", 100.0 * share);
    let text = format!(
        "Over {n} markets, {} of what Q-MIA bought was off-task text and {} mislabelled \
         reviews, against {} and {} for the volume baseline and {} and {} for the trust \
         baseline; the probe trained on Q-MIA's purchase scored {acc_q:.4} on average, the \
         baselines' {acc_v:.4} and {acc_t:.4}. Q-MIA weighs each provider's utility by its \
         quality, the agreement of its labels with a model of the buyer's trusted reviews, so \
         padding and noise lower a provider's rank; the baselines pay as bid, and their \
         providers inflate bids (and, under trust, claims). `procura demo --text --seed N` \
         shows market N.",
        pct(off_q),
        pct(noisy_q),
        pct(off_v),
        pct(noisy_v),
        pct(off_t),
        pct(noisy_t),
    );
    wrap(&text, 100)
}

/// The header of the summary's `demo-text.csv`.
const SUMMARY_COLUMNS: &str = "mechanism,metric,n,mean,sd,ci_low,ci_high";

/// The summary's `demo-text.csv`: one row per mechanism (or reference) and
/// metric that applies, numbers to the last bit.
fn csv(rows: &[Row]) -> String {
    let mut text = format!("{SUMMARY_COLUMNS}\n");
    for row in rows {
        for (metric, stats) in Metric::ALL.iter().zip(&row.summaries) {
            let Some(stats) = stats else {
                continue;
            };
            let _ = writeln!(
                text,
                "{},{},{},{},{},{},{}",
                row.label.replace(' ', "-"),
                metric.name(),
                stats.n,
                format_number(stats.mean),
                format_number(stats.sd),
                format_number(stats.ci_low),
                format_number(stats.ci_high),
            );
        }
    }
    text
}

/// The summary's `demo-text.svg`: a panel per metric, the means with their
/// 95% intervals.
fn chart(rows: &[Row], n: usize) -> anyhow::Result<String> {
    let panels: Vec<EstimatePanel> = Metric::ALL
        .iter()
        .enumerate()
        .map(|(index, metric)| EstimatePanel {
            title: metric.title().to_owned(),
            x_label: format!("mean over the {n} markets, 95% t-interval"),
            estimates: rows
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
        .collect();
    plot::summary_chart(
        &format!(
            "procura demo --text: {n} markets (seeds 0–{}), movie-review sentiment",
            n - 1
        ),
        &panels,
        &[],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measures(spend: Option<f64>, snippets: usize, probe_accuracy: f64) -> Measures {
        Measures {
            spend,
            mix: Mix {
                snippets,
                noisy: snippets / 10,
                off_task: snippets / 4,
            },
            probe_accuracy,
        }
    }

    /// Three markets of made-up numbers: five mechanisms, then all data
    /// and no purchase.
    fn markets() -> Vec<Market> {
        (0..3u32)
            .map(|seed| {
                let s = f64::from(seed);
                let mut rows: Vec<Measures> = (0..5)
                    .map(|m| measures(Some(10.0 + s), 100 * (m + 1), 0.7 + s / 100.0))
                    .collect();
                rows.push(measures(None, 1000, 0.8));
                rows.push(measures(None, 0, 0.5));
                Market {
                    measures: rows,
                    csv_rows: String::new(),
                }
            })
            .collect()
    }

    #[test]
    fn the_summary_has_a_row_per_mechanism_and_reference_and_metric() {
        let rows = summarize_markets(&markets());
        let labels: Vec<&str> = rows.iter().map(|row| row.label).collect();
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
        let spend = rows[0].summaries[0].expect("spend applies");
        assert_eq!((spend.n, spend.mean, spend.sd), (3, 11.0, 1.0));
        let snippets = rows[1].summaries[1].expect("snippets");
        assert_eq!((snippets.mean, snippets.sd), (200.0, 0.0));
        let off_task = rows[1].summaries[3].expect("off-task share");
        assert_eq!(off_task.mean, 0.25);
        for row in &rows[5..] {
            assert!(row.summaries[0].is_none(), "{row:?}");
        }
        // No snippets: shares of 0, not NaN.
        assert_eq!(rows[6].summaries[2].expect("noisy").mean, 0.0);

        let text = csv(&rows);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], SUMMARY_COLUMNS);
        // 5 mechanisms × 5 metrics + 2 references × 4 (no spend).
        assert_eq!(lines.len(), 1 + 5 * 5 + 2 * 4);
        let qmia_spend: Vec<&str> = lines
            .iter()
            .find(|line| line.starts_with("qmia,spend,"))
            .expect("a row of Q-MIA's spend")
            .split(',')
            .collect();
        assert_eq!(qmia_spend[..5], ["qmia", "spend", "3", "11", "1"]);
        // t(0.975, 2) · 1 / √3 = 2.4841…
        let low: f64 = qmia_spend[5].parse().expect("a number");
        assert!(
            (low - (11.0 - 4.302_652_729_9 / 3f64.sqrt())).abs() < 1e-9,
            "{low}"
        );
        assert!(!text.contains("all-data,spend"), "{text}");
    }

    #[test]
    fn estimates_print_mean_and_half_width() {
        let stats = summarize(&[Some(1.0), Some(2.0), Some(3.0)]);
        assert_eq!(estimate(Some(&stats), Format::Decimals(2)), "2.00 ± 2.48");
        assert_eq!(estimate(Some(&stats), Format::Decimals(0)), "2 ± 2");
        let stats = summarize(&[Some(0.1), Some(0.2)]);
        assert_eq!(estimate(Some(&stats), Format::Percent), "15.0% ± 63.5%");
        assert_eq!(estimate(None, Format::Percent), "-");
    }
}
