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

use procura_mechanisms::game::ReportGame;
use procura_mechanisms::tolerance::GAIN_RELATIVE;

pub use certificate::{certify, Certificate};
pub use strategic::{best_response_dynamics, BestResponseConfig, Equilibrium, StrategicError};

/// How hard the auditor searches.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditConfig {
    /// Grid points per report field.
    pub grid: usize,
    /// Largest coalition searched (0 or 1: no coalitions).
    pub coalition_size: usize,
    /// Above this many coalitions, a seeded sample of this many is searched.
    pub max_coalitions: usize,
    /// Above this many participants, the unilateral search covers a seeded
    /// sample of this many (and coalitions are drawn among all). `None`
    /// searches everyone; population audits use a sample to stay fast.
    pub max_participants: Option<usize>,
    /// Seed of the coalition and participant samples (ChaCha8).
    pub seed: u64,
}

impl Default for AuditConfig {
    fn default() -> AuditConfig {
        AuditConfig {
            grid: 64,
            coalition_size: 2,
            max_coalitions: 2000,
            max_participants: None,
            seed: 0,
        }
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
}

/// Whether `gain` is a real gain and not rounding: above
/// [`GAIN_RELATIVE`] times `scale`, the magnitude of the instance's
/// utilities and reports (see [`audit`]). No floor at 1, so that markets
/// priced in tiny units are audited as carefully as any other.
pub fn is_profitable(gain: f64, scale: f64) -> bool {
    gain > 0.0 && gain > GAIN_RELATIVE * scale.abs()
}

/// Recomputes the gain of `deviation` on `truth` from scratch: the replay
/// check any reader of an audit can run.
pub fn replay<M: ReportGame>(
    mechanism: &M,
    truth: &M::Instance,
    deviation: &Deviation,
) -> Option<f64> {
    let changes: Vec<(usize, &[f64])> = deviation
        .participants
        .iter()
        .zip(&deviation.reports)
        .map(|(&participant, report)| (participant, report.as_slice()))
        .collect();
    let reported = mechanism.with_reports(truth, &changes)?;
    let before = mechanism.evaluate(truth, truth);
    let after = mechanism.evaluate(truth, &reported);
    Some(
        deviation
            .participants
            .iter()
            .map(|&participant| after.utilities[participant] - before.utilities[participant])
            .sum(),
    )
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
    let truthful = mechanism.evaluate(instance, instance);
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
    }
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
    let truth_report = mechanism.report(instance, participant);
    let critical = mechanism.critical_reports(instance, participant);
    let bounds = mechanism.report_bounds(instance, participant);
    UnilateralSearch {
        best_gain: 0.0,
        coalition_candidates: coalition_candidates(
            &truth_report,
            &truth_report,
            &critical,
            &bounds,
        ),
        best_report: truth_report,
        evaluations: 0,
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
        .flat_map(|participant| mechanism.report(instance, participant))
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
    /// Short, spread list of reports worth combining in coalitions.
    coalition_candidates: Vec<Vec<f64>>,
    evaluations: u64,
}

/// Candidate reports per member in a coalition search.
const COALITION_CANDIDATES: usize = 6;
/// Joint reports tried per coalition before refinement, whatever its size
/// (but at least truth and dropping out for every member).
const COALITION_PRODUCT: usize = 256;
/// Pattern-search rounds of local refinement.
const REFINE_ROUNDS: usize = 48;

/// ε-neighbourhood of a critical value: just below, at, and just above it
/// (the supremum of a winning bid is often attained only in the limit).
fn neighbourhood(value: f64) -> [f64; 3] {
    // Relative, so that it scales down with tiny units; at 0 the only
    // neighbour that matters is 0 itself.
    let epsilon = value.abs() * 1e-9;
    [value - epsilon, value, value + epsilon]
}

fn search_unilateral<M: ReportGame>(
    mechanism: &M,
    truth: &M::Instance,
    truthful: &[f64],
    participant: usize,
    config: &AuditConfig,
) -> UnilateralSearch {
    let truth_report = mechanism.report(truth, participant);
    let bounds = mechanism.report_bounds(truth, participant);
    let mut evaluations = 0u64;
    // Gains as the mechanism's (possibly faster) unilateral screen sees them.
    let mut screen = |reports: &[Vec<f64>]| -> Vec<Option<f64>> {
        evaluations += reports.len() as u64;
        mechanism
            .unilateral_utilities(truth, participant, reports)
            .into_iter()
            .map(|utility| utility.map(|u| u - truthful[participant]))
            .collect()
    };

    // Critical reports with their ε-neighbourhoods in the first field (the
    // bid or cost, where the jumps are), then the grid.
    let critical = mechanism.critical_reports(truth, participant);
    let mut candidates: Vec<Vec<f64>> =
        Vec::with_capacity(critical.len() * 3 + config.grid * bounds.len());
    for report in &critical {
        for first in neighbourhood(report[0]) {
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
    for (k, gain) in screen(&candidates).into_iter().enumerate() {
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
        if let Some(reported) = mechanism.with_report(truth, participant, &best_report) {
            evaluations += 1;
            let gain =
                mechanism.evaluate(truth, &reported).utilities[participant] - truthful[participant];
            if gain > 0.0 {
                best_gain = gain;
            } else {
                best_report = truth_report.clone();
            }
        }
    }

    UnilateralSearch {
        best_gain,
        coalition_candidates: coalition_candidates(&truth_report, &best_report, &critical, &bounds),
        best_report,
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
        let trials: Vec<Vec<f64>> = (0..report.len())
            .flat_map(|field| [1.0, -1.0].map(|direction| (field, direction)))
            .map(|(field, direction)| {
                let mut trial = report.clone();
                trial[field] = (trial[field] + direction * steps[field])
                    .clamp(bounds[field].0, bounds[field].1);
                trial
            })
            .collect();
        let mut best_trial: Option<(f64, usize)> = None;
        for (k, trial_gain) in gains_of(&trials).into_iter().enumerate() {
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
            while seen.len() < config.max_coalitions && tries < 20 * config.max_coalitions {
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
        let reported = mechanism.with_reports(truth, &changes)?;
        evaluations += 1;
        let utilities = mechanism.evaluate(truth, &reported).utilities;
        Some(members.iter().map(|&m| utilities[m] - truthful[m]).sum())
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
        .map(|&m| mechanism.report(truth, m))
        .collect();
    let mut best_gain = 0.0;
    let mut best_reports = truth_reports;
    let mut index = vec![0usize; members.len()];
    loop {
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
        if position == index.len() {
            break;
        }
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
            let bounds = mechanism.report_bounds(truth, member);
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
