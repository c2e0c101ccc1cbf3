//! `results.csv`: an experiment's records as a table, written
//! ([`results_csv`]) and read back ([`parse_results`]); and the merge of
//! the tables of a sharded run ([`merge_shards`], `procura merge`) into
//! the results one unsharded run gives.
//!
//! The table has a header, then a row per cell, replicate and mechanism,
//! in that order:
//!
//! ```text
//! cell,replicate,KEY…,mechanism,COLUMN…
//! 0,0,0.2,subsidy,1,,4.5,…
//! ```
//!
//! `KEY…` are the design's swept keys and each row holds its cell's swept
//! values as written in the experiment file ([`GridCell::labels`]);
//! `COLUMN…` are the columns of the market's records ([`Record::columns`])
//! and each row holds a record's fields ([`Record::fields`]): a number
//! ([`format_number`]), or nothing where the field does not apply. Text
//! fields are quoted as RFC 4180 says ([`csv_field`]). Every row, the last
//! included, ends with a newline.
//!
//! Reading is strict: a table is accepted only when every row is the one
//! the shard writes (its cell, replicate, swept values and mechanism, in
//! order), every field a finite number its column can hold, and the table
//! complete; errors ([`ResultsError`]) name the row (or line) and the
//! column. Nothing is allocated beyond what the text itself holds: rows
//! are checked against the design, which bounds its records
//! ([`crate::limits::MAX_RECORDS`]), as they are read.
//!
//! ```
//! use procura_lab::experiment::design::{parse_design, run_design};
//! use procura_lab::experiment::results_csv::{merge_shards, results_csv, ShardFiles};
//! use procura_lab::experiment::Shard;
//! use std::path::Path;
//!
//! let source = r#"
//!     name = "tiny"
//!     seed = 1
//!     replicates = 2
//!     mechanisms = ["subsidy"]
//!
//!     [threshold]
//!     users = 4
//!     threshold_fraction = 0.5
//!     payment = 0.6
//!     floor = 1.0
//!     cost = { distribution = "uniform", low = 0.0, high = 1.5 }
//!     capacity = { distribution = "uniform", low = 0.5, high = 2.0 }
//!
//!     [[sweep]]
//!     key = "threshold.threshold_fraction"
//!     values = [0.2, 0.6, 0.9]
//! "#;
//! let design = parse_design(source)?;
//! // Two shards, as `procura experiment --shard I/2` writes them.
//! let mut tables = Vec::new();
//! for index in 1..=2 {
//!     let shard = Shard::new(index, 2)?;
//!     let results = run_design(&design, shard, &|| {})?;
//!     tables.push((shard.to_string(), results_csv(&design, &results)?));
//! }
//! let folders = [Path::new("shard-1"), Path::new("shard-2")];
//! let shards: Vec<ShardFiles<'_>> = folders
//!     .iter()
//!     .zip(&tables)
//!     .map(|(folder, (shard, results))| ShardFiles {
//!         folder,
//!         experiment: source,
//!         shard,
//!         results,
//!     })
//!     .collect();
//! let merged = merge_shards(&shards)?;
//! assert_eq!(merged.results, run_design(&design, Shard::WHOLE, &|| {})?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use procura_mechanisms::Mechanism;

use super::design::{parse_design, Design, DesignError, GridCell};
use super::{CellResult, ExperimentError, Record, RecordError, Shard, ShardError};

/// How many missing shards [`MergeError::Missing`] names (it counts the
/// rest).
const MISSING_NAMED: usize = 10;

