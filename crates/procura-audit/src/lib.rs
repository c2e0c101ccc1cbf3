//! The mechanism auditor: searches a mechanism for profitable misreports,
//! profitable coalitions, broken individual rationality and broken budgets,
//! and returns counterexamples that anyone can replay.
//!
//! The instance's reports are taken as the participants' true types. For
//! each participant the search tries:
//!
//! 1. the mechanism's critical reports ([`ReportGame::critical_reports`]:
//!    other participants' ratios and costs, budget-share boundaries) and
//!    their ε-neighbourhoods, where a jump in the outcome is won or lost;
//! 2. a uniform grid of `grid` points per report field over
//!    [`ReportGame::report_bounds`];
//! 3. local refinement (a pattern search with shrinking steps) from the best
//!    report found, to climb to the supremum of a gain that rises up to a
//!    jump, as over-bidding does under pay-as-bid.
//!
//! Coalitions of up to `coalition_size` members (all of them, or a seeded
//! sample when there are more than `max_coalitions`) search the product of
//! short per-member candidate lists (truth, dropping out, the member's best
//! unilateral report and spread critical reports), then refine one member at
//! a time. A coalition's gain is the sum of its members' gains: side
//! payments are allowed, which is what makes collusion worth measuring.
//!
//! **Every reported gain replays exactly**: it is the difference of two
//! evaluations of the mechanism, one at the truthful reports and one at the
//! reported deviation, both of which anyone can recompute.

pub mod certificate;
pub mod strategic;

use rand::seq::index::sample;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use procura_mechanisms::game::{Evaluation, GameError, ReportGame};
use procura_mechanisms::tolerance::GAIN_RELATIVE;

pub use certificate::{certify, Certificate};
pub use strategic::{best_response_dynamics, BestResponseConfig, Equilibrium, StrategicError};

/// How hard the auditor searches. Built from a named preset
/// ([`AuditConfig::thorough`] for one instance, [`AuditConfig::sampled`] for
/// many) and validating setters, so that **every `AuditConfig` is within the
/// limits below**: no config can make the auditor allocate or enumerate
/// without bound.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditConfig {
    grid: usize,
    coalition_size: usize,
    max_coalitions: usize,
    max_participants: Option<usize>,
    seed: u64,
}

/// The largest grid, in points per report field.
pub const MAX_GRID: usize = 10_000;
/// The largest coalition searched. Every member tries at least its truth
/// and dropping out, so a coalition of k tries at least 2^k joint reports;
/// 2^8 is the auditor's budget of joint reports per coalition.
pub const MAX_COALITION_SIZE: usize = 8;
/// The most coalitions searched per size (enumerated, or sampled above it).
pub const MAX_COALITIONS: usize = 100_000;

impl AuditConfig {
    /// One instance, searched thoroughly (`procura audit INSTANCE`): a
    /// 64-point grid, coalitions of up to 2, all of them up to 2,000 (a
    /// seeded sample above), every participant's unilateral deviations.
    #[must_use]
    pub fn thorough() -> AuditConfig {
        AuditConfig {
            grid: 64,
            coalition_size: 2,
            max_coalitions: 2000,
            max_participants: None,
            seed: 0,
        }
    }

    /// Many instances, each searched lightly (`procura audit --population`
    /// and an experiment's `[audit]` table): a 16-point grid, coalitions of
    /// up to 2, a seeded sample of 10 coalitions and of 10 participants.
    #[must_use]
    pub fn sampled() -> AuditConfig {
        AuditConfig {
            grid: 16,
            coalition_size: 2,
            max_coalitions: 10,
            max_participants: Some(10),
            seed: 0,
        }
    }

    /// Grid points per report field, 1 ..= [`MAX_GRID`].
    pub fn with_grid(self, grid: usize) -> Result<AuditConfig, ConfigError> {
        within("grid", grid, 1, MAX_GRID)?;
        Ok(AuditConfig { grid, ..self })
    }

