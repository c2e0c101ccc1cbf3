//! `procura quality`: score each provider's labels by their agreement with
//! a reference model trained on a trusted set, and print CSV.

use std::path::PathBuf;

use anyhow::anyhow;
use procura::valuation::{quality_scores, ValuationError};

use crate::dataset::{self, ModelArgs, ModelName, Need};
use crate::output::csv_field;

/// Score each provider's labels against a model trained on trusted data.
///
/// Prints CSV `provider,quality,rows`: q_i, the share of provider i's rows
/// whose label the reference model (trained on --trusted) predicts. q is
/// capped by the reference model's own accuracy and counts hard rows as
/// disagreements: compare providers with one another, not with 1.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Trusted labelled data: CSV with a header.
    #[arg(long)]
    trusted: PathBuf,
    /// The providers' data: CSV with a provider column and the trusted
    /// data's feature columns (matched by name, in any order).
    #[arg(long)]
    data: PathBuf,
    /// Column naming each row's provider.
    #[arg(long)]
    provider_column: String,
    /// Label column (default: the column named `label`, else the last one).
    #[arg(long)]
    label: Option<String>,
    /// Reference model.
    #[arg(long, value_enum, default_value = "logreg")]
    model: ModelName,
    #[command(flatten)]
    model_args: ModelArgs,
}

/// Runs the command and returns the CSV it prints.
pub(crate) fn run(args: &Args) -> anyhow::Result<String> {
    let model = args.model_args.model(args.model)?;
    let read = |path, need| {
        dataset::read(
            path,
            args.label.as_deref(),
            Some(&args.provider_column),
            need,
        )
    };
    let data_file = read(&args.data, Need::Required)?;
    let mut trusted_file = read(&args.trusted, Need::Optional)?;
    dataset::align_features(&data_file, &mut trusted_file)?;
    let classes = dataset::classes(&[&data_file, &trusted_file])?;
    let data = dataset::dataset(&classes, &data_file)?;
    let trusted = dataset::dataset(&classes, &trusted_file)?;
    let (names, players) = data_file
        .table
        .players()
        .ok_or_else(|| anyhow!("{}: no provider column", data_file.source))?;
    let quality = quality_scores(&trusted, &data, &players, &model).map_err(|e| match e {
        // The reference model is too large for the trusted file's columns
        // and classes (procura_valuation::limits).
        ValuationError::Model(e) => anyhow!("{}: {e} (--model)", trusted_file.source),
        other => anyhow!("{other}"),
    })?;
    let mut csv = String::from("provider,quality,rows\n");
    for (player, q) in quality.iter().enumerate() {
        csv.push_str(&format!(
            "{},{q},{}\n",
            csv_field(&names[player]),
            players.rows_of(player).len()
        ));
    }
    Ok(csv)
}
