//! The files of `procura value` and `procura quality` (labelled datasets
//! and bids), and the model options the two commands share.
//!
//! Parsing a dataset, matching a test file's feature columns to the
//! training file's and numbering the classes is
//! [`procura::valuation::table`]'s; this module opens the files and adds to
//! the library's messages, which name the line and the column, the file's
//! name and, for a missing column, the flag that named it. A bids file has
//! the columns `provider` (or the `--provider-column` name), `bid` and
//! optionally `volume` and `claimed_quality`, and no other.

use std::path::Path;

use anyhow::{anyhow, bail, Context};
use procura::valuation::table::{
    Classes, ColumnRole, Columns, CsvReader, FeatureColumns, ProviderColumn, Table, TableError,
};
use procura::valuation::{npz, Dataset, Embeddings, Knn, Logistic, Model, Players};

/// The learning model, shared by `value` and `quality`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ModelName {
    /// L2-regularised logistic regression (Newton's method).
    Logreg,
    /// k-nearest-neighbours majority vote.
    Knn,
}

impl ModelName {
    /// The flag that chooses the model, for messages.
    pub(crate) fn flag(self) -> &'static str {
        match self {
            ModelName::Logreg => "--model logreg",
            ModelName::Knn => "--model knn",
        }
    }
}

/// `--k` when it is not given (shown in `--help`).
pub(crate) const DEFAULT_K: usize = 5;
/// `--l2` when it is not given (shown in `--help`).
pub(crate) const DEFAULT_L2: f64 = 1.0;

/// Model options shared by `value` and `quality`. Each belongs to one
/// model: giving it with the other is refused, not ignored.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ModelArgs {
    /// Number of neighbours of the KNN model and of KNN-Shapley; at most
    /// the rows the model is trained on. [default: 5]
    #[arg(long)]
    pub k: Option<usize>,
    /// Penalty strength λ (> 0) of logistic regression, (λ/2)‖w‖² on the
    /// summed log-loss: 1/C in scikit-learn's terms. [default: 1]
    #[arg(long)]
    pub l2: Option<f64>,
}

impl ModelArgs {
    /// The validated model `name`, which `chosen_by` chose (a flag, for
    /// messages); the other model's flag is refused.
    pub(crate) fn model(&self, name: ModelName, chosen_by: &str) -> anyhow::Result<Model> {
        Ok(match name {
            ModelName::Knn => Model::Knn(self.knn(chosen_by)?),
            ModelName::Logreg => {
                if self.k.is_some() {
                    bail!(
                        "--k does not apply to {chosen_by}: it is the number of neighbours of \
                         KNN (--model knn)"
                    );
                }
                let l2 = self.l2.unwrap_or(DEFAULT_L2);
                Model::Logistic(
                    Logistic::new(l2).map_err(|_| anyhow!("--l2: {l2} is not finite and > 0"))?,
                )
            }
        })
    }

    /// The validated KNN configuration, which `chosen_by` chose; `--l2`
    /// is refused.
    pub(crate) fn knn(&self, chosen_by: &str) -> anyhow::Result<Knn> {
        if self.l2.is_some() {
            bail!(
                "--l2 does not apply to {chosen_by}: it is the penalty of logistic regression \
                 (--model logreg)"
            );
        }
        Knn::new(self.k.unwrap_or(DEFAULT_K)).map_err(|e| anyhow!("--k: {e}"))
    }
}

/// Refuses a KNN `model` with more neighbours than the `rows` of the data
/// it is trained on, `what` (say, "the trusted set (trusted.csv)").
pub(crate) fn check_neighbours(model: &Model, rows: usize, what: &str) -> anyhow::Result<()> {
    match model {
        Model::Knn(knn) if knn.k() > rows => bail!(
            "--k: {} neighbours, but {what} has only {rows} rows",
            knn.k()
        ),
        _ => Ok(()),
    }
}

