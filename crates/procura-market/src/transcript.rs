//! Transcripts and their offline verification (spec §C.6), and receipts
//! (§C.4).
//!
//! ```json
//! {"origin": "procura.example/rounds/r1", "operator": "<key id>", "entries": [...], "checkpoint": "<signed note>"}
//! ```
//!
//! [`verify`] checks the rules of §C.6 in their order; the first that
//! fails is reported with its entry:
//!
//! 1. the checkpoint verifies with the operator key, names the transcript's
//!    origin and size, and its root is the Merkle root of the entries;
//! 2. every envelope is well formed (its payload too) and its signature
//!    verifies (checked on the rayon pool, reported in log order);
//! 3. entry 0 is a valid `open`; its signer is the buyer; an `operator`
//!    field in it equals the transcript's;
//! 4. to 7. the entries replay through [`Round::apply_verified`], the code
//!    the server accepts entries with; a refused entry breaks the rule its
//!    [`Refusal::rule`] names (4: phase, signer, round id, replay; 5: the
//!    reveal's commitment; 6: the outcome; 7: the decision order and the
//!    settlement).
//!
//! Rules 1 to 3 are checked over the whole log before the replay, so a
//! transcript with several defects reports the lowest rule, then the first
//! entry. A redacted transcript (reveals or simultaneous decisions shown
//! by their leaf hashes while their phase is open) verifies its checkpoint
//! and every entry it shows; sealed entries may only end the log.

use std::collections::{HashMap, HashSet};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::checkpoint::Checkpoint;
use crate::envelope::{parse_hex32, Envelope, KeyId, KeyIdError, Kind};
use crate::merkle::{leaf_hash, verify_consistency, verify_inclusion, Hash, Tree};
use crate::payload::{Payload, RoundId};
use crate::round::{Refusal, Round, MAX_ENTRIES};
use crate::signature::{self, Signed};

/// A round's transcript, as served by `GET /v1/rounds/{round}/transcript`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transcript {
    /// `NAME/rounds/ROUND_ID`.
    pub origin: String,
    /// The operator's key id.
    pub operator: String,
    /// The entries in log order: envelopes, or `{"leaf_hash": hex}` for a
    /// sealed entry.
    pub entries: Vec<Value>,
    /// The signed checkpoint for the whole log.
    pub checkpoint: String,
}

/// A receipt for one accepted entry (§C.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// The entry's index in the log.
    pub index: u64,
    /// Hex of its leaf hash.
    pub leaf_hash: String,
    /// The signed checkpoint for size index + 1.
    pub checkpoint: String,
    /// Hex of each hash of the inclusion proof.
    pub inclusion_proof: Vec<String>,
}

/// A failed rule of §C.6.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rule {rule}{}: {message}", entry.map(|e| format!(", entry {e}")).unwrap_or_default())]
pub struct Failure {
    /// The rule's number, 1 to 7.
    pub rule: u8,
    /// The entry, where the rule is about one.
    pub entry: Option<u64>,
    /// What fails.
    pub message: String,
}

fn fail(rule: u8, entry: Option<u64>, message: impl Into<String>) -> Failure {
    Failure {
        rule,
        entry,
        message: message.into(),
    }
}

/// What a verified transcript shows.
#[derive(Debug, Clone)]
pub struct Verified {
    round: Round,
    origin: String,
    operator: KeyId,
    sealed: u64,
}

impl Verified {
    /// The round the entries leave.
    #[must_use]
    pub fn round(&self) -> &Round {
        &self.round
    }

    /// How many entries are shown only by their leaf hashes.
    #[must_use]
    pub fn sealed(&self) -> u64 {
        self.sealed
    }

