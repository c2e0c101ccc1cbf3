//! `clear`, `audit` and `verify`: instances and transcripts in (a `dict` or
//! JSON text), the command line's JSON out, parsed into a `dict`.
//!
//! The flow is `procura clear`'s and `procura audit`'s
//! (`crates/procura-cli/src/clear.rs`, `audit.rs`): `procura_format::read`
//! parses and validates, the mechanism clears, `procura_format::write` (for
//! audits `procura_format::audit_report`, as the CLI) writes the JSON text, and Python's `json` module reads it. Messages are
//! the CLI's without the file name before them.

use procura::audit::{audit as run_audit, certify, AuditConfig};
use procura::procurement;
use procura::threshold::{subsidy, withdrawal, Protocol, WithdrawalAssignment};
use procura::Mechanism;
use procura_format::audit_report::{audit_command, audit_report, parse_seed};
use procura_format::write;
use procura_market::transcript::{self, Receipt};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::input_error;
use crate::json::{text_of as json_text, to_python as json_to_python};

/// A mechanism as the command line's `--mechanism` names it: any
/// [`Mechanism`]'s name, or `withdrawal` alone, whose protocol then comes
/// from `protocol=` or the instance's `protocol` field.
#[derive(Debug, Clone, Copy)]
struct MechanismArg {
    mechanism: Mechanism,
    /// Whether the name carried a protocol (`withdrawal-small-first`).
    protocol_named: bool,
}

impl MechanismArg {
    fn parse(name: &str) -> Result<MechanismArg, String> {
        if name == "withdrawal" {
            return Ok(MechanismArg {
                mechanism: Mechanism::Withdrawal(Protocol::default()),
                protocol_named: false,
            });
        }
        name.parse::<Mechanism>()
            .map(|mechanism| MechanismArg {
                mechanism,
                protocol_named: true,
            })
            .map_err(|error| format!("mechanism: {error}, or withdrawal"))
    }

    fn name(self) -> &'static str {
        self.mechanism.family()
    }

    /// The mechanism to clear with: a protocol in the name wins, then
    /// `protocol=`, then the instance's own.
    fn resolve(self, flag: Option<Protocol>, instance: Protocol) -> Mechanism {
        match self.mechanism {
            Mechanism::Withdrawal(_) if !self.protocol_named => {
                Mechanism::Withdrawal(flag.unwrap_or(instance))
            }
            mechanism => mechanism,
        }
    }
}

/// The CLI's `check_kind`: called only when parsing failed, to replace a
/// confusing "missing field" with the real mistake (an instance of the
/// other market).
fn check_kind(text: &str, mechanism: MechanismArg) -> Result<(), String> {
    let expected = mechanism.mechanism.market();
    match procura_format::read::market(text) {
        Some(kind) if kind != expected => Err(format!(
            "{} clears {} instances (with `{}`), but this is a {} instance (with `{}`)",
            mechanism.name(),
            expected.name(),
            expected.records(),
            kind.name(),
            kind.records(),
        )),
        _ => Ok(()),
    }
}

/// Parses `text` as an instance of `mechanism`'s market, with the CLI's
/// messages.
fn procurement_instance(
    text: &str,
    mechanism: MechanismArg,
) -> Result<procurement::Instance, String> {
    procura_format::read::procurement_instance(text).or_else(|error| {
        check_kind(text, mechanism)?;
        Err(error.to_string())
    })
}

fn threshold_instance(
    text: &str,
    mechanism: MechanismArg,
) -> Result<procura::threshold::ThresholdInstance, String> {
    procura_format::read::threshold_instance(text).or_else(|error| {
        check_kind(text, mechanism)?;
        Err(error.to_string())
    })
}

/// `procura clear`'s `run`, on text: the outcome's JSON or the message.
fn clear_text(
    text: &str,
    mechanism: MechanismArg,
    protocol: Option<Protocol>,
) -> Result<String, String> {
    if protocol.is_some() && mechanism.mechanism != Mechanism::Withdrawal(Protocol::default()) {
        return Err("protocol applies only to withdrawal".to_owned());
    }
    let cannot =
        |error: &dyn std::fmt::Display| format!("cannot clear with {}: {error}", mechanism.name());
    if let Mechanism::Auction(auction) = mechanism.mechanism {
        let instance = procurement_instance(text, mechanism)?;
        let outcome = procurement::clear(&instance, auction).map_err(|e| cannot(&e))?;
        return write::procurement_outcome(&instance, &outcome).map_err(|e| e.to_string());
    }
    let instance = threshold_instance(text, mechanism)?;
    match mechanism.resolve(protocol, instance.protocol()) {
        Mechanism::Withdrawal(protocol) => {
            let outcome = withdrawal::clear(&instance, protocol).map_err(|e| cannot(&e))?;
            write::withdrawal_outcome(&instance, &outcome).map_err(|e| e.to_string())
        }
        _ => {
            let outcome = subsidy::clear(&instance).map_err(|e| cannot(&e))?;
            write::subsidy_outcome(&instance, &outcome).map_err(|e| e.to_string())
        }
    }
}

