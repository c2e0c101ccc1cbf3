//! Judges of the claims of spec §B.5: pure functions from an experiment's
//! typed records, and the swept values of its cells, to a [`Verdict`].
//!
//! Each claim's decision rule is written once, in words ([`Claim::rule`]):
//! the judges' documentation shows it and every [`Verdict`] carries it.
//! A judge returns the numbers the rule read as structured [`Evidence`]
//! (per-cell means with 95% confidence intervals, counts, largest gains,
//! paired differences, computed by [`super::statistics`]), so that a
//! reader can check the verdict without re-running anything. `procura
//! reproduce` runs the shipped experiments (`experiments/*.toml`) and
//! serializes the verdicts to `claims.json`.
//!
//! The rules are deliberately strict: a claim holds only if every cell of
//! its experiment agrees, and comparisons between mechanisms are paired
//! (the mechanisms of a cell clear the same instances) and need a 95%
//! confidence interval that excludes 0. An experiment whose data cannot
//! test a claim (no failure of the subsidy, no feasible instance, nothing
//! audited) does not make the claim hold.
//!
//! ```
//! use procura_lab::experiment::claims::{self, Observed};
//! use procura_lab::experiment::{CellResult, ProcurementRecord, Record};
//! use procura_mechanisms::{procurement::Auction, Market, Mechanism};
//!
//! // Two audited Q-MIA instances: no profitable misreport, IR, in budget.
//! let record = Record::Procurement(ProcurementRecord {
//!     value: 2.0,
//!     cash: 1.0,
//!     tokens: 0.0,
//!     winners: 2,
//!     volume: 2.0,
//!     ir_violations: 0,
//!     budget_ok: true,
//!     br_rounds: None,
//!     br_converged: None,
//!     unilateral_gain: Some(0.0),
//!     coalition_gain: Some(0.0),
//!     budget: 3.0,
//! });
//! let qmia = vec![Mechanism::Auction(Auction::Qmia)];
//! let results = [CellResult::new(0, Market::Procurement, qmia, vec![vec![record]; 2])?];
//! let observed = Observed { keys: &[], points: &[vec![]], results: &results };
//! let verdict = claims::p2a(&observed)?;
//! assert!(verdict.holds);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::str::FromStr;

use procura_mechanisms::procurement::Auction;
use procura_mechanisms::threshold::Protocol;
use procura_mechanisms::Mechanism;

use super::statistics::{max, paired_difference, summarize, welch_difference};
use super::{CellResult, ProcurementRecord, Summary, ThresholdMechanism, ThresholdRecord};

/// The decision rule of each claim, in words: written once, here, and read
/// by [`Claim::rule`], [`Verdict::rule`] and the judges' documentation.
macro_rules! rule {
    (P1a) => {
        "holds iff (1) every subsidy record that failed (success = 0) with at least \
one contributor (collected > 0) leaked (leakage > 0); (2) every cell whose estimated P(X < T) (its \
share of failed subsidy records) is > 0 has mean subsidy leakage > 0; (3) every record of every \
withdrawal mechanism has leakage exactly 0; and (4) the data can test it: some subsidy record \
failed with a contributor. A record whose numbers are missing (NaN) counts against the claim."
    };
    (P1b) => {
        "holds iff in every record of every withdrawal mechanism null = 1 exactly \
when feasible = 0, and collected > 0 exactly when feasible = 1 (feasible: the users with cost at \
most the effective reserve can reach T); and the records include at least one feasible and one \
infeasible instance. A record with a NaN counts against the claim."
    };
    (P1c) => {
        "holds iff the experiment has a cell with slack > 0 and in every such cell \
the paired per-replicate differences (same assignments under both protocols) satisfy: success \
(small-first − simultaneous) has a 95% CI above 0, expected_data (small-first − simultaneous) has \
a 95% CI above 0, and spend (simultaneous − small-first) has a 95% CI below 0. Participants are \
reported, not judged. Cells with slack 0 are reported, not judged."
    };
    (P2a) => {
        "holds iff every Q-MIA record was audited and records no profitable \
unilateral misreport (unilateral_gain = 0: the auditor keeps a gain only when it exceeds 1e-9 \
times the instance's scale), no IR violation (ir_violations = 0) and keeps the budget \
(budget_ok = 1), over at least one instance."
    };
    (P2b) => {
        "holds iff (1) in every cell, for each baseline (volume, trust), whose \
providers best-respond (br_rounds recorded in every record), the paired per-instance difference \
value(qmia) − value(baseline) has a 95% CI above 0; and (2) on the real data (procura::round over \
several seeds), the paired per-seed difference of test accuracy qmia − baseline has a 95% CI \
above 0 for each baseline. Without the real-data runs the claim is not established."
    };
    (P2c) => {
        "measured, with this rule: holds iff (1) Q-MIA records no profitable \
unilateral misreport in any audited instance; and (2) in every cell, for every non-DSIC mechanism \
in the experiment (mut, volume, trust; at least one), the paired per-instance difference of the \
largest coalition gain relative to the budget, gain(m)/B − gain(qmia)/B, has a 95% CI above 0. \
Q-MIA is not assumed coalition-proof: its coalition gains are reported as they are."
    };
    (P2d) => {
        "holds iff, for every setting of the other swept keys, with at least two \
liquidity values: (1) Mixed-MIA's mean cash rises at every step of λ, with Welch's 95% CI of \
mean cash(λ_next) − mean cash(λ) above 0 (cells are independent draws); and (2) at every λ the \
paired difference value(mixed) − value(qmia) on the same instances does not fall significantly \
(its 95% CI reaches 0 or above)."
    };
}

/// A claim of spec §B.5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Claim {
    /// Subsidy leakage > 0 whenever P(X < T) > 0; withdrawal-rights
    /// leakage = 0 always.
    P1a,
    /// Withdrawal rights collect iff the instance is feasible.
    P1b,
    /// Simultaneous withdrawal costs less; small-first succeeds more often
    /// and keeps more data.
    P1c,
    /// Q-MIA: no profitable unilateral misreport, IR, Σ payments ≤ B.
    P2a,
    /// Q-MIA buys more value, and a better model, than the baselines when
    /// providers best-respond.
    P2b,
    /// Q-MIA is robust to misreporting and collusion (measured).
    P2c,
    /// Mixed-MIA's cash outlay scales with λ while value does not fall.
    P2d,
}

impl Claim {
    /// Every claim, in the order of §B.5.
    pub const ALL: [Claim; 7] = [
        Claim::P1a,
        Claim::P1b,
        Claim::P1c,
        Claim::P2a,
        Claim::P2b,
        Claim::P2c,
        Claim::P2d,
    ];

    /// The id of §B.5: `P1-a`, …, `P2-d`.
    #[must_use]
    pub fn id(self) -> &'static str {
        match self {
            Claim::P1a => "P1-a",
            Claim::P1b => "P1-b",
            Claim::P1c => "P1-c",
            Claim::P2a => "P2-a",
            Claim::P2b => "P2-b",
            Claim::P2c => "P2-c",
            Claim::P2d => "P2-d",
        }
    }

    /// The claim as §B.5 states it.
    #[must_use]
    pub fn statement(self) -> &'static str {
        match self {
            Claim::P1a => {
                "subsidy leakage > 0 whenever P(X < T) > 0; withdrawal-rights leakage = 0 always"
            }
            Claim::P1b => "withdrawal rights collect iff the instance is feasible (null otherwise)",
            Claim::P1c => {
                "simultaneous: lower expected payment; small-first: higher success probability \
                 and expected data"
            }
            Claim::P2a => {
                "Q-MIA: no profitable unilateral misreport, IR, Σ payments ≤ B on every instance"
            }
            Claim::P2b => {
                "at equal budget, Q-MIA buys more quality-weighted utility, and a better trained \
                 model, than volume- and trust-based baselines when providers best-respond"
            }
            Claim::P2c => {
                "Q-MIA is robust to misreporting and collusion: measure coalition gains, do not \
                 assume them away"
            }
            Claim::P2d => {
                "Mixed-MIA's cash outlay scales with λ while the allocation's value does not fall"
            }
        }
    }

    /// The rule by which the claim's judge decides, in words (the same
    /// text as [`Verdict::rule`] and the judge's documentation).
    #[must_use]
    pub fn rule(self) -> &'static str {
        match self {
            Claim::P1a => rule!(P1a),
            Claim::P1b => rule!(P1b),
            Claim::P1c => rule!(P1c),
            Claim::P2a => rule!(P2a),
            Claim::P2b => rule!(P2b),
            Claim::P2c => rule!(P2c),
            Claim::P2d => rule!(P2d),
        }
    }
}

impl fmt::Display for Claim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// A claim id that §B.5 does not list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown claim {0:?}: expected one of P1-a, P1-b, P1-c, P2-a, P2-b, P2-c, P2-d")]
pub struct UnknownClaim(pub String);

