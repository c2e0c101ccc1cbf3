//! Experiment designs: an experiment file (TOML) read into the cells of its
//! parameter grid, and run (`procura experiment`).
//!
//! An experiment file (see `experiments/` and the README):
//!
//! ```toml
//! name = "liquidity"
//! seed = 7
//! replicates = 200
//! mechanisms = ["qmia", "mixed"]
//! figures = ["value", "cash"]          # optional
//!
//! [procurement]                        # or [threshold]: the population
//! providers = 30
//! budget_fraction = 0.3
//! # … distributions, as in `procura audit --population` files
//!
//! [[sweep]]                            # any number; the grid is their product
//! key = "procurement.liquidity"
//! values = [0.0, 0.5, 1.0]
//! ```
//!
//! **Common random numbers across cells.** A cell's instances are drawn
//! from its *instance stream*, and the stream is set by the population
//! alone: the cell's values of the swept `procurement.` (or `threshold.`)
//! keys. Cells that differ only in `audit.` or `strategic.` keys (how the
//! instances are audited, or how providers best-respond) share a stream,
//! so they see the same instances, replicate for replicate, and their
//! differences are paired. The stream is the cell's index in the grid of
//! the population sweeps alone (in file order, the first slowest; 0 when
//! no population key is swept), so a design that sweeps only population
//! keys gives every cell its own index as its stream ([`GridCell::stream`]).
//!
//! [`parse_design`] sets each cell's swept values in the tables they
//! belong to, so that every swept key is validated, and named in errors,
//! exactly like a written one (only the swept tables are copied per cell:
//! see its complexity); [`run_design`] runs the cells of a [`Shard`].
//! Sizes are bounded before anything is built ([`crate::limits`]). Errors
//! ([`DesignError`]) name the key, and the cell for a swept value that
//! breaks a rule.
//!
//! ```
//! use procura_lab::experiment::design::{parse_design, run_design};
//! use procura_lab::experiment::Shard;
//!
//! let design = parse_design(r#"
//!     name = "tiny"
//!     seed = 1
//!     replicates = 3
//!     mechanisms = ["qmia", "volume"]
//!
//!     [procurement]
//!     providers = 5
//!     budget_fraction = 0.3
//!     cost = { distribution = "uniform", low = 0.5, high = 1.5 }
//!     quality = { distribution = "uniform", low = 0.5, high = 1.0 }
//!     utility = { distribution = "uniform", low = 0.0, high = 1.0 }
//!
//!     [[sweep]]
//!     key = "procurement.providers"
//!     values = [5, 8]
//! "#)?;
//! assert_eq!(design.cells().len(), 2);
//! assert_eq!(design.cells()[1].labels(), ["8"]);
//! let results = run_design(&design, Shard::WHOLE, &|| {})?;
//! assert_eq!(results[1].replicates(), 3);
//!
//! let error = parse_design(&design.source().replace("[5, 8]", "[5, 0]")).unwrap_err();
//! assert!(error.to_string().contains("(in cell 1: procurement.providers = 0)"));
//! # Ok::<(), procura_lab::experiment::design::DesignError>(())
//! ```

use std::sync::Arc;

use serde::Deserialize;

use procura_audit::{AuditConfig, BestResponseConfig};
use procura_mechanisms::procurement::Auction;
use procura_mechanisms::{Market, Mechanism};

use super::{
    run, Cell, CellIndex, CellResult, Column, ExperimentError, MarketPopulation, Record, Shard,
    Strategic,
};
use crate::population::{Population, PopulationError, PopulationSpec};
use crate::threshold_population::{ThresholdPopulation, ThresholdPopulationSpec};
use crate::toml_input::{self, TomlError};

pub use crate::limits::{MAX_CELLS, MAX_PROVIDER_IDS, MAX_RECORDS};

/// Why an experiment file is not a valid design, or cannot run. Messages
/// name the key (dotted, as written in the file).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DesignError {
    /// The text is not TOML.
    #[error("{0}")]
    Syntax(String),
    /// A key is unknown, missing, of the wrong type or out of range. `key`
    /// is empty when the problem is with the file as a whole (serde names
    /// the missing key in `problem`).
    #[error("{}", keyed(.key, .problem))]
    Key {
        /// The dotted key, e.g. `procurement.cost.sigma` or `sweep[1].key`.
        key: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A value of `[audit]` is outside the auditor's limits.
    #[error("audit.{0}")]
    Audit(procura_audit::ConfigError),
    /// The mechanisms, audit or best responses do not fit the population.
    #[error(transparent)]
    Experiment(#[from] ExperimentError),
    /// Cell `cell` of the grid is invalid, with its swept values.
    #[error("{error}{}", in_cell(*.cell, .settings))]
    Cell {
        /// The cell's index in the grid.
        cell: usize,
        /// Its swept keys and values, as written.
        settings: Vec<(String, String)>,
        /// What is wrong. (Not the error's `source`: the message already
        /// includes it.)
        error: Box<DesignError>,
    },
    /// The grid has more than [`MAX_CELLS`] cells: the product of the
    /// sweeps' lengths (`None` when it overflows a u64).
    #[error(
        "sweep: the sweeps' lengths multiply to {} cells, more than the {MAX_CELLS} an \
         experiment may have",
        .cells.map_or_else(|| format!("more than {}", u64::MAX), |cells| cells.to_string())
    )]
    TooManyCells {
        /// The product of the sweeps' lengths, if it fits a u64.
        cells: Option<u64>,
    },
    /// The experiment has more than [`MAX_RECORDS`] records (cells ×
    /// replicates × mechanisms): a run, and a merge of its shards, holds
    /// them all in memory.
    #[error(
        "replicates: {cells} cells × {replicates} replicates × {mechanisms} mechanisms is more \
         than the {MAX_RECORDS} records an experiment may have (a run, and a merge of its \
         shards, holds them all in memory); lower replicates or sweep fewer values"
    )]
    TooLarge {
        /// Cells to run.
        cells: u64,
        /// Replicates per cell.
        replicates: u64,
        /// Mechanisms per replicate.
        mechanisms: u64,
    },
    /// [`Design::with_replicates`] found no line to rewrite.
    #[error("no top-level `replicates = …` line to set")]
    NoReplicatesLine,
}