/// Why a results table is not the one a shard of the design writes, or
/// results cannot be written as one. Messages name the row (the header is
/// row 1; a quoted field may span lines) or the line, and the column.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ResultsError {
    /// The text does not end with a newline: it was cut inside its last
    /// row (a row cut after a comma, or inside its last number, would
    /// still parse).
    #[error("line {line}: the file ends inside this row (no newline after it): it was cut short")]
    CutShort {
        /// The last line, from 1.
        line: usize,
    },
    /// The first line is not the design's header ([`results_header`]).
    #[error("row 1: {column}: the header is not this experiment's: expected {expected:?}")]
    Header {
        /// The first column whose name differs (or `column N`, past the
        /// design's columns).
        column: String,
        /// The design's header.
        expected: String,
    },
    /// The text is not CSV: an unclosed quote, or a row with another
    /// number of fields than the header.
    #[error("row {row}: {problem}")]
    Csv {
        /// The row, from 1.
        row: usize,
        /// The CSV reader's message, with the line and byte.
        problem: String,
    },
    /// A row after the shard's last record.
    #[error("row {row}: more rows than the shard's cells hold")]
    ExtraRow {
        /// The row, from 1.
        row: usize,
    },
    /// A row's cell, replicate, swept values or mechanism is not the next
    /// one the shard writes.
    #[error(
        "row {row}: {column}: expected cell {cell}, replicate {replicate}, mechanism \
         {mechanism} (fields {expected}), found {found}"
    )]
    UnexpectedRow {
        /// The row, from 1.
        row: usize,
        /// The first column that differs: `cell`, `replicate`, a swept key
        /// or `mechanism`.
        column: String,
        /// The cell expected.
        cell: u64,
        /// The replicate expected.
        replicate: u64,
        /// The mechanism expected.
        mechanism: Mechanism,
        /// The fields expected before the records' columns, joined by
        /// commas.
        expected: String,
        /// The fields found there, joined by commas.
        found: String,
    },
    /// A row with another number of fields than the header.
    #[error("row {row}: {found} fields, expected {expected}")]
    FieldCount {
        /// The row, from 1.
        row: usize,
        /// Fields in the row.
        found: usize,
        /// Fields in the header.
        expected: usize,
    },
    /// A field of a record's column is neither empty nor a finite number.
    #[error("row {row}: {column}: {field:?} is not a finite number")]
    NotANumber {
        /// The row, from 1.
        row: usize,
        /// The column's name.
        column: &'static str,
        /// The field as written.
        field: String,
    },
    /// A row's numbers do not make a record ([`Record::parse`]; the
    /// message names the column).
    #[error("row {row}: {error}")]
    Record {
        /// The row, from 1.
        row: usize,
        /// Why not (in the message, so not its `source`).
        error: RecordError,
    },
    /// The rows end before the shard's last record.
    #[error("incomplete: the rows end before cell {cell}, replicate {replicate}")]
    Incomplete {
        /// The first cell missing a record.
        cell: u64,
        /// Its first replicate missing a record.
        replicate: u64,
    },
    /// A cell's records do not make a [`CellResult`]. Every row was
    /// checked to be the expected one, so this is a bug, reported rather
    /// than hidden.
    #[error("cell {cell}: {error}")]
    Cell {
        /// The cell.
        cell: u64,
        /// Why (in the message, so not its `source`).
        error: ExperimentError,
    },
    /// [`results_csv`] was given a result that is not of the design: its
    /// cell is not one of the design's, or its market or mechanisms are
    /// not the design's.
    #[error(
        "cell {cell}: not a result of this experiment ({cells} cells, mechanisms {mechanisms})"
    )]
    Foreign {
        /// The result's cell.
        cell: u64,
        /// The design's number of cells.
        cells: usize,
        /// The design's mechanisms, joined by commas.
        mechanisms: String,
    },
}

/// A number as written in result tables: integers without a fraction,
/// everything else in Rust's shortest round-trip form; NaN (a summary that
/// does not exist) as an empty field. Every field parses back to the same
/// double.
///
/// ```
/// use procura_lab::experiment::results_csv::format_number;
///
/// assert_eq!(format_number(3.0), "3");
/// assert_eq!(format_number(0.1), "0.1");
/// assert_eq!(format_number(1e20), "1e20");
/// assert_eq!(format_number(f64::NAN), "");
/// ```
#[must_use]
pub fn format_number(x: f64) -> String {
    if x.is_nan() {
        String::new()
    } else if x == x.trunc() && x.abs() < 1e15 {
        format!("{x}")
    } else {
        format!("{x:?}")
    }
}