    /// Largest coalition searched, 1 ..= [`MAX_COALITION_SIZE`]; 1 searches
    /// no coalitions.
    pub fn with_coalition_size(self, coalition_size: usize) -> Result<AuditConfig, ConfigError> {
        within("coalition_size", coalition_size, 1, MAX_COALITION_SIZE)?;
        Ok(AuditConfig {
            coalition_size,
            ..self
        })
    }

    /// Above this many coalitions of a size, a seeded sample of this many is
    /// searched; 1 ..= [`MAX_COALITIONS`].
    pub fn with_max_coalitions(self, max_coalitions: usize) -> Result<AuditConfig, ConfigError> {
        within("max_coalitions", max_coalitions, 1, MAX_COALITIONS)?;
        Ok(AuditConfig {
            max_coalitions,
            ..self
        })
    }

    /// Above this many participants, the unilateral search covers a seeded
    /// sample of this many (≥ 1), and coalitions are drawn among all;
    /// `None` searches everyone.
    pub fn with_max_participants(
        self,
        max_participants: Option<usize>,
    ) -> Result<AuditConfig, ConfigError> {
        if let Some(limit) = max_participants.filter(|&limit| limit < 1) {
            return Err(ConfigError::TooSmall {
                field: "max_participants",
                value: limit,
                low: 1,
            });
        }
        Ok(AuditConfig {
            max_participants,
            ..self
        })
    }

    /// The seed of the coalition and participant samples (ChaCha8).
    #[must_use]
    pub fn with_seed(self, seed: u64) -> AuditConfig {
        AuditConfig { seed, ..self }
    }

    /// Grid points per report field.
    #[must_use]
    pub fn grid(&self) -> usize {
        self.grid
    }

    /// Largest coalition searched (1: none).
    #[must_use]
    pub fn coalition_size(&self) -> usize {
        self.coalition_size
    }

    /// Above this many coalitions of a size, a seeded sample of this many.
    #[must_use]
    pub fn max_coalitions(&self) -> usize {
        self.max_coalitions
    }

    /// The participant sample size, or `None` for everyone.
    #[must_use]
    pub fn max_participants(&self) -> Option<usize> {
        self.max_participants
    }

    /// The seed of the coalition and participant samples.
    #[must_use]
    pub fn seed(&self) -> u64 {
        self.seed
    }
}

/// A config value outside its limits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A count outside `low ..= high`.
    #[error("{field}: {value} is not between {low} and {high}")]
    OutOfRange {
        /// The config field, as in TOML files (`grid`, `coalition_size`, …).
        field: &'static str,
        /// The refused value.
        value: usize,
        /// The least value allowed.
        low: usize,
        /// The largest value allowed.
        high: usize,
    },
    /// A count below `low`, where there is no upper limit.
    #[error("{field}: {value} is not at least {low}")]
    TooSmall {
        /// The config field, as in TOML files (`max_participants`).
        field: &'static str,
        /// The refused value.
        value: usize,
        /// The least value allowed.
        low: usize,
    },
}

fn within(field: &'static str, value: usize, low: usize, high: usize) -> Result<(), ConfigError> {
    if (low..=high).contains(&value) {
        Ok(())
    } else {
        Err(ConfigError::OutOfRange {
            field,
            value,
            low,
            high,
        })
    }
}

/// A profitable deviation: who lies, what they report, and what they gain.
#[derive(Debug, Clone, PartialEq)]
pub struct Deviation {
    /// The deviating participants (one for a unilateral deviation).
    pub participants: Vec<usize>,
    /// Each participant's report, in [`ReportGame::report_fields`] order.
    pub reports: Vec<Vec<f64>>,
    /// Σ over the participants of utility(deviation) − utility(truth).
    pub gain: f64,
}

