//! Monte-Carlo experiments: draw many instances from a population, clear
//! each with several mechanisms, and record what happened
//! (`procura experiment`).
//!
//! An experiment is a list of [`Cell`]s, one per point of a parameter grid,
//! each run for the same number of replicates. Replicate r of cell c draws
//! its instance from its own ChaCha8 stream, seeded by
//! [`cell_seed`]`(seed, c)` on stream r, and every mechanism of the cell
//! clears that same instance (common random numbers, so that mechanisms are
//! compared pairwise). Nothing else is random.
//!
//! **The records of a cell depend only on (seed, cell index, replicate), not
//! on the thread count, nor on which other cells run**: that is what makes
//! `--shard i/n` and `procura merge` give the same bytes as one run.
//!
//! Each record is a typed [`Record`] ([`ProcurementRecord`] or
//! [`ThresholdRecord`]), with `None` where a field does not apply (for
//! example best-response rounds of a truthful mechanism); [`record`] holds
//! the one table of their columns. [`statistics`] summarises them,
//! [`claims`] judges the claims of spec §B.5 on them; with the `serde`
//! feature, `design` reads an experiment file (TOML) into cells and
//! `reproduce` runs and judges the shipped experiments.
//!
//! ```
//! use procura_lab::experiment::{run, Cell, MarketPopulation};
//! use procura_lab::population::{Distribution, Population, PopulationSpec};
//! use procura_mechanisms::{procurement::Auction, Mechanism};
//!
//! let uniform = |low, high| Distribution::Uniform { low, high };
//! let population = Population::new(PopulationSpec {
//!     providers: 20,
//!     budget_fraction: 0.3,
//!     token_budget_fraction: None,
//!     liquidity: None,
//!     token_pool: None,
//!     cost: uniform(0.5, 1.5),
//!     quality: uniform(0.5, 1.0),
//!     utility: uniform(0.0, 1.0),
//!     volume: None,
//!     claimed_quality: None,
//! })?;
//! let qmia = Mechanism::Auction(Auction::Qmia);
//! let cell = Cell::new(MarketPopulation::Procurement(population), vec![qmia])?;
//! let results = run(&[(0, cell)], 10, 42, &|| {})?;
//! let records = results[0].procurement(qmia).expect("qmia ran");
//! assert_eq!(records.len(), 10);
//! assert!(records.iter().all(|record| record.value > 0.0 && record.budget_ok));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod claims;
#[cfg(feature = "serde")]
pub mod design;
pub mod record;
#[cfg(feature = "serde")]
pub mod reproduce;
pub mod statistics;

use std::fmt;
use std::str::FromStr;

use rayon::prelude::*;

pub use crate::seed::cell_seed;
pub use record::{ProcurementRecord, Record, RecordError, ThresholdRecord};
pub use statistics::{summarize, Summary};

use procura_audit::{audit, best_response_dynamics, AuditConfig, BestResponseConfig};
use procura_mechanisms::procurement::{self, Auction, Instance, Outcome};
use procura_mechanisms::threshold::{reaches, subsidy, withdrawal, ThresholdInstance};
use procura_mechanisms::tolerance::{at_most, ROUNDING_RELATIVE};
use procura_mechanisms::{Market, Mechanism};

use crate::population::{Population, PopulationError};
use crate::seed::instance_seed;
use crate::threshold_population::ThresholdPopulation;

/// The population a cell draws its instances from.
#[derive(Debug, Clone, PartialEq)]
pub enum MarketPopulation {
    /// Procurement auctions (Part A).
    Procurement(Population),
    /// Threshold contributions (Part B).
    Threshold(ThresholdPopulation),
}

impl MarketPopulation {
    /// Which market the population draws.
    #[must_use]
    pub fn market(&self) -> Market {
        match self {
            MarketPopulation::Procurement(_) => Market::Procurement,
            MarketPopulation::Threshold(_) => Market::Threshold,
        }
    }

    /// The column names of this market's records, in column order
    /// ([`Record::columns`]).
    #[must_use]
    pub fn columns(&self) -> &'static [&'static str] {
        Record::columns(self.market())
    }
}

