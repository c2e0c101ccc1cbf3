//! `procura value`: value each training row, or each provider's rows, by
//! training real models, and write the values as CSV; optionally write a
//! procurement instance whose `utility` and `quality` come from the data.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use procura::procurement::{Instance, InstanceSpec, ProviderSpec};
use procura::valuation::{
    banzhaf_msr, knn_shapley, leave_one_out, quality_scores, tmc_shapley, Dataset, Estimate,
    LearningGame, Model, Players, Progress, SamplingConfig,
};

use crate::dataset::{self, Classes, Columns, ModelArgs, ModelName, Need};
use crate::output;

/// Valuation method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Method {
    /// Exact KNN-Shapley (Jia et al. 2019) of the KNN soft-vote utility.
    KnnShapley,
    /// Leave-one-out: U(N) − U(N ∖ i).
    Loo,
    /// Truncated Monte-Carlo Shapley (Ghorbani and Zou 2019).
    TmcShapley,
    /// Data Banzhaf with maximum-sample-reuse sampling (Wang and Jia 2023).
    BanzhafMsr,
}

/// Value training data by the test accuracy of models trained on it.
///
/// Writes CSV with header `row,value` (row = 0-based data row of the
/// training file) or, with --provider-column, `provider,value`. The
/// utility U(S) is the test accuracy of the model trained on S (the empty
/// set scores the test set's majority-class rate; a single-class S predicts
/// its class); knn-shapley uses the KNN soft-vote utility of Jia et al.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Valuation method.
    #[arg(long, value_enum)]
    method: Method,
    /// Training data: CSV with a header; its rows (or providers) are valued.
    #[arg(long)]
    train: PathBuf,
    /// Test data: CSV with the same feature columns.
    #[arg(long)]
    test: PathBuf,
    /// Output CSV of values, written atomically.
    #[arg(long)]
    out: PathBuf,
    /// Label column (default: the column named `label`, else the last one).
    #[arg(long)]
    label: Option<String>,
    /// Column naming each row's provider: value providers, not rows.
    #[arg(long)]
    provider_column: Option<String>,
    /// Model whose test accuracy is the utility (loo, tmc-shapley,
    /// banzhaf-msr); knn-shapley always uses KNN.
    #[arg(long, value_enum)]
    model: Option<ModelName>,
    #[command(flatten)]
    model_args: ModelArgs,
    /// Most samples (permutations or subsets) for tmc-shapley and banzhaf-msr.
    #[arg(long, default_value_t = 1000)]
    samples: usize,
    /// Seed of the sampling streams.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Stop sampling once every standard error is at most this.
    #[arg(long)]
    target_se: Option<f64>,
    /// Relative truncation tolerance of tmc-shapley (0: never truncate).
    #[arg(long, default_value_t = 0.01)]
    truncation: f64,
    /// Worker threads (default: one per core). Results do not depend on it.
    #[arg(long)]
    threads: Option<usize>,
    /// Also write a procurement instance (JSON) for `procura clear`:
    /// utility = max(0, provider value), quality = agreement with a reference
    /// model trained on --trusted. Needs --provider-column, --bids, --budget.
    #[arg(long, requires_all = ["bids", "budget", "provider_column"])]
    emit_instance: Option<PathBuf>,
    /// Bids: CSV with columns provider, bid and optional volume (default: the
    /// provider's row count) and claimed_quality.
    #[arg(long, requires = "emit_instance")]
    bids: Option<PathBuf>,
    /// Cash budget B of the emitted instance.
    #[arg(long, requires = "emit_instance")]
    budget: Option<f64>,
    /// Trusted data for the quality score (default: the test set).
    #[arg(long, requires = "emit_instance")]
    trusted: Option<PathBuf>,
}

/// Runs the command and returns its one-line summary.
pub fn run(args: Args) -> anyhow::Result<String> {
    match args.threads {
        Some(0) => bail!("--threads must be at least 1"),
        Some(threads) => rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .context("cannot start the worker threads")?
            .install(|| value(&args)),
        None => value(&args),
    }
}

