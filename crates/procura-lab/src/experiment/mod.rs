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
//! Each record is a row of [`MarketPopulation::metrics`] numbers, with
//! `NaN` where a metric does not apply (for example best-response rounds of a truthful
//! mechanism).
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
//! let cell = Cell::new(
//!     MarketPopulation::Procurement(population),
//!     vec![Mechanism::Auction(Auction::Qmia)],
//! )?;
//! let results = run(&[(0, cell)], 10, 42, &|| {});
//! let value = results[0].metric(0, "value").expect("a procurement metric");
//! assert_eq!(value.len(), 10);
//! assert!(value.iter().all(|v| *v > 0.0));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod claims;
mod summary;

use rayon::prelude::*;

pub use summary::{summarize, Summary};

use procura_audit::{audit, best_response_dynamics, AuditConfig, BestResponseConfig};
use procura_mechanisms::procurement::{self, Auction, Instance, Outcome};
use procura_mechanisms::threshold::{reaches, subsidy, withdrawal, ThresholdInstance};
use procura_mechanisms::tolerance::{at_most, ROUNDING_RELATIVE};
use procura_mechanisms::{Market, Mechanism};

use crate::population::{instance_seed, Population, PopulationError};
use crate::threshold_population::ThresholdPopulation;

/// The population a cell draws its instances from.
#[derive(Debug, Clone, PartialEq)]
pub enum MarketPopulation {
    /// Procurement auctions (Part A).
    Procurement(Population),
    /// Threshold contributions (Part B).
    Threshold(ThresholdPopulation),
}

/// Metrics of a procurement record, in column order.
///
/// - `value`: Σ q_i·μ_i over the winners (§A.2);
/// - `cash`, `tokens`: total cash, and tokens in cash-equivalent units
///   (a MUT share τ counts R·τ/Π);
/// - `winners`, `volume`: providers bought and their Σ volume;
/// - `ir_violations`: winners paid less than their true cost;
/// - `budget_ok`: 1 when cash ≤ B and tokens ≤ R, else 0;
/// - `br_rounds`, `br_converged`: best-response rounds and whether they
///   reached an equilibrium (strategic mechanisms only);
/// - `unilateral_gain`, `coalition_gain`: the auditor's largest
///   *profitable* gains on the truthful instance (only when the cell
///   audits): 0 when the best gain found is rounding by
///   [`procura_audit::is_profitable`], so that a DSIC mechanism records
///   exactly 0;
/// - `budget`: the instance's cash budget B, the same for every mechanism
///   of a replicate (the scale to read gains and spending against).
pub const PROCUREMENT_METRICS: [&str; 12] = [
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
];

/// Metrics of a threshold record, in column order.
///
/// - `feasible`: 1 when the users with c_i ≤ r can reach T (§B.3 step 3;
///   blank without a reserve price);
/// - `null`: withdrawal rights' null outcome (blank for the subsidy);
/// - `collected`: units collected at submission (the subsidy's X; the
///   withdrawal assignment Σ x_i);
/// - `success`: the subsidy's `improved`, or the protocol's P(training);
/// - `expected_data`, `participants`, `spend`: data used in training,
///   contributors counted when training happens, and money paid (the
///   subsidy pays on submission; withdrawal payments are escrowed);
/// - `leakage`: money paid without training.
pub const THRESHOLD_METRICS: [&str; 8] = [
    "feasible",
    "null",
    "collected",
    "success",
    "expected_data",
    "participants",
    "spend",
    "leakage",
];

impl MarketPopulation {
    /// Which market the population draws.
    pub fn market(&self) -> Market {
        match self {
            MarketPopulation::Procurement(_) => Market::Procurement,
            MarketPopulation::Threshold(_) => Market::Threshold,
        }
    }