/// What an audit found.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditReport {
    /// The largest unilateral gain found (0 when truth is best).
    pub max_unilateral_gain: f64,
    /// The deviation achieving it, when it exceeds the tolerance.
    pub deviation: Option<Deviation>,
    /// Participants whose truthful outcome leaves them worse off than
    /// staying out.
    pub ir_violations: usize,
    /// Whether the truthful outcome keeps every budget.
    pub budget_ok: bool,
    /// The largest coalition gain found (0 when no coalition gains).
    pub max_coalition_gain: f64,
    /// The coalition achieving it, when it exceeds the tolerance.
    pub coalition: Option<Deviation>,
    /// How many times the mechanism was run.
    pub evaluations: u64,
    /// Whether the search was a seeded sample: it left out some
    /// participants' unilateral deviations (`max_participants`) or some
    /// coalitions of a size (`max_coalitions`). A sampled search can miss
    /// gains, and its coalition gain can be below a unilateral gain it
    /// found (the best deviator may be in no coalition searched).
    pub sampled: bool,
}

/// Whether `gain` is a real gain and not rounding: above
/// [`GAIN_RELATIVE`] times `scale`, the magnitude of the instance's
/// utilities and reports (see [`audit`]). No floor at 1, so that markets
/// priced in tiny units are audited as carefully as any other.
#[must_use]
pub fn is_profitable(gain: f64, scale: f64) -> bool {
    gain > 0.0 && gain > GAIN_RELATIVE * scale.abs()
}

/// Recomputes the gain of `deviation` on `truth` from scratch: the replay
/// check any reader of an audit can run. `Ok(None)` when a report is
/// outside its field's domain; an error when the deviation names a
/// participant `truth` does not have.
pub fn replay<M: ReportGame>(
    mechanism: &M,
    truth: &M::Instance,
    deviation: &Deviation,
) -> Result<Option<f64>, GameError> {
    let changes: Vec<(usize, &[f64])> = deviation
        .participants
        .iter()
        .zip(&deviation.reports)
        .map(|(&participant, report)| (participant, report.as_slice()))
        .collect();
    let Some(reported) = mechanism.with_reports(truth, &changes)? else {
        return Ok(None);
    };
    let before = mechanism.evaluate(truth, truth)?;
    let after = mechanism.evaluate(truth, &reported)?;
    Ok(deviation
        .participants
        .iter()
        .map(|&participant| Some(after.utility(participant)? - before.utility(participant)?))
        .sum())
}

/// Audits `instance` under `mechanism`, taking its reports as the truth.
///
/// Parallel over participants and coalitions (rayon); results are reduced
/// in participant and coalition order, so the report is the same on any
/// number of threads.
pub fn audit<M: ReportGame>(
    mechanism: &M,
    instance: &M::Instance,
    config: &AuditConfig,
) -> AuditReport {
    let n = mechanism.participants(instance);
    let truthful = truthful_evaluation(mechanism, instance, n);
    let searched = searched_participants(n, config);
    let searches: Vec<UnilateralSearch> = (0..n)
        .into_par_iter()
        .map(|participant| {
            if searched.binary_search(&participant).is_ok() {
                search_unilateral(
                    mechanism,
                    instance,
                    &truthful.utilities,
                    participant,
                    config,
                )
            } else {
                unsearched(mechanism, instance, participant)
            }
        })
        .collect();

    let mut evaluations = 1;
    let mut best: Option<Deviation> = None;
    let mut max_unilateral_gain = 0.0f64;
    for (participant, search) in searches.iter().enumerate() {
        evaluations += search.evaluations;
        if search.best_gain > max_unilateral_gain {
            max_unilateral_gain = search.best_gain;
            best = Some(Deviation {
                participants: vec![participant],
                reports: vec![search.best_report.clone()],
                gain: search.best_gain,
            });
        }
    }
    let scale = instance_scale(mechanism, instance, &truthful.utilities);
    let deviation = best.filter(|deviation| is_profitable(deviation.gain, scale));

    let coalitions = coalitions(n, config);
    let sampled = searched.len() < n || coalitions_sampled(n, config);
    let results: Vec<(Deviation, u64)> = coalitions
        .par_iter()
        .map(|members| {
            search_coalition(mechanism, instance, &truthful.utilities, members, &searches)
        })
        .collect();
    let mut max_coalition_gain = 0.0f64;
    let mut coalition = None;
    for (found, count) in results {
        evaluations += count;
        if found.gain > max_coalition_gain {
            max_coalition_gain = found.gain;
            coalition = Some(found);
        }
    }
    let coalition = coalition.filter(|found| is_profitable(found.gain, scale));

    AuditReport {
        max_unilateral_gain,
        deviation,
        ir_violations: truthful.ir_violations,
        budget_ok: truthful.budget_ok,
        max_coalition_gain,
        coalition,
        evaluations,
        sampled,
    }
}

