//! Monte-Carlo experiments: draw many instances from a population, clear
//! each with several mechanisms, and record what happened
//! (`procura experiment`).
//!
//! An experiment is a list of [`Cell`]s, one per point of a parameter grid,
//! each run for the same number of replicates. Each cell has an index (of
//! its records) and an *instance stream* s ([`CellIndex`]). Replicate r of
//! the cell draws its instance from its own ChaCha8 stream, seeded by
//! [`cell_seed`]`(seed, s)` on stream r, and every mechanism of the cell
//! clears that same instance (common random numbers, so that mechanisms are
//! compared pairwise). Cells that share a stream see the same instances:
//! a design gives the same stream to cells that differ only in how the
//! instances are cleared or audited ([`design`]), so that they are
//! compared pairwise too. Nothing else is random.
//!
//! **The records of a cell depend only on (seed, instance stream, cell,
//! replicate), not on the thread count, nor on which other cells run**:
//! that is what makes `--shard i/n` and `procura merge` give the same
//! bytes as one run.
//!
//! Each record is a typed [`Record`] ([`ProcurementRecord`] or
//! [`ThresholdRecord`]), with `None` where a field does not apply (for
//! example best-response rounds of a truthful mechanism); [`record`] holds
//! the one table of their columns. [`statistics`] summarises them,
//! [`claims`] judges the claims of spec §B.5 on them; with the `serde`
//! feature, `design` reads an experiment file (TOML) into cells,
//! `results_csv` writes records as `results.csv` and reads (and merges)
//! the tables of sharded runs back, and `reproduce` runs and judges the
//! shipped experiments.
//!
//! ```
//! use procura_lab::experiment::{run, Cell, CellIndex, MarketPopulation};
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
//! let results = run(&[(CellIndex::own(0), cell)], 10, 42, &|| {})?;
//! let records = results[0].procurement(Auction::Qmia).expect("qmia ran");
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
#[cfg(feature = "serde")]
pub mod results_csv;
pub mod statistics;

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use rayon::prelude::*;

pub use crate::limits::MAX_SHARDS;
pub use crate::seed::cell_seed;
pub use record::{Column, ProcurementRecord, Record, RecordError, ThresholdRecord};
pub use statistics::{summarize, summary_rows, Summary, SummaryRow, SUMMARY_COLUMNS};

use procura_audit::{audit, best_response_dynamics, AuditConfig, BestResponseConfig};
use procura_mechanisms::procurement::{self, Auction, Instance, Outcome};
use procura_mechanisms::threshold::{subsidy, withdrawal, Protocol, ThresholdInstance};
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
/// 1 ≤ I ≤ N ≤ [`MAX_SHARDS`] always holds.
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
    /// N is above [`MAX_SHARDS`].
    #[error("{0:?}: N is above the limit of {MAX_SHARDS} shards")]
    TooMany(String),
}

impl Shard {
    /// The whole experiment, as one shard: 1/1.
    pub const WHOLE: Shard = Shard { index: 1, count: 1 };

    /// Shard `index` (1-based) of `count`; fails unless 1 ≤ index ≤
    /// count ≤ [`MAX_SHARDS`].
    pub fn new(index: u64, count: u64) -> Result<Shard, ShardError> {
        if count > MAX_SHARDS {
            return Err(ShardError::TooMany(format!("{index}/{count}")));
        }
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
        Shard::new(index, count).map_err(|error| match error {
            ShardError::TooMany(_) => ShardError::TooMany(text.to_owned()),
            _ => ShardError::OutOfRange(text.to_owned()),
        })
    }
}

/// A mechanism of the threshold market (Part B): what a threshold cell
/// clears its instances with, so that a threshold cell cannot hold an
/// auction (nor a procurement cell, which holds [`Auction`]s, a threshold
/// mechanism).
///
/// ```
/// use procura_lab::experiment::ThresholdMechanism;
/// use procura_mechanisms::{procurement::Auction, threshold::Protocol, Mechanism};
///
/// let small_first = ThresholdMechanism::Withdrawal(Protocol::SmallFirst);
/// assert_eq!(Mechanism::from(small_first).to_string(), "withdrawal-small-first");
/// assert_eq!(ThresholdMechanism::of(Mechanism::Subsidy), Some(ThresholdMechanism::Subsidy));
/// assert_eq!(ThresholdMechanism::of(Mechanism::Auction(Auction::Qmia)), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ThresholdMechanism {
    /// The posted subsidy (§B.2).
    Subsidy,
    /// Withdrawal rights (§B.3) played under a protocol (§B.4).
    Withdrawal(Protocol),
}

impl ThresholdMechanism {
    /// The threshold mechanism `mechanism` is, if it is one.
    #[must_use]
    pub fn of(mechanism: Mechanism) -> Option<ThresholdMechanism> {
        match mechanism {
            Mechanism::Subsidy => Some(ThresholdMechanism::Subsidy),
            Mechanism::Withdrawal(protocol) => Some(ThresholdMechanism::Withdrawal(protocol)),
            Mechanism::Auction(_) => None,
        }
    }
}

impl From<ThresholdMechanism> for Mechanism {
    fn from(mechanism: ThresholdMechanism) -> Mechanism {
        match mechanism {
            ThresholdMechanism::Subsidy => Mechanism::Subsidy,
            ThresholdMechanism::Withdrawal(protocol) => Mechanism::Withdrawal(protocol),
        }
    }
}

impl fmt::Display for ThresholdMechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Mechanism::from(*self).fmt(f)
    }
}

/// The auction `mechanism` is, if it is one.
fn auction_of(mechanism: Mechanism) -> Option<Auction> {
    match mechanism {
        Mechanism::Auction(auction) => Some(auction),
        Mechanism::Subsidy | Mechanism::Withdrawal(_) => None,
    }
}