impl FromStr for Claim {
    type Err = UnknownClaim;
    fn from_str(id: &str) -> Result<Claim, UnknownClaim> {
        Claim::ALL
            .into_iter()
            .find(|claim| claim.id() == id)
            .ok_or_else(|| UnknownClaim(id.to_owned()))
    }
}

/// An experiment's results with the swept values of its cells:
/// `points[i]` holds the values of `keys` in the cell of `results[i]`.
#[derive(Debug, Clone, Copy)]
pub struct Observed<'a> {
    /// Swept keys (dotted, e.g. `threshold.slack`), in grid order.
    pub keys: &'a [String],
    /// Each cell's swept values, in key order, parallel to `results`.
    pub points: &'a [Vec<f64>],
    /// The cells' records.
    pub results: &'a [CellResult],
}

/// A verdict on one claim.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// The claim judged.
    pub claim: Claim,
    /// Whether the decision rule holds on the evidence.
    pub holds: bool,
    /// One line with the numbers that decided it.
    pub headline: String,
    /// The decision rule, in words ([`Claim::rule`]).
    pub rule: &'static str,
    /// The numbers the rule read, by name.
    pub evidence: Vec<(String, Evidence)>,
}

/// A piece of evidence: a named tree of numbers.
#[derive(Debug, Clone, PartialEq)]
pub enum Evidence {
    /// A number (NaN where it does not apply).
    Number(f64),
    /// A count.
    Count(u64),
    /// A yes/no fact, such as whether a cell passed.
    Flag(bool),
    /// Free text, such as a mechanism's name.
    Text(String),
    /// A mean with its 95% confidence interval (for a paired difference:
    /// the mean difference and its interval).
    Mean(Summary),
    /// Named parts, in order.
    Group(Vec<(String, Evidence)>),
    /// Unnamed parts, in order (one per cell, say).
    List(Vec<Evidence>),
}

/// The real-data half of claim P2-b: the test accuracy of the model
/// trained on each mechanism's purchase, one row per seed of
/// `procura::round`.
#[derive(Debug, Clone, PartialEq)]
pub struct Accuracies {
    /// The auctions, in column order.
    pub mechanisms: Vec<Auction>,
    /// `runs[seed][mechanism]`: test accuracy in [0, 1].
    pub runs: Vec<Vec<f64>>,
}

/// Why an experiment cannot be judged against a claim at all: its shape is
/// wrong (a missing mechanism or swept key), as opposed to a claim that
/// does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClaimError {
    /// The experiment does not run a mechanism the claim is about.
    #[error("{claim}: the experiment runs no mechanism {mechanism:?}")]
    MissingMechanism {
        /// The claim.
        claim: Claim,
        /// The mechanism's name (or the names it may have).
        mechanism: String,
    },
    /// The experiment does not sweep a key the claim needs.
    #[error("{claim}: the experiment does not sweep {key:?}")]
    MissingKey {
        /// The claim.
        claim: Claim,
        /// The dotted key.
        key: String,
    },
    /// `points` and `results` (or a point and `keys`) disagree in length,
    /// or there are no cells.
    #[error("{claim}: {problem}")]
    Shape {
        /// The claim.
        claim: Claim,
        /// What is wrong.
        problem: String,
    },
}

const QMIA: Auction = Auction::Qmia;
const MIXED: Auction = Auction::Mixed;
const SUBSIDY: ThresholdMechanism = ThresholdMechanism::Subsidy;
const SIMULTANEOUS: ThresholdMechanism = ThresholdMechanism::Withdrawal(Protocol::Simultaneous);
const SMALL_FIRST: ThresholdMechanism = ThresholdMechanism::Withdrawal(Protocol::SmallFirst);

/// The records of an experiment, checked against a claim.
struct Records<'a> {
    claim: Claim,
    observed: Observed<'a>,
}

impl<'a> Records<'a> {
    fn new(claim: Claim, observed: Observed<'a>) -> Result<Records<'a>, ClaimError> {
        let shape = |problem: String| ClaimError::Shape { claim, problem };
        if observed.results.is_empty() {
            return Err(shape("the experiment has no cells".to_owned()));
        }
        if observed.points.len() != observed.results.len() {
            return Err(shape(format!(
                "{} swept points for {} cells",
                observed.points.len(),
                observed.results.len()
            )));
        }
        if let Some(point) = observed
            .points
            .iter()
            .find(|point| point.len() != observed.keys.len())
        {
            return Err(shape(format!(
                "a point has {} values for {} swept keys",
                point.len(),
                observed.keys.len()
            )));
        }
        Ok(Records { claim, observed })
    }

    fn cells(&self) -> impl Iterator<Item = (&'a [f64], &'a CellResult)> + 'a {
        let observed = self.observed;
        observed
            .points
            .iter()
            .map(Vec::as_slice)
            .zip(observed.results)
    }

    fn missing(&self, mechanism: Mechanism) -> ClaimError {
        ClaimError::MissingMechanism {
            claim: self.claim,
            mechanism: mechanism.to_string(),
        }
    }

    /// Every replicate's record of `auction` in `result`.
    fn procurement(
        &self,
        result: &'a CellResult,
        auction: Auction,
    ) -> Result<Vec<&'a ProcurementRecord>, ClaimError> {
        result
            .procurement(auction)
            .ok_or_else(|| self.missing(Mechanism::Auction(auction)))
    }

    /// Every replicate's record of the threshold `mechanism` in `result`.
    fn threshold(
        &self,
        result: &'a CellResult,
        mechanism: ThresholdMechanism,
    ) -> Result<Vec<&'a ThresholdRecord>, ClaimError> {
        result
            .threshold(mechanism)
            .ok_or_else(|| self.missing(mechanism.into()))
    }

    /// Fails unless every cell runs `mechanism`.
    fn require(&self, mechanism: impl Into<Mechanism>) -> Result<(), ClaimError> {
        let mechanism = mechanism.into();
        for (_, result) in self.cells() {
            if !result.mechanisms().contains(&mechanism) {
                return Err(self.missing(mechanism));
            }
        }
        Ok(())
    }

    fn key(&self, key: &str) -> Result<usize, ClaimError> {
        self.observed
            .keys
            .iter()
            .position(|k| k == key)
            .ok_or_else(|| ClaimError::MissingKey {
                claim: self.claim,
                key: key.to_owned(),
            })
    }

    /// The swept values of a cell, as evidence.
    fn point(&self, point: &[f64]) -> Vec<(String, Evidence)> {
        self.observed
            .keys
            .iter()
            .zip(point)
            .map(|(key, x)| (key.clone(), Evidence::Number(*x)))
            .collect()
    }
}

/// One field of every record, as a sample (the field applies to every
/// record).
fn sample<R>(records: &[&R], field: impl Fn(&R) -> f64) -> Vec<Option<f64>> {
    records.iter().map(|record| Some(field(record))).collect()
}

/// One field of every record that may not apply, as a sample (`None`
/// where it does not).
fn sample_where<R>(records: &[&R], field: impl Fn(&R) -> Option<f64>) -> Vec<Option<f64>> {
    records.iter().map(|record| field(record)).collect()
}

/// A flag as a sample value: 1 or 0.
fn flag(value: bool) -> f64 {
    f64::from(value)
}

/// A number for the evidence: NaN where there is none.
fn number(value: Option<f64>) -> Evidence {
    Evidence::Number(value.unwrap_or(f64::NAN))
}

fn count(n: usize) -> Evidence {
    Evidence::Count(n as u64)
}

fn group(parts: Vec<(&str, Evidence)>) -> Evidence {
    Evidence::Group(
        parts
            .into_iter()
            .map(|(name, evidence)| (name.to_owned(), evidence))
            .collect(),
    )
}

fn named(parts: Vec<(&str, Evidence)>) -> Vec<(String, Evidence)> {
    parts
        .into_iter()
        .map(|(name, evidence)| (name.to_owned(), evidence))
        .collect()
}

/// The withdrawal mechanisms of a cell, in record order.
fn withdrawal_mechanisms(result: &CellResult) -> Vec<ThresholdMechanism> {
    result
        .threshold_mechanisms()
        .iter()
        .copied()
        .filter(|m| matches!(m, ThresholdMechanism::Withdrawal(_)))
        .collect()
}

