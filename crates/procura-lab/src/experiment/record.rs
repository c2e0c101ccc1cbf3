//! The records of an experiment: what one mechanism did on one replicate,
//! as typed fields, and the one table that names their columns and encodes
//! them as numbers.
//!
//! A record is a [`ProcurementRecord`] or a [`ThresholdRecord`], by market.
//! Flags are `bool`; what does not apply to a mechanism is `None` (the
//! best-response rounds of a truthful mechanism, the audit gains of a cell
//! that does not audit, the `null` outcome of the subsidy). Each record
//! type has one private table of columns: a column's name, how its field
//! becomes a number ([`Record::fields`]) and how a number becomes the field
//! again ([`Record::parse`]). Result tables (`results.csv`, `summary.csv`)
//! and their reading back (`procura merge`) both go through it, so a
//! column's name, position and encoding are written once.
//!
//! The numeric encoding:
//!
//! ```text
//! number  f64 as is              count  n as f64 (exact up to 2⁵³)
//! flag    true → 1, false → 0    None   no number (an empty CSV field)
//! ```
//!
//! ```
//! use procura_lab::experiment::{ProcurementRecord, Record};
//!
//! let record = ProcurementRecord {
//!     value: 2.5,
//!     cash: 1.0,
//!     tokens: 0.0,
//!     winners: 2,
//!     volume: 12.0,
//!     ir_violations: 0,
//!     budget_ok: true,
//!     br_rounds: None,
//!     br_converged: None,
//!     unilateral_gain: Some(0.0),
//!     coalition_gain: Some(0.25),
//!     budget: 3.0,
//! };
//! let record = Record::Procurement(record);
//! let fields = record.fields();
//! assert_eq!(fields[..4], [Some(2.5), Some(1.0), Some(0.0), Some(2.0)]);
//! assert_eq!(fields[6..9], [Some(1.0), None, None]);
//! assert_eq!(Record::parse(record.market(), &fields)?, record);
//! # Ok::<(), procura_lab::experiment::RecordError>(())
//! ```

use procura_mechanisms::Market;

/// One procurement record: a mechanism's outcome on one replicate, judged
/// at the providers' true costs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcurementRecord {
    /// Σ q_i·μ_i over the winners (§A.2).
    pub value: f64,
    /// Total cash paid.
    pub cash: f64,
    /// Tokens paid, in cash-equivalent units: a MUT share τ counts R·τ/Π.
    pub tokens: f64,
    /// Providers bought.
    pub winners: u64,
    /// Σ volume of the providers bought.
    pub volume: f64,
    /// Winners paid less than their true cost.
    pub ir_violations: u64,
    /// Whether cash ≤ B and tokens ≤ R (to rounding).
    pub budget_ok: bool,
    /// Best-response rounds played; `None` where providers report
    /// truthfully (the mechanism is not one the cell makes strategic).
    pub br_rounds: Option<u64>,
    /// Whether the best responses reached an equilibrium on the grid;
    /// `None` where providers report truthfully.
    pub br_converged: Option<bool>,
    /// The auditor's largest *profitable* unilateral gain on the truthful
    /// instance: 0 when the best gain found is rounding by
    /// [`procura_audit::is_profitable`], so that a DSIC mechanism records
    /// exactly 0; `None` where the cell does not audit.
    pub unilateral_gain: Option<f64>,
    /// The auditor's largest profitable coalition gain, as
    /// `unilateral_gain`.
    pub coalition_gain: Option<f64>,
    /// The instance's cash budget B, the same for every mechanism of a
    /// replicate: the scale to read gains and spending against.
    pub budget: f64,
}