/// The mechanisms of a cell, checked in order: each of the market
/// (`typed`), not repeated, given what it needs (`needs`: the problem, if
/// any). Fails on the first problem, and on an empty list.
fn checked<M: Copy + PartialEq>(
    mechanisms: Vec<Mechanism>,
    typed: fn(Mechanism) -> Option<M>,
    needs: impl Fn(M) -> Option<&'static str>,
) -> Result<Vec<M>, ExperimentError> {
    if mechanisms.is_empty() {
        return Err(ExperimentError::Mechanisms("the list is empty".to_owned()));
    }
    typed_list(mechanisms, typed, needs)
}

/// [`checked`], empty lists allowed.
fn typed_list<M: Copy + PartialEq>(
    mechanisms: Vec<Mechanism>,
    typed: fn(Mechanism) -> Option<M>,
    needs: impl Fn(M) -> Option<&'static str>,
) -> Result<Vec<M>, ExperimentError> {
    let mut list = Vec::with_capacity(mechanisms.len());
    for mechanism in mechanisms {
        let problem = |problem: &str| ExperimentError::Mechanism {
            mechanism: mechanism.to_string(),
            problem: problem.to_owned(),
        };
        let Some(one) = typed(mechanism) else {
            return Err(problem("does not run on this market"));
        };
        // Every mechanism before is in `list` (or the loop has returned).
        if list.contains(&one) {
            return Err(ExperimentError::Mechanisms(format!(
                "{mechanism} is listed twice"
            )));
        }
        if let Some(missing) = needs(one) {
            return Err(problem(missing));
        }
        list.push(one);
    }
    Ok(list)
}

/// One point of an experiment's grid: a population and the mechanisms of
/// its market that clear its instances. A procurement cell holds
/// [`Auction`]s, a threshold cell [`ThresholdMechanism`]s, so a cell
/// cannot hold a mechanism of the other market.
///
/// Both kinds are built by validating constructors ([`Cell::new`],
/// [`ProcurementCell::new`], [`ThresholdCell::new`]), so every mechanism
/// of a cell has what it needs to clear the cell's instances.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// A procurement cell (Part A).
    Procurement(ProcurementCell),
    /// A threshold cell (Part B).
    Threshold(ThresholdCell),
}

/// A procurement cell: a population, the auctions that clear each of its
/// instances, and optionally an audit and best-responding providers.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcurementCell {
    population: Population,
    auctions: Vec<Auction>,
    audit: Option<AuditConfig>,
    /// Shared by the cells of a design that do not sweep `[strategic]`.
    strategic: Option<Arc<Strategic>>,
}

/// A threshold cell: a population and the threshold mechanisms that
/// clear each of its instances.
#[derive(Debug, Clone, PartialEq)]
pub struct ThresholdCell {
    population: ThresholdPopulation,
    mechanisms: Vec<ThresholdMechanism>,
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
    /// Fails when the list is empty, or a mechanism is repeated, does not
    /// fit the market, or needs a key the population lacks (MUT a token
    /// budget, the subsidy a payment and a floor, withdrawal rights a
    /// reserve price): the first problem in list order.
    pub fn new(
        market: MarketPopulation,
        mechanisms: Vec<Mechanism>,
    ) -> Result<Cell, ExperimentError> {
        Ok(match market {
            MarketPopulation::Procurement(population) => {
                let auctions = checked(mechanisms, auction_of, |auction| {
                    ProcurementCell::needs(&population, auction)
                })?;
                Cell::Procurement(ProcurementCell::unchecked(population, auctions))
            }
            MarketPopulation::Threshold(population) => {
                let typed = checked(mechanisms, ThresholdMechanism::of, |mechanism| {
                    ThresholdCell::needs(&population, mechanism)
                })?;
                Cell::Threshold(ThresholdCell {
                    population,
                    mechanisms: typed,
                })
            }
        })
    }

    /// The same cell, also auditing every procurement instance with
    /// `config` ([`ProcurementCell::with_audit`]).
    ///
    /// Fails when the market is not procurement. (Every [`AuditConfig`]
    /// is within the auditor's limits: its setters check them.)
    pub fn with_audit(self, config: AuditConfig) -> Result<Cell, ExperimentError> {
        match self {
            Cell::Procurement(cell) => Ok(Cell::Procurement(cell.with_audit(config))),
            Cell::Threshold(_) => Err(ExperimentError::Strategic(
                "audit: threshold experiments cannot be audited (subsidy users report nothing)"
                    .to_owned(),
            )),
        }
    }

    /// The same cell with providers best-responding under
    /// `strategic.mechanisms` (each must be one of the cell's); fails when
    /// the market is not procurement.
    pub fn with_strategic(self, strategic: Strategic) -> Result<Cell, ExperimentError> {
        self.with_shared_strategic(Arc::new(strategic))
    }

    /// [`Cell::with_strategic`] with best responses shared with other
    /// cells (a design's cells share an unswept `[strategic]`).
    pub(crate) fn with_shared_strategic(
        self,
        strategic: Arc<Strategic>,
    ) -> Result<Cell, ExperimentError> {
        match self {
            Cell::Procurement(cell) => cell.with_shared_strategic(strategic).map(Cell::Procurement),
            Cell::Threshold(_) => Err(ExperimentError::Strategic(
                "strategic: best responses apply to procurement markets only".to_owned(),
            )),
        }
    }

    /// The market of the cell's population.
    #[must_use]
    pub fn market(&self) -> Market {
        match self {
            Cell::Procurement(_) => Market::Procurement,
            Cell::Threshold(_) => Market::Threshold,
        }
    }

