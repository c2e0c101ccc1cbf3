//! Outcomes (§A.2, §B.2–§B.4) and instances (§A.1) out, as pretty-printed
//! JSON with participant ids in place of the library's indices. serde_json
//! writes every double in its shortest form that reads back as the same
//! double.
//!
//! An outcome is written with the instance it was cleared from: its
//! indices are looked up there. An outcome that names a participant the
//! instance does not have (it was cleared from a larger instance) is a
//! [`WriteError`], never a panic; one cleared from another instance of the
//! same size or larger is written with that instance's ids, since nothing
//! in an outcome tells the two apart.

use procura_mechanisms::procurement::{Auction, Instance, Outcome};
use procura_mechanisms::threshold::{
    Assignment, Protocol, SubsidyOutcome, ThresholdInstance, WithdrawalOutcome,
};
use procura_mechanisms::Mechanism;
use serde::Serialize;

/// Why an outcome cannot be written with the instance given: it names a
/// participant the instance does not have, so it was cleared from another
/// (larger) instance.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// A procurement outcome names a provider past the instance's last.
    #[error(
        "the outcome names provider #{provider}, but the instance has {providers} providers: \
         it was cleared from another instance"
    )]
    NoSuchProvider {
        /// The provider's index in the outcome.
        provider: usize,
        /// The instance's number of providers.
        providers: usize,
    },
    /// A threshold outcome names a user past the instance's last.
    #[error(
        "the outcome names user #{user}, but the instance has {users} users: \
         it was cleared from another instance"
    )]
    NoSuchUser {
        /// The user's index in the outcome.
        user: usize,
        /// The instance's number of users.
        users: usize,
    },
}

/// A procurement outcome (§A.2) as written: ids in place of indices.
/// [`procurement_outcome_json`] builds one; it serializes to the bytes of
/// [`procurement_outcome`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(title = "procurement outcome (§A.2)"))]
pub struct ProcurementOutcomeJson<'a> {
    /// The mechanism that cleared the instance.
    mechanism: Auction,
    /// Always false for procurement; present so every outcome has the field
    /// that threshold outcomes use.
    #[cfg_attr(feature = "schema", schemars(extend("const" = false)))]
    null: bool,
    /// The winners' ids in allocation order.
    winners: Vec<&'a str>,
    /// One payment per winner, in the same order; losers are paid nothing.
    payments: Vec<PaymentJson<'a>>,
    /// Σ cash over the winners.
    total_cash: f64,
    /// Σ tokens over the winners.
    total_tokens: f64,
    /// Σ w_i = Σ q_i·μ_i over the winners.
    value: f64,
}

/// One winner's payment.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
struct PaymentJson<'a> {
    /// The winner's id.
    id: &'a str,
    /// Cash paid now.
    #[cfg_attr(feature = "schema", schemars(range(min = 0)))]
    cash: f64,
    /// Tokens: cash-equivalent units, except in MUT, where they are shares
    /// of the pool.
    #[cfg_attr(feature = "schema", schemars(range(min = 0)))]
    tokens: f64,
}

/// The outcome, cleared from `instance`, as pretty-printed JSON ending in
/// a newline. [`WriteError::NoSuchProvider`] when the outcome names a
/// provider `instance` does not have.
pub fn procurement_outcome(instance: &Instance, outcome: &Outcome) -> Result<String, WriteError> {
    procurement_outcome_json(instance, outcome).map(|json| to_json(&json))
}

/// The outcome, cleared from `instance`, as the document that
/// [`procurement_outcome`] writes, for callers that put several outcomes
/// in one document. [`WriteError::NoSuchProvider`] when the outcome names
/// a provider `instance` does not have.
pub fn procurement_outcome_json<'a>(
    instance: &'a Instance,
    outcome: &Outcome,
) -> Result<ProcurementOutcomeJson<'a>, WriteError> {
    let providers = instance.providers();
    let id = |provider: usize| {
        providers
            .get(provider)
            .map(|record| record.id())
            .ok_or(WriteError::NoSuchProvider {
                provider,
                providers: providers.len(),
            })
    };
    Ok(ProcurementOutcomeJson {
        mechanism: outcome.mechanism(),
        null: false,
        winners: outcome.winners().map(id).collect::<Result<_, _>>()?,
        payments: outcome
            .awards()
            .iter()
            .map(|award| {
                Ok(PaymentJson {
                    id: id(award.provider)?,
                    cash: award.cash,
                    tokens: award.tokens,
                })
            })
            .collect::<Result<_, WriteError>>()?,
        total_cash: outcome.total_cash(),
        total_tokens: outcome.total_tokens(),
        value: outcome.value(),
    })
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

