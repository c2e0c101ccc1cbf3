//! The files of `procura value` and `procura quality` (labelled datasets
//! and bids), and the model options the two commands share.
//!
//! Parsing a dataset, matching a test file's feature columns to the
//! training file's and numbering the classes is
//! [`procura::valuation::table`]'s; this module opens the files and adds to
//! the library's messages, which name the line and the column, the file's
//! name and, for a missing column, the flag that named it. A bids file has
//! the columns `provider`, `bid` and optionally `volume` and
//! `claimed_quality`.

use std::path::Path;

use anyhow::{anyhow, bail, Context};
use procura::valuation::table::{
    Classes, ColumnRole, Columns, CsvReader, ProviderColumn, Table, TableError,
};
use procura::valuation::{Dataset, Knn, Logistic, Model};

/// The learning model, shared by `value` and `quality`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ModelName {
    /// L2-regularised logistic regression (Newton's method).
    Logreg,
    /// k-nearest-neighbours majority vote.
    Knn,
}

/// Model options shared by `value` and `quality`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ModelArgs {
    /// Number of neighbours of the KNN model and of KNN-Shapley.
    #[arg(long, default_value_t = 5)]
    pub k: usize,
    /// Penalty strength λ of logistic regression, (λ/2)‖w‖² on the summed
    /// log-loss: 1/C in scikit-learn's terms.
    #[arg(long, default_value_t = 1.0)]
    pub l2: f64,
}

impl ModelArgs {
    /// The validated model.
    pub(crate) fn model(&self, name: ModelName) -> anyhow::Result<Model> {
        Ok(match name {
            ModelName::Knn => Model::Knn(self.knn()?),
            ModelName::Logreg => {
                Model::Logistic(Logistic::new(self.l2).map_err(|e| anyhow!("--l2: {e}"))?)
            }
        })
    }

    /// The validated KNN configuration.
    pub(crate) fn knn(&self) -> anyhow::Result<Knn> {
        Knn::new(self.k).map_err(|e| anyhow!("--k: {e}"))
    }
}

/// A dataset file as read, with its name for messages.
#[derive(Debug)]
pub(crate) struct File {
    /// The file, for messages.
    pub source: String,
    /// Its table.
    pub table: Table,
}

/// Reads a dataset file. `--label` and `--provider-column` name the
/// special columns; with `provider` [`Need::Required`] the file must have
/// the provider column, with [`Need::Optional`] that column is not a
/// feature when it is there.
pub(crate) fn read(
    path: &Path,
    label: Option<&str>,
    provider: Option<&str>,
    need: Need,
) -> anyhow::Result<File> {
    let source = path.display().to_string();
    let file = std::fs::File::open(path).with_context(|| format!("{source}: cannot read"))?;
    let columns = Columns {
        label,
        provider: match (provider, need) {
            (Some(name), Need::Required) => ProviderColumn::Required(name),
            (Some(name), Need::Optional) => ProviderColumn::Optional(name),
            (None, _) => ProviderColumn::Unused,
        },
    };
    let table = Table::read_csv(std::io::BufReader::new(file), columns)
        .map_err(|e| table_error(&source, &e))?;
    Ok(File { source, table })
}

/// Whether a file must have the provider column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Need {
    /// Missing column is an error.
    Required,
    /// Not a feature when present.
    Optional,
}

/// The library's message after the file's name, and after it the flag
/// that named a missing column.
fn table_error(source: &str, error: &TableError) -> anyhow::Error {
    let flag = match error {
        TableError::MissingColumn {
            role: ColumnRole::Label,
            ..
        } => " (--label)",
        TableError::MissingColumn {
            role: ColumnRole::Provider,
            ..
        } => " (--provider-column)",
        TableError::MissingColumn { .. } => " (--bids)",
        _ => "",
    };
    anyhow!("{source}: {error}{flag}")
}

/// Checks that `other` has the feature columns of `train`, by name, and
/// puts its columns in the training file's order.
pub(crate) fn align_features(train: &File, other: &mut File) -> anyhow::Result<()> {
    other
        .table
        .align_features(&train.table)
        .map_err(|e| anyhow!("{}: {e} ({})", other.source, train.source))
}

/// The classes of all `files`' labels, numbered in one order.
pub(crate) fn classes(files: &[&File]) -> anyhow::Result<Classes> {
    let tables: Vec<&Table> = files.iter().map(|file| &file.table).collect();
    Classes::of(&tables).map_err(|e| {
        let sources: Vec<&str> = files.iter().map(|file| file.source.as_str()).collect();
        anyhow!("{}: {e}", sources.join(", "))
    })
}

/// The file as a library dataset, its labels numbered by `classes`.
pub(crate) fn dataset(classes: &Classes, file: &File) -> anyhow::Result<Dataset> {
    classes
        .dataset(&file.table)
        .map_err(|e| anyhow!("{}: {e}", file.source))
}

/// One row of a bids file.
#[derive(Debug)]
pub(crate) struct Bid {
    /// The provider bidding.
    pub provider: String,
    /// The bid b_i.
    pub bid: f64,
    /// The volume offered, when given.
    pub volume: Option<f64>,
    /// The claimed quality, when given.
    pub claimed_quality: Option<f64>,
    /// The row's line in the file, for messages.
    pub line: u64,
}

/// A bids file as read.
#[derive(Debug)]
pub(crate) struct Bids {
    /// The file, for messages.
    pub source: String,
    /// Its rows, in file order.
    pub rows: Vec<Bid>,
}

/// Reads a bids file: columns `provider` and `bid`, and optionally `volume`
/// and `claimed_quality` (an empty cell there means "not given"). Numbers
/// must be finite.
pub(crate) fn read_bids(path: &Path) -> anyhow::Result<Bids> {
    let source = path.display().to_string();
    let file = std::fs::File::open(path).with_context(|| format!("{source}: cannot read"))?;
    let error = |e: TableError| table_error(&source, &e);
    let mut file = CsvReader::new(std::io::BufReader::new(file)).map_err(error)?;
    let provider = file.column("provider", ColumnRole::Format).map_err(error)?;
    let bid = file.column("bid", ColumnRole::Format).map_err(error)?;
    let volume = file.position("volume");
    let claimed = file.position("claimed_quality");
    let mut rows = Vec::new();
    while let Some(row) = file.next_row().map_err(error)? {
        let optional = |column: Option<usize>| {
            column
                .map(|c| row.optional_number(c))
                .transpose()
                .map(Option::flatten)
        };
        rows.push(Bid {
            provider: row.text(provider).map_err(error)?.to_owned(),
            bid: row.number(bid).map_err(error)?,
            volume: optional(volume).map_err(error)?,
            claimed_quality: optional(claimed).map_err(error)?,
            line: row.line(),
        });
    }
    if rows.is_empty() {
        bail!("{source}: no bids after the header");
    }
    Ok(Bids { source, rows })
}
