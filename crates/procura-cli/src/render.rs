//! Writing outcomes as the JSON of the spec (§A.2), with provider ids in
//! place of the library's indices.

use procura::procurement::{Instance, Outcome};
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