    /// The metric names of this market's records, in column order.
    pub fn metrics(&self) -> &'static [&'static str] {
        match self {
            MarketPopulation::Procurement(_) => &PROCUREMENT_METRICS,
            MarketPopulation::Threshold(_) => &THRESHOLD_METRICS,
        }
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
    /// The best-response or audit settings are invalid.
    #[error("{0}")]
    Strategic(String),
    /// The records given to [`CellResult::new`] do not have its shape:
    /// record (replicate) `record` has the wrong number of mechanism rows,
    /// or a row whose length is not the number of metrics.
    #[error("records[{record}]: {problem}")]
    Records {
        /// The index of the record (the replicate) at fault.
        record: usize,
        /// What is wrong.
        problem: String,
    },
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
        strategic
            .config
            .check()
            .map_err(|e| ExperimentError::Strategic(format!("strategic.{e}")))?;
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
    pub fn market(&self) -> &MarketPopulation {
        &self.market
    }

    /// The mechanisms, in record order.
    pub fn mechanisms(&self) -> &[Mechanism] {
        &self.mechanisms
    }
}

/// The seed of cell `cell` of an experiment with master seed `seed`: a
/// SplitMix64 mix, so that neighbouring cells draw unrelated streams.
pub fn cell_seed(seed: u64, cell: u64) -> u64 {
    fn mix(mut z: u64) -> u64 {
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    mix(seed ^ mix(cell))
}

/// The records of one cell: for each replicate, for each mechanism, one
/// value per metric.
///
/// Its shape is checked on construction ([`CellResult::new`]): every
/// record (replicate) has one row per mechanism, and every row one value
/// per metric. The accessors read it.
#[derive(Debug, Clone, PartialEq)]
pub struct CellResult {
    /// The cell's index in the experiment's grid.
    cell: u64,
    /// Metric names, in column order.
    metrics: &'static [&'static str],
    /// Mechanism names, in record order.
    mechanisms: Vec<String>,
    /// `records[replicate][mechanism][metric]`; NaN where a metric does
    /// not apply.
    records: Vec<Vec<Vec<f64>>>,
}