/// Which columns of a dataset are features, shared by `value` and
/// `quality`: every column but the label and the provider's (the
/// default), all but some, or only some.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ColumnArgs {
    /// A column that is not a feature (an id, a date): it is not read. May
    /// be given more than once; it must be in the training (or --data)
    /// file, and is passed over where the test or trusted file lacks it.
    /// [default: none]
    #[arg(long, value_name = "NAME", conflicts_with = "features")]
    ignore_column: Vec<String>,
    /// The feature columns, comma-separated: every other column but the
    /// label and the provider's is not read. Each must be in every file.
    /// [default: every column but the label and the provider's]
    #[arg(long, value_name = "A,B,...", value_delimiter = ',')]
    features: Vec<String>,
}

impl ColumnArgs {
    /// Whether `--ignore-column` or `--features` was given.
    pub(crate) fn given(&self) -> bool {
        !self.ignore_column.is_empty() || !self.features.is_empty()
    }

    /// The feature columns of a file read as `need`.
    fn features(&self, need: Need) -> FeatureColumns<'_> {
        // Not given, --features is empty: it lists at least one name.
        match (self.features.is_empty(), need) {
            (false, _) => FeatureColumns::Only(&self.features),
            (true, _) if self.ignore_column.is_empty() => FeatureColumns::All,
            (true, Need::Required) => FeatureColumns::Except(&self.ignore_column),
            (true, Need::Optional) => FeatureColumns::ExceptPresent(&self.ignore_column),
        }
    }
}

/// Whether `path` names a NumPy archive (`.npz`), read as embeddings.
pub(crate) fn is_npz(path: &Path) -> bool {
    path.extension()
        .is_some_and(|extension| extension.eq_ignore_ascii_case("npz"))
}

/// An `.npz` file as read, with its name for messages.
#[derive(Debug)]
pub(crate) struct NpzFile {
    /// The file, for messages.
    pub source: String,
    /// Its arrays.
    pub data: npz::NpzDataset,
}

/// Reads an `.npz` embedding file; refuses any other kind of file.
pub(crate) fn read_npz(path: &Path) -> anyhow::Result<NpzFile> {
    let source = path.display().to_string();
    if !is_npz(path) {
        bail!("{source}: the other dataset is .npz (embeddings): this one must be too");
    }
    let file = std::fs::File::open(path).with_context(|| format!("{source}: cannot read"))?;
    let data = npz::read(std::io::BufReader::new(file)).map_err(|e| anyhow!("{source}: {e}"))?;
    Ok(NpzFile { source, data })
}

/// Refuses the first of `flags` (name, whether given) that was given: the
/// flags that pick a CSV file's columns mean nothing for `.npz` files.
pub(crate) fn refuse_table_flags(flags: &[(&str, bool)]) -> anyhow::Result<()> {
    if let Some((flag, _)) = flags.iter().find(|(_, given)| *given) {
        bail!(
            "{flag} does not apply to .npz files: their labels are the array y, their providers \
             the array provider, and every column of x is a feature"
        );
    }
    Ok(())
}

/// The labelled embeddings of a training and a test file, their labels
/// numbered as one set of classes.
pub(crate) fn embeddings(
    train: &NpzFile,
    test: &NpzFile,
) -> anyhow::Result<(Embeddings, Embeddings)> {
    let sets = [train.data.labels.as_slice(), test.data.labels.as_slice()];
    let classes = Classes::of_labels(&sets, "y")
        .map_err(|e| anyhow!("{}, {}: {e}", train.source, test.source))?;
    let labelled = |file: &NpzFile| {
        let labels = file
            .data
            .labels
            .iter()
            .map(|label| classes.class(label).unwrap_or_default())
            .collect();
        Embeddings::new(file.data.features.clone(), labels, classes.n_classes())
            .map_err(|e| anyhow!("{}: {e}", file.source))
    };
    let (train_rows, test_rows) = (labelled(train)?, labelled(test)?);
    if train_rows.features().dim() != test_rows.features().dim() {
        bail!(
            "{}: x has {} columns, but x of {} has {}",
            test.source,
            test_rows.features().dim(),
            train.source,
            train_rows.features().dim()
        );
    }
    Ok((train_rows, test_rows))
}