    /// The mechanisms, in record order.
    #[must_use]
    pub fn mechanisms(&self) -> Vec<Mechanism> {
        match self {
            Cell::Procurement(cell) => cell
                .auctions
                .iter()
                .map(|a| Mechanism::Auction(*a))
                .collect(),
            Cell::Threshold(cell) => cell
                .mechanisms
                .iter()
                .map(|m| Mechanism::from(*m))
                .collect(),
        }
    }

    /// The audit run on every instance, if any (its seed is replaced per
    /// replicate); `None` for a threshold cell.
    #[must_use]
    pub fn audit(&self) -> Option<&AuditConfig> {
        match self {
            Cell::Procurement(cell) => cell.audit(),
            Cell::Threshold(_) => None,
        }
    }

    /// The best-responding providers, if any; `None` for a threshold cell.
    #[must_use]
    pub fn strategic(&self) -> Option<&Strategic> {
        match self {
            Cell::Procurement(cell) => cell.strategic(),
            Cell::Threshold(_) => None,
        }
    }
}

impl From<ProcurementCell> for Cell {
    fn from(cell: ProcurementCell) -> Cell {
        Cell::Procurement(cell)
    }
}

impl From<ThresholdCell> for Cell {
    fn from(cell: ThresholdCell) -> Cell {
        Cell::Threshold(cell)
    }
}

impl ProcurementCell {
    /// A cell that clears every instance of `population` with each of
    /// `auctions`, truthfully. Fails when the list is empty, an auction is
    /// repeated, or MUT runs on a population without a token budget.
    pub fn new(
        population: Population,
        auctions: Vec<Auction>,
    ) -> Result<ProcurementCell, ExperimentError> {
        let mechanisms: Vec<Mechanism> = auctions.into_iter().map(Mechanism::Auction).collect();
        let auctions = checked(mechanisms, auction_of, |auction| {
            ProcurementCell::needs(&population, auction)
        })?;
        Ok(ProcurementCell::unchecked(population, auctions))
    }

    /// A truthful, unaudited cell of auctions already checked.
    fn unchecked(population: Population, auctions: Vec<Auction>) -> ProcurementCell {
        ProcurementCell {
            population,
            auctions,
            audit: None,
            strategic: None,
        }
    }

    /// What `auction` needs that `population` lacks, if anything.
    fn needs(population: &Population, auction: Auction) -> Option<&'static str> {
        (auction == Auction::Mut && population.spec().token_budget_fraction.is_none())
            .then_some("needs token_budget_fraction")
    }

    /// The same cell, also auditing every instance with `config` (its
    /// seed is replaced by one derived per replicate) and recording the
    /// largest profitable unilateral and coalition gains.
    #[must_use]
    pub fn with_audit(self, config: AuditConfig) -> ProcurementCell {
        ProcurementCell {
            audit: Some(config),
            ..self
        }
    }

    /// The same cell with providers best-responding under
    /// `strategic.mechanisms`; fails unless each is one of the cell's.
    pub fn with_strategic(self, strategic: Strategic) -> Result<ProcurementCell, ExperimentError> {
        self.with_shared_strategic(Arc::new(strategic))
    }

    fn with_shared_strategic(
        self,
        strategic: Arc<Strategic>,
    ) -> Result<ProcurementCell, ExperimentError> {
        for (i, mechanism) in strategic.mechanisms.iter().enumerate() {
            if !self.auctions.contains(mechanism) {
                return Err(ExperimentError::Strategic(format!(
                    "strategic.mechanisms[{i}]: {mechanism} is not one of the experiment's mechanisms"
                )));
            }
        }
        Ok(ProcurementCell {
            strategic: Some(strategic),
            ..self
        })
    }

    /// The population.
    #[must_use]
    pub fn population(&self) -> &Population {
        &self.population
    }

    /// The auctions, in record order.
    #[must_use]
    pub fn auctions(&self) -> &[Auction] {
        &self.auctions
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
        self.strategic.as_deref()
    }

    /// The records of replicate `replicate`, drawn with `seed` (the cell's
    /// seed): one per auction, in the cell's order.
    ///
    /// Fails with [`ExperimentError::Clear`] when an auction cannot clear
    /// the instance, which [`ProcurementCell::new`] rules out (a bug).
    pub fn replicate(
        &self,
        seed: u64,
        replicate: u64,
    ) -> Result<Vec<ProcurementRecord>, ExperimentError> {
        let truth = self.population.draw(seed, replicate);
        let audit_config = self
            .audit
            .as_ref()
            .map(|config| config.clone().with_seed(instance_seed(seed, replicate)));
        self.auctions
            .iter()
            .map(|&auction| {
                let strategic = self
                    .strategic
                    .as_ref()
                    .filter(|s| s.mechanisms.contains(&auction))
                    .map(|s| &s.config);
                procurement_record(auction, &truth, strategic, audit_config.as_ref()).map_err(
                    |problem| ExperimentError::Clear {
                        replicate,
                        mechanism: Mechanism::Auction(auction),
                        problem,
                    },
                )
            })
            .collect()
    }
}

impl ThresholdCell {
    /// A cell that clears every instance of `population` with each of
    /// `mechanisms`. Fails when the list is empty, a mechanism is
    /// repeated, or needs a key the population lacks (the subsidy a
    /// payment and a floor, withdrawal rights a reserve price).
    pub fn new(
        population: ThresholdPopulation,
        mechanisms: Vec<ThresholdMechanism>,
    ) -> Result<ThresholdCell, ExperimentError> {
        let names: Vec<Mechanism> = mechanisms.into_iter().map(Mechanism::from).collect();
        let mechanisms = checked(names, ThresholdMechanism::of, |mechanism| {
            ThresholdCell::needs(&population, mechanism)
        })?;
        Ok(ThresholdCell {
            population,
            mechanisms,
        })
    }