/// Why an experiment cannot run, or its records are malformed. Messages
/// name the key (or the record).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ExperimentError {
    /// The population is invalid.
    #[error(transparent)]
    Population(#[from] PopulationError),
    /// A mechanism does not fit the market, or needs a key the population
    /// lacks.
    #[error("mechanisms: {mechanism} {problem}")]
    Mechanism {
        /// The mechanism's name.
        mechanism: String,
        /// What is wrong.
        problem: String,
    },
    /// The list of mechanisms is empty or repeats one.
    #[error("mechanisms: {0}")]
    Mechanisms(String),
    /// The best-response or audit settings are invalid (the message starts
    /// with the key: `strategic.…` or `audit…`).
    #[error("{0}")]
    Strategic(String),
    /// The records given to [`CellResult::new`] do not have its shape:
    /// record (replicate) `record` has the wrong number of mechanism
    /// records, or one of the wrong market.
    #[error("records[{record}]: {problem}")]
    Records {
        /// The index of the record (the replicate) at fault.
        record: usize,
        /// What is wrong.
        problem: String,
    },
    /// A mechanism failed to clear an instance of its cell. [`Cell::new`]
    /// checks every key a mechanism needs, so this is a bug, reported
    /// rather than recorded.
    #[error("replicate {replicate}: {mechanism} cannot clear its instance: {problem}")]
    Clear {
        /// The replicate.
        replicate: u64,
        /// The mechanism.
        mechanism: Mechanism,
        /// Why it failed.
        problem: String,
    },
    /// An error in cell `cell` of a run.
    #[error("cell {cell}: {error}")]
    Cell {
        /// The cell's index in the grid.
        cell: u64,
        /// The error (in the message, so not its `source`).
        error: Box<ExperimentError>,
    },
}

/// Shard `index` of `count` of an experiment (`--shard I/N`): the cells c
/// with c mod N = I − 1. Built by [`Shard::new`] or parsed from `I/N`, so
/// 1 ≤ I ≤ N always holds.
///
/// ```
/// use procura_lab::experiment::Shard;
///
/// let shard: Shard = "2/3".parse()?;
/// assert_eq!(shard.cells(8).collect::<Vec<_>>(), [1, 4, 7]);
/// assert_eq!(shard.to_string(), "2/3");
/// assert!("4/3".parse::<Shard>().is_err());
/// # Ok::<(), procura_lab::experiment::ShardError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    index: u64,
    count: u64,
}

/// Why text is not a shard `I/N`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShardError {
    /// No `/`.
    #[error("{0:?} is not I/N, e.g. 2/8")]
    NotAFraction(String),
    /// I or N is not a whole number.
    #[error("{0:?} is not I/N with whole numbers")]
    NotWhole(String),
    /// Not 1 ≤ I ≤ N.
    #[error("{0:?}: need 1 ≤ I ≤ N")]
    OutOfRange(String),
}

impl Shard {
    /// The whole experiment, as one shard: 1/1.
    pub const WHOLE: Shard = Shard { index: 1, count: 1 };

    /// Shard `index` (1-based) of `count`; fails unless 1 ≤ index ≤ count.
    pub fn new(index: u64, count: u64) -> Result<Shard, ShardError> {
        if count == 0 || index == 0 || index > count {
            return Err(ShardError::OutOfRange(format!("{index}/{count}")));
        }
        Ok(Shard { index, count })
    }

    /// The shard's index I, from 1.
    #[must_use]
    pub fn index(self) -> u64 {
        self.index
    }

    /// The number of shards N.
    #[must_use]
    pub fn count(self) -> u64 {
        self.count
    }

    /// Whether cell `cell` belongs to the shard: cell mod N = I − 1.
    #[must_use]
    pub fn contains(self, cell: u64) -> bool {
        cell % self.count == self.index - 1
    }

    /// The shard's cells among cells 0 … n − 1, in order.
    pub fn cells(self, n: u64) -> impl Iterator<Item = u64> {
        (0..n).filter(move |cell| self.contains(*cell))
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = ShardError;
    fn from_str(text: &str) -> Result<Shard, ShardError> {
        let (index, count) = text
            .split_once('/')
            .ok_or_else(|| ShardError::NotAFraction(text.to_owned()))?;
        let number = |part: &str| {
            part.trim()
                .parse::<u64>()
                .map_err(|_| ShardError::NotWhole(text.to_owned()))
        };
        let (index, count) = (number(index)?, number(count)?);
        Shard::new(index, count).map_err(|_| ShardError::OutOfRange(text.to_owned()))
    }
}

/// One point of an experiment's grid: a population and what to run on it.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    market: MarketPopulation,
    mechanisms: Vec<Mechanism>,
    audit: Option<AuditConfig>,
    strategic: Option<Strategic>,
}

/// Best-responding providers: under the listed mechanisms, each record is
/// the outcome of [`best_response_dynamics`] from the truthful reports,
/// judged against the true costs.
#[derive(Debug, Clone, PartialEq)]
pub struct Strategic {
    /// The grid and round limit of the dynamics.
    pub config: BestResponseConfig,
    /// The mechanisms under which providers best-respond; the others see
    /// truthful reports.
    pub mechanisms: Vec<Auction>,
}

