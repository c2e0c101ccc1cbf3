//! Labelled datasets read from CSV text, before and after their labels
//! become classes.
//!
//! A dataset has a header row. The label column is named by
//! [`Columns::label`], by default the column named `label`, otherwise the
//! last column that is not the provider column. The optional provider
//! column ([`ProviderColumn`]) names the provider owning each row. Every
//! other column is a finite numeric feature. A test or trusted set must
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
    /// A column that was asked for is not in the header.
    #[error("line 1: no column named {name:?}")]
    MissingColumn {
        /// The name asked for.
        name: String,
        /// What the column was wanted for.
        role: ColumnRole,
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
        let mut file = CsvReader::new(reader)?;
        let provider_column = match columns.provider {
            ProviderColumn::Required(name) => Some(file.column(name, ColumnRole::Provider)?),
            ProviderColumn::Optional(name) => file.position(name),
            ProviderColumn::Unused => None,
        };
        let n_columns = file.names().len();
        let label_column = match columns.label {
            Some(name) => file.column(name, ColumnRole::Label)?,
            None => match file.position("label") {
                Some(column) => column,
                None => (0..n_columns)
                    .rev()
                    .find(|&column| Some(column) != provider_column)
                    .ok_or(TableError::NoLabelColumn)?,
            },
        };
        if Some(label_column) == provider_column {
            return Err(TableError::LabelIsProvider);
        }
        let feature_columns: Vec<usize> = (0..n_columns)
            .filter(|&column| column != label_column && Some(column) != provider_column)
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
        let column = self.providers.as_ref()?;
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
        // Every provider index comes from a row, so no player is empty and
        // every index is below the number of rows: this cannot fail.
        let players = Players::groups(of_row).ok()?;
        Some((names, players))
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
            return Err(TableError::TooManyClasses {
                label: tables
                    .first()
                    .map_or_else(String::new, |table| table.label_name.clone()),
                n_classes,
                n_rows,
            });
        }
        Ok(Classes { index, n_classes })
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
}
