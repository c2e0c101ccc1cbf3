//! `procura value`: value each training row, or each provider's rows, by
//! training real models, and write the values as CSV; optionally write a
//! procurement instance whose `utility` and `quality` come from the data.
//!
//! Every flag is checked against the method before anything is read
//! ([`Valuation::of`]): a flag the method does not read is refused, not
//! ignored. The output files are then reserved (their folders must be
//! writable), the files read and the bids checked, and only then does the
//! (possibly long) valuation run. Status lines go to stderr; stdout carries
//! only an output written to `-`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use procura::offer::{instance_from_valuations, Offer, OfferError};
use procura::procurement::{Instance, InstanceSpec};
use procura::valuation::{
    banzhaf_msr, knn_group_shapley, knn_shapley, leave_one_out, quality_scores, tmc_shapley,
    Dataset, Embeddings, Estimate, GroupMethod, KnnShapley, LearningGame, Metric, Model, Players,
    Progress, SamplingConfig, ValuationError,
};
use procura_format::write;

use crate::dataset::{self, Bids, ColumnArgs, ModelArgs, ModelName, Need};
use crate::output::{self, csv_field, Target};
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

impl Method {
    /// The method's name on the command line.
    fn name(self) -> &'static str {
        match self {
            Method::KnnShapley => "knn-shapley",
            Method::Loo => "loo",
            Method::TmcShapley => "tmc-shapley",
            Method::BanzhafMsr => "banzhaf-msr",
        }
    }
}

/// The distance of `--metric`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum MetricName {
    /// Squared Euclidean distance.
    Euclidean,
    /// Cosine distance, 1 − x·r / (‖x‖ ‖r‖).
    Cosine,
}

/// What knn-shapley gives a provider (`--provider-value`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ProviderValue {
    /// The provider's Shapley value, providers as players.
    Shapley,
    /// The sum of the Shapley values of its rows, rows as players.
    RowSum,
}

/// `--truncation` when it is not given (shown in `--help`).
const DEFAULT_TRUNCATION: f64 = 0.01;

/// Value training data by the test accuracy of models trained on it.
///
/// Writes CSV with header `row,value,std_error,samples` (row = 0-based
/// data row of the training file) or, with --provider-column,
/// `provider,value,std_error,samples`: the value, its standard error (0 for
/// the exact methods knn-shapley and loo; inf where a player lacked the
/// samples to estimate one) and the samples it was estimated from
/// (permutations for tmc-shapley, subsets for banzhaf-msr, the same for
/// every player; empty for the exact methods). The utility U(S) is the
/// test accuracy of the model trained on S (the empty set scores the test
/// set's majority-class rate; a single-class S predicts its class);
/// knn-shapley uses the KNN soft-vote utility of Jia et al. A flag that
/// the method does not read is refused. A line saying what was valued
/// goes to stderr (not with --quiet).
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Valuation method.
    #[arg(long, value_enum)]
    method: Method,
    /// Training data: CSV (comma-separated) with a header; its rows (or
    /// providers) are valued.
    #[arg(long)]
    train: PathBuf,
    /// Test data: CSV with the same feature columns (matched by name, in
    /// any order).
    #[arg(long)]
    test: PathBuf,
    /// Output CSV of values, written atomically; `-` writes it to stdout.
    /// Its folder must be writable: that is checked before the valuation.
    #[arg(long)]
    out: PathBuf,
    /// Label column [default: the column named `label`, else the last
    /// column that is neither the provider's nor ignored].
    #[arg(long)]
    label: Option<String>,
    /// Column naming each row's provider: value providers, not rows
    /// [default: none, value rows].
    #[arg(long)]
    provider_column: Option<String>,
    #[command(flatten)]
    columns: ColumnArgs,
    /// Model whose test accuracy is the utility (loo, tmc-shapley,
    /// banzhaf-msr); knn-shapley always uses KNN [default: logreg].
    #[arg(long, value_enum)]
    model: Option<ModelName>,
    #[command(flatten)]
    model_args: ModelArgs,
    /// Most samples (permutations or subsets), at least 1; tmc-shapley and
    /// banzhaf-msr only [default: 1000].
    #[arg(long)]
    samples: Option<usize>,
    /// Seed of the sampling streams; tmc-shapley and banzhaf-msr only
    /// [default: 0].
    #[arg(long)]
    seed: Option<u64>,
    /// Stop sampling once every standard error is at most this (> 0);
    /// tmc-shapley and banzhaf-msr only [default: none, draw every
    /// sample].
    #[arg(long)]
    target_se: Option<f64>,
    /// Relative truncation tolerance, in [0, 1) (0: never truncate);
    /// tmc-shapley only [default: 0.01].
    #[arg(long)]
    truncation: Option<f64>,
    /// Distance of knn-shapley: squared Euclidean, or cosine (1 − cos)
    /// [default: euclidean].
    #[arg(long, value_enum)]
    metric: Option<MetricName>,
    /// Truncated knn-shapley: rank only each test point's K* nearest rows
    /// (K* ≥ --k); every value is then within 1/K* of the exact one
    /// [default: none, exact].
    #[arg(long, value_name = "K*", conflicts_with = "epsilon")]
    neighbours: Option<usize>,
    /// Truncated knn-shapley with K* = max(k, ⌈1/ε⌉): every value within
    /// ε of the exact one; ε in (0, 1] [default: none, exact].
    #[arg(long)]
    epsilon: Option<f64>,
    /// What knn-shapley gives a provider (with --provider-column):
    /// `shapley`, its Shapley value in the game whose players are the
    /// providers, or `row-sum`, the sum of its rows' values [default:
    /// shapley].
    #[arg(long, value_enum)]
    provider_value: Option<ProviderValue>,
    /// Worker threads, at least 1. Results do not depend on it [default:
    /// one per core].
    #[arg(long)]
    threads: Option<usize>,
    /// Print no status line and no progress bar on stderr (errors, and the
    /// providers skipped by --skip-providers-without-bid, still are).
    #[arg(long, short)]
    quiet: bool,
    #[command(flatten)]
    market: Box<MarketArgs>,
}