    /// What `mechanism` needs that `population` lacks, if anything.
    fn needs(
        population: &ThresholdPopulation,
        mechanism: ThresholdMechanism,
    ) -> Option<&'static str> {
        let spec = population.spec();
        match mechanism {
            ThresholdMechanism::Subsidy => (spec.payment.is_none() || spec.floor.is_none())
                .then_some("needs payment and floor"),
            ThresholdMechanism::Withdrawal(_) => spec
                .reserve_price
                .is_none()
                .then_some("needs reserve_price"),
        }
    }

    /// The population.
    #[must_use]
    pub fn population(&self) -> &ThresholdPopulation {
        &self.population
    }

    /// The mechanisms, in record order.
    #[must_use]
    pub fn mechanisms(&self) -> &[ThresholdMechanism] {
        &self.mechanisms
    }

    /// The records of replicate `replicate`, drawn with `seed` (the cell's
    /// seed): one per mechanism, in the cell's order.
    ///
    /// Fails with [`ExperimentError::Clear`] when a mechanism cannot clear
    /// the instance, which [`ThresholdCell::new`] rules out (a bug).
    pub fn replicate(
        &self,
        seed: u64,
        replicate: u64,
    ) -> Result<Vec<ThresholdRecord>, ExperimentError> {
        let instance = self.population.draw(seed, replicate);
        // `None` without a reserve price: feasibility does not apply.
        let feasible = withdrawal::is_feasible(&instance).ok();
        self.mechanisms
            .iter()
            .map(|&mechanism| {
                threshold_record(mechanism, &instance, feasible).map_err(|problem| {
                    ExperimentError::Clear {
                        replicate,
                        mechanism: mechanism.into(),
                        problem,
                    }
                })
            })
            .collect()
    }
}

/// The records of one market's cell: for each replicate, one record per
/// mechanism, each mechanism once. `M` is the market's mechanism type
/// ([`Auction`] or [`ThresholdMechanism`]), `R` its record type.
///
/// Its shape is checked on construction ([`MarketRecords::new`]), so the
/// accessors never fail on it.
#[derive(Debug, Clone, PartialEq)]
pub struct MarketRecords<M, R> {
    /// The mechanisms, in record order, each once.
    mechanisms: Vec<M>,
    /// `records[replicate][mechanism]`.
    records: Vec<Vec<R>>,
}

impl<M: Copy + PartialEq + fmt::Display, R> MarketRecords<M, R> {
    /// The records `records[replicate][mechanism]` of `mechanisms`.
    ///
    /// Fails when a mechanism is listed twice
    /// ([`ExperimentError::Mechanisms`]) or, naming the replicate
    /// ([`ExperimentError::Records`]), when a replicate does not have
    /// exactly one record per mechanism.
    pub fn new(mechanisms: Vec<M>, records: Vec<Vec<R>>) -> Result<Self, ExperimentError> {
        for (i, mechanism) in mechanisms.iter().enumerate() {
            if mechanisms[..i].contains(mechanism) {
                return Err(ExperimentError::Mechanisms(format!(
                    "{mechanism} is listed twice"
                )));
            }
        }
        if let Some((record, rows)) = records
            .iter()
            .enumerate()
            .find(|(_, rows)| rows.len() != mechanisms.len())
        {
            return Err(ExperimentError::Records {
                record,
                problem: format!(
                    "{} mechanism records for {} mechanisms",
                    rows.len(),
                    mechanisms.len()
                ),
            });
        }
        Ok(MarketRecords {
            mechanisms,
            records,
        })
    }

    /// The mechanisms, in record order.
    #[must_use]
    pub fn mechanisms(&self) -> &[M] {
        &self.mechanisms
    }

    /// `records()[replicate][mechanism]`: one record per mechanism in
    /// every replicate.
    #[must_use]
    pub fn records(&self) -> &[Vec<R>] {
        &self.records
    }

    /// Every replicate's record of `mechanism`, in replicate order; `None`
    /// when the cell does not run it.
    #[must_use]
    pub fn of(&self, mechanism: M) -> Option<Vec<&R>> {
        let index = self.mechanisms.iter().position(|m| *m == mechanism)?;
        // `new` checked that every replicate has a record per mechanism.
        Some(
            self.records
                .iter()
                .filter_map(|rows| rows.get(index))
                .collect(),
        )
    }
}

/// The records of a cell, typed by market.
#[derive(Debug, Clone, PartialEq)]
pub enum CellRecords {
    /// The records of a procurement cell, by auction.
    Procurement(MarketRecords<Auction, ProcurementRecord>),
    /// The records of a threshold cell, by threshold mechanism.
    Threshold(MarketRecords<ThresholdMechanism, ThresholdRecord>),
}

/// The records of one cell: for each replicate, one record per mechanism,
/// all of the cell's market ([`CellRecords`]).
#[derive(Debug, Clone, PartialEq)]
pub struct CellResult {
    /// The cell's index in the experiment's grid.
    cell: u64,
    records: CellRecords,
}

