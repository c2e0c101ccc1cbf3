//! `procura demo`: procurement rounds on the built-in red-wine data. By
//! default 50 markets (seeds 0–49), summarised per mechanism with 95%
//! intervals and paired win counts against Q-MIA ([`summary`]); with
//! `--seed N` one market, printed as a table with an explanation. Each
//! view is written as CSV and an SVG chart.
//!
//! The data is compiled into the library ([`procura::datasets::wine`]), so
//! the command needs no file. The library does the work (the split and its
//! standardisation, [`procura::round`]); this module draws the progress bar
//! and renders the report.

mod summary;
mod text;

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::anyhow;
use procura::datasets;
use procura::procurement::Auction;
use procura::round::{
    self, ClaimInflation, Purchase, Reference, RoundConfig, RoundData, RoundReport,
};
use procura::valuation::{Dataset, Progress};

use crate::plot::{self, Bar};
use crate::{output, progress};

/// Wines held out to score the final models ([`datasets::WINE_TEST`]).
pub(crate) const N_TEST: usize = datasets::WINE_TEST;
/// Wines the buyer trusts: the quality reference and the valuation's
/// utility set ([`datasets::WINE_TRUSTED`]).
pub(crate) const N_TRUSTED: usize = datasets::WINE_TRUSTED;
/// Wines split among the providers: the rest.
const N_POOL: usize = datasets::WINE_ROWS - N_TEST - N_TRUSTED;
/// Markets of the default summary: seeds 0 to 49.
const SEEDS: u64 = 50;
/// Most markets one summary runs (about 25 ms each on one core, in release).
const MAX_SEEDS: u64 = 100_000;

/// Watch whole procurement rounds on real data, in seconds.
///
/// The 1,599 red wines of the UCI Wine Quality data (built in; label: quality
/// ≥ 6) are shuffled into 400 test wines, 200 wines the buyer trusts and 999
/// wines split among synthetic providers with heterogeneous label noise,
/// duplicates and volumes. Each provider's cost is its row count times a
/// log-normal per-row cost; its quality is label agreement with a model
/// trained on the trusted wines, its utility the KNN-Shapley value of its
/// rows. Q-MIA, MUT, Mixed-MIA and the volume and trust baselines then buy
/// at the same budget from best-responding providers (Q-MIA and Mixed-MIA
/// are DSIC, so theirs stay truthful), and a logistic regression trained on
/// what each bought is scored on the test wines.
///
/// By default this runs 50 such markets (seeds 0–49) and prints, per
/// mechanism, the mean value, spend, label noise and test accuracy with 95%
/// t-intervals over the markets, and in how many markets each mechanism's
/// test accuracy and value are above, equal to or below Q-MIA's; it writes
/// DIR/demo.csv (the summary), DIR/demo-seeds.csv (every market's rows) and
/// DIR/demo.svg. With --seed N it runs market N alone and prints its table
/// and what happened; DIR/demo.csv then holds that table, DIR/demo-seeds.csv
/// its rows, and DIR/demo.svg charts its test accuracy per mechanism.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Folder for demo.csv, demo-seeds.csv and demo.svg, created if missing.
    #[arg(long, value_name = "DIR", default_value = "demo-out")]
    out: PathBuf,
    /// Run one market only, with this seed of every draw (the shuffle, the
    /// providers and their costs), and print its table [default: the
    /// summary over --seeds markets].
    #[arg(
        long,
        value_name = "N",
        allow_negative_numbers = true,
        conflicts_with = "seeds"
    )]
    seed: Option<u64>,
    /// Markets in the summary: seeds 0 to N − 1 (2 to 100000).
    #[arg(long, value_name = "N", default_value_t = SEEDS, allow_negative_numbers = true)]
    seeds: u64,
    /// Number of providers the wines are split among (1 to 999; with
    /// --text, the reviews, 1 to 1,400).
    #[arg(long, value_name = "N", default_value_t = RoundConfig::demo().n_providers(),
          allow_negative_numbers = true)]
    providers: usize,
    /// Budget B as a share of the providers' total true cost, in (0, 1].
    #[arg(long, value_name = "F", default_value_t = RoundConfig::demo().budget_fraction(),
          allow_negative_numbers = true)]
    budget_fraction: f64,
    /// Worker threads [default: one per core]. Results do not depend on it.
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Run the rounds on text instead: 2,000 movie-review snippets and 500
    /// off-task sentences with their built-in sentence embeddings, a third
    /// of the providers padding with the off-task ones; a logistic-regression
    /// probe on the embeddings bought is scored on held-out reviews. Writes
    /// DIR/demo-text.csv, DIR/demo-text-seeds.csv and DIR/demo-text.svg.
    #[arg(long)]
    text: bool,
}