/// The flags of `--emit-instance`: the bids and the market they make.
/// (Boxed in [`Args`], which would otherwise be much the largest command.)
#[derive(Debug, clap::Args)]
struct MarketArgs {
    /// Also write a procurement instance (JSON, spec §A.1, every default
    /// written out) for `procura clear`: utility = max(0, provider value),
    /// quality = agreement with a reference model trained on --trusted;
    /// `-` writes it to stdout. Needs --provider-column, --bids, --budget
    /// [default: none].
    #[arg(long, requires_all = ["bids", "budget", "provider_column"])]
    emit_instance: Option<PathBuf>,
    /// Bids: CSV with the columns provider (or the --provider-column
    /// name), bid, and optionally volume [default: the provider's row
    /// count] and claimed_quality; no other column.
    #[arg(long, requires = "emit_instance")]
    bids: Option<PathBuf>,
    /// Leave out of the valuation and of the instance the providers of
    /// --train that have no bid (their count is printed on stderr),
    /// instead of refusing the bids file.
    #[arg(long, requires = "bids")]
    skip_providers_without_bid: bool,
    /// Cash budget B of the emitted instance.
    #[arg(long, requires = "emit_instance")]
    budget: Option<f64>,
    /// Token budget R of the emitted instance; `mut`, and `mixed` with
    /// `--liquidity` below 1, need it [default: none, left out of the
    /// instance].
    #[arg(long, requires = "emit_instance")]
    token_budget: Option<f64>,
    /// Liquidity λ of the emitted instance, Mixed-MIA's cash share
    /// [default: 1].
    #[arg(long, requires = "emit_instance")]
    liquidity: Option<f64>,
    /// Token pool Π of the emitted instance, the tokens MUT divides
    /// [default: 1].
    #[arg(long, requires = "emit_instance")]
    token_pool: Option<f64>,
    /// Trusted data for the quality score [default: the test set].
    #[arg(long, requires = "emit_instance")]
    trusted: Option<PathBuf>,
}

/// The valuation asked for, every flag checked against the method: what
/// exists of it is valid, and uses every flag that was given.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Valuation {
    /// KNN-Shapley, exact or truncated, and what a provider gets.
    KnnShapley(KnnShapley, ProviderValue),
    /// Leave-one-out with this model.
    Loo(Model),
    /// Truncated Monte-Carlo Shapley.
    TmcShapley {
        /// The model.
        model: Model,
        /// The sampling.
        config: SamplingConfig,
        /// The relative truncation tolerance, in [0, 1).
        truncation: f64,
    },
    /// Data Banzhaf with maximum sample reuse.
    BanzhafMsr {
        /// The model.
        model: Model,
        /// The sampling.
        config: SamplingConfig,
    },
}