impl CellResult {
    /// The records `records[replicate][mechanism]` of cell `cell`, with
    /// `mechanisms` naming the records of each replicate: the untyped form
    /// (as read back from a table), checked and typed.
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
    /// assert_eq!((result.cell(), result.replicates()), (3, 2));
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
        let records = match market {
            Market::Procurement => CellRecords::Procurement(typed_records(
                market,
                mechanisms,
                records,
                auction_of,
                |record| record.procurement().copied(),
            )?),
            Market::Threshold => CellRecords::Threshold(typed_records(
                market,
                mechanisms,
                records,
                ThresholdMechanism::of,
                |record| record.threshold().copied(),
            )?),
        };
        Ok(CellResult { cell, records })
    }

    /// The typed records `records` of cell `cell`.
    #[must_use]
    pub fn from_records(cell: u64, records: CellRecords) -> CellResult {
        CellResult { cell, records }
    }

    /// The cell's index in the experiment's grid.
    #[must_use]
    pub fn cell(&self) -> u64 {
        self.cell
    }

    /// The market of the cell's records.
    #[must_use]
    pub fn market(&self) -> Market {
        match self.records {
            CellRecords::Procurement(_) => Market::Procurement,
            CellRecords::Threshold(_) => Market::Threshold,
        }
    }

    /// The column names of the cell's records ([`Record::columns`]).
    #[must_use]
    pub fn columns(&self) -> &'static [&'static str] {
        Record::columns(self.market())
    }

    /// The typed records.
    #[must_use]
    pub fn records(&self) -> &CellRecords {
        &self.records
    }

    /// The mechanisms, in record order.
    #[must_use]
    pub fn mechanisms(&self) -> Vec<Mechanism> {
        match &self.records {
            CellRecords::Procurement(records) => records
                .mechanisms()
                .iter()
                .map(|a| Mechanism::Auction(*a))
                .collect(),
            CellRecords::Threshold(records) => records
                .mechanisms()
                .iter()
                .map(|m| Mechanism::from(*m))
                .collect(),
        }
    }

    /// The auctions of a procurement cell, in record order; empty for a
    /// threshold cell.
    #[must_use]
    pub fn auctions(&self) -> &[Auction] {
        match &self.records {
            CellRecords::Procurement(records) => records.mechanisms(),
            CellRecords::Threshold(_) => &[],
        }
    }

    /// The mechanisms of a threshold cell, in record order; empty for a
    /// procurement cell.
    #[must_use]
    pub fn threshold_mechanisms(&self) -> &[ThresholdMechanism] {
        match &self.records {
            CellRecords::Threshold(records) => records.mechanisms(),
            CellRecords::Procurement(_) => &[],
        }
    }

    /// The number of replicates.
    #[must_use]
    pub fn replicates(&self) -> usize {
        match &self.records {
            CellRecords::Procurement(records) => records.records().len(),
            CellRecords::Threshold(records) => records.records().len(),
        }
    }

    /// Each replicate's records, in replicate order, each a [`Record`] per
    /// mechanism in record order.
    #[must_use]
    pub fn rows(&self) -> Box<dyn Iterator<Item = Vec<Record>> + '_> {
        match &self.records {
            CellRecords::Procurement(records) => Box::new(
                records
                    .records()
                    .iter()
                    .map(|row| row.iter().copied().map(Record::Procurement).collect()),
            ),
            CellRecords::Threshold(records) => Box::new(
                records
                    .records()
                    .iter()
                    .map(|row| row.iter().copied().map(Record::Threshold).collect()),
            ),
        }
    }

    /// Every replicate's record of `auction`, in replicate order; `None`
    /// when the cell does not run it (or is not a procurement cell).
    #[must_use]
    pub fn procurement(&self, auction: Auction) -> Option<Vec<&ProcurementRecord>> {
        match &self.records {
            CellRecords::Procurement(records) => records.of(auction),
            CellRecords::Threshold(_) => None,
        }
    }

    /// Every replicate's record of the threshold `mechanism`, in replicate
    /// order; `None` when the cell does not run it (or is not a threshold
    /// cell).
    #[must_use]
    pub fn threshold(&self, mechanism: ThresholdMechanism) -> Option<Vec<&ThresholdRecord>> {
        match &self.records {
            CellRecords::Threshold(records) => records.of(mechanism),
            CellRecords::Procurement(_) => None,
        }
    }

    /// Every replicate's field of `column` under mechanism number
    /// `mechanism`, in replicate order, `None` where it does not apply;
    /// `None` for a column of the other market or an unknown mechanism.
    #[must_use]
    pub fn column(&self, mechanism: usize, column: Column) -> Option<Vec<Option<f64>>> {
        fn read<M, R: Copy>(
            records: &MarketRecords<M, R>,
            mechanism: usize,
            field: impl Fn(R) -> Option<f64>,
        ) -> Option<Vec<Option<f64>>> {
            (mechanism < records.mechanisms.len()).then(|| {
                records
                    .records
                    .iter()
                    .map(|rows| rows.get(mechanism).and_then(|record| field(*record)))
                    .collect()
            })
        }
        if column.market() != self.market() {
            return None;
        }
        let index = column.index();
        match &self.records {
            CellRecords::Procurement(records) => {
                read(records, mechanism, |r| Record::Procurement(r).field(index))
            }
            CellRecords::Threshold(records) => {
                read(records, mechanism, |r| Record::Threshold(r).field(index))
            }
        }
    }
}

/// `records` of `mechanisms` (untyped, of `market`) typed by `mechanism`
/// and `record`: see [`CellResult::new`].
fn typed_records<M: Copy + PartialEq + fmt::Display, R>(
    market: Market,
    mechanisms: Vec<Mechanism>,
    records: Vec<Vec<Record>>,
    mechanism: fn(Mechanism) -> Option<M>,
    record: fn(Record) -> Option<R>,
) -> Result<MarketRecords<M, R>, ExperimentError> {
    let typed = typed_list(mechanisms, mechanism, |_| None)?;
    let mut rows = Vec::with_capacity(records.len());
    for (index, row) in records.into_iter().enumerate() {
        if row.len() != typed.len() {
            return Err(ExperimentError::Records {
                record: index,
                problem: format!(
                    "{} mechanism records for {} mechanisms",
                    row.len(),
                    typed.len()
                ),
            });
        }
        let row = row
            .into_iter()
            .zip(&typed)
            .map(|(one, name)| {
                record(one).ok_or_else(|| ExperimentError::Records {
                    record: index,
                    problem: format!("the record of {name} is not a {} record", market.name()),
                })
            })
            .collect::<Result<Vec<R>, _>>()?;
        rows.push(row);
    }
    MarketRecords::new(typed, rows)
}