fn keyed(key: &str, problem: &str) -> String {
    if key.is_empty() {
        problem.to_owned()
    } else {
        format!("{key}: {problem}")
    }
}

fn in_cell(cell: usize, settings: &[(String, String)]) -> String {
    if settings.is_empty() {
        return String::new();
    }
    let settings: Vec<String> = settings
        .iter()
        .map(|(key, value)| format!("{key} = {value}"))
        .collect();
    format!(" (in cell {cell}: {})", settings.join(", "))
}

fn key_error(key: impl Into<String>, problem: impl Into<String>) -> DesignError {
    DesignError::Key {
        key: key.into(),
        problem: problem.into(),
    }
}

/// The experiment file, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExperimentFile {
    /// Short name, used in titles.
    name: String,
    /// What the experiment shows (free text).
    #[serde(default)]
    description: Option<String>,
    /// The claim of the spec this experiment tests (`procura reproduce`).
    #[serde(default)]
    claim: Option<String>,
    /// Master seed.
    seed: u64,
    /// Replicates per cell, ≥ 1.
    replicates: u64,
    /// Replicates per cell under `procura reproduce --quick`.
    #[serde(default)]
    quick_replicates: Option<u64>,
    /// Mechanism names.
    mechanisms: Vec<String>,
    /// Columns to plot; default depends on the market.
    #[serde(default)]
    figures: Option<Vec<String>>,
    /// A procurement population (the format of `procura audit --population`).
    #[serde(default)]
    procurement: Option<toml::Value>,
    /// A threshold population.
    #[serde(default)]
    threshold: Option<toml::Value>,
    /// The audit run on every procurement instance, if any (validated per
    /// cell, since sweeps may change it).
    #[serde(default)]
    audit: Option<toml::Value>,
    /// Best-responding providers, if any (validated per cell).
    #[serde(default)]
    strategic: Option<toml::Value>,
    /// Swept keys.
    #[serde(default)]
    sweep: Vec<Sweep>,
}

/// `[audit]`: how hard to audit each instance (defaults:
/// [`AuditConfig::sampled`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditTable {
    #[serde(default)]
    grid: Option<usize>,
    #[serde(default)]
    coalition_size: Option<usize>,
    #[serde(default)]
    max_coalitions: Option<usize>,
    #[serde(default)]
    max_participants: Option<usize>,
}

impl AuditTable {
    /// The audit the table describes, each value checked by the auditor's
    /// setters.
    fn config(&self) -> Result<AuditConfig, procura_audit::ConfigError> {
        let sampled = AuditConfig::sampled();
        let max_participants = self.max_participants.or(sampled.max_participants());
        sampled
            .clone()
            .with_grid(self.grid.unwrap_or(sampled.grid()))?
            .with_coalition_size(self.coalition_size.unwrap_or(sampled.coalition_size()))?
            .with_max_coalitions(self.max_coalitions.unwrap_or(sampled.max_coalitions()))?
            .with_max_participants(max_participants)
    }
}

/// `[strategic]`: under which mechanisms providers best-respond, and on
/// what grid (defaults: `BestResponseConfig::default_grid`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct StrategicTable {
    mechanisms: Vec<String>,
    #[serde(default)]
    markups: Option<Vec<f64>>,
    #[serde(default)]
    claim_steps: Option<usize>,
    #[serde(default)]
    max_rounds: Option<usize>,
}

/// `[[sweep]]`: one swept key and its values.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Sweep {
    key: String,
    values: Vec<toml::Value>,
}

/// One cell of a design's grid: the cell and its swept values.
#[derive(Debug, Clone, PartialEq)]
pub struct GridCell {
    cell: Cell,
    labels: Vec<String>,
    point: Vec<f64>,
    stream: u64,
}

impl GridCell {
    /// The cell.
    #[must_use]
    pub fn cell(&self) -> &Cell {
        &self.cell
    }

    /// The swept values as written in the file (TOML), in key order: the
    /// labels of result tables.
    #[must_use]
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The swept values as numbers, in key order.
    #[must_use]
    pub fn point(&self) -> &[f64] {
        &self.point
    }

    /// The instance stream the cell draws from: its index in the grid of
    /// the population sweeps alone, shared by the cells that differ only
    /// in `audit.` or `strategic.` keys (see the module documentation).
    #[must_use]
    pub fn stream(&self) -> u64 {
        self.stream
    }
}

/// A validated experiment: its cells, how to label them, and what to plot.
///
/// Built only by [`parse_design`] (and [`Design::with_replicates`]), so it
/// always has at least one cell, and every cell the same market and
/// mechanisms.
#[derive(Debug, Clone, PartialEq)]
pub struct Design {
    source: String,
    name: String,
    description: Option<String>,
    claim: Option<String>,
    seed: u64,
    replicates: u64,
    quick_replicates: Option<u64>,
    market: Market,
    mechanisms: Vec<Mechanism>,
    keys: Vec<String>,
    cells: Vec<GridCell>,
    figures: Vec<Column>,
}