/// The flag of each [`RoundConfig`] field the command sets.
const FLAGS: [(&str, &str); 2] = [
    ("n_providers", "--providers"),
    ("budget_fraction", "--budget-fraction"),
];

/// A round's error in the words of the command line: the library's errors
/// name the config field (`n_providers: …`), the message names the flag
/// (`--providers: …`).
fn flag_error(error: &round::RoundError) -> anyhow::Error {
    let text = error.to_string();
    FLAGS
        .iter()
        .find_map(|(field, flag)| {
            let rest = text.strip_prefix(field)?.strip_prefix(':')?;
            Some(anyhow!("{flag}:{rest}"))
        })
        .unwrap_or_else(|| anyhow!(text))
}

/// The markets of a run: one seed, or the summary's seeds 0 to n − 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Markets {
    /// One market, shown as a table.
    One(u64),
    /// Seeds 0 to n − 1, summarised; 2 ≤ n ≤ [`MAX_SEEDS`].
    Summary(u64),
}

impl Markets {
    /// The markets `--seed` and `--seeds` ask for.
    fn of(args: &Args) -> anyhow::Result<Markets> {
        match args.seed {
            Some(seed) => Ok(Markets::One(seed)),
            None if (2..=MAX_SEEDS).contains(&args.seeds) => Ok(Markets::Summary(args.seeds)),
            None => Err(anyhow!(
                "--seeds: {} is not in 2 to {MAX_SEEDS} (an interval needs two markets; \
                 --seed N shows one)",
                args.seeds
            )),
        }
    }
}

/// Runs the round (or the rounds) and returns what the command prints.
pub(crate) fn run(args: &Args) -> anyhow::Result<String> {
    if args.text {
        return text::run(args);
    }
    let config = RoundConfig::demo()
        .with_n_providers(args.providers)
        .and_then(|config| config.with_budget_fraction(args.budget_fraction))
        .map_err(|e| flag_error(&e))?;
    let markets = Markets::of(args)?;
    let wine = wine()?;
    let (files, text) = crate::threads::with_threads(args.threads, || match markets {
        Markets::One(seed) => one_market(&wine, &config, seed),
        Markets::Summary(seeds) => summary::run(&wine, &config, seeds),
    })?;
    output::write_folder(&args.out, &files)?;
    let names: Vec<String> = files
        .iter()
        .map(|(name, _)| args.out.join(name).display().to_string())
        .collect();
    Ok(format!("{text}\nwrote {}\n", names.join(", ")))
}

/// The files a run writes, in order, and the text it prints.
type Written = (Vec<(String, Vec<u8>)>, String);

/// Market `seed` of `wine` under `config`: the whole round, telling
/// `progress` of each stage ([`round::run`]).
fn market_round(
    wine: &Dataset,
    config: &RoundConfig,
    seed: u64,
    progress: &(dyn Fn(Progress) + Sync),
) -> anyhow::Result<RoundReport> {
    let data = RoundData::split(wine, N_TEST, N_TRUSTED, seed)
        .map_err(|e| anyhow!("built-in wine data: {e}"))?;
    round::run(&data, config, seed, progress).map_err(|e| flag_error(&e))
}

/// `--seed N`: one market, its table and explanation, `demo.csv`,
/// `demo-seeds.csv` and its bar chart.
fn one_market(wine: &Dataset, config: &RoundConfig, seed: u64) -> anyhow::Result<Written> {
    let bar = progress::bar(round::STAGES as u64, "procuring");
    let result = market_round(wine, config, seed, &|step: Progress| {
        bar.set_position(step.done as u64);
    });
    bar.finish_and_clear();
    let report = result?;

    let files = vec![
        ("demo.csv".to_owned(), csv(&report).into_bytes()),
        (
            "demo-seeds.csv".to_owned(),
            format!("{}\n{}", seed_columns(), seed_rows(&report)).into_bytes(),
        ),
        ("demo.svg".to_owned(), chart(&report)?.into_bytes()),
    ];
    let mut text = table(&report, config);
    text.push('\n');
    text.push_str(&explain(&report));
    Ok((files, text))
}

/// The built-in wine data ([`datasets::wine`]), as `reproduce` reads it.
pub(crate) fn wine() -> anyhow::Result<Dataset> {
    Ok(datasets::wine()?)
}

/// How a mechanism's providers bid: "truthful" (DSIC, or dynamics that
/// never moved), or the best-response rounds and whether they converged.
fn bidding(purchase: &Purchase) -> String {
    let rounds = purchase.rounds;
    let plural = if rounds == 1 { "" } else { "s" };
    let state = if purchase.converged {
        "converged"
    } else {
        "not converged"
    };
    format!("{rounds} round{plural}, {state}")
}

