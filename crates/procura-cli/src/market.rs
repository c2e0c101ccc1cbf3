//! `procura market …`: a client of a procura market server (spec §C.5), so
//! a person can take part in a round without writing cryptography.
//!
//! - `keygen` writes a new Ed25519 key file (mode 0600) and prints its key
//!   id, the identity to put in a roster;
//! - `open` (the buyer) signs an `open` payload read from a file;
//! - `commit` and `reveal` (a participant) seal and then open a bid or a
//!   cost. The reveal's nonce is derived from the participant's key, the
//!   round and its id, so `reveal` with the same report rebuilds the very
//!   bytes that were committed to, even after a crash;
//! - `close` (the buyer) ends a phase; `decide` (an assigned user) stays or
//!   withdraws;
//! - `status` and `transcript` read a round.
//!
//! Every receipt the server returns is stored under `--receipts` (default
//! `procura-receipts/`) as `ROUND-INDEX.json`, ready for `procura verify
//! --receipt`.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use ed25519_dalek::SigningKey;
use procura_market::envelope::{key_file, parse_key_file, Envelope, KeyId, Kind};
use procura_market::payload::{
    close_bytes, commit_bytes, commitment, decide_bytes, derive_nonce, reveal_bytes, ClosedPhase,
    Decision, Report, RoundId,
};
use serde_json::Value;

use crate::output;

/// Take part in a live market round on a procura server.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Create a new key file (Ed25519 seed, mode 0600) and print its key id.
    Keygen(KeygenArgs),
    /// Open a round as its buyer, from a file holding the `open` payload
    /// (round, mechanism, instance without participants, roster).
    Open(OpenArgs),
    /// Commit to a bid (procurement) or a cost (threshold).
    Commit(ReportArgs),
    /// Reveal the bid or cost committed to; give the same report.
    Reveal(ReportArgs),
    /// Close the commit, reveal or decide phase, as the buyer.
    Close(CloseArgs),
    /// Stay or withdraw, as an assigned user of a threshold round.
    Decide(DecideArgs),
    /// Print a round's status.
    Status(RoundArgs),
    /// Print (or save) a round's transcript, for `procura verify`.
    Transcript(TranscriptArgs),
}

#[derive(Debug, clap::Args)]
struct KeygenArgs {
    /// Where to write the key; an existing file is never overwritten.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

#[derive(Debug, clap::Args)]
struct Server {
    /// The server's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080", value_name = "URL")]
    server: String,
}

#[derive(Debug, clap::Args)]
struct Signer {
    #[command(flatten)]
    server: Server,
    /// Your key file (from `procura market keygen`).
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// Folder where receipts are stored.
    #[arg(long, default_value = "procura-receipts", value_name = "DIR")]
    receipts: PathBuf,
}

#[derive(Debug, clap::Args)]
struct OpenArgs {
    #[command(flatten)]
    signer: Signer,
    /// The `open` payload: a JSON file, or `-` for standard input.
    payload: PathBuf,
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("report").required(true).args(["bid", "cost"])))]
struct ReportArgs {
    #[command(flatten)]
    signer: Signer,
    /// The round id.
    #[arg(long)]
    round: String,
    /// Your id in the roster.
    #[arg(long)]
    id: String,
    /// Your bid, in a procurement round.
    #[arg(long, allow_negative_numbers = true)]
    bid: Option<f64>,
    /// Your claimed quality, in a procurement round (default: the roster's).
    #[arg(long, requires = "bid", allow_negative_numbers = true)]
    claimed_quality: Option<f64>,
    /// Your cost, in a threshold round.
    #[arg(long, allow_negative_numbers = true)]
    cost: Option<f64>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum PhaseArg {
    Commit,
    Reveal,
    Decide,
}

#[derive(Debug, clap::Args)]
struct CloseArgs {
    #[command(flatten)]
    signer: Signer,
    /// The round id.
    #[arg(long)]
    round: String,
    /// The phase to close.
    #[arg(long, value_enum)]
    phase: PhaseArg,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum DecisionArg {
    Stay,
    Withdraw,
}

#[derive(Debug, clap::Args)]
struct DecideArgs {
    #[command(flatten)]
    signer: Signer,
    /// The round id.
    #[arg(long)]
    round: String,
    /// Your id in the roster.
    #[arg(long)]
    id: String,
    /// Stay (and be paid on training) or withdraw your data.
    #[arg(long, value_enum)]
    decision: DecisionArg,
}

#[derive(Debug, clap::Args)]
struct RoundArgs {
    #[command(flatten)]
    server: Server,
    /// The round id.
    #[arg(long)]
    round: String,
}

#[derive(Debug, clap::Args)]
struct TranscriptArgs {
    #[command(flatten)]
    server: Server,
    /// The round id.
    #[arg(long)]
    round: String,
    /// Write the transcript here instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Largest answer read from a server: a transcript of a full round.
const MAX_ANSWER_BYTES: u64 = 1 << 30;

/// Runs the command and returns what it prints.
pub(crate) fn run(args: &Args) -> anyhow::Result<String> {
    match &args.command {
        Command::Keygen(args) => keygen(args),
        Command::Open(args) => open(args),
        Command::Commit(args) => report(args, Kind::Commit),
        Command::Reveal(args) => report(args, Kind::Reveal),
        Command::Close(args) => close(args),
        Command::Decide(args) => decide(args),
        Command::Status(args) => {
            let url = format!(
                "{}/v1/rounds/{}",
                base(&args.server),
                round_id(&args.round)?
            );
            Ok(pretty(&get(&url)?.0))
        }
        Command::Transcript(args) => transcript(args),
    }
}

fn base(server: &Server) -> &str {
    server.server.trim_end_matches('/')
}

fn round_id(text: &str) -> anyhow::Result<RoundId> {
    RoundId::parse(text).map_err(|error| anyhow!("--round: {error}"))
}

fn pretty(value: &Value) -> String {
    procura_format::write::to_json(value)
}

fn keygen(args: &KeygenArgs) -> anyhow::Result<String> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|error| anyhow!("no system randomness: {error}"))?;
    let key = SigningKey::from_bytes(&seed);
    write_secret(&args.out, &key_file(&key))?;
    Ok(format!("{}\n", KeyId::of(&key.verifying_key())))
}

/// Creates `path` with mode 0600 and writes `text`; refuses an existing
/// file.
fn write_secret(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("{}: cannot create the key file", path.display()))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("{}: cannot write the key file", path.display()))
}

