//! The payloads of §C.3, one typed record per kind of entry.
//!
//! A payload is a UTF-8 JSON object. It is parsed strictly: every field of
//! its kind with the right type, no other field, no field twice; numbers
//! are read as the exact doubles they denote. Which optional fields a
//! participant's record or reveal must have depends on the market and is
//! checked by the round ([`crate::round`]), not here.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::envelope::{parse_hex32, KeyId, Kind};
use crate::merkle::Hash;

/// Longest round id, in characters.
pub const MAX_ROUND_ID: usize = 64;

/// A round id: 1 to 64 characters from `[A-Za-z0-9._-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoundId(String);

impl RoundId {
    /// Checks the id's length and alphabet.
    pub fn parse(text: &str) -> Result<RoundId, PayloadError> {
        let valid = (1..=MAX_ROUND_ID).contains(&text.len())
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if valid {
            Ok(RoundId(text.to_owned()))
        } else {
            Err(PayloadError::Field {
                field: "round",
                reason: format!(
                    "{text:?} is not 1 to {MAX_ROUND_ID} characters from [A-Za-z0-9._-]"
                ),
            })
        }
    }

    /// The id.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RoundId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a payload is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PayloadError {
    /// Not a JSON object with the kind's fields.
    #[error("the {kind} payload is not valid: {message}")]
    Syntax {
        /// The kind of entry.
        kind: &'static str,
        /// serde_json's message, with the line and column.
        message: String,
    },
    /// A field with a value the format refuses.
    #[error("{field}: {reason}")]
    Field {
        /// The field's name.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

/// `open`: creates a round.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenPayload {
    /// The round id.
    pub round: String,
    /// `qmia`, `mut`, `mixed`, `volume`, `trust` or `withdrawal`.
    pub mechanism: String,
    /// The §A.1 or §B.1 instance without its participant list.
    pub instance: serde_json::Map<String, serde_json::Value>,
    /// The participants.
    pub roster: Vec<RosterEntry>,
    /// The operator's key id; the server's key when absent.
    #[serde(default)]
    pub operator: Option<String>,
}

/// A participant in the roster. Procurement rounds give `quality`,
/// `utility` and optional `volume`; threshold rounds give `capacity` and
/// optional `benefit`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RosterEntry {
    /// The participant's id in the instance.
    pub id: String,
    /// Its key id.
    pub key: String,
    /// q_i, verified quality (procurement).
    #[serde(default)]
    pub quality: Option<f64>,
    /// μ_i, marginal utility (procurement).
    #[serde(default)]
    pub utility: Option<f64>,
    /// Data volume (procurement, optional).
    #[serde(default)]
    pub volume: Option<f64>,
    /// cap_i (threshold).
    #[serde(default)]
    pub capacity: Option<f64>,
    /// b_i (threshold, optional).
    #[serde(default)]
    pub benefit: Option<f64>,
}

/// `commit`: a sealed report.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CommitPayload {
    /// The round id.
    pub round: String,
    /// The participant's id.
    pub id: String,
    /// Hex SHA-256 of the reveal payload's bytes.
    pub commitment: String,
}

/// The phase a `close` ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ClosedPhase {
    /// The commit phase.
    Commit,
    /// The reveal phase.
    Reveal,
    /// The decide phase.
    Decide,
}

impl ClosedPhase {
    /// `commit`, `reveal` or `decide`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            ClosedPhase::Commit => "commit",
            ClosedPhase::Reveal => "reveal",
            ClosedPhase::Decide => "decide",
        }
    }
}

/// `close`: ends a phase.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClosePayload {
    /// The round id.
    pub round: String,
    /// The phase it ends.
    pub phase: ClosedPhase,
}

/// `reveal`: opens a commitment.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RevealPayload {
    /// The round id.
    pub round: String,
    /// The participant's id.
    pub id: String,
    /// The bid (procurement).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bid: Option<f64>,
    /// The claimed quality (procurement, optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_quality: Option<f64>,
    /// The cost (threshold).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<f64>,
    /// Hex of 32 random bytes.
    pub nonce: String,
}

/// `outcome`: the cleared outcome, written by the operator.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutcomePayload {
    /// The round id.
    pub round: String,
    /// The object `procura clear` prints.
    pub outcome: serde_json::Value,
}

/// A user's choice in the decide phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// Keep the data in and be paid on training.
    Stay,
    /// Take the data back.
    Withdraw,
}

impl Decision {
    /// `stay` or `withdraw`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Decision::Stay => "stay",
            Decision::Withdraw => "withdraw",
        }
    }
}

/// `decide`: an assigned user stays or withdraws.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DecidePayload {
    /// The round id.
    pub round: String,
    /// The user's id.
    pub id: String,
    /// Stay or withdraw.
    pub decision: Decision,
}

/// A stayer's escrow release in `settle`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SettlePayment {
    /// The user's id.
    pub id: String,
    /// x_i.
    pub amount: f64,
    /// t_i.
    pub payment: f64,
}

/// `settle`: training and escrow release, written by the operator.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SettlePayload {
    /// The round id.
    pub round: String,
    /// Whether the stayers' amounts reach T.
    pub trained: bool,
    /// The stayers' amounts, summed in assignment order.
    pub collected: f64,
    /// The stayers, in assignment order, when trained; empty otherwise.
    pub payments: Vec<SettlePayment>,
}

/// A parsed payload.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// `open`.
    Open(OpenPayload),
    /// `commit`.
    Commit(CommitPayload),
    /// `close`.
    Close(ClosePayload),
    /// `reveal`.
    Reveal(RevealPayload),
    /// `outcome`.
    Outcome(OutcomePayload),
    /// `decide`.
    Decide(DecidePayload),
    /// `settle`.
    Settle(SettlePayload),
}