fn value(args: &Args) -> anyhow::Result<String> {
    let model = match (args.method, args.model) {
        (Method::KnnShapley, Some(ModelName::Logreg)) => {
            bail!("--method knn-shapley values the KNN utility: drop --model logreg")
        }
        (Method::KnnShapley, _) => Model::Knn(args.model_args.knn()?),
        (_, name) => args.model_args.model(name.unwrap_or(ModelName::Logreg))?,
    };
    let columns = Columns {
        label: args.label.as_deref(),
        provider: args.provider_column.as_deref(),
    };
    let train_table = dataset::read(&args.train, columns, Need::Required)?;
    let test_table = dataset::read(&args.test, columns, Need::Optional)?;
    dataset::check_features(&train_table, &test_table)?;
    let trusted_table = match (&args.emit_instance, &args.trusted) {
        (Some(_), Some(path)) => {
            let table = dataset::read(path, columns, Need::Optional)?;
            dataset::check_features(&train_table, &table)?;
            Some(table)
        }
        _ => None,
    };
    let mut tables = vec![&train_table, &test_table];
    tables.extend(trusted_table.as_ref());
    let classes = Classes::of(&tables);
    let train = classes.dataset(&train_table)?;
    let test = classes.dataset(&test_table)?;
    let (names, players) = match dataset::providers(&train_table) {
        Some((names, players)) => (Some(names), players),
        None => (None, Players::points(train.n_rows())),
    };

    let estimate = estimate(args, model, &train, &test, &players)?;

    let mut csv = String::from(if names.is_some() {
        "provider,value\n"
    } else {
        "row,value\n"
    });
    for (player, value) in estimate.values.iter().enumerate() {
        match &names {
            Some(names) => csv.push_str(&format!("{},{value}\n", csv_field(&names[player]))),
            None => csv.push_str(&format!("{player},{value}\n")),
        }
    }

    let mut staged = vec![(output::stage(&args.out, csv.as_bytes())?, args.out.clone())];
    if let (Some(path), Some(names)) = (&args.emit_instance, &names) {
        let trusted = match &trusted_table {
            Some(table) => classes.dataset(table)?,
            None => test.clone(),
        };
        let quality = quality_scores(&trusted, &train, &players, &model)
            .map_err(|e| anyhow!("quality score: {e}"))?;
        let bids = read_bids(args.bids.as_deref().unwrap_or(Path::new("-")))?;
        let budget = args.budget.unwrap_or_default();
        let json = instance_json(names, &players, &estimate.values, &quality, &bids, budget)
            .with_context(|| format!("{}: cannot build the instance", path.display()))?;
        staged.push((output::stage(path, json.as_bytes())?, path.clone()));
    }
    for (file, path) in staged {
        output::commit(file, &path)?;
    }
    let se = estimate.std_errors.iter().copied().fold(0.0, f64::max);
    let what = if names.is_some() { "providers" } else { "rows" };
    Ok(format!(
        "valued {} {what} ({} samples, largest standard error {se}) into {}\n",
        estimate.values.len(),
        estimate.samples,
        args.out.display()
    ))
}

/// Runs the chosen method with a progress bar.
fn estimate(
    args: &Args,
    model: Model,
    train: &Dataset,
    test: &Dataset,
    players: &Players,
) -> anyhow::Result<Estimate> {
    let bar = progress_bar();
    let report = |progress: Progress| {
        bar.set_length(progress.total as u64);
        bar.set_position(progress.done as u64);
    };
    let config = SamplingConfig {
        samples: args.samples,
        seed: args.seed,
        target_se: args.target_se,
    };
    let result = match (args.method, model) {
        (Method::KnnShapley, Model::Knn(knn)) => knn_shapley(train, test, &knn, players, &report)
            .map(|values| Estimate {
                std_errors: vec![0.0; values.len()],
                values,
                samples: test.n_rows(),
            }),
        (method, model) => {
            let game = LearningGame::new(train, test, players, model)
                .map_err(|e| anyhow!("{}: {e}", args.test.display()))?;
            match method {
                Method::Loo => Ok(leave_one_out(&game, &report)),
                Method::TmcShapley => tmc_shapley(&game, &config, args.truncation, &report),
                _ => banzhaf_msr(&game, &config, &report),
            }
        }
    };
    bar.finish_and_clear();
    result.map_err(|e| match e {
        procura::valuation::ValuationError::Samples => anyhow!("--samples must be at least 1"),
        procura::valuation::ValuationError::TargetSe(se) => {
            anyhow!("--target-se: {se} is not finite and > 0")
        }
        procura::valuation::ValuationError::Truncation(t) => {
            anyhow!("--truncation: {t} is not finite and ≥ 0")
        }
        other => anyhow!("{other}"),
    })
}