fn read_key(path: &Path) -> anyhow::Result<SigningKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read the key file", path.display()))?;
    parse_key_file(&text).map_err(|error| anyhow!("{}: {error}", path.display()))
}

/// The answer of a request: its JSON body, as parsed and as sent.
fn answer(
    result: Result<ureq::Response, ureq::Error>,
    url: &str,
) -> anyhow::Result<(Value, Vec<u8>)> {
    let (status, response) = match result {
        Ok(response) => (response.status(), response),
        Err(ureq::Error::Status(status, response)) => (status, response),
        Err(error) => bail!("{url}: {error}"),
    };
    let mut body = Vec::new();
    response
        .into_reader()
        .take(MAX_ANSWER_BYTES)
        .read_to_end(&mut body)
        .with_context(|| format!("{url}: cannot read the answer"))?;
    let value: Value = serde_json::from_slice(&body)
        .with_context(|| format!("{url}: the answer (status {status}) is not JSON"))?;
    if !(200..300).contains(&status) {
        let message = value["error"].as_str().unwrap_or("no message");
        bail!("{url}: refused with status {status}: {message}");
    }
    Ok((value, body))
}

fn get(url: &str) -> anyhow::Result<(Value, Vec<u8>)> {
    answer(ureq::get(url).call(), url)
}

fn post(url: &str, body: &str) -> anyhow::Result<Value> {
    let (value, _) = answer(
        ureq::post(url)
            .set("Content-Type", "application/json")
            .send_string(body),
        url,
    )?;
    Ok(value)
}

/// Stores a receipt as `DIR/ROUND-INDEX.json`; returns its path.
fn store_receipt(dir: &Path, round: &str, receipt: &Value) -> anyhow::Result<PathBuf> {
    let index = receipt["index"]
        .as_u64()
        .ok_or_else(|| anyhow!("the server's receipt has no index"))?;
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let path = dir.join(format!("{round}-{index}.json"));
    let staged = output::stage(&path, pretty(receipt).as_bytes())?;
    output::commit(staged, &path)?;
    Ok(path)
}

