//! `procura demo --text`: procurement rounds on text, offline. The
//! built-in corpus ([`corpus`]) is 2,000 movie-review snippets labelled
//! `fresh` or `rotten` and 500 sentences of political speeches, with their
//! sentence embeddings (`procura embed`), compiled into the binary.
//! Providers sell reviews with label noise and duplicates, and a third of
//! them pad their reviews with the speeches under review labels; every
//! mechanism buys at one budget from best-responding providers ([`market`])
//! and a logistic-regression probe trained on the embeddings of what it
//! bought is scored on held-out reviews.
//!
//! As for the wine demo: by default 50 markets (seeds 0–49), each
//! mechanism's spend, snippets bought, noisy and off-task shares and probe
//! accuracy as means with 95% t-intervals ([`summary`]); `--seed N` shows
//! market N as a table. Each view is written as CSV and an SVG chart:
//! `demo-text.csv`, `demo-text-seeds.csv` and `demo-text.svg`.

mod corpus;
mod market;
mod projection;
mod summary;

use std::fmt::Write as _;

use procura::procurement::Auction;
use procura::round::{Reference, RoundConfig};
use procura::valuation::Progress;

use self::corpus::Corpus;
use self::market::{Mix, TextMarket, TextPurchase, N_TEST, N_TRUSTED};
use super::{bidding, flag_error, percent, wrap, Args, Markets, Written};
use crate::plot::{self, Bar};
use crate::{output, progress};

/// The files a text demo writes, in order: the table (or summary), every
/// market's rows, the chart.
const FILES: [&str; 3] = ["demo-text.csv", "demo-text-seeds.csv", "demo-text.svg"];

/// Runs the text round (or rounds) that `args` ask for and returns what the
/// command prints.
pub(super) fn run(args: &Args) -> anyhow::Result<String> {
    let config = RoundConfig::demo()
        .with_n_providers(args.providers)
        .and_then(|config| config.with_budget_fraction(args.budget_fraction))
        .map_err(|e| flag_error(&e))?;
    let markets = Markets::of(args)?;
    let corpus = corpus::builtin()?;
    let n_pool = n_pool(&corpus);
    if config.n_providers() > n_pool {
        anyhow::bail!(
            "--providers: cannot split {n_pool} reviews among {} providers",
            config.n_providers()
        );
    }
    let (files, text) = crate::threads::with_threads(args.threads, || match markets {
        Markets::One(seed) => one_market(&corpus, &config, seed),
        Markets::Summary(seeds) => summary::run(&corpus, &config, seeds),
    })?;
    output::write_folder(&args.out, &files)?;
    let names: Vec<String> = files
        .iter()
        .map(|(name, _)| args.out.join(name).display().to_string())
        .collect();
    Ok(format!("{text}\nwrote {}\n", names.join(", ")))
}

/// Market `seed`: the whole round, telling `progress` of each stage.
fn market_round(
    corpus: &Corpus,
    config: &RoundConfig,
    seed: u64,
    progress: &(dyn Fn(Progress) + Sync),
) -> anyhow::Result<TextMarket> {
    market::run(corpus, config, seed, progress)
}

/// `--seed N`: one market's table and paragraph, its CSV rows and its bar
/// chart.
fn one_market(corpus: &Corpus, config: &RoundConfig, seed: u64) -> anyhow::Result<Written> {
    let bar = progress::bar(market::STAGES as u64, "procuring");
    let result = market_round(corpus, config, seed, &|step: Progress| {
        bar.set_position(step.done as u64);
    });
    bar.finish_and_clear();
    let market = result?;
    let files = vec![
        (FILES[0].to_owned(), csv(&market).into_bytes()),
        (
            FILES[1].to_owned(),
            format!("{SEED_COLUMNS}\n{}", seed_rows(&market)).into_bytes(),
        ),
        (FILES[2].to_owned(), chart(&market)?.into_bytes()),
    ];
    let mut text = table(&market, corpus, config);
    text.push('\n');
    text.push_str(&explain(&market));
    Ok((files, text))
}