impl CellResult {
    /// The records `records[replicate][mechanism][metric]` of cell `cell`,
    /// with `metrics` naming the columns and `mechanisms` the rows of each
    /// replicate (NaN where a metric does not apply).
    ///
    /// Fails with [`ExperimentError::Records`], naming the replicate, when
    /// a replicate does not have exactly one row per mechanism, or a row
    /// does not have exactly one value per metric.
    ///
    /// ```
    /// use procura_lab::experiment::{CellResult, ExperimentError, THRESHOLD_METRICS};
    ///
    /// let row = vec![f64::NAN; THRESHOLD_METRICS.len()];
    /// let result = CellResult::new(
    ///     3,
    ///     &THRESHOLD_METRICS,
    ///     vec!["subsidy".to_owned()],
    ///     vec![vec![row.clone()], vec![row]],
    /// )?;
    /// assert_eq!((result.cell(), result.records().len()), (3, 2));
    ///
    /// // Replicate 0's row has 1 value for 8 metrics.
    /// let short = vec![vec![vec![1.0]]];
    /// let error = CellResult::new(3, &THRESHOLD_METRICS, vec!["subsidy".to_owned()], short);
    /// assert!(matches!(error, Err(ExperimentError::Records { record: 0, .. })));
    /// # Ok::<(), ExperimentError>(())
    /// ```
    pub fn new(
        cell: u64,
        metrics: &'static [&'static str],
        mechanisms: Vec<String>,
        records: Vec<Vec<Vec<f64>>>,
    ) -> Result<CellResult, ExperimentError> {
        for (record, rows) in records.iter().enumerate() {
            if rows.len() != mechanisms.len() {
                return Err(ExperimentError::Records {
                    record,
                    problem: format!(
                        "{} mechanism rows for {} mechanisms",
                        rows.len(),
                        mechanisms.len()
                    ),
                });
            }
            if let Some((row, mechanism)) = rows
                .iter()
                .zip(&mechanisms)
                .find(|(row, _)| row.len() != metrics.len())
            {
                return Err(ExperimentError::Records {
                    record,
                    problem: format!(
                        "the row of {mechanism} has {} values for {} metrics",
                        row.len(),
                        metrics.len()
                    ),
                });
            }
        }
        Ok(CellResult {
            cell,
            metrics,
            mechanisms,
            records,
        })
    }

    /// The cell's index in the experiment's grid.
    pub fn cell(&self) -> u64 {
        self.cell
    }

    /// Metric names, in column order.
    pub fn metrics(&self) -> &'static [&'static str] {
        self.metrics
    }

    /// Mechanism names, in record order.
    pub fn mechanisms(&self) -> &[String] {
        &self.mechanisms
    }

    /// `records()[replicate][mechanism][metric]`: one row per mechanism,
    /// one value per metric, in every replicate; NaN where a metric does
    /// not apply.
    pub fn records(&self) -> &[Vec<Vec<f64>>] {
        &self.records
    }

    /// Every replicate's value of `metric` under mechanism number
    /// `mechanism`, in replicate order, NaNs included; `None` for an
    /// unknown metric or mechanism.
    pub fn metric(&self, mechanism: usize, metric: &str) -> Option<Vec<f64>> {
        let column = self.metrics.iter().position(|name| *name == metric)?;
        if mechanism >= self.mechanisms.len() {
            return None;
        }
        // `new` checked that every replicate has a row per mechanism and
        // every row a value per metric.
        Some(
            self.records
                .iter()
                .map(|replicate| replicate[mechanism][column])
                .collect(),
        )
    }

    /// Like [`CellResult::metric`], by mechanism name.
    pub fn metric_of(&self, mechanism: &str, metric: &str) -> Option<Vec<f64>> {
        let index = self.mechanisms.iter().position(|name| name == mechanism)?;
        self.metric(index, metric)
    }
}

/// Runs `replicates` replicates of each `(index, cell)` in parallel and
/// returns their records, cell by cell in the order given. `progress` is
/// called once per finished replicate, from any thread.
///
/// **The result does not depend on the number of threads**: every
/// replicate is a pure function of (seed, index, replicate), and rayon's
/// indexed collect keeps the order.
pub fn run(
    cells: &[(u64, Cell)],
    replicates: u64,
    seed: u64,
    progress: &(dyn Fn() + Sync),
) -> Vec<CellResult> {
    let jobs: Vec<(usize, u64)> = (0..cells.len())
        .flat_map(|position| (0..replicates).map(move |replicate| (position, replicate)))
        .collect();
    let records: Vec<Vec<Vec<f64>>> = jobs
        .par_iter()
        .map(|&(position, replicate)| {
            let (index, cell) = &cells[position];
            let record = run_replicate(cell, cell_seed(seed, *index), replicate);
            progress();
            record
        })
        .collect();
    let mut records = records.into_iter();
    cells
        .iter()
        // Every record of `run_replicate` has a row per mechanism of the
        // cell, each of its market's metrics: the shape `CellResult::new`
        // checks.
        .map(|(index, cell)| CellResult {
            cell: *index,
            metrics: cell.market.metrics(),
            mechanisms: cell.mechanisms.iter().map(ToString::to_string).collect(),
            records: records
                .by_ref()
                .take(usize::try_from(replicates).unwrap_or(usize::MAX))
                .collect(),
        })
        .collect()
}