/// A CSV field as every table the command line writes spells it (RFC
/// 4180): quoted, with its quotes doubled, when it holds a comma, a quote,
/// a line feed or a carriage return; as is otherwise.
///
/// ```
/// use procura_lab::experiment::results_csv::csv_field;
///
/// assert_eq!(csv_field("qmia"), "qmia");
/// assert_eq!(csv_field("a,\"b\""), "\"a,\"\"b\"\"\"");
/// ```
#[must_use]
pub fn csv_field(text: &str) -> Cow<'_, str> {
    if text.contains([',', '"', '\n', '\r']) {
        Cow::Owned(format!("\"{}\"", text.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(text)
    }
}

/// The header line of the design's `results.csv`, without the newline:
/// `cell`, `replicate`, the swept keys, `mechanism`, the records' columns.
#[must_use]
pub fn results_header(design: &Design) -> String {
    column_names(design)
        .into_iter()
        .map(csv_field)
        .collect::<Vec<_>>()
        .join(",")
}

/// The names of the columns of the design's `results.csv`, unquoted.
fn column_names(design: &Design) -> Vec<&str> {
    let mut names = vec!["cell", "replicate"];
    names.extend(design.keys().iter().map(String::as_str));
    names.push("mechanism");
    names.extend(design.columns());
    names
}

/// The name of the first of `names` where `found` differs from
/// `expected` (`column N` past the last name).
fn first_difference<E: AsRef<str>>(names: &[&str], expected: &[E], found: &[&str]) -> String {
    let index = expected
        .iter()
        .zip(found)
        .position(|(expected, found)| expected.as_ref() != *found)
        .unwrap_or_else(|| expected.len().min(found.len()));
    names.get(index).map_or_else(
        || format!("column {}", index + 1),
        |name| (*name).to_owned(),
    )
}

/// The `results.csv` of `results`, results of `design` (a run of it, or
/// tables of its shards read back): the header, then a row per cell,
/// replicate and mechanism, in the order of `results`.
///
/// Fails ([`ResultsError::Foreign`]) on a result whose cell is not one of
/// the design's, or whose market or mechanisms are not the design's.
pub fn results_csv(design: &Design, results: &[CellResult]) -> Result<String, ResultsError> {
    let mut csv = results_header(design);
    csv.push('\n');
    for result in results {
        let labels = grid_cell(design, result)?.labels();
        let mechanisms = result.mechanisms();
        for (replicate, records) in result.rows().enumerate() {
            for (mechanism, record) in mechanisms.iter().zip(records) {
                let _ = write!(csv, "{},{replicate}", result.cell());
                for label in labels {
                    let _ = write!(csv, ",{}", csv_field(label));
                }
                let _ = write!(csv, ",{mechanism}");
                for field in record.fields() {
                    csv.push(',');
                    if let Some(value) = field {
                        csv.push_str(&format_number(value));
                    }
                }
                csv.push('\n');
            }
        }
    }
    Ok(csv)
}

/// The grid cell of `result`, checked to be a result of `design`.
fn grid_cell<'a>(design: &'a Design, result: &CellResult) -> Result<&'a GridCell, ResultsError> {
    let cell = usize::try_from(result.cell())
        .ok()
        .and_then(|cell| design.cells().get(cell));
    match cell {
        Some(cell)
            if result.market() == design.market()
                && result.mechanisms().as_slice() == design.mechanisms() =>
        {
            Ok(cell)
        }
        _ => Err(ResultsError::Foreign {
            cell: result.cell(),
            cells: design.cells().len(),
            mechanisms: join(design.mechanisms()),
        }),
    }
}