impl Design {
    /// The file's text, byte for byte (every output folder keeps a copy).
    #[must_use]
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The experiment's name, used in titles.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the experiment shows, if the file says.
    #[must_use]
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The spec claim it tests, as written (`P1-a`, …), if any.
    #[must_use]
    pub fn claim(&self) -> Option<&str> {
        self.claim.as_deref()
    }

    /// The master seed.
    #[must_use]
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Replicates per cell, ≥ 1.
    #[must_use]
    pub fn replicates(&self) -> u64 {
        self.replicates
    }

    /// Replicates per cell under `procura reproduce --quick`, ≥ 1, if
    /// given.
    #[must_use]
    pub fn quick_replicates(&self) -> Option<u64> {
        self.quick_replicates
    }

    /// The market of every cell.
    #[must_use]
    pub fn market(&self) -> Market {
        self.market
    }

    /// The mechanisms of every cell, in record order.
    #[must_use]
    pub fn mechanisms(&self) -> &[Mechanism] {
        &self.mechanisms
    }

    /// The column names of every record ([`Record::columns`]).
    #[must_use]
    pub fn columns(&self) -> &'static [&'static str] {
        Record::columns(self.market)
    }

    /// Swept keys (dotted), in grid order: the first varies slowest.
    #[must_use]
    pub fn keys(&self) -> &[String] {
        &self.keys
    }

    /// Every cell of the grid, in order (at least one).
    #[must_use]
    pub fn cells(&self) -> &[GridCell] {
        &self.cells
    }

    /// The columns plotted, each one of [`Design::columns`] (checked when
    /// the file is read: an unknown name is refused, naming `figures[i]`).
    #[must_use]
    pub fn figures(&self) -> &[Column] {
        &self.figures
    }

    /// How many (cell, replicate) pairs a run of `shard` draws: the count
    /// of [`run_design`]'s progress calls.
    #[must_use]
    pub fn replicates_to_run(&self, shard: Shard) -> u64 {
        shard
            .cells(self.cells.len() as u64)
            .count()
            .try_into()
            .unwrap_or(u64::MAX)
            .saturating_mul(self.replicates)
    }

    /// The same design with `replicates` replicates per cell: its source
    /// has the top-level `replicates = …` line replaced (comments and
    /// everything else kept), so that the written `experiment.toml` says
    /// what was run and `procura experiment` on it gives the same results.
    ///
    /// ```
    /// use procura_lab::experiment::design::parse_design;
    /// # let source = r#"
    /// # name = "tiny"
    /// # seed = 1
    /// # replicates = 400
    /// # mechanisms = ["qmia"]
    /// # [procurement]
    /// # providers = 5
    /// # budget_fraction = 0.3
    /// # cost = { distribution = "uniform", low = 0.5, high = 1.5 }
    /// # quality = { distribution = "uniform", low = 0.5, high = 1.0 }
    /// # utility = { distribution = "uniform", low = 0.0, high = 1.0 }
    /// # "#;
    /// let design = parse_design(source)?.with_replicates(7)?;
    /// assert_eq!(design.replicates(), 7);
    /// assert!(design.source().contains(
    ///     "replicates = 7  # as run by procura reproduce; the shipped file says: replicates = 400"
    /// ));
    /// # Ok::<(), procura_lab::experiment::design::DesignError>(())
    /// ```
    pub fn with_replicates(&self, replicates: u64) -> Result<Design, DesignError> {
        if replicates == self.replicates {
            return Ok(self.clone());
        }
        parse_design(&with_replicates(&self.source, replicates)?)
    }
}

/// `source` with its top-level `replicates = …` line replaced, comments
/// and everything else kept.
fn with_replicates(source: &str, replicates: u64) -> Result<String, DesignError> {
    let mut text = String::with_capacity(source.len() + 64);
    let mut top_level = true;
    let mut replaced = false;
    for line in source.split_inclusive('\n') {
        let trimmed = line.trim_start();
        top_level &= !trimmed.starts_with('[');
        let is_replicates = trimmed
            .strip_prefix("replicates")
            .is_some_and(|rest| rest.trim_start().starts_with('='));
        if top_level && !replaced && is_replicates {
            text.push_str(&format!(
                "replicates = {replicates}  # as run by procura reproduce; the shipped file says: {}",
                trimmed.trim_end()
            ));
            text.push('\n');
            replaced = true;
        } else {
            text.push_str(line);
        }
    }
    if !replaced {
        return Err(DesignError::NoReplicatesLine);
    }
    Ok(text)
}