/// One user's assignment as written.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
struct AssignmentJson<'a> {
    /// The user's id.
    id: &'a str,
    /// Units of data assigned.
    #[cfg_attr(feature = "schema", schemars(range(min = 0)))]
    amount: f64,
    /// Its payment: the lump P (subsidy) or the Myerson payment t_i
    /// (withdrawal rights).
    #[cfg_attr(feature = "schema", schemars(range(min = 0)))]
    payment: f64,
}

fn assignments<'a>(
    instance: &'a ThresholdInstance,
    assignments: &[Assignment],
) -> Result<Vec<AssignmentJson<'a>>, WriteError> {
    let users = instance.users();
    assignments
        .iter()
        .map(|assignment| {
            let user = users.get(assignment.user).ok_or(WriteError::NoSuchUser {
                user: assignment.user,
                users: users.len(),
            })?;
            Ok(AssignmentJson {
                id: user.id(),
                amount: assignment.amount,
                payment: assignment.payment,
            })
        })
        .collect()
}

/// A subsidy outcome (§B.2) as written. [`subsidy_outcome_json`] builds
/// one; it serializes to the bytes of [`subsidy_outcome`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(title = "subsidy outcome (§B.2)"))]
pub struct SubsidyOutcomeJson<'a> {
    /// Always `subsidy`.
    #[cfg_attr(feature = "schema", schemars(extend("const" = "subsidy")))]
    mechanism: &'static str,
    /// Always false: the subsidy always runs.
    #[cfg_attr(feature = "schema", schemars(extend("const" = false)))]
    null: bool,
    /// Whether the collected data reaches T.
    improved: bool,
    /// Collected data X = f · (number of contributors).
    collected: f64,
    /// The contributors, in input order.
    assignments: Vec<AssignmentJson<'a>>,
    /// Spend S = P · (number of contributors).
    total_payment: f64,
    /// S if not improved, else 0.
    leakage: f64,
}

/// A subsidy outcome (§B.2), cleared from `instance`, as JSON. `null` is
/// always false: the subsidy always runs; the field is there so every
/// outcome has it. [`WriteError::NoSuchUser`] when the outcome names a user
/// `instance` does not have.
pub fn subsidy_outcome(
    instance: &ThresholdInstance,
    outcome: &SubsidyOutcome,
) -> Result<String, WriteError> {
    subsidy_outcome_json(instance, outcome).map(|json| to_json(&json))
}

/// The document that [`subsidy_outcome`] writes, for callers that put
/// several outcomes in one document.
pub fn subsidy_outcome_json<'a>(
    instance: &'a ThresholdInstance,
    outcome: &SubsidyOutcome,
) -> Result<SubsidyOutcomeJson<'a>, WriteError> {
    Ok(SubsidyOutcomeJson {
        mechanism: Mechanism::Subsidy.family(),
        null: false,
        improved: outcome.improved(),
        collected: outcome.collected(),
        assignments: assignments(instance, outcome.assignments())?,
        total_payment: outcome.total_payment(),
        leakage: outcome.leakage(),
    })
}

/// The statistics of a withdrawal protocol (§B.4).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
struct ProtocolJson {
    /// The protocol played.
    name: Protocol,
    /// P(training happens).
    #[cfg_attr(feature = "schema", schemars(range(min = 0, max = 1)))]
    success_probability: f64,
    /// Σ t_i over stayers, paid only on training.
    expected_payment: f64,
    /// Stayers, counted only on training.
    expected_participants: f64,
    /// Units held by stayers, counted only on training.
    expected_data: f64,
}

/// A withdrawal-rights outcome (§B.3, §B.4) as written.
/// [`withdrawal_outcome_json`] builds one; it serializes to the bytes of
/// [`withdrawal_outcome`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "schema",
    schemars(title = "withdrawal-rights outcome (§B.3, §B.4)")
)]
pub struct WithdrawalOutcomeJson<'a> {
    /// Always `withdrawal`.
    #[cfg_attr(feature = "schema", schemars(extend("const" = "withdrawal")))]
    mechanism: &'static str,
    /// Whether the outcome is null: the users who accept the reserve
    /// cannot reach T, so nothing is collected or paid.
    null: bool,
    /// The assigned users in ascending (cost, id); empty when null.
    assignments: Vec<AssignmentJson<'a>>,
    /// Σ t_i, held in escrow.
    total_payment: f64,
    /// Always 0: payments are released only if training happens.
    leakage: f64,
    /// The protocol's statistics; null when the outcome is null.
    protocol: Option<ProtocolJson>,
}