/// Clear one market: the outcome `procura clear` prints, as a `dict`.
///
/// `instance` is the JSON object of spec §A.1 (procurement, with
/// `providers`) or §B.1 (threshold, with `users`), as a `dict` or as JSON
/// text (`str` or `bytes`). `mechanism` is `qmia`, `mut`, `mixed`,
/// `volume`, `trust`, `subsidy`, `withdrawal` or
/// `withdrawal-PROTOCOL`; `protocol` (withdrawal only) overrides the
/// instance's `protocol` field. Bad input raises `procura.InputError`
/// naming the field and the record.
///
/// >>> import procura
/// >>> market = {"budget": 10.0, "providers": [
/// ...     {"id": "a", "bid": 2.0, "quality": 0.9, "utility": 1.5},
/// ...     {"id": "b", "bid": 3.0, "quality": 0.8, "utility": 1.0}]}
/// >>> procura.clear(market, "qmia")["winners"]
/// ['a', 'b']
#[pyfunction]
#[pyo3(signature = (instance, mechanism, *, protocol = None))]
pub(crate) fn clear<'py>(
    py: Python<'py>,
    instance: &Bound<'py, PyAny>,
    mechanism: &str,
    protocol: Option<&str>,
) -> PyResult<Bound<'py, PyAny>> {
    let mechanism = MechanismArg::parse(mechanism).map_err(input_error)?;
    let protocol = protocol
        .map(|name| name.parse::<Protocol>())
        .transpose()
        .map_err(|error| input_error(format!("protocol: {error}")))?;
    let text = json_text(instance, "instance")?;
    let json = py
        .detach(|| clear_text(&text, mechanism, protocol))
        .map_err(input_error)?;
    json_to_python(py, &json)
}

/// A seed as Python passes it: an `int`, or the decimal string that audit
/// reports print (bare or in double quotes); `None` is 0.
fn seed_of(seed: Option<&Bound<'_, PyAny>>) -> PyResult<u64> {
    let Some(seed) = seed else {
        return Ok(0);
    };
    if let Ok(text) = seed.extract::<String>() {
        return parse_seed(&text).map_err(|error| input_error(format!("seed: {error}")));
    }
    seed.extract::<u64>()
}

/// `procura audit INSTANCE`'s run, on text.
fn audit_text(text: &str, mechanism: MechanismArg, config: &AuditConfig) -> Result<String, String> {
    let cannot =
        |error: &dyn std::fmt::Display| format!("cannot audit {}: {error}", mechanism.name());
    // The replay command, with `INSTANCE` where the CLI has the instance's
    // path: write the instance to a file and put its path there.
    let replay = audit_command("INSTANCE", mechanism.name(), config);
    match mechanism.mechanism {
        Mechanism::Auction(auction) => {
            let instance = procurement_instance(text, mechanism)?;
            procurement::clear(&instance, auction).map_err(|e| cannot(&e))?;
            let report = run_audit(&auction, &instance, config);
            let certificate = certify(auction, &instance);
            Ok(audit_report(
                &auction,
                &instance,
                &report,
                certificate.as_ref(),
                config,
                &replay,
            ))
        }
        Mechanism::Withdrawal(_) => {
            let instance = threshold_instance(text, mechanism)?;
            withdrawal::assign(&instance).map_err(|e| cannot(&e))?;
            let report = run_audit(&WithdrawalAssignment, &instance, config);
            Ok(audit_report(
                &WithdrawalAssignment,
                &instance,
                &report,
                None,
                config,
                &replay,
            ))
        }
        Mechanism::Subsidy => Err(
            "subsidy cannot be audited: users report nothing, they choose whether to give the floor"
                .to_owned(),
        ),
    }
}