/// One threshold record: a mechanism's outcome on one replicate (Part B).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThresholdRecord {
    /// Whether the users with c_i ≤ r can reach T (§B.3 step 3); `None`
    /// without a reserve price.
    pub feasible: Option<bool>,
    /// Withdrawal rights' null outcome; `None` for the subsidy.
    pub null: Option<bool>,
    /// Units collected at submission: the subsidy's X, or the withdrawal
    /// assignment's Σ x_i.
    pub collected: f64,
    /// The probability that training happens: 1 or 0 for the subsidy
    /// (its `improved`), the protocol's P(training) for withdrawal rights.
    pub success: f64,
    /// Expected data used in training.
    pub expected_data: f64,
    /// Expected contributors counted when training happens.
    pub participants: f64,
    /// Expected money paid (the subsidy pays on submission; withdrawal
    /// payments are escrowed).
    pub spend: f64,
    /// Money paid without training.
    pub leakage: f64,
}

/// A record of either market.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Record {
    /// A procurement record (Part A).
    Procurement(ProcurementRecord),
    /// A threshold record (Part B).
    Threshold(ThresholdRecord),
}

/// Why numbers do not make a record. Messages name the column.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// There is not one number (or none) per column.
    #[error("{found} fields for the {expected} columns of a {market} record")]
    Length {
        /// The market of the record.
        market: &'static str,
        /// The number of columns.
        expected: usize,
        /// The number of fields given.
        found: usize,
    },
    /// A column that always applies has no number.
    #[error("{column}: empty, but it applies to every record")]
    Missing {
        /// The column's name.
        column: &'static str,
    },
    /// A number is not one the column can hold (not finite, not a whole
    /// count, not a flag 0 or 1).
    #[error("{column}: {value:?} is not {expected}")]
    Invalid {
        /// The column's name.
        column: &'static str,
        /// The number given.
        value: f64,
        /// What the column holds.
        expected: &'static str,
    },
}

impl Record {
    /// The column names of a market's records, in column order.
    #[must_use]
    pub fn columns(market: Market) -> &'static [&'static str] {
        column_names(market)
    }

    /// The market of the record.
    #[must_use]
    pub fn market(&self) -> Market {
        match self {
            Record::Procurement(_) => Market::Procurement,
            Record::Threshold(_) => Market::Threshold,
        }
    }

    /// The record as numbers, one per column of [`Record::columns`]:
    /// `None` where a field does not apply.
    #[must_use]
    pub fn fields(&self) -> Vec<Option<f64>> {
        match self {
            Record::Procurement(record) => encode(&PROCUREMENT_COLUMNS, record),
            Record::Threshold(record) => encode(&THRESHOLD_COLUMNS, record),
        }
    }

    /// The field of column `column` (an index into [`Record::columns`]);
    /// `None` where it does not apply or there is no such column.
    #[must_use]
    pub fn field(&self, column: usize) -> Option<f64> {
        match self {
            Record::Procurement(record) => PROCUREMENT_COLUMNS.get(column)?.read(record),
            Record::Threshold(record) => THRESHOLD_COLUMNS.get(column)?.read(record),
        }
    }

    /// The record of `market` whose [`Record::fields`] are `fields`.
    ///
    /// Fails, naming the column, unless there is one field per column,
    /// every field that always applies is there, and every number is one
    /// its column holds: finite, a whole count in [0, 2⁵³], a flag 0 or 1.
    pub fn parse(market: Market, fields: &[Option<f64>]) -> Result<Record, RecordError> {
        Ok(match market {
            Market::Procurement => Record::Procurement(decode(
                &PROCUREMENT_COLUMNS,
                EMPTY_PROCUREMENT,
                fields,
                market,
            )?),
            Market::Threshold => {
                Record::Threshold(decode(&THRESHOLD_COLUMNS, EMPTY_THRESHOLD, fields, market)?)
            }
        })
    }

    /// The procurement record, if it is one.
    #[must_use]
    pub fn procurement(&self) -> Option<&ProcurementRecord> {
        match self {
            Record::Procurement(record) => Some(record),
            Record::Threshold(_) => None,
        }
    }

    /// The threshold record, if it is one.
    #[must_use]
    pub fn threshold(&self) -> Option<&ThresholdRecord> {
        match self {
            Record::Threshold(record) => Some(record),
            Record::Procurement(_) => None,
        }
    }
}

