//! The round state machine (spec §C.3): a function from a round and an
//! entry to the next round or a typed [`Refusal`]. The server calls it to
//! accept entries; [`crate::transcript::verify`] calls it to replay a log.
//!
//! ```text
//! procurement: commit ─close─▶ reveal ─close─▶ (outcome) ─▶ cleared
//! threshold:   commit ─close─▶ reveal ─close─▶ (outcome) ─▶ cleared  (null outcome)
//!                                                        └─▶ decide ─close─▶ (settle) ─▶ settled
//! ```
//!
//! The states in parentheses wait for the operator's entry, which the
//! server appends in the same transaction as the `close` before them.
//!
//! **[`Round::apply`] changes nothing when it refuses**: every check runs
//! before the first write. The instance that is cleared is the `open`
//! instance with the participants who revealed, in roster order (§C.3); it
//! is read by `procura-format` and cleared by `procura-mechanisms`, the
//! same code as `procura clear`, and the outcome entry holds exactly the
//! object `procura clear` prints.

use std::collections::{HashMap, HashSet};

use rayon::prelude::*;

use procura_mechanisms::procurement::{self, Auction};
use procura_mechanisms::threshold::protocol::turn_order;
use procura_mechanisms::threshold::{reaches, withdrawal, Protocol};
use serde_json::{Map, Value};

use crate::envelope::{Envelope, KeyId, Kind};
use crate::merkle::{Hash, Tree};
use crate::payload::{
    commitment, ClosePayload, ClosedPhase, CommitPayload, DecidePayload, Decision, OpenPayload,
    OutcomePayload, Payload, RevealPayload, RosterEntry, RoundId, SettlePayload, SettlePayment,
};

/// Most participants in a roster.
pub const MAX_ROSTER: usize = 200_000;

/// Most commits one participant may send in a round (it may change its
/// mind, but not fill the log).
pub const MAX_COMMITS: u8 = 64;

/// Most entries in one round's log: the open, [`MAX_COMMITS`] commits, a
/// reveal and a decision per participant, three closes and the operator's
/// two entries.
pub const MAX_ENTRIES: u64 = 1 + (MAX_COMMITS as u64 + 2) * MAX_ROSTER as u64 + 5;

/// A phase of a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Participants commit.
    Commit,
    /// Participants reveal.
    Reveal,
    /// The reveal phase is closed; the operator's outcome entry comes next.
    AwaitingOutcome,
    /// Assigned users stay or withdraw (threshold rounds).
    Decide,
    /// The decide phase is closed; the operator's settle entry comes next.
    AwaitingSettle,
    /// The outcome is final (procurement, or a null threshold outcome).
    Cleared,
    /// Training and escrow are settled (threshold).
    Settled,
}

impl Phase {
    /// The phase's name: `commit`, `reveal`, `outcome-due` (the reveal
    /// phase is closed, the operator's outcome entry comes next), `decide`,
    /// `settle-due`, `cleared`, `settled`. An honest server never shows the
    /// two `-due` phases: it stores the close and the operator's entry
    /// together.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Phase::Commit => "commit",
            Phase::Reveal => "reveal",
            Phase::AwaitingOutcome => "outcome-due",
            Phase::Decide => "decide",
            Phase::AwaitingSettle => "settle-due",
            Phase::Cleared => "cleared",
            Phase::Settled => "settled",
        }
    }
}

/// Why an entry was refused. Each reason has the HTTP status of §C.5 and
/// the rule of §C.6 that a logged entry of that kind breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// Not an envelope, a payload that is not the kind's JSON object, a
    /// round id that differs from the round's.
    #[error("{0}")]
    Malformed(String),
    /// A payload whose round id is not this round's.
    #[error("{0}")]
    OtherRound(String),
    /// The signature does not verify.
    #[error("{0}")]
    BadSignature(String),
    /// An open instance, roster or reported number that breaks a rule of
    /// Part A or B.
    #[error("{0}")]
    Invalid(String),
    /// The signer may not send this entry.
    #[error("{0}")]
    Forbidden(String),
    /// A valid entry at the wrong time: wrong phase, a second reveal or
    /// decision, an entry already in the log.
    #[error("{0}")]
    WrongTime(String),
    /// A reveal that does not match its participant's last commitment.
    #[error("{0}")]
    CommitmentMismatch(String),
    /// A sequential decision before its turn.
    #[error("{0}")]
    OutOfTurn(String),
    /// An outcome entry that is not the re-cleared outcome, or an instance
    /// that does not clear.
    #[error("{0}")]
    OutcomeDiffers(String),
    /// A settle entry that is not what the outcome and decisions give.
    #[error("{0}")]
    SettleDiffers(String),
    /// The log already holds [`MAX_ENTRIES`] entries.
    #[error("{0}")]
    Full(String),
}

