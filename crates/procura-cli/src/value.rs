//! `procura value`: value each training row, or each provider's rows, by
//! training real models, and write the values as CSV; optionally write a
//! procurement instance whose `utility` and `quality` come from the data.

use std::path::PathBuf;

use anyhow::{anyhow, bail, Context};
use procura::offer::{instance_from_valuations, Offer, OfferError};
use procura::procurement::{Instance, InstanceSpec};
use procura::valuation::{
    banzhaf_msr, knn_shapley, leave_one_out, quality_scores, tmc_shapley, Dataset, Estimate,
    LearningGame, Model, Players, Progress, SamplingConfig, ValuationError,
};
use procura_format::write;

use crate::dataset::{self, Bids, ModelArgs, ModelName, Need};
use crate::output::{self, csv_field};
use crate::progress;

/// Valuation method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Method {
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
pub(crate) struct Args {
    /// Valuation method.
    #[arg(long, value_enum)]
    method: Method,
    /// Training data: CSV with a header; its rows (or providers) are valued.
    #[arg(long)]
    train: PathBuf,
    /// Test data: CSV with the same feature columns (matched by name, in
    /// any order).
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
    #[arg(long, default_value_t = SamplingConfig::standard().samples())]
    samples: usize,
    /// Seed of the sampling streams.
    #[arg(long, default_value_t = SamplingConfig::standard().seed())]
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
    /// Also write a procurement instance (JSON, spec §A.1, every default
    /// written out) for `procura clear`: utility = max(0, provider value),
    /// quality = agreement with a reference model trained on --trusted.
    /// Needs --provider-column, --bids, --budget.
    #[arg(long, requires_all = ["bids", "budget", "provider_column"])]
    emit_instance: Option<PathBuf>,
    /// Bids: CSV with columns provider, bid and optional volume (default: the
    /// provider's row count) and claimed_quality.
    #[arg(long, requires = "emit_instance")]
    bids: Option<PathBuf>,
    /// Cash budget B of the emitted instance.
    #[arg(long, requires = "emit_instance")]
    budget: Option<f64>,
    /// Token budget R of the emitted instance (default: none, that is 0;
    /// `mut` needs it).
    #[arg(long, requires = "emit_instance")]
    token_budget: Option<f64>,
    /// Liquidity λ of the emitted instance, Mixed-MIA's cash share
    /// (default 1).
    #[arg(long, requires = "emit_instance")]
    liquidity: Option<f64>,
    /// Token pool Π of the emitted instance, the tokens MUT divides
    /// (default 1).
    #[arg(long, requires = "emit_instance")]
    token_pool: Option<f64>,
    /// Trusted data for the quality score (default: the test set).
    #[arg(long, requires = "emit_instance")]
    trusted: Option<PathBuf>,
}

/// Runs the command and returns its one-line summary.
pub(crate) fn run(args: &Args) -> anyhow::Result<String> {
    crate::threads::with_threads(args.threads, || value(args))
}