impl Cell {
    /// A cell that clears every instance of `market` with each of
    /// `mechanisms`, truthfully.
    ///
    /// Fails when a mechanism does not fit the market, is repeated, or
    /// needs a key the population lacks (MUT a token budget, the subsidy a
    /// payment and a floor, withdrawal rights a reserve price).
    pub fn new(
        market: MarketPopulation,
        mechanisms: Vec<Mechanism>,
    ) -> Result<Cell, ExperimentError> {
        if mechanisms.is_empty() {
            return Err(ExperimentError::Mechanisms("the list is empty".to_owned()));
        }
        for (i, mechanism) in mechanisms.iter().enumerate() {
            if mechanisms[..i].contains(mechanism) {
                return Err(ExperimentError::Mechanisms(format!(
                    "{mechanism} is listed twice"
                )));
            }
            let problem = |problem: &str| ExperimentError::Mechanism {
                mechanism: mechanism.to_string(),
                problem: problem.to_owned(),
            };
            if mechanism.market() != market.market() {
                return Err(problem("does not run on this market"));
            }
            match (mechanism, &market) {
                (Mechanism::Auction(Auction::Mut), MarketPopulation::Procurement(population))
                    if population.spec().token_budget_fraction.is_none() =>
                {
                    return Err(problem("needs token_budget_fraction"));
                }
                (Mechanism::Subsidy, MarketPopulation::Threshold(population))
                    if population.spec().payment.is_none() || population.spec().floor.is_none() =>
                {
                    return Err(problem("needs payment and floor"));
                }
                (Mechanism::Withdrawal(_), MarketPopulation::Threshold(population))
                    if population.spec().reserve_price.is_none() =>
                {
                    return Err(problem("needs reserve_price"));
                }
                _ => {}
            }
        }
        Ok(Cell {
            market,
            mechanisms,
            audit: None,
            strategic: None,
        })
    }

    /// The same cell, also auditing every procurement instance with
    /// `config` (its seed is replaced by one derived per replicate) and
    /// recording the largest unilateral and coalition gains.
    ///
    /// Fails when the market is not procurement. (Every [`AuditConfig`]
    /// is within the auditor's limits: its setters check them.)
    pub fn with_audit(self, config: AuditConfig) -> Result<Cell, ExperimentError> {
        match self.market {
            MarketPopulation::Procurement(_) => Ok(Cell {
                audit: Some(config),
                ..self
            }),
            MarketPopulation::Threshold(_) => Err(ExperimentError::Strategic(
                "audit: threshold experiments cannot be audited (subsidy users report nothing)"
                    .to_owned(),
            )),
        }
    }

    /// The same cell with providers best-responding under
    /// `strategic.mechanisms` (each must be one of the cell's).
    pub fn with_strategic(self, strategic: Strategic) -> Result<Cell, ExperimentError> {
        if matches!(self.market, MarketPopulation::Threshold(_)) {
            return Err(ExperimentError::Strategic(
                "strategic: best responses apply to procurement markets only".to_owned(),
            ));
        }
        for (i, mechanism) in strategic.mechanisms.iter().enumerate() {
            if !self.mechanisms.contains(&Mechanism::Auction(*mechanism)) {
                return Err(ExperimentError::Strategic(format!(
                    "strategic.mechanisms[{i}]: {mechanism} is not one of the experiment's mechanisms"
                )));
            }
        }
        Ok(Cell {
            strategic: Some(strategic),
            ..self
        })
    }

    /// The population.
    #[must_use]
    pub fn market(&self) -> &MarketPopulation {
        &self.market
    }

    /// The mechanisms, in record order.
    #[must_use]
    pub fn mechanisms(&self) -> &[Mechanism] {
        &self.mechanisms
    }

    /// The audit run on every instance, if any (its seed is replaced per
    /// replicate).
    #[must_use]
    pub fn audit(&self) -> Option<&AuditConfig> {
        self.audit.as_ref()
    }

    /// The best-responding providers, if any.
    #[must_use]
    pub fn strategic(&self) -> Option<&Strategic> {
        self.strategic.as_ref()
    }
}

/// The records of one cell: for each replicate, one [`Record`] per
/// mechanism, all of the cell's market.
///
/// Its shape is checked on construction ([`CellResult::new`]), so the
/// accessors never fail on it.
#[derive(Debug, Clone, PartialEq)]
pub struct CellResult {
    /// The cell's index in the experiment's grid.
    cell: u64,
    /// The market of every mechanism and record.
    market: Market,
    /// The mechanisms, in record order, each once.
    mechanisms: Vec<Mechanism>,
    /// `records[replicate][mechanism]`.
    records: Vec<Vec<Record>>,
}