/// A column of a market's records: its place in the one table of
/// columns ([`Record::columns`]).
///
/// A `Column` always names a column that exists: it is built only from
/// the table, by [`Column::named`], [`Column::all`] or a constant
/// ([`Column::VALUE`], …), and each constant is looked up in the table
/// when the crate compiles, so renaming or removing a column breaks the
/// build of every constant that names it instead of, say, emptying a
/// figure.
///
/// ```
/// use procura_lab::experiment::record::Column;
/// use procura_mechanisms::Market;
///
/// assert_eq!(Column::CASH.name(), "cash");
/// assert_eq!(Column::named(Market::Procurement, "cash"), Some(Column::CASH));
/// assert_eq!(Column::named(Market::Threshold, "cash"), None);
/// assert_eq!(Column::all(Market::Threshold).count(), 8);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Column {
    market: Market,
    index: usize,
}

impl Column {
    /// The column of `market`'s records called `name`, if there is one.
    #[must_use]
    pub fn named(market: Market, name: &str) -> Option<Column> {
        Record::columns(market)
            .iter()
            .position(|column| *column == name)
            .map(|index| Column { market, index })
    }

    /// Every column of `market`'s records, in column order.
    pub fn all(market: Market) -> impl Iterator<Item = Column> {
        (0..Record::columns(market).len()).map(move |index| Column { market, index })
    }

    /// The market whose records have the column.
    #[must_use]
    pub fn market(self) -> Market {
        self.market
    }

    /// The column's position in [`Record::columns`] (and in
    /// [`Record::fields`]).
    #[must_use]
    pub fn index(self) -> usize {
        self.index
    }

    /// The column's name, as in result tables.
    #[must_use]
    pub fn name(self) -> &'static str {
        column_names(self.market)[self.index]
    }

    /// The column of `market` called `name`, looked up when the crate
    /// compiles: a name that is not in the table fails the build.
    const fn at(market: Market, name: &str) -> Column {
        let names = column_names(market);
        let mut index = 0;
        while index < names.len() {
            if same(names[index], name) {
                return Column { market, index };
            }
            index += 1;
        }
        panic!("not a column of the record table")
    }
}

impl std::fmt::Display for Column {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The constants of [`Column`], one per column of the table.
macro_rules! column_constants {
    ($($constant:ident = $market:ident $name:literal;)*) => {
        impl Column {
            $(
                #[doc = concat!("The `", $name, "` column of ", stringify!($market), " records.")]
                pub const $constant: Column = Column::at(Market::$market, $name);
            )*
        }
    };
}

column_constants! {
    VALUE = Procurement "value";
    CASH = Procurement "cash";
    TOKENS = Procurement "tokens";
    WINNERS = Procurement "winners";
    VOLUME = Procurement "volume";
    IR_VIOLATIONS = Procurement "ir_violations";
    BUDGET_OK = Procurement "budget_ok";
    BR_ROUNDS = Procurement "br_rounds";
    BR_CONVERGED = Procurement "br_converged";
    UNILATERAL_GAIN = Procurement "unilateral_gain";
    COALITION_GAIN = Procurement "coalition_gain";
    BUDGET = Procurement "budget";
    FEASIBLE = Threshold "feasible";
    NULL = Threshold "null";
    COLLECTED = Threshold "collected";
    SUCCESS = Threshold "success";
    EXPECTED_DATA = Threshold "expected_data";
    PARTICIPANTS = Threshold "participants";
    SPEND = Threshold "spend";
    LEAKAGE = Threshold "leakage";
}

/// The column names of a market's records (a `const fn`, for
/// [`Column::at`]).
const fn column_names(market: Market) -> &'static [&'static str] {
    match market {
        Market::Procurement => &PROCUREMENT_COLUMN_NAMES,
        Market::Threshold => &THRESHOLD_COLUMN_NAMES,
    }
}