impl Valuation {
    /// Checks the flags of `args` against its method: a flag the method
    /// does not read, or a value out of range, is refused naming the flag.
    fn of(args: &Args) -> anyhow::Result<Valuation> {
        let method = args.method;
        let sampling = matches!(method, Method::TmcShapley | Method::BanzhafMsr);
        let given = [
            ("--samples", args.samples.is_some()),
            ("--seed", args.seed.is_some()),
            ("--target-se", args.target_se.is_some()),
        ];
        if let Some((flag, _)) = given.iter().find(|(_, given)| *given && !sampling) {
            bail!(
                "{flag} does not apply to --method {}: only tmc-shapley and banzhaf-msr draw \
                 samples",
                method.name()
            );
        }
        let knn_flags = [
            ("--metric", args.metric.is_some()),
            ("--neighbours", args.neighbours.is_some()),
            ("--epsilon", args.epsilon.is_some()),
            ("--provider-value", args.provider_value.is_some()),
        ];
        if let Some((flag, _)) = knn_flags.iter().find(|(_, given)| *given) {
            if method != Method::KnnShapley {
                bail!(
                    "{flag} does not apply to --method {}: only knn-shapley reads it",
                    method.name()
                );
            }
        }
        if args.provider_value.is_some() && args.provider_column.is_none() {
            bail!("--provider-value needs --provider-column: without it rows are valued");
        }
        if args.truncation.is_some() && method != Method::TmcShapley {
            bail!(
                "--truncation does not apply to --method {}: only tmc-shapley truncates",
                method.name()
            );
        }
        let model = |name: Option<ModelName>| match name {
            Some(name) => args.model_args.model(name, name.flag()),
            None => args
                .model_args
                .model(ModelName::Logreg, "--model logreg (the default)"),
        };
        let config = || -> anyhow::Result<SamplingConfig> {
            let standard = SamplingConfig::standard();
            SamplingConfig::new(
                args.samples.unwrap_or(standard.samples()),
                args.seed.unwrap_or(standard.seed()),
            )
            .and_then(|config| config.with_target_se(args.target_se))
            .map_err(|e| match e {
                ValuationError::Samples => anyhow!("--samples must be at least 1"),
                ValuationError::TargetSe(se) => anyhow!("--target-se: {se} is not finite and > 0"),
                other => anyhow!("{other}"),
            })
        };
        Ok(match method {
            Method::KnnShapley => {
                if args.model == Some(ModelName::Logreg) {
                    bail!("--method knn-shapley values the KNN utility: drop --model logreg");
                }
                let knn = args.model_args.knn("--method knn-shapley")?;
                let metric = match args.metric.unwrap_or(MetricName::Euclidean) {
                    MetricName::Euclidean => Metric::Euclidean,
                    MetricName::Cosine => Metric::Cosine,
                };
                let mut config = KnnShapley::new(knn).with_metric(metric);
                if let Some(k_star) = args.neighbours {
                    config = config
                        .with_neighbours(k_star)
                        .map_err(|e| anyhow!("--{e}"))?;
                }
                if let Some(epsilon) = args.epsilon {
                    config = config.with_epsilon(epsilon).map_err(|e| anyhow!("--{e}"))?;
                }
                let provider_value = args.provider_value.unwrap_or(ProviderValue::Shapley);
                let grouped =
                    args.provider_column.is_some() && provider_value == ProviderValue::Shapley;
                if grouped && config.providers_game().is_none() {
                    bail!(
                        "a provider's Shapley value (--provider-value shapley, the default) is \
                         computed for the exact Euclidean game: drop --metric, --neighbours and \
                         --epsilon, or value --provider-value row-sum"
                    );
                }
                Valuation::KnnShapley(config, provider_value)
            }
            Method::Loo => Valuation::Loo(model(args.model)?),
            Method::TmcShapley => {
                let truncation = args.truncation.unwrap_or(DEFAULT_TRUNCATION);
                if !(0.0..1.0).contains(&truncation) {
                    bail!(
                        "--truncation: {truncation} is not in [0, 1) (a relative tolerance; 0 \
                         never truncates)"
                    );
                }
                Valuation::TmcShapley {
                    model: model(args.model)?,
                    config: config()?,
                    truncation,
                }
            }
            Method::BanzhafMsr => Valuation::BanzhafMsr {
                model: model(args.model)?,
                config: config()?,
            },
        })
    }