/// The instance evaluated at its own reports, with one utility per
/// participant. A game cannot mismatch an instance with itself
/// ([`ReportGame`]'s contract), so the fallback (nobody gains anything,
/// every check fails) only keeps a game that breaks it from panicking.
fn truthful_evaluation<M: ReportGame>(
    mechanism: &M,
    instance: &M::Instance,
    n: usize,
) -> Evaluation {
    let mut truthful = mechanism
        .evaluate(instance, instance)
        .unwrap_or_else(|_| Evaluation {
            utilities: Vec::new(),
            ir_violations: n,
            budget_ok: false,
        });
    truthful.utilities.resize(n, 0.0);
    truthful
}

/// The participants whose unilateral deviations are searched, ascending:
/// everyone, or a seeded sample of `max_participants`.
fn searched_participants(n: usize, config: &AuditConfig) -> Vec<usize> {
    match config.max_participants {
        Some(limit) if limit < n => {
            let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
            rng.set_stream(u64::MAX);
            let mut chosen = sample(&mut rng, n, limit).into_vec();
            chosen.sort_unstable();
            chosen
        }
        _ => (0..n).collect(),
    }
}

/// A participant left out of a sampled search still joins coalitions, with
/// its truth, dropping out and its critical reports as candidates.
fn unsearched<M: ReportGame>(
    mechanism: &M,
    instance: &M::Instance,
    participant: usize,
) -> UnilateralSearch {
    let Ok(probe) = Probe::new(mechanism, instance, participant) else {
        return UnilateralSearch::empty();
    };
    UnilateralSearch {
        best_gain: 0.0,
        coalition_candidates: coalition_candidates(
            &probe.truth_report,
            &probe.truth_report,
            &probe.critical,
            &probe.bounds,
        ),
        best_report: probe.truth_report.clone(),
        truth_report: probe.truth_report,
        evaluations: 0,
    }
}

/// What the search needs to know of one participant: its truthful report,
/// its critical reports and the box its reports range over.
struct Probe {
    truth_report: Vec<f64>,
    critical: Vec<Vec<f64>>,
    bounds: Vec<(f64, f64)>,
}

impl Probe {
    /// Fails only for a participant the instance does not have, which the
    /// auditor, asking about 0..participants, never names.
    fn new<M: ReportGame>(
        mechanism: &M,
        instance: &M::Instance,
        participant: usize,
    ) -> Result<Probe, GameError> {
        let truth_report = mechanism.report(instance, participant)?;
        let critical = mechanism.critical_reports(instance, participant)?;
        let mut bounds = mechanism.report_bounds(instance, participant)?;
        // One box per field of the report, so that no field is indexed
        // past either.
        bounds.truncate(truth_report.len());
        Ok(Probe {
            truth_report,
            critical,
            bounds,
        })
    }
}

