//! The rounds in memory and the writer that appends to them.
//!
//! The server keeps one [`RoundLog`] per round, behind an async lock. All
//! appends go through **one writer task** (so at most one writer per
//! round, and per process), which drains its queue up to [`BATCH`]
//! requests at a time (**group commit**):
//!
//! 1. it begins one transaction and, for every round the batch touches, in
//!    round id order, takes the round's lock, locks its row in the
//!    database and compares the stored size with memory: entries another
//!    process appended are loaded and replayed first, so a log never
//!    forks;
//! 2. it applies each request to the in-memory log (a refused entry gets
//!    its error and changes nothing), sealing the accepted entries;
//! 3. it writes the batch's entries and sizes and commits;
//! 4. only then does it answer every request, with receipts built from the
//!    log after the batch, while it still holds the rounds' locks. The
//!    receipts' checkpoints are signed by each request's handler, not by
//!    the writer ([`Unsigned`]): one Ed25519 signature per entry runs on
//!    the async workers in parallel instead of in the writer's serial
//!    loop.
//!
//! If anything in 1 to 3 fails, nothing was stored: the batch is answered
//! 503 and the touched rounds are reloaded from storage, since memory was
//! ahead. Readers take the round's lock for reading, so they never see an
//! entry before it is durable.
//!
//! **Start-up check**: every stored round is decrypted and replayed with
//! [`RoundLog::replay`], which re-applies every rule and rebuilds the
//! tree. A round whose rows fail (edited, moved, missing, or refused by
//! the rules) is logged with its entry and not served: its endpoints
//! answer 500 with a JSON error naming the round and the entry, the other
//! rounds are served as usual.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::http::StatusCode;
use ed25519_dalek::SigningKey;
use procura_market::checkpoint::Checkpoint;
use procura_market::merkle::RangeError;
use procura_market::payload::RoundId;
use procura_market::{Envelope, KeyId, Receipt, RoundLog};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, OwnedRwLockWriteGuard, RwLock};

use crate::error::ApiError;
use crate::seal::Sealer;
use crate::store::{Row, Store, Tx};

/// Most requests the writer applies and commits together.
pub(crate) const BATCH: usize = 256;

/// A round in memory: served, or refused by the start-up check.
#[derive(Debug, Clone)]
pub(crate) enum Slot {
    Live(Arc<RwLock<RoundLog>>),
    Broken(Arc<str>),
}

/// The answer to a write: what the 201 body is made of, or an error.
pub(crate) type Reply = Result<Answer, ApiError>;

/// A receipt whose checkpoint is not signed yet: the writer builds it
/// under the round's lock (a few hashes); the request's handler signs it
/// after the batch, off the writer. Signed, it is what
/// [`RoundLog::receipt`] gives (a test pins that).
#[derive(Debug)]
pub(crate) struct Unsigned {
    index: u64,
    leaf_hash: String,
    checkpoint: Checkpoint,
    inclusion_proof: Vec<String>,
}

impl Unsigned {
    /// The receipt of entry `index` of `log`, but for the signature: its
    /// leaf hash, the checkpoint of the log up to it and its inclusion
    /// proof there.
    fn of(log: &RoundLog, name: &str, index: u64) -> Result<Unsigned, RangeError> {
        let tree = log.round().tree();
        let leaf = tree.leaf(index).ok_or(RangeError::Index {
            index,
            size: tree.size(),
        })?;
        Ok(Unsigned {
            index,
            leaf_hash: hex::encode(leaf),
            checkpoint: Checkpoint {
                origin: log.origin(name),
                size: index + 1,
                root: tree.root_at(index + 1)?,
            },
            inclusion_proof: tree
                .inclusion_proof(index, index + 1)?
                .iter()
                .map(hex::encode)
                .collect(),
        })
    }

    /// The receipt, its checkpoint signed by the operator's `key`.
    fn sign(self, key: &SigningKey) -> Receipt {
        Receipt {
            index: self.index,
            leaf_hash: self.leaf_hash,
            checkpoint: self.checkpoint.sign(key),
            inclusion_proof: self.inclusion_proof,
        }
    }
}

/// A stored write's receipts, before signing.
#[derive(Debug)]
pub(crate) enum Answer {
    /// An `open`: the round id and the receipt of entry 0.
    Opened { round: String, receipt: Unsigned },
    /// An entry's receipt and, after a `close` that ends the reveal or
    /// decide phase, the operator's entry's.
    Appended {
        receipt: Unsigned,
        then: Option<Unsigned>,
    },
}