    /// The model whose accuracy is the utility (and the reference model of
    /// the quality score).
    fn model(&self) -> Model {
        match *self {
            Valuation::KnnShapley(config, _) => Model::Knn(config.knn()),
            Valuation::Loo(model)
            | Valuation::TmcShapley { model, .. }
            | Valuation::BanzhafMsr { model, .. } => model,
        }
    }
}

/// Runs the command and returns what it prints on stdout: the outputs
/// written to `-`, if any.
pub(crate) fn run(args: &Args) -> anyhow::Result<String> {
    let valuation = Valuation::of(args)?;
    crate::threads::with_threads(args.threads, || value(args, valuation))
}

/// Where the values and the instance go, each a reserved file or stdout.
struct Outputs {
    values: Output,
    instance: Option<Output>,
}

/// One output: stdout, or a file whose folder was found writable.
enum Output {
    Stdout,
    File(output::Reserved),
}

impl Output {
    /// Reserves `path`, or stdout for `-`.
    fn reserve(path: &Path) -> anyhow::Result<Output> {
        Ok(match Target::of(path) {
            Target::Stdout => Output::Stdout,
            Target::File(path) => Output::File(output::reserve(&path)?),
        })
    }
}

impl Outputs {
    /// Checks `--out` and `--emit-instance` before anything is read: at
    /// most one goes to stdout, they are not one file, and each file's
    /// folder is writable.
    fn reserve(args: &Args) -> anyhow::Result<Outputs> {
        if let Some(instance) = &args.market.emit_instance {
            let stdout = Path::new("-");
            if args.out == stdout && instance == stdout {
                bail!("--out and --emit-instance are both - (stdout): write one to a file");
            }
            if args.out == *instance {
                bail!(
                    "--out and --emit-instance are the same file, {}",
                    instance.display()
                );
            }
        }
        Ok(Outputs {
            values: Output::reserve(&args.out)?,
            instance: args
                .market
                .emit_instance
                .as_deref()
                .map(Output::reserve)
                .transpose()?,
        })
    }
}