/// Where a cell sits in a run: the index its records carry, and the
/// instance stream its replicates draw from.
///
/// Replicate r of a cell with stream s draws its instance (and its audit's
/// samples) from [`cell_seed`]`(seed, s)`, so cells with the same stream
/// and population see the same instances: common random numbers across
/// cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellIndex {
    /// The cell's index in its experiment ([`CellResult::cell`]).
    pub cell: u64,
    /// The instance stream it draws from.
    pub stream: u64,
}

impl CellIndex {
    /// Cell `cell` drawing from its own stream, `cell`.
    #[must_use]
    pub fn own(cell: u64) -> CellIndex {
        CellIndex { cell, stream: cell }
    }
}

/// Runs `replicates` replicates of each `(index, cell)` in parallel and
/// returns their records, cell by cell in the order given. `progress` is
/// called once per replicate run, from any thread.
///
/// **The result does not depend on the number of threads**: every
/// replicate is a pure function of (seed, stream, replicate), and rayon's
/// indexed collect keeps the order. A mechanism that fails to clear (a
/// bug: the cells' constructors check what each needs) fails the run with
/// [`ExperimentError::Cell`]: the first failure in (cell, replicate)
/// order, whatever the thread count. A failure stops the run early: the
/// replicates after it in that order are not started (those already
/// running finish), while every one before it still runs, which is what
/// makes the reported failure the first.
pub fn run(
    cells: &[(CellIndex, Cell)],
    replicates: u64,
    seed: u64,
    progress: &(dyn Fn() + Sync),
) -> Result<Vec<CellResult>, ExperimentError> {
    let first = FirstFailure::new();
    let results: Vec<Option<CellResult>> = cells
        .par_iter()
        .enumerate()
        .map(|(position, (index, cell))| {
            let seed = cell_seed(seed, index.stream);
            let at = Place {
                first: &first,
                position,
                cell: index.cell,
                replicates,
                progress,
            };
            let records = match cell {
                Cell::Procurement(cell) => CellRecords::Procurement(MarketRecords {
                    mechanisms: cell.auctions.clone(),
                    records: at.run(|replicate| cell.replicate(seed, replicate))?,
                }),
                Cell::Threshold(cell) => CellRecords::Threshold(MarketRecords {
                    mechanisms: cell.mechanisms.clone(),
                    records: at.run(|replicate| cell.replicate(seed, replicate))?,
                }),
            };
            // Every replicate has a record per mechanism of the cell, each
            // mechanism once (the cells' constructors check): the shape
            // `MarketRecords::new` checks.
            Some(CellResult {
                cell: index.cell,
                records,
            })
        })
        .collect();
    if let Some(error) = first.into_error() {
        return Err(error);
    }
    // No failure, so no replicate was skipped and every cell is here.
    Ok(results.into_iter().flatten().collect())
}

/// The first failure of a run in (cell, replicate) order, as far as known.
struct FirstFailure {
    /// The smallest position (in the list of cells) of a cell with a
    /// failure; `usize::MAX` while there is none.
    cell: AtomicUsize,
    /// The failure of smallest (position, replicate) so far.
    error: Mutex<Option<(usize, u64, ExperimentError)>>,
}

impl FirstFailure {
    fn new() -> FirstFailure {
        FirstFailure {
            cell: AtomicUsize::new(usize::MAX),
            error: Mutex::new(None),
        }
    }

    /// Whether a cell before `position` has failed.
    fn before(&self, position: usize) -> bool {
        self.cell.load(Ordering::Relaxed) < position
    }

    /// Records the failure of replicate `replicate` of the cell at
    /// `position`, kept if it is the first so far.
    fn record(&self, position: usize, replicate: u64, error: ExperimentError) {
        self.cell.fetch_min(position, Ordering::Relaxed);
        let mut first = self.error.lock().unwrap_or_else(PoisonError::into_inner);
        if first
            .as_ref()
            .is_none_or(|(p, r, _)| (position, replicate) < (*p, *r))
        {
            *first = Some((position, replicate, error));
        }
    }

    /// The first failure, if any.
    fn into_error(self) -> Option<ExperimentError> {
        let first = self
            .error
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        first.map(|(_, _, error)| error)
    }
}

/// One cell of a run: where it is, and what it reports to.
struct Place<'a> {
    first: &'a FirstFailure,
    position: usize,
    cell: u64,
    replicates: u64,
    progress: &'a (dyn Fn() + Sync),
}

impl Place<'_> {
    /// The records of each replicate, by `replicate`, in replicate order;
    /// `None` when one failed or was skipped (a failure came before it in
    /// (cell, replicate) order).
    ///
    /// A replicate is skipped only after a failure that comes before it:
    /// in an earlier cell, or earlier in this one. So every replicate
    /// before the first failure runs, and so does the first failure.
    fn run<R: Send>(
        &self,
        replicate: impl Fn(u64) -> Result<R, ExperimentError> + Sync,
    ) -> Option<Vec<R>> {
        let first_here = AtomicU64::new(u64::MAX);
        let rows: Vec<Option<R>> = (0..self.replicates)
            .into_par_iter()
            .map(|r| {
                if self.first.before(self.position) || first_here.load(Ordering::Relaxed) < r {
                    return None;
                }
                let records = replicate(r);
                (self.progress)();
                match records {
                    Ok(records) => Some(records),
                    Err(error) => {
                        first_here.fetch_min(r, Ordering::Relaxed);
                        let error = ExperimentError::Cell {
                            cell: self.cell,
                            error: Box::new(error),
                        };
                        self.first.record(self.position, r, error);
                        None
                    }
                }
            })
            .collect();
        rows.into_iter().collect()
    }
}

