//! Audit reports as JSON, the form `procura audit` prints and the Python
//! package returns: the largest gains found, the deviations that achieve
//! them (participant ids in place of the library's indices, report fields
//! by name), IR and budget checks, the number of mechanism runs, the Myerson
//! certificate where there is one, how the audit searched (`search`) and the
//! command that replays it (`replay`).
//!
//! Seeds are written as JSON strings: they range over all of u64, and
//! readers that hold JSON numbers as doubles (jq, JavaScript) would round
//! those above 2⁵³ and replay another search. [`parse_seed`] reads them
//! back, bare or quoted.

use std::collections::BTreeMap;

use procura_audit::{AuditConfig, AuditReport, Certificate, Deviation};
use procura_mechanisms::game::ReportGame;
use serde::Serialize;

use crate::write::to_json;

/// A unilateral deviation: who, the report it makes (fields by name), and
/// its gain.
#[derive(Debug, Serialize)]
pub struct UnilateralJson<'a> {
    id: &'a str,
    report: BTreeMap<&'static str, f64>,
    gain: f64,
}

impl<'a> UnilateralJson<'a> {
    /// The deviation of its first participant, named by `id`; `None` for a
    /// deviation with no participant.
    pub fn new<M: ReportGame>(
        mechanism: &M,
        id: impl Fn(usize) -> &'a str,
        deviation: &Deviation,
    ) -> Option<UnilateralJson<'a>> {
        Some(UnilateralJson {
            id: id(*deviation.participants.first()?),
            report: named_report(mechanism, deviation.reports.first()?),
            gain: deviation.gain,
        })
    }
}

/// A coalition's deviation: its members, each one's report, the gain.
#[derive(Debug, Serialize)]
pub struct CoalitionJson<'a> {
    ids: Vec<&'a str>,
    reports: BTreeMap<&'a str, BTreeMap<&'static str, f64>>,
    gain: f64,
}

impl<'a> CoalitionJson<'a> {
    /// The coalition's deviation, its members named by `id`.
    pub fn new<M: ReportGame>(
        mechanism: &M,
        id: impl Fn(usize) -> &'a str,
        coalition: &Deviation,
    ) -> CoalitionJson<'a> {
        CoalitionJson {
            ids: coalition.participants.iter().map(|&p| id(p)).collect(),
            reports: coalition
                .participants
                .iter()
                .zip(&coalition.reports)
                .map(|(&p, report)| (id(p), named_report(mechanism, report)))
                .collect(),
            gain: coalition.gain,
        }
    }
}

#[derive(Debug, Serialize)]
struct CertificateJson {
    monotone: bool,
    critical_values: bool,
    max_payment_error: f64,
    evaluations: u64,
}

/// How an audit searched: the sizes of its search, its seed (a string)
/// and whether it was a seeded sample.
#[derive(Debug, Serialize)]
pub struct SearchJson {
    grid: usize,
    coalition_size: usize,
    max_coalitions: usize,
    max_participants: Option<usize>,
    seed: String,
    sampled: bool,
}

impl SearchJson {
    /// The search `config` ran, `sampled` or exhaustive.
    #[must_use]
    pub fn new(config: &AuditConfig, sampled: bool) -> SearchJson {
        SearchJson {
            grid: config.grid(),
            coalition_size: config.coalition_size(),
            max_coalitions: config.max_coalitions(),
            max_participants: config.max_participants(),
            seed: config.seed().to_string(),
            sampled,
        }
    }
}

fn named_report<M: ReportGame>(mechanism: &M, report: &[f64]) -> BTreeMap<&'static str, f64> {
    mechanism
        .report_fields()
        .iter()
        .copied()
        .zip(report.iter().copied())
        .collect()
}

/// A word or path as one shell word: as it is when it has only characters
/// no shell treats specially, else in single quotes (a quote inside
/// written `'\''`).
#[must_use]
pub fn shell_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./,:=@%+".contains(c));
    if plain {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// The search flags of `procura audit` that make its search `config`
/// (seed included).
#[must_use]
pub fn search_flags(config: &AuditConfig) -> String {
    let mut flags = format!(
        "--grid {} --coalition-size {} --max-coalitions {}",
        config.grid(),
        config.coalition_size(),
        config.max_coalitions()
    );
    if let Some(limit) = config.max_participants() {
        flags.push_str(&format!(" --max-participants {limit}"));
    }
    flags.push_str(&format!(" --seed {}", config.seed()));
    flags
}

/// The command that audits `instance` (a path, `-`, or a placeholder such
/// as `INSTANCE`) exactly as `config` says: `procura audit INSTANCE
/// --mechanism NAME` and the search flags.
#[must_use]
pub fn audit_command(instance: &str, mechanism: &str, config: &AuditConfig) -> String {
    format!(
        "procura audit {} --mechanism {mechanism} {}",
        shell_word(instance),
        search_flags(config)
    )
}

/// A seed as audit reports write it and `--seed` takes it: a decimal u64,
/// bare or in the double quotes of a JSON string.
pub fn parse_seed(text: &str) -> Result<u64, String> {
    let bare = text
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
        .unwrap_or(text);
    bare.parse()
        .map_err(|_| format!("{text:?} is not an integer from 0 to {}", u64::MAX))
}

/// An audit report as JSON (see the module documentation); `replay` is
/// the command that runs the same audit again ([`audit_command`]).
#[must_use]
pub fn audit_report<M: ReportGame>(
    mechanism: &M,
    instance: &M::Instance,
    report: &AuditReport,
    certificate: Option<&Certificate>,
    config: &AuditConfig,
    replay: &str,
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
        search: SearchJson,
        replay: &'a str,
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
        deviation: report
            .deviation
            .as_ref()
            .and_then(|deviation| UnilateralJson::new(mechanism, id, deviation)),
        ir_violations: report.ir_violations,
        budget_ok: report.budget_ok,
        max_coalition_gain: report.max_coalition_gain,
        coalition: report
            .coalition
            .as_ref()
            .map(|coalition| CoalitionJson::new(mechanism, id, coalition)),
        evaluations: report.evaluations,
        certificate: certificate.map(|c| CertificateJson {
            monotone: c.monotone,
            critical_values: c.critical_values,
            max_payment_error: c.max_payment_error,
            evaluations: c.evaluations,
        }),
        search: SearchJson::new(config, report.sampled),
        replay,
    };
    to_json(&json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_are_quoted_only_when_they_must_be() {
        let check = |text: &str, expected: &str| assert_eq!(shell_word(text), expected, "{text}");
        check("examples/market.json", "examples/market.json");
        check("-", "-");
        check("", "''");
        check("my market.json", "'my market.json'");
        check("it's.json", r"'it'\''s.json'");
        check("$HOME/x", "'$HOME/x'");
    }

    #[test]
    fn seeds_are_read_bare_or_quoted() {
        assert_eq!(parse_seed("7"), Ok(7));
        assert_eq!(parse_seed("\"18446744073709551615\""), Ok(u64::MAX));
        assert!(parse_seed("-1").is_err());
        assert!(parse_seed("\"7").is_err());
        assert!(parse_seed("1e3").is_err());
        let error = parse_seed("18446744073709551616").expect_err("above u64");
        assert!(error.contains("18446744073709551615"), "{error}");
    }
}