/// The table on stdout.
fn table(report: &RoundReport, config: &RoundConfig) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "procura demo: red-wine quality, {N_TEST} test wines, {N_TRUSTED} trusted, \
         {N_POOL} split among {} providers ({} rows with duplicates), seed {}",
        config.n_providers(),
        report.split.data.n_rows(),
        report.seed
    );
    let _ = writeln!(
        text,
        "budget B = {:.2} ({}% of the providers' total true cost {:.2}), in cash-equivalent \
         units for every mechanism\n",
        report.budget,
        config.budget_fraction() * 100.0,
        report.all_data.cost
    );
    let _ = writeln!(
        text,
        "{:<12} {:>8} {:>8} {:>8} {:>9} {:>5} {:>6} {:>7} {:>8}  best response",
        "mechanism", "cash", "tokens", "cost", "providers", "rows", "noise", "value", "test acc"
    );
    for purchase in &report.purchases {
        let _ = writeln!(
            text,
            "{:<12} {:>8.2} {:>8.2} {:>8.2} {:>9} {:>5} {:>5.1}% {:>7.4} {:>8.4}  {}",
            purchase.mechanism.name(),
            purchase.cash,
            purchase.tokens,
            purchase.cost,
            purchase.n_providers(),
            purchase.n_rows(),
            100.0 * purchase.label_noise,
            purchase.value(),
            purchase.accuracy,
            bidding(purchase)
        );
    }
    for (label, reference) in references(report) {
        let _ = writeln!(
            text,
            "{:<12} {:>8} {:>8} {:>8.2} {:>9} {:>5} {:>5.1}% {:>7.4} {:>8.4}  -",
            label,
            "-",
            "-",
            reference.cost,
            reference.n_providers,
            reference.n_rows,
            100.0 * reference.label_noise,
            reference.value,
            reference.accuracy
        );
    }
    text
}

fn references(report: &RoundReport) -> [(&'static str, &Reference); 2] {
    [
        ("all data", &report.all_data),
        ("no purchase", &report.no_purchase),
    ]
}

/// One paragraph on what happened, from the numbers.
fn explain(report: &RoundReport) -> String {
    let get = |mechanism| report.purchase(mechanism);
    let (Some(qmia), Some(mixed), Some(mut_token), Some(volume), Some(trust)) = (
        get(Auction::Qmia),
        get(Auction::Mixed),
        get(Auction::Mut),
        get(Auction::Volume),
        get(Auction::Trust),
    ) else {
        return String::new();
    };
    let more = |a: f64, b: f64| if a >= b { "more" } else { "less" };
    let mut text = format!(
        "Q-MIA ranks providers by bid per unit of quality-weighted utility q·μ and pays each \
         winner its critical value, so bidding the true cost is every provider's best move: it \
         bought {} providers ({} rows, {:.1}% wrong labels) for {:.2} in cash. ",
        qmia.n_providers(),
        qmia.n_rows(),
        100.0 * qmia.label_noise,
        qmia.cash,
    );
    let same = |a: &Purchase, b: &Purchase| a.outcome.winners().eq(b.outcome.winners());
    if same(mixed, qmia) {
        text.push_str(&format!(
            "Mixed-MIA bought the same providers and paid {:.2} of it in cash, the rest in \
             tokens. ",
            mixed.cash
        ));
    }
    if mut_token.truthful(&report.truth) {
        text.push_str(
            "MUT's providers kept their true bids: no bid on the grid (cost × 0.5 to 3) paid \
             more. ",
        );
    } else {
        let underbids = mut_token.underbids(&report.truth);
        text.push_str(&format!(
            "MUT's providers best-respond too: {underbids} underbid their cost to be admitted \
             (a MUT share does not depend on the bid), and it bought {} providers ({} rows, \
             {:.1}% wrong labels). ",
            mut_token.n_providers(),
            mut_token.n_rows(),
            100.0 * mut_token.label_noise,
        ));
    }
    text.push_str(&format!(
        "The volume and trust baselines pay as bid, so their providers best-respond: winners bid \
         {} and {} above cost{}, and the same budget bought {} and {} rows with {:.1}% and \
         {:.1}% wrong labels. ",
        percent(volume.markup()),
        percent(trust.markup()),
        claims(trust),
        volume.n_rows(),
        trust.n_rows(),
        100.0 * volume.label_noise,
        100.0 * trust.label_noise,
    ));
    text.push_str(&format!(
        "Q-MIA bought {} quality-weighted utility than the volume baseline ({:.4} against \
         {:.4}) and {} than the trust baseline ({:.4}); its model's test accuracy, {:.4}, is {} \
         theirs ({:.4} and {:.4}). Every provider's rows would train a model scoring {:.4}, \
         and buying nothing scores {:.4}, the majority class's share. One seed is one market: \
         `procura demo` without --seed summarises 50 markets.",
        more(qmia.value(), volume.value()),
        qmia.value(),
        volume.value(),
        more(qmia.value(), trust.value()),
        trust.value(),
        qmia.accuracy,
        if qmia.accuracy >= volume.accuracy.max(trust.accuracy) {
            "at least"
        } else if qmia.accuracy < volume.accuracy.min(trust.accuracy) {
            "below"
        } else {
            "between"
        },
        volume.accuracy,
        trust.accuracy,
        report.all_data.accuracy,
        report.no_purchase.accuracy,
    ));
    wrap(&text, 100)
}

fn percent(share: f64) -> String {
    format!("{:.0}%", 100.0 * share)
}

/// How far the trust baseline's winners inflated their claimed quality.
fn claims(trust: &Purchase) -> String {
    match trust.claim_inflation() {
        Some(ClaimInflation { claimed, verified }) if claimed > verified => format!(
            " (and the trust winners claim a quality of {claimed:.2} on average against a \
             verified {verified:.2})"
        ),
        _ => String::new(),
    }
}

/// Wraps `text` at spaces to lines of at most `width` characters.
fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = 0;
    for word in text.split_whitespace() {
        let len = word.chars().count();
        if line > 0 && line + 1 + len > width {
            out.push('\n');
            line = 0;
        } else if line > 0 {
            out.push(' ');
            line += 1;
        }
        out.push_str(word);
        line += len;
    }
    out.push('\n');
    out
}