fn parse_as<T: DeserializeOwned>(kind: Kind, bytes: &[u8]) -> Result<T, PayloadError> {
    serde_json::from_slice(bytes).map_err(|error| PayloadError::Syntax {
        kind: kind.name(),
        message: error.to_string(),
    })
}

impl Payload {
    /// Parses the payload bytes of an entry of `kind`.
    pub fn parse(kind: Kind, bytes: &[u8]) -> Result<Payload, PayloadError> {
        Ok(match kind {
            Kind::Open => Payload::Open(parse_as(kind, bytes)?),
            Kind::Commit => Payload::Commit(parse_as(kind, bytes)?),
            Kind::Close => Payload::Close(parse_as(kind, bytes)?),
            Kind::Reveal => Payload::Reveal(parse_as(kind, bytes)?),
            Kind::Outcome => Payload::Outcome(parse_as(kind, bytes)?),
            Kind::Decide => Payload::Decide(parse_as(kind, bytes)?),
            Kind::Settle => Payload::Settle(parse_as(kind, bytes)?),
        })
    }

    /// The payload's `round` field, checked as a round id.
    pub fn round(&self) -> Result<RoundId, PayloadError> {
        RoundId::parse(match self {
            Payload::Open(p) => &p.round,
            Payload::Commit(p) => &p.round,
            Payload::Close(p) => &p.round,
            Payload::Reveal(p) => &p.round,
            Payload::Outcome(p) => &p.round,
            Payload::Decide(p) => &p.round,
            Payload::Settle(p) => &p.round,
        })
    }

    /// Checks the fields whose text has a format: hex commitments and
    /// nonces, key ids.
    pub fn check_formats(&self) -> Result<(), PayloadError> {
        let hex = |field: &'static str, text: &str| {
            parse_hex32(text).map(|_| ()).ok_or(PayloadError::Field {
                field,
                reason: "not 64 lowercase hex digits".into(),
            })
        };
        match self {
            Payload::Commit(p) => hex("commitment", &p.commitment),
            Payload::Reveal(p) => hex("nonce", &p.nonce),
            Payload::Open(p) => {
                if let Some(operator) = &p.operator {
                    KeyId::parse(operator).map_err(|error| PayloadError::Field {
                        field: "operator",
                        reason: error.to_string(),
                    })?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// The commitment to a reveal payload: SHA-256 of its bytes.
#[must_use]
pub fn commitment(reveal_payload: &[u8]) -> Hash {
    crate::merkle::sha256(reveal_payload)
}

/// What a participant reveals: a procurement bid (with an optional claimed
/// quality) or a threshold cost.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Report {
    /// A procurement bid b_i and optional claimed quality.
    Bid {
        /// b_i.
        bid: f64,
        /// The claimed quality; the roster's `quality` when absent.
        claimed_quality: Option<f64>,
    },
    /// A threshold cost c_i.
    Cost(f64),
}

/// Payload bytes as a client writes them: compact JSON in the field order
/// of the structs above.
fn to_bytes(payload: &impl Serialize) -> Vec<u8> {
    // Plain structs of strings and finite numbers always serialize.
    serde_json::to_vec(payload).unwrap_or_default()
}

/// The bytes of a `commit` payload.
#[must_use]
pub fn commit_bytes(round: &RoundId, id: &str, commitment: &Hash) -> Vec<u8> {
    to_bytes(&CommitPayload {
        round: round.to_string(),
        id: id.to_owned(),
        commitment: hex::encode(commitment),
    })
}

/// The bytes of a `reveal` payload. A report that is not a finite number
/// is written as `null` and refused by the round.
#[must_use]
pub fn reveal_bytes(round: &RoundId, id: &str, report: Report, nonce: &[u8; 32]) -> Vec<u8> {
    let (bid, claimed_quality, cost) = match report {
        Report::Bid {
            bid,
            claimed_quality,
        } => (Some(bid), claimed_quality, None),
        Report::Cost(cost) => (None, None, Some(cost)),
    };
    to_bytes(&RevealPayload {
        round: round.to_string(),
        id: id.to_owned(),
        bid,
        claimed_quality,
        cost,
        nonce: hex::encode(nonce),
    })
}

/// The bytes of a `close` payload.
#[must_use]
pub fn close_bytes(round: &RoundId, phase: ClosedPhase) -> Vec<u8> {
    to_bytes(&ClosePayload {
        round: round.to_string(),
        phase,
    })
}

/// The bytes of a `decide` payload.
#[must_use]
pub fn decide_bytes(round: &RoundId, id: &str, decision: Decision) -> Vec<u8> {
    to_bytes(&DecidePayload {
        round: round.to_string(),
        id: id.to_owned(),
        decision,
    })
}

/// The nonce of a participant's reveal, derived from its secret key, the
/// round and its id: SHA-256("procura reveal nonce v1" ‖ 0x00 ‖ seed ‖
/// round ‖ 0x00 ‖ id). A client that crashed after committing derives the
/// same nonce and can still reveal; nobody without the key can guess it,
/// so the commitment hides the report.
#[must_use]
pub fn derive_nonce(seed: &[u8; 32], round: &RoundId, id: &str) -> [u8; 32] {
    let mut bytes = b"procura reveal nonce v1\0".to_vec();
    bytes.extend_from_slice(seed);
    bytes.extend_from_slice(round.as_str().as_bytes());
    bytes.push(0);
    bytes.extend_from_slice(id.as_bytes());
    crate::merkle::sha256(&bytes)
}