/// P1-a: subsidies leak wherever the threshold can fail; withdrawal rights
/// never leak (§B.2, §B.3).
///
/// A subsidy record *failed with a contributor* when `success` = 0 and
/// `collected` > 0 (the threshold failed and at least one user
/// contributed the floor); a cell's estimated P(X < T) is the share of
/// its `subsidy` records with `success` = 0.
///
#[doc = concat!("**Rule** ([`Claim::rule`]): ", rule!(P1a))]
pub fn p1a(observed: &Observed<'_>) -> Result<Verdict, ClaimError> {
    let records = Records::new(Claim::P1a, *observed)?;
    records.require(SUBSIDY)?;
    let mut cells = Vec::new();
    let (mut failures, mut leaked, mut invalid) = (0usize, 0usize, 0usize);
    let (mut withdrawal_records, mut withdrawal_leaks) = (0usize, 0usize);
    let mut withdrawal_max: Option<f64> = None;
    let mut cells_ok = true;
    let mut failing_cells = 0usize;
    let (mut p_min, mut p_max) = (f64::INFINITY, f64::NEG_INFINITY);
    for (point, result) in records.cells() {
        let subsidy = records.threshold(result, SUBSIDY)?;
        let (mut cell_failures, mut cell_leaked) = (0usize, 0usize);
        for record in &subsidy {
            let (s, c, l) = (record.success, record.collected, record.leakage);
            if s.is_nan() || c.is_nan() || l.is_nan() {
                invalid += 1;
            } else if s == 0.0 && c > 0.0 {
                cell_failures += 1;
                if l > 0.0 {
                    cell_leaked += 1;
                }
            }
        }
        failures += cell_failures;
        leaked += cell_leaked;
        let p_fail = summarize(&sample(&subsidy, |r| 1.0 - r.success));
        let mean_leakage = summarize(&sample(&subsidy, |r| r.leakage));
        p_min = p_min.min(p_fail.mean);
        p_max = p_max.max(p_fail.mean);
        let can_fail = p_fail.mean > 0.0;
        let cell_ok = !can_fail || mean_leakage.mean > 0.0;
        if can_fail {
            failing_cells += 1;
        }
        cells_ok &= cell_ok;
        let mut cell_withdrawal_max: Option<f64> = None;
        for mechanism in withdrawal_mechanisms(result) {
            for record in records.threshold(result, mechanism)? {
                let l = record.leakage;
                withdrawal_records += 1;
                if l.is_nan() || l != 0.0 {
                    withdrawal_leaks += 1;
                }
                cell_withdrawal_max = max([cell_withdrawal_max, Some(l)]);
            }
        }
        withdrawal_max = max([withdrawal_max, cell_withdrawal_max]);
        let mut parts = records.point(point);
        parts.extend(named(vec![
            ("p_fail", Evidence::Mean(p_fail)),
            ("subsidy_leakage", Evidence::Mean(mean_leakage)),
            ("failures_with_contributors", count(cell_failures)),
            ("leaking_failures", count(cell_leaked)),
            ("withdrawal_max_leakage", number(cell_withdrawal_max)),
            ("passes", Evidence::Flag(cell_ok)),
        ]));
        cells.push(Evidence::Group(parts));
    }
    if withdrawal_records == 0 {
        return Err(ClaimError::MissingMechanism {
            claim: Claim::P1a,
            mechanism: "withdrawal-*".to_owned(),
        });
    }
    let holds =
        failures > 0 && leaked == failures && invalid == 0 && cells_ok && withdrawal_leaks == 0;
    let headline = format!(
        "subsidy leaked in {leaked}/{failures} failures with contributors \
         (P(X<T) from {p_min:.2} to {p_max:.2}); withdrawal leakage 0 in {}/{withdrawal_records} \
         records (max {})",
        withdrawal_records - withdrawal_leaks,
        withdrawal_max.unwrap_or(f64::NAN)
    );
    Ok(Verdict {
        claim: Claim::P1a,
        holds,
        headline,
        rule: Claim::P1a.rule(),
        evidence: named(vec![
            ("subsidy_failures_with_contributors", count(failures)),
            ("subsidy_leaking_failures", count(leaked)),
            ("subsidy_invalid_records", count(invalid)),
            ("cells_with_failures", count(failing_cells)),
            ("p_fail_min", Evidence::Number(p_min)),
            ("p_fail_max", Evidence::Number(p_max)),
            ("withdrawal_records", count(withdrawal_records)),
            ("withdrawal_leaking_records", count(withdrawal_leaks)),
            ("withdrawal_max_leakage", number(withdrawal_max)),
            ("cells", Evidence::List(cells)),
        ]),
    })
}

/// P1-b: withdrawal rights collect iff the instance is feasible, and are
/// null otherwise (§B.3 step 3).
///
/// A record whose `feasible` or `null` does not apply (no reserve price)
/// counts against the claim, as one whose numbers are NaN.
///
#[doc = concat!("**Rule** ([`Claim::rule`]): ", rule!(P1b))]
pub fn p1b(observed: &Observed<'_>) -> Result<Verdict, ClaimError> {
    let records = Records::new(Claim::P1b, *observed)?;
    let mut cells = Vec::new();
    let (mut total, mut feasible, mut infeasible) = (0usize, 0usize, 0usize);
    let (mut null_when_feasible, mut not_null_when_infeasible) = (0usize, 0usize);
    let (mut collected_when_infeasible, mut nothing_when_feasible) = (0usize, 0usize);
    let (mut invalid, mut bad) = (0usize, 0usize);
    for (point, result) in records.cells() {
        let mechanisms = withdrawal_mechanisms(result);
        if mechanisms.is_empty() {
            return Err(ClaimError::MissingMechanism {
                claim: Claim::P1b,
                mechanism: "withdrawal-*".to_owned(),
            });
        }
        let mut cell_violations = 0usize;
        let mut feasible_share = summarize(&[]);
        for mechanism in mechanisms {
            let withdrawal = records.threshold(result, mechanism)?;
            feasible_share = summarize(&sample_where(&withdrawal, |r| r.feasible.map(flag)));
            for record in withdrawal {
                total += 1;
                let (Some(is_feasible), Some(is_null)) = (record.feasible, record.null) else {
                    invalid += 1;
                    bad += 1;
                    cell_violations += 1;
                    continue;
                };
                if record.collected.is_nan() {
                    invalid += 1;
                    bad += 1;
                    cell_violations += 1;
                    continue;
                }
                if is_feasible {
                    feasible += 1;
                } else {
                    infeasible += 1;
                }
                let collects = record.collected > 0.0;
                match (is_feasible, is_null, collects) {
                    (true, false, true) | (false, true, false) => {}
                    _ => {
                        cell_violations += 1;
                        bad += 1;
                        null_when_feasible += usize::from(is_feasible && is_null);
                        not_null_when_infeasible += usize::from(!is_feasible && !is_null);
                        collected_when_infeasible += usize::from(!is_feasible && collects);
                        nothing_when_feasible += usize::from(is_feasible && !collects);
                    }
                }
            }
        }
        let mut parts = records.point(point);
        parts.extend(named(vec![
            ("feasible_share", Evidence::Mean(feasible_share)),
            ("violations", count(cell_violations)),
        ]));
        cells.push(Evidence::Group(parts));
    }
    let holds = bad == 0 && feasible > 0 && infeasible > 0;
    let headline = format!(
        "null ⇔ infeasible and collected ⇔ feasible in {}/{total} records \
         ({feasible} feasible, {infeasible} infeasible)",
        total - bad
    );
    Ok(Verdict {
        claim: Claim::P1b,
        holds,
        headline,
        rule: Claim::P1b.rule(),
        evidence: named(vec![
            ("records", count(total)),
            ("violating_records", count(bad)),
            ("feasible_records", count(feasible)),
            ("infeasible_records", count(infeasible)),
            ("null_when_feasible", count(null_when_feasible)),
            ("not_null_when_infeasible", count(not_null_when_infeasible)),
            (
                "collected_when_infeasible",
                count(collected_when_infeasible),
            ),
            (
                "nothing_collected_when_feasible",
                count(nothing_when_feasible),
            ),
            ("invalid_records", count(invalid)),
            ("cells", Evidence::List(cells)),
        ]),
    })
}

