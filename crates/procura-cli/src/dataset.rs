//! Reading labelled datasets from CSV files for `procura value` and
//! `procura quality`, and the model options the two commands share.
//!
//! A dataset file has a header row. The label column is `--label NAME`, by
//! default the column named `label`, otherwise the last column that is not
//! the provider column. The optional provider column (`--provider-column`)
//! names the provider owning each row. Every other column is a numeric
//! feature. Errors name the file, the line and the column.

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
    let source = path.display().to_string();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_path(path)
        .with_context(|| format!("{source}: cannot read"))?;
    let mut records = reader.records();
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
    let find = |name: &str, option: &str| -> anyhow::Result<usize> {
        names
            .iter()
            .position(|n| n == name)
            .ok_or_else(|| anyhow!("{source}: line 1: no column named {name:?} ({option})"))
    };
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
    for record in records {
        let record = record.map_err(|e| csv_error(&source, &e))?;
        let line = record.position().map_or(0, csv::Position::line);
        if record.len() != names.len() {
            bail!(
                "{source}: line {line}: {} fields, but the header has {}",
                record.len(),
                names.len()
            );
        }
        let cell = |column: usize| -> anyhow::Result<&str> {
            let text = record.get(column).unwrap_or_default();
            if text.is_empty() {
                bail!(
                    "{source}: line {line}, column {} ({}): empty cell",
                    column + 1,
                    names[column]
                );
            }
            Ok(text)
        };
        for &column in &feature_columns {
            let text = cell(column)?;
            let value: f64 = text.parse().map_err(|_| {
                anyhow!(
                    "{source}: line {line}, column {} ({}): {text:?} is not a number",
                    column + 1,
                    names[column]
                )
            })?;
            if !value.is_finite() {
                bail!(
                    "{source}: line {line}, column {} ({}): {text:?} is not a finite number",
                    column + 1,
                    names[column]
                );
            }
            features.push(value);
        }
        labels.push(cell(label_column)?.to_owned());
        if let (Some(providers), Some(column)) = (&mut providers, provider_column) {
            providers.push(cell(column)?.to_owned());
        }
    }
    if labels.is_empty() {
        bail!("{source}: no data rows after the header");
    }
    Ok(Table {
        source,
        feature_names: feature_columns.iter().map(|&c| names[c].clone()).collect(),
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

fn csv_error(source: &str, error: &csv::Error) -> anyhow::Error {
    match error.position() {
        Some(position) => anyhow!("{source}: line {}: {error}", position.line()),
        None => anyhow!("{source}: {error}"),
    }
}

/// Checks that `other` has as many features as `train`.
pub fn check_features(train: &Table, other: &Table) -> anyhow::Result<()> {
    if train.n_features() != other.n_features() {
        bail!(
            "{}: {} feature columns, but the training set {} has {}",
            other.source,
            other.n_features(),
            train.source,
            train.n_features()
        );
    }
    Ok(())
}

/// The classes of several tables, numbered in one order: numerically when
/// every label is a number, as text otherwise.
#[derive(Debug)]
pub struct Classes {
    index: HashMap<String, usize>,
}

impl Classes {
    /// Numbers the labels of all `tables`.
    pub fn of(tables: &[&Table]) -> Classes {
        let mut names: Vec<&str> = tables
            .iter()
            .flat_map(|table| table.labels.iter().map(String::as_str))
            .collect();
        names.sort_unstable();
        names.dedup();
        let numbers: Option<Vec<f64>> = names.iter().map(|name| name.parse().ok()).collect();
        if let Some(numbers) = numbers {
            let mut pairs: Vec<(f64, &str)> = numbers.into_iter().zip(names).collect();
            pairs.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(b.1)));
            names = pairs.into_iter().map(|(_, name)| name).collect();
        }
        Classes {
            index: names
                .iter()
                .enumerate()
                .map(|(index, name)| ((*name).to_owned(), index))
                .collect(),
        }
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
            self.index.len(),
        )
        .map_err(|e| anyhow!("{}: {e}", table.source))
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