impl Answer {
    /// The 201 body: the receipts signed by the operator's `key`.
    pub(crate) fn sign(self, key: &SigningKey) -> Result<Value, ApiError> {
        let value = |receipt: Unsigned| {
            serde_json::to_value(receipt.sign(key)).map_err(|error| {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, error.to_string())
            })
        };
        match self {
            Answer::Opened { round, receipt } => {
                Ok(serde_json::json!({ "round": round, "receipt": value(receipt)? }))
            }
            Answer::Appended { receipt, then } => {
                let mut body = value(receipt)?;
                if let (Some(then), Value::Object(object)) = (then, &mut body) {
                    object.insert("then".into(), value(then)?);
                }
                Ok(body)
            }
        }
    }
}

/// A write request for the writer.
#[derive(Debug)]
pub(crate) enum Job {
    /// A checked `open` (the round built from it).
    Open {
        log: Box<RoundLog>,
        reply: oneshot::Sender<Reply>,
    },
    /// An entry for an existing round.
    Append {
        round: String,
        envelope: Box<Envelope>,
        reply: oneshot::Sender<Reply>,
    },
}

/// Why a stored round could not be loaded.
#[derive(Debug)]
pub(crate) enum LoadError {
    /// The database failed: try again later.
    Storage(anyhow::Error),
    /// The stored rows fail the check: the round is not served.
    Corrupt(String),
}

impl From<anyhow::Error> for LoadError {
    fn from(error: anyhow::Error) -> LoadError {
        LoadError::Storage(error)
    }
}

/// What the server shares between requests and the writer.
pub(crate) struct Core {
    pub(crate) name: String,
    pub(crate) key: SigningKey,
    pub(crate) key_id: KeyId,
    sealer: Sealer,
    pub(crate) store: Store,
    rounds: std::sync::RwLock<BTreeMap<String, Slot>>,
    max_rounds: usize,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("name", &self.name)
            .field("key_id", &self.key_id.to_string())
            .field("store", &self.store)
            .field("max_rounds", &self.max_rounds)
            .finish_non_exhaustive()
    }
}

/// What happened to one job of a batch.
enum Outcome {
    Opened(String),
    Appended(String, Vec<u64>),
    Failed(ApiError),
}

impl Core {
    pub(crate) fn new(name: String, seed: &[u8; 32], store: Store, max_rounds: usize) -> Core {
        let key = SigningKey::from_bytes(seed);
        Core {
            name,
            key_id: KeyId::of(&key.verifying_key()),
            key,
            sealer: Sealer::new(seed),
            store,
            rounds: std::sync::RwLock::new(BTreeMap::new()),
            max_rounds,
        }
    }