/// A short list of reports worth combining in coalitions: the truth,
/// dropping out (the top of every field's range is an unwinnable report),
/// the best unilateral report, and critical reports spread over the list.
fn coalition_candidates(
    truth_report: &[f64],
    best_report: &[f64],
    critical: &[Vec<f64>],
    bounds: &[(f64, f64)],
) -> Vec<Vec<f64>> {
    let mut candidates = vec![truth_report.to_vec()];
    candidates.push(bounds.iter().map(|&(_, high)| high).collect());
    candidates.push(best_report.to_vec());
    let spread = COALITION_CANDIDATES.saturating_sub(candidates.len()).max(1);
    if !critical.is_empty() {
        let step = critical.len().div_ceil(spread);
        candidates.extend(critical.iter().step_by(step.max(1)).cloned());
    }
    candidates.dedup();
    candidates
}

/// The magnitude rounding is measured against: the largest truthful
/// utility or reported number (a bid, a cost), whatever their units.
fn instance_scale<M: ReportGame>(mechanism: &M, instance: &M::Instance, utilities: &[f64]) -> f64 {
    let reports = (0..mechanism.participants(instance))
        .flat_map(|participant| mechanism.report(instance, participant).unwrap_or_default())
        .filter(|value| value.is_finite());
    utilities
        .iter()
        .copied()
        .chain(reports)
        .fold(0.0f64, |scale, value| scale.max(value.abs()))
}

/// The result of one participant's search, kept for the coalition search.
struct UnilateralSearch {
    best_gain: f64,
    best_report: Vec<f64>,
    truth_report: Vec<f64>,
    /// Short, spread list of reports worth combining in coalitions (the
    /// truth first); empty only for a participant the game does not know.
    coalition_candidates: Vec<Vec<f64>>,
    evaluations: u64,
}

impl UnilateralSearch {
    /// Nothing to search: a participant the game does not know.
    fn empty() -> UnilateralSearch {
        UnilateralSearch {
            best_gain: 0.0,
            best_report: Vec::new(),
            truth_report: Vec::new(),
            coalition_candidates: Vec::new(),
            evaluations: 0,
        }
    }
}

/// Candidate reports per member in a coalition search.
const COALITION_CANDIDATES: usize = 6;
/// Joint reports tried per coalition before refinement, whatever its size
/// (but at least truth and dropping out for every member).
const COALITION_PRODUCT: usize = 256;
/// Pattern-search rounds of local refinement.
const REFINE_ROUNDS: usize = 48;
/// Most candidate reports of one unilateral search allocated up front (the
/// list grows past it if it must).
const CANDIDATES_CAPACITY: usize = 1 << 20;

/// Relative half-width of the ε-neighbourhood tried around each critical
/// report: a search step of the auditor, not a tolerance of a mechanism.
const NEIGHBOURHOOD_RELATIVE: f64 = 1e-9;

/// ε-neighbourhood of a critical value: just below, at, and just above it
/// (the supremum of a winning bid is often attained only in the limit).
fn neighbourhood(value: f64) -> [f64; 3] {
    // Relative, so that it scales down with tiny units; at 0 the only
    // neighbour that matters is 0 itself.
    let epsilon = value.abs() * NEIGHBOURHOOD_RELATIVE;
    [value - epsilon, value, value + epsilon]
}