impl CellResult {
    /// The records `records[replicate][mechanism]` of cell `cell`, with
    /// `mechanisms` naming the records of each replicate.
    ///
    /// Fails when a mechanism is not of `market` or is listed twice
    /// ([`ExperimentError::Mechanism`], [`ExperimentError::Mechanisms`]),
    /// or, naming the replicate ([`ExperimentError::Records`]), when a
    /// replicate does not have exactly one record per mechanism or has a
    /// record of the other market.
    ///
    /// ```
    /// use procura_lab::experiment::{CellResult, ExperimentError, Record, ThresholdRecord};
    /// use procura_mechanisms::{Market, Mechanism};
    ///
    /// let record = Record::Threshold(ThresholdRecord {
    ///     feasible: None,
    ///     null: None,
    ///     collected: 2.0,
    ///     success: 1.0,
    ///     expected_data: 2.0,
    ///     participants: 2.0,
    ///     spend: 1.0,
    ///     leakage: 0.0,
    /// });
    /// let subsidy = vec![Mechanism::Subsidy];
    /// let result = CellResult::new(3, Market::Threshold, subsidy.clone(), vec![vec![record]; 2])?;
    /// assert_eq!((result.cell(), result.records().len()), (3, 2));
    ///
    /// // Replicate 0 has 2 records for 1 mechanism.
    /// let error = CellResult::new(3, Market::Threshold, subsidy, vec![vec![record; 2]]);
    /// assert!(matches!(error, Err(ExperimentError::Records { record: 0, .. })));
    /// # Ok::<(), ExperimentError>(())
    /// ```
    pub fn new(
        cell: u64,
        market: Market,
        mechanisms: Vec<Mechanism>,
        records: Vec<Vec<Record>>,
    ) -> Result<CellResult, ExperimentError> {
        for (i, mechanism) in mechanisms.iter().enumerate() {
            if mechanism.market() != market {
                return Err(ExperimentError::Mechanism {
                    mechanism: mechanism.to_string(),
                    problem: "does not run on this market".to_owned(),
                });
            }
            if mechanisms[..i].contains(mechanism) {
                return Err(ExperimentError::Mechanisms(format!(
                    "{mechanism} is listed twice"
                )));
            }
        }
        for (record, rows) in records.iter().enumerate() {
            if rows.len() != mechanisms.len() {
                return Err(ExperimentError::Records {
                    record,
                    problem: format!(
                        "{} mechanism records for {} mechanisms",
                        rows.len(),
                        mechanisms.len()
                    ),
                });
            }
            if let Some((_, mechanism)) = rows
                .iter()
                .zip(&mechanisms)
                .find(|(row, _)| row.market() != market)
            {
                return Err(ExperimentError::Records {
                    record,
                    problem: format!(
                        "the record of {mechanism} is not a {} record",
                        market.name()
                    ),
                });
            }
        }
        Ok(CellResult {
            cell,
            market,
            mechanisms,
            records,
        })
    }

    /// The cell's index in the experiment's grid.
    #[must_use]
    pub fn cell(&self) -> u64 {
        self.cell
    }

    /// The market of the cell's records.
    #[must_use]
    pub fn market(&self) -> Market {
        self.market
    }

    /// The column names of the cell's records ([`Record::columns`]).
    #[must_use]
    pub fn columns(&self) -> &'static [&'static str] {
        Record::columns(self.market)
    }

    /// The mechanisms, in record order.
    #[must_use]
    pub fn mechanisms(&self) -> &[Mechanism] {
        &self.mechanisms
    }

    /// `records()[replicate][mechanism]`: one record per mechanism in every
    /// replicate.
    #[must_use]
    pub fn records(&self) -> &[Vec<Record>] {
        &self.records
    }

    /// Every replicate's record of `mechanism`, in replicate order; `None`
    /// when the cell does not run it.
    fn of(&self, mechanism: Mechanism) -> Option<impl Iterator<Item = &Record>> {
        let index = self.mechanisms.iter().position(|m| *m == mechanism)?;
        // `new` checked that every replicate has a record per mechanism.
        Some(self.records.iter().filter_map(move |rows| rows.get(index)))
    }

    /// Every replicate's record of the auction `mechanism`, in replicate
    /// order; `None` when the cell does not run it (or is not a
    /// procurement cell).
    pub fn procurement(&self, mechanism: Mechanism) -> Option<Vec<&ProcurementRecord>> {
        if self.market != Market::Procurement {
            return None;
        }
        // `new` checked that every record is of the cell's market.
        Some(
            self.of(mechanism)?
                .filter_map(Record::procurement)
                .collect(),
        )
    }

    /// Every replicate's record of the threshold `mechanism`, in replicate
    /// order; `None` when the cell does not run it (or is not a threshold
    /// cell).
    pub fn threshold(&self, mechanism: Mechanism) -> Option<Vec<&ThresholdRecord>> {
        if self.market != Market::Threshold {
            return None;
        }
        Some(self.of(mechanism)?.filter_map(Record::threshold).collect())
    }

    /// Every replicate's field `column` (an index into
    /// [`CellResult::columns`]) under mechanism number `mechanism`, in
    /// replicate order, `None` where it does not apply; `None` for an
    /// unknown column or mechanism.
    #[must_use]
    pub fn column(&self, mechanism: usize, column: usize) -> Option<Vec<Option<f64>>> {
        if mechanism >= self.mechanisms.len() || column >= self.columns().len() {
            return None;
        }
        Some(
            self.records
                .iter()
                .map(|rows| rows.get(mechanism).and_then(|record| record.field(column)))
                .collect(),
        )
    }
}

