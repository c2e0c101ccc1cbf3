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
//! [`parse_design`] expands the sweeps into one TOML table per cell, so
//! that every swept key is validated, and named in errors, exactly like a
//! written one; [`run_design`] runs the cells of a [`Shard`]. Errors
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
//! assert_eq!(results[1].records().len(), 3);
//!
//! let error = parse_design(&design.source().replace("[5, 8]", "[5, 0]")).unwrap_err();
//! assert!(error.to_string().contains("(in cell 1: procurement.providers = 0)"));
//! # Ok::<(), procura_lab::experiment::design::DesignError>(())
//! ```

use serde::Deserialize;

use procura_audit::{AuditConfig, BestResponseConfig};
use procura_mechanisms::procurement::Auction;
use procura_mechanisms::{Market, Mechanism};

use super::{run, Cell, CellResult, ExperimentError, MarketPopulation, Record, Shard, Strategic};
use crate::population::{Population, PopulationError, PopulationSpec};
use crate::threshold_population::{ThresholdPopulation, ThresholdPopulationSpec};

/// The most records (cell × replicate × mechanism) one run keeps in memory:
/// a few GiB.
pub const MAX_RECORDS: u64 = 20_000_000;

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
    /// The run would hold more than [`MAX_RECORDS`] records in memory.
    #[error(
        "replicates: {cells} cells × {replicates} replicates × {mechanisms} mechanisms is more \
         than the {MAX_RECORDS} records one run holds in memory; lower replicates or split the \
         run with --shard"
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
    #[serde(default, rename = "audit")]
    _audit: Option<toml::Value>,
    /// Best-responding providers, if any (validated per cell).
    #[serde(default, rename = "strategic")]
    _strategic: Option<toml::Value>,
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
    figures: Vec<String>,
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

    /// The columns plotted, each one of [`Design::columns`].
    #[must_use]
    pub fn figures(&self) -> &[String] {
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
pub fn parse_design(source: &str) -> Result<Design, DesignError> {
    let table: toml::Table =
        toml::from_str(source).map_err(|e| DesignError::Syntax(e.message().to_owned()))?;
    let file: ExperimentFile = deserialize(toml::Value::Table(table.clone()), "")?;
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

    // The grid: the product of the sweeps, the first varying slowest.
    let mut keys = Vec::new();
    for (i, sweep) in file.sweep.iter().enumerate() {
        let root = sweep.key.split('.').next().unwrap_or_default();
        if ![market_key, "audit", "strategic"].contains(&root) || !sweep.key.contains('.') {
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
        }
        if keys.contains(&sweep.key) {
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
        for (j, value) in sweep.values.iter().enumerate() {
            if number(value).is_none() {
                return Err(key_error(
                    format!("sweep[{i}].values[{j}]"),
                    format!("{value} is not a finite number"),
                ));
            }
        }
        keys.push(sweep.key.clone());
    }
    let mut points: Vec<Vec<&toml::Value>> = vec![Vec::new()];
    for sweep in &file.sweep {
        points = points
            .into_iter()
            .flat_map(|point| {
                sweep.values.iter().map(move |value| {
                    let mut point = point.clone();
                    point.push(value);
                    point
                })
            })
            .collect();
    }

    let cells = points
        .iter()
        .enumerate()
        .map(|(index, point)| {
            let mut cell_table = table.clone();
            for (key, value) in keys.iter().zip(point) {
                set_dotted(&mut cell_table, key, (*value).clone());
            }
            let labels: Vec<String> = point.iter().map(ToString::to_string).collect();
            let cell = build_cell(&cell_table, market, &mechanisms).map_err(|error| {
                DesignError::Cell {
                    cell: index,
                    settings: keys.iter().cloned().zip(labels.iter().cloned()).collect(),
                    error: Box::new(error),
                }
            })?;
            Ok(GridCell {
                cell,
                labels,
                point: point
                    .iter()
                    .map(|value| number(value).unwrap_or(f64::NAN))
                    .collect(),
            })
        })
        .collect::<Result<Vec<_>, DesignError>>()?;

    let columns = Record::columns(market);
    let figures = match file.figures {
        Some(figures) => {
            for (i, figure) in figures.iter().enumerate() {
                if !columns.contains(&figure.as_str()) {
                    return Err(key_error(
                        format!("figures[{i}]"),
                        format!(
                            "{figure:?} is not a metric; expected one of {}",
                            columns.join(", ")
                        ),
                    ));
                }
            }
            figures
        }
        None => default_figures(market),
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
        cells,
        figures,
    })
}

/// The columns plotted when the file names none.
fn default_figures(market: Market) -> Vec<String> {
    let columns: &[&str] = match market {
        Market::Procurement => &["value", "cash"],
        Market::Threshold => &["success", "expected_data", "spend", "leakage"],
    };
    columns.iter().map(|c| (*c).to_owned()).collect()
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
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let problem = error.into_inner().message().trim().to_owned();
        let key = match (at.is_empty(), path == ".") {
            (true, true) => String::new(),
            (true, false) => path,
            (false, true) => at.to_owned(),
            (false, false) => format!("{at}.{path}"),
        };
        key_error(key, problem)
    })
}