/// The providers of an `.npz` training file, from its array `provider`
/// (which `--provider-column` must name).
pub(crate) fn npz_players(file: &NpzFile, column: &str) -> anyhow::Result<(Vec<String>, Players)> {
    if column != "provider" {
        bail!(
            "{}: --provider-column {column:?}: an .npz file names its providers in the array \
             \"provider\"",
            file.source
        );
    }
    let Some(providers) = &file.data.providers else {
        bail!(
            "{}: no array named \"provider\" (--provider-column)",
            file.source
        );
    };
    Ok(Players::named(providers))
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
/// special columns, and `columns` the features; with [`Need::Required`]
/// the file must have the provider column and every column to ignore, with
/// [`Need::Optional`] those columns are not features when they are there.
pub(crate) fn read(
    path: &Path,
    label: Option<&str>,
    provider: Option<&str>,
    columns: &ColumnArgs,
    need: Need,
) -> anyhow::Result<File> {
    let source = path.display().to_string();
    let file = std::fs::File::open(path).with_context(|| format!("{source}: cannot read"))?;
    let special = Columns {
        label,
        provider: match (provider, need) {
            (Some(name), Need::Required) => ProviderColumn::Required(name),
            (Some(name), Need::Optional) => ProviderColumn::Optional(name),
            (None, _) => ProviderColumn::Unused,
        },
    };
    let table = Table::read_csv_with_features(
        std::io::BufReader::new(file),
        special,
        columns.features(need),
    )
    .map_err(|e| table_error(&source, &e))?;
    Ok(File { source, table })
}

/// Whether a file must have the columns that the flags name: the file
/// whose rows are valued must, a test or trusted file beside it need not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Need {
    /// Missing column is an error.
    Required,
    /// Not a feature when present.
    Optional,
}

/// The library's message after the file's name, and after it the flag
/// that named the column.
fn table_error(source: &str, error: &TableError) -> anyhow::Error {
    let flag = |role: &ColumnRole| match role {
        ColumnRole::Label => " (--label)",
        ColumnRole::Provider => " (--provider-column)",
        ColumnRole::Feature => " (--features)",
        ColumnRole::Ignored => " (--ignore-column)",
        _ => " (--bids)",
    };
    let flag = match error {
        TableError::MissingColumn { role, .. } => flag(role),
        TableError::SpecialColumn { list, .. } | TableError::ListedTwice { list, .. } => flag(list),
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

/// Reads a bids file: columns `provider` (or `provider_column`, the
/// datasets' provider column, when the file has it) and `bid`, and
/// optionally `volume` and `claimed_quality` (an empty cell there means
/// "not given"); any other column is refused, naming it, as an unknown
/// field of an instance is. Numbers must be finite.
pub(crate) fn read_bids(path: &Path, provider_column: Option<&str>) -> anyhow::Result<Bids> {
    let source = path.display().to_string();
    let file = std::fs::File::open(path).with_context(|| format!("{source}: cannot read"))?;
    let error = |e: TableError| table_error(&source, &e);
    let mut file = CsvReader::new(std::io::BufReader::new(file)).map_err(error)?;
    let id = match provider_column {
        Some(name) if file.position(name).is_some() => name,
        _ => "provider",
    };
    let provider = match (file.position(id), provider_column) {
        (Some(column), _) => column,
        (None, Some(name)) if name != id => bail!(
            "{source}: line 1: no column named {name:?} (--provider-column) or \"provider\" (--bids)"
        ),
        (None, _) => file.column(id, ColumnRole::Format).map_err(error)?,
    };
    let bid = file.column("bid", ColumnRole::Format).map_err(error)?;
    let volume = file.position("volume");
    let claimed = file.position("claimed_quality");
    let known: Vec<usize> = [Some(provider), Some(bid), volume, claimed]
        .into_iter()
        .flatten()
        .collect();
    file.refuse_other_columns(&known, &[id, "bid", "volume", "claimed_quality"])
        .map_err(error)?;
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
