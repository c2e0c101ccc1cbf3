//! `procura quality`: score each provider's labels by their agreement with
//! a reference model trained on a trusted set, and print CSV.

use std::path::PathBuf;

use anyhow::anyhow;
use procura::valuation::{quality_scores, Dataset, Embeddings, Model, Players, ValuationError};

use crate::dataset::{self, ColumnArgs, ModelArgs, ModelName, Need};
use crate::output::csv_field;

/// Score each provider's labels against a model trained on trusted data.
///
/// Prints CSV `provider,quality,rows`: q_i, the share of provider i's rows
/// whose label the reference model (trained on --trusted) predicts. q is
/// capped by the reference model's own accuracy and counts hard rows as
/// disagreements: compare providers with one another, not with 1. A flag
/// of the other model (--k with logreg, --l2 with knn) is refused.
///
/// Both files may instead be `.npz` embeddings (arrays x, y and, in
/// --data, provider, with --provider-column provider), as `procura value`
/// reads them.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Trusted labelled data: CSV (comma-separated) with a header, or
    /// `.npz` embeddings.
    #[arg(long)]
    trusted: PathBuf,
    /// The providers' data: CSV with a provider column and the trusted
    /// data's feature columns (matched by name, in any order), or `.npz`
    /// embeddings with an array `provider`.
    #[arg(long)]
    data: PathBuf,
    /// Column naming each row's provider.
    #[arg(long)]
    provider_column: String,
    /// Label column [default: the column named `label`, else the last
    /// column that is neither the provider's nor ignored].
    #[arg(long)]
    label: Option<String>,
    #[command(flatten)]
    columns: ColumnArgs,
    /// Reference model.
    #[arg(long, value_enum, default_value = "logreg")]
    model: ModelName,
    #[command(flatten)]
    model_args: ModelArgs,
    /// Worker threads, at least 1 [default: one per core]. Results do not
    /// depend on it.
    #[arg(long)]
    threads: Option<usize>,
}

/// Runs the command and returns the CSV it prints.
pub(crate) fn run(args: &Args) -> anyhow::Result<String> {
    crate::threads::with_threads(args.threads, || run_in_pool(args))
}

fn run_in_pool(args: &Args) -> anyhow::Result<String> {
    let model = args.model_args.model(args.model, args.model.flag())?;
    if dataset::is_npz(&args.data) || dataset::is_npz(&args.trusted) {
        return quality_of_embeddings(args, &model);
    }
    let read = |path, need| {
        dataset::read(
            path,
            args.label.as_deref(),
            Some(&args.provider_column),
            &args.columns,
            need,
        )
    };
    let data_file = read(&args.data, Need::Required)?;
    let mut trusted_file = read(&args.trusted, Need::Optional)?;
    dataset::align_features(&data_file, &mut trusted_file)?;
    let classes = dataset::classes(&[&data_file, &trusted_file])?;
    let data = dataset::dataset(&classes, &data_file)?;
    let trusted = dataset::dataset(&classes, &trusted_file)?;
    dataset::check_neighbours(
        &model,
        trusted.n_rows(),
        &format!("the trusted set ({})", trusted_file.source),
    )?;
    let (names, players) = data_file
        .table
        .players()
        .ok_or_else(|| anyhow!("{}: no provider column", data_file.source))?;
    let quality = scores(&trusted, &data, &players, &model, &trusted_file.source)?;
    Ok(quality_csv(&names, &players, &quality))
}

/// `procura quality` on `.npz` embeddings: the reference model trains on
/// an f64 copy of the trusted rows.
fn quality_of_embeddings(args: &Args, model: &Model) -> anyhow::Result<String> {
    let refused = [
        ("--label", args.label.is_some()),
        ("--ignore-column or --features", args.columns.given()),
    ];
    dataset::refuse_table_flags(&refused)?;
    let data_file = dataset::read_npz(&args.data)?;
    let trusted_file = dataset::read_npz(&args.trusted)?;
    let (data, trusted) = dataset::embeddings(&data_file, &trusted_file)?;
    let (names, players) = dataset::npz_players(&data_file, &args.provider_column)?;
    let widen =
        |rows: &Embeddings, source: &str| rows.to_dataset().map_err(|e| anyhow!("{source}: {e}"));
    let data = widen(&data, &data_file.source)?;
    let trusted = widen(&trusted, &trusted_file.source)?;
    dataset::check_neighbours(
        model,
        trusted.n_rows(),
        &format!("the trusted set ({})", trusted_file.source),
    )?;
    let quality = scores(&trusted, &data, &players, model, &trusted_file.source)?;
    Ok(quality_csv(&names, &players, &quality))
}

/// The quality scores, a library error worded for the command line.
fn scores(
    trusted: &Dataset,
    data: &Dataset,
    players: &Players,
    model: &Model,
    trusted_source: &str,
) -> anyhow::Result<Vec<f64>> {
    quality_scores(trusted, data, players, model).map_err(|e| match e {
        // The reference model is too large for the trusted file's columns
        // and classes (procura_valuation::limits).
        ValuationError::Model(e) => anyhow!("{trusted_source}: {e} (--model)"),
        other => anyhow!("{other}"),
    })
}

/// The CSV `provider,quality,rows`.
fn quality_csv(names: &[String], players: &Players, quality: &[f64]) -> String {
    let mut csv = String::from("provider,quality,rows\n");
    for (player, q) in quality.iter().enumerate() {
        csv.push_str(&format!(
            "{},{q},{}\n",
            csv_field(&names[player]),
            players.rows_of(player).len()
        ));
    }
    csv
}