/// A population error under the market's table: its key prefixed.
fn population_error(market_key: &str, error: PopulationError) -> DesignError {
    key_error(format!("{market_key}.{}", error.key), error.problem)
}

/// The cell of one point of the grid: `table` is the file with the
/// point's swept values set.
fn build_cell(
    table: &toml::Table,
    market: Market,
    mechanisms: &[Mechanism],
) -> Result<Cell, DesignError> {
    let market_key = market.name();
    let population = table
        .get(market_key)
        .cloned()
        .unwrap_or_else(|| toml::Value::Table(toml::Table::new()));
    let population = match market {
        Market::Procurement => {
            let spec: PopulationSpec = deserialize(population, market_key)?;
            MarketPopulation::Procurement(
                Population::new(spec).map_err(|e| population_error(market_key, e))?,
            )
        }
        Market::Threshold => {
            let spec: ThresholdPopulationSpec = deserialize(population, market_key)?;
            MarketPopulation::Threshold(
                ThresholdPopulation::new(spec).map_err(|e| population_error(market_key, e))?,
            )
        }
    };
    let mut cell = Cell::new(population, mechanisms.to_vec())?;
    if let Some(value) = table.get("audit") {
        let audit: AuditTable = deserialize(value.clone(), "audit")?;
        cell = cell.with_audit(audit.config().map_err(DesignError::Audit)?)?;
    }
    if let Some(value) = table.get("strategic") {
        let table: StrategicTable = deserialize(value.clone(), "strategic")?;
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
        cell = cell.with_strategic(Strategic { config, mechanisms })?;
    }
    Ok(cell)
}

/// Runs the design's replicates of the cells of `shard` ([`Shard::WHOLE`]
/// for all), calling `progress` once per finished replicate (see
/// [`super::run`]).
///
/// Fails with [`DesignError::TooLarge`] when the run would hold more than
/// [`MAX_RECORDS`] records.
pub fn run_design(
    design: &Design,
    shard: Shard,
    progress: &(dyn Fn() + Sync),
) -> Result<Vec<CellResult>, DesignError> {
    let replicates = design.replicates;
    let cells: Vec<(u64, Cell)> = (0u64..)
        .zip(&design.cells)
        .filter(|(index, _)| shard.contains(*index))
        .map(|(index, cell)| (index, cell.cell.clone()))
        .collect();
    let n_cells = cells.len() as u64;
    let n_mechanisms = design.mechanisms.len() as u64;
    let records = n_cells
        .checked_mul(replicates)
        .and_then(|n| n.checked_mul(n_mechanisms));
    if records.is_none_or(|records| records > MAX_RECORDS) {
        return Err(DesignError::TooLarge {
            cells: n_cells,
            replicates,
            mechanisms: n_mechanisms,
        });
    }
    Ok(run(&cells, replicates, design.seed, progress)?)
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
        assert_eq!(design.figures(), ["value", "cash"]);
        assert_eq!(design.market(), Market::Procurement);
        assert_eq!(design.columns()[0], "value");
        let MarketPopulation::Procurement(population) = design.cells()[1].cell().market() else {
            panic!("a procurement cell")
        };
        assert_eq!(population.spec().providers, 5);
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
    fn runs_refuse_more_records_than_memory_holds() {
        let huge = TINY.replacen("replicates = 2", "replicates = 5000000", 1);
        let design = parse_design(&huge).expect("valid");
        let error = run_design(&design, Shard::WHOLE, &|| {}).expect_err("too large");
        assert_eq!(
            error.to_string(),
            "replicates: 4 cells × 5000000 replicates × 2 mechanisms is more than the 20000000 \
             records one run holds in memory; lower replicates or split the run with --shard"
        );
        let shard: Shard = "1/2".parse().expect("a shard");
        let design = parse_design(TINY).expect("valid");
        let results = run_design(&design, shard, &|| {}).expect("runs");
        let cells: Vec<u64> = results.iter().map(CellResult::cell).collect();
        assert_eq!(cells, [0, 2]);
    }
}