/// P1-c: with slack, simultaneous withdrawal costs less, and small-first
/// withdrawal succeeds more often and keeps more data (§B.4,
/// reconstruction).
///
/// The cells judged are those with `threshold.slack` > 0; the differences
/// are paired per replicate, `withdrawal-small-first` against
/// `withdrawal-simultaneous` on the same assignments. Ties fail: a cell
/// where both protocols behave identically does not show that one beats
/// the other.
///
#[doc = concat!("**Rule** ([`Claim::rule`]): ", rule!(P1c))]
pub fn p1c(observed: &Observed<'_>) -> Result<Verdict, ClaimError> {
    let records = Records::new(Claim::P1c, *observed)?;
    let slack_key = records.key("threshold.slack")?;
    records.require(SIMULTANEOUS)?;
    records.require(SMALL_FIRST)?;
    let mut cells = Vec::new();
    let (mut judged, mut passed) = (0usize, 0usize);
    let (mut success_up, mut data_up, mut cheaper) = (0usize, 0usize, 0usize);
    for (point, result) in records.cells() {
        let sf = records.threshold(result, SMALL_FIRST)?;
        let sim = records.threshold(result, SIMULTANEOUS)?;
        let diff = |first: &[&ThresholdRecord],
                    second: &[&ThresholdRecord],
                    field: fn(&ThresholdRecord) -> f64| {
            paired_difference(&sample(first, field), &sample(second, field))
        };
        let success = diff(&sf, &sim, |r| r.success);
        let data = diff(&sf, &sim, |r| r.expected_data);
        let spend = diff(&sim, &sf, |r| r.spend);
        let participants = diff(&sf, &sim, |r| r.participants);
        let judged_here = point[slack_key] > 0.0;
        let (s_ok, d_ok, p_ok) = (success.ci_low > 0.0, data.ci_low > 0.0, spend.ci_high < 0.0);
        if judged_here {
            judged += 1;
            success_up += usize::from(s_ok);
            data_up += usize::from(d_ok);
            cheaper += usize::from(p_ok);
            passed += usize::from(s_ok && d_ok && p_ok);
        }
        let mut parts = records.point(point);
        parts.extend(named(vec![
            ("judged", Evidence::Flag(judged_here)),
            (
                "success_small_first",
                Evidence::Mean(summarize(&sample(&sf, |r| r.success))),
            ),
            (
                "success_simultaneous",
                Evidence::Mean(summarize(&sample(&sim, |r| r.success))),
            ),
            (
                "success_small_first_minus_simultaneous",
                Evidence::Mean(success),
            ),
            (
                "expected_data_small_first_minus_simultaneous",
                Evidence::Mean(data),
            ),
            (
                "spend_simultaneous_minus_small_first",
                Evidence::Mean(spend),
            ),
            (
                "participants_small_first_minus_simultaneous",
                Evidence::Mean(participants),
            ),
            ("small_first_more_success", Evidence::Flag(s_ok)),
            ("small_first_more_data", Evidence::Flag(d_ok)),
            ("simultaneous_cheaper", Evidence::Flag(p_ok)),
            ("passes", Evidence::Flag(s_ok && d_ok && p_ok)),
        ]));
        cells.push(Evidence::Group(parts));
    }
    let holds = judged > 0 && passed == judged;
    let headline = format!(
        "{passed}/{judged} cells with slack > 0 pass: small-first more likely to train in \
         {success_up}, more data in {data_up}, simultaneous cheaper in {cheaper}"
    );
    Ok(Verdict {
        claim: Claim::P1c,
        holds,
        headline,
        rule: Claim::P1c.rule(),
        evidence: named(vec![
            ("judged_cells", count(judged)),
            ("passing_cells", count(passed)),
            ("cells_small_first_more_success", count(success_up)),
            ("cells_small_first_more_data", count(data_up)),
            ("cells_simultaneous_cheaper", count(cheaper)),
            ("cells", Evidence::List(cells)),
        ]),
    })
}

/// P2-a: Q-MIA has no profitable unilateral misreport, is IR and pays at
/// most B, on every instance (§A.3).
///
/// A record is audited when its `unilateral_gain` is recorded. The
/// experiment records a gain only when the auditor finds it profitable
/// ([`procura_audit::is_profitable`]: above
/// [`procura_mechanisms::tolerance::GAIN_RELATIVE`] times the instance's
/// largest utility or report), so rounding does not count.
///
#[doc = concat!("**Rule** ([`Claim::rule`]): ", rule!(P2a))]
pub fn p2a(observed: &Observed<'_>) -> Result<Verdict, ClaimError> {
    let records = Records::new(Claim::P2a, *observed)?;
    records.require(Mechanism::Auction(QMIA))?;
    let mut cells = Vec::new();
    let (mut instances, mut unaudited, mut profitable, mut ir, mut breaches) =
        (0usize, 0usize, 0usize, 0usize, 0usize);
    let mut max_gain: Option<f64> = None;
    for (point, result) in records.cells() {
        let qmia = records.procurement(result, QMIA)?;
        let (mut cell_profitable, mut cell_ir, mut cell_breaches) = (0usize, 0usize, 0usize);
        for record in &qmia {
            instances += 1;
            unaudited += usize::from(record.unilateral_gain.is_none());
            cell_profitable += usize::from(record.unilateral_gain.is_some_and(|g| g > 0.0));
            // Saturating: the tally must not overflow.
            let violations = usize::try_from(record.ir_violations).unwrap_or(usize::MAX);
            cell_ir = cell_ir.saturating_add(violations);
            cell_breaches += usize::from(!record.budget_ok);
        }
        profitable += cell_profitable;
        ir = ir.saturating_add(cell_ir);
        breaches += cell_breaches;
        let cell_max = max(qmia.iter().map(|r| r.unilateral_gain));
        max_gain = max([max_gain, cell_max]);
        let mut parts = records.point(point);
        parts.extend(named(vec![
            ("instances", count(qmia.len())),
            ("profitable_misreports", count(cell_profitable)),
            ("max_unilateral_gain", number(cell_max)),
            ("ir_violations", count(cell_ir)),
            ("budget_breaches", count(cell_breaches)),
            (
                "winners",
                Evidence::Mean(summarize(&sample(&qmia, |r| r.winners as f64))),
            ),
            (
                "cash_over_budget",
                Evidence::Mean(summarize(&sample(&qmia, |r| r.cash / r.budget))),
            ),
        ]));
        cells.push(Evidence::Group(parts));
    }
    let holds = instances > 0 && unaudited == 0 && profitable == 0 && ir == 0 && breaches == 0;
    let headline = format!(
        "{instances} audited instances: {profitable} profitable misreports (max gain {}), \
         {ir} IR violations, {breaches} budget breaches",
        max_gain.unwrap_or(0.0)
    );
    Ok(Verdict {
        claim: Claim::P2a,
        holds,
        headline,
        rule: Claim::P2a.rule(),
        evidence: named(vec![
            ("instances", count(instances)),
            ("unaudited_instances", count(unaudited)),
            ("profitable_misreports", count(profitable)),
            ("max_unilateral_gain", number(max_gain)),
            ("ir_violations", count(ir)),
            ("budget_breaches", count(breaches)),
            ("cells", Evidence::List(cells)),
        ]),
    })
}

/// The baselines of claim P2-b.
const BASELINES: [Auction; 2] = [Auction::Volume, Auction::Trust];

/// P2-b: at equal budget, Q-MIA buys more quality-weighted utility, and a
/// better trained model, than the volume- and trust-based baselines when
/// providers best-respond (§A.3, §A.6).
///
/// A baseline's providers best-respond in a cell when every one of its
/// records has `br_rounds`. `accuracy` is the real-data half: without it
/// the claim does not hold, since half of it is untested.
///
#[doc = concat!("**Rule** ([`Claim::rule`]): ", rule!(P2b))]
pub fn p2b(observed: &Observed<'_>, accuracy: Option<&Accuracies>) -> Result<Verdict, ClaimError> {
    let records = Records::new(Claim::P2b, *observed)?;
    records.require(Mechanism::Auction(QMIA))?;
    for baseline in BASELINES {
        records.require(Mechanism::Auction(baseline))?;
    }
    let mut cells = Vec::new();
    let (mut comparisons, mut ahead) = (0usize, 0usize);
    let mut strategic = true;
    let mut min_ratio = f64::INFINITY;
    for (point, result) in records.cells() {
        let qmia = sample(&records.procurement(result, QMIA)?, |r| r.value);
        let mut parts = records.point(point);
        parts.push(("qmia_value".to_owned(), Evidence::Mean(summarize(&qmia))));
        for baseline in BASELINES {
            let other = records.procurement(result, baseline)?;
            let value = sample(&other, |r| r.value);
            let best_responding = other.iter().all(|r| r.br_rounds.is_some());
            strategic &= best_responding;
            let difference = paired_difference(&qmia, &value);
            let wins = best_responding && difference.ci_low > 0.0;
            comparisons += 1;
            ahead += usize::from(wins);
            let mean = summarize(&value);
            let ratio = summarize(&qmia).mean / mean.mean;
            min_ratio = min_ratio.min(ratio);
            let converged = sample_where(&other, |r| r.br_converged.map(flag));
            parts.push((
                baseline.name().to_owned(),
                group(vec![
                    ("value", Evidence::Mean(mean)),
                    ("qmia_minus_baseline", Evidence::Mean(difference)),
                    ("qmia_over_baseline", Evidence::Number(ratio)),
                    ("best_responding", Evidence::Flag(best_responding)),
                    ("converged_share", Evidence::Mean(summarize(&converged))),
                    ("qmia_ahead", Evidence::Flag(wins)),
                ]),
            ));
        }
        cells.push(Evidence::Group(parts));
    }
    let value_holds = comparisons > 0 && ahead == comparisons && strategic;

    let (accuracy_holds, accuracy_evidence, accuracy_text) = match accuracy {
        None => (
            false,
            Evidence::Text("not run".to_owned()),
            "accuracy: not run".to_owned(),
        ),
        Some(accuracy) => judge_accuracy(accuracy)?,
    };
    let holds = value_holds && accuracy_holds;
    let headline = format!(
        "value: qmia ahead in {ahead}/{comparisons} cell×baseline comparisons \
         (qmia/baseline ≥ {min_ratio:.2}×); {accuracy_text}"
    );
    Ok(Verdict {
        claim: Claim::P2b,
        holds,
        headline,
        rule: Claim::P2b.rule(),
        evidence: named(vec![
            ("value_holds", Evidence::Flag(value_holds)),
            ("comparisons", count(comparisons)),
            ("qmia_ahead", count(ahead)),
            ("baselines_best_respond", Evidence::Flag(strategic)),
            ("min_value_ratio", Evidence::Number(min_ratio)),
            ("accuracy_holds", Evidence::Flag(accuracy_holds)),
            ("accuracy", accuracy_evidence),
            ("cells", Evidence::List(cells)),
        ]),
    })
}

