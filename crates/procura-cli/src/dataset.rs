//! Reading the CSV files of `procura value` and `procura quality` (labelled
//! datasets and bids), and the model options the two commands share.
//!
//! A dataset file has a header row. The label column is `--label NAME`, by
//! default the column named `label`, otherwise the last column that is not
//! the provider column. The optional provider column (`--provider-column`)
//! names the provider owning each row. Every other column is a numeric
//! feature; a test or trusted file must have the training file's feature
//! columns, by name, in any order. A bids file has the columns `provider`,
//! `bid` and optionally `volume` and `claimed_quality`. Errors name the
//! file, the line and the column.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{anyhow, bail, Context};
use procura::valuation::{Dataset, Knn, Logistic, Model, Players};

/// The learning model, shared by `value` and `quality`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ModelName {
    /// L2-regularised logistic regression (Newton's method).
    Logreg,
    /// k-nearest-neighbours majority vote.
    Knn,
}

/// Model options shared by `value` and `quality`.
#[derive(Debug, Clone, clap::Args)]
pub struct ModelArgs {
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
    pub fn model(&self, name: ModelName) -> anyhow::Result<Model> {
        Ok(match name {
            ModelName::Knn => Model::Knn(self.knn()?),
            ModelName::Logreg => {
                Model::Logistic(Logistic::new(self.l2).map_err(|e| anyhow!("--l2: {e}"))?)
            }
        })
    }

    /// The validated KNN configuration.
    pub fn knn(&self) -> anyhow::Result<Knn> {
        Knn::new(self.k).map_err(|e| anyhow!("--k: {e}"))
    }
}

/// Which columns of a file are special.
#[derive(Debug, Clone, Copy)]
pub struct Columns<'a> {
    /// The label column's name, if given.
    pub label: Option<&'a str>,
    /// The provider column's name, if any.
    pub provider: Option<&'a str>,
}

/// A dataset file as read, before its labels are numbered.
#[derive(Debug)]
pub struct Table {
    /// The file, for messages.
    pub source: String,
    /// Names of the feature columns.
    pub feature_names: Vec<String>,
    /// Name of the label column, for messages.
    label_name: String,
    /// Row-major features.
    features: Vec<f64>,
    /// The label of each row, as written.
    labels: Vec<String>,
    /// The provider of each row, as written, when there is a provider column.
    providers: Option<Vec<String>>,
}

impl Table {
    /// Number of feature columns.
    pub fn n_features(&self) -> usize {
        self.feature_names.len()
    }
}

/// Reads a dataset file. With `Columns::provider` set, the file must have
/// that column when `provider` is [`Need::Required`]; otherwise the column
/// is dropped when present.
pub fn read(path: &Path, columns: Columns<'_>, provider: Need) -> anyhow::Result<Table> {
    let mut file = CsvFile::open(path)?;
    let source = file.source.clone();
    let names = file.names.clone();
    let find = |name: &str, option: &str| file.column(name, option);
    let provider_column = match (columns.provider, provider) {
        (Some(name), Need::Required) => Some(find(name, "--provider-column")?),
        (Some(name), Need::Optional) => names.iter().position(|n| n == name),
        (None, _) => None,
    };
    let label_column = match columns.label {
        Some(name) => find(name, "--label")?,
        None => match names.iter().position(|n| n == "label") {
            Some(column) => column,
            None => (0..names.len())
                .rev()
                .find(|&column| Some(column) != provider_column)
                .ok_or_else(|| anyhow!("{source}: line 1: no label column"))?,
        },
    };
    if Some(label_column) == provider_column {
        bail!("{source}: the label and the provider column are the same column");
    }
    let feature_columns: Vec<usize> = (0..names.len())
        .filter(|&column| column != label_column && Some(column) != provider_column)
        .collect();
    if feature_columns.is_empty() {
        bail!("{source}: line 1: no feature columns");
    }

    let mut features = Vec::new();
    let mut labels = Vec::new();
    let mut providers = provider_column.map(|_| Vec::new());
    while let Some(row) = file.next_row()? {
        for &column in &feature_columns {
            features.push(row.number(column)?);
        }
        labels.push(row.text(label_column)?.to_owned());
        if let (Some(providers), Some(column)) = (&mut providers, provider_column) {
            providers.push(row.text(column)?.to_owned());
        }
    }
    if labels.is_empty() {
        bail!("{source}: no data rows after the header");
    }
    Ok(Table {
        source,
        feature_names: feature_columns.iter().map(|&c| names[c].clone()).collect(),
        label_name: names[label_column].clone(),
        features,
        labels,
        providers,
    })
}

/// Whether a file must have the provider column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Missing column is an error.
    Required,
    /// Dropped when present.
    Optional,
}

/// A CSV file whose header row has been read: column names, unique.
struct CsvFile {
    /// The file, for messages.
    source: String,
    /// The header's column names.
    names: Vec<String>,
    records: csv::StringRecordsIntoIter<std::fs::File>,
}