/// Whether two strings are equal (a `const fn`).
const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// One column of a record type: its name, and how its field is written
/// as a number and read back.
struct Codec<R> {
    name: &'static str,
    read: fn(&R) -> Option<f64>,
    write: fn(&mut R, Option<f64>, &'static str) -> Result<(), RecordError>,
}

impl<R> Codec<R> {
    fn read(&self, record: &R) -> Option<f64> {
        (self.read)(record)
    }
}

/// The procurement columns, in order: the one place where a field meets
/// its name and its encoding.
const PROCUREMENT_COLUMNS: [Codec<ProcurementRecord>; 12] = [
    Codec {
        name: "value",
        read: |r| Some(r.value),
        write: |r, x, c| number(x, c).map(|x| r.value = x),
    },
    Codec {
        name: "cash",
        read: |r| Some(r.cash),
        write: |r, x, c| number(x, c).map(|x| r.cash = x),
    },
    Codec {
        name: "tokens",
        read: |r| Some(r.tokens),
        write: |r, x, c| number(x, c).map(|x| r.tokens = x),
    },
    Codec {
        name: "winners",
        read: |r| Some(count_field(r.winners)),
        write: |r, x, c| count(x, c).map(|x| r.winners = x),
    },
    Codec {
        name: "volume",
        read: |r| Some(r.volume),
        write: |r, x, c| number(x, c).map(|x| r.volume = x),
    },
    Codec {
        name: "ir_violations",
        read: |r| Some(count_field(r.ir_violations)),
        write: |r, x, c| count(x, c).map(|x| r.ir_violations = x),
    },
    Codec {
        name: "budget_ok",
        read: |r| Some(flag_field(r.budget_ok)),
        write: |r, x, c| flag(x, c).map(|x| r.budget_ok = x),
    },
    Codec {
        name: "br_rounds",
        read: |r| r.br_rounds.map(count_field),
        write: |r, x, c| optional(x, c, count).map(|x| r.br_rounds = x),
    },
    Codec {
        name: "br_converged",
        read: |r| r.br_converged.map(flag_field),
        write: |r, x, c| optional(x, c, flag).map(|x| r.br_converged = x),
    },
    Codec {
        name: "unilateral_gain",
        read: |r| r.unilateral_gain,
        write: |r, x, c| optional(x, c, number).map(|x| r.unilateral_gain = x),
    },
    Codec {
        name: "coalition_gain",
        read: |r| r.coalition_gain,
        write: |r, x, c| optional(x, c, number).map(|x| r.coalition_gain = x),
    },
    Codec {
        name: "budget",
        read: |r| Some(r.budget),
        write: |r, x, c| number(x, c).map(|x| r.budget = x),
    },
];

/// The threshold columns, in order.
const THRESHOLD_COLUMNS: [Codec<ThresholdRecord>; 8] = [
    Codec {
        name: "feasible",
        read: |r| r.feasible.map(flag_field),
        write: |r, x, c| optional(x, c, flag).map(|x| r.feasible = x),
    },
    Codec {
        name: "null",
        read: |r| r.null.map(flag_field),
        write: |r, x, c| optional(x, c, flag).map(|x| r.null = x),
    },
    Codec {
        name: "collected",
        read: |r| Some(r.collected),
        write: |r, x, c| number(x, c).map(|x| r.collected = x),
    },
    Codec {
        name: "success",
        read: |r| Some(r.success),
        write: |r, x, c| number(x, c).map(|x| r.success = x),
    },
    Codec {
        name: "expected_data",
        read: |r| Some(r.expected_data),
        write: |r, x, c| number(x, c).map(|x| r.expected_data = x),
    },
    Codec {
        name: "participants",
        read: |r| Some(r.participants),
        write: |r, x, c| number(x, c).map(|x| r.participants = x),
    },
    Codec {
        name: "spend",
        read: |r| Some(r.spend),
        write: |r, x, c| number(x, c).map(|x| r.spend = x),
    },
    Codec {
        name: "leakage",
        read: |r| Some(r.leakage),
        write: |r, x, c| number(x, c).map(|x| r.leakage = x),
    },
];

/// The names of [`PROCUREMENT_COLUMNS`], for [`Record::columns`].
const PROCUREMENT_COLUMN_NAMES: [&str; 12] = names(&PROCUREMENT_COLUMNS);
/// The names of [`THRESHOLD_COLUMNS`].
const THRESHOLD_COLUMN_NAMES: [&str; 8] = names(&THRESHOLD_COLUMNS);

const fn names<R, const N: usize>(columns: &[Codec<R>; N]) -> [&'static str; N] {
    let mut names = [""; N];
    let mut i = 0;
    while i < N {
        names[i] = columns[i].name;
        i += 1;
    }
    names
}

/// The record [`decode`] starts from: every field is then written from
/// its column, so none of these values survives a successful decode.
/// (Tests start their records from it too.)
pub(crate) const EMPTY_PROCUREMENT: ProcurementRecord = ProcurementRecord {
    value: 0.0,
    cash: 0.0,
    tokens: 0.0,
    winners: 0,
    volume: 0.0,
    ir_violations: 0,
    budget_ok: false,
    br_rounds: None,
    br_converged: None,
    unilateral_gain: None,
    coalition_gain: None,
    budget: 0.0,
};

/// See [`EMPTY_PROCUREMENT`].
pub(crate) const EMPTY_THRESHOLD: ThresholdRecord = ThresholdRecord {
    feasible: None,
    null: None,
    collected: 0.0,
    success: 0.0,
    expected_data: 0.0,
    participants: 0.0,
    spend: 0.0,
    leakage: 0.0,
};

fn encode<R>(columns: &[Codec<R>], record: &R) -> Vec<Option<f64>> {
    columns.iter().map(|column| column.read(record)).collect()
}

fn decode<R>(
    columns: &[Codec<R>],
    mut record: R,
    fields: &[Option<f64>],
    market: Market,
) -> Result<R, RecordError> {
    if fields.len() != columns.len() {
        return Err(RecordError::Length {
            market: market.name(),
            expected: columns.len(),
            found: fields.len(),
        });
    }
    for (column, field) in columns.iter().zip(fields) {
        (column.write)(&mut record, *field, column.name)?;
    }
    Ok(record)
}

/// The largest count a double holds exactly: 2⁵³.
const MAX_COUNT: u64 = 1 << 53;

fn count_field(n: u64) -> f64 {
    n as f64
}

fn flag_field(flag: bool) -> f64 {
    if flag {
        1.0
    } else {
        0.0
    }
}

fn invalid(column: &'static str, value: f64, expected: &'static str) -> RecordError {
    RecordError::Invalid {
        column,
        value,
        expected,
    }
}

fn number(field: Option<f64>, column: &'static str) -> Result<f64, RecordError> {
    match field {
        None => Err(RecordError::Missing { column }),
        Some(x) if x.is_finite() => Ok(x),
        Some(x) => Err(invalid(column, x, "a finite number")),
    }
}

fn count(field: Option<f64>, column: &'static str) -> Result<u64, RecordError> {
    let x = number(field, column)?;
    if x >= 0.0 && x.fract() == 0.0 && x <= MAX_COUNT as f64 {
        // A whole number in [0, 2⁵³] converts exactly.
        Ok(x as u64)
    } else {
        Err(invalid(column, x, "a whole count"))
    }
}

fn flag(field: Option<f64>, column: &'static str) -> Result<bool, RecordError> {
    let x = number(field, column)?;
    if x == 1.0 {
        Ok(true)
    } else if x == 0.0 {
        Ok(false)
    } else {
        Err(invalid(column, x, "a flag (0 or 1)"))
    }
}

/// A field that may not apply: `None` stays `None`, a number is read by
/// `read`.
fn optional<T>(
    field: Option<f64>,
    column: &'static str,
    read: fn(Option<f64>, &'static str) -> Result<T, RecordError>,
) -> Result<Option<T>, RecordError> {
    field.map(|x| read(Some(x), column)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn procurement() -> ProcurementRecord {
        ProcurementRecord {
            value: 2.5,
            cash: 1.0,
            tokens: 0.5,
            winners: 3,
            volume: 7.25,
            ir_violations: 0,
            budget_ok: true,
            br_rounds: Some(4),
            br_converged: Some(false),
            unilateral_gain: None,
            coalition_gain: Some(0.125),
            budget: 3.0,
        }
    }

    fn threshold() -> ThresholdRecord {
        ThresholdRecord {
            feasible: Some(true),
            null: None,
            collected: 4.0,
            success: 0.75,
            expected_data: 3.5,
            participants: 2.0,
            spend: 1.5,
            leakage: 0.0,
        }
    }

    #[test]
    fn columns_keep_their_names_and_order() {
        assert_eq!(
            Record::columns(Market::Procurement),
            [
                "value",
                "cash",
                "tokens",
                "winners",
                "volume",
                "ir_violations",
                "budget_ok",
                "br_rounds",
                "br_converged",
                "unilateral_gain",
                "coalition_gain",
                "budget",
            ]
        );
        assert_eq!(
            Record::columns(Market::Threshold),
            [
                "feasible",
                "null",
                "collected",
                "success",
                "expected_data",
                "participants",
                "spend",
                "leakage",
            ]
        );
    }

    #[test]
    fn records_encode_as_before_and_read_back() {
        let record = Record::Procurement(procurement());
        let fields = record.fields();
        assert_eq!(
            fields,
            [
                Some(2.5),
                Some(1.0),
                Some(0.5),
                Some(3.0),
                Some(7.25),
                Some(0.0),
                Some(1.0),
                Some(4.0),
                Some(0.0),
                None,
                Some(0.125),
                Some(3.0),
            ]
        );
        assert_eq!(record.field(9), None);
        assert_eq!(record.field(7), Some(4.0));
        assert_eq!(record.field(12), None);
        assert_eq!(Record::parse(Market::Procurement, &fields), Ok(record));

        let record = Record::Threshold(threshold());
        let fields = record.fields();
        assert_eq!(fields[..2], [Some(1.0), None]);
        assert_eq!(Record::parse(Market::Threshold, &fields), Ok(record));
    }

    /// Replaces field `column` of the procurement record's fields and
    /// returns the error of reading them back.
    fn refused(column: usize, field: Option<f64>) -> String {
        let mut fields = Record::Procurement(procurement()).fields();
        fields[column] = field;
        Record::parse(Market::Procurement, &fields)
            .expect_err("refused")
            .to_string()
    }

    #[test]
    fn bad_fields_are_refused_naming_the_column() {
        assert_eq!(
            refused(0, None),
            "value: empty, but it applies to every record"
        );
        assert_eq!(
            refused(0, Some(f64::INFINITY)),
            "value: inf is not a finite number"
        );
        assert_eq!(refused(3, Some(1.5)), "winners: 1.5 is not a whole count");
        assert_eq!(
            refused(5, Some(-1.0)),
            "ir_violations: -1.0 is not a whole count"
        );
        assert_eq!(
            refused(3, Some(1e300)),
            "winners: 1e300 is not a whole count"
        );
        assert_eq!(
            refused(6, Some(0.5)),
            "budget_ok: 0.5 is not a flag (0 or 1)"
        );
        assert_eq!(
            refused(8, Some(2.0)),
            "br_converged: 2.0 is not a flag (0 or 1)"
        );
        assert_eq!(
            refused(9, Some(f64::NAN)),
            "unilateral_gain: NaN is not a finite number"
        );
        assert_eq!(
            Record::parse(Market::Threshold, &[None; 3])
                .expect_err("short")
                .to_string(),
            "3 fields for the 8 columns of a threshold record"
        );
    }
}
