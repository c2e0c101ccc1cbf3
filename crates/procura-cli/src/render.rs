//! Writing outcomes (§A.2), instances (§A.1) and audit reports as JSON,
//! with participant ids in place of the library's indices.

use std::collections::BTreeMap;
use std::path::Path;

use procura::audit::population::{instance_seed, PopulationReport};
use procura::audit::{AuditReport, Certificate};
use procura::mechanism::Mechanism;
use procura::procurement::{Instance, Mechanism as ProcurementMechanism, Outcome};
use procura::threshold::{
    Assignment, Mechanism as ThresholdMechanism, SubsidyOutcome, ThresholdInstance,
    WithdrawalOutcome,
};
use serde::Serialize;

#[derive(Serialize)]
struct ProcurementJson<'a> {
    mechanism: &'a str,
    /// Always false for procurement; present so every outcome has the field
    /// that threshold outcomes use.
    null: bool,
    winners: Vec<&'a str>,
    payments: Vec<PaymentJson<'a>>,
    total_cash: f64,
    total_tokens: f64,
    value: f64,
}

#[derive(Serialize)]
struct PaymentJson<'a> {
    id: &'a str,
    cash: f64,
    tokens: f64,
}

/// The outcome as pretty-printed JSON, ending in a newline.
pub fn procurement_outcome(instance: &Instance, outcome: &Outcome) -> String {
    let providers = instance.providers();
    let json = ProcurementJson {
        mechanism: outcome.mechanism().name(),
        null: false,
        winners: outcome
            .winners()
            .map(|index| providers[index].id())
            .collect(),
        payments: outcome
            .awards()
            .iter()
            .map(|award| PaymentJson {
                id: providers[award.provider].id(),
                cash: award.cash,
                tokens: award.tokens,
            })
            .collect(),
        total_cash: outcome.total_cash(),
        total_tokens: outcome.total_tokens(),
        value: outcome.value(),
    };
    to_json(&json)
}

fn to_json(value: &impl Serialize) -> String {
    // Serializing these plain structs of strings and finite numbers into a
    // String cannot fail.
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

/// A procurement instance as the JSON of §A.1, with every default written
/// out, so that it can be replayed with `procura clear` or `procura audit`.
pub fn procurement_instance(instance: &Instance) -> String {
    #[derive(Serialize)]
    struct InstanceJson<'a> {
        budget: f64,
        #[serde(skip_serializing_if = "Option::is_none")]
        token_budget: Option<f64>,
        liquidity: f64,
        token_pool: f64,
        providers: Vec<ProviderJson<'a>>,
    }
    #[derive(Serialize)]
    struct ProviderJson<'a> {
        id: &'a str,
        bid: f64,
        quality: f64,
        utility: f64,
        volume: f64,
        claimed_quality: f64,
    }
    let json = InstanceJson {
        budget: instance.budget(),
        token_budget: instance.has_token_budget().then(|| instance.token_budget()),
        liquidity: instance.liquidity(),
        token_pool: instance.token_pool(),
        providers: instance
            .providers()
            .iter()
            .map(|p| ProviderJson {
                id: p.id(),
                bid: p.bid(),
                quality: p.quality(),
                utility: p.utility(),
                volume: p.volume(),
                claimed_quality: p.claimed_quality(),
            })
            .collect(),
    };
    to_json(&json)
}

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

fn named_report<M: Mechanism>(mechanism: &M, report: &[f64]) -> BTreeMap<&'static str, f64> {
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
pub fn audit_report<M: Mechanism>(
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
    let id = |participant: usize| mechanism.participant_id(instance, participant);
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
pub fn population_report(
    mechanism: ProcurementMechanism,
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
        worst: report
            .worst
            .as_ref()
            .map(|(index, instance, audit)| WorstJson {
                index: *index,
                audit_seed: instance_seed(seed, *index),
                file: worst_file.map(|path| path.display().to_string()),
                max_unilateral_gain: audit.max_unilateral_gain,
                deviation: audit.deviation.as_ref().map(|deviation| UnilateralJson {
                    id: instance.providers()[deviation.participants[0]].id(),
                    report: named_report(&mechanism, &deviation.reports[0]),
                    gain: deviation.gain,
                }),
                max_coalition_gain: audit.max_coalition_gain,
            }),
    };
    to_json(&json)
}

#[derive(Serialize)]
struct AssignmentJson<'a> {
    id: &'a str,
    amount: f64,
    payment: f64,
}

fn assignments<'a>(
    instance: &'a ThresholdInstance,
    assignments: &[Assignment],
) -> Vec<AssignmentJson<'a>> {
    assignments
        .iter()
        .map(|assignment| AssignmentJson {
            id: instance.users()[assignment.user].id(),
            amount: assignment.amount,
            payment: assignment.payment,
        })
        .collect()
}

/// A subsidy outcome (§B.2) as JSON. `null` is always false: the subsidy
/// always runs; the field is there so every outcome has it.
pub fn subsidy_outcome(instance: &ThresholdInstance, outcome: &SubsidyOutcome) -> String {
    #[derive(Serialize)]
    struct SubsidyJson<'a> {
        mechanism: &'static str,
        null: bool,
        improved: bool,
        collected: f64,
        assignments: Vec<AssignmentJson<'a>>,
        total_payment: f64,
        leakage: f64,
    }
    to_json(&SubsidyJson {
        mechanism: ThresholdMechanism::Subsidy.name(),
        null: false,
        improved: outcome.improved(),
        collected: outcome.collected(),
        assignments: assignments(instance, outcome.assignments()),
        total_payment: outcome.total_payment(),
        leakage: outcome.leakage(),
    })
}

/// A withdrawal-rights outcome (§B.3, §B.4) as JSON; `protocol` is null
/// when the outcome is null.
pub fn withdrawal_outcome(instance: &ThresholdInstance, outcome: &WithdrawalOutcome) -> String {
    #[derive(Serialize)]
    struct ProtocolJson {
        name: &'static str,
        success_probability: f64,
        expected_payment: f64,
        expected_participants: f64,
        expected_data: f64,
    }
    #[derive(Serialize)]
    struct WithdrawalJson<'a> {
        mechanism: &'static str,
        null: bool,
        assignments: Vec<AssignmentJson<'a>>,
        total_payment: f64,
        leakage: f64,
        protocol: Option<ProtocolJson>,
    }
    to_json(&WithdrawalJson {
        mechanism: ThresholdMechanism::Withdrawal.name(),
        null: outcome.is_null(),
        assignments: assignments(instance, outcome.assignments()),
        total_payment: outcome.total_payment(),
        leakage: outcome.leakage(),
        protocol: outcome.protocol().map(|report| ProtocolJson {
            name: report.protocol.name(),
            success_probability: report.success_probability,
            expected_payment: report.expected_payment,
            expected_participants: report.expected_participants,
            expected_data: report.expected_data,
        }),
    })
}