/// The records of replicate `replicate` of `cell`, drawn with `seed` (the
/// cell's seed): one per mechanism, in the cell's order
/// ([`ProcurementCell::replicate`], [`ThresholdCell::replicate`]).
///
/// Fails with [`ExperimentError::Clear`] when a mechanism cannot clear the
/// instance, which the cells' constructors rule out (a bug).
pub fn run_replicate(
    cell: &Cell,
    seed: u64,
    replicate: u64,
) -> Result<Vec<Record>, ExperimentError> {
    Ok(match cell {
        Cell::Procurement(cell) => cell
            .replicate(seed, replicate)?
            .into_iter()
            .map(Record::Procurement)
            .collect(),
        Cell::Threshold(cell) => cell
            .replicate(seed, replicate)?
            .into_iter()
            .map(Record::Threshold)
            .collect(),
    })
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
    /// Whether every budget was kept ([`Auction::budgets_kept`]).
    budget_ok: bool,
}

/// Judges an outcome against the true costs of `truth`. Budgets, quality
/// and utility are not reports, so they are the same in `truth` and in any
/// reported instance.
fn judge_outcome(mechanism: Auction, truth: &Instance, outcome: &Outcome) -> Judged {
    // A MUT share τ is worth R·τ/Π; Mixed-MIA's tokens at face value.
    let tokens = match mechanism {
        Auction::Mut => procurement::mut_token::token_value(truth, outcome.total_tokens()),
        _ => outcome.total_tokens(),
    };
    let volume = outcome
        .winners()
        .filter_map(|index| truth.providers().get(index))
        .map(procurement::Provider::volume)
        .fold(0.0, |total, volume| total + volume);
    Judged {
        tokens,
        volume,
        ir_violations: mechanism.ir_violations(truth, outcome) as u64,
        budget_ok: mechanism.budgets_kept(truth, outcome),
    }
}

