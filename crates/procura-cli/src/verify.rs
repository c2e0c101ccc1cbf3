//! `procura verify`: check a round's transcript offline (spec §C.6), and
//! participants' receipts against it (§C.4).
//!
//! Exit codes: 0 and a short summary when the transcript and every receipt
//! verify; 1 naming the first failing rule and entry, or the failing
//! receipt; 2 when a file cannot be read or is not a transcript or a
//! receipt.

use std::fmt;
use std::path::PathBuf;

use anyhow::anyhow;
use procura_market::transcript::{self, Receipt};

use crate::input;

/// Verify a round's transcript offline: the operator's signed checkpoint,
/// every signature, every rule of the round, and a re-clearing of the
/// mechanism that must match the outcome entry number for number.
///
/// With `--receipt`, also checks that each receipt's entry is in the log
/// and that the checkpoint it carries is a prefix of the transcript's (a
/// forked or rewritten log fails here).
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Transcript file (as served by GET /v1/rounds/ROUND/transcript), or
    /// `-` for standard input.
    transcript: PathBuf,
    /// A receipt to check against the transcript; may be given many times.
    #[arg(long = "receipt", value_name = "FILE")]
    receipts: Vec<PathBuf>,
    /// Worker threads, at least 1 [default: one per core]. The answer does
    /// not depend on it.
    #[arg(long)]
    threads: Option<usize>,
}

/// A transcript or receipt that fails verification: `main` exits with
/// code 1 for it.
#[derive(Debug)]
pub(crate) struct Rejected(String);

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Rejected {}

/// Runs the command and returns what it prints.
pub(crate) fn run(args: &Args) -> anyhow::Result<String> {
    crate::threads::with_threads(args.threads, || run_in_pool(args))
}

fn run_in_pool(args: &Args) -> anyhow::Result<String> {
    let (source, text) = input::read(&args.transcript)?;
    let parsed =
        transcript::parse(text.as_bytes()).map_err(|error| anyhow!("{source}: {error}"))?;
    let mut receipts = Vec::with_capacity(args.receipts.len());
    for path in &args.receipts {
        let (source, text) = input::read(path)?;
        let receipt: Receipt = serde_json::from_str(&text)
            .map_err(|error| anyhow!("{source}: not a receipt: {error}"))?;
        receipts.push((source, receipt));
    }
    let verified = transcript::verify(&parsed).map_err(|failure| {
        let entry = failure
            .entry
            .map(|entry| format!("entry {entry}: "))
            .unwrap_or_default();
        anyhow::Error::new(Rejected(format!(
            "{source}: invalid: {entry}rule {}: {}",
            failure.rule, failure.message
        )))
    })?;
    for (source, receipt) in &receipts {
        verified.check_receipt(receipt).map_err(|error| {
            anyhow::Error::new(Rejected(format!(
                "{source}: the receipt for entry {} does not check: {error}",
                receipt.index
            )))
        })?;
    }
    let mut summary = verified.summary();
    if !receipts.is_empty() {
        summary.push_str(&format!("receipts: {} checked\n", receipts.len()));
    }
    Ok(summary)
}