fn search_unilateral<M: ReportGame>(
    mechanism: &M,
    truth: &M::Instance,
    truthful: &[f64],
    participant: usize,
    config: &AuditConfig,
) -> UnilateralSearch {
    let Ok(Probe {
        truth_report,
        critical,
        bounds,
    }) = Probe::new(mechanism, truth, participant)
    else {
        return UnilateralSearch::empty();
    };
    let truthful_utility = truthful[participant];
    let mut evaluations = 0u64;
    // Gains as the mechanism's (possibly faster) unilateral screen sees them.
    let mut screen = |reports: &[Vec<f64>]| -> Vec<Option<f64>> {
        evaluations += reports.len() as u64;
        match mechanism.unilateral_utilities(truth, participant, reports) {
            Ok(utilities) => utilities
                .into_iter()
                .map(|utility| utility.map(|u| u - truthful_utility))
                .collect(),
            Err(_) => vec![None; reports.len()],
        }
    };

    // Critical reports with their ε-neighbourhoods in the first field (the
    // bid or cost, where the jumps are), then the grid.
    let mut candidates: Vec<Vec<f64>> = Vec::with_capacity(
        critical
            .len()
            .saturating_mul(3)
            .saturating_add(config.grid.saturating_mul(bounds.len()))
            .min(CANDIDATES_CAPACITY),
    );
    for report in &critical {
        let Some(&first) = report.first() else {
            continue;
        };
        for first in neighbourhood(first) {
            let mut report = report.clone();
            report[0] = first;
            candidates.push(report);
        }
    }
    for (field, &(low, high)) in bounds.iter().enumerate() {
        for k in 0..=config.grid {
            let mut report = truth_report.clone();
            report[field] = low + (high - low) * (k as f64 / config.grid.max(1) as f64);
            candidates.push(report);
        }
    }

    let mut best: Option<(f64, usize)> = None;
    for (k, gain) in screen(&candidates)
        .into_iter()
        .take(candidates.len())
        .enumerate()
    {
        if let Some(gain) = gain {
            if gain > 0.0 && best.is_none_or(|(top, _)| gain > top) {
                best = Some((gain, k));
            }
        }
    }
    let mut best_report = truth_report.clone();
    if let Some((gain, k)) = best {
        let (_, report) = refine(&mut screen, candidates[k].clone(), gain, &bounds);
        best_report = report;
    }

    // The reported gain is always a full evaluation of the mechanism, so it
    // replays exactly, whatever the screen computed.
    let mut best_gain = 0.0;
    if best.is_some() {
        if let Ok(Some(reported)) = mechanism.with_report(truth, participant, &best_report) {
            evaluations += 1;
            let utility = mechanism
                .evaluate(truth, &reported)
                .ok()
                .and_then(|evaluation| evaluation.utility(participant));
            match utility.map(|utility| utility - truthful_utility) {
                Some(gain) if gain > 0.0 => best_gain = gain,
                _ => best_report = truth_report.clone(),
            }
        }
    }

    UnilateralSearch {
        best_gain,
        coalition_candidates: coalition_candidates(&truth_report, &best_report, &critical, &bounds),
        best_report,
        truth_report,
        evaluations,
    }
}

/// Pattern search from `start`: try a step up and down in each field (one
/// batch per round, scored by `gains_of`), move to the best improvement,
/// halve the steps when nothing improves.
fn refine(
    gains_of: &mut impl FnMut(&[Vec<f64>]) -> Vec<Option<f64>>,
    start: Vec<f64>,
    start_gain: f64,
    bounds: &[(f64, f64)],
) -> (f64, Vec<f64>) {
    let mut report = start;
    let mut gain = start_gain;
    let mut steps: Vec<f64> = bounds
        .iter()
        .map(|&(low, high)| (high - low) / 64.0)
        .collect();
    for _ in 0..REFINE_ROUNDS {
        // Fields without bounds are not moved.
        let trials: Vec<Vec<f64>> = (0..report.len().min(bounds.len()))
            .flat_map(|field| [1.0, -1.0].map(|direction| (field, direction)))
            .map(|(field, direction)| {
                let mut trial = report.clone();
                trial[field] = (trial[field] + direction * steps[field])
                    .clamp(bounds[field].0, bounds[field].1);
                trial
            })
            .collect();
        let mut best_trial: Option<(f64, usize)> = None;
        for (k, trial_gain) in gains_of(&trials).into_iter().take(trials.len()).enumerate() {
            if let Some(trial_gain) = trial_gain {
                if trial_gain > gain && best_trial.is_none_or(|(top, _)| trial_gain > top) {
                    best_trial = Some((trial_gain, k));
                }
            }
        }
        match best_trial {
            Some((trial_gain, k)) => {
                gain = trial_gain;
                report = trials[k].clone();
            }
            None => {
                for step in &mut steps {
                    *step /= 2.0;
                }
            }
        }
    }
    (gain, report)
}