/// A withdrawal-rights outcome (§B.3, §B.4), cleared from `instance`, as
/// JSON; `protocol` is null when the outcome is null.
/// [`WriteError::NoSuchUser`] when the outcome names a user `instance`
/// does not have.
pub fn withdrawal_outcome(
    instance: &ThresholdInstance,
    outcome: &WithdrawalOutcome,
) -> Result<String, WriteError> {
    withdrawal_outcome_json(instance, outcome).map(|json| to_json(&json))
}

/// The document that [`withdrawal_outcome`] writes, for callers that put
/// several outcomes in one document.
pub fn withdrawal_outcome_json<'a>(
    instance: &'a ThresholdInstance,
    outcome: &WithdrawalOutcome,
) -> Result<WithdrawalOutcomeJson<'a>, WriteError> {
    Ok(WithdrawalOutcomeJson {
        mechanism: Mechanism::Withdrawal(Protocol::default()).family(),
        null: outcome.is_null(),
        assignments: assignments(instance, outcome.assignments())?,
        total_payment: outcome.total_payment(),
        leakage: outcome.leakage(),
        protocol: outcome.protocol().map(|report| ProtocolJson {
            name: report.protocol,
            success_probability: report.success_probability,
            expected_payment: report.expected_payment,
            expected_participants: report.expected_participants,
            expected_data: report.expected_data,
        }),
    })
}

/// Any outcome as written: the document of `procura schema outcome`, and
/// one entry of `procura clear --mechanism all`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum OutcomeJson<'a> {
    /// A procurement outcome (§A.2).
    Procurement(ProcurementOutcomeJson<'a>),
    /// A subsidy outcome (§B.2).
    Subsidy(SubsidyOutcomeJson<'a>),
    /// A withdrawal-rights outcome (§B.3, §B.4).
    Withdrawal(WithdrawalOutcomeJson<'a>),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read;
    use procura_mechanisms::procurement::{clear, Auction};
    use procura_mechanisms::threshold::{subsidy, withdrawal};

    /// The shipped examples: eight providers, six users.
    const MARKET: &str = include_str!("../../../examples/market.json");
    const USERS: &str = include_str!("../../../examples/threshold.json");
    const ONE: &str = r#"{"budget": 12, "providers": [
        {"id": "clinic-north", "bid": 2.4, "quality": 0.92, "utility": 1.8}]}"#;
    const ONE_USER: &str = r#"{"threshold": 1, "reserve_price": 3, "budget": 30,
        "payment": 4, "users": [{"id": "hospital-a", "cost": 1, "capacity": 2}]}"#;

    #[test]
    fn a_procurement_outcome_of_a_larger_instance_is_an_error() {
        let eight = read::procurement_instance(MARKET).expect("valid");
        let one = read::procurement_instance(ONE).expect("valid");
        let outcome = clear(&eight, Auction::Volume).expect("clears");
        // The first winner past the smaller instance's one provider is named.
        let provider = outcome
            .winners()
            .find(|&winner| winner >= 1)
            .expect("a winner past the first provider");
        let error = procurement_outcome(&one, &outcome).expect_err("mismatched");
        assert_eq!(
            error,
            WriteError::NoSuchProvider {
                provider,
                providers: 1
            }
        );
        assert!(error.to_string().contains("the instance has 1 providers"));
        // With its own instance it is written, every winner named.
        let json = procurement_outcome(&eight, &outcome).expect("its own instance");
        assert!(json.contains("\"scanned-docs\""));
    }

    #[test]
    fn a_threshold_outcome_of_a_larger_instance_is_an_error() {
        let six = read::threshold_instance(USERS).expect("valid");
        let one = read::threshold_instance(ONE_USER).expect("valid");
        let subsidy = subsidy::clear(&six).expect("clears");
        let user = subsidy
            .assignments()
            .iter()
            .map(|assignment| assignment.user)
            .find(|&user| user >= 1)
            .expect("an assignment past the smaller instance's one user");
        assert_eq!(
            subsidy_outcome(&one, &subsidy),
            Err(WriteError::NoSuchUser { user, users: 1 })
        );
        assert!(subsidy_outcome(&six, &subsidy).is_ok());

        let rights = withdrawal::clear(&six, Protocol::default()).expect("clears");
        let user = rights
            .assignments()
            .iter()
            .map(|assignment| assignment.user)
            .find(|&user| user >= 1)
            .expect("an assignment past the smaller instance's one user");
        let error = withdrawal_outcome(&one, &rights).expect_err("mismatched");
        assert_eq!(error, WriteError::NoSuchUser { user, users: 1 });
        assert_eq!(
            error.to_string(),
            format!(
                "the outcome names user #{user}, but the instance has 1 users: it was cleared \
                 from another instance"
            )
        );
        assert!(withdrawal_outcome(&six, &rights).is_ok());
    }
}