/// Audit a mechanism on one instance: the report `procura audit` prints,
/// as a `dict`.
///
/// The instance's reports are taken as the participants' true types. The
/// auditor searches unilateral misreports (critical reports, a `grid` of
/// points per report field, refinement) and coalitions of up to
/// `coalition_size` members (a seeded sample of `max_coalitions` when
/// there are more; `max_participants` limits the unilateral search to a
/// seeded sample), and checks individual rationality and the budgets. For
/// `qmia` and `mixed` the report adds a Myerson certificate. `withdrawal`
/// audits its assignment stage; `subsidy` has no reports to audit. The
/// report ends with how it searched (`search`, its seed a string) and the
/// `procura audit` command that replays it (`INSTANCE` where the
/// instance's file goes). `seed` is an `int` or such a string. Runs on
/// rayon's global pool with the GIL released; the report is the same on
/// any number of threads.
///
/// >>> import procura
/// >>> market = {"budget": 10.0, "providers": [
/// ...     {"id": "a", "bid": 2.0, "quality": 0.9, "utility": 1.5},
/// ...     {"id": "b", "bid": 3.0, "quality": 0.8, "utility": 1.0}]}
/// >>> report = procura.audit(market, "qmia", grid=16)
/// >>> report["max_unilateral_gain"] <= 1e-9, report["certificate"]["monotone"]
/// (True, True)
#[pyfunction]
#[pyo3(signature = (
    instance,
    mechanism,
    *,
    grid = 64,
    coalition_size = 2,
    max_coalitions = 2000,
    seed = None,
    max_participants = None,
), text_signature = "(instance, mechanism, *, grid=64, coalition_size=2, max_coalitions=2000, seed=0, max_participants=None)")]
#[allow(clippy::too_many_arguments)]
pub(crate) fn audit<'py>(
    py: Python<'py>,
    instance: &Bound<'py, PyAny>,
    mechanism: &str,
    grid: usize,
    coalition_size: usize,
    max_coalitions: usize,
    seed: Option<&Bound<'py, PyAny>>,
    max_participants: Option<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    let seed = seed_of(seed)?;
    let mechanism = MechanismArg::parse(mechanism).map_err(input_error)?;
    let config = AuditConfig::thorough()
        .with_grid(grid)
        .and_then(|config| config.with_coalition_size(coalition_size))
        .and_then(|config| config.with_max_coalitions(max_coalitions))
        .and_then(|config| config.with_max_participants(max_participants))
        .map_err(input_error)?
        .with_seed(seed);
    let text = json_text(instance, "instance")?;
    let json = py
        .detach(|| audit_text(&text, mechanism, &config))
        .map_err(input_error)?;
    json_to_python(py, &json)
}

/// Verify a live round's transcript offline (spec §C.6), as
/// `procura verify` does: the operator's signed checkpoint, every
/// signature, every rule of the round, and a re-clearing of the mechanism
/// that must match the outcome entry number for number.
///
/// `transcript` is the JSON served by `GET /v1/rounds/ROUND/transcript`, as
/// a `dict` or JSON text. `receipts` (optional) are participants' receipts
/// (§C.4), each a `dict` or JSON text, checked against the verified log.
/// Returns a `dict` with `valid` (bool), `phase` (the round's phase when
/// valid, else `None`), `rule` and `entry` (the first failing rule of §C.6
/// and the entry it is about, else `None`) and `error` (what fails, else
/// `None`; a failing receipt has `rule` `None` and its entry's index). A
/// text that is not a transcript or a receipt at all raises
/// `procura.InputError`.
///
/// >>> import json, procura
/// >>> result = procura.verify(open("procurement.transcript.json").read())  # doctest: +SKIP
/// >>> result["valid"], result["phase"]  # doctest: +SKIP
/// (True, 'cleared')
#[pyfunction]
#[pyo3(signature = (transcript, *, receipts = None))]
pub(crate) fn verify<'py>(
    py: Python<'py>,
    transcript: &Bound<'py, PyAny>,
    receipts: Option<Vec<Bound<'py, PyAny>>>,
) -> PyResult<Bound<'py, PyDict>> {
    let text = json_text(transcript, "transcript")?;
    let receipts = receipts
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(index, receipt)| {
            let text = json_text(receipt, &format!("receipts[{index}]"))?;
            serde_json::from_str::<Receipt>(&text)
                .map_err(|error| input_error(format!("receipts[{index}]: not a receipt: {error}")))
        })
        .collect::<PyResult<Vec<Receipt>>>()?;
    let parsed = transcript::parse(text.as_bytes()).map_err(input_error)?;
    let result = py.detach(|| -> Result<&'static str, VerifyFailure> {
        let verified = transcript::verify(&parsed).map_err(|failure| VerifyFailure {
            rule: Some(failure.rule),
            entry: failure.entry,
            error: failure.message,
        })?;
        for receipt in &receipts {
            verified
                .check_receipt(receipt)
                .map_err(|error| VerifyFailure {
                    rule: None,
                    entry: Some(receipt.index),
                    error: format!(
                        "the receipt for entry {} does not check: {error}",
                        receipt.index
                    ),
                })?;
        }
        Ok(verified.round().phase().name())
    });
    let dict = PyDict::new(py);
    match result {
        Ok(phase) => {
            dict.set_item("valid", true)?;
            dict.set_item("phase", phase)?;
            dict.set_item("rule", py.None())?;
            dict.set_item("entry", py.None())?;
            dict.set_item("error", py.None())?;
        }
        Err(failure) => {
            dict.set_item("valid", false)?;
            dict.set_item("phase", py.None())?;
            dict.set_item("rule", failure.rule)?;
            dict.set_item("entry", failure.entry)?;
            dict.set_item("error", failure.error)?;
        }
    }
    Ok(dict)
}

/// Why a transcript or a receipt does not verify.
struct VerifyFailure {
    rule: Option<u8>,
    entry: Option<u64>,
    error: String,
}