/// The columns of one purchase in `demo.csv` (and in reproduce's
/// `p2b-real-data.csv`, after its seed and budget).
pub(crate) const PURCHASE_COLUMNS: &str =
    "mechanism,cash,tokens,cost,providers,rows,label_noise,value,test_accuracy,br_rounds,br_converged";

/// One purchase as a CSV row of [`PURCHASE_COLUMNS`], without the newline.
pub(crate) fn purchase_row(purchase: &Purchase) -> String {
    format!(
        "{},{},{},{},{},{},{},{},{},{},{}",
        purchase.mechanism.name(),
        purchase.cash,
        purchase.tokens,
        purchase.cost,
        purchase.n_providers(),
        purchase.n_rows(),
        purchase.label_noise,
        purchase.value(),
        purchase.accuracy,
        purchase.rounds,
        purchase.converged
    )
}

/// One reference as a CSV row of [`PURCHASE_COLUMNS`] (its payment and
/// best-response cells empty), without the newline.
fn reference_row(label: &str, reference: &Reference) -> String {
    format!(
        "{},,,{},{},{},{},{},{},,",
        label.replace(' ', "-"),
        reference.cost,
        reference.n_providers,
        reference.n_rows,
        reference.label_noise,
        reference.value,
        reference.accuracy
    )
}

/// The rows of `demo.csv` for one market, without their newlines: one per
/// mechanism, then the two references.
fn market_rows(report: &RoundReport) -> Vec<String> {
    let purchases = report.purchases.iter().map(purchase_row);
    let references = references(report)
        .into_iter()
        .map(|(label, reference)| reference_row(label, reference));
    purchases.chain(references).collect()
}

/// `demo.csv` of one market: one row per mechanism, then the two
/// references (their payment and best-response cells empty).
fn csv(report: &RoundReport) -> String {
    let mut text = format!("{PURCHASE_COLUMNS}\n");
    for row in market_rows(report) {
        text.push_str(&row);
        text.push('\n');
    }
    text
}

/// The header of `demo-seeds.csv`: the seed and the budget B, then
/// [`PURCHASE_COLUMNS`].
fn seed_columns() -> String {
    format!("seed,budget,{PURCHASE_COLUMNS}")
}

/// One market's rows of `demo-seeds.csv`: its `demo.csv` rows, each after
/// the seed and the budget.
fn seed_rows(report: &RoundReport) -> String {
    market_rows(report)
        .iter()
        .map(|row| format!("{},{},{row}\n", report.seed, report.budget))
        .collect()
}

/// `demo.svg`: test accuracy per mechanism and reference.
fn chart(report: &RoundReport) -> anyhow::Result<String> {
    let mut bars: Vec<Bar> = report
        .purchases
        .iter()
        .map(|purchase| Bar {
            label: purchase.mechanism.name().to_owned(),
            value: purchase.accuracy,
        })
        .collect();
    bars.extend(references(report).map(|(label, reference)| Bar {
        label: label.to_owned(),
        value: reference.accuracy,
    }));
    plot::bar_chart(
        &format!(
            "Test accuracy of the model trained on what each mechanism bought (seed {})",
            report.seed
        ),
        "test accuracy",
        &bars,
    )
}