/// Signs and posts an entry to a round; stores its receipt and the
/// operator entry's that follows a close.
fn send(signer: &Signer, round: &RoundId, kind: Kind, payload: Vec<u8>) -> anyhow::Result<String> {
    let key = read_key(&signer.key)?;
    let envelope = Envelope::sign(kind, payload, &key);
    let url = format!("{}/v1/rounds/{round}/entries", base(&signer.server));
    let mut receipt = post(&url, &envelope.leaf_bytes())?;
    // The operator's entry after a close comes under "then": stored as a
    // receipt of its own, and taken out of the close's.
    let then = receipt
        .as_object_mut()
        .and_then(|answer| answer.remove("then"));
    let mut printed = String::new();
    let path = store_receipt(&signer.receipts, round.as_str(), &receipt)?;
    printed.push_str(&format!(
        "{} accepted as entry {}; receipt in {}\n",
        kind.name(),
        receipt["index"],
        path.display()
    ));
    if let Some(then) = then {
        let path = store_receipt(&signer.receipts, round.as_str(), &then)?;
        printed.push_str(&format!(
            "the operator's entry {} follows; receipt in {}\n",
            then["index"],
            path.display()
        ));
    }
    Ok(printed)
}

fn open(args: &OpenArgs) -> anyhow::Result<String> {
    let (source, text) = crate::input::read(&args.payload)?;
    let value: Value =
        serde_json::from_str(&text).map_err(|error| anyhow!("{source}: not JSON: {error}"))?;
    let round = value["round"]
        .as_str()
        .ok_or_else(|| anyhow!("{source}: round: missing"))?;
    let round = RoundId::parse(round).map_err(|error| anyhow!("{source}: {error}"))?;
    let key = read_key(&args.signer.key)?;
    // The payload is sent as written in the file.
    let envelope = Envelope::sign(Kind::Open, text.trim_end().as_bytes().to_vec(), &key);
    let url = format!("{}/v1/rounds", base(&args.signer.server));
    let answer = post(&url, &envelope.leaf_bytes())?;
    let path = store_receipt(&args.signer.receipts, round.as_str(), &answer["receipt"])?;
    Ok(format!(
        "round {round} opened; receipt in {}\n",
        path.display()
    ))
}

fn report(args: &ReportArgs, kind: Kind) -> anyhow::Result<String> {
    let round = round_id(&args.round)?;
    let key = read_key(&args.signer.key)?;
    let report = match (args.bid, args.cost) {
        (Some(bid), None) => Report::Bid {
            bid,
            claimed_quality: args.claimed_quality,
        },
        (None, Some(cost)) => Report::Cost(cost),
        _ => bail!("give --bid (procurement) or --cost (threshold)"),
    };
    let nonce = derive_nonce(key.as_bytes(), &round, &args.id);
    let reveal = reveal_bytes(&round, &args.id, report, &nonce);
    let payload = match kind {
        Kind::Commit => commit_bytes(&round, &args.id, &commitment(&reveal)),
        _ => reveal,
    };
    send(&args.signer, &round, kind, payload)
}

fn close(args: &CloseArgs) -> anyhow::Result<String> {
    let round = round_id(&args.round)?;
    let phase = match args.phase {
        PhaseArg::Commit => ClosedPhase::Commit,
        PhaseArg::Reveal => ClosedPhase::Reveal,
        PhaseArg::Decide => ClosedPhase::Decide,
    };
    send(
        &args.signer,
        &round,
        Kind::Close,
        close_bytes(&round, phase),
    )
}

fn decide(args: &DecideArgs) -> anyhow::Result<String> {
    let round = round_id(&args.round)?;
    let decision = match args.decision {
        DecisionArg::Stay => Decision::Stay,
        DecisionArg::Withdraw => Decision::Withdraw,
    };
    send(
        &args.signer,
        &round,
        Kind::Decide,
        decide_bytes(&round, &args.id, decision),
    )
}

fn transcript(args: &TranscriptArgs) -> anyhow::Result<String> {
    let url = format!(
        "{}/v1/rounds/{}/transcript",
        base(&args.server),
        round_id(&args.round)?
    );
    // Written as the server sent it: nobody re-serializes a log.
    let (_, mut body) = get(&url)?;
    if !body.ends_with(b"\n") {
        body.push(b'\n');
    }
    match &args.out {
        None => String::from_utf8(body).map_err(|_| anyhow!("{url}: the answer is not UTF-8")),
        Some(path) => {
            let staged = output::stage(path, &body)?;
            output::commit(staged, path)?;
            Ok(format!("transcript written to {}\n", path.display()))
        }
    }
}