fn value(args: &Args, valuation: Valuation) -> anyhow::Result<String> {
    let outputs = Outputs::reserve(args)?;
    if dataset::is_npz(&args.train) || dataset::is_npz(&args.test) {
        return value_embeddings(args, valuation, outputs);
    }
    let read = |path: &PathBuf, need| {
        dataset::read(
            path,
            args.label.as_deref(),
            args.provider_column.as_deref(),
            &args.columns,
            need,
        )
    };
    let mut train_file = read(&args.train, Need::Required)?;
    // The bids are read and checked before the (possibly long) valuation.
    let bids = match (&args.market.emit_instance, &args.market.bids) {
        (Some(_), Some(path)) => Some(dataset::read_bids(path, args.provider_column.as_deref())?),
        _ => None,
    };
    if let (Some(bids), true) = (&bids, args.market.skip_providers_without_bid) {
        skip_providers_without_bid(&mut train_file, bids)?;
    }
    let mut test_file = read(&args.test, Need::Optional)?;
    dataset::align_features(&train_file, &mut test_file)?;
    let trusted_file = match (&args.market.emit_instance, &args.market.trusted) {
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
    let trusted = match &trusted_file {
        Some(file) => Some(dataset::dataset(&classes, file)?),
        None => None,
    };
    let model = valuation.model();
    dataset::check_neighbours(
        &model,
        train.n_rows(),
        &format!("the training set ({})", train_file.source),
    )?;
    let (names, players) = match train_file.table.players() {
        Some((names, players)) => (Some(names), players),
        None => (None, Players::points(&train)),
    };
    // With placeholder quality and utility 1, every rule of the instance
    // that does not depend on the valuation is checked now.
    let offer = match (&args.market.emit_instance, bids, &names) {
        (Some(path), Some(bids), Some(names)) => {
            let (reference, source) = match (&trusted, &trusted_file) {
                (Some(data), Some(file)) => (data, &file.source),
                _ => (&test, &test_file.source),
            };
            dataset::check_neighbours(
                &model,
                reference.n_rows(),
                &format!("the trusted set ({source})"),
            )?;
            let ones = vec![1.0; names.len()];
            instance(args, names, &players, &ones, &ones, &bids)
                .with_context(|| format!("{}: cannot build the instance", path.display()))?;
            Some((path, bids))
        }
        _ => None,
    };

    let estimate = estimate(args, valuation, Rows::Tables(&train, &test), &players)?;
    let csv = values_csv(valuation, names.as_deref(), &estimate);

    let mut stdout = String::new();
    let mut staged = Vec::new();
    let mut place = |output: Output, contents: &[u8], path: &Path| -> anyhow::Result<()> {
        match output {
            Output::Stdout => stdout.push_str(&String::from_utf8_lossy(contents)),
            Output::File(reserved) => staged.push((reserved.fill(contents)?, path.to_path_buf())),
        }
        Ok(())
    };
    place(outputs.values, csv.as_bytes(), &args.out)?;
    if let (Some((path, bids)), Some(names), Some(output)) = (&offer, &names, outputs.instance) {
        let reference = trusted.as_ref().unwrap_or(&test);
        let quality = quality_scores(reference, &train, &players, &model)
            .map_err(|e| anyhow!("quality score: {e}"))?;
        let json = instance(args, names, &players, &estimate.values, &quality, bids)
            .map(|instance| write::procurement_instance(&instance))
            .with_context(|| format!("{}: cannot build the instance", path.display()))?;
        place(output, json.as_bytes(), path)?;
    }
    for (file, path) in staged {
        output::commit(file, &path)?;
    }
    if !args.quiet {
        eprint!(
            "{}",
            summary(args, valuation, names.is_some(), &estimate, test.n_rows())
        );
    }
    Ok(stdout)
}

/// `procura value` on embeddings: `--train` and `--test` are `.npz`
/// files (arrays `x`, `y` and optionally `provider`), read whole in their
/// own precision; there are no columns to choose and no instance to emit.
fn value_embeddings(args: &Args, valuation: Valuation, outputs: Outputs) -> anyhow::Result<String> {
    let refused = [
        ("--label", args.label.is_some()),
        ("--emit-instance", args.market.emit_instance.is_some()),
        ("--ignore-column or --features", args.columns.given()),
    ];
    dataset::refuse_table_flags(&refused)?;
    let train_file = dataset::read_npz(&args.train)?;
    let test_file = dataset::read_npz(&args.test)?;
    let (train, test) = dataset::embeddings(&train_file, &test_file)?;
    let (names, players) = match &args.provider_column {
        Some(column) => {
            let (names, players) = dataset::npz_players(&train_file, column)?;
            (Some(names), players)
        }
        None => (None, Players::points(&train)),
    };
    dataset::check_neighbours(
        &valuation.model(),
        train.labels().len(),
        &format!("the training set ({})", train_file.source),
    )?;
    let estimate = estimate(args, valuation, Rows::Embeddings(&train, &test), &players)?;
    let csv = values_csv(valuation, names.as_deref(), &estimate);
    let stdout = match outputs.values {
        Output::Stdout => csv,
        Output::File(reserved) => {
            output::commit(reserved.fill(csv.as_bytes())?, &args.out)?;
            String::new()
        }
    };
    if !args.quiet {
        let test_rows = Rows::Embeddings(&train, &test).test_rows();
        eprint!(
            "{}",
            summary(args, valuation, names.is_some(), &estimate, test_rows)
        );
    }
    Ok(stdout)
}

/// Drops from the training file the rows of the providers that do not bid,
/// and says on stderr how many were skipped; refuses a file left empty.
fn skip_providers_without_bid(train: &mut dataset::File, bids: &Bids) -> anyhow::Result<()> {
    let bidders: HashSet<&str> = bids.rows.iter().map(|bid| bid.provider.as_str()).collect();
    let rows = train.table.n_rows();
    let skipped = train
        .table
        .retain_providers(|name| bidders.contains(name))
        .map_err(|_| {
            anyhow!(
                "{}: no provider of the training set ({}) has a bid",
                bids.source,
                train.source
            )
        })?;
    if !skipped.is_empty() {
        let names: Vec<String> = skipped.iter().map(|name| format!("{name:?}")).collect();
        eprintln!(
            "skipped {} provider{} without a bid ({}): {} rows of {} left out",
            skipped.len(),
            if skipped.len() == 1 { "" } else { "s" },
            names.join(", "),
            rows - train.table.n_rows(),
            train.source
        );
    }
    Ok(())
}

/// The values CSV: one line per player, with its standard error and the
/// samples behind it (empty for an exact method).
fn values_csv(valuation: Valuation, names: Option<&[String]>, estimate: &Estimate) -> String {
    let samples = match valuation {
        // The providers' KNN game is sampled when too large to be exact.
        Valuation::KnnShapley(..) if estimate.samples > 0 => estimate.samples.to_string(),
        Valuation::KnnShapley(..) | Valuation::Loo(_) => String::new(),
        Valuation::TmcShapley { .. } | Valuation::BanzhafMsr { .. } => estimate.samples.to_string(),
    };
    let key = if names.is_some() { "provider" } else { "row" };
    let mut csv = format!("{key},value,std_error,samples\n");
    for (player, (value, se)) in estimate.values.iter().zip(&estimate.std_errors).enumerate() {
        let key = match names {
            Some(names) => csv_field(&names[player]).into_owned(),
            None => player.to_string(),
        };
        csv.push_str(&format!("{key},{value},{se},{samples}\n"));
    }
    csv
}

/// The status line: what was valued, how, and where it went.
fn summary(
    args: &Args,
    valuation: Valuation,
    providers: bool,
    estimate: &Estimate,
    test_rows: usize,
) -> String {
    let what = if providers { "providers" } else { "rows" };
    let how = match valuation {
        Valuation::KnnShapley(config, _) => match (config.neighbours(), estimate.samples) {
            (Some(k_star), _) => format!(
                "truncated to {k_star} neighbours, each value within {} of exact, over {} test \
                 rows",
                config.error_bound(),
                test_rows
            ),
            (None, 0) => format!("exact, over {test_rows} test rows"),
            (None, samples) => format!("{samples} permutations of the providers"),
        },
        Valuation::Loo(_) => format!("exact, {} models retrained", estimate.values.len() + 1),
        Valuation::TmcShapley { .. } | Valuation::BanzhafMsr { .. } => {
            let se = estimate.std_errors.iter().copied().fold(0.0, f64::max);
            format!("{} samples, largest standard error {se}", estimate.samples)
        }
    };
    let into = match Target::of(&args.out) {
        Target::Stdout => "stdout".to_owned(),
        Target::File(path) => path.display().to_string(),
    };
    format!(
        "valued {} {what} ({how}) into {into}\n",
        estimate.values.len()
    )
}

/// The training and test rows, as tables read from CSV or as embeddings
/// read from `.npz`.
#[derive(Clone, Copy)]
enum Rows<'a> {
    /// Feature tables.
    Tables(&'a Dataset, &'a Dataset),
    /// Embeddings, in their own precision.
    Embeddings(&'a Embeddings, &'a Embeddings),
}