    fn rounds_read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Slot>> {
        self.rounds
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn rounds_write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Slot>> {
        self.rounds
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every round in memory, in id order.
    pub(crate) fn slots(&self) -> Vec<(String, Slot)> {
        self.rounds_read()
            .iter()
            .map(|(id, slot)| (id.clone(), slot.clone()))
            .collect()
    }

    fn set_slot(&self, round: &str, slot: Slot) {
        self.rounds_write().insert(round.to_owned(), slot);
    }

    fn mark_broken(&self, round: &str, reason: &str) {
        tracing::error!(round, "round refused: {reason}");
        self.set_slot(round, Slot::Broken(reason.into()));
    }

    /// Loads and checks every stored round (the start-up check). Fails
    /// only when the database cannot be read.
    pub(crate) async fn load_all(&self) -> anyhow::Result<()> {
        let rounds = self.store.rounds().await?;
        let count = rounds.len();
        for (round, _) in rounds {
            match self.load(&round).await {
                Ok(log) => self.set_slot(&round, Slot::Live(Arc::new(RwLock::new(log)))),
                Err(LoadError::Corrupt(reason)) => self.mark_broken(&round, &reason),
                Err(LoadError::Storage(error)) => return Err(error),
            }
        }
        tracing::info!(rounds = count, "loaded and replayed the stored rounds");
        Ok(())
    }

    /// Opens stored rows `from..to` of a round as envelopes, checking
    /// that none is missing, moved or edited.
    fn decode(
        &self,
        round: &str,
        rows: Vec<Row>,
        from: u64,
        to: u64,
    ) -> Result<Vec<Envelope>, LoadError> {
        let mut envelopes = Vec::with_capacity(rows.len());
        let mut expected = from;
        for row in rows {
            if row.index != expected {
                return Err(LoadError::Corrupt(format!(
                    "entry {expected} is missing from storage"
                )));
            }
            let bytes = self
                .sealer
                .open(round, row.index, &row.kind, &row.nonce, &row.data)
                .map_err(|error| LoadError::Corrupt(format!("entry {}: {error}", row.index)))?;
            let envelope = Envelope::parse(&bytes)
                .map_err(|error| LoadError::Corrupt(format!("entry {}: {error}", row.index)))?;
            if envelope.kind().name() != row.kind {
                return Err(LoadError::Corrupt(format!(
                    "entry {}: stored as {:?}, holds a {} entry",
                    row.index,
                    row.kind,
                    envelope.kind().name()
                )));
            }
            envelopes.push(envelope);
            expected += 1;
        }
        if expected != to {
            return Err(LoadError::Corrupt(format!(
                "entry {expected} is missing from storage (the round's size is {to})"
            )));
        }
        Ok(envelopes)
    }

    fn replay(&self, round: &str, envelopes: Vec<Envelope>) -> Result<RoundLog, LoadError> {
        let log = RoundLog::replay(envelopes, self.key_id).map_err(|(index, refusal)| {
            LoadError::Corrupt(format!("entry {index}: the rules refuse it: {refusal}"))
        })?;
        if log.round().id().as_str() != round {
            return Err(LoadError::Corrupt(format!(
                "entry 0: opens round {:?}, stored as {round:?}",
                log.round().id().as_str()
            )));
        }
        Ok(log)
    }

    /// Loads a stored round and replays it.
    pub(crate) async fn load(&self, round: &str) -> Result<RoundLog, LoadError> {
        let size = self
            .store
            .size(round)
            .await?
            .ok_or_else(|| LoadError::Corrupt("its row is gone".into()))?;
        let rows = self.store.entries(round, 0, size).await?;
        let envelopes = self.decode(round, rows, 0, size)?;
        self.replay(round, envelopes)
    }

    /// Appends the stored entries `log.size()..stored` to `log`.
    fn catch_up(
        &self,
        log: &mut RoundLog,
        round: &str,
        rows: Vec<Row>,
        stored: u64,
    ) -> Result<(), LoadError> {
        let from = log.round().size();
        for (envelope, index) in self
            .decode(round, rows, from, stored)?
            .into_iter()
            .zip(from..)
        {
            log.append(envelope).map_err(|refusal| {
                LoadError::Corrupt(format!("entry {index}: the rules refuse it: {refusal}"))
            })?;
        }
        Ok(())
    }

    /// The log of a served round, brought up to date with storage (another
    /// process may have appended): 404 for an unknown round, 500 for one
    /// refused by the check.
    pub(crate) async fn round(&self, round: &str) -> Result<Arc<RwLock<RoundLog>>, ApiError> {
        let log = self.known(round).await?;
        let stored = self.store.size(round).await.map_err(|error| {
            tracing::error!(round, "reading the round's size: {error:#}");
            ApiError::unavailable()
        })?;
        let stored = stored.unwrap_or(0);
        if stored > log.read().await.round().size() {
            let mut guard = log.write().await;
            let from = guard.round().size();
            if stored > from {
                let rows = self
                    .store
                    .entries(round, from, stored)
                    .await
                    .map_err(|error| {
                        tracing::error!(round, "reading new entries: {error:#}");
                        ApiError::unavailable()
                    })?;
                if let Err(error) = self.catch_up(&mut guard, round, rows, stored) {
                    return Err(self.refuse_round(round, error));
                }
            }
        }
        Ok(log)
    }

    fn refuse_round(&self, round: &str, error: LoadError) -> ApiError {
        match error {
            LoadError::Corrupt(reason) => {
                self.mark_broken(round, &reason);
                ApiError::broken(round, &reason)
            }
            LoadError::Storage(error) => {
                tracing::error!(round, "loading the round: {error:#}");
                ApiError::unavailable()
            }
        }
    }

    /// The log of a round, from memory or loaded from storage (a round
    /// opened by another process), without the freshness check.
    pub(crate) async fn known(&self, round: &str) -> Result<Arc<RwLock<RoundLog>>, ApiError> {
        if RoundId::parse(round).is_err() {
            return Err(ApiError::not_found(round));
        }
        let slot = self.rounds_read().get(round).cloned();
        match slot {
            Some(Slot::Live(log)) => Ok(log),
            Some(Slot::Broken(reason)) => Err(ApiError::broken(round, &reason)),
            None => {
                let exists = self.store.size(round).await.map_err(|error| {
                    tracing::error!(round, "looking up the round: {error:#}");
                    ApiError::unavailable()
                })?;
                if exists.is_none() {
                    return Err(ApiError::not_found(round));
                }
                let log = self
                    .load(round)
                    .await
                    .map_err(|error| self.refuse_round(round, error))?;
                let mut rounds = self.rounds_write();
                let slot = rounds
                    .entry(round.to_owned())
                    .or_insert_with(|| Slot::Live(Arc::new(RwLock::new(log))));
                match slot {
                    Slot::Live(log) => Ok(Arc::clone(log)),
                    Slot::Broken(reason) => Err(ApiError::broken(round, reason)),
                }
            }
        }
    }

    fn live(&self, round: &str) -> Option<Arc<RwLock<RoundLog>>> {
        match self.rounds_read().get(round) {
            Some(Slot::Live(log)) => Some(Arc::clone(log)),
            _ => None,
        }
    }

    fn seal_row(&self, log: &RoundLog, index: u64) -> Result<Row, ApiError> {
        let round = log.round().id().as_str();
        let envelope = usize::try_from(index)
            .ok()
            .and_then(|at| log.entries().get(at))
            .ok_or_else(ApiError::unavailable)?;
        let kind = envelope.kind().name();
        let (nonce, data) = self
            .sealer
            .seal(round, index, kind, envelope.leaf_bytes().as_bytes())
            .map_err(|_| ApiError::unavailable())?;
        Ok(Row {
            round: round.to_owned(),
            index,
            kind: kind.to_owned(),
            nonce,
            data,
        })
    }

    fn receipt(&self, log: &RoundLog, index: u64) -> Result<Unsigned, ApiError> {
        Unsigned::of(log, &self.name, index)
            .map_err(|error| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, error.to_string()))
    }

    /// Brings a locked round in line with its stored size inside the
    /// batch's transaction. `Err` with the answer for its jobs.
    async fn sync_locked(
        &self,
        tx: &mut Tx,
        round: &str,
        guard: &mut OwnedRwLockWriteGuard<RoundLog>,
    ) -> Result<Result<(), ApiError>, anyhow::Error> {
        let Some(stored) = tx.lock_size(round).await? else {
            let error = LoadError::Corrupt("its row is gone".into());
            return Ok(Err(self.refuse_round(round, error)));
        };
        let memory = guard.round().size();
        let result = if stored > memory {
            let rows = tx.entries(round, memory, stored).await?;
            self.catch_up(guard, round, rows, stored)
        } else if stored < memory {
            // Memory ahead of storage: reload what is stored.
            let rows = tx.entries(round, 0, stored).await?;
            self.decode(round, rows, 0, stored)
                .and_then(|envelopes| self.replay(round, envelopes))
                .map(|log| **guard = log)
        } else {
            Ok(())
        };
        Ok(result.map_err(|error| self.refuse_round(round, error)))
    }

    /// Applies, stores and answers one batch.
    pub(crate) async fn run_batch(&self, jobs: Vec<Job>) {
        let mut replies = Vec::with_capacity(jobs.len());
        let mut work = Vec::with_capacity(jobs.len());
        for job in jobs {
            match job {
                Job::Open { log, reply } => {
                    replies.push(reply);
                    work.push((None, Some(log), None));
                }
                Job::Append {
                    round,
                    envelope,
                    reply,
                } => {
                    replies.push(reply);
                    work.push((Some(round), None, Some(envelope)));
                }
            }
        }
        let mut guards = BTreeMap::new();
        let result = self.apply_and_commit(work, &mut guards).await;
        match result {
            Ok((outcomes, opened, reload)) => {
                let mut answers = Vec::with_capacity(outcomes.len());
                for outcome in outcomes {
                    answers.push(match outcome {
                        Outcome::Failed(error) => Err(error),
                        Outcome::Opened(round) => match opened.get(&round) {
                            Some(log) => self
                                .receipt(log, 0)
                                .map(|receipt| Answer::Opened { round, receipt }),
                            None => Err(ApiError::unavailable()),
                        },
                        Outcome::Appended(round, indices) => match guards.get(&round) {
                            Some(guard) => self.appended(guard, &indices),
                            None => Err(ApiError::unavailable()),
                        },
                    });
                }
                for (round, log) in opened {
                    self.set_slot(&round, Slot::Live(Arc::new(RwLock::new(log))));
                }
                for round in reload {
                    if let Some(guard) = guards.get_mut(&round) {
                        self.reload_into(&round, guard).await;
                    }
                }
                drop(guards);
                for (reply, answer) in replies.into_iter().zip(answers) {
                    // The client may have gone; its entry is stored anyway.
                    let _ = reply.send(answer);
                }
            }
            Err(error) => {
                tracing::error!(
                    "a batch of {} writes failed, nothing stored: {error:#}",
                    replies.len()
                );
                for (round, guard) in &mut guards {
                    self.reload_into(round, guard).await;
                }
                drop(guards);
                for reply in replies {
                    let _ = reply.send(Err(ApiError::unavailable()));
                }
            }
        }
    }

    fn appended(&self, log: &RoundLog, indices: &[u64]) -> Reply {
        let receipt = match indices.first() {
            Some(&first) => self.receipt(log, first)?,
            None => return Err(ApiError::unavailable()),
        };
        let then = match indices.get(1) {
            Some(&then) => Some(self.receipt(log, then)?),
            None => None,
        };
        Ok(Answer::Appended { receipt, then })
    }

    /// Replaces a round's memory with what is stored, after a failed
    /// batch; a round that cannot be read now is dropped from memory and
    /// loaded again on its next request.
    async fn reload_into(&self, round: &str, guard: &mut OwnedRwLockWriteGuard<RoundLog>) {
        match self.load(round).await {
            Ok(log) => **guard = log,
            Err(LoadError::Corrupt(reason)) => self.mark_broken(round, &reason),
            Err(LoadError::Storage(error)) => {
                tracing::error!(round, "reloading the round after a failed batch: {error:#}");
                self.rounds_write().remove(round);
            }
        }
    }

    #[allow(clippy::type_complexity)]
    async fn apply_and_commit(
        &self,
        work: Vec<(Option<String>, Option<Box<RoundLog>>, Option<Box<Envelope>>)>,
        guards: &mut BTreeMap<String, OwnedRwLockWriteGuard<RoundLog>>,
    ) -> anyhow::Result<(Vec<Outcome>, BTreeMap<String, RoundLog>, BTreeSet<String>)> {
        let mut tx = self.store.begin().await?;
        // The rounds the batch appends to, locked in id order.
        let touched: BTreeSet<String> = work
            .iter()
            .filter_map(|(round, _, _)| round.clone())
            .collect();
        let mut unavailable: BTreeMap<String, ApiError> = BTreeMap::new();
        for round in touched {
            let Some(log) = self.live(&round) else {
                let error = match self.rounds_read().get(&round) {
                    Some(Slot::Broken(reason)) => ApiError::broken(&round, reason),
                    _ => ApiError::unavailable(),
                };
                unavailable.insert(round, error);
                continue;
            };
            let mut guard = log.write_owned().await;
            match self.sync_locked(&mut tx, &round, &mut guard).await? {
                Ok(()) => {
                    guards.insert(round, guard);
                }
                Err(error) => {
                    unavailable.insert(round, error);
                }
            }
        }
        let mut outcomes = Vec::with_capacity(work.len());
        let mut opened: BTreeMap<String, RoundLog> = BTreeMap::new();
        let mut sizes: BTreeMap<String, u64> = BTreeMap::new();
        let mut reload = BTreeSet::new();
        let mut rows = Vec::new();
        let held = self.rounds_read().len();
        for (round, open, envelope) in work {
            let outcome = match (round, open, envelope) {
                (None, Some(log), _) => {
                    let round = log.round().id().to_string();
                    if self.rounds_read().contains_key(&round) || opened.contains_key(&round) {
                        Outcome::Failed(exists(&round))
                    } else if held + opened.len() >= self.max_rounds {
                        Outcome::Failed(ApiError::new(
                            StatusCode::PAYLOAD_TOO_LARGE,
                            format!(
                                "round: the server holds its limit of {} rounds; no round can be \
                                 opened",
                                self.max_rounds
                            ),
                        ))
                    } else if !tx.insert_round(&round).await? {
                        Outcome::Failed(exists(&round))
                    } else {
                        match self.seal_row(&log, 0) {
                            Ok(row) => {
                                rows.push(row);
                                sizes.insert(round.clone(), 1);
                                opened.insert(round.clone(), *log);
                                Outcome::Opened(round)
                            }
                            Err(error) => Outcome::Failed(error),
                        }
                    }
                }
                (Some(round), _, Some(envelope)) => {
                    if let Some(error) = unavailable.get(&round) {
                        Outcome::Failed(error.clone())
                    } else if let Some(guard) = guards.get_mut(&round) {
                        let before = guard.round().size();
                        match guard.accept(*envelope, &self.key) {
                            Ok(indices) => {
                                let mut sealed = Ok(());
                                for &index in &indices {
                                    match self.seal_row(guard, index) {
                                        Ok(row) => rows.push(row),
                                        Err(error) => sealed = Err(error),
                                    }
                                }
                                sealed?;
                                sizes.insert(round.clone(), guard.round().size());
                                Outcome::Appended(round, indices)
                            }
                            Err(refusal) if guard.round().size() == before => {
                                Outcome::Failed(refusal.into())
                            }
                            Err(refusal) => {
                                // An entry appended in part: memory is ahead
                                // of what this batch stores. Stop using the
                                // round in this batch; reload it after.
                                tracing::error!(
                                    round,
                                    "an entry was refused after part of it was appended: {refusal}"
                                );
                                let error = ApiError::unavailable();
                                unavailable.insert(round.clone(), error.clone());
                                reload.insert(round);
                                Outcome::Failed(error)
                            }
                        }
                    } else {
                        Outcome::Failed(ApiError::unavailable())
                    }
                }
                _ => Outcome::Failed(ApiError::unavailable()),
            };
            outcomes.push(outcome);
        }
        tx.insert_entries(&rows).await?;
        for (round, size) in &sizes {
            tx.set_size(round, *size).await?;
        }
        tx.commit().await?;
        Ok((outcomes, opened, reload))
    }
}

impl From<ApiError> for anyhow::Error {
    fn from(error: ApiError) -> anyhow::Error {
        anyhow::anyhow!("{}", error.message)
    }
}

fn exists(round: &str) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        format!("round: a round {round:?} already exists"),
    )
}

