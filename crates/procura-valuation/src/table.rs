//! Labelled datasets read from CSV text, before and after their labels
//! become classes.
//!
//! A dataset has a header row. The label column is named by
//! [`Columns::label`], by default the column named `label`, otherwise the
//! last column that is not the provider column. The optional provider
//! column ([`ProviderColumn`]) names the provider owning each row. Every
//! other column is a finite numeric feature, unless [`FeatureColumns`]
//! ignores some columns or lists the features
//! ([`Table::read_csv_with_features`]). Only commas separate fields: a
//! header that is one column holding semicolons or tabs is refused
//! ([`TableError::Separator`]). A test or trusted set must
//! have the training set's feature columns, by name, in any order
//! ([`Table::align_features`]). The labels of several tables are numbered
//! as one set of classes ([`Classes`]): numerically when every label is a
//! number, as text otherwise.
//!
//! The text comes from any [`std::io::Read`]; opening files is the
//! caller's. Errors ([`TableError`]) name the line and the column, never
//! the file: the caller, which knows where the text came from, adds it.
//! [`CsvReader`] is the reader underneath, for other CSV formats (a file of
//! bids) that want the same rules and messages.
//!
//! ```
//! use procura_valuation::table::{Classes, Columns, ProviderColumn, Table};
//!
//! let train = "owner,x,label\na,0.5,yes\nb,-1,no\na,2,yes\n";
//! let test = "label,x\nno,-0.5\nyes,1\n";
//! let columns = Columns { label: None, provider: ProviderColumn::Required("owner") };
//! let train = Table::read_csv(train.as_bytes(), columns)?;
//! let test = Table::read_csv(test.as_bytes(), Columns::default())?;
//! let mut test = test;
//! test.align_features(&train)?;
//! let classes = Classes::of(&[&train, &test])?;
//! let data = classes.dataset(&train)?;
//! assert_eq!(data.labels(), &[1, 0, 1]); // "no" < "yes"
//! let (names, players) = train.players().expect("a provider column");
//! assert_eq!(names, ["a", "b"]);
//! assert_eq!(players.rows_of(0), &[0, 2]);
//! # Ok::<(), procura_valuation::table::TableError>(())
//! ```

use std::collections::{HashMap, HashSet};
use std::io;

use crate::dataset::{Dataset, DatasetError, Players};

pub use crate::limits::MAX_CLASSES;

/// Why CSV text is not a valid table, or tables do not fit together. Lines
/// are 1-based lines of the text (the header is line 1), columns 1-based.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TableError {
    /// The CSV syntax is broken (for example, invalid UTF-8) at a line.
    #[error("line {line}: {message}")]
    Syntax {
        /// The line.
        line: u64,
        /// The CSV reader's message.
        message: String,
    },
    /// The text could not be read, or broke without a position.
    #[error("{message}")]
    Read {
        /// The reader's message.
        message: String,
    },
    /// There is not even a header row.
    #[error("empty file, expected a header row")]
    Empty,
    /// Two columns of the header have the same name.
    #[error("line 1: columns {} and {} are both named {name:?}", .first + 1, .second + 1)]
    DuplicateColumn {
        /// 0-based index of the first column with the name.
        first: usize,
        /// 0-based index of the second.
        second: usize,
        /// The name.
        name: String,
    },
    /// The header is one column holding another separator than the comma
    /// (a semicolon- or tab-separated file): only commas are read.
    #[error(
        "line 1: the header is one column holding {separator:?}: fields must be separated by \
         commas (only comma-separated files are read)"
    )]
    Separator {
        /// The separator found in the header.
        separator: char,
    },
    /// A column that was asked for is not in the header.
    #[error("line 1: no column named {name:?}")]
    MissingColumn {
        /// The name asked for.
        name: String,
        /// What the column was wanted for.
        role: ColumnRole,
    },
    /// A column listed by [`FeatureColumns`] is the label or the provider
    /// column.
    #[error("line 1: column {name:?} is the {} column, so it cannot be {}", role.noun(), list.verb())]
    SpecialColumn {
        /// The column's name.
        name: String,
        /// What the column is ([`ColumnRole::Label`] or
        /// [`ColumnRole::Provider`]).
        role: ColumnRole,
        /// The list naming it ([`ColumnRole::Feature`] or
        /// [`ColumnRole::Ignored`]).
        list: ColumnRole,
    },
    /// A column is listed twice by [`FeatureColumns`].
    #[error("column {name:?} is listed twice")]
    ListedTwice {
        /// The column's name.
        name: String,
        /// The list naming it ([`ColumnRole::Feature`] or
        /// [`ColumnRole::Ignored`]).
        list: ColumnRole,
    },
    /// A column of the header is none of those the format knows
    /// ([`CsvReader::refuse_other_columns`]), as an unknown field of a JSON
    /// record is refused.
    #[error(
        "line 1: unknown column {name:?}, expected {}",
        expected.iter().map(|name| format!("{name:?}")).collect::<Vec<_>>().join(", ")
    )]
    UnknownColumn {
        /// The column's name.
        name: String,
        /// The columns the format knows.
        expected: Vec<String>,
    },
    /// No column can be the label: the only column is the provider's.
    #[error("line 1: no label column")]
    NoLabelColumn,
    /// The label column was named as the provider column too.
    #[error("the label and the provider column are the same column")]
    LabelIsProvider,
    /// Every column is the label or the provider.
    #[error("line 1: no feature columns")]
    NoFeatures,
    /// A row has another number of fields than the header.
    #[error("line {line}: {fields} fields, but the header has {header}")]
    FieldCount {
        /// The row's line.
        line: u64,
        /// Its fields.
        fields: usize,
        /// The header's fields.
        header: usize,
    },
    /// A cell that needs a value is empty.
    #[error("line {line}, column {} ({name}): empty cell", .column + 1)]
    EmptyCell {
        /// The row's line.
        line: u64,
        /// 0-based column.
        column: usize,
        /// The column's name.
        name: String,
    },
    /// A numeric cell does not parse as a number.
    #[error("line {line}, column {} ({name}): {text:?} is not a number", .column + 1)]
    NotANumber {
        /// The row's line.
        line: u64,
        /// 0-based column.
        column: usize,
        /// The column's name.
        name: String,
        /// The cell as written.
        text: String,
    },
    /// A numeric cell is NaN or infinite.
    #[error("line {line}, column {} ({name}): {text:?} is not a finite number", .column + 1)]
    NotFinite {
        /// The row's line.
        line: u64,
        /// 0-based column.
        column: usize,
        /// The column's name.
        name: String,
        /// The cell as written.
        text: String,
    },
    /// The header is the only row.
    #[error("no data rows after the header")]
    NoRows,
    /// A feature column of the training set is missing.
    #[error("line 1: no feature column named {name:?}, which the training set has")]
    MissingFeature {
        /// The training set's column.
        name: String,
    },
    /// A feature column is not one of the training set's.
    #[error("line 1: feature column {name:?} is not a feature column of the training set")]
    ExtraFeature {
        /// The extra column.
        name: String,
    },
    /// The label column looks like a continuous target.
    #[error(
        "label column {label:?} has {n_classes} distinct values in {n_rows} rows: too many \
         classes for a classification label (at most {}, and at most half the rows); is it a \
         continuous target?",
        MAX_CLASSES
    )]
    TooManyClasses {
        /// The label column's name (the first table's).
        label: String,
        /// Distinct labels.
        n_classes: usize,
        /// Rows of all the tables.
        n_rows: usize,
    },
    /// A label is not one of the classes (the table was not among those
    /// the classes were numbered from).
    #[error("data row {row}: label {label:?} is not a class")]
    UnknownLabel {
        /// 0-based data row.
        row: usize,
        /// The label as written.
        label: String,
    },
    /// The table is not a valid dataset.
    #[error(transparent)]
    Dataset(#[from] DatasetError),
}