/// Runs `replicates` replicates of each `(index, cell)` in parallel and
/// returns their records, cell by cell in the order given. `progress` is
/// called once per finished replicate, from any thread.
///
/// **The result does not depend on the number of threads**: every
/// replicate is a pure function of (seed, index, replicate), and rayon's
/// indexed collect keeps the order. A mechanism that fails to clear (a
/// bug: [`Cell::new`] checks what each needs) fails the run with
/// [`ExperimentError::Cell`], the first failure in (cell, replicate)
/// order.
pub fn run(
    cells: &[(u64, Cell)],
    replicates: u64,
    seed: u64,
    progress: &(dyn Fn() + Sync),
) -> Result<Vec<CellResult>, ExperimentError> {
    let jobs: Vec<(usize, u64)> = (0..cells.len())
        .flat_map(|position| (0..replicates).map(move |replicate| (position, replicate)))
        .collect();
    let records: Vec<Result<Vec<Record>, ExperimentError>> = jobs
        .par_iter()
        .map(|&(position, replicate)| {
            let (index, cell) = &cells[position];
            let records = run_replicate(cell, cell_seed(seed, *index), replicate);
            progress();
            records.map_err(|error| ExperimentError::Cell {
                cell: *index,
                error: Box::new(error),
            })
        })
        .collect();
    let mut records = records.into_iter();
    cells
        .iter()
        // Every replicate of `run_replicate` has a record per mechanism of
        // the cell, of its market: the shape `CellResult::new` checks.
        .map(|(index, cell)| {
            Ok(CellResult {
                cell: *index,
                market: cell.market.market(),
                mechanisms: cell.mechanisms.clone(),
                records: records
                    .by_ref()
                    .take(usize::try_from(replicates).unwrap_or(usize::MAX))
                    .collect::<Result<_, _>>()?,
            })
        })
        .collect()
}

/// The records of replicate `replicate` of `cell`, drawn with `seed` (the
/// cell's seed): one per mechanism, in the cell's order.
///
/// Fails with [`ExperimentError::Clear`] when a mechanism cannot clear the
/// instance, which [`Cell::new`] rules out (a bug).
pub fn run_replicate(
    cell: &Cell,
    seed: u64,
    replicate: u64,
) -> Result<Vec<Record>, ExperimentError> {
    let failed = |mechanism: Mechanism| {
        move |problem: String| ExperimentError::Clear {
            replicate,
            mechanism,
            problem,
        }
    };
    match &cell.market {
        MarketPopulation::Procurement(population) => {
            let truth = population.draw(seed, replicate);
            let audit_config = cell
                .audit
                .as_ref()
                .map(|config| config.clone().with_seed(instance_seed(seed, replicate)));
            cell.mechanisms
                .iter()
                .map(|&choice| {
                    let Mechanism::Auction(mechanism) = choice else {
                        return Err(failed(choice)(
                            "not an auction (Cell::new checks that mechanisms fit the market)"
                                .to_owned(),
                        ));
                    };
                    let strategic = cell
                        .strategic
                        .as_ref()
                        .filter(|s| s.mechanisms.contains(&mechanism))
                        .map(|s| &s.config);
                    procurement_record(mechanism, &truth, strategic, audit_config.as_ref())
                        .map(Record::Procurement)
                        .map_err(failed(choice))
                })
                .collect()
        }
        MarketPopulation::Threshold(population) => {
            let instance = population.draw(seed, replicate);
            cell.mechanisms
                .iter()
                .map(|&choice| {
                    threshold_record(choice, &instance)
                        .map(Record::Threshold)
                        .map_err(failed(choice))
                })
                .collect()
        }
    }
}

/// One procurement record: `mechanism` cleared on the truthful `truth`,
/// or on the reports its providers best-respond to under `strategic`,
/// judged at the true costs; audited when `audit_config` is given.
fn procurement_record(
    mechanism: Auction,
    truth: &Instance,
    strategic: Option<&BestResponseConfig>,
    audit_config: Option<&AuditConfig>,
) -> Result<ProcurementRecord, String> {
    let (outcome, br_rounds, br_converged) = match strategic {
        None => {
            let outcome = procurement::clear(truth, mechanism).map_err(|e| e.to_string())?;
            (outcome, None, None)
        }
        Some(config) => {
            let equilibrium =
                best_response_dynamics(truth, mechanism, config).map_err(|e| e.to_string())?;
            let rounds = u64::try_from(equilibrium.rounds).unwrap_or(u64::MAX);
            (
                equilibrium.outcome,
                Some(rounds),
                Some(equilibrium.converged),
            )
        }
    };
    // The report's maxima include rounding-level gains; its deviations are
    // kept only when profitable, so read the gains from those.
    let (unilateral_gain, coalition_gain) = match audit_config {
        Some(config) => {
            let report = audit(&mechanism, truth, config);
            (
                Some(report.deviation.as_ref().map_or(0.0, |d| d.gain)),
                Some(report.coalition.as_ref().map_or(0.0, |d| d.gain)),
            )
        }
        None => (None, None),
    };
    let judged = judge_outcome(mechanism, truth, &outcome);
    Ok(ProcurementRecord {
        value: outcome.value(),
        cash: outcome.total_cash(),
        tokens: judged.tokens,
        winners: u64::try_from(outcome.awards().len()).unwrap_or(u64::MAX),
        volume: judged.volume,
        ir_violations: judged.ir_violations,
        budget_ok: judged.budget_ok,
        br_rounds,
        br_converged,
        unilateral_gain,
        coalition_gain,
        budget: truth.budget(),
    })
}

