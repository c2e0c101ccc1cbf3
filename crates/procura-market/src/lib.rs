//! Live rounds of procura's markets (spec Part C), as pure functions: no
//! IO, no async, no clock. The server (`procura-server`) and `procura
//! verify` call the same code.
//!
//! - [`envelope`]: DSSE v1 envelopes with one Ed25519 signature (§C.2);
//! - [`merkle`]: the RFC 6962 / 9162 Merkle log, inclusion and consistency
//!   proofs (§C.4);
//! - [`checkpoint`]: checkpoints as C2SP signed notes (§C.4);
//! - [`payload`]: the typed payloads of every kind of entry (§C.3);
//! - [`round`]: the round state machine, from a round and an entry to the
//!   next round or a typed refusal (§C.3, §C.5 status codes);
//! - [`transcript`]: transcripts, receipts and offline verification (§C.6).
//!
//! Re-clearing goes through `procura-format` and `procura-mechanisms`, the
//! code behind `procura clear`, so an outcome entry matches `procura clear`
//! number for number.

pub mod checkpoint;
pub mod envelope;
pub mod merkle;
pub mod payload;
pub mod round;
pub mod round_log;
pub mod signature;
pub mod transcript;

pub use envelope::{Envelope, KeyId, Kind};
pub use round::{Phase, Refusal, Round, RoundMechanism};
pub use round_log::RoundLog;
pub use transcript::{Receipt, Transcript, Verified};