/// The coalitions to search: every set of 2 ..= `coalition_size` members
/// in lexicographic order, or a seeded sample of `max_coalitions` of them.
fn coalitions(n: usize, config: &AuditConfig) -> Vec<Vec<usize>> {
    let mut all = Vec::new();
    for size in 2..=config.coalition_size.min(n) {
        let count = binomial(n, size);
        if count <= config.max_coalitions as u128 {
            let mut members: Vec<usize> = (0..size).collect();
            loop {
                all.push(members.clone());
                if !next_combination(&mut members, n) {
                    break;
                }
            }
        } else {
            let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
            rng.set_stream(size as u64);
            let mut seen = std::collections::BTreeSet::new();
            // Rejection sampling of distinct sorted subsets; the cap keeps it
            // finite even if the sample were most of the space.
            let mut tries = 0;
            while seen.len() < config.max_coalitions
                && tries < config.max_coalitions.saturating_mul(20)
            {
                tries += 1;
                let mut members = sample(&mut rng, n, size).into_vec();
                members.sort_unstable();
                seen.insert(members);
            }
            all.extend(seen);
        }
    }
    all
}

/// Whether [`coalitions`] samples the coalitions of some size rather than
/// searching them all.
fn coalitions_sampled(n: usize, config: &AuditConfig) -> bool {
    (2..=config.coalition_size.min(n)).any(|size| binomial(n, size) > config.max_coalitions as u128)
}

fn binomial(n: usize, k: usize) -> u128 {
    (0..k).fold(1u128, |acc, i| {
        acc.saturating_mul((n - i) as u128) / (i as u128 + 1)
    })
}

/// Advances `members` to the next k-subset of 0..n in lexicographic order.
fn next_combination(members: &mut [usize], n: usize) -> bool {
    let k = members.len();
    for i in (0..k).rev() {
        if members[i] < n - k + i {
            members[i] += 1;
            for j in i + 1..k {
                members[j] = members[j - 1] + 1;
            }
            return true;
        }
    }
    false
}