impl CsvFile {
    /// Opens `path` and reads its header row, refusing an empty file and
    /// duplicate column names.
    fn open(path: &Path) -> anyhow::Result<CsvFile> {
        let source = path.display().to_string();
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_path(path)
            .with_context(|| format!("{source}: cannot read"))?;
        let mut records = reader.into_records();
        let header = match records.next() {
            None => bail!("{source}: empty file, expected a header row"),
            Some(record) => record.map_err(|e| csv_error(&source, &e))?,
        };
        let names: Vec<String> = header.iter().map(str::to_owned).collect();
        let mut seen = HashMap::new();
        for (column, name) in names.iter().enumerate() {
            if let Some(first) = seen.insert(name.as_str(), column) {
                bail!(
                    "{source}: line 1: columns {} and {} are both named {name:?}",
                    first + 1,
                    column + 1
                );
            }
        }
        Ok(CsvFile {
            source,
            names,
            records,
        })
    }

    /// The index of the column `name`, which `option` asks for.
    fn column(&self, name: &str, option: &str) -> anyhow::Result<usize> {
        self.names.iter().position(|n| n == name).ok_or_else(|| {
            anyhow!(
                "{}: line 1: no column named {name:?} ({option})",
                self.source
            )
        })
    }

    /// The next data row, refusing one whose field count is not the
    /// header's.
    fn next_row(&mut self) -> anyhow::Result<Option<Row<'_>>> {
        let Some(record) = self.records.next() else {
            return Ok(None);
        };
        let record = record.map_err(|e| csv_error(&self.source, &e))?;
        let line = record.position().map_or(0, csv::Position::line);
        if record.len() != self.names.len() {
            bail!(
                "{}: line {line}: {} fields, but the header has {}",
                self.source,
                record.len(),
                self.names.len()
            );
        }
        Ok(Some(Row {
            file: self,
            record,
            line,
        }))
    }
}

/// One data row of a [`CsvFile`], whose cells are read with messages naming
/// the file, the line and the column.
struct Row<'a> {
    file: &'a CsvFile,
    record: csv::StringRecord,
    line: u64,
}

impl Row<'_> {
    /// "file: line L, column C (name)".
    fn at(&self, column: usize) -> String {
        format!(
            "{}: line {}, column {} ({})",
            self.file.source,
            self.line,
            column + 1,
            self.file.names[column]
        )
    }

    /// The cell's text, possibly empty.
    fn raw(&self, column: usize) -> &str {
        self.record.get(column).unwrap_or_default()
    }

    /// The cell's text, which must not be empty.
    fn text(&self, column: usize) -> anyhow::Result<&str> {
        let text = self.raw(column);
        if text.is_empty() {
            bail!("{}: empty cell", self.at(column));
        }
        Ok(text)
    }

    /// The cell as a finite number.
    fn number(&self, column: usize) -> anyhow::Result<f64> {
        let text = self.text(column)?;
        let value: f64 = text
            .parse()
            .map_err(|_| anyhow!("{}: {text:?} is not a number", self.at(column)))?;
        if !value.is_finite() {
            bail!("{}: {text:?} is not a finite number", self.at(column));
        }
        Ok(value)
    }

    /// The cell as a finite number, `None` when it is empty.
    fn optional_number(&self, column: usize) -> anyhow::Result<Option<f64>> {
        if self.raw(column).is_empty() {
            Ok(None)
        } else {
            self.number(column).map(Some)
        }
    }
}

fn csv_error(source: &str, error: &csv::Error) -> anyhow::Error {
    match error.position() {
        Some(position) => anyhow!("{source}: line {}: {error}", position.line()),
        None => anyhow!("{source}: {error}"),
    }
}

/// Checks that `other` has the feature columns of `train`, by name, and
/// puts its columns in the training file's order. A missing or an extra
/// feature column is an error naming it.
pub fn align_features(train: &Table, other: &mut Table) -> anyhow::Result<()> {
    let position: HashMap<&str, usize> = other
        .feature_names
        .iter()
        .enumerate()
        .map(|(column, name)| (name.as_str(), column))
        .collect();
    let mut order = Vec::with_capacity(train.n_features());
    for name in &train.feature_names {
        match position.get(name.as_str()) {
            Some(&column) => order.push(column),
            None => bail!(
                "{}: line 1: no feature column named {name:?}, which the training set {} has",
                other.source,
                train.source
            ),
        }
    }
    if let Some(extra) = other
        .feature_names
        .iter()
        .find(|name| !train.feature_names.contains(name))
    {
        bail!(
            "{}: line 1: feature column {extra:?} is not a feature column of the training set {}",
            other.source,
            train.source
        );
    }
    if order.iter().enumerate().any(|(to, &from)| to != from) {
        let width = other.n_features();
        other.features = other
            .features
            .chunks_exact(width)
            .flat_map(|row| order.iter().map(|&from| row[from]))
            .collect();
        other.feature_names = train.feature_names.clone();
    }
    Ok(())
}

/// Most classes a label column may have. A label column with more distinct
/// values is most likely a continuous target, not a classification label.
pub const MAX_CLASSES: usize = 64;

