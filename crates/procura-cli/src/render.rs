//! Writing population-audit reports as JSON. A single audit's report is
//! `procura_format::audit_report`'s (the Python package writes the same),
//! re-exported here with the outcomes and instances of the spec's JSON,
//! written by `procura-format`.
//!
//! A population report records how each instance was searched (`search`)
//! and the commands that replay the whole audit and each worst instance's
//! audit (`replay`). Seeds are written as JSON strings (see
//! `procura_format::audit_report`).

use std::path::Path;

use procura::audit::{AuditConfig, Deviation};
use procura::population::{PopulationReport, WorstInstance};
use procura::procurement::Auction;
pub(crate) use procura_format::audit_report::{audit_command, audit_report};
use procura_format::audit_report::{
    search_flags, shell_word, CoalitionJson, SearchJson, UnilateralJson,
};
use procura_format::write::to_json;
pub(crate) use procura_format::write::{
    procurement_instance, procurement_outcome, subsidy_outcome, withdrawal_outcome,
};
use serde::Serialize;

/// What a population audit ran: the command's own arguments, for its
/// report and the replay commands in it.
pub(crate) struct PopulationRun<'a> {
    /// The mechanism audited.
    pub mechanism: Auction,
    /// The population file, as given.
    pub population: &'a str,
    /// The `--seed` of the draws (and, mixed per instance, of the audits).
    pub seed: u64,
    /// The search of every instance (its seed is the population's; each
    /// instance's audit uses its own `audit_seed`).
    pub config: &'a AuditConfig,
    /// Where the worst unilateral instance is written (`--worst`).
    pub worst_file: &'a Path,
    /// Where the worst coalition instance is written (`--worst-coalition`).
    pub worst_coalition_file: &'a Path,
}

impl PopulationRun<'_> {
    /// The command that runs the same population audit again.
    fn replay(&self, instances: u64) -> String {
        format!(
            "procura audit --population {} --mechanism {} --instances {instances} {} \
             --worst {} --worst-coalition {}",
            shell_word(self.population),
            self.mechanism.name(),
            search_flags(self.config),
            shell_word(&self.worst_file.display().to_string()),
            shell_word(&self.worst_coalition_file.display().to_string()),
        )
    }
}

/// A worst instance of a population audit, as JSON: where it was drawn,
/// the seed its audit used (a string), where it was written and the
/// command that replays its audit, and what that audit found.
#[derive(Serialize)]
struct WorstJson<'a> {
    index: u64,
    audit_seed: String,
    file: String,
    replay: String,
    max_unilateral_gain: f64,
    deviation: Option<UnilateralJson<'a>>,
    max_coalition_gain: f64,
    coalition: Option<CoalitionJson<'a>>,
}

impl<'a> WorstJson<'a> {
    fn new(run: &PopulationRun<'_>, worst: &'a WorstInstance, file: &Path) -> WorstJson<'a> {
        let mechanism = run.mechanism;
        let providers = worst.instance.providers();
        let id = |participant: usize| providers.get(participant).map_or("", |p| p.id());
        let unilateral = |deviation: &Deviation| UnilateralJson::new(&mechanism, id, deviation);
        let file = file.display().to_string();
        let config = run.config.clone().with_seed(worst.audit_seed);
        WorstJson {
            index: worst.index,
            audit_seed: worst.audit_seed.to_string(),
            replay: audit_command(&file, mechanism.name(), &config),
            file,
            max_unilateral_gain: worst.audit.max_unilateral_gain,
            deviation: worst.audit.deviation.as_ref().and_then(unilateral),
            max_coalition_gain: worst.audit.max_coalition_gain,
            coalition: worst
                .audit
                .coalition
                .as_ref()
                .map(|coalition| CoalitionJson::new(&mechanism, id, coalition)),
        }
    }
}

/// The instance written for a worst instance of a population audit.
pub(crate) fn worst_instance(worst: &WorstInstance) -> String {
    procurement_instance(&worst.instance)
}

/// A population audit's summary as JSON: the counts and gains, the
/// worst unilateral and the worst coalition instance (each chosen by a
/// profitable gain, written to its file, with the command that replays
/// its audit), how each instance was searched (`search`, with how many
/// instances' searches were samples) and the command that replays the
/// whole audit.
pub(crate) fn population_report(run: &PopulationRun<'_>, report: &PopulationReport) -> String {
    #[derive(Serialize)]
    struct PopulationSearchJson {
        #[serde(flatten)]
        search: SearchJson,
        sampled_instances: u64,
    }
    #[derive(Serialize)]
    struct PopulationJson<'a> {
        mechanism: &'a str,
        seed: String,
        instances: u64,
        share_with_deviation: f64,
        with_deviation: u64,
        mean_gain: f64,
        max_gain: f64,
        mean_coalition_gain: f64,
        max_coalition_gain: f64,
        ir_violations: u64,
        budget_violations: u64,
        evaluations: u64,
        worst_unilateral: Option<WorstJson<'a>>,
        worst_coalition: Option<WorstJson<'a>>,
        search: PopulationSearchJson,
        replay: String,
    }
    let share = if report.instances == 0 {
        0.0
    } else {
        report.with_deviation as f64 / report.instances as f64
    };
    let json = PopulationJson {
        mechanism: run.mechanism.name(),
        seed: run.seed.to_string(),
        instances: report.instances,
        share_with_deviation: share,
        with_deviation: report.with_deviation,
        mean_gain: report.mean_gain,
        max_gain: report.max_gain,
        mean_coalition_gain: report.mean_coalition_gain,
        max_coalition_gain: report.max_coalition_gain,
        ir_violations: report.ir_violations,
        budget_violations: report.budget_violations,
        evaluations: report.evaluations,
        worst_unilateral: report
            .worst
            .as_ref()
            .map(|worst| WorstJson::new(run, worst, run.worst_file)),
        worst_coalition: report
            .worst_coalition
            .as_ref()
            .map(|worst| WorstJson::new(run, worst, run.worst_coalition_file)),
        search: PopulationSearchJson {
            search: SearchJson::new(run.config, report.sampled_instances > 0),
            sampled_instances: report.sampled_instances,
        },
        replay: run.replay(report.instances),
    };
    to_json(&json)
}