/// What a column was wanted for, in a [`TableError::MissingColumn`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ColumnRole {
    /// The label column ([`Columns::label`]).
    Label,
    /// The provider column ([`ProviderColumn::Required`]).
    Provider,
    /// A column the format requires ([`CsvReader::column`]).
    Format,
    /// A feature column listed by [`FeatureColumns::Only`].
    Feature,
    /// A column to ignore, listed by [`FeatureColumns::Except`].
    Ignored,
}

impl ColumnRole {
    /// The role as a noun: "label", "provider", ….
    fn noun(self) -> &'static str {
        match self {
            ColumnRole::Label => "label",
            ColumnRole::Provider => "provider",
            ColumnRole::Format => "required",
            ColumnRole::Feature => "feature",
            ColumnRole::Ignored => "ignored",
        }
    }

    /// What a list of this role would do to a column.
    fn verb(self) -> &'static str {
        match self {
            ColumnRole::Feature => "a feature",
            ColumnRole::Ignored => "ignored",
            _ => "listed",
        }
    }
}

/// Which columns of a table are special; the others are features.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Columns<'a> {
    /// The label column's name; `None`: the column named `label`, else the
    /// last column that is not the provider column.
    pub label: Option<&'a str>,
    /// The provider column.
    pub provider: ProviderColumn<'a>,
}