/// The real-data half of P2-b: whether, and by how much, Q-MIA's model
/// beats each baseline's over the seeds.
fn judge_accuracy(accuracy: &Accuracies) -> Result<(bool, Evidence, String), ClaimError> {
    let column = |mechanism: Auction| -> Result<Vec<Option<f64>>, ClaimError> {
        let index = accuracy
            .mechanisms
            .iter()
            .position(|m| *m == mechanism)
            .ok_or_else(|| ClaimError::MissingMechanism {
                claim: Claim::P2b,
                mechanism: format!("{mechanism} (in the real-data runs)"),
            })?;
        accuracy
            .runs
            .iter()
            .map(|run| {
                run.get(index)
                    .copied()
                    .map(Some)
                    .ok_or_else(|| ClaimError::Shape {
                        claim: Claim::P2b,
                        problem: format!(
                            "a real-data run has {} accuracies for {} mechanisms",
                            run.len(),
                            accuracy.mechanisms.len()
                        ),
                    })
            })
            .collect()
    };
    let qmia = column(Auction::Qmia)?;
    let mut holds = !accuracy.runs.is_empty();
    let mut means = Vec::new();
    for mechanism in &accuracy.mechanisms {
        means.push((
            mechanism.name().to_owned(),
            Evidence::Mean(summarize(&column(*mechanism)?)),
        ));
    }
    let mut differences = Vec::new();
    let mut text = format!(
        "accuracy over {} seeds: qmia {:.3}",
        qmia.len(),
        summarize(&qmia).mean
    );
    for baseline in BASELINES {
        let other = column(baseline)?;
        let difference = paired_difference(&qmia, &other);
        let wins = difference.ci_low > 0.0;
        holds &= wins;
        text.push_str(&format!(
            ", {baseline} {:.3} (diff {:+.3} [{:+.3}, {:+.3}])",
            summarize(&other).mean,
            difference.mean,
            difference.ci_low,
            difference.ci_high
        ));
        differences.push((
            format!("qmia_minus_{baseline}"),
            group(vec![
                ("difference", Evidence::Mean(difference)),
                ("qmia_better", Evidence::Flag(wins)),
            ]),
        ));
    }
    let evidence = group(vec![
        ("seeds", count(accuracy.runs.len())),
        ("mean_accuracy", Evidence::Group(means)),
        ("paired_differences", Evidence::Group(differences)),
    ]);
    Ok((holds, evidence, text))
}

/// The mechanisms of Part A that are not DSIC (§A.4, §A.6).
const NOT_DSIC: [Auction; 3] = [Auction::Mut, Auction::Volume, Auction::Trust];

/// P2-c: Q-MIA is robust to misreporting and collusion. Measured, not
/// assumed: Q-MIA is not coalition-proof (a loser that sets a winner's
/// critical value can raise it by bidding higher, and share the winner's
/// gain), so the rule compares its coalition gains with those of the
/// mechanisms that are not DSIC.
///
/// B is each instance's `budget`, the same for every mechanism of a
/// replicate. The evidence reports, for every mechanism, how often a
/// profitable misreport and a profitable coalition were found, and the
/// mean and largest gains relative to B.
///
#[doc = concat!("**Rule** ([`Claim::rule`]): ", rule!(P2c))]
pub fn p2c(observed: &Observed<'_>) -> Result<Verdict, ClaimError> {
    let records = Records::new(Claim::P2c, *observed)?;
    records.require(Mechanism::Auction(QMIA))?;
    // Every cell runs qmia, so every cell is a procurement cell.
    let mechanisms = observed.results[0].auctions().to_vec();
    for mechanism in &mechanisms {
        records.require(Mechanism::Auction(*mechanism))?;
    }
    let others: Vec<Auction> = NOT_DSIC
        .into_iter()
        .filter(|m| mechanisms.contains(m))
        .collect();
    if others.is_empty() {
        return Err(ClaimError::MissingMechanism {
            claim: Claim::P2c,
            mechanism: "mut, volume or trust".to_owned(),
        });
    }
    // Per mechanism, over every record: unilateral and coalition gains
    // relative to the budget (`None` where the cell does not audit).
    let mut unilateral: Vec<Vec<Option<f64>>> = vec![Vec::new(); mechanisms.len()];
    let mut coalition: Vec<Vec<Option<f64>>> = vec![Vec::new(); mechanisms.len()];
    let mut cells = Vec::new();
    let (mut comparisons, mut below) = (0usize, 0usize);
    for (point, result) in records.cells() {
        let budget: Vec<f64> = records
            .procurement(result, QMIA)?
            .iter()
            .map(|r| r.budget)
            .collect();
        let relative = |mechanism: Auction,
                        gain: fn(&ProcurementRecord) -> Option<f64>|
         -> Result<Vec<Option<f64>>, ClaimError> {
            Ok(records
                .procurement(result, mechanism)?
                .iter()
                .zip(&budget)
                .map(|(record, b)| gain(record).map(|gain| gain / b))
                .collect())
        };
        let unilateral_gain: fn(&ProcurementRecord) -> Option<f64> = |r| r.unilateral_gain;
        let coalition_gain: fn(&ProcurementRecord) -> Option<f64> = |r| r.coalition_gain;
        let mut parts = records.point(point);
        for (index, mechanism) in mechanisms.iter().enumerate() {
            let u = relative(*mechanism, unilateral_gain)?;
            let c = relative(*mechanism, coalition_gain)?;
            parts.push((
                mechanism.to_string(),
                group(vec![
                    ("unilateral_gain_over_budget", Evidence::Mean(summarize(&u))),
                    ("coalition_gain_over_budget", Evidence::Mean(summarize(&c))),
                ]),
            ));
            unilateral[index].extend(u);
            coalition[index].extend(c);
        }
        let qmia = relative(QMIA, coalition_gain)?;
        for other in &others {
            let difference = paired_difference(&relative(*other, coalition_gain)?, &qmia);
            let ok = difference.ci_low > 0.0;
            comparisons += 1;
            below += usize::from(ok);
            parts.push((
                format!("{other}_minus_qmia_coalition_gain_over_budget"),
                group(vec![
                    ("difference", Evidence::Mean(difference)),
                    ("qmia_lower", Evidence::Flag(ok)),
                ]),
            ));
        }
        cells.push(Evidence::Group(parts));
    }
    // Over every record, audited or not.
    let share = |values: &[Option<f64>]| {
        let found = values.iter().filter(|g| g.is_some_and(|g| g > 0.0)).count();
        found as f64 / values.len().max(1) as f64
    };
    let mut by_mechanism = Vec::new();
    let mut qmia_unilateral_ok = false;
    let mut text = Vec::new();
    for (index, mechanism) in mechanisms.iter().enumerate() {
        let (u, c) = (&unilateral[index], &coalition[index]);
        if *mechanism == QMIA {
            qmia_unilateral_ok = !u.is_empty() && u.iter().all(|g| *g == Some(0.0));
        }
        text.push(format!(
            "{mechanism} {:.1}%/{:.2}%",
            100.0 * share(c),
            100.0 * summarize(c).mean
        ));
        by_mechanism.push((
            mechanism.to_string(),
            group(vec![
                ("instances", count(u.len())),
                ("profitable_misreport_share", Evidence::Number(share(u))),
                ("unilateral_gain_over_budget", Evidence::Mean(summarize(u))),
                (
                    "max_unilateral_gain_over_budget",
                    number(max(u.iter().copied())),
                ),
                ("profitable_coalition_share", Evidence::Number(share(c))),
                ("coalition_gain_over_budget", Evidence::Mean(summarize(c))),
                (
                    "max_coalition_gain_over_budget",
                    number(max(c.iter().copied())),
                ),
            ]),
        ));
    }
    let holds = qmia_unilateral_ok && comparisons > 0 && below == comparisons;
    let headline = format!(
        "qmia profitable misreports: {}; coalition gains below every non-DSIC mechanism's in \
         {below}/{comparisons} comparisons; pairs profitable/mean gain of B: {}",
        if qmia_unilateral_ok { "none" } else { "found" },
        text.join(", ")
    );
    Ok(Verdict {
        claim: Claim::P2c,
        holds,
        headline,
        rule: Claim::P2c.rule(),
        evidence: named(vec![
            (
                "qmia_no_profitable_misreport",
                Evidence::Flag(qmia_unilateral_ok),
            ),
            ("comparisons", count(comparisons)),
            ("qmia_lower", count(below)),
            ("mechanisms", Evidence::Group(by_mechanism)),
            ("cells", Evidence::List(cells)),
        ]),
    })
}