impl Rows<'_> {
    /// Test points.
    fn test_rows(self) -> usize {
        match self {
            Rows::Tables(_, test) => test.n_rows(),
            Rows::Embeddings(_, test) => test.labels().len(),
        }
    }
}

/// Runs the valuation with a progress bar (none with --quiet).
fn estimate(
    args: &Args,
    valuation: Valuation,
    rows: Rows<'_>,
    players: &Players,
) -> anyhow::Result<Estimate> {
    let bar = if args.quiet {
        indicatif::ProgressBar::hidden()
    } else {
        progress::bar(0, "valuing")
    };
    let report = |progress: Progress| {
        bar.set_length(progress.total as u64);
        bar.set_position(progress.done as u64);
    };
    let grouped = matches!(valuation, Valuation::KnnShapley(_, ProviderValue::Shapley))
        && args.provider_column.is_some();
    if let (Valuation::KnnShapley(config, _), false) = (valuation, grouped) {
        let result = knn_rows(rows, config, players, &report);
        return finish(&bar, result);
    }
    // The models, and the providers' game, read f64 features: embeddings
    // are widened once.
    let widened;
    let (train, test) = match rows {
        Rows::Tables(train, test) => (train, test),
        Rows::Embeddings(train, test) => {
            let widen = |data: &Embeddings| data.to_dataset().map_err(|e| anyhow!("{e}"));
            widened = (widen(train)?, widen(test)?);
            (&widened.0, &widened.1)
        }
    };
    let game = |model| {
        LearningGame::new(train, test, players, model).map_err(|e| match e {
            // The model is too large for the training file's columns and
            // classes (procura_valuation::limits).
            ValuationError::Model(e) => anyhow!("{}: {e} (--model)", args.train.display()),
            other => anyhow!("{}: {other}", args.test.display()),
        })
    };
    let result = match valuation {
        Valuation::KnnShapley(config, _) => {
            let knn = config.knn();
            let sampling = SamplingConfig::standard();
            let method = GroupMethod::auto(players.n_players(), test.n_rows(), &knn, sampling);
            knn_group_shapley(train, test, &knn, players, method, &report)
        }
        Valuation::Loo(model) => Ok(leave_one_out(&game(model)?, &report)),
        Valuation::TmcShapley {
            model,
            config,
            truncation,
        } => tmc_shapley(&game(model)?, &config, truncation, &report),
        Valuation::BanzhafMsr { model, config } => banzhaf_msr(&game(model)?, &config, &report),
    };
    finish(&bar, result)
}

