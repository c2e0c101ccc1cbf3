//! Writing audit reports as JSON, with participant ids in place of the
//! library's indices. Outcomes and instances are the spec's JSON, written
//! by `procura-format` and re-exported here.

use std::collections::BTreeMap;
use std::path::Path;

use procura::audit::{AuditReport, Certificate};
use procura::game::ReportGame;
use procura::population::PopulationReport;
use procura::procurement::Auction;
use procura_format::write::to_json;
pub(crate) use procura_format::write::{
    procurement_instance, procurement_outcome, subsidy_outcome, withdrawal_outcome,
};
use serde::Serialize;

#[derive(Serialize)]
struct UnilateralJson<'a> {
    id: &'a str,
    report: BTreeMap<&'static str, f64>,
    gain: f64,
}

#[derive(Serialize)]
struct CoalitionJson<'a> {
    ids: Vec<&'a str>,
    reports: BTreeMap<&'a str, BTreeMap<&'static str, f64>>,
    gain: f64,
}

#[derive(Serialize)]
struct CertificateJson {
    monotone: bool,
    critical_values: bool,
    max_payment_error: f64,
    evaluations: u64,
}

fn named_report<M: ReportGame>(mechanism: &M, report: &[f64]) -> BTreeMap<&'static str, f64> {
    mechanism
        .report_fields()
        .iter()
        .copied()
        .zip(report.iter().copied())
        .collect()
}

/// An audit report as JSON: the largest gains found, the deviations that
/// achieve them (with ids and named report fields), IR and budget checks,
/// the number of mechanism runs and, for single-parameter DSIC mechanisms,
/// the Myerson certificate.
pub(crate) fn audit_report<M: ReportGame>(
    mechanism: &M,
    instance: &M::Instance,
    report: &AuditReport,
    certificate: Option<&Certificate>,
) -> String {
    #[derive(Serialize)]
    struct AuditJson<'a> {
        mechanism: &'a str,
        max_unilateral_gain: f64,
        deviation: Option<UnilateralJson<'a>>,
        ir_violations: usize,
        budget_ok: bool,
        max_coalition_gain: f64,
        coalition: Option<CoalitionJson<'a>>,
        evaluations: u64,
        certificate: Option<CertificateJson>,
    }
    // The audit's participants are the instance's own, so every id exists;
    // an empty id would only mark a game that breaks its own contract.
    let id = |participant: usize| {
        mechanism
            .participant_id(instance, participant)
            .unwrap_or_default()
    };
    let json = AuditJson {
        mechanism: mechanism.name(),
        max_unilateral_gain: report.max_unilateral_gain,
        deviation: report.deviation.as_ref().map(|deviation| UnilateralJson {
            id: id(deviation.participants[0]),
            report: named_report(mechanism, &deviation.reports[0]),
            gain: deviation.gain,
        }),
        ir_violations: report.ir_violations,
        budget_ok: report.budget_ok,
        max_coalition_gain: report.max_coalition_gain,
        coalition: report.coalition.as_ref().map(|coalition| CoalitionJson {
            ids: coalition.participants.iter().map(|&p| id(p)).collect(),
            reports: coalition
                .participants
                .iter()
                .zip(&coalition.reports)
                .map(|(&p, report)| (id(p), named_report(mechanism, report)))
                .collect(),
            gain: coalition.gain,
        }),
        evaluations: report.evaluations,
        certificate: certificate.map(|c| CertificateJson {
            monotone: c.monotone,
            critical_values: c.critical_values,
            max_payment_error: c.max_payment_error,
            evaluations: c.evaluations,
        }),
    };
    to_json(&json)
}

/// A population audit's summary as JSON.
pub(crate) fn population_report(
    mechanism: Auction,
    seed: u64,
    report: &PopulationReport,
    worst_file: Option<&Path>,
) -> String {
    #[derive(Serialize)]
    struct WorstJson<'a> {
        index: u64,
        /// The seed its audit's samples used: `procura audit FILE --seed
        /// SEED` with the population's sampling flags replays it.
        audit_seed: u64,
        file: Option<String>,
        max_unilateral_gain: f64,
        deviation: Option<UnilateralJson<'a>>,
        max_coalition_gain: f64,
    }
    #[derive(Serialize)]
    struct PopulationJson<'a> {
        mechanism: &'a str,
        seed: u64,
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
        worst: Option<WorstJson<'a>>,
    }
    let share = if report.instances == 0 {
        0.0
    } else {
        report.with_deviation as f64 / report.instances as f64
    };
    let json = PopulationJson {
        mechanism: mechanism.name(),
        seed,
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
        worst: report.worst.as_ref().map(|worst| WorstJson {
            index: worst.index,
            audit_seed: worst.audit_seed,
            file: worst_file.map(|path| path.display().to_string()),
            max_unilateral_gain: worst.audit.max_unilateral_gain,
            deviation: worst.audit.deviation.as_ref().and_then(|deviation| {
                Some(UnilateralJson {
                    id: worst
                        .instance
                        .providers()
                        .get(*deviation.participants.first()?)?
                        .id(),
                    report: named_report(&mechanism, deviation.reports.first()?),
                    gain: deviation.gain,
                })
            }),
            max_coalition_gain: worst.audit.max_coalition_gain,
        }),
    };
    to_json(&json)
}