/// Validates an experiment from its TOML text. Errors name the key, and
/// the cell of a swept value that breaks a rule.
///
/// Sizes are checked, with checked arithmetic, before anything of that
/// size is built: the grid's cells (the product of the sweeps' lengths, at
/// most [`MAX_CELLS`]) and its records (cells × replicates × mechanisms,
/// at most [`MAX_RECORDS`]).
///
/// **Complexity.** Reading a file of n bytes is O(n): every swept key and
/// value is checked (and turned into its label and number) once. Building
/// the cells is then O(cells × (t + k)), where k is the number of swept
/// keys and t the size of the tables a sweep changes (`[procurement]` or
/// `[threshold]`, `[audit]`, `[strategic]`): only those are copied per
/// cell, to set the cell's values in them; a table no sweep changes is
/// validated once and shared by every cell, and so are provider ids. No
/// per-cell cost depends on the length of the sweeps' value lists or on
/// the rest of the file (cells used to copy the whole file, sweeps
/// included: quadratic in the length of a sweep).
pub fn parse_design(source: &str) -> Result<Design, DesignError> {
    let table = toml_input::table(source).map_err(toml_error)?;
    let file: ExperimentFile = deserialize(toml::Value::Table(table), "")?;
    if file.replicates == 0 {
        return Err(key_error("replicates", "must be at least 1"));
    }
    if file.quick_replicates == Some(0) {
        return Err(key_error("quick_replicates", "must be at least 1"));
    }
    let market = match (&file.procurement, &file.threshold) {
        (Some(_), None) => Market::Procurement,
        (None, Some(_)) => Market::Threshold,
        (Some(_), Some(_)) => {
            return Err(key_error(
                "procurement, threshold",
                "give one population, not both",
            ))
        }
        (None, None) => {
            return Err(key_error(
                "procurement",
                "missing (or a [threshold] population)",
            ))
        }
    };
    let market_key = market.name();
    let mechanisms = file
        .mechanisms
        .iter()
        .enumerate()
        .map(|(i, name)| {
            name.parse::<Mechanism>()
                .map_err(|e| key_error(format!("mechanisms[{i}]"), e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;

    // The sweeps, each key and value checked once.
    let mut sweeps: Vec<SweptKey> = Vec::with_capacity(file.sweep.len());
    for (i, sweep) in file.sweep.into_iter().enumerate() {
        let root = sweep.key.split('.').next().unwrap_or_default();
        let part = [market_key, "audit", "strategic"]
            .iter()
            .position(|part| *part == root)
            .filter(|_| sweep.key.contains('.'));
        let Some(part) = part else {
            let example = match market {
                Market::Procurement => "budget_fraction",
                Market::Threshold => "slack",
            };
            return Err(key_error(
                format!("sweep[{i}].key"),
                format!(
                    "{:?} is not a key of [{market_key}], [audit] or [strategic] \
                     (write it dotted, e.g. \"{market_key}.{example}\")",
                    sweep.key
                ),
            ));
        };
        if sweeps.iter().any(|swept| swept.key == sweep.key) {
            return Err(key_error(
                format!("sweep[{i}].key"),
                format!("{:?} is swept twice", sweep.key),
            ));
        }
        if sweep.values.is_empty() {
            return Err(key_error(
                format!("sweep[{i}].values"),
                "give at least one value",
            ));
        }
        let mut numbers = Vec::with_capacity(sweep.values.len());
        for (j, value) in sweep.values.iter().enumerate() {
            let Some(x) = number(value) else {
                return Err(key_error(
                    format!("sweep[{i}].values[{j}]"),
                    format!("{value} is not a finite number"),
                ));
            };
            numbers.push(x);
        }
        sweeps.push(SweptKey {
            part,
            labels: sweep.values.iter().map(ToString::to_string).collect(),
            key: sweep.key,
            values: sweep.values,
            numbers,
        });
    }

    // The sizes, before anything of that size is built.
    let cells = grid_size(&sweeps)?;
    let n_mechanisms = mechanisms.len() as u64;
    let records = cells
        .checked_mul(file.replicates)
        .and_then(|n| n.checked_mul(n_mechanisms));
    if records.is_none_or(|records| records > MAX_RECORDS) {
        return Err(DesignError::TooLarge {
            cells,
            replicates: file.replicates,
            mechanisms: n_mechanisms,
        });
    }

    // Cells with as many providers share their ids, so the grid holds one
    // set per distinct count: only a sweep of the count makes several.
    // (A threshold design cannot sweep a `procurement.` key.)
    let providers = sweeps
        .iter()
        .enumerate()
        .find(|(_, sweep)| sweep.key == "procurement.providers");
    if let Some((i, sweep)) = providers {
        let mut counts: Vec<u64> = sweep
            .values
            .iter()
            .filter_map(|value| u64::try_from(value.as_integer()?).ok())
            .collect();
        counts.sort_unstable();
        counts.dedup();
        let held = counts.into_iter().fold(0, u64::saturating_add);
        if held > MAX_PROVIDER_IDS as u64 {
            return Err(key_error(
                format!("sweep[{i}].values"),
                format!(
                    "the distinct provider counts add up to {held}, more than the \
                     {MAX_PROVIDER_IDS} provider ids an experiment's cells may hold"
                ),
            ));
        }
    }

    let mut builder = CellBuilder {
        market,
        mechanisms: &mechanisms,
        tables: [
            file.procurement.or(file.threshold),
            file.audit,
            file.strategic,
        ],
        swept: [0, 1, 2].map(|part| sweeps.iter().any(|sweep| sweep.part == part)),
        population: Part::Unbuilt,
        audit: Part::Unbuilt,
        strategic: Part::Unbuilt,
        populations: Vec::new(),
    };
    let keys: Vec<String> = sweeps.iter().map(|sweep| sweep.key.clone()).collect();
    // `cells` ≤ MAX_CELLS, checked above.
    let mut grid = Vec::with_capacity(usize::try_from(cells).unwrap_or(0));
    let mut at = vec![0; sweeps.len()];
    for index in 0..cells {
        // Cell `index`'s value of each sweep: its digits in the mixed
        // radix of the sweeps' lengths, the first sweep the most
        // significant (it varies slowest).
        let mut rest = index;
        for (digit, sweep) in at.iter_mut().zip(&sweeps).rev() {
            let length = sweep.values.len() as u64;
            // rest % length < length, a usize.
            *digit = usize::try_from(rest % length).unwrap_or(0);
            rest /= length;
        }
        let labels: Vec<String> = sweeps
            .iter()
            .zip(&at)
            .map(|(sweep, &j)| sweep.labels[j].clone())
            .collect();
        let cell = builder
            .cell(&sweeps, &at)
            .map_err(|error| DesignError::Cell {
                cell: usize::try_from(index).unwrap_or(usize::MAX),
                settings: keys.iter().cloned().zip(labels.iter().cloned()).collect(),
                error: Box::new(error),
            })?;
        grid.push(GridCell {
            cell,
            labels,
            point: sweeps
                .iter()
                .zip(&at)
                .map(|(sweep, &j)| sweep.numbers[j])
                .collect(),
            stream: instance_stream(&sweeps, &at),
        });
    }

    let figures = match file.figures {
        Some(figures) => figures
            .iter()
            .enumerate()
            .map(|(i, figure)| {
                Column::named(market, figure).ok_or_else(|| {
                    key_error(
                        format!("figures[{i}]"),
                        format!(
                            "{figure:?} is not a metric; expected one of {}",
                            Record::columns(market).join(", ")
                        ),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?,
        None => default_figures(market).to_vec(),
    };
    Ok(Design {
        source: source.to_owned(),
        name: file.name,
        description: file.description,
        claim: file.claim,
        seed: file.seed,
        replicates: file.replicates,
        quick_replicates: file.quick_replicates,
        market,
        mechanisms,
        keys,
        cells: grid,
        figures,
    })
}

/// A swept key, checked: the part of the file it sets (0 the population,
/// 1 `[audit]`, 2 `[strategic]`), and each value with its label (as
/// written) and number.
struct SweptKey {
    key: String,
    part: usize,
    values: Vec<toml::Value>,
    labels: Vec<String>,
    numbers: Vec<f64>,
}

/// The number of cells of the grid, the product of the sweeps' lengths
/// (1 without sweeps); fails above [`MAX_CELLS`], without overflow.
fn grid_size(sweeps: &[SweptKey]) -> Result<u64, DesignError> {
    let mut cells: u64 = 1;
    for sweep in sweeps {
        let length = u64::try_from(sweep.values.len()).unwrap_or(u64::MAX);
        cells = cells
            .checked_mul(length)
            .ok_or(DesignError::TooManyCells { cells: None })?;
    }
    if cells > MAX_CELLS {
        return Err(DesignError::TooManyCells { cells: Some(cells) });
    }
    Ok(cells)
}

/// The instance stream of the cell with value `at[i]` of each sweep `i`:
/// its index in the grid of the population sweeps (part 0) alone, in the
/// mixed radix of their lengths, the first the most significant. It is
/// below the number of cells, so it does not overflow.
fn instance_stream(sweeps: &[SweptKey], at: &[usize]) -> u64 {
    sweeps
        .iter()
        .zip(at)
        .filter(|(sweep, _)| sweep.part == 0)
        .fold(0u64, |stream, (sweep, &j)| {
            stream * sweep.values.len() as u64 + j as u64
        })
}

/// Builds the cells of a grid from the tables of the file: a table no
/// sweep changes is built into its part once (by the first cell) and
/// shared; a swept one is copied, set and validated per cell.
struct CellBuilder<'a> {
    market: Market,
    mechanisms: &'a [Mechanism],
    /// The population, `[audit]` and `[strategic]` tables, as written.
    tables: [Option<toml::Value>; 3],
    /// Whether a sweep sets a key of each.
    swept: [bool; 3],
    /// The parts no sweep changes, once built.
    population: Part<MarketPopulation>,
    audit: Part<Option<AuditConfig>>,
    strategic: Part<Option<Arc<Strategic>>>,
    /// A procurement population of each provider count built so far, whose
    /// ids later cells share.
    populations: Vec<Population>,
}

/// A part of every cell that no sweep changes: built by the first cell,
/// then shared.
enum Part<T> {
    /// Not built yet (or changed by a sweep: built per cell).
    Unbuilt,
    /// Built, the same in every cell.
    Shared(T),
}

impl CellBuilder<'_> {
    /// The cell with value `at[i]` of each sweep `i`. Validation runs in
    /// the order of the file's parts, as if the whole file were read with
    /// the cell's values set: population, mechanisms, audit, strategic.
    fn cell(&mut self, sweeps: &[SweptKey], at: &[usize]) -> Result<Cell, DesignError> {
        let population = match &self.population {
            Part::Shared(population) => population.clone(),
            Part::Unbuilt => {
                let table = self
                    .table(0, sweeps, at)
                    .unwrap_or_else(|| toml::Value::Table(toml::Table::new()));
                let population = self.build_population(table)?;
                if !self.swept[0] {
                    self.population = Part::Shared(population.clone());
                }
                population
            }
        };
        let mut cell = Cell::new(population, self.mechanisms.to_vec())?;
        let audit = match &self.audit {
            Part::Shared(audit) => audit.clone(),
            Part::Unbuilt => {
                let audit = match self.table(1, sweeps, at) {
                    Some(value) => {
                        let audit: AuditTable = deserialize(value, "audit")?;
                        Some(audit.config().map_err(DesignError::Audit)?)
                    }
                    None => None,
                };
                if !self.swept[1] {
                    self.audit = Part::Shared(audit.clone());
                }
                audit
            }
        };
        if let Some(config) = audit {
            cell = cell.with_audit(config)?;
        }
        let strategic = match &self.strategic {
            Part::Shared(strategic) => strategic.clone(),
            Part::Unbuilt => {
                let strategic = match self.table(2, sweeps, at) {
                    Some(value) => Some(Arc::new(strategic(value)?)),
                    None => None,
                };
                if !self.swept[2] {
                    self.strategic = Part::Shared(strategic.clone());
                }
                strategic
            }
        };
        if let Some(strategic) = strategic {
            cell = cell.with_shared_strategic(strategic)?;
        }
        Ok(cell)
    }

    /// Part `part`'s table with the cell's swept values set in it, as
    /// setting them in the whole file would (creating tables on the way);
    /// `None` when the file has no such table and no sweep sets one.
    fn table(&self, part: usize, sweeps: &[SweptKey], at: &[usize]) -> Option<toml::Value> {
        let written = self.tables[part].as_ref();
        if !self.swept[part] {
            return written.cloned();
        }
        let root = [self.market.name(), "audit", "strategic"][part];
        let mut file = toml::Table::new();
        if let Some(table) = written {
            file.insert(root.to_owned(), table.clone());
        }
        for (sweep, &j) in sweeps.iter().zip(at) {
            if sweep.part == part {
                set_dotted(&mut file, &sweep.key, sweep.values[j].clone());
            }
        }
        file.remove(root)
    }

    /// The population of `table`, validated (errors name the key under the
    /// market's table).
    fn build_population(&mut self, table: toml::Value) -> Result<MarketPopulation, DesignError> {
        let market_key = self.market.name();
        Ok(match self.market {
            Market::Procurement => {
                let spec: PopulationSpec = deserialize(table, market_key)?;
                let same = self
                    .populations
                    .iter()
                    .find(|other| other.spec().providers == spec.providers);
                let population = Population::sharing_ids(spec, same)
                    .map_err(|e| population_error(market_key, e))?;
                if same.is_none() {
                    self.populations.push(population.clone());
                }
                MarketPopulation::Procurement(population)
            }
            Market::Threshold => {
                let spec: ThresholdPopulationSpec = deserialize(table, market_key)?;
                MarketPopulation::Threshold(
                    ThresholdPopulation::new(spec).map_err(|e| population_error(market_key, e))?,
                )
            }
        })
    }
}

/// `[strategic]` read and checked: the mechanisms named, the grid within
/// the best responses' limits.
fn strategic(value: toml::Value) -> Result<Strategic, DesignError> {
    let table: StrategicTable = deserialize(value, "strategic")?;
    let mechanisms = table
        .mechanisms
        .iter()
        .enumerate()
        .map(|(i, name)| {
            name.parse::<Auction>()
                .map_err(|e| key_error(format!("strategic.mechanisms[{i}]"), e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let default = BestResponseConfig::default_grid();
    let config = BestResponseConfig::new(
        table.markups.unwrap_or_else(|| default.markups().to_vec()),
        table.claim_steps.unwrap_or(default.claim_steps()),
        table.max_rounds.unwrap_or(default.max_rounds()),
    )
    .map_err(|e| ExperimentError::Strategic(format!("strategic.{e}")))?;
    Ok(Strategic { config, mechanisms })
}

/// The columns plotted when the file names none.
fn default_figures(market: Market) -> &'static [Column] {
    match market {
        Market::Procurement => &[Column::VALUE, Column::CASH],
        Market::Threshold => &[
            Column::SUCCESS,
            Column::EXPECTED_DATA,
            Column::SPEND,
            Column::LEAKAGE,
        ],
    }
}

/// A swept value as a number: TOML integers and finite floats.
fn number(value: &toml::Value) -> Option<f64> {
    match value {
        toml::Value::Integer(i) => Some(*i as f64),
        toml::Value::Float(x) if x.is_finite() => Some(*x),
        _ => None,
    }
}

/// Sets `key` (dotted) in `table`, creating tables on the way (and
/// replacing a value that is in the way).
fn set_dotted(table: &mut toml::Table, key: &str, value: toml::Value) {
    let mut parts: Vec<&str> = key.split('.').collect();
    let leaf = parts.pop().unwrap_or_default();
    let mut current = table;
    for part in parts {
        let entry = current
            .entry(part.to_owned())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        let toml::Value::Table(next) = entry else {
            // Made a table just above.
            return;
        };
        current = next;
    }
    current.insert(leaf.to_owned(), value);
}

/// Deserializes the table at `at` (a dotted key, or "" for the whole
/// file), naming the full key of any error.
fn deserialize<T: serde::de::DeserializeOwned>(
    value: toml::Value,
    at: &str,
) -> Result<T, DesignError> {
    toml_input::deserialize(value, at).map_err(toml_error)
}

/// A TOML error as a design error: syntax, or a named key.
fn toml_error(error: TomlError) -> DesignError {
    match error {
        TomlError::Syntax(error) => DesignError::Syntax(error.message().to_owned()),
        TomlError::Key { key, problem } => DesignError::Key { key, problem },
    }
}

/// A population error under the market's table: its key prefixed.
fn population_error(market_key: &str, error: PopulationError) -> DesignError {
    key_error(format!("{market_key}.{}", error.key), error.problem)
}

/// Runs the design's replicates of the cells of `shard` ([`Shard::WHOLE`]
/// for all), calling `progress` once per finished replicate (see
/// [`super::run`]). The design has at most [`MAX_RECORDS`] records
/// ([`parse_design`] checks), so neither does the run.
pub fn run_design(
    design: &Design,
    shard: Shard,
    progress: &(dyn Fn() + Sync),
) -> Result<Vec<CellResult>, DesignError> {
    let cells: Vec<(CellIndex, Cell)> = (0u64..)
        .zip(&design.cells)
        .filter(|(index, _)| shard.contains(*index))
        .map(|(index, cell)| {
            let at = CellIndex {
                cell: index,
                stream: cell.stream,
            };
            (at, cell.cell.clone())
        })
        .collect();
    Ok(run(&cells, design.replicates, design.seed, progress)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TINY: &str = r#"
name = "tiny"
seed = 11
replicates = 2
mechanisms = ["qmia", "volume"]

[procurement]
providers = 4
budget_fraction = 0.3
cost = { distribution = "uniform", low = 0.5, high = 1.5 }
quality = { distribution = "uniform", low = 0.5, high = 1.0 }
utility = { distribution = "uniform", low = 0.0, high = 1.0 }

[strategic]
mechanisms = ["volume"]
max_rounds = 2

[[sweep]]
key = "procurement.budget_fraction"
values = [0.2, 0.5]

[[sweep]]
key = "procurement.providers"
values = [3, 5]
"#;

    /// Parses TINY with `from` replaced by `to` and returns the error.
    fn refused(from: &str, to: &str) -> String {
        assert!(TINY.contains(from), "{from}");
        parse_design(&TINY.replacen(from, to, 1))
            .expect_err("refused")
            .to_string()
    }

    #[test]
    fn sweeps_expand_into_a_grid_the_first_key_slowest() {
        let design = parse_design(TINY).expect("valid");
        assert_eq!(
            design.keys(),
            ["procurement.budget_fraction", "procurement.providers"]
        );
        let labels: Vec<&[String]> = design.cells().iter().map(GridCell::labels).collect();
        assert_eq!(
            labels,
            [["0.2", "3"], ["0.2", "5"], ["0.5", "3"], ["0.5", "5"]]
        );
        assert_eq!(design.cells()[3].point(), [0.5, 5.0]);
        assert_eq!(design.figures(), [Column::VALUE, Column::CASH]);
        assert_eq!(design.market(), Market::Procurement);
        assert_eq!(design.columns()[0], "value");
        let Cell::Procurement(cell) = design.cells()[1].cell() else {
            panic!("a procurement cell")
        };
        assert_eq!(cell.population().spec().providers, 5);
        assert_eq!(design.replicates_to_run(Shard::WHOLE), 8);
        let shard: Shard = "2/3".parse().expect("a shard");
        assert_eq!(design.replicates_to_run(shard), 2);
    }

    #[test]
    fn errors_name_the_key_and_the_cell() {
        let cases = [
            (
                "replicates = 2",
                "replicates = 0",
                "replicates: must be at least 1",
            ),
            (
                "providers = 4",
                "provider = 4",
                "procurement.provider: unknown field `provider`",
            ),
            (
                "low = 0.5, high = 1.5",
                "low = 1.5, high = 0.5",
                "procurement.cost.high: 0.5 is not > low 1.5",
            ),
            (
                r#"["qmia", "volume"]"#,
                r#"["qmia", "vcg"]"#,
                "mechanisms[1]: unknown mechanism \"vcg\"",
            ),
            (
                "key = \"procurement.providers\"",
                "key = \"seed\"",
                "sweep[1].key: \"seed\" is not a key of [procurement], [audit] or [strategic] \
                 (write it dotted, e.g. \"procurement.budget_fraction\")",
            ),
            (
                "values = [3, 5]",
                "values = [3, \"five\"]",
                "sweep[1].values[1]: \"five\" is not a finite number",
            ),
            (
                "values = [3, 5]",
                "values = []",
                "sweep[1].values: give at least one value",
            ),
            ("max_rounds = 2", "max_rounds = 0", "strategic.max_rounds"),
            (
                "mechanisms = [\"volume\"]",
                "mechanisms = [\"mixed\"]",
                "strategic.mechanisms[0]: mixed is not one of the experiment's mechanisms \
                 (in cell 0: procurement.budget_fraction = 0.2, procurement.providers = 3)",
            ),
            (
                "name = \"tiny\"",
                "name = \"tiny\"\nfigures = [\"welfare\"]",
                "figures[0]: \"welfare\" is not a metric; expected one of value, cash",
            ),
            ("name = \"tiny\"\n", "", "missing field `name`"),
            (
                "[strategic]",
                "[audit]\ngrid = 0\n\n[strategic]",
                "audit.grid: 0 is not between 1 and 10000 (in cell 0: ",
            ),
            ("seed = 11", "seed = ", "string values must be quoted"),
        ];
        for (from, to, expected) in cases {
            let message = refused(from, to);
            assert!(message.contains(expected), "{to}: {message}");
        }
        assert_eq!(
            refused("values = [3, 5]", "values = [3, 0]"),
            "procurement.providers: 0 is not ≥ 1 \
             (in cell 1: procurement.budget_fraction = 0.2, procurement.providers = 0)"
        );
    }

    #[test]
    fn replicates_are_rewritten_in_place() {
        let source = "name = \"x\"\n# replicates = 9 in a comment\nreplicates = 400\nquick_replicates = 4\n[t]\nreplicates = 1\n";
        let text = with_replicates(source, 7).expect("a replicates line");
        assert!(text.starts_with("name = \"x\"\n# replicates = 9 in a comment\nreplicates = 7  #"));
        assert!(text.ends_with("quick_replicates = 4\n[t]\nreplicates = 1\n"));
        assert_eq!(
            with_replicates("[t]\nreplicates = 1\n", 2),
            Err(DesignError::NoReplicatesLine)
        );
        let design = parse_design(TINY).expect("valid");
        let more = design.with_replicates(5).expect("rewritten");
        assert_eq!((more.replicates(), more.cells()), (5, design.cells()));
        assert_eq!(design.with_replicates(2), Ok(design));
    }

    #[test]
    fn designs_refuse_more_records_than_memory_holds() {
        let huge = TINY.replacen("replicates = 2", "replicates = 5000000", 1);
        assert_eq!(
            parse_design(&huge).expect_err("too large").to_string(),
            "replicates: 4 cells × 5000000 replicates × 2 mechanisms is more than the 20000000 \
             records an experiment may have (a run, and a merge of its shards, holds them all in \
             memory); lower replicates or sweep fewer values"
        );
        let shard: Shard = "1/2".parse().expect("a shard");
        let design = parse_design(TINY).expect("valid");
        let results = run_design(&design, shard, &|| {}).expect("runs");
        let cells: Vec<u64> = results.iter().map(CellResult::cell).collect();
        assert_eq!(cells, [0, 2]);
    }

    #[test]
    fn cells_share_what_no_sweep_changes() {
        let design = parse_design(TINY).expect("valid");
        let strategic: Vec<&Strategic> = design
            .cells()
            .iter()
            .filter_map(|cell| cell.cell().strategic())
            .collect();
        assert_eq!(strategic.len(), 4);
        assert!(strategic.iter().all(|s| std::ptr::eq(*s, strategic[0])));
        // A swept [strategic] is built per cell, from the cell's values.
        let swept = TINY.replacen(
            "[[sweep]]\nkey = \"procurement.providers\"",
            "[[sweep]]\nkey = \"strategic.max_rounds\"",
            1,
        );
        let design = parse_design(&swept).expect("valid");
        let rounds: Vec<usize> = design
            .cells()
            .iter()
            .filter_map(|cell| cell.cell().strategic())
            .map(|s| s.config.max_rounds())
            .collect();
        assert_eq!(rounds, [3, 5, 3, 5]);
        // A swept table that the file lacks is made, as if set in the file.
        let audit = format!("{TINY}\n[[sweep]]\nkey = \"audit.grid\"\nvalues = [2]\n");
        let design = parse_design(&audit).expect("valid");
        let grids: Vec<usize> = design
            .cells()
            .iter()
            .filter_map(|cell| cell.cell().audit())
            .map(AuditConfig::grid)
            .collect();
        assert_eq!(grids, [2; 4]);
    }

    /// Every replicate's outcome columns of `mechanism` (those the audit
    /// and the best responses do not write), as bits.
    fn bits_of(result: &CellResult, mechanism: usize) -> Vec<Option<u64>> {
        [Column::VALUE, Column::CASH, Column::WINNERS, Column::BUDGET]
            .into_iter()
            .flat_map(|column| result.column(mechanism, column).unwrap_or_default())
            .map(|value| value.map(f64::to_bits))
            .collect()
    }

    /// Cells that differ only in how providers best-respond or how the
    /// instances are audited draw the same instances; a swept population
    /// key gives each of its values its own stream.
    #[test]
    fn cells_that_differ_only_in_mechanism_settings_see_the_same_instances() {
        let source = format!(
            "{}\n[audit]\nmax_participants = 2\n\n[[sweep]]\nkey = \"strategic.max_rounds\"\n\
             values = [1, 4]\n\n[[sweep]]\nkey = \"audit.grid\"\nvalues = [4, 8]\n",
            TINY.replacen("values = [3, 5]", "values = [5]", 1)
        );
        let design = parse_design(&source).expect("valid");
        let streams: Vec<u64> = design.cells().iter().map(GridCell::stream).collect();
        // budget_fraction × providers × max_rounds × grid = 2 × 1 × 2 × 2.
        assert_eq!(streams, [0, 0, 0, 0, 1, 1, 1, 1]);
        let results = run_design(&design, Shard::WHOLE, &|| {}).expect("runs");
        // qmia (record 0) is truthful: the same instances give the same
        // outcomes, whatever volume's best responses (1 or 4 rounds) and
        // the audit's grid (4 or 8 points).
        for group in results.chunks(4) {
            for other in &group[1..] {
                assert_eq!(bits_of(other, 0)[..], bits_of(&group[0], 0)[..]);
            }
            let Cell::Procurement(first) = design.cells()[group[0].cell() as usize].cell() else {
                panic!("a procurement cell")
            };
            let truth = first
                .population()
                .draw(crate::seed::cell_seed(11, group[0].cell() / 4), 1);
            let outcome =
                procura_mechanisms::procurement::clear(&truth, Auction::Qmia).expect("clears");
            let values = group[2].column(0, Column::VALUE).expect("value");
            assert_eq!(values[1], Some(outcome.value()));
        }
        assert_ne!(bits_of(&results[0], 0), bits_of(&results[4], 0));
        // A design that sweeps only population keys keeps one stream per
        // cell: its cells' own indices, as before streams were shared.
        let design = parse_design(TINY).expect("valid");
        let streams: Vec<u64> = design.cells().iter().map(GridCell::stream).collect();
        assert_eq!(streams, [0, 1, 2, 3]);
        // A population key swept after a strategic one: the population
        // grid alone numbers the streams.
        let swept = TINY.replacen(
            "[[sweep]]\nkey = \"procurement.budget_fraction\"\nvalues = [0.2, 0.5]",
            "[[sweep]]\nkey = \"strategic.max_rounds\"\nvalues = [1, 2, 3]",
            1,
        );
        let design = parse_design(&swept).expect("valid");
        let streams: Vec<u64> = design.cells().iter().map(GridCell::stream).collect();
        assert_eq!(streams, [0, 1, 0, 1, 0, 1]);
    }
}