/// Reads the `results.csv` of shard `shard` of `design` back into cell
/// results, one per cell of the shard in cell order. The text must be
/// exactly what that shard writes ([`results_csv`]): the header, then for
/// each of the shard's cells in order (c mod N = I − 1), each replicate in
/// order, one row per mechanism in order, with the cell's swept values;
/// every field empty (does not apply) or a finite number, read back into
/// its record by [`Record::parse`]; every row, the last included, ended by
/// a newline.
///
/// A text cut short is refused, wherever the cut: inside a row (its last
/// field shortened, or ending right after a comma, would still parse) the
/// text lacks its final newline; between rows, a cell lacks records
/// (replicates × mechanisms per cell are checked).
///
/// Never panics; allocates no more than the text holds (plus the shard's
/// cell indices, at most [`crate::limits::MAX_CELLS`]).
pub fn parse_results(
    design: &Design,
    text: &str,
    shard: Shard,
) -> Result<Vec<CellResult>, ResultsError> {
    if !text.is_empty() && !text.ends_with('\n') {
        return Err(ResultsError::CutShort {
            line: text.lines().count(),
        });
    }
    let columns = design.columns();
    let mechanisms = design.mechanisms();
    let names = column_names(design);
    let header = results_header(design);
    let first_line = text.lines().next().unwrap_or_default();
    if first_line != header {
        // Names are simple keys, so naive splitting finds the column.
        let expected: Vec<&str> = header.split(',').collect();
        let found: Vec<&str> = first_line.split(',').collect();
        return Err(ResultsError::Header {
            column: first_difference(&names, &expected, &found),
            expected: header,
        });
    }
    // At most MAX_CELLS: the design's grid is bounded.
    let cells: Vec<u64> = shard.cells(design.cells().len() as u64).collect();
    let replicates = design.replicates();
    // The rows this shard writes, in order.
    let n_mechanisms = mechanisms.len();
    let mut expected = cells.iter().flat_map(|&cell| {
        (0..replicates).flat_map(move |replicate| {
            (0..n_mechanisms).map(move |mechanism| (cell, replicate, mechanism))
        })
    });
    // Every record in row order, cut into cells and replicates at the end.
    // Each row is read (and its bytes are in `text`) before its record is
    // kept, so this grows with the text, not with what the design claims.
    let mut records: Vec<Record> = Vec::new();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    // The header was checked above.
    for (index, row) in reader.records().enumerate().skip(1) {
        let number = index + 1;
        let row = row.map_err(|error| ResultsError::Csv {
            row: number,
            problem: error.to_string(),
        })?;
        let Some((cell, replicate, mechanism)) = expected.next() else {
            return Err(ResultsError::ExtraRow { row: number });
        };
        let mechanism = mechanisms[mechanism];
        // `cells` holds the design's cells only.
        let labels = usize::try_from(cell)
            .ok()
            .and_then(|cell| design.cells().get(cell))
            .map_or(&[][..], GridCell::labels);
        let mut wanted: Vec<Cow<'_, str>> = vec![
            Cow::Owned(cell.to_string()),
            Cow::Owned(replicate.to_string()),
        ];
        wanted.extend(labels.iter().map(|label| Cow::Borrowed(label.as_str())));
        wanted.push(Cow::Owned(mechanism.to_string()));
        let written: Vec<&str> = row.iter().take(wanted.len()).collect();
        if written != wanted {
            return Err(ResultsError::UnexpectedRow {
                row: number,
                column: first_difference(&names, &wanted, &written),
                cell,
                replicate,
                mechanism,
                expected: wanted.join(","),
                found: written.join(","),
            });
        }
        if row.len() != wanted.len() + columns.len() {
            return Err(ResultsError::FieldCount {
                row: number,
                found: row.len(),
                expected: wanted.len() + columns.len(),
            });
        }
        let fields = row
            .iter()
            .skip(wanted.len())
            .zip(columns)
            .map(|(field, column)| number_field(number, column, field))
            .collect::<Result<Vec<Option<f64>>, ResultsError>>()?;
        records.push(
            Record::parse(design.market(), &fields)
                .map_err(|error| ResultsError::Record { row: number, error })?,
        );
    }
    if let Some((cell, replicate, _)) = expected.next() {
        return Err(ResultsError::Incomplete { cell, replicate });
    }
    // Every row was the expected one, so there are exactly replicates ×
    // mechanisms records per cell, in order.
    let per_cell = usize::try_from(replicates)
        .unwrap_or(usize::MAX)
        .saturating_mul(n_mechanisms)
        .max(1);
    cells
        .iter()
        .zip(records.chunks(per_cell))
        .map(|(&cell, records)| {
            let records = records
                .chunks(n_mechanisms.max(1))
                .map(<[Record]>::to_vec)
                .collect();
            CellResult::new(cell, design.market(), mechanisms.to_vec(), records)
                .map_err(|error| ResultsError::Cell { cell, error })
        })
        .collect()
}