/// The classes of several tables, numbered in one order: numerically when
/// every label is a finite number (so `1`, `1.0` and `1e0` are one class),
/// as text otherwise.
#[derive(Debug)]
pub struct Classes {
    /// The class of each label as written.
    index: HashMap<String, usize>,
    n_classes: usize,
}

impl Classes {
    /// Numbers the labels of all `tables`. Refuses more than
    /// [`MAX_CLASSES`] classes, and more than two classes when there are
    /// more than half as many classes as rows: a column of continuous
    /// values gives almost one class per row.
    pub fn of(tables: &[&Table]) -> anyhow::Result<Classes> {
        let mut names: Vec<&str> = tables
            .iter()
            .flat_map(|table| table.labels.iter().map(String::as_str))
            .collect();
        let n_rows = names.len();
        names.sort_unstable();
        names.dedup();
        // -0 + 0 = +0: "-0" and "0" are one class.
        let numbers: Option<Vec<f64>> = names
            .iter()
            .map(|name| {
                name.parse::<f64>()
                    .ok()
                    .filter(|value| value.is_finite())
                    .map(|value| value + 0.0)
            })
            .collect();
        let (index, n_classes): (HashMap<String, usize>, usize) = match numbers {
            Some(numbers) => {
                let mut distinct = numbers.clone();
                distinct.sort_by(f64::total_cmp);
                distinct.dedup();
                let index = names
                    .iter()
                    .zip(&numbers)
                    .map(|(name, value)| {
                        let class = distinct
                            .binary_search_by(|probe| probe.total_cmp(value))
                            .unwrap_or_else(|insert| insert);
                        ((*name).to_owned(), class)
                    })
                    .collect();
                (index, distinct.len())
            }
            None => (
                names
                    .iter()
                    .enumerate()
                    .map(|(class, name)| ((*name).to_owned(), class))
                    .collect(),
                names.len(),
            ),
        };
        if n_classes > MAX_CLASSES || (n_classes > 2 && 2 * n_classes > n_rows) {
            let files: Vec<&str> = tables.iter().map(|table| table.source.as_str()).collect();
            let label = tables.first().map_or("", |table| table.label_name.as_str());
            bail!(
                "{}: label column {label:?} has {n_classes} distinct values in {n_rows} rows: \
                 too many classes for a classification label (at most {MAX_CLASSES}, and at \
                 most half the rows); is it a continuous target?",
                files.join(", ")
            );
        }
        Ok(Classes { index, n_classes })
    }

    /// The table as a library dataset.
    pub fn dataset(&self, table: &Table) -> anyhow::Result<Dataset> {
        let labels = table
            .labels
            .iter()
            .map(|label| {
                self.index
                    .get(label)
                    .copied()
                    .ok_or_else(|| anyhow!("{}: label {label:?} is not a class", table.source))
            })
            .collect::<anyhow::Result<Vec<usize>>>()?;
        Dataset::new(
            table.features.clone(),
            table.n_features(),
            labels,
            self.n_classes,
        )
        .map_err(|e| anyhow!("{}: {e}", table.source))
    }
}

/// One row of a bids file.
#[derive(Debug)]
pub struct Bid {
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
pub struct Bids {
    /// The file, for messages.
    pub source: String,
    /// Its rows, in file order.
    pub rows: Vec<Bid>,
}

/// Reads a bids file: columns `provider` and `bid`, and optionally `volume`
/// and `claimed_quality` (an empty cell there means "not given"). Numbers
/// must be finite.
pub fn read_bids(path: &Path) -> anyhow::Result<Bids> {
    let mut file = CsvFile::open(path)?;
    let provider = file.column("provider", "--bids")?;
    let bid = file.column("bid", "--bids")?;
    let volume = file.names.iter().position(|name| name == "volume");
    let claimed = file.names.iter().position(|name| name == "claimed_quality");
    let mut rows = Vec::new();
    while let Some(row) = file.next_row()? {
        rows.push(Bid {
            provider: row.text(provider)?.to_owned(),
            bid: row.number(bid)?,
            volume: volume
                .map(|c| row.optional_number(c))
                .transpose()?
                .flatten(),
            claimed_quality: claimed
                .map(|c| row.optional_number(c))
                .transpose()?
                .flatten(),
            line: row.line,
        });
    }
    if rows.is_empty() {
        bail!("{}: no bids after the header", file.source);
    }
    Ok(Bids {
        source: file.source,
        rows,
    })
}

/// Quotes a CSV field when it needs it.
pub fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// The providers of a table: their names in order of first appearance, and
/// the players they form. `None` without a provider column.
pub fn providers(table: &Table) -> Option<(Vec<String>, Players)> {
    let column = table.providers.as_ref()?;
    let mut names: Vec<String> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    let of_row: Vec<usize> = column
        .iter()
        .map(|name| {
            *index.entry(name.as_str()).or_insert_with(|| {
                names.push(name.clone());
                names.len() - 1
            })
        })
        .collect();
    // Every provider index comes from a row, so no player is empty.
    let players = Players::groups(of_row).ok()?;
    Some((names, players))
}