    /// A short summary: round, mechanism, phase, entries, winners and
    /// total paid.
    #[must_use]
    pub fn summary(&self) -> String {
        let round = &self.round;
        let mut text = format!(
            "valid: round {}, mechanism {}, phase {}, {} entries",
            round.id(),
            round.mechanism().name(),
            round.phase().name(),
            round.size()
        );
        if self.sealed > 0 {
            text.push_str(&format!(" ({} sealed)", self.sealed));
        }
        if let Some((winners, paid)) = round.winners_and_paid() {
            let label = match round.mechanism() {
                crate::round::RoundMechanism::Auction(_) => "winners",
                crate::round::RoundMechanism::Withdrawal(_) => "assigned",
            };
            text.push_str(&format!(
                "\n{label}: {}\ntotal paid: {paid}",
                name_list(&winners)
            ));
        }
        text.push('\n');
        text
    }

    /// Checks a participant's receipt against the verified log: its
    /// checkpoint is the operator's for this origin, its inclusion proof
    /// holds in that checkpoint, and that checkpoint is consistent with the
    /// transcript's (a consistency proof from its size to the full log,
    /// built from the transcript, verifies): a forked or rewritten log
    /// fails here.
    pub fn check_receipt(&self, receipt: &Receipt) -> Result<(), String> {
        let checkpoint = Checkpoint::open(&receipt.checkpoint, &self.operator)
            .map_err(|error| format!("its checkpoint: {error}"))?;
        if checkpoint.origin != self.origin {
            return Err(format!(
                "its checkpoint is for {:?}, the transcript for {:?}",
                checkpoint.origin, self.origin
            ));
        }
        let leaf =
            parse_hex32(&receipt.leaf_hash).ok_or("leaf_hash is not 64 lowercase hex digits")?;
        let proof = receipt
            .inclusion_proof
            .iter()
            .map(|hash| parse_hex32(hash).ok_or("inclusion_proof holds a hash that is not hex"))
            .collect::<Result<Vec<Hash>, _>>()?;
        if receipt.index.checked_add(1) != Some(checkpoint.size) {
            return Err(format!(
                "the receipt for entry {} carries a checkpoint of size {}, not {}",
                receipt.index,
                checkpoint.size,
                receipt.index.saturating_add(1)
            ));
        }
        verify_inclusion(
            receipt.index,
            checkpoint.size,
            &leaf,
            &proof,
            &checkpoint.root,
        )
        .map_err(|error| format!("the inclusion proof: {error}"))?;
        let tree = self.round.tree();
        if checkpoint.size > tree.size() {
            return Err(format!(
                "its checkpoint has {} entries, the transcript only {}: entries were dropped",
                checkpoint.size,
                tree.size()
            ));
        }
        let consistency = tree
            .consistency_proof(checkpoint.size, tree.size())
            .map_err(|error| error.to_string())?;
        verify_consistency(
            checkpoint.size,
            tree.size(),
            &consistency,
            &checkpoint.root,
            &tree.root(),
        )
        .map_err(|_| {
            format!(
                "its checkpoint (size {}) is not a prefix of the transcript's log: the log was \
                 forked or rewritten",
                checkpoint.size
            )
        })?;
        if tree.leaf(receipt.index) != Some(&leaf) {
            return Err(format!(
                "entry {} is not the receipt's entry",
                receipt.index
            ));
        }
        Ok(())
    }
}

/// Most ids a summary names; the rest are counted.
const SUMMARY_IDS: usize = 10;

/// `a, b, c`, or the first [`SUMMARY_IDS`] and how many more.
fn name_list(ids: &[&str]) -> String {
    match ids.len() {
        0 => "none".to_owned(),
        n if n <= SUMMARY_IDS => ids.join(", "),
        n => format!(
            "{} ({} in all; {} more)",
            ids[..SUMMARY_IDS].join(", "),
            n,
            n - SUMMARY_IDS
        ),
    }
}

/// One entry as the transcript shows it.
enum Shown {
    Envelope(Box<Envelope>),
    Sealed(Hash),
    Malformed(String),
}