impl Refusal {
    /// The HTTP status of §C.5.
    #[must_use]
    pub fn status(&self) -> u16 {
        match self {
            Refusal::Malformed(_) | Refusal::OtherRound(_) | Refusal::Invalid(_) => 400,
            Refusal::BadSignature(_) => 401,
            Refusal::Forbidden(_) => 403,
            Refusal::Full(_) => 413,
            Refusal::WrongTime(_)
            | Refusal::CommitmentMismatch(_)
            | Refusal::OutOfTurn(_)
            | Refusal::OutcomeDiffers(_)
            | Refusal::SettleDiffers(_) => 409,
        }
    }

    /// The rule of §C.6 that a logged entry refused for this reason
    /// breaks (an `open` breaks rule 3 whatever the reason, rule 2 aside).
    #[must_use]
    pub fn rule(&self) -> u8 {
        match self {
            Refusal::Malformed(_) | Refusal::BadSignature(_) => 2,
            Refusal::OtherRound(_)
            | Refusal::Invalid(_)
            | Refusal::Forbidden(_)
            | Refusal::WrongTime(_)
            | Refusal::Full(_) => 4,
            Refusal::CommitmentMismatch(_) => 5,
            Refusal::OutcomeDiffers(_) => 6,
            Refusal::OutOfTurn(_) | Refusal::SettleDiffers(_) => 7,
        }
    }
}

/// How the round clears: a Part A auction or withdrawal rights with a
/// protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoundMechanism {
    /// A procurement auction.
    Auction(Auction),
    /// Withdrawal rights under a protocol (the instance's `protocol`).
    Withdrawal(Protocol),
}

impl RoundMechanism {
    /// The name in the `open` payload: `qmia`, …, `withdrawal`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            RoundMechanism::Auction(auction) => auction.name(),
            RoundMechanism::Withdrawal(_) => "withdrawal",
        }
    }

    /// The field holding the participants in the instance.
    fn records(self) -> &'static str {
        match self {
            RoundMechanism::Auction(_) => "providers",
            RoundMechanism::Withdrawal(_) => "users",
        }
    }
}

/// A roster participant with its record's fields.
#[derive(Debug, Clone, PartialEq)]
struct Participant {
    id: String,
    key: KeyId,
    /// The roster's fields for the instance record (`quality`, `utility`,
    /// `volume`; or `capacity`, `benefit`), as JSON numbers.
    fields: Vec<(&'static str, f64)>,
}

/// A threshold outcome's assigned user (x_i > 0), in assignment order.
#[derive(Debug, Clone, PartialEq)]
struct Assigned {
    participant: usize,
    amount: f64,
    payment: f64,
}

/// The outcome of re-clearing.
#[derive(Debug, Clone, PartialEq)]
struct Cleared {
    /// The outcome object as `procura clear` prints it, parsed.
    value: Value,
    /// The text `procura clear` prints.
    text: String,
    /// Threshold rounds: the assigned users; empty for procurement or a
    /// null outcome.
    assigned: Vec<Assigned>,
    /// Threshold rounds: whether the outcome is null.
    null: bool,
    /// Threshold rounds: T.
    threshold: f64,
    /// Procurement: the winners' ids and cash paid.
    winners: Vec<String>,
    total_paid: f64,
}

/// A round: its log and the state its entries leave.
#[derive(Debug, Clone)]
pub struct Round {
    id: RoundId,
    mechanism: RoundMechanism,
    buyer: KeyId,
    operator: KeyId,
    instance: Map<String, Value>,
    roster: Vec<Participant>,
    by_id: HashMap<String, usize>,
    phase: Phase,
    commitments: Vec<Option<Hash>>,
    /// How many commits each participant has sent.
    commits: Vec<u8>,
    committed: Vec<usize>,
    reveals: Vec<Option<Vec<(&'static str, f64)>>>,
    revealed: Vec<usize>,
    cleared: Option<Cleared>,
    decisions: Vec<Option<Decision>>,
    decided: Vec<usize>,
    /// Sequential protocols: the assigned users (indices into
    /// `cleared.assigned`) in turn order.
    turns: Vec<usize>,
    /// Each roster participant's index in `cleared.assigned`, if assigned.
    assignment_of: Vec<Option<usize>>,
    settled: Option<SettlePayload>,
    tree: Tree,
    leaves: HashSet<Hash>,
}

fn payload_of(envelope: &Envelope) -> Result<Payload, Refusal> {
    let payload = Payload::parse(envelope.kind(), envelope.payload())
        .map_err(|error| Refusal::Malformed(error.to_string()))?;
    payload
        .check_formats()
        .map_err(|error| Refusal::Malformed(error.to_string()))?;
    Ok(payload)
}

fn number(value: f64) -> Value {
    serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number)
}

/// The record of one participant: its id, the roster's fields and the
/// reported ones.
fn record(participant: &Participant, report: &[(&'static str, f64)]) -> Value {
    let mut record = Map::new();
    record.insert("id".into(), Value::String(participant.id.clone()));
    for (field, value) in report.iter().chain(&participant.fields) {
        record.insert((*field).into(), number(*value));
    }
    Value::Object(record)
}

/// Removes the JSON whitespace outside strings: `procura clear`'s pretty
/// text as one line, with its key order and number forms kept.
#[must_use]
pub fn minify(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if !matches!(c, ' ' | '\n' | '\r' | '\t') {
            if c == '"' {
                in_string = true;
            }
            out.push(c);
        }
    }
    out
}

/// Whether two JSON values are the same, numbers compared as doubles bit
/// for bit (so `3` and `3.0` agree, one ulp does not), objects as key sets.
#[must_use]
pub fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => x.to_bits() == y.to_bits(),
            _ => false,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_json(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(key, x)| y.get(key).is_some_and(|y| same_json(x, y)))
        }
        _ => a == b,
    }
}