/// Clears the progress bar and words a library error.
fn finish(
    bar: &indicatif::ProgressBar,
    result: Result<Estimate, ValuationError>,
) -> anyhow::Result<Estimate> {
    bar.finish_and_clear();
    result.map_err(|e| anyhow!("{e}"))
}

/// KNN-Shapley of the rows (a provider's value their sum), exact or
/// truncated: standard errors 0 and one "sample" per test point.
fn knn_rows(
    rows: Rows<'_>,
    config: KnnShapley,
    players: &Players,
    report: &(dyn Fn(Progress) + Sync),
) -> Result<Estimate, ValuationError> {
    let values = match rows {
        Rows::Tables(train, test) => knn_shapley(train, test, config, players, report)?,
        Rows::Embeddings(train, test) => knn_shapley(train, test, config, players, report)?,
    };
    Ok(Estimate {
        std_errors: vec![0.0; values.len()],
        values,
        samples: 0,
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
        budget: args.market.budget.unwrap_or_default(),
        token_budget: args.market.token_budget,
        liquidity: args.market.liquidity,
        token_pool: args.market.token_pool,
        providers: Vec::new(),
    };
    let source = &bids.source;
    instance_from_valuations(market, names, players, quality, values, &offers).map_err(|error| {
        let line = |offer: usize| bids.rows.get(offer).map_or(0, |bid| bid.line);
        match error {
            OfferError::UnknownProvider { offer, .. } | OfferError::Twice { offer, .. } => {
                anyhow!("{source}: line {}: {error}", line(offer))
            }
            OfferError::NoOffer { .. } => anyhow!(
                "{source}: {error} (--skip-providers-without-bid leaves such providers out)"
            ),
            other => anyhow!("{other}"),
        }
    })
}

#[cfg(test)]
mod tests {
    use clap::Args as _;

    use super::*;

    /// Every option's help states its default, and the defaults stated are
    /// the ones the code applies.
    #[test]
    fn the_help_states_every_default() {
        let command = Args::augment_args(clap::Command::new("value"));
        let help = |id: &str| {
            command
                .get_arguments()
                .find(|arg| arg.get_id() == id)
                .and_then(|arg| arg.get_help())
                .map(|help| {
                    help.to_string()
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default()
        };
        let standard = SamplingConfig::standard();
        let expected = [
            ("samples", format!("[default: {}]", standard.samples())),
            ("seed", format!("[default: {}]", standard.seed())),
            ("truncation", format!("[default: {DEFAULT_TRUNCATION}]")),
            ("k", format!("[default: {}]", dataset::DEFAULT_K)),
            ("l2", format!("[default: {}]", dataset::DEFAULT_L2)),
            ("model", "[default: logreg]".to_owned()),
        ];
        for (id, default) in expected {
            assert!(help(id).contains(&default), "--{id}: {:?}", help(id));
        }
        // Required options, switches and the market's own fields (whose
        // absence is an error or has no default to state) aside, every
        // option says what it is when not given.
        let exempt = [
            "method",
            "train",
            "test",
            "out",
            "quiet",
            "skip_providers_without_bid",
            "budget",
            "bids",
        ];
        for arg in command.get_arguments() {
            let id = arg.get_id().as_str();
            if !exempt.contains(&id) {
                assert!(help(id).contains("[default: "), "--{id}: {:?}", help(id));
            }
        }
    }
}