/// The column naming each row's provider.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ProviderColumn<'a> {
    /// No provider column: every column but the label is a feature.
    #[default]
    Unused,
    /// This column must be there; it gives the table its providers.
    Required(&'a str),
    /// This column, when it is there, is not a feature (a test set read
    /// beside a training set that has providers).
    Optional(&'a str),
}

/// Which of the columns that are neither the label nor the provider are
/// features. Every name listed must be in the header (a typo is an error,
/// not a column silently kept) except with [`FeatureColumns::ExceptPresent`],
/// for a test set read beside a training set; the label and the provider
/// column may not be listed, nor any column twice.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FeatureColumns<'a> {
    /// Every other column is a feature.
    #[default]
    All,
    /// Every other column but these is a feature; each must be in the
    /// header.
    Except(&'a [String]),
    /// Every other column but these is a feature; those of them that are
    /// not in the header are passed over.
    ExceptPresent(&'a [String]),
    /// Only these columns are features, in the header's order; each must
    /// be in the header.
    Only(&'a [String]),
}

impl<'a> FeatureColumns<'a> {
    /// The names listed, and what the list is for.
    fn listed(self) -> (&'a [String], ColumnRole) {
        match self {
            FeatureColumns::All => (&[], ColumnRole::Ignored),
            FeatureColumns::Except(names) | FeatureColumns::ExceptPresent(names) => {
                (names, ColumnRole::Ignored)
            }
            FeatureColumns::Only(names) => (names, ColumnRole::Feature),
        }
    }

    /// The listed names' columns (a name not in the header is passed over
    /// only under [`FeatureColumns::ExceptPresent`]).
    fn columns(self, names: &[String]) -> Result<HashSet<usize>, TableError> {
        let (listed, list) = self.listed();
        let position: HashMap<&str, usize> = if listed.is_empty() {
            HashMap::new()
        } else {
            names
                .iter()
                .enumerate()
                .map(|(column, name)| (name.as_str(), column))
                .collect()
        };
        let mut columns = HashSet::with_capacity(listed.len());
        let mut seen = HashSet::with_capacity(listed.len());
        for name in listed {
            if !seen.insert(name.as_str()) {
                return Err(TableError::ListedTwice {
                    name: name.clone(),
                    list,
                });
            }
            match (position.get(name.as_str()).copied(), self) {
                (Some(column), _) => {
                    columns.insert(column);
                }
                (None, FeatureColumns::ExceptPresent(_)) => {}
                (None, _) => {
                    return Err(TableError::MissingColumn {
                        name: name.clone(),
                        role: list,
                    })
                }
            }
        }
        Ok(columns)
    }
}

/// A labelled table as read: finite features, and labels and providers as
/// written. [`Classes`] turns labels into class indices.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    feature_names: Vec<String>,
    label_name: String,
    /// Row-major.
    features: Vec<f64>,
    labels: Vec<String>,
    providers: Option<Vec<String>>,
}

impl Table {
    /// Reads CSV text: a header row and at least one data row (see the
    /// module documentation for which column is what). Cells are trimmed;
    /// quoted fields follow RFC 4180. Every row must have the header's
    /// number of fields; features must be finite numbers, labels and
    /// providers non-empty. Errors name the first offending line and
    /// column.
    pub fn read_csv<R: io::Read>(reader: R, columns: Columns<'_>) -> Result<Table, TableError> {
        Table::read_csv_with_features(reader, columns, FeatureColumns::All)
    }

    /// [`Table::read_csv`], with the feature columns chosen by `features`.
    /// Without [`Columns::label`], the label is the column named `label`,
    /// else the last column that is not the provider column and not
    /// ignored by [`FeatureColumns::Except`] (or
    /// [`FeatureColumns::ExceptPresent`]).
    ///
    /// ```
    /// use procura_valuation::table::{Columns, FeatureColumns, Table, TableError};
    ///
    /// let text = "x,id,y,label\n1,17,2,a\n";
    /// let ignored = ["id".to_owned()];
    /// let table = Table::read_csv_with_features(
    ///     text.as_bytes(),
    ///     Columns::default(),
    ///     FeatureColumns::Except(&ignored),
    /// )?;
    /// assert_eq!(table.feature_names(), ["x", "y"]);
    /// let typo = ["idd".to_owned()];
    /// let error = Table::read_csv_with_features(
    ///     text.as_bytes(),
    ///     Columns::default(),
    ///     FeatureColumns::Except(&typo),
    /// );
    /// assert_eq!(error.unwrap_err().to_string(), "line 1: no column named \"idd\"");
    /// # Ok::<(), TableError>(())
    /// ```
    pub fn read_csv_with_features<R: io::Read>(
        reader: R,
        columns: Columns<'_>,
        features: FeatureColumns<'_>,
    ) -> Result<Table, TableError> {
        let mut file = CsvReader::new(reader)?;
        let provider_column = match columns.provider {
            ProviderColumn::Required(name) => Some(file.column(name, ColumnRole::Provider)?),
            ProviderColumn::Optional(name) => file.position(name),
            ProviderColumn::Unused => None,
        };
        let listed = features.columns(file.names())?;
        let ignored = |column: usize| match features {
            FeatureColumns::Except(_) | FeatureColumns::ExceptPresent(_) => {
                listed.contains(&column)
            }
            FeatureColumns::All | FeatureColumns::Only(_) => false,
        };
        let n_columns = file.names().len();
        let label_column = match columns.label {
            Some(name) => file.column(name, ColumnRole::Label)?,
            None => match file.position("label") {
                Some(column) => column,
                None => (0..n_columns)
                    .rev()
                    .find(|&column| Some(column) != provider_column && !ignored(column))
                    .ok_or(TableError::NoLabelColumn)?,
            },
        };
        if Some(label_column) == provider_column {
            return Err(TableError::LabelIsProvider);
        }
        let (_, list) = features.listed();
        let mut special: Vec<usize> = listed
            .iter()
            .copied()
            .filter(|&column| column == label_column || Some(column) == provider_column)
            .collect();
        special.sort_unstable();
        if let Some(&column) = special.first() {
            let role = if column == label_column {
                ColumnRole::Label
            } else {
                ColumnRole::Provider
            };
            return Err(TableError::SpecialColumn {
                name: file.names()[column].clone(),
                role,
                list,
            });
        }
        let feature_columns: Vec<usize> = (0..n_columns)
            .filter(|&column| column != label_column && Some(column) != provider_column)
            .filter(|column| match features {
                FeatureColumns::All => true,
                FeatureColumns::Except(_) | FeatureColumns::ExceptPresent(_) => {
                    !listed.contains(column)
                }
                FeatureColumns::Only(_) => listed.contains(column),
            })
            .collect();
        if feature_columns.is_empty() {
            return Err(TableError::NoFeatures);
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
            return Err(TableError::NoRows);
        }
        let names = file.names();
        Ok(Table {
            feature_names: feature_columns
                .iter()
                .map(|&column| names[column].clone())
                .collect(),
            label_name: names[label_column].clone(),
            features,
            labels,
            providers,
        })
    }

    /// Number of data rows.
    #[must_use]
    pub fn n_rows(&self) -> usize {
        self.labels.len()
    }
    /// Number of feature columns.
    #[must_use]
    pub fn n_features(&self) -> usize {
        self.feature_names.len()
    }
    /// The feature columns' names, in the order of [`Table::features`].
    #[must_use]
    pub fn feature_names(&self) -> &[String] {
        &self.feature_names
    }
    /// The label column's name.
    #[must_use]
    pub fn label_name(&self) -> &str {
        &self.label_name
    }
    /// The features, row-major.
    #[must_use]
    pub fn features(&self) -> &[f64] {
        &self.features
    }
    /// The label of each row, as written (trimmed).
    #[must_use]
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// Checks that this table has the feature columns of `train`, by name,
    /// and puts its columns in the training table's order. A missing or an
    /// extra feature column is an error naming it: the first missing one in
    /// the training table's order, else the first extra one in this
    /// table's. O(F) expected: both lookups are hash maps.
    pub fn align_features(&mut self, train: &Table) -> Result<(), TableError> {
        let position: HashMap<&str, usize> = self
            .feature_names
            .iter()
            .enumerate()
            .map(|(column, name)| (name.as_str(), column))
            .collect();
        let mut order = Vec::with_capacity(train.n_features());
        for name in &train.feature_names {
            match position.get(name.as_str()) {
                Some(&column) => order.push(column),
                None => return Err(TableError::MissingFeature { name: name.clone() }),
            }
        }
        let wanted: HashSet<&str> = train.feature_names.iter().map(String::as_str).collect();
        if let Some(extra) = self
            .feature_names
            .iter()
            .find(|name| !wanted.contains(name.as_str()))
        {
            return Err(TableError::ExtraFeature {
                name: extra.clone(),
            });
        }
        if order.iter().enumerate().any(|(to, &from)| to != from) {
            let width = self.n_features();
            self.features = self
                .features
                .chunks_exact(width)
                .flat_map(|row| order.iter().map(|&from| row[from]))
                .collect();
            self.feature_names = train.feature_names.clone();
        }
        Ok(())
    }

    /// The providers: their names in order of first appearance, and the
    /// players they form (player `i` is `names[i]`). `None` without a
    /// provider column.
    #[must_use]
    pub fn players(&self) -> Option<(Vec<String>, Players)> {
        Some(Players::named(self.providers.as_ref()?))
    }

    /// Keeps only the rows of the providers for which `keep` holds, and
    /// returns the providers dropped, in order of first appearance. A table
    /// without a provider column is kept whole; a table left without rows
    /// is [`TableError::NoRows`], and unchanged.
    pub fn retain_providers(
        &mut self,
        mut keep: impl FnMut(&str) -> bool,
    ) -> Result<Vec<String>, TableError> {
        let Some(providers) = &self.providers else {
            return Ok(Vec::new());
        };
        let mut dropped: Vec<String> = Vec::new();
        let mut seen: HashSet<&str> = HashSet::new();
        let kept: Vec<bool> = providers
            .iter()
            .map(|name| {
                let kept = keep(name);
                if !kept && seen.insert(name.as_str()) {
                    dropped.push(name.clone());
                }
                kept
            })
            .collect();
        if !kept.contains(&true) {
            return Err(TableError::NoRows);
        }
        let width = self.n_features();
        let mut row = 0;
        self.features.retain(|_| {
            let keep = kept[row / width];
            row += 1;
            keep
        });
        let mut rows = kept.iter();
        self.labels.retain(|_| rows.next() == Some(&true));
        let mut rows = kept.iter();
        if let Some(providers) = &mut self.providers {
            providers.retain(|_| rows.next() == Some(&true));
        }
        Ok(dropped)
    }
}

/// The classes of several tables, numbered in one order: numerically when
/// every label is a finite number (so `1`, `1.0` and `1e0` are one class,
/// and `-0` is `0`), as text otherwise.
#[derive(Debug, Clone, PartialEq)]
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
    pub fn of(tables: &[&Table]) -> Result<Classes, TableError> {
        let sets: Vec<&[String]> = tables.iter().map(|table| table.labels.as_slice()).collect();
        let label = tables.first().map_or("", |table| table.label_name.as_str());
        Classes::of_labels(&sets, label)
    }

    /// Numbers labels given as text, by the rule of [`Classes::of`]
    /// (`label` names the label column in the message of too many
    /// classes). The Python package numbers its string arrays with this.
    pub fn of_labels(sets: &[&[String]], label: &str) -> Result<Classes, TableError> {
        let mut names: Vec<&str> = sets
            .iter()
            .flat_map(|set| set.iter().map(String::as_str))
            .collect();
        let n_rows = names.len();
        names.sort_unstable();
        names.dedup();
        let numbers: Option<Vec<f64>> = names
            .iter()
            .map(|name| name.parse::<f64>().ok().filter(|value| value.is_finite()))
            .collect();
        let (index, n_classes): (HashMap<String, usize>, usize) = match numbers {
            Some(numbers) => {
                let (classes, n_classes) = rank_by_value(&numbers);
                let index = names
                    .iter()
                    .zip(classes)
                    .map(|(name, class)| ((*name).to_owned(), class))
                    .collect();
                (index, n_classes)
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
        check_class_count(n_classes, n_rows, label)?;
        Ok(Classes { index, n_classes })
    }

    /// Numbers labels that are all numbers (finite), by value as
    /// [`Classes::of`] numbers numeric text: each set's labels as classes,
    /// and the number of classes. The text of a number parses back to it,
    /// so numbering the values gives the classes their text would get.
    pub fn number_values(
        sets: &[&[f64]],
        label: &str,
    ) -> Result<(Vec<Vec<usize>>, usize), TableError> {
        let all: Vec<f64> = sets.iter().flat_map(|set| set.iter().copied()).collect();
        let (classes, n_classes) = rank_by_value(&all);
        check_class_count(n_classes, all.len(), label)?;
        let mut classes = classes.into_iter();
        let numbered = sets
            .iter()
            .map(|set| classes.by_ref().take(set.len()).collect())
            .collect();
        Ok((numbered, n_classes))
    }

    /// Number of classes.
    #[must_use]
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// The class of a label as written, if it is one.
    #[must_use]
    pub fn class(&self, label: &str) -> Option<usize> {
        self.index.get(label).copied()
    }

    /// The table as a dataset: its features and the class of each label.
    pub fn dataset(&self, table: &Table) -> Result<Dataset, TableError> {
        let labels = table
            .labels
            .iter()
            .enumerate()
            .map(|(row, label)| {
                self.class(label).ok_or_else(|| TableError::UnknownLabel {
                    row,
                    label: label.clone(),
                })
            })
            .collect::<Result<Vec<usize>, TableError>>()?;
        Ok(Dataset::new(
            table.features.clone(),
            table.n_features(),
            labels,
            self.n_classes,
        )?)
    }
}

/// The class of each value: the number of distinct values below it, with
/// -0 and +0 one value (-0 + 0 = +0); and the number of distinct values.
fn rank_by_value(values: &[f64]) -> (Vec<usize>, usize) {
    let values: Vec<f64> = values.iter().map(|value| value + 0.0).collect();
    let mut distinct = values.clone();
    distinct.sort_unstable_by(f64::total_cmp);
    distinct.dedup();
    let classes = values
        .iter()
        .map(|value| {
            distinct
                .binary_search_by(|probe| probe.total_cmp(value))
                .unwrap_or_else(|insert| insert)
        })
        .collect();
    (classes, distinct.len())
}

/// The limits on classes: at most [`MAX_CLASSES`], and at most half as
/// many classes as rows when there are more than two.
fn check_class_count(n_classes: usize, n_rows: usize, label: &str) -> Result<(), TableError> {
    if n_classes > MAX_CLASSES || (n_classes > 2 && 2 * n_classes > n_rows) {
        return Err(TableError::TooManyClasses {
            label: label.to_owned(),
            n_classes,
            n_rows,
        });
    }
    Ok(())
}

/// CSV text whose header row has been read: column names, unique. Rows
/// are read one at a time, and their cells with messages naming the line
/// and the column.
pub struct CsvReader<R> {
    /// The header's column names.
    names: Vec<String>,
    records: csv::StringRecordsIntoIter<R>,
}

impl<R> std::fmt::Debug for CsvReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvReader")
            .field("names", &self.names)
            .finish_non_exhaustive()
    }
}

impl<R: io::Read> CsvReader<R> {
    /// Reads the header row, refusing empty text and duplicate column
    /// names. Fields are trimmed; rows may have any number of fields until
    /// [`CsvReader::next_row`] checks them.
    pub fn new(reader: R) -> Result<CsvReader<R>, TableError> {
        let mut records = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(reader)
            .into_records();
        let header = match records.next() {
            None => return Err(TableError::Empty),
            Some(record) => record.map_err(|e| csv_error(&e))?,
        };
        let names: Vec<String> = header.iter().map(str::to_owned).collect();
        if let [name] = names.as_slice() {
            if let Some(separator) = name.chars().find(|c| matches!(c, ';' | '\t')) {
                return Err(TableError::Separator { separator });
            }
        }
        let mut seen = HashMap::with_capacity(names.len());
        for (column, name) in names.iter().enumerate() {
            if let Some(first) = seen.insert(name.as_str(), column) {
                return Err(TableError::DuplicateColumn {
                    first,
                    second: column,
                    name: name.clone(),
                });
            }
        }
        Ok(CsvReader { names, records })
    }

    /// The header's column names.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The index of the column `name`, if there is one.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// Refuses a column that is not among `known` (0-based indices), naming
    /// the first, as [`TableError::UnknownColumn`]; `expected` names the
    /// columns the format knows, for the message.
    pub fn refuse_other_columns(
        &self,
        known: &[usize],
        expected: &[&str],
    ) -> Result<(), TableError> {
        match (0..self.names.len()).find(|column| !known.contains(column)) {
            Some(column) => Err(TableError::UnknownColumn {
                name: self.names[column].clone(),
                expected: expected.iter().map(|name| (*name).to_owned()).collect(),
            }),
            None => Ok(()),
        }
    }

    /// The index of the column `name`, which is wanted as `role`;
    /// [`TableError::MissingColumn`] when there is none.
    pub fn column(&self, name: &str, role: ColumnRole) -> Result<usize, TableError> {
        self.position(name)
            .ok_or_else(|| TableError::MissingColumn {
                name: name.to_owned(),
                role,
            })
    }

    /// The next data row, refusing one whose field count is not the
    /// header's. `None` after the last row.
    pub fn next_row(&mut self) -> Result<Option<CsvRow<'_>>, TableError> {
        let Some(record) = self.records.next() else {
            return Ok(None);
        };
        let record = record.map_err(|e| csv_error(&e))?;
        let line = record.position().map_or(0, csv::Position::line);
        if record.len() != self.names.len() {
            return Err(TableError::FieldCount {
                line,
                fields: record.len(),
                header: self.names.len(),
            });
        }
        Ok(Some(CsvRow {
            names: &self.names,
            record,
            line,
        }))
    }
}