/// The records of replicate `replicate` of `cell`, drawn with `seed` (the
/// cell's seed): one row of metrics per mechanism.
pub fn run_replicate(cell: &Cell, seed: u64, replicate: u64) -> Vec<Vec<f64>> {
    match &cell.market {
        MarketPopulation::Procurement(population) => {
            let truth = population.draw(seed, replicate);
            let audit_config = cell.audit.as_ref().map(|config| AuditConfig {
                seed: instance_seed(seed, replicate),
                ..config.clone()
            });
            cell.mechanisms
                .iter()
                .map(|choice| match choice {
                    Mechanism::Auction(mechanism) => {
                        let strategic = cell
                            .strategic
                            .as_ref()
                            .filter(|s| s.mechanisms.contains(mechanism))
                            .map(|s| &s.config);
                        procurement_record(*mechanism, &truth, strategic, audit_config.as_ref())
                    }
                    _ => unreachable!("Cell::new checks that mechanisms fit the market"),
                })
                .collect()
        }
        MarketPopulation::Threshold(population) => {
            let instance = population.draw(seed, replicate);
            cell.mechanisms
                .iter()
                .map(|choice| threshold_record(*choice, &instance))
                .collect()
        }
    }
}

fn flag(condition: bool) -> f64 {
    if condition {
        1.0
    } else {
        0.0
    }
}

/// One procurement record: `mechanism` cleared on the truthful `truth`,
/// or on the reports its providers best-respond to under `strategic`.
fn procurement_record(
    mechanism: Auction,
    truth: &Instance,
    strategic: Option<&BestResponseConfig>,
    audit_config: Option<&AuditConfig>,
) -> Vec<f64> {
    let mut record = vec![f64::NAN; PROCUREMENT_METRICS.len()];
    record[11] = truth.budget();
    // Cell::new checked every key the mechanism needs and with_strategic
    // the grid, so neither can fail; a failure would be a bug, recorded as
    // a row of NaNs rather than a panic in a worker thread.
    match strategic {
        None => {
            let Ok(outcome) = procurement::clear(truth, mechanism) else {
                return record;
            };
            outcome_metrics(mechanism, truth, &outcome, &mut record);
        }
        Some(config) => {
            let Ok(equilibrium) = best_response_dynamics(truth, mechanism, config) else {
                return record;
            };
            outcome_metrics(mechanism, truth, &equilibrium.outcome, &mut record);
            record[7] = equilibrium.rounds as f64;
            record[8] = flag(equilibrium.converged);
        }
    }
    if let Some(config) = audit_config {
        // The report's maxima include rounding-level gains; its deviations
        // are kept only when profitable, so read the gains from those.
        let report = audit(&mechanism, truth, config);
        record[9] = report.deviation.as_ref().map_or(0.0, |d| d.gain);
        record[10] = report.coalition.as_ref().map_or(0.0, |d| d.gain);
    }
    record
}

/// Fills the outcome columns (`value` … `budget_ok`) of a record: an
/// outcome judged against the true costs of `truth`. Budgets, quality and
/// utility are not reports, so they are the same in `truth` and in any
/// reported instance.
fn outcome_metrics(mechanism: Auction, truth: &Instance, outcome: &Outcome, record: &mut [f64]) {
    let providers = truth.providers();
    // A MUT share τ is worth R·τ/Π (procurement/game.rs).
    let token_value = |tokens: f64| match mechanism {
        Auction::Mut => truth.token_budget() * tokens / truth.token_pool(),
        _ => tokens,
    };
    let tokens = token_value(outcome.total_tokens());
    let mut volume = 0.0;
    let mut ir_violations = 0usize;
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
    record[0] = outcome.value();
    record[1] = outcome.total_cash();
    record[2] = tokens;
    record[3] = outcome.awards().len() as f64;
    record[4] = volume;
    record[5] = ir_violations as f64;
    record[6] = flag(
        at_most(outcome.total_cash(), truth.budget(), ROUNDING_RELATIVE)
            && at_most(tokens, token_budget, ROUNDING_RELATIVE),
    );
}