/// The writer task: drains the queue in batches until every sender is
/// gone.
pub(crate) async fn writer(core: Arc<Core>, mut queue: mpsc::Receiver<Job>) {
    let mut jobs = Vec::with_capacity(BATCH);
    while queue.recv_many(&mut jobs, BATCH).await > 0 {
        core.run_batch(std::mem::take(&mut jobs)).await;
    }
    core.store.close().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use procura_market::payload::commit_bytes;
    use procura_market::Kind;

    #[test]
    fn unsigned_receipts_sign_to_the_logs_receipts() {
        let key = |n: u8| SigningKey::from_bytes(&[n; 32]);
        let (operator, buyer) = (key(1), key(2));
        let roster: Vec<Value> = (0..5u8)
            .map(|n| {
                serde_json::json!({"id": format!("p{n}"),
                    "key": KeyId::of(&key(10 + n).verifying_key()).to_string(),
                    "quality": 0.9, "utility": 1.5, "volume": 100.0})
            })
            .collect();
        let open = serde_json::json!({"round": "r", "mechanism": "qmia",
            "instance": {"budget": 10.0}, "roster": roster});
        let open = Envelope::sign(Kind::Open, open.to_string().into_bytes(), &buyer);
        let mut log = RoundLog::open(open, KeyId::of(&operator.verifying_key())).expect("opens");
        let round = RoundId::parse("r").expect("an id");
        for n in 0..5u8 {
            let payload = commit_bytes(&round, &format!("p{n}"), &[n; 32]);
            log.accept(
                Envelope::sign(Kind::Commit, payload, &key(10 + n)),
                &operator,
            )
            .expect("accepted");
        }
        for index in 0..log.round().size() {
            let unsigned = Unsigned::of(&log, "procura.example", index).expect("in range");
            let expected = log
                .receipt("procura.example", index, &operator)
                .expect("in range");
            assert_eq!(unsigned.sign(&operator), expected, "entry {index}");
        }
        assert!(Unsigned::of(&log, "procura.example", log.round().size()).is_err());
    }
}