/// One data row of a [`CsvReader`]. Its cells are read by 0-based column
/// index, which must be below the header's length.
#[derive(Debug)]
pub struct CsvRow<'a> {
    names: &'a [String],
    record: csv::StringRecord,
    line: u64,
}

impl CsvRow<'_> {
    /// The row's 1-based line.
    #[must_use]
    pub fn line(&self) -> u64 {
        self.line
    }

    /// The column's name (empty past the header).
    fn name(&self, column: usize) -> String {
        self.names.get(column).cloned().unwrap_or_default()
    }

    /// The cell's text, possibly empty.
    #[must_use]
    pub fn raw(&self, column: usize) -> &str {
        self.record.get(column).unwrap_or_default()
    }

    /// The cell's text, which must not be empty.
    pub fn text(&self, column: usize) -> Result<&str, TableError> {
        let text = self.raw(column);
        if text.is_empty() {
            return Err(TableError::EmptyCell {
                line: self.line,
                column,
                name: self.name(column),
            });
        }
        Ok(text)
    }

    /// The cell as a finite number.
    pub fn number(&self, column: usize) -> Result<f64, TableError> {
        let text = self.text(column)?;
        let value: f64 = text.parse().map_err(|_| TableError::NotANumber {
            line: self.line,
            column,
            name: self.name(column),
            text: text.to_owned(),
        })?;
        if !value.is_finite() {
            return Err(TableError::NotFinite {
                line: self.line,
                column,
                name: self.name(column),
                text: text.to_owned(),
            });
        }
        Ok(value)
    }

    /// The cell as a finite number, `None` when it is empty.
    pub fn optional_number(&self, column: usize) -> Result<Option<f64>, TableError> {
        if self.raw(column).is_empty() {
            Ok(None)
        } else {
            self.number(column).map(Some)
        }
    }
}