/// Reviews the providers share: the corpus's, less the test and trusted
/// ones.
fn n_pool(corpus: &Corpus) -> usize {
    corpus.reviews.n_rows().saturating_sub(N_TEST + N_TRUSTED)
}

/// The first line of every text demo: the task and the market's make-up.
fn headline(corpus: &Corpus, config: &RoundConfig) -> String {
    format!(
        "procura demo --text: movie-review sentiment ({}), {N_TEST} test reviews, {N_TRUSTED} \
         trusted, {} reviews and {} off-task sentences split among {} providers ({} of \
         them pad with off-task text)",
        corpus.classes.join(" or "),
        n_pool(corpus),
        corpus.speeches.n_rows(),
        config.n_providers(),
        market::n_padding(config.n_providers()),
    )
}

/// The rows of a market's table: each mechanism's purchase, then the two
/// references.
fn references(market: &TextMarket) -> [(&'static str, &Reference, &Mix); 2] {
    [
        ("all data", &market.all_data.0, &market.all_data.1),
        ("no purchase", &market.no_purchase.0, &market.no_purchase.1),
    ]
}

/// The table on stdout.
fn table(market: &TextMarket, corpus: &Corpus, config: &RoundConfig) -> String {
    let mut text = headline(corpus, config);
    let _ = writeln!(
        text,
        "; seed {}, {} snippets with duplicates",
        market.seed,
        market.providers.data.n_rows()
    );
    let _ = writeln!(
        text,
        "budget B = {:.2} ({}% of the providers' total true cost {:.2}), in cash-equivalent \
         units for every mechanism\n",
        market.budget,
        config.budget_fraction() * 100.0,
        market.all_data.0.cost
    );
    let _ = writeln!(
        text,
        "{:<12} {:>8} {:>8} {:>8} {:>9} {:>8} {:>6} {:>8} {:>7} {:>9}  best response",
        "mechanism",
        "cash",
        "tokens",
        "cost",
        "providers",
        "snippets",
        "noisy",
        "off-task",
        "value",
        "probe acc"
    );
    for TextPurchase { purchase, mix } in &market.purchases {
        let _ = writeln!(
            text,
            "{:<12} {:>8.2} {:>8.2} {:>8.2} {:>9} {:>8} {:>5.1}% {:>7.1}% {:>7.4} {:>9.4}  {}",
            purchase.mechanism.name(),
            purchase.cash,
            purchase.tokens,
            purchase.cost,
            purchase.n_providers(),
            mix.snippets,
            100.0 * mix.noisy_share(),
            100.0 * mix.off_task_share(),
            purchase.value(),
            purchase.accuracy,
            bidding(purchase)
        );
    }
    for (label, reference, mix) in references(market) {
        let _ = writeln!(
            text,
            "{:<12} {:>8} {:>8} {:>8.2} {:>9} {:>8} {:>5.1}% {:>7.1}% {:>7.4} {:>9.4}  -",
            label,
            "-",
            "-",
            reference.cost,
            reference.n_providers,
            mix.snippets,
            100.0 * mix.noisy_share(),
            100.0 * mix.off_task_share(),
            reference.value,
            reference.accuracy
        );
    }
    text
}

/// One paragraph on what the market bought, from the numbers.
fn explain(market: &TextMarket) -> String {
    let get = |mechanism| {
        market
            .purchases
            .iter()
            .find(|bought| bought.purchase.mechanism == mechanism)
    };
    let (Some(qmia), Some(volume), Some(trust)) = (
        get(Auction::Qmia),
        get(Auction::Volume),
        get(Auction::Trust),
    ) else {
        return String::new();
    };
    let bought = |bought: &TextPurchase| {
        format!(
            "{} snippets ({} noisy, {} off-task)",
            bought.mix.snippets,
            percent(bought.mix.noisy_share()),
            percent(bought.mix.off_task_share())
        )
    };
    let all = &market.all_data;
    let text = format!(
        "Every provider's snippets together are {} noisy and {} off-task. Q-MIA ranks providers \
         by bid per unit of quality-weighted utility q·μ, both measured against the buyer's \
         trusted reviews, and pays critical values, so its providers bid their costs: it bought \
         {}, and a logistic-regression probe on their embeddings scores {:.4} on the {N_TEST} \
         test reviews. The volume and trust baselines pay as bid, so their providers \
         best-respond; at the same budget they bought {} and {}, scoring {:.4} and {:.4}. \
         Every snippet scores {:.4}, none {:.4}. One seed is one market: `procura demo --text` \
         without --seed summarises 50 markets.",
        percent(all.1.noisy_share()),
        percent(all.1.off_task_share()),
        bought(qmia),
        qmia.purchase.accuracy,
        bought(volume),
        bought(trust),
        volume.purchase.accuracy,
        trust.purchase.accuracy,
        all.0.accuracy,
        market.no_purchase.0.accuracy,
    );
    wrap(&text, 100)
}

/// The columns of one purchase in `demo-text.csv` (after the seed and the
/// budget in `demo-text-seeds.csv`): `snippets`, `noisy` and `off_task`
/// are counts of snippets bought, duplicates included.
const COLUMNS: &str = "mechanism,cash,tokens,cost,providers,snippets,noisy,off_task,value,\
                       probe_accuracy,br_rounds,br_converged";

/// The header of `demo-text-seeds.csv`.
const SEED_COLUMNS: &str = "seed,budget,mechanism,cash,tokens,cost,providers,snippets,noisy,\
                            off_task,value,probe_accuracy,br_rounds,br_converged";

/// The rows of `demo-text.csv` for one market, without their newlines: one
/// per mechanism, then the two references (their payment and best-response
/// cells empty).
fn market_rows(market: &TextMarket) -> Vec<String> {
    let purchases = market
        .purchases
        .iter()
        .map(|TextPurchase { purchase, mix }| {
            format!(
                "{},{},{},{},{},{},{},{},{},{},{},{}",
                purchase.mechanism.name(),
                purchase.cash,
                purchase.tokens,
                purchase.cost,
                purchase.n_providers(),
                mix.snippets,
                mix.noisy,
                mix.off_task,
                purchase.value(),
                purchase.accuracy,
                purchase.rounds,
                purchase.converged
            )
        });
    let references = references(market)
        .into_iter()
        .map(|(label, reference, mix)| {
            format!(
                "{},,,{},{},{},{},{},{},{},,",
                label.replace(' ', "-"),
                reference.cost,
                reference.n_providers,
                mix.snippets,
                mix.noisy,
                mix.off_task,
                reference.value,
                reference.accuracy
            )
        });
    purchases.chain(references).collect()
}

/// `demo-text.csv` of one market.
fn csv(market: &TextMarket) -> String {
    let mut text = format!("{COLUMNS}\n");
    for row in market_rows(market) {
        text.push_str(&row);
        text.push('\n');
    }
    text
}

/// One market's rows of `demo-text-seeds.csv`: its `demo-text.csv` rows,
/// each after the seed and the budget.
fn seed_rows(market: &TextMarket) -> String {
    market_rows(market)
        .iter()
        .map(|row| format!("{},{},{row}\n", market.seed, market.budget))
        .collect()
}

/// `demo-text.svg` of one market: probe accuracy per mechanism and
/// reference.
fn chart(market: &TextMarket) -> anyhow::Result<String> {
    let mut bars: Vec<Bar> = market
        .purchases
        .iter()
        .map(|bought| Bar {
            label: bought.purchase.mechanism.name().to_owned(),
            value: bought.purchase.accuracy,
        })
        .collect();
    bars.extend(references(market).map(|(label, reference, _)| Bar {
        label: label.to_owned(),
        value: reference.accuracy,
    }));
    plot::bar_chart(
        &format!(
            "Probe accuracy on held-out reviews, trained on what each mechanism bought (seed {})",
            market.seed
        ),
        "probe accuracy",
        &bars,
    )
}