/// One threshold record: `mechanism` cleared on `instance`, whose
/// feasibility ([`withdrawal::is_feasible`]) is `feasible`.
fn threshold_record(
    mechanism: ThresholdMechanism,
    instance: &ThresholdInstance,
    feasible: Option<bool>,
) -> Result<ThresholdRecord, String> {
    match mechanism {
        ThresholdMechanism::Subsidy => {
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
        ThresholdMechanism::Withdrawal(protocol) => {
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
    }
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
            .rows()
            .flatten()
            .flat_map(|record| record.fields())
            .map(|field| field.map(f64::to_bits))
            .collect()
    }

    #[test]
    fn a_cell_gives_the_same_records_alone_or_among_others() {
        let cells = [
            (CellIndex::own(0), procurement_cell(6)),
            (CellIndex::own(1), threshold_cell()),
            (CellIndex::own(2), procurement_cell(9)),
        ];
        let together = run(&cells, 5, 99, &|| {}).expect("runs");
        for (position, cell) in cells.iter().enumerate() {
            let alone = run(std::slice::from_ref(cell), 5, 99, &|| {}).expect("runs");
            assert_eq!(bits(&alone[0]), bits(&together[position]));
            assert_eq!(alone[0].cell(), cell.0.cell);
        }
        assert_ne!(
            together[0].records(),
            together[2].records(),
            "cells draw different streams"
        );
    }

    #[test]
    fn records_follow_the_outcomes() {
        let result =
            &run(&[(CellIndex::own(4), procurement_cell(7))], 8, 5, &|| {}).expect("runs")[0];
        let qmia = result.procurement(Auction::Qmia).expect("qmia ran");
        let volume = result.procurement(Auction::Volume).expect("volume ran");
        let Cell::Procurement(cell) = procurement_cell(7) else {
            panic!("a procurement cell")
        };
        let population = cell.population();
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
        let CellRecords::Procurement(records) = result.records() else {
            panic!("procurement records")
        };
        for record in records.records().iter().flatten() {
            assert_eq!(record.ir_violations, 0, "IR");
            assert!(record.budget_ok, "budget");
        }
    }

    #[test]
    fn columns_read_the_typed_fields() {
        let result = &run(&[(CellIndex::own(0), threshold_cell())], 4, 1, &|| {}).expect("runs")[0];
        let subsidy = result
            .threshold(ThresholdMechanism::Subsidy)
            .expect("subsidy ran");
        let column = result.column(0, Column::LEAKAGE).expect("a column");
        assert_eq!(
            column,
            subsidy.iter().map(|r| Some(r.leakage)).collect::<Vec<_>>()
        );
        assert_eq!(
            result.column(0, Column::NULL),
            Some(vec![None; 4]),
            "subsidy"
        );
        assert!(result
            .column(1, Column::NULL)
            .expect("a column")
            .iter()
            .all(Option::is_some));
        assert_eq!(result.column(2, Column::NULL), None);
        assert_eq!(result.column(0, Column::VALUE), None, "another market's");
        assert_eq!(result.procurement(Auction::Qmia), None);
    }

    #[test]
    fn cell_results_refuse_records_of_the_wrong_shape() {
        let threshold = Record::Threshold(record::EMPTY_THRESHOLD);
        let procurement = Record::Procurement(record::EMPTY_PROCUREMENT);
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
        assert_eq!((empty.cell(), empty.replicates()), (7, 0));
        assert_eq!(empty.threshold(ThresholdMechanism::Subsidy), Some(vec![]));
        let typed =
            MarketRecords::<_, ProcurementRecord>::new(vec![Auction::Qmia, Auction::Qmia], vec![]);
        assert_eq!(
            typed.expect_err("refused").to_string(),
            "mechanisms: qmia is listed twice"
        );
        let short = MarketRecords::new(
            vec![Auction::Qmia],
            vec![vec![record::EMPTY_PROCUREMENT; 2]],
        );
        assert_eq!(
            short.expect_err("refused").to_string(),
            "records[0]: 2 mechanism records for 1 mechanisms"
        );
    }

    #[test]
    fn cells_refuse_mechanisms_that_cannot_run() {
        let Cell::Threshold(cell) = threshold_cell() else {
            panic!("a threshold cell")
        };
        let market = MarketPopulation::Threshold(cell.population().clone());
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
    fn typed_cells_check_what_each_mechanism_needs() {
        let Cell::Procurement(cell) = procurement_cell(5) else {
            panic!("a procurement cell")
        };
        let population = cell.population().clone();
        let auctions = ProcurementCell::new(population.clone(), vec![Auction::Qmia, Auction::Mut])
            .expect("valid");
        assert_eq!(auctions.auctions(), [Auction::Qmia, Auction::Mut]);
        let audited = auctions.with_audit(AuditConfig::sampled());
        assert!(audited.audit().is_some());
        let error = audited
            .with_strategic(Strategic {
                config: BestResponseConfig::default_grid(),
                mechanisms: vec![Auction::Trust],
            })
            .expect_err("trust does not run");
        assert_eq!(
            error.to_string(),
            "strategic.mechanisms[0]: trust is not one of the experiment's mechanisms"
        );
        let repeated = ProcurementCell::new(population, vec![Auction::Volume, Auction::Volume]);
        assert_eq!(
            repeated.expect_err("refused").to_string(),
            "mechanisms: volume is listed twice"
        );
        let Cell::Threshold(cell) = threshold_cell() else {
            panic!("a threshold cell")
        };
        let mut spec = cell.population().spec().clone();
        spec.reserve_price = None;
        let no_reserve = ThresholdPopulation::new(spec).expect("valid");
        let withdrawal = ThresholdMechanism::Withdrawal(Protocol::Simultaneous);
        let error = ThresholdCell::new(no_reserve.clone(), vec![withdrawal]);
        assert_eq!(
            error.expect_err("refused").to_string(),
            "mechanisms: withdrawal-simultaneous needs reserve_price"
        );
        let subsidy = ThresholdCell::new(no_reserve, vec![ThresholdMechanism::Subsidy])
            .expect("the subsidy needs no reserve");
        // Without a reserve price, feasibility does not apply.
        let records = subsidy.replicate(3, 0).expect("clears");
        assert_eq!(records[0].feasible, None);
        assert_eq!(Cell::from(subsidy).mechanisms(), [Mechanism::Subsidy]);
    }

    /// A cell whose MUT cannot clear: the constructors refuse it, so it is
    /// built unchecked, as a bug would.
    fn broken_cell() -> Cell {
        let Cell::Procurement(cell) = procurement_cell(4) else {
            panic!("a procurement cell")
        };
        let mut spec = cell.population().spec().clone();
        spec.token_budget_fraction = None;
        let population = Population::new(spec).expect("valid");
        Cell::Procurement(ProcurementCell::unchecked(
            population,
            vec![Auction::Qmia, Auction::Mut],
        ))
    }

    #[test]
    fn a_failing_replicate_fails_the_run_and_stops_it_early() {
        let cells = [
            (CellIndex::own(0), threshold_cell()),
            (CellIndex::own(3), broken_cell()),
            (CellIndex::own(4), procurement_cell(5)),
            (CellIndex::own(8), broken_cell()),
        ];
        let mut messages = Vec::new();
        for threads in [1, 2, 4] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("a pool");
            let ran = AtomicU64::new(0);
            let error = pool
                .install(|| {
                    run(&cells, 30, 7, &|| {
                        ran.fetch_add(1, Ordering::Relaxed);
                    })
                })
                .expect_err("mut cannot clear");
            messages.push(error.to_string());
            if threads == 1 {
                // Cell 0's replicates and the first failure; nothing after.
                assert_eq!(ran.load(Ordering::Relaxed), 31);
            }
        }
        assert!(
            messages[0].starts_with("cell 3: replicate 0: mut cannot clear its instance"),
            "{}",
            messages[0]
        );
        assert!(messages.iter().all(|m| *m == messages[0]), "{messages:?}");
    }

    #[test]
    fn the_first_failure_in_order_is_reported_whatever_the_timing() {
        for threads in [1, 2, 4] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("a pool");
            let first = FirstFailure::new();
            let outcomes: Vec<Option<Vec<u64>>> = pool.install(|| {
                (0..3usize)
                    .into_par_iter()
                    .map(|position| {
                        let place = Place {
                            first: &first,
                            position,
                            cell: 10 * position as u64,
                            replicates: 60,
                            progress: &|| {},
                        };
                        place.run(|replicate| {
                            // Later replicates finish first.
                            std::thread::sleep(std::time::Duration::from_micros(
                                (60 - replicate) * 20,
                            ));
                            if position > 0 && replicate % 7 == 5 {
                                Err(ExperimentError::Clear {
                                    replicate,
                                    mechanism: Mechanism::Subsidy,
                                    problem: "a bug".to_owned(),
                                })
                            } else {
                                Ok(replicate)
                            }
                        })
                    })
                    .collect()
            });
            assert_eq!(outcomes[0], Some((0..60).collect()));
            assert_eq!(outcomes[1], None);
            assert_eq!(
                first.into_error().map(|e| e.to_string()),
                Some("cell 10: replicate 5: subsidy cannot clear its instance: a bug".to_owned()),
                "{threads} threads"
            );
        }
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