/// A record's field as read from row `row`: empty (does not apply) or a
/// finite number.
fn number_field(
    row: usize,
    column: &'static str,
    field: &str,
) -> Result<Option<f64>, ResultsError> {
    if field.is_empty() {
        return Ok(None);
    }
    match field.parse::<f64>() {
        Ok(value) if value.is_finite() => Ok(Some(value)),
        _ => Err(ResultsError::NotANumber {
            row,
            column,
            field: field.to_owned(),
        }),
    }
}

fn join(mechanisms: &[Mechanism]) -> String {
    mechanisms
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// The files of one shard of a run (`procura experiment --shard I/N`), as
/// text: what [`merge_shards`] merges.
#[derive(Debug, Clone, Copy)]
pub struct ShardFiles<'a> {
    /// The shard's folder, which messages name (nothing is read from it).
    pub folder: &'a Path,
    /// Its `experiment.toml`: the experiment file, byte for byte.
    pub experiment: &'a str,
    /// Its `shard.txt`: `I/N` (surrounding whitespace ignored).
    pub shard: &'a str,
    /// Its `results.csv`.
    pub results: &'a str,
}

/// The shards of a run merged: the results one unsharded run of the
/// design gives.
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    /// The design the shards ran.
    pub design: Design,
    /// A result per cell of the design, in cell order.
    pub results: Vec<CellResult>,
}

/// Why shards do not merge. Messages name the shard's folder (and file).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MergeError {
    /// No shard was given.
    #[error("no shards given")]
    NoShards,
    /// A shard's `experiment.toml` is not the first shard's.
    #[error(
        "{}: experiment.toml differs from that of {}: these are shards of different experiments",
        .folder.display(),
        .first.display()
    )]
    DifferentExperiments {
        /// The shard's folder.
        folder: PathBuf,
        /// The first shard's folder.
        first: PathBuf,
    },
    /// A shard's `shard.txt` is not `I/N`.
    #[error("{}: shard.txt: {error}", .folder.join("shard.txt").display())]
    ShardText {
        /// The shard's folder.
        folder: PathBuf,
        /// Why not (in the message, so not its `source`).
        error: ShardError,
    },
    /// A shard is of a split into another number of shards than the ones
    /// before it.
    #[error(
        "{}: shard {shard} is from a split into {} shards, the others into {others}",
        .folder.display(),
        .shard.count()
    )]
    DifferentSplits {
        /// The shard's folder.
        folder: PathBuf,
        /// The shard.
        shard: Shard,
        /// The number of shards of the ones before it.
        others: u64,
    },
    /// A shard is given twice.
    #[error("{}: shard {shard} is given twice", .folder.display())]
    Repeated {
        /// The folder of its second copy.
        folder: PathBuf,
        /// The shard.
        shard: Shard,
    },
    /// Shards of the split are missing.
    #[error("shards missing: {}{}", missing_list(*.count, .named), and_more(*.more))]
    Missing {
        /// The number of shards of the split.
        count: u64,
        /// The first few missing (their indices I, at most 10).
        named: Vec<u64>,
        /// How many more are missing.
        more: u64,
    },
    /// The shards' `experiment.toml` is not a valid design.
    #[error("experiment.toml of the shards: {0}")]
    Design(Box<DesignError>),
    /// A shard's `results.csv` is not the one it writes.
    #[error("{}: {error}", .folder.join("results.csv").display())]
    Results {
        /// The shard's folder.
        folder: PathBuf,
        /// Why not (in the message, so not its `source`).
        error: Box<ResultsError>,
    },
}