fn parse_mechanism(name: &str, instance: &Map<String, Value>) -> Result<RoundMechanism, Refusal> {
    if name == "withdrawal" {
        let protocol = match instance.get("protocol") {
            None => Protocol::default(),
            Some(Value::String(protocol)) => protocol.parse().map_err(
                |error: procura_mechanisms::threshold::UnknownProtocol| {
                    Refusal::Invalid(format!("instance.protocol: {error}"))
                },
            )?,
            Some(_) => {
                return Err(Refusal::Invalid(
                    "instance.protocol: expected a protocol name".into(),
                ))
            }
        };
        return Ok(RoundMechanism::Withdrawal(protocol));
    }
    Auction::ALL
        .into_iter()
        .find(|auction| auction.name() == name)
        .map(RoundMechanism::Auction)
        .ok_or_else(|| {
            Refusal::Invalid(format!(
                "mechanism: {name:?} is not one of qmia, mut, mixed, volume, trust, withdrawal"
            ))
        })
}

/// The roster's fields for one participant, checked against the market.
fn roster_fields(
    mechanism: RoundMechanism,
    entry: &RosterEntry,
    at: usize,
) -> Result<Vec<(&'static str, f64)>, Refusal> {
    let named = |field: &str, reason: &str| {
        Refusal::Invalid(format!("roster[{at}] ({:?}).{field}: {reason}", entry.id))
    };
    let mut fields = Vec::new();
    match mechanism {
        RoundMechanism::Auction(_) => {
            for (field, value) in [("capacity", entry.capacity), ("benefit", entry.benefit)] {
                if value.is_some() {
                    return Err(named(field, "a procurement roster has no such field"));
                }
            }
            let quality = entry.quality.ok_or_else(|| named("quality", "missing"))?;
            let utility = entry.utility.ok_or_else(|| named("utility", "missing"))?;
            fields.push(("quality", quality));
            fields.push(("utility", utility));
            if let Some(volume) = entry.volume {
                fields.push(("volume", volume));
            }
        }
        RoundMechanism::Withdrawal(_) => {
            for (field, value) in [
                ("quality", entry.quality),
                ("utility", entry.utility),
                ("volume", entry.volume),
            ] {
                if value.is_some() {
                    return Err(named(field, "a threshold roster has no such field"));
                }
            }
            let capacity = entry.capacity.ok_or_else(|| named("capacity", "missing"))?;
            fields.push(("capacity", capacity));
            if let Some(benefit) = entry.benefit {
                fields.push(("benefit", benefit));
            }
        }
    }
    Ok(fields)
}

impl Round {
    /// Opens a round from its `open` envelope (entry 0). `default_operator`
    /// is the operator when the payload names none (the server's key).
    /// The signature is checked; the signer becomes the buyer.
    pub fn open(envelope: &Envelope, default_operator: KeyId) -> Result<Round, Refusal> {
        envelope
            .verify()
            .map_err(|error| Refusal::BadSignature(error.to_string()))?;
        if envelope.kind() != Kind::Open {
            return Err(Refusal::WrongTime(format!(
                "a round starts with an open entry, not a {}",
                envelope.kind().name()
            )));
        }
        let Payload::Open(open) = payload_of(envelope)? else {
            return Err(Refusal::Malformed("not an open payload".into()));
        };
        Round::from_open(open, envelope, default_operator)
    }