/// One threshold record: `choice` cleared on `instance`.
fn threshold_record(choice: Mechanism, instance: &ThresholdInstance) -> Vec<f64> {
    let mut record = vec![f64::NAN; THRESHOLD_METRICS.len()];
    record[0] = feasibility(instance).map_or(f64::NAN, flag);
    match choice {
        Mechanism::Subsidy => {
            let Ok(outcome) = subsidy::clear(instance) else {
                return record;
            };
            let improved = outcome.improved();
            record[2] = outcome.collected();
            record[3] = flag(improved);
            record[4] = if improved { outcome.collected() } else { 0.0 };
            record[5] = if improved {
                outcome.assignments().len() as f64
            } else {
                0.0
            };
            record[6] = outcome.total_payment();
            record[7] = outcome.leakage();
        }
        Mechanism::Withdrawal(protocol) => {
            let Ok(outcome) = withdrawal::clear(instance, protocol) else {
                return record;
            };
            record[1] = flag(outcome.is_null());
            record[2] = outcome
                .assignments()
                .iter()
                .fold(0.0, |sum, assignment| sum + assignment.amount);
            let report = outcome.protocol();
            record[3] = report.map_or(0.0, |r| r.success_probability);
            record[4] = report.map_or(0.0, |r| r.expected_data);
            record[5] = report.map_or(0.0, |r| r.expected_participants);
            record[6] = report.map_or(0.0, |r| r.expected_payment);
            record[7] = outcome.leakage();
        }
        Mechanism::Auction(_) => {
            unreachable!("Cell::new checks that mechanisms fit the market")
        }
    }
    record
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
                config: BestResponseConfig {
                    max_rounds: 3,
                    ..BestResponseConfig::default_grid()
                },
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

    #[test]
    fn a_cell_gives_the_same_records_alone_or_among_others() {
        let cells = [
            (0, procurement_cell(6)),
            (1, threshold_cell()),
            (2, procurement_cell(9)),
        ];
        let together = run(&cells, 5, 99, &|| {});
        for (position, cell) in cells.iter().enumerate() {
            let alone = run(std::slice::from_ref(cell), 5, 99, &|| {});
            // NaN ≠ NaN, so compare bit patterns.
            let bits = |result: &CellResult| -> Vec<u64> {
                result
                    .records
                    .iter()
                    .flatten()
                    .flatten()
                    .map(|x| x.to_bits())
                    .collect()
            };
            assert_eq!(bits(&alone[0]), bits(&together[position]));
            assert_eq!(alone[0].cell, cell.0);
        }
        assert_ne!(
            together[0].records, together[2].records,
            "cells draw different streams"
        );
    }

    #[test]
    fn records_follow_the_outcomes() {
        let result = &run(&[(4, procurement_cell(7))], 8, 5, &|| {})[0];
        for (replicate, records) in result.records.iter().enumerate() {
            let truth = match procurement_cell(7).market {
                MarketPopulation::Procurement(population) => {
                    population.draw(cell_seed(5, 4), replicate as u64)
                }
                MarketPopulation::Threshold(_) => unreachable!(),
            };
            let qmia = procurement::clear(&truth, Auction::Qmia).expect("clears");
            assert_eq!(records[0][0], qmia.value());
            assert_eq!(records[0][1], qmia.total_cash());
            assert_eq!(records[0][3], qmia.awards().len() as f64);
            assert!(records[0][7].is_nan(), "qmia is not strategic");
            // Volume best-responds: rounds are recorded, and value can only
            // come from providers it buys.
            assert!(records[3][7] >= 1.0 && records[3][7] <= 3.0);
            for record in records {
                assert_eq!(record[5], 0.0, "IR");
                assert_eq!(record[6], 1.0, "budget");
            }
        }
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
        let cell = procurement_cell(3);
        let bad = Strategic {
            config: BestResponseConfig {
                markups: vec![0.0],
                ..BestResponseConfig::default_grid()
            },
            mechanisms: vec![],
        };
        let message = cell.with_strategic(bad).expect_err("refused").to_string();
        assert!(message.starts_with("strategic.markups[0]"), "{message}");
    }
}