/// A progress bar on stderr, hidden when stderr is not a terminal.
fn progress_bar() -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    if let Ok(style) =
        ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} eta {eta}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Quotes a CSV field when it needs it.
pub fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// One row of the bids file.
struct Bid {
    provider: String,
    bid: f64,
    volume: Option<f64>,
    claimed_quality: Option<f64>,
    line: u64,
}

struct Bids {
    source: String,
    rows: Vec<Bid>,
}

fn read_bids(path: &Path) -> anyhow::Result<Bids> {
    let source = path.display().to_string();
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .with_context(|| format!("{source}: cannot read"))?;
    let header = reader
        .headers()
        .map_err(|e| anyhow!("{source}: {e}"))?
        .clone();
    if header.is_empty() {
        bail!("{source}: empty file, expected a header row");
    }
    let column = |name: &str| header.iter().position(|h| h == name);
    let provider = column("provider")
        .ok_or_else(|| anyhow!("{source}: line 1: no column named \"provider\""))?;
    let bid = column("bid").ok_or_else(|| anyhow!("{source}: line 1: no column named \"bid\""))?;
    let volume = column("volume");
    let claimed = column("claimed_quality");
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| anyhow!("{source}: {e}"))?;
        let line = record.position().map_or(0, csv::Position::line);
        let number = |index: usize| -> anyhow::Result<f64> {
            let text = record.get(index).unwrap_or_default();
            text.parse().map_err(|_| {
                anyhow!(
                    "{source}: line {line}, column {} ({}): {text:?} is not a number",
                    index + 1,
                    &header[index]
                )
            })
        };
        let optional = |index: Option<usize>| -> anyhow::Result<Option<f64>> {
            match index {
                Some(index) if !record.get(index).unwrap_or_default().is_empty() => {
                    number(index).map(Some)
                }
                _ => Ok(None),
            }
        };
        rows.push(Bid {
            provider: record.get(provider).unwrap_or_default().to_owned(),
            bid: number(bid)?,
            volume: optional(volume)?,
            claimed_quality: optional(claimed)?,
            line,
        });
    }
    if rows.is_empty() {
        bail!("{source}: no bids after the header");
    }
    Ok(Bids { source, rows })
}

/// The procurement instance as JSON, validated by the library first.
fn instance_json(
    names: &[String],
    players: &Players,
    values: &[f64],
    quality: &[f64],
    bids: &Bids,
    budget: f64,
) -> anyhow::Result<String> {
    let source = &bids.source;
    let mut seen = vec![false; names.len()];
    let mut providers = Vec::new();
    for bid in &bids.rows {
        let Some(player) = names.iter().position(|name| *name == bid.provider) else {
            bail!(
                "{source}: line {}: provider {:?} has no rows in the training set",
                bid.line,
                bid.provider
            );
        };
        if std::mem::replace(&mut seen[player], true) {
            bail!(
                "{source}: line {}: provider {:?} bids twice",
                bid.line,
                bid.provider
            );
        }
        let volume = bid.volume.unwrap_or(players.rows_of(player).len() as f64);
        providers.push(ProviderSpec {
            volume: Some(volume),
            claimed_quality: bid.claimed_quality,
            ..ProviderSpec::new(
                bid.provider.clone(),
                bid.bid,
                quality[player],
                values[player].max(0.0),
            )
        });
    }
    if let Some(player) = seen.iter().position(|seen| !seen) {
        bail!(
            "{source}: provider {:?} of the training set has no bid",
            names[player]
        );
    }
    let spec = InstanceSpec {
        budget,
        providers: providers.clone(),
        ..InstanceSpec::default()
    };
    Instance::new(spec).map_err(|e| anyhow!("{e}"))?;
    let providers: Vec<serde_json::Value> = providers
        .iter()
        .map(|p| {
            let mut object = serde_json::json!({
                "id": p.id,
                "bid": p.bid,
                "quality": p.quality,
                "utility": p.utility,
                "volume": p.volume,
            });
            if let (Some(claimed), Some(map)) = (p.claimed_quality, object.as_object_mut()) {
                map.insert("claimed_quality".to_owned(), claimed.into());
            }
            object
        })
        .collect();
    let json = serde_json::json!({ "budget": budget, "providers": providers });
    let mut text = serde_json::to_string_pretty(&json).context("cannot serialise")?;
    text.push('\n');
    Ok(text)
}