fn value(args: &Args) -> anyhow::Result<String> {
    let model = match (args.method, args.model) {
        (Method::KnnShapley, Some(ModelName::Logreg)) => {
            bail!("--method knn-shapley values the KNN utility: drop --model logreg")
        }
        (Method::KnnShapley, _) => Model::Knn(args.model_args.knn()?),
        (_, name) => args.model_args.model(name.unwrap_or(ModelName::Logreg))?,
    };
    let read = |path: &PathBuf, need| {
        dataset::read(
            path,
            args.label.as_deref(),
            args.provider_column.as_deref(),
            need,
        )
    };
    let train_file = read(&args.train, Need::Required)?;
    let mut test_file = read(&args.test, Need::Optional)?;
    dataset::align_features(&train_file, &mut test_file)?;
    let trusted_file = match (&args.emit_instance, &args.trusted) {
        (Some(_), Some(path)) => {
            let mut file = read(path, Need::Optional)?;
            dataset::align_features(&train_file, &mut file)?;
            Some(file)
        }
        _ => None,
    };
    let mut files = vec![&train_file, &test_file];
    files.extend(trusted_file.as_ref());
    let classes = dataset::classes(&files)?;
    let train = dataset::dataset(&classes, &train_file)?;
    let test = dataset::dataset(&classes, &test_file)?;
    let (names, players) = match train_file.table.players() {
        Some((names, players)) => (Some(names), players),
        None => (None, Players::points(&train)),
    };
    // The bids are read and checked before the (possibly long) valuation:
    // with placeholder quality and utility 1, every rule of the instance
    // that does not depend on the valuation is checked now.
    let offer = match (&args.emit_instance, &args.bids, &names) {
        (Some(path), Some(bids), Some(names)) => {
            let bids = dataset::read_bids(bids)?;
            let ones = vec![1.0; names.len()];
            instance(args, names, &players, &ones, &ones, &bids)
                .with_context(|| format!("{}: cannot build the instance", path.display()))?;
            Some((path, bids))
        }
        _ => None,
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
    if let (Some((path, bids)), Some(names)) = (&offer, &names) {
        let loaded;
        let trusted = match &trusted_file {
            Some(file) => {
                loaded = dataset::dataset(&classes, file)?;
                &loaded
            }
            None => &test,
        };
        let quality = quality_scores(trusted, &train, &players, &model)
            .map_err(|e| anyhow!("quality score: {e}"))?;
        let json = instance(args, names, &players, &estimate.values, &quality, bids)
            .map(|instance| write::procurement_instance(&instance))
            .with_context(|| format!("{}: cannot build the instance", path.display()))?;
        staged.push((output::stage(path, json.as_bytes())?, (*path).clone()));
    }
    for (file, path) in staged {
        output::commit(file, &path)?;
    }
    let what = if names.is_some() { "providers" } else { "rows" };
    let how = match args.method {
        Method::KnnShapley => format!("exact, over {} test rows", test.n_rows()),
        Method::Loo => format!("exact, {} models retrained", estimate.values.len() + 1),
        Method::TmcShapley | Method::BanzhafMsr => {
            let se = estimate.std_errors.iter().copied().fold(0.0, f64::max);
            format!("{} samples, largest standard error {se}", estimate.samples)
        }
    };
    Ok(format!(
        "valued {} {what} ({how}) into {}\n",
        estimate.values.len(),
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
    let bar = progress::bar(0, "valuing");
    let report = |progress: Progress| {
        bar.set_length(progress.total as u64);
        bar.set_position(progress.done as u64);
    };
    let result = match (args.method, model) {
        (Method::KnnShapley, Model::Knn(knn)) => knn_shapley(train, test, &knn, players, &report)
            .map(|values| Estimate {
                std_errors: vec![0.0; values.len()],
                values,
                samples: test.n_rows(),
            }),
        (method, model) => {
            let game = LearningGame::new(train, test, players, model).map_err(|e| match e {
                // The model is too large for the training file's columns
                // and classes (procura_valuation::limits).
                ValuationError::Model(e) => anyhow!("{}: {e} (--model)", args.train.display()),
                other => anyhow!("{}: {other}", args.test.display()),
            })?;
            // Only the sampling methods read --samples, --seed and
            // --target-se; the config checks them when it is built.
            let config =
                || SamplingConfig::new(args.samples, args.seed)?.with_target_se(args.target_se);
            match method {
                Method::Loo => Ok(leave_one_out(&game, &report)),
                Method::TmcShapley => config()
                    .and_then(|config| tmc_shapley(&game, &config, args.truncation, &report)),
                _ => config().and_then(|config| banzhaf_msr(&game, &config, &report)),
            }
        }
    };
    bar.finish_and_clear();
    result.map_err(|e| match e {
        ValuationError::Samples => anyhow!("--samples must be at least 1"),
        ValuationError::TargetSe(se) => {
            anyhow!("--target-se: {se} is not finite and > 0")
        }
        ValuationError::Truncation(t) => {
            anyhow!("--truncation: {t} is not finite and ≥ 0")
        }
        other => anyhow!("{other}"),
    })
}

/// The procurement instance of the bids, priced by the valuation
/// ([`procura::offer::instance_from_valuations`]: utility = max(0, value),
/// volume by default the provider's row count), on the market of
/// `--budget`, `--token-budget`, `--liquidity` and `--token-pool`,
/// validated by the library (whose errors name the field). Every provider
/// with rows must bid, once, and no one else; an error names the bids
/// file's line.
fn instance(
    args: &Args,
    names: &[String],
    players: &Players,
    values: &[f64],
    quality: &[f64],
    bids: &Bids,
) -> anyhow::Result<Instance> {
    let offers: Vec<Offer> = bids
        .rows
        .iter()
        .map(|bid| Offer {
            volume: bid.volume,
            claimed_quality: bid.claimed_quality,
            ..Offer::new(bid.provider.clone(), bid.bid)
        })
        .collect();
    let market = InstanceSpec {
        budget: args.budget.unwrap_or_default(),
        token_budget: args.token_budget,
        liquidity: args.liquidity,
        token_pool: args.token_pool,
        providers: Vec::new(),
    };
    let source = &bids.source;
    instance_from_valuations(market, names, players, quality, values, &offers).map_err(|error| {
        let line = |offer: usize| bids.rows.get(offer).map_or(0, |bid| bid.line);
        match error {
            OfferError::UnknownProvider { offer, .. } | OfferError::Twice { offer, .. } => {
                anyhow!("{source}: line {}: {error}", line(offer))
            }
            OfferError::NoOffer { .. } => anyhow!("{source}: {error}"),
            other => anyhow!("{other}"),
        }
    })
}