fn shown(value: &Value, keys: &HashMap<&str, Result<KeyId, KeyIdError>>) -> Shown {
    if let Some(object) = value.as_object() {
        if object.len() == 1 {
            if let Some(hash) = object.get("leaf_hash") {
                return match hash.as_str().and_then(parse_hex32) {
                    Some(hash) => Shown::Sealed(hash),
                    None => Shown::Malformed("leaf_hash is not 64 lowercase hex digits".into()),
                };
            }
        }
    }
    let key = |text: &str| {
        keys.get(text)
            .cloned()
            .unwrap_or_else(|| KeyId::parse(text))
    };
    match Envelope::from_value_with_keys(value.clone(), key) {
        Ok(envelope) => Shown::Envelope(Box::new(envelope)),
        Err(error) => Shown::Malformed(error.to_string()),
    }
}

/// The signature check of every entry shown in full (Ok for the others),
/// in log order. The envelopes are checked in a few large batches, one per
/// thread, each with multipliers drawn from the checkpoint's root (which
/// commits to every signature) and the batch's number; only a batch that
/// fails is checked one signature at a time, to name its entries. Both
/// paths apply the one rule of [`crate::signature`], so the answer does not
/// depend on how the entries are split.
fn signature_checks(entries: &[Shown], root: &Hash) -> Vec<Result<(), String>> {
    let envelopes: Vec<(usize, &Envelope)> = entries
        .iter()
        .enumerate()
        .filter_map(|(at, entry)| match entry {
            Shown::Envelope(envelope) => Some((at, envelope.as_ref())),
            _ => None,
        })
        .collect();
    let threads = rayon::current_num_threads().max(1);
    let chunk = envelopes.len().div_ceil(threads).max(MIN_BATCH);
    let failures: Vec<(usize, String)> = envelopes
        .par_chunks(chunk)
        .enumerate()
        .flat_map_iter(|(number, batch)| {
            let messages: Vec<Vec<u8>> = batch
                .iter()
                .map(|(_, envelope)| envelope.signed_bytes())
                .collect();
            let signed: Vec<Signed<'_>> = batch
                .iter()
                .zip(&messages)
                .map(|((_, envelope), message)| Signed {
                    key: envelope.signer_key(),
                    message,
                    signature: envelope.signature(),
                })
                .collect();
            let commitment = [&root[..], &(number as u64).to_le_bytes()].concat();
            let failed: Vec<(usize, String)> = if signature::all_valid(&signed, &commitment) {
                Vec::new()
            } else {
                batch
                    .iter()
                    .filter_map(|(at, envelope)| {
                        envelope
                            .verify()
                            .err()
                            .map(|error| (*at, error.to_string()))
                    })
                    .collect()
            };
            failed
        })
        .collect();
    let mut checks: Vec<Result<(), String>> = vec![Ok(()); entries.len()];
    for (at, error) in failures {
        checks[at] = Err(error);
    }
    checks
}

/// The smallest batch worth a multi-scalar multiplication of its own.
const MIN_BATCH: usize = 256;

/// Parses a transcript's JSON text.
pub fn parse(text: &[u8]) -> Result<Transcript, String> {
    let transcript: Transcript =
        serde_json::from_slice(text).map_err(|error| format!("not a transcript: {error}"))?;
    if transcript.entries.len() as u64 > MAX_ENTRIES {
        return Err(format!(
            "entries: {} entries, more than a round's limit of {MAX_ENTRIES}",
            transcript.entries.len()
        ));
    }
    Ok(transcript)
}