fn search_coalition<M: ReportGame>(
    mechanism: &M,
    truth: &M::Instance,
    truthful: &[f64],
    members: &[usize],
    searches: &[UnilateralSearch],
) -> (Deviation, u64) {
    let mut evaluations = 0u64;
    let mut gain_of = |reports: &[Vec<f64>]| -> Option<f64> {
        let changes: Vec<(usize, &[f64])> = members
            .iter()
            .zip(reports)
            .map(|(&member, report)| (member, report.as_slice()))
            .collect();
        let reported = mechanism.with_reports(truth, &changes).ok()??;
        evaluations += 1;
        let evaluation = mechanism.evaluate(truth, &reported).ok()?;
        members
            .iter()
            .map(|&m| Some(evaluation.utility(m)? - truthful[m]))
            .sum()
    };

    // At most COALITION_PRODUCT joint reports: each member's list is cut
    // to the largest L with L^k ≤ COALITION_PRODUCT (truth and dropping out
    // come first, so they always stay).
    let per_member = (2..=COALITION_CANDIDATES)
        .rev()
        .find(|&l| (l as f64).powi(members.len() as i32) <= COALITION_PRODUCT as f64)
        .unwrap_or(2);
    let lists: Vec<&[Vec<f64>]> = members
        .iter()
        .map(|&m| {
            let list = searches[m].coalition_candidates.as_slice();
            &list[..list.len().min(per_member)]
        })
        .collect();
    let truth_reports: Vec<Vec<f64>> = members
        .iter()
        .map(|&m| searches[m].truth_report.clone())
        .collect();
    let mut best_gain = 0.0;
    let mut best_reports = truth_reports;
    // A member the game does not know has no candidates: nothing to search.
    let mut index = vec![0usize; members.len()];
    let mut searching = lists.iter().all(|list| !list.is_empty());
    while searching {
        let reports: Vec<Vec<f64>> = index
            .iter()
            .zip(&lists)
            .map(|(&i, list)| list[i].clone())
            .collect();
        if let Some(gain) = gain_of(&reports) {
            if gain > best_gain {
                best_gain = gain;
                best_reports = reports;
            }
        }
        // Odometer over the product of the lists.
        let mut position = 0;
        loop {
            if position == index.len() {
                break;
            }
            index[position] += 1;
            if index[position] < lists[position].len() {
                break;
            }
            index[position] = 0;
            position += 1;
        }
        searching = position < index.len();
    }

    // Refine one member at a time, the others held at the best reports, when
    // the coalition does better than its best member alone (otherwise the
    // unilateral search has refined that member already).
    let best_alone = members
        .iter()
        .map(|&m| searches[m].best_gain)
        .fold(0.0, f64::max);
    if best_gain > best_alone {
        for (slot, &member) in members.iter().enumerate() {
            let Ok(mut bounds) = mechanism.report_bounds(truth, member) else {
                continue;
            };
            bounds.truncate(best_reports[slot].len());
            let base = best_reports.clone();
            let mut member_gain = |trials: &[Vec<f64>]| -> Vec<Option<f64>> {
                trials
                    .iter()
                    .map(|report| {
                        let mut reports = base.clone();
                        reports[slot] = report.clone();
                        gain_of(&reports)
                    })
                    .collect()
            };
            let (gain, report) = refine(
                &mut member_gain,
                best_reports[slot].clone(),
                best_gain,
                &bounds,
            );
            if gain > best_gain {
                best_gain = gain;
                best_reports[slot] = report;
            }
        }
    }

    (
        Deviation {
            participants: members.to_vec(),
            reports: best_reports,
            gain: best_gain,
        },
        evaluations,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use procura_mechanisms::procurement::{Auction, Instance, InstanceSpec, ProviderSpec};

    fn market(providers: usize) -> Instance {
        let providers = (0..providers)
            .map(|i| ProviderSpec::new(format!("p{i}"), 1.0 + i as f64 / 10.0, 0.8, 1.0))
            .collect();
        Instance::new(InstanceSpec {
            budget: 3.0,
            providers,
            ..InstanceSpec::default()
        })
        .expect("valid")
    }

    /// A report says whether its search was a sample: of participants, or
    /// of the coalitions of a size.
    #[test]
    fn a_report_says_whether_its_search_was_sampled() {
        let check = |config: AuditConfig, sampled: bool| {
            let report = audit(&Auction::Qmia, &market(6), &config);
            assert_eq!(report.sampled, sampled, "{config:?}");
        };
        check(AuditConfig::thorough().with_grid(4).expect("valid"), false);
        // C(6, 2) = 15 pairs.
        let few = |max_coalitions| {
            AuditConfig::thorough()
                .with_grid(4)
                .and_then(|config| config.with_max_coalitions(max_coalitions))
                .expect("valid")
        };
        check(few(15), false);
        check(few(14), true);
        let participants = |limit| few(15).with_max_participants(Some(limit)).expect("valid");
        check(participants(6), false);
        check(participants(5), true);
        check(AuditConfig::sampled().with_grid(4).expect("valid"), true);
    }

    #[test]
    fn limits_without_a_top_say_so() {
        let error = AuditConfig::sampled()
            .with_max_participants(Some(0))
            .expect_err("0 participants");
        assert_eq!(error.to_string(), "max_participants: 0 is not at least 1");
    }
}