fn csv_error(error: &csv::Error) -> TableError {
    match error.position() {
        Some(position) => TableError::Syntax {
            line: position.line(),
            message: error.to_string(),
        },
        None => TableError::Read {
            message: error.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, columns: Columns<'_>) -> Result<Table, TableError> {
        Table::read_csv(text.as_bytes(), columns)
    }

    #[test]
    fn labels_as_text_and_as_numbers_get_the_same_classes() {
        let text = [
            vec!["1".to_owned(), "-0".to_owned(), "2.5".to_owned()],
            vec!["0".to_owned(), "1e0".to_owned(), "2.5".to_owned()],
        ];
        let sets: Vec<&[String]> = text.iter().map(Vec::as_slice).collect();
        let classes = Classes::of_labels(&sets, "y").expect("classes");
        let by_text: Vec<Vec<usize>> = text
            .iter()
            .map(|set| {
                set.iter()
                    .map(|l| classes.class(l).expect("a class"))
                    .collect()
            })
            .collect();
        assert_eq!(by_text, [[1, 0, 2], [0, 1, 2]]);
        assert_eq!(classes.n_classes(), 3);
        let values = [vec![1.0, -0.0, 2.5], vec![0.0, 1.0, 2.5]];
        let sets: Vec<&[f64]> = values.iter().map(Vec::as_slice).collect();
        assert_eq!(
            Classes::number_values(&sets, "y").expect("classes"),
            (by_text, 3)
        );
        // Text that is not all numbers is numbered in byte order.
        let words = [vec![
            "b".to_owned(),
            "a".to_owned(),
            "10".to_owned(),
            "9".to_owned(),
            "a".to_owned(),
            "b".to_owned(),
            "a".to_owned(),
            "b".to_owned(),
        ]];
        let sets: Vec<&[String]> = words.iter().map(Vec::as_slice).collect();
        let classes = Classes::of_labels(&sets, "y").expect("classes");
        assert_eq!(
            ["10", "9", "a", "b"].map(|l| classes.class(l)),
            [Some(0), Some(1), Some(2), Some(3)]
        );
        // Too many classes for the rows, both ways, naming the column.
        let values = [vec![1.0, 2.0, 3.0, 4.0]];
        let sets: Vec<&[f64]> = values.iter().map(Vec::as_slice).collect();
        let error = Classes::number_values(&sets, "grade").expect_err("4 classes in 4 rows");
        assert!(error.to_string().contains("grade"), "{error}");
    }

    /// One line per malformed text: the error, with its line and column.
    #[test]
    fn malformed_text_is_refused_naming_line_and_column() {
        let plain = Columns::default();
        let owner = Columns {
            label: None,
            provider: ProviderColumn::Required("owner"),
        };
        let cases: &[(&str, Columns<'_>, &str)] = &[
            ("", plain, "empty file, expected a header row"),
            (
                "x,x,label\n1,2,0\n",
                plain,
                "line 1: columns 1 and 2 are both named \"x\"",
            ),
            ("x,label\n", plain, "no data rows after the header"),
            (
                "x,label\n1,0\n2\n",
                plain,
                "line 3: 1 fields, but the header has 2",
            ),
            ("x,label\n,0\n", plain, "line 2, column 1 (x): empty cell"),
            (
                "x,label\n1,\n",
                plain,
                "line 2, column 2 (label): empty cell",
            ),
            (
                "x,label\nabc,0\n",
                plain,
                "line 2, column 1 (x): \"abc\" is not a number",
            ),
            (
                "x,label\ninf,0\n",
                plain,
                "line 2, column 1 (x): \"inf\" is not a finite number",
            ),
            ("label\n1\n", plain, "line 1: no feature columns"),
            ("x,label\n1,0\n", owner, "line 1: no column named \"owner\""),
            ("owner\na\n", owner, "line 1: no label column"),
            (
                "owner,x\na,1\n",
                Columns {
                    label: Some("owner"),
                    provider: ProviderColumn::Required("owner"),
                },
                "the label and the provider column are the same column",
            ),
            (
                "x,y\n1,0\n",
                Columns {
                    label: Some("label"),
                    provider: ProviderColumn::Unused,
                },
                "line 1: no column named \"label\"",
            ),
            ("x,label\n\"1,0\n", plain, "line 2"),
            (
                "x;y;label\n1;2;0\n",
                plain,
                "line 1: the header is one column holding ';': fields must be separated by \
                 commas (only comma-separated files are read)",
            ),
            (
                "x\ty\tlabel\n1\t2\t0\n",
                plain,
                "line 1: the header is one column holding '\\t'",
            ),
        ];
        for (text, columns, expected) in cases {
            let error = read(text, *columns).expect_err(text);
            assert!(
                error.to_string().starts_with(expected),
                "{text:?}: {error} is not {expected:?}"
            );
        }
    }

    #[test]
    fn columns_are_found_by_role() {
        // The label defaults to `label`, else the last non-provider column;
        // an optional provider column is dropped.
        let table = read("a,label,b\n1,x,2\n", Columns::default()).expect("valid");
        assert_eq!(
            (table.label_name(), table.feature_names()),
            ("label", &["a".to_owned(), "b".to_owned()][..])
        );
        let table = read(
            "a,b,owner\n1,x,p\n",
            Columns {
                label: None,
                provider: ProviderColumn::Optional("owner"),
            },
        )
        .expect("valid");
        assert_eq!(table.label_name(), "b");
        assert_eq!(table.features(), &[1.0]);
        assert_eq!(
            table.players().map(|(names, _)| names),
            Some(vec!["p".to_owned()])
        );
        let missing = read(
            "a,label\n1,x\n",
            Columns {
                label: None,
                provider: ProviderColumn::Optional("owner"),
            },
        )
        .expect("an optional column may be missing");
        assert_eq!(missing.n_features(), 1);
    }

    #[test]
    fn features_align_by_name() {
        let train = read("a,b,label\n1,2,0\n", Columns::default()).expect("valid");
        let mut test = read("b,label,a\n20,1,10\n30,0,40\n", Columns::default()).expect("valid");
        test.align_features(&train).expect("same features");
        assert_eq!(test.features(), &[10.0, 20.0, 40.0, 30.0]);
        assert_eq!(test.feature_names(), train.feature_names());
        let mut missing = read("a,label\n1,0\n", Columns::default()).expect("valid");
        assert_eq!(
            missing.align_features(&train),
            Err(TableError::MissingFeature { name: "b".into() })
        );
        let mut extra = read("a,b,c,label\n1,2,3,0\n", Columns::default()).expect("valid");
        assert_eq!(
            extra.align_features(&train),
            Err(TableError::ExtraFeature { name: "c".into() })
        );
    }

    #[test]
    fn classes_are_numbered_by_value_or_text() {
        let numeric = read(
            "x,label\n1,1.0\n2,-0\n3,1e0\n4,0\n5,10\n6,2\n7,10\n8,2\n",
            Columns::default(),
        )
        .expect("valid");
        let classes = Classes::of(&[&numeric]).expect("4 classes in 8 rows");
        let data = classes.dataset(&numeric).expect("dataset");
        assert_eq!(data.labels(), &[1, 0, 1, 0, 3, 2, 3, 2]);
        assert_eq!(data.n_classes(), 4);
        let text = read("x,label\n1,b\n2,a\n3,b\n", Columns::default()).expect("valid");
        let classes = Classes::of(&[&text]).expect("2 classes");
        assert_eq!(
            classes.dataset(&text).expect("dataset").labels(),
            &[1, 0, 1]
        );
        let other = read("x,label\n1,c\n", Columns::default()).expect("valid");
        assert_eq!(
            classes.dataset(&other),
            Err(TableError::UnknownLabel {
                row: 0,
                label: "c".into()
            })
        );
        let continuous = read("x,label\n1,0.5\n2,0.7\n3,0.9\n", Columns::default()).expect("valid");
        assert!(matches!(
            Classes::of(&[&continuous]),
            Err(TableError::TooManyClasses {
                n_classes: 3,
                n_rows: 3,
                ..
            })
        ));
    }

    #[test]
    fn providers_are_numbered_in_order_of_appearance() {
        let table = read(
            "owner,x,label\nb,1,0\na,2,1\nb,3,0\n",
            Columns {
                label: None,
                provider: ProviderColumn::Required("owner"),
            },
        )
        .expect("valid");
        let (names, players) = table.players().expect("providers");
        assert_eq!(names, ["b", "a"]);
        assert_eq!(players.rows_of(0), &[0, 2]);
        assert_eq!(players.rows_of(1), &[1]);
    }

    fn names(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| (*name).to_owned()).collect()
    }

    /// A text, its special columns, its features, and the label and
    /// features read (or the error).
    type Case<'a> = (
        &'a str,
        Columns<'a>,
        FeatureColumns<'a>,
        Result<(&'a str, &'a [&'a str]), &'a str>,
    );

    /// One line per choice of features: the label and the features read,
    /// or the error.
    #[test]
    fn features_are_chosen_by_name() {
        let owner = |label| Columns {
            label,
            provider: ProviderColumn::Required("owner"),
        };
        let id = names(&["id"]);
        let id_and_b = names(&["id", "b"]);
        let a_b = names(&["a", "b"]);
        let typo = names(&["idd"]);
        let twice = names(&["a", "a"]);
        let with_label = names(&["a", "y"]);
        let with_owner = names(&["owner"]);
        let cases: &[Case<'_>] = &[
            (
                "a,id,b,y\n1,2,3,0\n",
                Columns::default(),
                FeatureColumns::All,
                Ok(("y", &["a", "id", "b"])),
            ),
            (
                "a,id,b,y\n1,2,3,0\n",
                Columns::default(),
                FeatureColumns::Except(&id),
                Ok(("y", &["a", "b"])),
            ),
            // The default label passes over an ignored last column.
            (
                "a,b,y,id\n1,2,0,3\n",
                Columns::default(),
                FeatureColumns::Except(&id),
                Ok(("y", &["a", "b"])),
            ),
            (
                "a,id,b,y\n1,2,3,0\n",
                Columns::default(),
                FeatureColumns::Except(&id_and_b),
                Ok(("y", &["a"])),
            ),
            (
                "a,b,y\n1,3,0\n",
                Columns::default(),
                FeatureColumns::ExceptPresent(&id),
                Ok(("y", &["a", "b"])),
            ),
            (
                "b,c,a,y\n1,2,3,0\n",
                Columns::default(),
                FeatureColumns::Only(&a_b),
                Ok(("y", &["b", "a"])),
            ),
            (
                "owner,a,b,y\np,1,2,0\n",
                owner(None),
                FeatureColumns::Only(&a_b),
                Ok(("y", &["a", "b"])),
            ),
            (
                "a,b,y\n1,3,0\n",
                Columns::default(),
                FeatureColumns::Except(&typo),
                Err("line 1: no column named \"idd\""),
            ),
            (
                "a,b,y\n1,3,0\n",
                Columns::default(),
                FeatureColumns::Only(&typo),
                Err("line 1: no column named \"idd\""),
            ),
            (
                "a,b,y\n1,3,0\n",
                Columns::default(),
                FeatureColumns::Only(&twice),
                Err("column \"a\" is listed twice"),
            ),
            (
                "a,b,y\n1,3,0\n",
                Columns::default(),
                FeatureColumns::Only(&with_label),
                Err("line 1: column \"y\" is the label column, so it cannot be a feature"),
            ),
            (
                "a,b,y\n1,3,0\n",
                owner(Some("a")),
                FeatureColumns::Except(&with_label),
                Err("line 1: no column named \"owner\""),
            ),
            (
                "owner,a,y\np,3,0\n",
                owner(Some("y")),
                FeatureColumns::Except(&with_label),
                Err("line 1: column \"y\" is the label column, so it cannot be ignored"),
            ),
            (
                "owner,a,y\np,3,0\n",
                owner(None),
                FeatureColumns::Except(&with_owner),
                Err("line 1: column \"owner\" is the provider column, so it cannot be ignored"),
            ),
            (
                "id,y\n3,0\n",
                Columns::default(),
                FeatureColumns::Except(&id),
                Err("line 1: no feature columns"),
            ),
        ];
        for (index, (text, columns, features, expected)) in cases.iter().enumerate() {
            let read = Table::read_csv_with_features(text.as_bytes(), *columns, *features);
            match (read, expected) {
                (Ok(table), Ok((label, features))) => {
                    assert_eq!(table.label_name(), *label, "case {index}");
                    assert_eq!(table.feature_names(), *features, "case {index}");
                }
                (Err(error), Err(message)) => {
                    assert_eq!(error.to_string(), *message, "case {index}")
                }
                (read, _) => panic!("case {index}: {read:?} is not {expected:?}"),
            }
        }
    }

    #[test]
    fn unknown_columns_are_named() {
        let file = CsvReader::new("provider,bid,colour\n".as_bytes()).expect("header");
        assert_eq!(file.refuse_other_columns(&[0, 1, 2], &["provider"]), Ok(()));
        assert_eq!(
            file.refuse_other_columns(&[1, 0], &["provider", "bid", "volume"])
                .map_err(|error| error.to_string()),
            Err(
                "line 1: unknown column \"colour\", expected \"provider\", \"bid\", \"volume\""
                    .to_owned()
            )
        );
    }

    #[test]
    fn rows_of_dropped_providers_go() {
        let columns = Columns {
            label: None,
            provider: ProviderColumn::Required("owner"),
        };
        let mut table = read(
            "owner,x,y,label\nb,1,2,0\na,3,4,1\nc,5,6,0\nb,7,8,1\n",
            columns,
        )
        .expect("valid");
        let dropped = table
            .retain_providers(|name| name != "b")
            .expect("rows left");
        assert_eq!(dropped, ["b"]);
        assert_eq!(table.features(), &[3.0, 4.0, 5.0, 6.0]);
        assert_eq!(table.labels(), ["1", "0"]);
        assert_eq!(
            table.players().map(|(names, _)| names),
            Some(names(&["a", "c"]))
        );
        let before = table.clone();
        assert_eq!(table.retain_providers(|_| false), Err(TableError::NoRows));
        assert_eq!(table, before);
        let mut plain = read("x,label\n1,0\n", Columns::default()).expect("valid");
        assert_eq!(plain.retain_providers(|_| false), Ok(Vec::new()));
        assert_eq!(plain.n_rows(), 1);
    }
}