/// Verifies a transcript (§C.6).
pub fn verify(transcript: &Transcript) -> Result<Verified, Failure> {
    // Each distinct signer key is parsed (decompressed) once.
    let distinct: HashSet<&str> = transcript
        .entries
        .iter()
        .filter_map(|entry| entry.get("signatures")?.get(0)?.get("keyid")?.as_str())
        .collect();
    let keys: HashMap<&str, Result<KeyId, KeyIdError>> = distinct
        .into_par_iter()
        .map(|text| (text, KeyId::parse(text)))
        .collect();
    let entries: Vec<Shown> = transcript
        .entries
        .par_iter()
        .map(|entry| shown(entry, &keys))
        .collect();
    // Rule 1.
    let operator = KeyId::parse(&transcript.operator)
        .map_err(|error| fail(1, None, format!("operator: {error}")))?;
    let checkpoint = Checkpoint::open(&transcript.checkpoint, &operator)
        .map_err(|error| fail(1, None, format!("the checkpoint: {error}")))?;
    if checkpoint.origin != transcript.origin {
        return Err(fail(
            1,
            None,
            format!(
                "the checkpoint's origin is {:?}, the transcript's {:?}",
                checkpoint.origin, transcript.origin
            ),
        ));
    }
    if checkpoint.size != entries.len() as u64 {
        return Err(fail(
            1,
            None,
            format!(
                "the checkpoint is for {} entries, the transcript has {}",
                checkpoint.size,
                entries.len()
            ),
        ));
    }
    let leaves: Vec<Hash> = entries
        .par_iter()
        .zip(&transcript.entries)
        .map(|(entry, value)| match entry {
            Shown::Envelope(envelope) => envelope.leaf_hash(),
            Shown::Sealed(hash) => *hash,
            // No leaf bytes: hash the JSON as given, which a log never
            // holds, so the root differs.
            Shown::Malformed(_) => leaf_hash(value.to_string().as_bytes()),
        })
        .collect();
    if Tree::from_leaves(leaves).root() != checkpoint.root {
        return Err(fail(
            1,
            None,
            "the checkpoint's root is not the Merkle root of the entries: the log was changed",
        ));
    }
    // Rule 2.
    let signatures = signature_checks(&entries, &checkpoint.root);
    let checks: Vec<Result<(), String>> = entries
        .par_iter()
        .zip(signatures)
        .map(|(entry, signature)| match entry {
            Shown::Malformed(error) => Err(error.clone()),
            Shown::Sealed(_) => Ok(()),
            Shown::Envelope(envelope) => {
                signature?;
                let payload = Payload::parse(envelope.kind(), envelope.payload())
                    .map_err(|error| error.to_string())?;
                payload.check_formats().map_err(|error| error.to_string())?;
                payload
                    .round()
                    .map(|_| ())
                    .map_err(|error| error.to_string())
            }
        })
        .collect();
    for (at, check) in checks.into_iter().enumerate() {
        check.map_err(|error| fail(2, Some(at as u64), error))?;
    }
    // Rule 3.
    let Some(Shown::Envelope(open)) = entries.first() else {
        return Err(fail(3, Some(0), "entry 0 is not an open entry"));
    };
    if open.kind() != Kind::Open {
        return Err(fail(
            3,
            Some(0),
            format!("entry 0 is a {} entry, not an open", open.kind().name()),
        ));
    }
    let mut round =
        Round::open(open, operator).map_err(|refusal| fail(3, Some(0), refusal.to_string()))?;
    if round.operator() != operator {
        return Err(fail(
            3,
            Some(0),
            format!(
                "the open names operator {}, the transcript {operator}",
                round.operator()
            ),
        ));
    }
    let origin_round = transcript.origin.rsplit('/').next().unwrap_or_default();
    if RoundId::parse(origin_round).ok().as_ref() != Some(round.id())
        || !transcript
            .origin
            .ends_with(&format!("/rounds/{}", round.id()))
    {
        return Err(fail(
            3,
            Some(0),
            format!(
                "the origin {:?} is not NAME/rounds/{}",
                transcript.origin,
                round.id()
            ),
        ));
    }
    // Rules 4 to 7.
    let mut sealed = 0;
    for (at, entry) in entries.iter().enumerate().skip(1) {
        let at = at as u64;
        let result = match entry {
            Shown::Sealed(hash) => {
                sealed += 1;
                round.apply_sealed(*hash)
            }
            Shown::Envelope(_) if sealed > 0 => Err(Refusal::WrongTime(
                "an entry shown in full after a sealed one: sealed entries end the log".into(),
            )),
            Shown::Envelope(envelope) => round.apply_verified(envelope),
            Shown::Malformed(error) => Err(Refusal::Malformed(error.clone())),
        };
        result.map_err(|refusal| fail(refusal.rule(), Some(at), refusal.to_string()))?;
    }
    Ok(Verified {
        round,
        origin: transcript.origin.clone(),
        operator,
        sealed,
    })
}