/// The cells of one setting of the other swept keys (their values), with
/// their liquidity λ.
type Series<'a> = (Vec<f64>, Vec<(f64, &'a CellResult)>);

/// P2-d: Mixed-MIA's cash outlay scales with λ while the allocation's
/// value does not fall (§A.5, reconstruction).
///
/// The experiment sweeps `procurement.liquidity` and runs `qmia` and
/// `mixed` in every cell; the cells of each setting of the other swept
/// keys form a series, ordered by λ. Cells draw independent instances, so
/// the cash steps are compared unpaired ([`welch_difference`]); the value
/// comparison within a cell is paired. The evidence includes cash as a
/// share of the budget B, which shows where the cash budget binds.
///
#[doc = concat!("**Rule** ([`Claim::rule`]): ", rule!(P2d))]
pub fn p2d(observed: &Observed<'_>) -> Result<Verdict, ClaimError> {
    let records = Records::new(Claim::P2d, *observed)?;
    let liquidity = records.key("procurement.liquidity")?;
    records.require(Mechanism::Auction(QMIA))?;
    records.require(Mechanism::Auction(MIXED))?;
    // Group the cells by the other swept values, each sorted by λ.
    let mut series: Vec<Series<'_>> = Vec::new();
    for (point, result) in records.cells() {
        let others: Vec<f64> = point
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != liquidity)
            .map(|(_, x)| *x)
            .collect();
        let entry = (point[liquidity], result);
        match series.iter_mut().find(|(key, _)| *key == others) {
            Some((_, cells)) => cells.push(entry),
            None => series.push((others, vec![entry])),
        }
    }
    let other_keys: Vec<&String> = records
        .observed
        .keys
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != liquidity)
        .map(|(_, key)| key)
        .collect();
    let (mut steps, mut rising, mut cells_judged, mut not_falling) =
        (0usize, 0usize, 0usize, 0usize);
    let mut short_series = false;
    let mut evidence_series = Vec::new();
    let mut extremes = Vec::new();
    for (others, cells) in &mut series {
        cells.sort_by(|a, b| a.0.total_cmp(&b.0));
        short_series |= cells.len() < 2;
        let mut parts: Vec<(String, Evidence)> = other_keys
            .iter()
            .zip(others.iter())
            .map(|(key, x)| ((*key).clone(), Evidence::Number(*x)))
            .collect();
        let mut list = Vec::new();
        let mut previous: Option<Vec<Option<f64>>> = None;
        let mut shares = Vec::new();
        for (lambda, result) in cells.iter() {
            let mixed = records.procurement(result, MIXED)?;
            let cash = sample(&mixed, |r| r.cash);
            let share = sample(&mixed, |r| r.cash / r.budget);
            let mixed_value = sample(&mixed, |r| r.value);
            let qmia_value = sample(&records.procurement(result, QMIA)?, |r| r.value);
            let value_difference = paired_difference(&mixed_value, &qmia_value);
            let value_ok = value_difference.ci_high >= 0.0;
            cells_judged += 1;
            not_falling += usize::from(value_ok);
            let fallen = mixed_value
                .iter()
                .zip(&qmia_value)
                .filter(|(m, q)| m < q)
                .count();
            let mut cell = named(vec![
                ("procurement.liquidity", Evidence::Number(*lambda)),
                ("cash", Evidence::Mean(summarize(&cash))),
                ("cash_over_budget", Evidence::Mean(summarize(&share))),
                (
                    "tokens",
                    Evidence::Mean(summarize(&sample(&mixed, |r| r.tokens))),
                ),
                ("mixed_value", Evidence::Mean(summarize(&mixed_value))),
                ("qmia_value", Evidence::Mean(summarize(&qmia_value))),
                ("mixed_minus_qmia_value", Evidence::Mean(value_difference)),
                ("records_mixed_below_qmia", count(fallen)),
                ("value_not_falling", Evidence::Flag(value_ok)),
            ]);
            shares.push((*lambda, summarize(&share).mean));
            if let Some(previous) = &previous {
                let step = welch_difference(&cash, previous);
                let ok = step.ci_low > 0.0;
                steps += 1;
                rising += usize::from(ok);
                cell.push(("cash_step_from_previous".to_owned(), Evidence::Mean(step)));
                cell.push(("cash_rises".to_owned(), Evidence::Flag(ok)));
            }
            previous = Some(cash);
            list.push(Evidence::Group(cell));
        }
        extremes.push(shares);
        parts.push(("cells".to_owned(), Evidence::List(list)));
        evidence_series.push(Evidence::Group(parts));
    }
    let holds = !short_series && steps > 0 && rising == steps && not_falling == cells_judged;
    let shares: Vec<String> = extremes
        .iter()
        .flat_map(|series| series.iter())
        .map(|(lambda, share)| format!("{lambda}:{share:.2}"))
        .collect();
    let headline = format!(
        "cash rises in {rising}/{steps} λ-steps (cash/B by λ: {}); mixed value not below \
         qmia's in {not_falling}/{cells_judged} cells",
        shares.join(" ")
    );
    Ok(Verdict {
        claim: Claim::P2d,
        holds,
        headline,
        rule: Claim::P2d.rule(),
        evidence: named(vec![
            ("cash_steps", count(steps)),
            ("cash_steps_rising", count(rising)),
            ("cells", count(cells_judged)),
            ("cells_value_not_falling", count(not_falling)),
            ("series", Evidence::List(evidence_series)),
        ]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::record::{EMPTY_PROCUREMENT, EMPTY_THRESHOLD};
    use crate::experiment::{Record, ThresholdRecord};
    use procura_mechanisms::Market;

    /// The records the cells' `edit`s start from: in budget, B = 1.
    fn procurement() -> ProcurementRecord {
        ProcurementRecord {
            budget_ok: true,
            budget: 1.0,
            ..EMPTY_PROCUREMENT
        }
    }

    fn threshold() -> ThresholdRecord {
        EMPTY_THRESHOLD
    }

    /// The claims' constants as the mechanisms `edit`s see.
    const QMIA_M: Mechanism = Mechanism::Auction(QMIA);
    const MIXED_M: Mechanism = Mechanism::Auction(MIXED);

    fn mechanisms(names: &[&str]) -> Vec<Mechanism> {
        names.iter().map(|m| m.parse().expect("known")).collect()
    }

    /// A cell of `names` whose replicate r has, for each mechanism m, the
    /// record `record(r, m)`.
    fn cell(
        market: Market,
        names: &[&str],
        replicates: usize,
        record: impl Fn(usize, Mechanism) -> Record,
    ) -> CellResult {
        let mechanisms = mechanisms(names);
        let records = (0..replicates)
            .map(|r| mechanisms.iter().map(|m| record(r, *m)).collect())
            .collect();
        CellResult::new(0, market, mechanisms, records).expect("a record per mechanism")
    }

    /// A procurement cell; `record(r, m)` edits a default record.
    fn procurement_cell(
        names: &[&str],
        replicates: usize,
        edit: impl Fn(usize, Mechanism, &mut ProcurementRecord),
    ) -> CellResult {
        cell(Market::Procurement, names, replicates, |r, m| {
            let mut record = procurement();
            edit(r, m, &mut record);
            Record::Procurement(record)
        })
    }

    /// A threshold cell; `record(r, m)` edits a default record.
    fn threshold_cell(
        names: &[&str],
        replicates: usize,
        edit: impl Fn(usize, Mechanism, &mut ThresholdRecord),
    ) -> CellResult {
        cell(Market::Threshold, names, replicates, |r, m| {
            let mut record = threshold();
            edit(r, m, &mut record);
            Record::Threshold(record)
        })
    }

    fn judge(
        judge: fn(&Observed<'_>) -> Result<Verdict, ClaimError>,
        keys: &[&str],
        cells: Vec<(Vec<f64>, CellResult)>,
    ) -> Verdict {
        let keys: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
        let (points, results): (Vec<Vec<f64>>, Vec<CellResult>) = cells.into_iter().unzip();
        judge(&Observed {
            keys: &keys,
            points: &points,
            results: &results,
        })
        .expect("a well-formed experiment")
    }

    fn flag(condition: bool) -> f64 {
        f64::from(condition)
    }

    // P1-a ------------------------------------------------------------

    /// A threshold cell: the subsidy fails on odd replicates with
    /// `contributors`, leaking `leak`; withdrawal leaks `withdrawal_leak`.
    fn p1a_cell(contributors: f64, leak: f64, withdrawal_leak: f64) -> CellResult {
        threshold_cell(
            &["subsidy", "withdrawal-simultaneous"],
            6,
            move |r, m, record| {
                let failed = r % 2 == 1;
                if m == Mechanism::Subsidy {
                    record.success = flag(!failed);
                    record.collected = contributors;
                    record.leakage = if failed { leak } else { 0.0 };
                } else {
                    record.leakage = withdrawal_leak;
                }
            },
        )
    }

    #[test]
    fn p1a_holds_when_failures_leak_and_withdrawal_never_does() {
        let verdict = judge(p1a, &["t"], vec![(vec![0.2], p1a_cell(3.0, 3.0, 0.0))]);
        assert!(verdict.holds, "{}", verdict.headline);
        assert_eq!(verdict.rule, Claim::P1a.rule());
    }

    #[test]
    fn p1a_fails_on_a_failure_without_leakage() {
        let verdict = judge(p1a, &["t"], vec![(vec![0.2], p1a_cell(3.0, 0.0, 0.0))]);
        assert!(!verdict.holds);
    }

    #[test]
    fn p1a_fails_when_withdrawal_leaks() {
        let verdict = judge(p1a, &["t"], vec![(vec![0.2], p1a_cell(3.0, 3.0, 1e-12))]);
        assert!(!verdict.holds);
    }

    #[test]
    fn p1a_fails_when_the_data_cannot_test_it() {
        // Failures without a contributor only: vacuous.
        let verdict = judge(p1a, &["t"], vec![(vec![0.2], p1a_cell(0.0, 0.0, 0.0))]);
        assert!(!verdict.holds);
    }

    #[test]
    fn p1a_needs_a_withdrawal_mechanism() {
        let only = threshold_cell(&["subsidy"], 2, |_, _, _| {});
        let error = p1a(&Observed {
            keys: &[],
            points: &[vec![]],
            results: &[only],
        })
        .expect_err("no withdrawal");
        assert!(matches!(error, ClaimError::MissingMechanism { .. }));
    }

    // P1-b ------------------------------------------------------------

    fn p1b_cell(null_on_feasible: bool) -> CellResult {
        threshold_cell(&["withdrawal-small-first"], 4, move |r, _, record| {
            let feasible = r < 2;
            let null = if feasible { null_on_feasible } else { true };
            record.feasible = Some(feasible);
            record.null = Some(null);
            record.collected = if null { 0.0 } else { 4.0 };
        })
    }

    #[test]
    fn p1b_holds_iff_null_exactly_on_infeasible_instances() {
        assert!(judge(p1b, &[], vec![(vec![], p1b_cell(false))]).holds);
        let broken = judge(p1b, &[], vec![(vec![], p1b_cell(true))]);
        assert!(!broken.holds);
        assert_eq!(
            broken.evidence[4],
            ("null_when_feasible".to_owned(), Evidence::Count(2))
        );
    }

    #[test]
    fn p1b_needs_both_kinds_of_instance_and_a_reserve_price() {
        let feasible_only = threshold_cell(&["withdrawal-small-first"], 3, |_, _, record| {
            record.feasible = Some(true);
            record.null = Some(false);
            record.collected = 2.0;
        });
        assert!(!judge(p1b, &[], vec![(vec![], feasible_only)]).holds);
        // Without a reserve price, feasibility does not apply: invalid.
        let unknown = threshold_cell(&["withdrawal-small-first"], 4, |r, _, record| {
            record.feasible = (r > 0).then_some(r < 2);
            record.null = Some(r >= 2);
            record.collected = if r >= 2 { 0.0 } else { 4.0 };
        });
        let verdict = judge(p1b, &[], vec![(vec![], unknown)]);
        assert!(!verdict.holds);
        assert_eq!(
            verdict.evidence[8],
            ("invalid_records".to_owned(), Evidence::Count(1))
        );
    }

    // P1-c ------------------------------------------------------------

    /// Small-first beats simultaneous by `success`, `data` and costs
    /// `extra` more, with some replicate noise.
    fn p1c_cell(success: f64, data: f64, extra: f64) -> CellResult {
        threshold_cell(
            &["withdrawal-simultaneous", "withdrawal-small-first"],
            8,
            move |r, m, record| {
                let noise = 0.01 * (r % 3) as f64;
                let small_first = m == Mechanism::from(SMALL_FIRST);
                let bump = |delta: f64| if small_first { delta + noise } else { 0.0 };
                record.success = 0.5 + bump(success);
                record.expected_data = 3.0 + bump(data);
                record.spend = 2.0 + bump(extra);
                record.participants = 3.0;
            },
        )
    }

    #[test]
    fn p1c_judges_every_cell_with_slack() {
        let keys = ["threshold.slack"];
        let good = p1c_cell(0.1, 0.5, 0.3);
        let tie = p1c_cell(-0.01, -0.01, -0.01);
        // Slack 0 is not judged, whatever happens there.
        assert!(
            judge(
                p1c,
                &keys,
                vec![(vec![0.0], tie.clone()), (vec![0.5], good.clone())]
            )
            .holds
        );
        assert!(
            !judge(
                p1c,
                &keys,
                vec![(vec![0.5], good.clone()), (vec![1.0], tie)]
            )
            .holds
        );
        // Less data under small-first fails.
        assert!(!judge(p1c, &keys, vec![(vec![0.5], p1c_cell(0.1, -0.5, 0.3))]).holds);
        // Small-first cheaper than simultaneous fails.
        assert!(!judge(p1c, &keys, vec![(vec![0.5], p1c_cell(0.1, 0.5, -0.3))]).holds);
        // No cell with slack: nothing tested.
        assert!(!judge(p1c, &keys, vec![(vec![0.0], good)]).holds);
    }

    // P2-a ------------------------------------------------------------

    fn p2a_cell(gain: Option<f64>, ir: u64, budget_ok: bool) -> CellResult {
        procurement_cell(&["qmia"], 3, move |r, _, record| {
            record.unilateral_gain = if r == 2 { gain } else { Some(0.0) };
            record.ir_violations = if r == 1 { ir } else { 0 };
            record.budget_ok = r != 0 || budget_ok;
            record.winners = 2;
            record.cash = 1.0;
            record.budget = 2.0;
        })
    }

    #[test]
    fn p2a_fails_on_any_gain_ir_violation_or_breach() {
        let verdict = |cell: CellResult| judge(p2a, &[], vec![(vec![], cell)]);
        assert!(verdict(p2a_cell(Some(0.0), 0, true)).holds);
        assert!(!verdict(p2a_cell(Some(0.01), 0, true)).holds);
        assert!(!verdict(p2a_cell(Some(0.0), 1, true)).holds);
        assert!(!verdict(p2a_cell(Some(0.0), 0, false)).holds);
        // Unaudited records cannot show the claim.
        let unaudited = verdict(p2a_cell(None, 0, true));
        assert!(!unaudited.holds);
        assert_eq!(
            unaudited.evidence[1],
            ("unaudited_instances".to_owned(), Evidence::Count(1))
        );
    }

    #[test]
    fn p2a_on_a_threshold_experiment_is_an_error_not_a_panic() {
        let threshold = threshold_cell(&["subsidy"], 3, |_, _, _| {});
        let error = p2a(&Observed {
            keys: &[],
            points: &[vec![]],
            results: &[threshold],
        })
        .expect_err("the wrong market");
        assert_eq!(
            error,
            ClaimError::MissingMechanism {
                claim: Claim::P2a,
                mechanism: "qmia".to_owned()
            }
        );
    }

    // P2-b ------------------------------------------------------------

    fn p2b_cell(baseline_value: f64, strategic: bool) -> CellResult {
        procurement_cell(&["qmia", "volume", "trust"], 6, move |r, m, record| {
            let noise = 0.1 * (r % 2) as f64;
            if m == QMIA_M {
                record.value = 2.0 + noise;
            } else {
                record.value = baseline_value + noise * 0.5;
                record.br_rounds = strategic.then_some(3);
                record.br_converged = strategic.then_some(true);
            }
        })
    }

    fn accuracies(margin: f64) -> Accuracies {
        Accuracies {
            mechanisms: vec![Auction::Qmia, Auction::Volume, Auction::Trust],
            runs: (0..4)
                .map(|s| {
                    let noise = 0.01 * f64::from(s);
                    vec![0.7 + noise, 0.7 - margin + noise * 0.5, 0.7 - margin]
                })
                .collect(),
        }
    }

    fn p2b_verdict(cell: CellResult, accuracy: Option<&Accuracies>) -> Verdict {
        let results = [cell];
        p2b(
            &Observed {
                keys: &[],
                points: &[vec![]],
                results: &results,
            },
            accuracy,
        )
        .expect("well-formed")
    }

    #[test]
    fn p2b_needs_both_value_and_accuracy() {
        let good = accuracies(0.05);
        assert!(p2b_verdict(p2b_cell(1.0, true), Some(&good)).holds);
        // Baselines ahead on value.
        assert!(!p2b_verdict(p2b_cell(3.0, true), Some(&good)).holds);
        // Baselines not best-responding: not the claim's setting.
        assert!(!p2b_verdict(p2b_cell(1.0, false), Some(&good)).holds);
        // No real-data runs, or a model no better than the baselines'.
        assert!(!p2b_verdict(p2b_cell(1.0, true), None).holds);
        assert!(!p2b_verdict(p2b_cell(1.0, true), Some(&accuracies(-0.05))).holds);
    }

    // P2-c ------------------------------------------------------------

    fn p2c_cell(qmia_unilateral: f64, qmia_coalition: f64) -> CellResult {
        procurement_cell(&["qmia", "mixed", "volume"], 5, move |r, m, record| {
            let noise = 0.01 * (r % 2) as f64;
            let (u, c) = match m {
                QMIA_M => (qmia_unilateral, qmia_coalition + noise),
                MIXED_M => (0.0, 0.2 + noise),
                _ => (0.5 + noise, 0.6 + noise * 2.0),
            };
            record.unilateral_gain = Some(u);
            record.coalition_gain = Some(c);
            record.budget = 10.0;
        })
    }

    #[test]
    fn p2c_compares_coalitions_with_the_non_dsic_mechanisms() {
        // Q-MIA's coalitions gain, but less than volume's: holds.
        assert!(judge(p2c, &[], vec![(vec![], p2c_cell(0.0, 0.1))]).holds);
        // A profitable misreport under Q-MIA fails.
        assert!(!judge(p2c, &[], vec![(vec![], p2c_cell(0.01, 0.1))]).holds);
        // Coalitions gaining as much as under volume fail.
        assert!(!judge(p2c, &[], vec![(vec![], p2c_cell(0.0, 0.6))]).holds);
    }

    // P2-d ------------------------------------------------------------

    fn p2d_cell(cash: f64, value_drop: f64) -> CellResult {
        procurement_cell(&["qmia", "mixed"], 6, move |r, m, record| {
            let noise = 0.05 * (r % 3) as f64;
            record.budget = 10.0;
            if m == QMIA_M {
                record.value = 3.0 + noise;
                record.cash = 10.0;
            } else {
                record.value = 3.0 + noise - value_drop;
                record.cash = cash + noise;
                record.tokens = 1.0;
            }
        })
    }

    #[test]
    fn p2d_needs_rising_cash_and_value_that_does_not_fall() {
        let keys = ["procurement.liquidity"];
        let rising = |drop: f64| {
            vec![
                (vec![0.5], p2d_cell(5.0, drop)),
                (vec![0.0], p2d_cell(0.0, drop)),
                (vec![1.0], p2d_cell(10.0, 0.0)),
            ]
        };
        assert!(judge(p2d, &keys, rising(0.0)).holds);
        // Value below Q-MIA's at λ < 1.
        assert!(!judge(p2d, &keys, rising(0.5)).holds);
        // Flat cash between two λ.
        let flat = vec![
            (vec![0.5], p2d_cell(10.0, 0.0)),
            (vec![1.0], p2d_cell(10.0, 0.0)),
        ];
        assert!(!judge(p2d, &keys, flat).holds);
        // A single λ cannot show scaling.
        assert!(!judge(p2d, &keys, vec![(vec![0.5], p2d_cell(5.0, 0.0))]).holds);
    }

    #[test]
    fn p2d_judges_each_series_of_the_other_keys() {
        let keys = ["procurement.liquidity", "procurement.budget_fraction"];
        let cells = vec![
            (vec![0.0, 0.1], p2d_cell(0.0, 0.0)),
            (vec![0.0, 0.3], p2d_cell(0.0, 0.0)),
            (vec![1.0, 0.1], p2d_cell(10.0, 0.0)),
            (vec![1.0, 0.3], p2d_cell(10.0, 0.0)),
        ];
        let verdict = judge(p2d, &keys, cells);
        assert!(verdict.holds, "{}", verdict.headline);
        assert_eq!(
            verdict.evidence[0],
            ("cash_steps".to_owned(), Evidence::Count(2))
        );
    }

    // Rules and malformed experiments -----------------------------------

    #[test]
    fn rules_name_the_mechanisms_and_tolerances_the_judges_use() {
        for baseline in BASELINES {
            assert!(Claim::P2b.rule().contains(baseline.name()), "{baseline}");
        }
        for mechanism in NOT_DSIC {
            assert!(Claim::P2c.rule().contains(mechanism.name()), "{mechanism}");
        }
        let gain = format!("{:e}", procura_mechanisms::tolerance::GAIN_RELATIVE);
        assert!(Claim::P2a.rule().contains(&gain), "{gain}");
        for claim in Claim::ALL {
            assert!(claim.rule().contains("holds iff"), "{claim}");
        }
    }

    /// Every judge on every cell given: a verdict or a typed error, never
    /// a panic.
    fn judge_all(keys: &[&str], cells: &[(Vec<f64>, CellResult)]) {
        let keys: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
        let points: Vec<Vec<f64>> = cells.iter().map(|(p, _)| p.clone()).collect();
        let results: Vec<CellResult> = cells.iter().map(|(_, r)| r.clone()).collect();
        let observed = Observed {
            keys: &keys,
            points: &points,
            results: &results,
        };
        let accuracy = accuracies(0.05);
        let ragged = Accuracies {
            mechanisms: vec![Auction::Qmia, Auction::Volume, Auction::Trust],
            runs: vec![vec![0.5], vec![]],
        };
        let _ = p1a(&observed);
        let _ = p1b(&observed);
        let _ = p1c(&observed);
        let _ = p2a(&observed);
        for accuracy in [None, Some(&accuracy), Some(&ragged)] {
            let _ = p2b(&observed, accuracy);
        }
        let _ = p2c(&observed);
        let _ = p2d(&observed);
    }

    /// A record whose every number is `x`, every count `n` and every
    /// field that may not apply present (`Some`) or not.
    fn extreme(market: Market, x: f64, n: u64, some: bool) -> Record {
        match market {
            Market::Procurement => Record::Procurement(ProcurementRecord {
                value: x,
                cash: x,
                tokens: x,
                winners: n,
                volume: x,
                ir_violations: n,
                budget_ok: some,
                br_rounds: some.then_some(n),
                br_converged: some.then_some(some),
                unilateral_gain: some.then_some(x),
                coalition_gain: some.then_some(x),
                budget: x,
            }),
            Market::Threshold => Record::Threshold(ThresholdRecord {
                feasible: some.then_some(some),
                null: some.then_some(some),
                collected: x,
                success: x,
                expected_data: x,
                participants: x,
                spend: x,
                leakage: x,
            }),
        }
    }

    #[test]
    fn judges_never_panic_on_well_formed_cells() {
        let procurement = ["qmia", "mixed", "mut", "volume", "trust"];
        let threshold = [
            "subsidy",
            "withdrawal-simultaneous",
            "withdrawal-small-first",
        ];
        let keys = ["threshold.slack", "procurement.liquidity"];
        let mut shapes = Vec::new();
        for (market, every) in [
            (Market::Procurement, &procurement[..]),
            (Market::Threshold, &threshold[..]),
        ] {
            for replicates in [0, 1, 3, 4] {
                for names in [every, &every[..1], &[][..]] {
                    // Extreme numbers: huge counts, infinities and NaNs;
                    // values whose variances underflow (Welch's ν is ∞).
                    let huge = [1e300, f64::INFINITY, -1e300, f64::NAN];
                    let tiny = [0.0, 5e-81, 0.0, 5e-81];
                    for values in [&huge[..], &tiny[..]] {
                        for some in [true, false] {
                            shapes.push(cell(market, names, replicates, |r, _| {
                                let n = if r % 2 == 0 { u64::MAX } else { 0 };
                                extreme(market, values[r % values.len()], n, some)
                            }));
                        }
                    }
                }
            }
        }
        for shape in &shapes {
            judge_all(&keys, &[(vec![0.5, 0.5], shape.clone())]);
            judge_all(&[], &[(vec![], shape.clone())]);
            // Two λ of one series: P2-d compares their cash.
            for other in [shape, &shapes[0]] {
                judge_all(
                    &keys,
                    &[
                        (vec![0.5, 0.0], shape.clone()),
                        (vec![0.5, 1.0], other.clone()),
                    ],
                );
            }
        }
        // No cells, and points that do not match the keys or the cells.
        judge_all(&keys, &[]);
        let error = p2a(&Observed {
            keys: &[],
            points: &[vec![1.0]],
            results: &shapes[..1],
        })
        .expect_err("a point without a key");
        assert!(matches!(error, ClaimError::Shape { .. }));
    }

    #[test]
    fn claim_ids_round_trip() {
        for claim in Claim::ALL {
            assert_eq!(claim.id().parse::<Claim>(), Ok(claim));
        }
        assert!("P3-a".parse::<Claim>().is_err());
    }
}
