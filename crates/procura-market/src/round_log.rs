//! A round's log: its envelopes in order and the [`Round`] they leave,
//! with what the operator serves from them (receipts, checkpoints, the
//! sealed transcript). The server keeps one per round; tests and the
//! client build them the same way.
//!
//! **The operator's own entries follow the close that makes them due**:
//! [`RoundLog::accept`] appends a `close` of the reveal (decide) phase and
//! then the `outcome` (`settle`) entry it signs with the operator key, so
//! the two are stored together.

use ed25519_dalek::SigningKey;
use serde_json::Value;

use crate::checkpoint::Checkpoint;
use crate::envelope::{Envelope, KeyId, Kind};
use crate::merkle::RangeError;
use crate::round::{Refusal, Round};
use crate::transcript::{Receipt, Transcript};

/// A round's envelopes and state.
#[derive(Debug, Clone)]
pub struct RoundLog {
    round: Round,
    entries: Vec<Envelope>,
}

impl RoundLog {
    /// Opens a round from its `open` envelope.
    pub fn open(envelope: Envelope, default_operator: KeyId) -> Result<RoundLog, Refusal> {
        let round = Round::open(&envelope, default_operator)?;
        Ok(RoundLog {
            round,
            entries: vec![envelope],
        })
    }

    /// Rebuilds a log from stored envelopes, replaying every rule: the
    /// start-up check of a server. Fails at the first entry the rules
    /// refuse, with its index.
    pub fn replay(
        envelopes: impl IntoIterator<Item = Envelope>,
        default_operator: KeyId,
    ) -> Result<RoundLog, (u64, Refusal)> {
        let mut envelopes = envelopes.into_iter();
        let open = envelopes.next().ok_or((
            0,
            Refusal::Malformed("a round's log starts with its open entry".into()),
        ))?;
        let mut log = RoundLog::open(open, default_operator).map_err(|refusal| (0, refusal))?;
        for envelope in envelopes {
            let index = log.round.size();
            log.append(envelope).map_err(|refusal| (index, refusal))?;
        }
        Ok(log)
    }

    /// Appends one entry after checking every rule.
    pub fn append(&mut self, envelope: Envelope) -> Result<u64, Refusal> {
        self.round.apply(&envelope)?;
        self.entries.push(envelope);
        Ok(self.round.size() - 1)
    }

    /// Appends a participant's or the buyer's entry and, when it closes the
    /// reveal or decide phase, the operator's `outcome` or `settle` entry
    /// signed with `operator`. Returns the indices appended (one or two).
    /// `operator` must be the round's operator key. On a refusal the log is
    /// unchanged, the close included.
    pub fn accept(
        &mut self,
        envelope: Envelope,
        operator: &SigningKey,
    ) -> Result<Vec<u64>, Refusal> {
        if matches!(envelope.kind(), Kind::Outcome | Kind::Settle | Kind::Open) {
            return Err(Refusal::Forbidden(format!(
                "{} entries are written by the server, not sent to it",
                envelope.kind().name()
            )));
        }
        if KeyId::of(&operator.verifying_key()) != self.round.operator() {
            return Err(Refusal::Forbidden(
                "the server's key is not this round's operator".into(),
            ));
        }
        // A close may make the operator's entry due; if that entry were
        // refused, the close must not stay either. Closes are rare, so the
        // copy is cheap in all.
        let before = (envelope.kind() == Kind::Close).then(|| self.clone());
        let mut appended = vec![self.append(envelope)?];
        let due = match (self.round.outcome_payload(), self.round.settle_payload()) {
            (Some(payload), _) => Some((Kind::Outcome, payload)),
            (None, Some(payload)) => Some((Kind::Settle, payload)),
            (None, None) => None,
        };
        if let Some((kind, payload)) = due {
            match self.append(Envelope::sign(kind, payload, operator)) {
                Ok(index) => appended.push(index),
                Err(refusal) => {
                    if let Some(before) = before {
                        *self = before;
                    }
                    return Err(refusal);
                }
            }
        }
        Ok(appended)
    }

    /// The round the entries leave.
    #[must_use]
    pub fn round(&self) -> &Round {
        &self.round
    }

    /// The envelopes, in log order.
    #[must_use]
    pub fn entries(&self) -> &[Envelope] {
        &self.entries
    }

    /// The origin: `NAME/rounds/ROUND_ID`.
    #[must_use]
    pub fn origin(&self, name: &str) -> String {
        format!("{name}/rounds/{}", self.round.id())
    }

    /// The checkpoint of the first `size` entries, signed by `operator`
    /// under the server's `name`.
    pub fn checkpoint(
        &self,
        name: &str,
        size: u64,
        operator: &SigningKey,
    ) -> Result<String, RangeError> {
        Ok(Checkpoint {
            origin: self.origin(name),
            size,
            root: self.round.tree().root_at(size)?,
        }
        .sign(operator))
    }

    /// The receipt of entry `index`: its leaf hash, the checkpoint of the
    /// log up to it and its inclusion proof there.
    pub fn receipt(
        &self,
        name: &str,
        index: u64,
        operator: &SigningKey,
    ) -> Result<Receipt, RangeError> {
        let tree = self.round.tree();
        let leaf = tree.leaf(index).ok_or(RangeError::Index {
            index,
            size: tree.size(),
        })?;
        Ok(Receipt {
            index,
            leaf_hash: hex::encode(leaf),
            checkpoint: self.checkpoint(name, index + 1, operator)?,
            inclusion_proof: tree
                .inclusion_proof(index, index + 1)?
                .iter()
                .map(hex::encode)
                .collect(),
        })
    }

    /// The transcript as served now: sealed entries (§C.5) appear as
    /// `{"leaf_hash": hex}`.
    #[must_use]
    pub fn transcript(&self, name: &str, operator: &SigningKey) -> Transcript {
        let entries = self
            .entries
            .iter()
            .map(|envelope| {
                if self.round.seals(envelope.kind()) {
                    serde_json::json!({ "leaf_hash": hex::encode(envelope.leaf_hash()) })
                } else {
                    envelope.to_value()
                }
            })
            .collect::<Vec<Value>>();
        Transcript {
            origin: self.origin(name),
            operator: KeyId::of(&operator.verifying_key()).to_string(),
            entries,
            // The whole log's size is always in range.
            checkpoint: self
                .checkpoint(name, self.round.size(), operator)
                .unwrap_or_default(),
        }
    }
}