/// What an outcome is worth at the true costs of `truth`.
struct Judged {
    /// Tokens paid, in cash-equivalent units.
    tokens: f64,
    /// Σ volume of the winners.
    volume: f64,
    /// Winners paid less than their true cost.
    ir_violations: u64,
    /// Whether cash ≤ B and tokens ≤ R, to rounding.
    budget_ok: bool,
}

/// Judges an outcome against the true costs of `truth`. Budgets, quality
/// and utility are not reports, so they are the same in `truth` and in any
/// reported instance.
fn judge_outcome(mechanism: Auction, truth: &Instance, outcome: &Outcome) -> Judged {
    let providers = truth.providers();
    // A MUT share τ is worth R·τ/Π; Mixed-MIA's tokens at face value.
    let token_value = |tokens: f64| match mechanism {
        Auction::Mut => procurement::mut_token::token_value(truth, tokens),
        _ => tokens,
    };
    let tokens = token_value(outcome.total_tokens());
    let mut volume = 0.0;
    let mut ir_violations = 0u64;
    for award in outcome.awards() {
        let provider = &providers[award.provider];
        volume += provider.volume();
        let reward = award.cash + token_value(award.tokens);
        if !at_most(provider.bid(), reward, ROUNDING_RELATIVE) {
            ir_violations += 1;
        }
    }
    let token_budget = match mechanism {
        Auction::Mut | Auction::Mixed => truth.token_budget(),
        _ => 0.0,
    };
    Judged {
        tokens,
        volume,
        ir_violations,
        budget_ok: at_most(outcome.total_cash(), truth.budget(), ROUNDING_RELATIVE)
            && at_most(tokens, token_budget, ROUNDING_RELATIVE),
    }
}

/// One threshold record: `choice` cleared on `instance`.
fn threshold_record(
    choice: Mechanism,
    instance: &ThresholdInstance,
) -> Result<ThresholdRecord, String> {
    let feasible = feasibility(instance);
    match choice {
        Mechanism::Subsidy => {
            let outcome = subsidy::clear(instance).map_err(|e| e.to_string())?;
            let improved = outcome.improved();
            Ok(ThresholdRecord {
                feasible,
                null: None,
                collected: outcome.collected(),
                success: if improved { 1.0 } else { 0.0 },
                expected_data: if improved { outcome.collected() } else { 0.0 },
                participants: if improved {
                    outcome.assignments().len() as f64
                } else {
                    0.0
                },
                spend: outcome.total_payment(),
                leakage: outcome.leakage(),
            })
        }
        Mechanism::Withdrawal(protocol) => {
            let outcome = withdrawal::clear(instance, protocol).map_err(|e| e.to_string())?;
            let report = outcome.protocol();
            Ok(ThresholdRecord {
                feasible,
                null: Some(outcome.is_null()),
                collected: outcome
                    .assignments()
                    .iter()
                    .fold(0.0, |sum, assignment| sum + assignment.amount),
                success: report.map_or(0.0, |r| r.success_probability),
                expected_data: report.map_or(0.0, |r| r.expected_data),
                participants: report.map_or(0.0, |r| r.expected_participants),
                spend: report.map_or(0.0, |r| r.expected_payment),
                leakage: outcome.leakage(),
            })
        }
        Mechanism::Auction(_) => Err(
            "not a threshold mechanism (Cell::new checks that mechanisms fit the market)"
                .to_owned(),
        ),
    }
}