    fn from_open(
        open: OpenPayload,
        envelope: &Envelope,
        default_operator: KeyId,
    ) -> Result<Round, Refusal> {
        let id = RoundId::parse(&open.round).map_err(|e| Refusal::Malformed(e.to_string()))?;
        let operator = match &open.operator {
            // Checked by check_formats.
            Some(operator) => {
                KeyId::parse(operator).map_err(|e| Refusal::Malformed(e.to_string()))?
            }
            None => default_operator,
        };
        let mechanism = parse_mechanism(&open.mechanism, &open.instance)?;
        if open.instance.contains_key(mechanism.records()) {
            return Err(Refusal::Invalid(format!(
                "instance.{}: the participants come from the roster",
                mechanism.records()
            )));
        }
        if open.roster.len() > MAX_ROSTER {
            return Err(Refusal::Invalid(format!(
                "roster: {} participants, more than the limit of {MAX_ROSTER}",
                open.roster.len()
            )));
        }
        let mut roster = Vec::with_capacity(open.roster.len());
        let mut by_id = HashMap::with_capacity(open.roster.len());
        let mut keys = HashSet::with_capacity(open.roster.len());
        // Decompressing the keys is the costly part of a large roster.
        let parsed: Vec<Result<KeyId, Refusal>> = open
            .roster
            .par_iter()
            .enumerate()
            .map(|(at, entry)| {
                KeyId::parse(&entry.key).map_err(|error| {
                    Refusal::Invalid(format!("roster[{at}] ({:?}).key: {error}", entry.id))
                })
            })
            .collect();
        for ((at, entry), key) in open.roster.iter().enumerate().zip(parsed) {
            let key = key?;
            if by_id.insert(entry.id.clone(), at).is_some() {
                return Err(Refusal::Invalid(format!(
                    "roster[{at}].id: {:?} is listed twice",
                    entry.id
                )));
            }
            if !keys.insert(key) {
                return Err(Refusal::Invalid(format!(
                    "roster[{at}] ({:?}).key: the key is listed twice",
                    entry.id
                )));
            }
            roster.push(Participant {
                id: entry.id.clone(),
                key,
                fields: roster_fields(mechanism, entry, at)?,
            });
        }
        let n = roster.len();
        let mut round = Round {
            id,
            mechanism,
            buyer: envelope.signer(),
            operator,
            instance: open.instance,
            roster,
            by_id,
            phase: Phase::Commit,
            commitments: vec![None; n],
            commits: vec![0; n],
            committed: Vec::new(),
            reveals: vec![None; n],
            revealed: Vec::new(),
            cleared: None,
            decisions: vec![None; n],
            decided: Vec::new(),
            turns: Vec::new(),
            assignment_of: vec![None; n],
            settled: None,
            tree: Tree::new(),
            leaves: HashSet::new(),
        };
        // Every rule of Part A or B, as if every bid or cost were 0.
        let zero: Vec<(&'static str, f64)> = match mechanism {
            RoundMechanism::Auction(_) => vec![("bid", 0.0)],
            RoundMechanism::Withdrawal(_) => vec![("cost", 0.0)],
        };
        let everyone: Vec<(usize, &[(&'static str, f64)])> = (0..n)
            .map(|participant| (participant, zero.as_slice()))
            .collect();
        round
            .check_instance(&everyone)
            .map_err(|error| Refusal::Invalid(format!("the instance and roster: {error}")))?;
        round.append(envelope.leaf_hash());
        Ok(round)
    }

    /// The instance text with the given participants and reports.
    fn instance_text(&self, participants: &[(usize, &[(&'static str, f64)])]) -> String {
        let mut instance = self.instance.clone();
        let records = participants
            .iter()
            .map(|(participant, report)| record(&self.roster[*participant], report))
            .collect();
        instance.insert(self.mechanism.records().into(), Value::Array(records));
        Value::Object(instance).to_string()
    }

    /// Whether the instance of the given participants keeps every rule of
    /// §A.1 or §B.1 and the mechanism can clear it (it has every field the
    /// mechanism needs), without clearing it: an `open` with a large
    /// roster is not cleared twice.
    fn check_instance(
        &self,
        participants: &[(usize, &[(&'static str, f64)])],
    ) -> Result<(), String> {
        let text = self.instance_text(participants);
        match self.mechanism {
            RoundMechanism::Auction(auction) => {
                let instance = procura_format::read::procurement_instance(&text)
                    .map_err(|error| error.to_string())?;
                auction
                    .check_clears(&instance)
                    .map_err(|error| error.to_string())
            }
            RoundMechanism::Withdrawal(_) => {
                let instance = procura_format::read::threshold_instance(&text)
                    .map_err(|error| error.to_string())?;
                withdrawal::assign(&instance)
                    .map(|_| ())
                    .map_err(|error| error.to_string())
            }
        }
    }

    /// Reads and clears the instance of the given participants with the
    /// round's mechanism: the same calls as `procura clear`.
    fn clear_with(
        &self,
        participants: &[(usize, &[(&'static str, f64)])],
    ) -> Result<Cleared, String> {
        let text = self.instance_text(participants);
        match self.mechanism {
            RoundMechanism::Auction(auction) => {
                let instance = procura_format::read::procurement_instance(&text)
                    .map_err(|error| error.to_string())?;
                let outcome =
                    procurement::clear(&instance, auction).map_err(|error| error.to_string())?;
                let text = procura_format::write::procurement_outcome(&instance, &outcome)
                    .map_err(|error| error.to_string())?;
                let winners = outcome
                    .winners()
                    .filter_map(|winner| instance.providers().get(winner))
                    .map(|provider| provider.id().to_owned())
                    .collect();
                Ok(Cleared {
                    value: serde_json::from_str(&text).map_err(|error| error.to_string())?,
                    text,
                    assigned: Vec::new(),
                    null: false,
                    threshold: 0.0,
                    winners,
                    total_paid: outcome.total_cash(),
                })
            }
            RoundMechanism::Withdrawal(_) => {
                let instance = procura_format::read::threshold_instance(&text)
                    .map_err(|error| error.to_string())?;
                let outcome = withdrawal::clear(&instance, instance.protocol())
                    .map_err(|error| error.to_string())?;
                let text = procura_format::write::withdrawal_outcome(&instance, &outcome)
                    .map_err(|error| error.to_string())?;
                // Records are in the order given, so the instance's user k
                // is participants[k].
                let assigned: Vec<Assigned> = outcome
                    .assignments()
                    .iter()
                    .filter(|assignment| assignment.amount > 0.0)
                    .filter_map(|assignment| {
                        Some(Assigned {
                            participant: participants.get(assignment.user)?.0,
                            amount: assignment.amount,
                            payment: assignment.payment,
                        })
                    })
                    .collect();
                let winners = assigned
                    .iter()
                    .map(|a| self.roster[a.participant].id.clone())
                    .collect();
                Ok(Cleared {
                    value: serde_json::from_str(&text).map_err(|error| error.to_string())?,
                    text,
                    assigned,
                    null: outcome.is_null(),
                    threshold: instance.threshold(),
                    winners,
                    total_paid: outcome.total_payment(),
                })
            }
        }
    }

    fn append(&mut self, leaf: Hash) {
        self.tree.push(leaf);
        self.leaves.insert(leaf);
    }

    /// Applies a later entry (not the `open`): checks its signature, its
    /// payload and every rule of §C.3, then appends it. On a refusal the
    /// round is unchanged.
    pub fn apply(&mut self, envelope: &Envelope) -> Result<(), Refusal> {
        envelope
            .verify()
            .map_err(|error| Refusal::BadSignature(error.to_string()))?;
        self.apply_verified(envelope)
    }

    /// [`Round::apply`] for an envelope whose signature the caller has
    /// already verified (a transcript checks every signature first, in
    /// parallel).
    pub fn apply_verified(&mut self, envelope: &Envelope) -> Result<(), Refusal> {
        let payload = payload_of(envelope)?;
        let round = payload
            .round()
            .map_err(|error| Refusal::Malformed(error.to_string()))?;
        if round != self.id {
            return Err(Refusal::OtherRound(format!(
                "round: the payload names round {round:?}, this is round {:?}",
                self.id.as_str()
            )));
        }
        if self.tree.size() >= MAX_ENTRIES {
            return Err(Refusal::Full(format!(
                "the round's log holds the limit of {MAX_ENTRIES} entries"
            )));
        }
        let leaf = envelope.leaf_hash();
        self.check_new(&leaf)?;
        let signer = envelope.signer();
        match payload {
            Payload::Open(_) => Err(Refusal::WrongTime(format!(
                "round {:?} is already open",
                self.id.as_str()
            ))),
            Payload::Commit(commit) => self.commit(signer, &commit, leaf),
            Payload::Close(close) => self.close(signer, &close, leaf),
            Payload::Reveal(reveal) => self.reveal(signer, &reveal, envelope.payload(), leaf),
            Payload::Outcome(outcome) => self.outcome(signer, &outcome, leaf),
            Payload::Decide(decide) => self.decide(signer, &decide, leaf),
            Payload::Settle(settle) => self.settle(signer, &settle, leaf),
        }
    }

    fn check_new(&self, leaf: &Hash) -> Result<(), Refusal> {
        if self.leaves.contains(leaf) {
            return Err(Refusal::WrongTime(
                "this entry is already in the round's log: a replay".into(),
            ));
        }
        Ok(())
    }

    fn check_phase(&self, kind: Kind, phases: &[Phase]) -> Result<(), Refusal> {
        if phases.contains(&self.phase) {
            return Ok(());
        }
        Err(Refusal::WrongTime(format!(
            "a {} entry is not accepted in the {} phase",
            kind.name(),
            self.phase.name()
        )))
    }

    /// The roster index of `id`, if `signer` holds its key.
    fn participant(&self, id: &str, signer: KeyId) -> Result<usize, Refusal> {
        let participant = *self
            .by_id
            .get(id)
            .ok_or_else(|| Refusal::Forbidden(format!("id: {id:?} is not in the roster")))?;
        if self.roster[participant].key != signer {
            return Err(Refusal::Forbidden(format!(
                "id: the entry for {id:?} is signed by {signer}, not by its key"
            )));
        }
        Ok(participant)
    }

    fn check_signer(kind: Kind, signer: KeyId, role: &str, key: KeyId) -> Result<(), Refusal> {
        if signer == key {
            return Ok(());
        }
        Err(Refusal::Forbidden(format!(
            "a {} entry is signed by the {role} ({key}), not by {signer}",
            kind.name()
        )))
    }

    fn commit(&mut self, signer: KeyId, commit: &CommitPayload, leaf: Hash) -> Result<(), Refusal> {
        let participant = self.participant(&commit.id, signer)?;
        self.check_phase(Kind::Commit, &[Phase::Commit])?;
        let hash = crate::envelope::parse_hex32(&commit.commitment)
            .ok_or_else(|| Refusal::Malformed("commitment: not 64 lowercase hex digits".into()))?;
        if self.commits[participant] >= MAX_COMMITS {
            return Err(Refusal::Full(format!(
                "id: {:?} has committed {MAX_COMMITS} times, the most a participant may",
                commit.id
            )));
        }
        self.commits[participant] += 1;
        if self.commitments[participant].replace(hash).is_none() {
            self.committed.push(participant);
        }
        self.append(leaf);
        Ok(())
    }

    fn close(&mut self, signer: KeyId, close: &ClosePayload, leaf: Hash) -> Result<(), Refusal> {
        Self::check_signer(Kind::Close, signer, "buyer", self.buyer)?;
        let (from, to) = match close.phase {
            ClosedPhase::Commit => (Phase::Commit, Phase::Reveal),
            ClosedPhase::Reveal => (Phase::Reveal, Phase::AwaitingOutcome),
            ClosedPhase::Decide => (Phase::Decide, Phase::AwaitingSettle),
        };
        if self.phase != from {
            return Err(Refusal::WrongTime(format!(
                "close: the {} phase is not open (the round is in the {} phase)",
                close.phase.name(),
                self.phase.name()
            )));
        }
        if close.phase == ClosedPhase::Reveal {
            let revealed: Vec<(usize, &[(&'static str, f64)])> = (0..self.roster.len())
                .filter_map(|p| self.reveals[p].as_deref().map(|report| (p, report)))
                .collect();
            let cleared = self.clear_with(&revealed).map_err(|error| {
                Refusal::OutcomeDiffers(format!("the revealed instance does not clear: {error}"))
            })?;
            if let RoundMechanism::Withdrawal(protocol) = self.mechanism {
                let assigned: Vec<(f64, &str)> = cleared
                    .assigned
                    .iter()
                    .map(|a| (a.amount, self.roster[a.participant].id.as_str()))
                    .collect();
                self.turns = turn_order(protocol, &assigned);
            }
            for (position, assigned) in cleared.assigned.iter().enumerate() {
                self.assignment_of[assigned.participant] = Some(position);
            }
            self.cleared = Some(cleared);
        }
        self.phase = to;
        self.append(leaf);
        Ok(())
    }

    fn reveal(
        &mut self,
        signer: KeyId,
        reveal: &RevealPayload,
        bytes: &[u8],
        leaf: Hash,
    ) -> Result<(), Refusal> {
        let participant = self.participant(&reveal.id, signer)?;
        self.check_phase(Kind::Reveal, &[Phase::Reveal])?;
        if self.reveals[participant].is_some() {
            return Err(Refusal::WrongTime(format!(
                "id: {:?} has already revealed",
                reveal.id
            )));
        }
        match self.commitments[participant] {
            None => {
                return Err(Refusal::CommitmentMismatch(format!(
                    "id: {:?} never committed",
                    reveal.id
                )))
            }
            Some(last) if last != commitment(bytes) => {
                return Err(Refusal::CommitmentMismatch(format!(
                    "the reveal of {:?} does not match its last commitment",
                    reveal.id
                )))
            }
            Some(_) => {}
        }
        let report = self.report_of(reveal)?;
        // The record alone, in the open instance, must keep every rule of
        // §A.1 or §B.1.
        self.check_instance(&[(participant, &report)])
            .map_err(|error| Refusal::Invalid(format!("the reveal of {:?}: {error}", reveal.id)))?;
        self.reveals[participant] = Some(report);
        self.revealed.push(participant);
        self.append(leaf);
        Ok(())
    }

    fn report_of(&self, reveal: &RevealPayload) -> Result<Vec<(&'static str, f64)>, Refusal> {
        let misplaced = |field: &str| {
            Refusal::Malformed(format!(
                "{field}: a {} round's reveal has no such field",
                match self.mechanism {
                    RoundMechanism::Auction(_) => "procurement",
                    RoundMechanism::Withdrawal(_) => "threshold",
                }
            ))
        };
        match self.mechanism {
            RoundMechanism::Auction(_) => {
                if reveal.cost.is_some() {
                    return Err(misplaced("cost"));
                }
                let bid = reveal
                    .bid
                    .ok_or_else(|| Refusal::Malformed("bid: missing".into()))?;
                let mut report = vec![("bid", bid)];
                if let Some(claimed) = reveal.claimed_quality {
                    report.push(("claimed_quality", claimed));
                }
                Ok(report)
            }
            RoundMechanism::Withdrawal(_) => {
                if reveal.bid.is_some() {
                    return Err(misplaced("bid"));
                }
                if reveal.claimed_quality.is_some() {
                    return Err(misplaced("claimed_quality"));
                }
                let cost = reveal
                    .cost
                    .ok_or_else(|| Refusal::Malformed("cost: missing".into()))?;
                Ok(vec![("cost", cost)])
            }
        }
    }

    fn outcome(
        &mut self,
        signer: KeyId,
        outcome: &OutcomePayload,
        leaf: Hash,
    ) -> Result<(), Refusal> {
        Self::check_signer(Kind::Outcome, signer, "operator", self.operator)?;
        self.check_phase(Kind::Outcome, &[Phase::AwaitingOutcome])?;
        let Some(cleared) = &self.cleared else {
            return Err(Refusal::WrongTime("no outcome is due".into()));
        };
        if !same_json(&outcome.outcome, &cleared.value) {
            return Err(Refusal::OutcomeDiffers(format!(
                "the outcome differs from re-clearing the revealed instance, which gives {}",
                minify(&cleared.text)
            )));
        }
        self.phase = if cleared.null || matches!(self.mechanism, RoundMechanism::Auction(_)) {
            Phase::Cleared
        } else {
            Phase::Decide
        };
        self.append(leaf);
        Ok(())
    }

    fn decide(&mut self, signer: KeyId, decide: &DecidePayload, leaf: Hash) -> Result<(), Refusal> {
        let participant = self.participant(&decide.id, signer)?;
        self.check_phase(Kind::Decide, &[Phase::Decide])?;
        let cleared = self
            .cleared
            .as_ref()
            .ok_or_else(|| Refusal::WrongTime("no outcome yet".into()))?;
        let Some(position) = self.assignment_of[participant] else {
            return Err(Refusal::Forbidden(format!(
                "id: {:?} is not assigned, so it has nothing to decide",
                decide.id
            )));
        };
        if self.decisions[participant].is_some() {
            return Err(Refusal::WrongTime(format!(
                "id: {:?} has already decided",
                decide.id
            )));
        }
        if let RoundMechanism::Withdrawal(Protocol::SmallFirst | Protocol::LargeFirst) =
            self.mechanism
        {
            let turn = self.decided.len();
            if self.turns.get(turn) != Some(&position) {
                let due = self
                    .turns
                    .get(turn)
                    .map(|&next| self.roster[cleared.assigned[next].participant].id.as_str())
                    .unwrap_or_default();
                return Err(Refusal::OutOfTurn(format!(
                    "id: it is {due:?}'s turn to decide, not {:?}'s",
                    decide.id
                )));
            }
        }
        self.decisions[participant] = Some(decide.decision);
        self.decided.push(participant);
        self.append(leaf);
        Ok(())
    }

    fn settle(&mut self, signer: KeyId, settle: &SettlePayload, leaf: Hash) -> Result<(), Refusal> {
        Self::check_signer(Kind::Settle, signer, "operator", self.operator)?;
        self.check_phase(Kind::Settle, &[Phase::AwaitingSettle])?;
        let expected = self.settlement()?;
        let same = settle.trained == expected.trained
            && settle.collected.to_bits() == expected.collected.to_bits()
            && settle.payments.len() == expected.payments.len()
            && settle
                .payments
                .iter()
                .zip(&expected.payments)
                .all(|(a, b)| {
                    a.id == b.id
                        && a.amount.to_bits() == b.amount.to_bits()
                        && a.payment.to_bits() == b.payment.to_bits()
                });
        if !same {
            return Err(Refusal::SettleDiffers(format!(
                "the settlement differs from what the outcome and decisions give: {}",
                String::from_utf8_lossy(&serde_json::to_vec(&expected).unwrap_or_default())
            )));
        }
        self.settled = Some(expected);
        self.phase = Phase::Settled;
        self.append(leaf);
        Ok(())
    }

    /// The settlement §C.3 derives: the stayers in assignment order, their
    /// amounts summed in that order, training when the sum reaches T, the
    /// escrowed payments released only on training. A user who did not
    /// decide has withdrawn.
    fn settlement(&self) -> Result<SettlePayload, Refusal> {
        let cleared = self
            .cleared
            .as_ref()
            .ok_or_else(|| Refusal::WrongTime("no outcome yet".into()))?;
        let stayers: Vec<&Assigned> = cleared
            .assigned
            .iter()
            .filter(|a| self.decisions[a.participant] == Some(Decision::Stay))
            .collect();
        let collected = stayers.iter().fold(0.0, |sum, a| sum + a.amount);
        let trained = reaches(collected, cleared.threshold);
        let payments = if trained {
            stayers
                .iter()
                .map(|a| SettlePayment {
                    id: self.roster[a.participant].id.clone(),
                    amount: a.amount,
                    payment: a.payment,
                })
                .collect()
        } else {
            Vec::new()
        };
        Ok(SettlePayload {
            round: self.id.to_string(),
            trained,
            collected,
            payments,
        })
    }

    /// The operator's `outcome` payload, due after the reveal phase closes:
    /// `{"round":…,"outcome":…}` with the object `procura clear` prints.
    #[must_use]
    pub fn outcome_payload(&self) -> Option<Vec<u8>> {
        let cleared = self
            .cleared
            .as_ref()
            .filter(|_| self.phase == Phase::AwaitingOutcome)?;
        let round = Value::String(self.id.to_string()).to_string();
        Some(format!(r#"{{"round":{round},"outcome":{}}}"#, minify(&cleared.text)).into_bytes())
    }

    /// The operator's `settle` payload, due after the decide phase closes.
    #[must_use]
    pub fn settle_payload(&self) -> Option<Vec<u8>> {
        if self.phase != Phase::AwaitingSettle {
            return None;
        }
        let settle = self.settlement().ok()?;
        serde_json::to_vec(&settle).ok()
    }

    /// The round id.
    #[must_use]
    pub fn id(&self) -> &RoundId {
        &self.id
    }

    /// The mechanism.
    #[must_use]
    pub fn mechanism(&self) -> RoundMechanism {
        self.mechanism
    }

    /// The phase the entries leave.
    #[must_use]
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The buyer's key (the `open`'s signer).
    #[must_use]
    pub fn buyer(&self) -> KeyId {
        self.buyer
    }

    /// The operator's key.
    #[must_use]
    pub fn operator(&self) -> KeyId {
        self.operator
    }

    /// The log's Merkle tree.
    #[must_use]
    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    /// The number of entries.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.tree.size()
    }

    /// The roster's size.
    #[must_use]
    pub fn roster_len(&self) -> usize {
        self.roster.len()
    }

    /// The key of a roster participant.
    #[must_use]
    pub fn key_of(&self, id: &str) -> Option<KeyId> {
        self.by_id.get(id).map(|&p| self.roster[p].key)
    }

    fn ids(&self, participants: &[usize]) -> Vec<&str> {
        participants
            .iter()
            .map(|&p| self.roster[p].id.as_str())
            .collect()
    }

    /// The ids that committed, in the order of their first commitment.
    #[must_use]
    pub fn committed(&self) -> Vec<&str> {
        self.ids(&self.committed)
    }

    /// The ids that revealed, in log order.
    #[must_use]
    pub fn revealed(&self) -> Vec<&str> {
        self.ids(&self.revealed)
    }

    /// The ids that decided, in log order.
    #[must_use]
    pub fn decided(&self) -> Vec<&str> {
        self.ids(&self.decided)
    }

    /// Whether entries of `kind` are shown only by their leaf hashes now
    /// (§C.5 sealing): reveals while the reveal phase is open, decisions
    /// while a simultaneous decide phase is open.
    #[must_use]
    pub fn seals(&self, kind: Kind) -> bool {
        match kind {
            Kind::Reveal => self.phase == Phase::Reveal,
            Kind::Decide => {
                self.phase == Phase::Decide
                    && self.mechanism == RoundMechanism::Withdrawal(Protocol::Simultaneous)
            }
            _ => false,
        }
    }

    /// The outcome object `procura clear` prints, once the reveal phase is
    /// closed.
    #[must_use]
    pub fn outcome_text(&self) -> Option<&str> {
        self.cleared.as_ref().map(|cleared| cleared.text.as_str())
    }

    /// The winners (procurement) or assigned users (threshold), once
    /// cleared, and the total paid: cash for procurement, the payments of
    /// the settlement (or of the outcome before it) for threshold rounds.
    #[must_use]
    pub fn winners_and_paid(&self) -> Option<(Vec<&str>, f64)> {
        let cleared = self.cleared.as_ref()?;
        let winners = cleared.winners.iter().map(String::as_str).collect();
        let paid = match &self.settled {
            Some(settled) => settled.payments.iter().fold(0.0, |sum, p| sum + p.payment),
            None => cleared.total_paid,
        };
        Some((winners, paid))
    }

    /// The settlement, once settled.
    #[must_use]
    pub fn settlement_entry(&self) -> Option<&SettlePayload> {
        self.settled.as_ref()
    }

    /// The ids assigned in a threshold outcome whose turn to decide has come
    /// (every id under simultaneous; the next in turn under a sequential
    /// protocol); empty outside the decide phase.
    #[must_use]
    pub fn due_to_decide(&self) -> Vec<&str> {
        let Some(cleared) = self
            .cleared
            .as_ref()
            .filter(|_| self.phase == Phase::Decide)
        else {
            return Vec::new();
        };
        match self.mechanism {
            RoundMechanism::Withdrawal(Protocol::SmallFirst | Protocol::LargeFirst) => self
                .turns
                .get(self.decided.len())
                .map(|&next| vec![self.roster[cleared.assigned[next].participant].id.as_str()])
                .unwrap_or_default(),
            _ => cleared
                .assigned
                .iter()
                .filter(|a| self.decisions[a.participant].is_none())
                .map(|a| self.roster[a.participant].id.as_str())
                .collect(),
        }
    }

    /// Appends an entry known only by its leaf hash (a sealed entry of a
    /// redacted transcript): allowed only while its kind would be sealed.
    pub(crate) fn apply_sealed(&mut self, leaf: Hash) -> Result<(), Refusal> {
        if !(self.seals(Kind::Reveal) || self.seals(Kind::Decide)) {
            return Err(Refusal::WrongTime(format!(
                "an entry shown only by its leaf hash in the {} phase, which seals nothing",
                self.phase.name()
            )));
        }
        self.check_new(&leaf)?;
        self.append(leaf);
        Ok(())
    }
}
