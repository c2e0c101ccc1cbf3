//! Outcomes (§A.2, §B.2–§B.4) and instances (§A.1) out, as pretty-printed
//! JSON with participant ids in place of the library's indices. serde_json
//! writes every double in its shortest form that reads back as the same
//! double.

use procura_mechanisms::procurement::{Instance, Outcome};
use procura_mechanisms::threshold::{
    Assignment, Protocol, SubsidyOutcome, ThresholdInstance, WithdrawalOutcome,
};
use procura_mechanisms::Mechanism;
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
#[must_use]
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

/// `value` as pretty-printed JSON, ending in a newline: the layout of every
/// JSON document procura writes.
pub fn to_json(value: &impl Serialize) -> String {
    // Serializing these plain structs of strings and finite numbers into a
    // String cannot fail.
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

/// A procurement instance as the JSON of §A.1, with every default written
/// out, so that it can be replayed with `procura clear` or `procura audit`.
#[must_use]
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
#[must_use]
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
        mechanism: Mechanism::Subsidy.family(),
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
#[must_use]
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
        mechanism: Mechanism::Withdrawal(Protocol::default()).family(),
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