/// Whether the users who accept the effective reserve can reach T
/// (§B.3 step 3), summed in ascending (cost, id) like the null test;
/// `None` without a reserve price.
fn feasibility(instance: &ThresholdInstance) -> Option<bool> {
    let reserve = instance.effective_reserve()?;
    let mut eligible: Vec<_> = instance
        .users()
        .iter()
        .filter(|user| user.cost() <= reserve)
        .collect();
    eligible.sort_by(|a, b| a.cost().total_cmp(&b.cost()).then(a.id().cmp(b.id())));
    let capacity = eligible.iter().fold(0.0, |sum, user| sum + user.capacity());
    Some(reaches(capacity, instance.threshold()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::population::{Distribution, PopulationSpec};
    use crate::threshold_population::ThresholdPopulationSpec;

    fn uniform(low: f64, high: f64) -> Distribution {
        Distribution::Uniform { low, high }
    }

    fn procurement_cell(providers: usize) -> Cell {
        let population = Population::new(PopulationSpec {
            providers,
            budget_fraction: 0.3,
            token_budget_fraction: Some(0.2),
            liquidity: Some(0.5),
            token_pool: None,
            cost: uniform(0.5, 1.5),
            quality: uniform(0.2, 1.0),
            utility: uniform(0.0, 1.0),
            volume: Some(uniform(1.0, 10.0)),
            claimed_quality: None,
        })
        .expect("valid");
        let mechanisms = Auction::ALL.into_iter().map(Mechanism::Auction).collect();
        Cell::new(MarketPopulation::Procurement(population), mechanisms)
            .expect("valid")
            .with_strategic(Strategic {
                config: BestResponseConfig::default_grid()
                    .with_max_rounds(3)
                    .expect("valid"),
                mechanisms: vec![Auction::Volume],
            })
            .expect("valid")
    }

    fn threshold_cell() -> Cell {
        let population = ThresholdPopulation::new(ThresholdPopulationSpec {
            users: 6,
            threshold_fraction: 0.6,
            cost: uniform(0.0, 2.0),
            capacity: uniform(0.5, 1.5),
            benefit: None,
            reserve_price: Some(1.0),
            budget: None,
            slack: Some(0.1),
            reversibility: None,
            shock_mean: Some(0.2),
            payment: Some(0.5),
            floor: Some(0.5),
            belief: None,
        })
        .expect("valid");
        let mechanisms = ["subsidy", "withdrawal-small-first"]
            .iter()
            .map(|name| name.parse().expect("known"))
            .collect();
        Cell::new(MarketPopulation::Threshold(population), mechanisms).expect("valid")
    }

    /// Every field of every record, as bits (NaN ≠ NaN).
    fn bits(result: &CellResult) -> Vec<Option<u64>> {
        result
            .records()
            .iter()
            .flatten()
            .flat_map(Record::fields)
            .map(|field| field.map(f64::to_bits))
            .collect()
    }

    #[test]
    fn a_cell_gives_the_same_records_alone_or_among_others() {
        let cells = [
            (0, procurement_cell(6)),
            (1, threshold_cell()),
            (2, procurement_cell(9)),
        ];
        let together = run(&cells, 5, 99, &|| {}).expect("runs");
        for (position, cell) in cells.iter().enumerate() {
            let alone = run(std::slice::from_ref(cell), 5, 99, &|| {}).expect("runs");
            assert_eq!(bits(&alone[0]), bits(&together[position]));
            assert_eq!(alone[0].cell(), cell.0);
        }
        assert_ne!(
            together[0].records(),
            together[2].records(),
            "cells draw different streams"
        );
    }

    #[test]
    fn records_follow_the_outcomes() {
        let result = &run(&[(4, procurement_cell(7))], 8, 5, &|| {}).expect("runs")[0];
        let qmia = result
            .procurement(Mechanism::Auction(Auction::Qmia))
            .expect("qmia ran");
        let volume = result
            .procurement(Mechanism::Auction(Auction::Volume))
            .expect("volume ran");
        let MarketPopulation::Procurement(population) = procurement_cell(7).market else {
            unreachable!("a procurement cell")
        };
        for (replicate, (qmia, volume)) in (0u64..).zip(qmia.iter().zip(&volume)) {
            let truth = population.draw(cell_seed(5, 4), replicate);
            let outcome = procurement::clear(&truth, Auction::Qmia).expect("clears");
            assert_eq!(qmia.value, outcome.value());
            assert_eq!(qmia.cash, outcome.total_cash());
            assert_eq!(qmia.winners, outcome.awards().len() as u64);
            assert_eq!(qmia.budget, truth.budget());
            assert_eq!(qmia.br_rounds, None, "qmia is not strategic");
            assert_eq!(qmia.unilateral_gain, None, "the cell does not audit");
            // Volume best-responds: its rounds are recorded.
            assert!(volume
                .br_rounds
                .is_some_and(|rounds| (1..=3).contains(&rounds)));
            assert!(volume.br_converged.is_some());
        }
        for record in result.records().iter().flatten() {
            let record = record.procurement().expect("a procurement record");
            assert_eq!(record.ir_violations, 0, "IR");
            assert!(record.budget_ok, "budget");
        }
    }

    #[test]
    fn columns_read_the_typed_fields() {
        let result = &run(&[(0, threshold_cell())], 4, 1, &|| {}).expect("runs")[0];
        let leakage = result.columns().iter().position(|c| *c == "leakage");
        let null = result.columns().iter().position(|c| *c == "null");
        let (Some(leakage), Some(null)) = (leakage, null) else {
            panic!("threshold columns: {:?}", result.columns())
        };
        let subsidy = result.threshold(Mechanism::Subsidy).expect("subsidy ran");
        let column = result.column(0, leakage).expect("a column");
        assert_eq!(
            column,
            subsidy.iter().map(|r| Some(r.leakage)).collect::<Vec<_>>()
        );
        assert_eq!(result.column(0, null), Some(vec![None; 4]), "subsidy");
        assert!(result
            .column(1, null)
            .expect("a column")
            .iter()
            .all(Option::is_some));
        assert_eq!(result.column(2, 0), None);
        assert_eq!(result.column(0, 8), None);
        assert_eq!(result.procurement(Mechanism::Subsidy), None);
    }

    #[test]
    fn cell_results_refuse_records_of_the_wrong_shape() {
        let threshold = Record::Threshold(ThresholdRecord {
            feasible: None,
            null: None,
            collected: 0.0,
            success: 0.0,
            expected_data: 0.0,
            participants: 0.0,
            spend: 0.0,
            leakage: 0.0,
        });
        let procurement = Record::Procurement(ProcurementRecord {
            value: 0.0,
            cash: 0.0,
            tokens: 0.0,
            winners: 0,
            volume: 0.0,
            ir_violations: 0,
            budget_ok: true,
            br_rounds: None,
            br_converged: None,
            unilateral_gain: None,
            coalition_gain: None,
            budget: 1.0,
        });
        let qmia = Mechanism::Auction(Auction::Qmia);
        let volume = Mechanism::Auction(Auction::Volume);
        let new = |mechanisms: &[Mechanism], records: Vec<Vec<Record>>| {
            CellResult::new(0, Market::Procurement, mechanisms.to_vec(), records)
                .expect_err("refused")
                .to_string()
        };
        assert_eq!(
            new(
                &[qmia, volume],
                vec![vec![procurement; 2], vec![procurement, threshold]]
            ),
            "records[1]: the record of volume is not a procurement record"
        );
        assert_eq!(
            new(
                &[qmia, volume],
                vec![
                    vec![procurement; 2],
                    vec![procurement; 2],
                    vec![procurement]
                ]
            ),
            "records[2]: 1 mechanism records for 2 mechanisms"
        );
        assert_eq!(
            new(&[qmia, qmia], vec![]),
            "mechanisms: qmia is listed twice"
        );
        assert_eq!(
            new(&[Mechanism::Subsidy], vec![]),
            "mechanisms: subsidy does not run on this market"
        );
        let empty = CellResult::new(7, Market::Threshold, vec![Mechanism::Subsidy], vec![])
            .expect("no replicates");
        assert_eq!((empty.cell(), empty.records().len()), (7, 0));
        assert_eq!(empty.threshold(Mechanism::Subsidy), Some(vec![]));
    }

    #[test]
    fn cells_refuse_mechanisms_that_cannot_run() {
        let MarketPopulation::Threshold(population) = threshold_cell().market else {
            unreachable!()
        };
        let market = MarketPopulation::Threshold(population);
        let error = |names: &[&str]| {
            let mechanisms = names.iter().map(|n| n.parse().expect("known")).collect();
            Cell::new(market.clone(), mechanisms)
                .expect_err("refused")
                .to_string()
        };
        assert!(error(&["qmia"]).contains("does not run on this market"));
        assert!(error(&["subsidy", "subsidy"]).contains("listed twice"));
        assert!(error(&[]).contains("empty"));
        assert!("withdrawal-sideways".parse::<Mechanism>().is_err());
        let bad = BestResponseConfig::default_grid().with_markups(vec![0.0]);
        let message = bad.expect_err("refused").to_string();
        assert!(message.starts_with("markups[0]"), "{message}");
        let huge = BestResponseConfig::default_grid().with_claim_steps(100_000_000_000);
        let message = huge.expect_err("refused").to_string();
        assert!(
            message.starts_with("claim_steps: 100000000000 is more than"),
            "{message}"
        );
        let threshold = threshold_cell().with_audit(AuditConfig::sampled());
        assert_eq!(
            threshold.expect_err("refused").to_string(),
            "audit: threshold experiments cannot be audited (subsidy users report nothing)"
        );
    }

    #[test]
    fn shards_partition_the_cells() {
        for (text, cells) in [
            ("1/1", vec![0, 1, 2, 3]),
            ("1/3", vec![0, 3]),
            ("3/3", vec![2]),
        ] {
            let shard: Shard = text.parse().expect("a shard");
            assert_eq!(shard.cells(4).collect::<Vec<_>>(), cells, "{text}");
            assert_eq!(shard.to_string(), text);
        }
        let error = |text: &str| text.parse::<Shard>().expect_err("refused").to_string();
        assert_eq!(error("2"), "\"2\" is not I/N, e.g. 2/8");
        assert_eq!(error("a/2"), "\"a/2\" is not I/N with whole numbers");
        assert_eq!(error("0/2"), "\"0/2\": need 1 ≤ I ≤ N");
        assert_eq!(error("3/2"), "\"3/2\": need 1 ≤ I ≤ N");
        assert_eq!(
            Shard::new(1, 0),
            Err(ShardError::OutOfRange("1/0".to_owned()))
        );
        assert_eq!(Shard::new(1, 1), Ok(Shard::WHOLE));
    }
}
