//! `procura clear` output other than one outcome as JSON: several outcomes
//! keyed by mechanism name, tables for a terminal, CSV, and the sentence
//! that says why a withdrawal outcome is null.

use anyhow::Context;
use comfy_table::{presets, CellAlignment, Table};
use procura::procurement::{Instance, Outcome};
use procura::threshold::withdrawal::NullTest;
use procura::threshold::ThresholdInstance;
use procura_format::write::{self, OutcomeJson};
use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::clear::{Format, Report, ThresholdResult};

/// Entries serialized as one JSON object, keyed in their order.
pub(crate) struct Keyed<'a, T>(pub(crate) &'a [(&'static str, T)]);

impl<T: Serialize> Serialize for Keyed<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// A number for a table: 0, six decimals without trailing zeros, or
/// scientific notation when that would hide it.
pub(crate) fn number(value: f64) -> String {
    let magnitude = value.abs();
    if value == 0.0 {
        "0".to_owned()
    } else if (1e-4..1e12).contains(&magnitude) {
        let fixed = format!("{value:.6}");
        fixed.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        format!("{value:.4e}")
    }
}

/// A table with `header`, numbers right-aligned in `numeric` columns.
pub(crate) fn table(header: Vec<String>, numeric: &[usize], rows: Vec<Vec<String>>) -> String {
    let mut table = Table::new();
    table.load_preset(presets::ASCII_MARKDOWN);
    table.set_header(header);
    for row in rows {
        table.add_row(row);
    }
    for &index in numeric {
        if let Some(column) = table.column_mut(index) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    let mut text = table.to_string();
    text.push('\n');
    text
}

/// CSV text of `rows` under `header`.
pub(crate) fn csv(header: &[&str], rows: Vec<Vec<String>>) -> anyhow::Result<String> {
    let mut writer = ::csv::Writer::from_writer(Vec::new());
    writer.write_record(header)?;
    for row in rows {
        writer.write_record(row)?;
    }
    let bytes = writer.into_inner().context("writing CSV")?;
    String::from_utf8(bytes).context("CSV is UTF-8")
}

/// What a winner is paid, for a table cell: cash, tokens, or both.
fn payment(cash: f64, tokens: f64) -> String {
    match (cash == 0.0, tokens == 0.0) {
        (_, true) => number(cash),
        (true, false) => format!("{} tokens", number(tokens)),
        (false, false) => format!("{} + {} tokens", number(cash), number(tokens)),
    }
}

/// Several procurement outcomes (or one, as a table or CSV) in `format`.
pub(crate) fn auctions(
    instance: &Instance,
    outcomes: &[(&'static str, Outcome)],
    format: Format,
) -> anyhow::Result<String> {
    let providers = instance.providers();
    match format {
        Format::Json => {
            let documents = outcomes
                .iter()
                .map(|(label, outcome)| {
                    write::procurement_outcome_json(instance, outcome)
                        .map(|json| (*label, OutcomeJson::Procurement(json)))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(write::to_json(&Keyed(&documents)))
        }
        Format::Table => {
            let summary = outcomes
                .iter()
                .map(|(label, outcome)| {
                    vec![
                        (*label).to_owned(),
                        outcome.awards().len().to_string(),
                        number(outcome.total_cash()),
                        number(outcome.total_tokens()),
                        number(outcome.value()),
                    ]
                })
                .collect();
            let mut text = table(
                [
                    "mechanism",
                    "winners",
                    "total cash",
                    "total tokens",
                    "value",
                ]
                .map(str::to_owned)
                .to_vec(),
                &[1, 2, 3, 4],
                summary,
            );
            let mut header = vec!["provider".to_owned(), "bid".to_owned()];
            header.extend(outcomes.iter().map(|(label, _)| format!("{label} pays")));
            let rows = providers
                .iter()
                .enumerate()
                .map(|(index, provider)| {
                    let mut row = vec![provider.id().to_owned(), number(provider.bid())];
                    row.extend(outcomes.iter().map(|(_, outcome)| {
                        outcome
                            .award_of(index)
                            .map_or("-".to_owned(), |award| payment(award.cash, award.tokens))
                    }));
                    row
                })
                .collect();
            let numeric: Vec<usize> = (1..2 + outcomes.len()).collect();
            text.push('\n');
            text.push_str(&table(header, &numeric, rows));
            Ok(text)
        }
        Format::Csv => {
            let rows = outcomes
                .iter()
                .flat_map(|(label, outcome)| {
                    providers.iter().enumerate().map(move |(index, provider)| {
                        let award = outcome.award_of(index);
                        vec![
                            (*label).to_owned(),
                            provider.id().to_owned(),
                            provider.bid().to_string(),
                            award.is_some().to_string(),
                            award.map_or(0.0, |award| award.cash).to_string(),
                            award.map_or(0.0, |award| award.tokens).to_string(),
                        ]
                    })
                })
                .collect();
            csv(&["mechanism", "id", "bid", "won", "cash", "tokens"], rows)
        }
    }
}

/// Several threshold outcomes (or one, as a table or CSV) in `format`.
pub(crate) fn threshold(
    instance: &ThresholdInstance,
    results: &[(&'static str, ThresholdResult)],
    format: Format,
) -> anyhow::Result<String> {
    let users = instance.users();
    let assignments = |result: &ThresholdResult| match result {
        ThresholdResult::Subsidy(outcome) => outcome.assignments().to_vec(),
        ThresholdResult::Withdrawal(outcome, _) => outcome.assignments().to_vec(),
    };
    match format {
        Format::Json => {
            let documents = results
                .iter()
                .map(|(label, result)| {
                    let json = match result {
                        ThresholdResult::Subsidy(outcome) => {
                            write::subsidy_outcome_json(instance, outcome).map(OutcomeJson::Subsidy)
                        }
                        ThresholdResult::Withdrawal(outcome, _) => {
                            write::withdrawal_outcome_json(instance, outcome)
                                .map(OutcomeJson::Withdrawal)
                        }
                    };
                    json.map(|json| (*label, json))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(write::to_json(&Keyed(&documents)))
        }
        Format::Table => {
            let summary = results
                .iter()
                .map(|(label, result)| {
                    let (verdict, data, paid, leakage, success) = match result {
                        ThresholdResult::Subsidy(outcome) => (
                            if outcome.improved() {
                                "improved"
                            } else {
                                "not improved"
                            }
                            .to_owned(),
                            outcome.collected(),
                            outcome.total_payment(),
                            outcome.leakage(),
                            "-".to_owned(),
                        ),
                        ThresholdResult::Withdrawal(outcome, _) => (
                            match outcome.protocol() {
                                None => "null".to_owned(),
                                Some(report) => format!("assigned ({})", report.protocol.name()),
                            },
                            outcome.assignments().iter().map(|a| a.amount).sum(),
                            outcome.total_payment(),
                            outcome.leakage(),
                            outcome.protocol().map_or("-".to_owned(), |report| {
                                number(report.success_probability)
                            }),
                        ),
                    };
                    vec![
                        (*label).to_owned(),
                        verdict,
                        number(data),
                        number(paid),
                        number(leakage),
                        success,
                    ]
                })
                .collect();
            let mut text = table(
                [
                    "mechanism",
                    "outcome",
                    "data",
                    "total payment",
                    "leakage",
                    "success probability",
                ]
                .map(str::to_owned)
                .to_vec(),
                &[2, 3, 4, 5],
                summary,
            );
            let mut header = ["user", "cost", "capacity"].map(str::to_owned).to_vec();
            header.extend(
                results
                    .iter()
                    .map(|(label, _)| format!("{label}: amount for payment")),
            );
            let per_result: Vec<_> = results
                .iter()
                .map(|(_, result)| assignments(result))
                .collect();
            let rows = users
                .iter()
                .enumerate()
                .map(|(index, user)| {
                    let mut row = vec![
                        user.id().to_owned(),
                        number(user.cost()),
                        number(user.capacity()),
                    ];
                    row.extend(per_result.iter().map(|assigned| {
                        assigned
                            .iter()
                            .find(|a| a.user == index)
                            .map_or("-".to_owned(), |a| {
                                format!("{} for {}", number(a.amount), number(a.payment))
                            })
                    }));
                    row
                })
                .collect();
            text.push('\n');
            text.push_str(&table(header, &[1, 2], rows));
            for note in null_notes_of(results) {
                text.push_str(&format!("\n{note}\n"));
            }
            Ok(text)
        }
        Format::Csv => {
            let rows = results
                .iter()
                .flat_map(|(label, result)| {
                    assignments(result).into_iter().map(move |assignment| {
                        vec![
                            (*label).to_owned(),
                            users[assignment.user].id().to_owned(),
                            assignment.amount.to_string(),
                            assignment.payment.to_string(),
                        ]
                    })
                })
                .collect();
            csv(&["mechanism", "id", "amount", "payment"], rows)
        }
    }
}

/// Why the withdrawal outcome of `test` is null, in a sentence (§B.3,
/// step 3).
pub(crate) fn null_reason(label: &str, test: &NullTest) -> String {
    let users = match test.eligible_users {
        1 => "the 1 user".to_owned(),
        n => format!("the {n} users"),
    };
    format!(
        "{label} is null: {users} whose cost is at most the reserve r = {} can give {} units \
         in all, short of the threshold T = {}, so nothing is collected or paid",
        test.reserve, test.eligible_capacity, test.threshold
    )
}

fn null_notes_of(results: &[(&'static str, ThresholdResult)]) -> Vec<String> {
    results
        .iter()
        .filter_map(|(label, result)| match result {
            ThresholdResult::Withdrawal(outcome, test) if outcome.is_null() => {
                Some(null_reason(label, test))
            }
            _ => None,
        })
        .collect()
}

/// Why each null withdrawal outcome of `report` is null, for stderr.
pub(crate) fn null_notes(report: &Report) -> Vec<String> {
    match report {
        Report::Threshold(_, results) => null_notes_of(results),
        _ => Vec::new(),
    }
}