fn missing_list(count: u64, named: &[u64]) -> String {
    named
        .iter()
        .map(|index| format!("{index}/{count}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn and_more(more: u64) -> String {
    if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    }
}

/// Merges the shards of a run, given in any order, into the results one
/// unsharded run of their design gives (the same bits: a cell's records
/// depend only on the seed, the cell and the replicate).
///
/// The shards are checked in order, each against the ones before it: the
/// same `experiment.toml`, a valid `shard.txt` of the same split, not
/// given before; then that none of the split is missing, that the
/// experiment file is a valid design, and that each `results.csv` is the
/// one its shard writes ([`parse_results`]). The first failure is
/// returned, naming the shard's folder.
///
/// Never panics; sizes are bounded before anything of that size is built
/// (the split by [`crate::limits::MAX_SHARDS`], the design by
/// [`parse_design`], the records by the tables' text).
pub fn merge_shards(shards: &[ShardFiles<'_>]) -> Result<Merged, MergeError> {
    let Some(first) = shards.first() else {
        return Err(MergeError::NoShards);
    };
    let mut count: Option<u64> = None;
    let mut seen = BTreeSet::new();
    let mut split = Vec::with_capacity(shards.len());
    for files in shards {
        if files.experiment != first.experiment {
            return Err(MergeError::DifferentExperiments {
                folder: files.folder.to_path_buf(),
                first: first.folder.to_path_buf(),
            });
        }
        let shard: Shard = files
            .shard
            .trim()
            .parse()
            .map_err(|error| MergeError::ShardText {
                folder: files.folder.to_path_buf(),
                error,
            })?;
        if let Some(others) = count.filter(|&n| n != shard.count()) {
            return Err(MergeError::DifferentSplits {
                folder: files.folder.to_path_buf(),
                shard,
                others,
            });
        }
        count = Some(shard.count());
        if !seen.insert(shard.index()) {
            return Err(MergeError::Repeated {
                folder: files.folder.to_path_buf(),
                shard,
            });
        }
        split.push(shard);
    }
    let count = count.unwrap_or(1);
    // count ≤ MAX_SHARDS (Shard checks), and only the first few missing
    // are named.
    let mut missing = (1..=count).filter(|i| !seen.contains(i));
    let named: Vec<u64> = missing.by_ref().take(MISSING_NAMED).collect();
    if !named.is_empty() {
        let more = missing.count().try_into().unwrap_or(u64::MAX);
        return Err(MergeError::Missing { count, named, more });
    }
    let design =
        parse_design(first.experiment).map_err(|error| MergeError::Design(Box::new(error)))?;
    let mut results: Vec<CellResult> = Vec::with_capacity(design.cells().len());
    for (files, shard) in shards.iter().zip(split) {
        results.extend(
            parse_results(&design, files.results, shard).map_err(|error| MergeError::Results {
                folder: files.folder.to_path_buf(),
                error: Box::new(error),
            })?,
        );
    }
    // Each shard held exactly its cells (c mod N = I − 1) and every shard
    // is here once, so the cells are 0, 1, …, each once.
    results.sort_by_key(CellResult::cell);
    debug_assert!((0u64..)
        .zip(&results)
        .all(|(cell, result)| result.cell() == cell));
    debug_assert_eq!(results.len(), design.cells().len());
    Ok(Merged { design, results })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::design::run_design;

    const TINY: &str = r#"
name = "tiny"
seed = 1
replicates = 2
mechanisms = ["subsidy", "withdrawal-simultaneous"]

[threshold]
users = 4
threshold_fraction = 0.5
reserve_price = 1.0
payment = 0.6
floor = 1.0
cost = { distribution = "uniform", low = 0.0, high = 1.5 }
capacity = { distribution = "uniform", low = 0.5, high = 2.0 }

[[sweep]]
key = "threshold.threshold_fraction"
values = [0.2, 0.6, 0.9]
"#;

    fn design() -> Design {
        parse_design(TINY).expect("a design")
    }

    fn table(design: &Design, shard: Shard) -> String {
        let results = run_design(design, shard, &|| {}).expect("runs");
        results_csv(design, &results).expect("writes")
    }

    fn folders(n: usize) -> Vec<PathBuf> {
        (1..=n).map(|i| PathBuf::from(format!("s{i}"))).collect()
    }

    #[test]
    fn numbers_are_written_once_and_read_back_bit_for_bit() {
        for x in [
            0.0,
            -0.0,
            1.0,
            -3.0,
            0.1,
            1e15,
            -1e15,
            999_999_999_999_999.0,
            1e300,
            5e-324,
            f64::MAX,
            f64::MIN_POSITIVE,
        ] {
            let text = format_number(x);
            let back: f64 = text.parse().expect("a number");
            assert_eq!(back.to_bits(), x.to_bits(), "{x}: {text}");
        }
        assert_eq!(format_number(1e15), "1000000000000000.0");
        assert_eq!(format_number(1e16), "1e16");
        assert_eq!(format_number(-2.0), "-2");
    }

    #[test]
    fn a_table_reads_back_into_its_results() {
        let design = design();
        let results = run_design(&design, Shard::WHOLE, &|| {}).expect("runs");
        let text = results_csv(&design, &results).expect("writes");
        assert!(text.starts_with(
            "cell,replicate,threshold.threshold_fraction,mechanism,feasible,null,collected,"
        ));
        assert_eq!(
            parse_results(&design, &text, Shard::WHOLE).expect("reads"),
            results
        );
        // A shard's table is the whole table's rows of its cells.
        let shard = Shard::new(2, 2).expect("a shard");
        let part = parse_results(&design, &table(&design, shard), shard).expect("reads");
        assert_eq!(part, [results[1].clone()]);
        // Results of another design are refused, not written wrong.
        let other = parse_design(&TINY.replace("[0.2, 0.6, 0.9]", "[0.2]")).expect("a design");
        assert!(matches!(
            results_csv(&other, &results),
            Err(ResultsError::Foreign {
                cell: 1,
                cells: 1,
                ..
            })
        ));
    }

    #[test]
    fn errors_name_the_row_and_the_column() {
        let design = design();
        let text = table(&design, Shard::WHOLE);
        let refused = |text: &str| {
            parse_results(&design, text, Shard::WHOLE)
                .expect_err("refused")
                .to_string()
        };
        let row2 = text.lines().nth(1).expect("a row");
        let fields: Vec<&str> = row2.split(',').collect();
        let with = |index: usize, value: &str| {
            let mut fields = fields.clone();
            fields[index] = value;
            text.replacen(row2, &fields.join(","), 1)
        };
        assert_eq!(
            refused(&with(6, "nan")),
            "row 2: collected: \"nan\" is not a finite number"
        );
        assert_eq!(
            refused(&with(6, "")),
            "row 2: collected: empty, but it applies to every record"
        );
        assert_eq!(
            refused(&with(4, "2")),
            "row 2: feasible: 2.0 is not a flag (0 or 1)"
        );
        assert!(refused(&with(1, "1"))
            .starts_with("row 2: replicate: expected cell 0, replicate 0, mechanism subsidy"));
        assert!(refused(&with(2, "0.6")).starts_with("row 2: threshold.threshold_fraction: "));
        assert!(refused(&text.replacen(",feasible,", ",feasable,", 1))
            .starts_with("row 1: feasible: the header is not this experiment's: expected "));
        assert!(refused(&text.replacen(",leakage\n", ",leakage,more\n", 1))
            .starts_with("row 1: column 13: the header"));
        assert!(refused(&text.replacen(row2, &format!("{row2},"), 1))
            .starts_with("row 2: CSV error: record 1 (line: 2, "));
        assert_eq!(
            refused(&text[..text.len() - 1]),
            format!(
                "line {}: the file ends inside this row (no newline after it): it was cut short",
                text.lines().count()
            )
        );
        assert_eq!(
            refused(&format!("{text}{row2}\n")),
            format!(
                "row {}: more rows than the shard's cells hold",
                text.lines().count() + 1
            )
        );
        assert!(refused("").starts_with("row 1: cell: the header is not this experiment's"));
        assert_eq!(
            refused(&format!("{}\n", results_header(&design))),
            "incomplete: the rows end before cell 0, replicate 0"
        );
        assert!(refused("\"").starts_with("line 1: "));
    }

    #[test]
    fn shards_merge_into_the_whole_run_or_are_refused_naming_the_folder() {
        let design = design();
        let whole = run_design(&design, Shard::WHOLE, &|| {}).expect("runs");
        let folders = folders(3);
        let splits: Vec<(String, String)> = (1..=3)
            .map(|index| {
                let shard = Shard::new(index, 3).expect("a shard");
                (format!("{shard}\n"), table(&design, shard))
            })
            .collect();
        let files = |order: &[usize]| -> Vec<ShardFiles<'_>> {
            order
                .iter()
                .map(|&i| ShardFiles {
                    folder: &folders[i],
                    experiment: TINY,
                    shard: &splits[i].0,
                    results: &splits[i].1,
                })
                .collect()
        };
        for order in [[0, 1, 2], [2, 0, 1]] {
            let merged = merge_shards(&files(&order)).expect("merges");
            assert_eq!(merged.results, whole);
            assert_eq!(merged.design, design);
        }
        let refused =
            |shards: &[ShardFiles<'_>]| merge_shards(shards).expect_err("refused").to_string();
        assert_eq!(refused(&[]), "no shards given");
        assert_eq!(refused(&files(&[0, 1])), "shards missing: 3/3");
        assert_eq!(refused(&files(&[0, 0, 1])), "s1: shard 1/3 is given twice");
        let mut other = files(&[0, 1, 2]);
        other[2].experiment = "name = \"other\"";
        assert_eq!(
            refused(&other),
            "s3: experiment.toml differs from that of s1: these are shards of different \
             experiments"
        );
        let mut split = files(&[0, 1, 2]);
        split[1].shard = "2/4";
        assert_eq!(
            refused(&split),
            "s2: shard 2/4 is from a split into 4 shards, the others into 3"
        );
        split[1].shard = "1/100000";
        assert_eq!(
            refused(&split[1..2]),
            "shards missing: 2/100000, 3/100000, 4/100000, 5/100000, 6/100000, 7/100000, \
             8/100000, 9/100000, 10/100000, 11/100000 and 99989 more"
        );
        split[1].shard = "0/3";
        assert_eq!(
            refused(&split),
            format!(
                "{}: shard.txt: \"0/3\": need 1 ≤ I ≤ N",
                Path::new("s2").join("shard.txt").display()
            )
        );
        let mut swapped = files(&[0, 1, 2]);
        swapped[1].results = &splits[0].1;
        assert!(refused(&swapped).starts_with(&format!(
            "{}: row 2: cell: expected cell 1, replicate 0",
            Path::new("s2").join("results.csv").display()
        )));
        let mut bad = files(&[0]);
        bad[0].experiment = "name = 1";
        bad[0].shard = "1/1";
        assert!(refused(&bad).starts_with("experiment.toml of the shards: "));
    }
}
