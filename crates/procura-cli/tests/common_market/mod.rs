//! Helpers of the end-to-end market tests (`market_e2e.rs`): a real
//! `procura serve` child process on a free loopback port, killed on drop;
//! an HTTP client (ureq); rounds whose participants sign with
//! `procura_market` or run `procura market …`; every receipt a client got,
//! kept and checked against the served transcript with `procura verify`;
//! the outcome compared with `procura clear`; byte searches for sealed
//! bids; and a minimal PostgreSQL client to make and drop a test schema.

use std::collections::BTreeSet;
use std::fs;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use procura_market::envelope::{key_file, parse_key_file, Envelope, Kind};
use procura_market::merkle::sha256;
use procura_market::payload::{
    close_bytes, commit_bytes, commitment, decide_bytes, derive_nonce, reveal_bytes, ClosedPhase,
    Decision, Report, RoundId, SettlePayload, SettlePayment,
};
use procura_market::transcript::{Receipt, Transcript};
use serde_json::{json, Map, Value};

/// How long a server may take to answer its first request.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// How long one request may take on a loaded machine.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// The `procura` binary under test.
pub(crate) fn procura() -> Command {
    Command::new(env!("CARGO_BIN_EXE_procura"))
}

fn run(command: &mut Command, what: &str) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("{what}: cannot run procura: {error}"));
    assert!(
        output.status.success(),
        "{what}: exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

// ---------------------------------------------------------------------------
// Encodings

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (RFC 4648 §4).
pub(crate) fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(char::from(BASE64[((n >> (18 - 6 * k)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The base64 characters that depend only on `text` when it starts
/// `offset` bytes (0, 1 or 2) into a 3-byte group, whatever the bytes
/// around it: what any base64 encoding of a larger text holding `text`
/// contains at that alignment.
pub(crate) fn base64_core(text: &[u8], offset: usize) -> String {
    let mut padded = vec![0u8; offset];
    padded.extend_from_slice(text);
    padded.extend_from_slice(&[0, 0, 0]);
    let encoded = base64(&padded);
    let (start_bit, end_bit) = (8 * offset, 8 * (offset + text.len()));
    encoded
        .chars()
        .enumerate()
        .filter(|(k, _)| 6 * k >= start_bit && 6 * k + 6 <= end_bit)
        .map(|(_, c)| c)
        .collect()
}

/// The leaf hash of an envelope, in hex.
pub(crate) fn leaf_hex(envelope: &Envelope) -> String {
    hex(&envelope.leaf_hash())
}

/// A deterministic signing key for a name.
pub(crate) fn key_for(name: &str) -> SigningKey {
    SigningKey::from_bytes(&sha256(format!("procura e2e key {name}").as_bytes()))
}

// ---------------------------------------------------------------------------
// The server

/// A free loopback port (bound, then released: the server binds it next;
/// a lost race is retried by [`Market::start`]).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free loopback port")
}

/// One test's market: a temporary folder holding the operator key (and
/// the SQLite database unless another URL is given), shared by every
/// server started on it, so a restart finds the same log and key.
pub(crate) struct Market {
    dir: tempfile::TempDir,
    db: String,
    starts: usize,
    /// The buyer of every round.
    pub(crate) buyer: SigningKey,
}

impl Market {
    /// A market on a SQLite file in a new temporary folder.
    pub(crate) fn sqlite() -> Market {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let db = format!("sqlite://{}", dir.path().join("market.sqlite").display());
        Market {
            dir,
            db,
            starts: 0,
            buyer: key_for("buyer"),
        }
    }

    /// A market on the database at `url` (the key in a temporary folder).
    pub(crate) fn on(url: &str) -> Market {
        Market {
            dir: tempfile::tempdir().expect("a temporary folder"),
            db: url.to_owned(),
            starts: 0,
            buyer: key_for("buyer"),
        }
    }

    /// The temporary folder.
    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The SQLite database files: the database, its write-ahead log and
    /// its shared-memory index.
    pub(crate) fn sqlite_files(&self) -> Vec<PathBuf> {
        ["market.sqlite", "market.sqlite-wal", "market.sqlite-shm"]
            .iter()
            .map(|name| self.dir().join(name))
            .collect()
    }

    /// Starts `procura serve` on this market, logging at `info`.
    pub(crate) fn start(&mut self) -> Server {
        self.start_with_log("info")
    }

    /// Starts `procura serve` with `RUST_LOG=filter`; stderr goes to a
    /// file ([`Server::log`]).
    pub(crate) fn start_with_log(&mut self, filter: &str) -> Server {
        for attempt in 0..10 {
            self.starts += 1;
            let log = self.dir().join(format!("server-{}.log", self.starts));
            let port = free_port();
            let stderr = fs::File::create(&log).expect("the server's log file");
            let child = procura()
                .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--db"])
                .arg(&self.db)
                .arg("--key")
                .arg(self.dir().join("operator.key"))
                .args(["--name", "procura.example"])
                .env("RUST_LOG", filter)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(stderr)
                .spawn()
                .expect("procura serve starts");
            let mut server = Server {
                child: Some(child),
                client: Client::new(SocketAddr::from(([127, 0, 0, 1], port))),
                log,
                key: self.dir().join("operator.key"),
            };
            match server.wait_ready() {
                Ok(()) => return server,
                Err(text) if text.contains("in use") && attempt < 9 => {
                    eprintln!("port {port} was taken, trying another");
                }
                Err(text) => panic!("procura serve did not start: {text}"),
            }
        }
        unreachable!("the loop returns or panics")
    }
}

/// A running `procura serve`, killed (SIGKILL) when dropped.
pub(crate) struct Server {
    child: Option<Child>,
    client: Client,
    log: PathBuf,
    key: PathBuf,
}

impl Server {
    /// Polls `GET /v1/operator` until it answers 200; `Err` with the log
    /// when the process exits first or the time runs out.
    fn wait_ready(&mut self) -> Result<(), String> {
        let start = Instant::now();
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Err(format!("exited with {status}: {}", self.log_text()));
                }
            }
            if let Ok(answer) = self.client.call("GET", "/v1/operator", None) {
                // Ours, not another test's server that took the port.
                let key = serde_json::from_slice::<Value>(&answer.body)
                    .ok()
                    .map(|operator| operator["key"].clone());
                if answer.status == 200
                    && key.is_some()
                    && key == self.operator_key().map(Value::from)
                {
                    return Ok(());
                }
            }
            if start.elapsed() > READY_TIMEOUT {
                return Err(format!(
                    "no answer after {READY_TIMEOUT:?}: {}",
                    self.log_text()
                ));
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// The key id in the operator key file, once the server wrote it.
    fn operator_key(&self) -> Option<String> {
        let text = fs::read_to_string(&self.key).ok()?;
        let key = parse_key_file(&text).ok()?;
        Some(hex(key.verifying_key().as_bytes()))
    }

    /// A client of this server (cheap to clone, one per thread).
    pub(crate) fn client(&self) -> Client {
        self.client.clone()
    }

    /// The server's stderr log file.
    pub(crate) fn log(&self) -> &Path {
        &self.log
    }

    fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Kills the server with SIGKILL (`Child::kill` on unix): no shutdown,
    /// no flush; what is not on disk is gone.
    pub(crate) fn crash(mut self) {
        self.kill();
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// An answer: status and body.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
}

impl Answer {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {}", self.text()))
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A blocking HTTP client of one server.
#[derive(Clone)]
pub(crate) struct Client {
    agent: ureq::Agent,
    address: SocketAddr,
}

impl Client {
    fn new(address: SocketAddr) -> Client {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(10))
            .timeout(REQUEST_TIMEOUT)
            .build();
        Client { agent, address }
    }

    /// `http://127.0.0.1:PORT`.
    pub(crate) fn base(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The address the server listens on.
    pub(crate) fn address(&self) -> SocketAddr {
        self.address
    }

    /// A request; `Err` when no answer came (connection refused or cut).
    pub(crate) fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> Result<Answer, String> {
        let url = format!("{}{path}", self.base());
        let request = self.agent.request(method, &url);
        let result = match body {
            Some(body) => request
                .set("Content-Type", "application/json")
                .send_bytes(body),
            None => request.call(),
        };
        let (status, response) = match result {
            Ok(response) => (response.status(), response),
            Err(ureq::Error::Status(status, response)) => (status, response),
            Err(error) => return Err(format!("{method} {path}: {error}")),
        };
        let mut body = Vec::new();
        response
            .into_reader()
            .read_to_end(&mut body)
            .map_err(|error| format!("{method} {path}: reading the answer: {error}"))?;
        Ok(Answer { status, body })
    }

    /// A GET that must be answered.
    pub(crate) fn get(&self, path: &str) -> Answer {
        self.call("GET", path, None)
            .unwrap_or_else(|error| panic!("{error}"))
    }

    /// A GET that must be answered 200 with JSON.
    pub(crate) fn get_json(&self, path: &str) -> Value {
        let answer = self.get(path);
        assert_eq!(answer.status, 200, "GET {path}: {}", answer.text());
        answer.json()
    }
}

/// A POST over a raw connection: the request is written whole, then the
/// connection is handed back unread, so the caller can kill the server
/// right after sending and read what (if anything) comes back.
pub(crate) fn send_raw(address: SocketAddr, path: &str, body: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(address).expect("connect to the server");
    stream
        .set_read_timeout(Some(REQUEST_TIMEOUT))
        .expect("a read timeout");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body))
        .and_then(|()| stream.flush())
        .expect("the request is sent");
    stream
}

/// Reads the answer of [`send_raw`]: `None` if the connection was cut
/// before a whole answer came.
pub(crate) fn read_raw(mut stream: TcpStream) -> Option<Answer> {
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let status: u16 = head.split(' ').nth(1)?.parse().ok()?;
    let body = raw[split + 4..].to_vec();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))?
        .trim()
        .parse()
        .ok()?;
    (body.len() == length).then_some(Answer { status, body })
}

// ---------------------------------------------------------------------------
// Rounds

/// A participant: its roster id and fields, its key and its report.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub(crate) id: String,
    pub(crate) key: SigningKey,
    /// The roster's fields, in the order written.
    pub(crate) fields: Vec<(&'static str, f64)>,
    /// The bid (with its claimed quality) or cost it reveals.
    pub(crate) report: Report,
    /// Whether it acts through `procura market …` subprocesses rather than
    /// signing in the test.
    pub(crate) cli: bool,
}

/// A round as the test sees it: its `open` payload's parts.
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    pub(crate) id: String,
    pub(crate) mechanism: String,
    pub(crate) instance: Map<String, Value>,
    pub(crate) members: Vec<Member>,
}

/// A provider of [`procurement`]: id, quality, utility, volume, bid and
/// claimed quality.
pub(crate) type ProviderRow = (String, f64, f64, f64, f64, Option<f64>);

/// `n` providers with varied qualities, utilities, volumes and bids; every
/// third one claims a quality of its own.
pub(crate) fn providers(n: usize) -> Vec<ProviderRow> {
    const QUALITY: [f64; 10] = [0.9, 0.8, 0.95, 0.6, 0.7, 0.85, 0.5, 0.75, 0.65, 0.92];
    const UTILITY: [f64; 10] = [1.5, 2.0, 0.8, 1.2, 2.5, 1.1, 3.0, 0.9, 1.4, 1.0];
    const BID: [f64; 10] = [2.0, 3.5, 1.0, 2.5, 4.0, 1.75, 3.0, 0.8, 2.2, 2.9];
    (0..n)
        .map(|i| {
            let band = (i / 10) as f64;
            (
                format!("p{i:02}"),
                QUALITY[i % 10],
                UTILITY[i % 10] + 0.05 * band,
                100.0 * (i as f64 + 3.0),
                BID[i % 10] + 0.125 * band,
                (i % 3 == 1).then_some(0.97),
            )
        })
        .collect()
}

/// The instance (without providers) each procurement mechanism needs.
pub(crate) fn procurement_instance(mechanism: &str) -> Map<String, Value> {
    let instance = match mechanism {
        "mut" => json!({"budget": 10.0, "token_budget": 5.0, "token_pool": 100.0}),
        "mixed" => json!({"budget": 10.0, "token_budget": 5.0, "liquidity": 0.5}),
        _ => json!({"budget": 10.0}),
    };
    match instance {
        Value::Object(map) => map,
        _ => unreachable!("an object"),
    }
}

/// A procurement round; the providers whose index is in `cli` use the
/// command-line client.
pub(crate) fn procurement(
    round: &str,
    mechanism: &str,
    instance: Map<String, Value>,
    rows: Vec<ProviderRow>,
    cli: &[usize],
) -> Spec {
    let members = rows
        .into_iter()
        .enumerate()
        .map(
            |(at, (id, quality, utility, volume, bid, claimed_quality))| Member {
                key: key_for(&format!("{round}/{id}")),
                id,
                fields: vec![
                    ("quality", quality),
                    ("utility", utility),
                    ("volume", volume),
                ],
                report: Report::Bid {
                    bid,
                    claimed_quality,
                },
                cli: cli.contains(&at),
            },
        )
        .collect();
    Spec {
        id: round.to_owned(),
        mechanism: mechanism.to_owned(),
        instance,
        members,
    }
}

/// The threshold instance of [`threshold`]: T = 10, target 12, reserve 3.
pub(crate) const THRESHOLD: f64 = 10.0;

/// A threshold round of ten users under `protocol`: seven are assigned
/// (two with the same amount, so the turn order breaks a tie by id), two
/// are not (u05 by the fill, u08 over the reserve price). Users 0 and 3
/// use the command-line client.
pub(crate) fn threshold(round: &str, protocol: &str) -> Spec {
    // (id, capacity, benefit, cost)
    const USERS: [(&str, f64, f64, f64); 10] = [
        ("u01", 2.0, 0.5, 1.25),
        ("u02", 1.5, 0.2, 0.75),
        ("u03", 3.0, 0.0, 2.0),
        ("u04", 2.5, 0.4, 1.5),
        ("u05", 1.0, 0.1, 2.75),
        ("u06", 2.0, 0.3, 0.5),
        ("u07", 1.25, 0.2, 1.0),
        ("u08", 2.0, 0.1, 3.5),
        ("u09", 1.75, 0.6, 2.25),
        ("u10", 0.5, 0.0, 0.25),
    ];
    let members = USERS
        .iter()
        .enumerate()
        .map(|(at, (id, capacity, benefit, cost))| Member {
            id: (*id).to_owned(),
            key: key_for(&format!("{round}/{id}")),
            fields: vec![("capacity", *capacity), ("benefit", *benefit)],
            report: Report::Cost(*cost),
            cli: at == 0 || at == 3,
        })
        .collect();
    let instance = json!({
        "threshold": THRESHOLD,
        "reserve_price": 3.0,
        "budget": 100.0,
        "slack": 0.2,
        "reversibility": 0.5,
        "shock_mean": 0.5,
        "protocol": protocol,
    });
    let Value::Object(instance) = instance else {
        unreachable!("an object")
    };
    Spec {
        id: round.to_owned(),
        mechanism: "withdrawal".to_owned(),
        instance,
        members,
    }
}

impl Spec {
    fn round_id(&self) -> RoundId {
        RoundId::parse(&self.id).expect("a valid round id")
    }

    fn is_threshold(&self) -> bool {
        self.mechanism == "withdrawal"
    }

    /// The member with this id.
    pub(crate) fn member(&self, id: &str) -> &Member {
        self.members
            .iter()
            .find(|m| m.id == id)
            .unwrap_or_else(|| panic!("no member {id}"))
    }

    /// Every member's id, in roster order.
    pub(crate) fn ids(&self) -> Vec<String> {
        self.members.iter().map(|m| m.id.clone()).collect()
    }

    /// The `open` payload bytes.
    pub(crate) fn open_payload(&self) -> Vec<u8> {
        let roster: Vec<Value> = self
            .members
            .iter()
            .map(|m| {
                let mut entry = Map::new();
                entry.insert("id".into(), json!(m.id));
                entry.insert("key".into(), json!(hex(m.key.verifying_key().as_bytes())));
                for (field, value) in &m.fields {
                    entry.insert((*field).into(), json!(value));
                }
                Value::Object(entry)
            })
            .collect();
        serde_json::to_vec(&json!({
            "round": self.id,
            "mechanism": self.mechanism,
            "instance": self.instance,
            "roster": roster,
        }))
        .expect("JSON")
    }

    /// The member's reveal payload, with the nonce `procura market`
    /// derives from its key, so the library and the command line write the
    /// same bytes.
    pub(crate) fn reveal_payload(&self, member: &Member) -> Vec<u8> {
        let round = self.round_id();
        let nonce = derive_nonce(member.key.as_bytes(), &round, &member.id);
        reveal_bytes(&round, &member.id, member.report, &nonce)
    }

    /// The member's nonce, in hex.
    pub(crate) fn nonce_hex(&self, member: &Member) -> String {
        hex(&derive_nonce(
            member.key.as_bytes(),
            &self.round_id(),
            &member.id,
        ))
    }

    pub(crate) fn commit_envelope(&self, member: &Member) -> Envelope {
        let payload = commit_bytes(
            &self.round_id(),
            &member.id,
            &commitment(&self.reveal_payload(member)),
        );
        Envelope::sign(Kind::Commit, payload, &member.key)
    }

    pub(crate) fn reveal_envelope(&self, member: &Member) -> Envelope {
        Envelope::sign(Kind::Reveal, self.reveal_payload(member), &member.key)
    }

    pub(crate) fn close_envelope(&self, phase: ClosedPhase, buyer: &SigningKey) -> Envelope {
        Envelope::sign(Kind::Close, close_bytes(&self.round_id(), phase), buyer)
    }

    pub(crate) fn decide_envelope(&self, member: &Member, decision: Decision) -> Envelope {
        Envelope::sign(
            Kind::Decide,
            decide_bytes(&self.round_id(), &member.id, decision),
            &member.key,
        )
    }

    /// The instance that is cleared (§C.3): the open instance with the
    /// members who revealed, in roster order, each with the roster's
    /// fields and its revealed report.
    pub(crate) fn cleared_instance(&self, revealed: &[String]) -> Value {
        let records: Vec<Value> = self
            .members
            .iter()
            .filter(|m| revealed.contains(&m.id))
            .map(|m| {
                let mut record = Map::new();
                record.insert("id".into(), json!(m.id));
                match m.report {
                    Report::Bid {
                        bid,
                        claimed_quality,
                    } => {
                        record.insert("bid".into(), json!(bid));
                        if let Some(claimed) = claimed_quality {
                            record.insert("claimed_quality".into(), json!(claimed));
                        }
                    }
                    Report::Cost(cost) => {
                        record.insert("cost".into(), json!(cost));
                    }
                }
                for (field, value) in &m.fields {
                    record.insert((*field).into(), json!(value));
                }
                Value::Object(record)
            })
            .collect();
        let mut instance = self.instance.clone();
        let list = if self.is_threshold() {
            "users"
        } else {
            "providers"
        };
        instance.insert(list.into(), Value::Array(records));
        Value::Object(instance)
    }
}

/// A receipt a client got (a 201), with the leaf hash of the envelope it
/// sent (none for the operator's entries, which the server writes).
#[derive(Debug, Clone)]
pub(crate) struct Got {
    pub(crate) what: String,
    pub(crate) receipt: Receipt,
    pub(crate) sent_leaf: Option<String>,
    pub(crate) file: PathBuf,
}

/// Why an entry got no receipt.
#[derive(Debug, Clone)]
pub(crate) enum Refused {
    /// The server answered with this status and body.
    Status(u16, String),
    /// No answer: the connection was refused or cut.
    NoAnswer(String),
}

/// A round being run: its spec, its buyer, its folder (key files,
/// receipts, instance and transcript files) and every receipt its clients
/// got.
pub(crate) struct Round {
    pub(crate) spec: Spec,
    buyer: SigningKey,
    dir: PathBuf,
    got: Mutex<Vec<Got>>,
    files: AtomicUsize,
}

/// Which way an action is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Via {
    /// Signed in the test and posted with ureq.
    Library,
    /// `procura market …`.
    Cli,
}

impl Round {
    /// Prepares a round's folder under `market`'s and its members' key
    /// files.
    pub(crate) fn new(market: &Market, spec: Spec) -> Round {
        let dir = market.dir().join(format!("round-{}", spec.id));
        fs::create_dir_all(dir.join("keys")).expect("the round's folder");
        fs::create_dir_all(dir.join("receipts")).expect("the receipts folder");
        fs::write(dir.join("keys").join("buyer.key"), key_file(&market.buyer))
            .expect("the buyer's key file");
        for member in &spec.members {
            fs::write(
                dir.join("keys").join(format!("{}.key", member.id)),
                key_file(&member.key),
            )
            .expect("a key file");
        }
        Round {
            spec,
            buyer: market.buyer.clone(),
            dir,
            got: Mutex::new(Vec::new()),
            files: AtomicUsize::new(0),
        }
    }

    pub(crate) fn id(&self) -> &str {
        &self.spec.id
    }

    fn entries_path(&self) -> String {
        format!("/v1/rounds/{}/entries", self.spec.id)
    }

    fn next_file(&self, stem: &str) -> PathBuf {
        let n = self.files.fetch_add(1, Ordering::Relaxed);
        self.dir.join(format!("{n:04}-{stem}"))
    }

    /// Every receipt got so far.
    pub(crate) fn receipts(&self) -> Vec<Got> {
        self.got
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn keep(&self, what: &str, receipt: &Value, sent_leaf: Option<String>, file: Option<PathBuf>) {
        let receipt: Receipt = serde_json::from_value(receipt.clone())
            .unwrap_or_else(|error| panic!("{what}: not a receipt ({error}): {receipt}"));
        if let Some(leaf) = &sent_leaf {
            assert_eq!(
                &receipt.leaf_hash, leaf,
                "{what}: the receipt's leaf hash is not the sent envelope's"
            );
        }
        let file = file.unwrap_or_else(|| {
            let file = self.receipts_dir().join(format!(
                "{}-{}.json",
                self.files.fetch_add(1, Ordering::Relaxed),
                receipt.index
            ));
            fs::write(&file, serde_json::to_vec_pretty(&receipt).expect("JSON"))
                .expect("a receipt file");
            file
        });
        self.got
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(Got {
                what: what.to_owned(),
                receipt,
                sent_leaf,
                file,
            });
    }

    fn receipts_dir(&self) -> PathBuf {
        self.dir.join("receipts")
    }

    /// Keeps the receipts of a 201 answer: the entry's and the operator's
    /// under `then`.
    pub(crate) fn keep_answer(&self, what: &str, mut body: Value, sent: &Envelope) {
        let then = body.as_object_mut().and_then(|o| o.remove("then"));
        let receipt = body.get("receipt").cloned().unwrap_or(body);
        self.keep(what, &receipt, Some(leaf_hex(sent)), None);
        if let Some(then) = then {
            self.keep(&format!("{what}: then"), &then, None, None);
        }
    }

    /// Posts an entry; keeps its receipts on 201.
    pub(crate) fn send(
        &self,
        client: &Client,
        what: &str,
        envelope: &Envelope,
    ) -> Result<Value, Refused> {
        let path = if envelope.kind() == Kind::Open {
            "/v1/rounds".to_owned()
        } else {
            self.entries_path()
        };
        match client.call("POST", &path, Some(envelope.leaf_bytes().as_bytes())) {
            Ok(answer) if answer.status == 201 => {
                let body = answer.json();
                self.keep_answer(what, body.clone(), envelope);
                Ok(body)
            }
            Ok(answer) => Err(Refused::Status(answer.status, answer.text())),
            Err(error) => Err(Refused::NoAnswer(error)),
        }
    }

    /// Posts an entry that must be accepted.
    pub(crate) fn accept(&self, client: &Client, what: &str, envelope: &Envelope) -> Value {
        self.send(client, what, envelope)
            .unwrap_or_else(|refused| panic!("{}: {what}: {refused:?}", self.spec.id))
    }

    /// Runs `procura market ARGS --server … --key KEY --receipts DIR` for
    /// `signer` (a member id or `buyer`); keeps the receipts it printed,
    /// checking the entry's against `envelope`, the envelope the test would
    /// have signed.
    fn cli(&self, client: &Client, signer: &str, args: &[&str], envelope: &Envelope) -> Value {
        let what = format!("procura market {} ({signer})", args.join(" "));
        let receipts = self.dir.join(format!("cli-receipts-{signer}"));
        let output = run(
            procura()
                .arg("market")
                .args(args)
                .args(["--server", &client.base(), "--key"])
                .arg(self.dir.join("keys").join(format!("{signer}.key")))
                .arg("--receipts")
                .arg(&receipts),
            &what,
        );
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let mut files = stdout.lines().filter_map(|line| {
            line.split_once("receipt in ")
                .map(|(_, path)| PathBuf::from(path))
        });
        let first = files
            .next()
            .unwrap_or_else(|| panic!("{what}: no receipt printed: {stdout}"));
        let read = |file: &Path| -> Value {
            serde_json::from_slice(&fs::read(file).expect("the receipt file")).expect("JSON")
        };
        let receipt = read(&first);
        // A close's receipt file holds its own receipt only; the operator's
        // entry that follows has a file of its own.
        assert!(
            receipt.get("then").is_none(),
            "{what}: the receipt file {} holds `then`",
            first.display()
        );
        self.keep(&what, &receipt, Some(leaf_hex(envelope)), Some(first));
        let mut answer = receipt;
        if let Some(then) = files.next() {
            let then_receipt = read(&then);
            self.keep(&format!("{what}: then"), &then_receipt, None, Some(then));
            answer["then"] = then_receipt;
        }
        answer
    }

    /// Opens the round as its buyer.
    pub(crate) fn open(&self, client: &Client, via: Via) {
        let envelope = Envelope::sign(Kind::Open, self.spec.open_payload(), &self.buyer);
        match via {
            Via::Library => {
                let body = self.accept(client, "open", &envelope);
                assert_eq!(body["round"], json!(self.spec.id));
            }
            Via::Cli => {
                let file = self.next_file("open.json");
                fs::write(&file, self.spec.open_payload()).expect("the open payload file");
                let file = file.to_string_lossy().into_owned();
                self.cli(client, "buyer", &["open", &file], &envelope);
            }
        }
    }

    /// Closes `phase` as the buyer; returns the answer (with `then`).
    pub(crate) fn close(&self, client: &Client, phase: ClosedPhase, via: Via) -> Value {
        let envelope = self.spec.close_envelope(phase, &self.buyer);
        let what = format!("close {}", phase.name());
        match via {
            Via::Library => self.accept(client, &what, &envelope),
            Via::Cli => self.cli(
                client,
                "buyer",
                &["close", "--round", self.id(), "--phase", phase.name()],
                &envelope,
            ),
        }
    }

    fn report_args(member: &Member) -> Vec<String> {
        match member.report {
            Report::Bid {
                bid,
                claimed_quality,
            } => {
                let mut args = vec!["--bid".to_owned(), bid.to_string()];
                if let Some(claimed) = claimed_quality {
                    args.extend(["--claimed-quality".to_owned(), claimed.to_string()]);
                }
                args
            }
            Report::Cost(cost) => vec!["--cost".to_owned(), cost.to_string()],
        }
    }

    /// Commits (`Kind::Commit`) or reveals (`Kind::Reveal`) for one
    /// member, through its own channel.
    pub(crate) fn report(&self, client: &Client, member: &Member, kind: Kind) {
        let envelope = match kind {
            Kind::Commit => self.spec.commit_envelope(member),
            _ => self.spec.reveal_envelope(member),
        };
        if member.cli {
            let mut args = vec![
                kind.name().to_owned(),
                "--round".to_owned(),
                self.spec.id.clone(),
                "--id".to_owned(),
                member.id.clone(),
            ];
            args.extend(Round::report_args(member));
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            self.cli(client, &member.id, &args, &envelope);
        } else {
            self.accept(client, &format!("{} {}", kind.name(), member.id), &envelope);
        }
    }

    /// Every listed member commits or reveals at once, each from its own
    /// thread, released together by a barrier.
    pub(crate) fn report_all(&self, client: &Client, ids: &[String], kind: Kind) {
        let barrier = Barrier::new(ids.len());
        std::thread::scope(|scope| {
            for id in ids {
                let member = self.spec.member(id);
                let (client, barrier) = (client.clone(), &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    self.report(&client, member, kind);
                });
            }
        });
    }

    /// One decision, through the member's channel.
    pub(crate) fn decide(&self, client: &Client, id: &str, decision: Decision) {
        let member = self.spec.member(id);
        let envelope = self.spec.decide_envelope(member, decision);
        if member.cli {
            self.cli(
                client,
                id,
                &[
                    "decide",
                    "--round",
                    self.id(),
                    "--id",
                    id,
                    "--decision",
                    decision.name(),
                ],
                &envelope,
            );
        } else {
            self.accept(client, &format!("decide {id}"), &envelope);
        }
    }

    /// The round's status.
    pub(crate) fn status(&self, client: &Client) -> Value {
        client.get_json(&format!("/v1/rounds/{}", self.spec.id))
    }

    /// The ids a status lists under `field` (`committed`, `revealed`,
    /// `decided`).
    pub(crate) fn listed(&self, client: &Client, field: &str) -> BTreeSet<String> {
        self.status(client)[field]
            .as_array()
            .unwrap_or_else(|| panic!("status.{field}"))
            .iter()
            .map(|id| id.as_str().expect("an id").to_owned())
            .collect()
    }

    /// Checks the served outcome against `procura clear` on the instance
    /// formed by the members who revealed (which must be `revealed`),
    /// byte for byte; returns it.
    pub(crate) fn check_outcome(&self, client: &Client, revealed: &[String]) -> Value {
        let listed = self.listed(client, "revealed");
        let expected: BTreeSet<String> = revealed.iter().cloned().collect();
        assert_eq!(listed, expected, "{}: the revealed ids", self.spec.id);
        let file = self.next_file("cleared-instance.json");
        fs::write(
            &file,
            serde_json::to_vec_pretty(&self.spec.cleared_instance(revealed)).expect("JSON"),
        )
        .expect("the instance file");
        let cleared = run(
            procura()
                .arg("clear")
                .arg(&file)
                .args(["--mechanism", &self.spec.mechanism]),
            "procura clear",
        );
        let served = client.get(&format!("/v1/rounds/{}/outcome", self.spec.id));
        assert_eq!(
            served.status,
            200,
            "{}: outcome: {}",
            self.spec.id,
            served.text()
        );
        assert!(
            served.body == cleared.stdout,
            "{}: GET outcome is not `procura clear`'s output byte for byte\nserved:\n{}\n\
             procura clear:\n{}",
            self.spec.id,
            served.text(),
            String::from_utf8_lossy(&cleared.stdout)
        );
        served.json()
    }

    /// Saves the served transcript and runs `procura verify FILE
    /// --receipt …` with every receipt got (exit 0: the transcript
    /// verifies and each receipt's entry is in it, with a checkpoint
    /// consistent with the transcript's); checks too that each receipt's
    /// entry is at its index with its leaf hash, and that this hash is the
    /// sent envelope's.
    pub(crate) fn verify(&self, client: &Client) -> Checked {
        let answer = client.get(&format!("/v1/rounds/{}/transcript", self.spec.id));
        assert_eq!(answer.status, 200, "transcript: {}", answer.text());
        let file = self.next_file("transcript.json");
        fs::write(&file, &answer.body).expect("the transcript file");
        let got = self.receipts();
        assert!(!got.is_empty(), "{}: no receipts", self.spec.id);
        // `procura verify` runs while the entries are checked here.
        let mut command = procura();
        command.arg("verify").arg(&file);
        for got in &got {
            command.arg("--receipt").arg(&got.file);
        }
        let child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("procura verify runs");
        let transcript: Transcript = serde_json::from_slice(&answer.body).expect("a transcript");
        for got in &got {
            let at = usize::try_from(got.receipt.index).expect("an index");
            let entry = transcript
                .entries
                .get(at)
                .unwrap_or_else(|| panic!("{}: entry {at} is missing", got.what));
            let leaf = match entry.get("leaf_hash") {
                Some(sealed) => sealed.as_str().expect("a sealed leaf hash").to_owned(),
                None => leaf_hex(&Envelope::from_value(entry.clone()).expect("an envelope")),
            };
            assert_eq!(leaf, got.receipt.leaf_hash, "{}: entry {at}", got.what);
            if let Some(sent) = &got.sent_leaf {
                assert_eq!(
                    &leaf, sent,
                    "{}: entry {at} is not the sent envelope",
                    got.what
                );
            }
        }
        let output = child.wait_with_output().expect("procura verify ends");
        let summary = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success()
                && summary.starts_with(&format!("valid: round {},", self.spec.id))
                && summary.ends_with(&format!("receipts: {} checked\n", got.len())),
            "procura verify {}: exit {:?}\nstdout: {summary}\nstderr: {}",
            file.display(),
            output.status.code(),
            String::from_utf8_lossy(&output.stderr)
        );
        Checked {
            transcript,
            summary,
        }
    }

    /// The assigned users (amount > 0) of a threshold outcome in the order
    /// they may decide: ascending (amount, id) under small-first,
    /// descending under large-first, assignment order otherwise.
    pub(crate) fn decision_order(outcome: &Value, protocol: &str) -> Vec<String> {
        let mut assigned: Vec<(f64, String)> = outcome["assignments"]
            .as_array()
            .expect("assignments")
            .iter()
            .map(|a| {
                (
                    a["amount"].as_f64().expect("amount"),
                    a["id"].as_str().expect("id").to_owned(),
                )
            })
            .filter(|(amount, _)| *amount > 0.0)
            .collect();
        match protocol {
            "small-first" => assigned.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1))),
            "large-first" => assigned.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1))),
            _ => {}
        }
        assigned.into_iter().map(|(_, id)| id).collect()
    }

    /// Checks the settle entry, the last of a verified transcript,
    /// against what §C.3 derives from the outcome and the stayers, number
    /// for number.
    pub(crate) fn check_settle(&self, checked: &Checked, outcome: &Value, stayed: &[String]) {
        let stayers: Vec<SettlePayment> = outcome["assignments"]
            .as_array()
            .expect("assignments")
            .iter()
            .filter(|a| a["amount"].as_f64().expect("amount") > 0.0)
            .filter(|a| stayed.iter().any(|id| a["id"] == json!(id)))
            .map(|a| SettlePayment {
                id: a["id"].as_str().expect("id").to_owned(),
                amount: a["amount"].as_f64().expect("amount"),
                payment: a["payment"].as_f64().expect("payment"),
            })
            .collect();
        let collected = stayers.iter().fold(0.0, |sum, s| sum + s.amount);
        // Numerics: a sum reaches T when it is at least T·(1 − 1e-9).
        let trained = collected >= THRESHOLD * (1.0 - 1e-9);
        let expected = SettlePayload {
            round: self.spec.id.clone(),
            trained,
            collected,
            payments: if trained { stayers } else { Vec::new() },
        };
        assert!(
            checked.summary.contains(", phase settled,"),
            "{}: {}",
            self.spec.id,
            checked.summary
        );
        let last = checked.transcript.entries.last().expect("entries");
        let settle = Envelope::from_value(last.clone()).expect("the settle envelope");
        assert_eq!(
            settle.kind(),
            Kind::Settle,
            "{}: the last entry",
            self.spec.id
        );
        assert_eq!(
            settle.signer().to_string(),
            checked.transcript.operator,
            "{}: the settle entry's signer",
            self.spec.id
        );
        let payload: SettlePayload =
            serde_json::from_slice(settle.payload()).expect("a settle payload");
        assert_eq!(payload, expected, "{}: the settle entry", self.spec.id);
    }
}

/// A transcript that `procura verify` accepted, and its summary.
#[derive(Debug)]
pub(crate) struct Checked {
    pub(crate) transcript: Transcript,
    pub(crate) summary: String,
}

/// Entries sent from several threads ("lanes", each in its order) while
/// the server is SIGKILLed once `kill_after` receipts have come back.
/// Returns how many entries got a receipt and how many got none.
pub(crate) fn send_then_crash(
    server: Server,
    lanes: Vec<Vec<(&Round, String, Envelope)>>,
    kill_after: usize,
) -> (usize, usize) {
    let client = server.client();
    let (received, failed, finished) = (
        AtomicUsize::new(0),
        AtomicUsize::new(0),
        AtomicUsize::new(0),
    );
    let lanes_count = lanes.len();
    let barrier = Barrier::new(lanes_count + 1);
    std::thread::scope(|scope| {
        for lane in lanes {
            let (client, barrier) = (client.clone(), &barrier);
            let (received, failed, finished) = (&received, &failed, &finished);
            scope.spawn(move || {
                barrier.wait();
                for (round, what, envelope) in lane {
                    match round.send(&client, &what, &envelope) {
                        Ok(_) => received.fetch_add(1, Ordering::SeqCst),
                        Err(Refused::NoAnswer(error)) => {
                            if failed.fetch_add(1, Ordering::SeqCst) == 0 {
                                eprintln!("the first request without an answer: {error}");
                            }
                            0
                        }
                        Err(Refused::Status(status, body)) => {
                            panic!("{what}: refused with {status} before the crash: {body}")
                        }
                    };
                }
                finished.fetch_add(1, Ordering::SeqCst);
            });
        }
        barrier.wait();
        let start = Instant::now();
        while received.load(Ordering::SeqCst) < kill_after
            && finished.load(Ordering::SeqCst) < lanes_count
            && start.elapsed() < REQUEST_TIMEOUT
        {
            std::thread::sleep(Duration::from_micros(200));
        }
        server.crash();
    });
    (received.into_inner(), failed.into_inner())
}

// ---------------------------------------------------------------------------
// Searching for sealed values

/// A value that must not be found, in one encoding.
#[derive(Debug, Clone)]
pub(crate) struct Needle {
    pub(crate) label: String,
    pub(crate) bytes: Vec<u8>,
}

/// Every encoding of a member's sealed report searched for: the decimal
/// text as the client writes it (serde_json), its hex, the base64 of the
/// reveal payload, base64 of the text at every alignment, the raw eight
/// bytes of the double in both byte orders and their hex; the same for a
/// claimed quality; and the reveal nonce in hex.
pub(crate) fn needles(spec: &Spec, member: &Member) -> Vec<Needle> {
    let mut out = Vec::new();
    let mut add = |label: String, bytes: Vec<u8>| out.push(Needle { label, bytes });
    let id = &member.id;
    let mut numbers = Vec::new();
    match member.report {
        Report::Bid {
            bid,
            claimed_quality,
        } => {
            numbers.push(("bid", bid));
            if let Some(claimed) = claimed_quality {
                numbers.push(("claimed_quality", claimed));
            }
        }
        Report::Cost(cost) => numbers.push(("cost", cost)),
    }
    let payload = spec.reveal_payload(member);
    for (name, value) in numbers {
        let text = serde_json::to_string(&value).expect("a finite number");
        assert!(
            String::from_utf8_lossy(&payload).contains(&format!("\"{name}\":{text}")),
            "the reveal payload writes {name} as {text}"
        );
        add(
            format!("{id} {name} as text {text}"),
            text.clone().into_bytes(),
        );
        add(
            format!("{id} {name} as hex text"),
            hex(text.as_bytes()).into_bytes(),
        );
        add(
            format!("{id} {name} as HEX text"),
            hex(text.as_bytes()).to_uppercase().into_bytes(),
        );
        for offset in 0..3 {
            add(
                format!("{id} {name} in base64 at offset {offset}"),
                base64_core(text.as_bytes(), offset).into_bytes(),
            );
        }
        for (order, bytes) in [("LE", value.to_le_bytes()), ("BE", value.to_be_bytes())] {
            add(format!("{id} {name} as f64 {order} bytes"), bytes.to_vec());
            add(
                format!("{id} {name} as f64 {order} hex"),
                hex(&bytes).into_bytes(),
            );
        }
    }
    add(
        format!("{id} reveal payload in base64"),
        base64(&payload).into_bytes(),
    );
    add(
        format!("{id} reveal nonce in hex"),
        spec.nonce_hex(member).into_bytes(),
    );
    out
}

/// Where each needle is found in each haystack: "label in place".
pub(crate) fn find_needles(needles: &[Needle], haystacks: &[(String, Vec<u8>)]) -> Vec<String> {
    let mut found = Vec::new();
    for (place, haystack) in haystacks {
        for needle in needles {
            if haystack
                .windows(needle.bytes.len())
                .any(|window| window == needle.bytes.as_slice())
            {
                found.push(format!("{} in {place}", needle.label));
            }
        }
    }
    found
}

// ---------------------------------------------------------------------------
// PostgreSQL

/// A fresh schema on `PROCURA_TEST_POSTGRES`, dropped when this is
/// dropped; `None` (after printing the plain message) when the variable is
/// not set.
pub(crate) struct Schema {
    base: String,
    name: String,
    /// The URL that puts the server's tables in this schema.
    pub(crate) url: String,
}

impl Schema {
    pub(crate) fn create(test: &str) -> Option<Schema> {
        let Ok(base) = std::env::var("PROCURA_TEST_POSTGRES") else {
            println!("skipped: PROCURA_TEST_POSTGRES is not set");
            return None;
        };
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("the clock")
            .as_nanos();
        let name = format!("procura_e2e_{test}_{}_{nanos}", std::process::id());
        postgres_exec(&base, &format!("CREATE SCHEMA {name}"))
            .unwrap_or_else(|error| panic!("PROCURA_TEST_POSTGRES={base}: {error}"));
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}options=-c%20search_path%3D{name}");
        Some(Schema { base, name, url })
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        if let Err(error) = postgres_exec(&self.base, &format!("DROP SCHEMA {} CASCADE", self.name))
        {
            eprintln!("dropping schema {}: {error}", self.name);
        }
    }
}

/// Runs one statement on a PostgreSQL URL `postgres://USER[:PASSWORD]@HOST
/// [:PORT]/DB` with the simple-query protocol (trust or cleartext password
/// authentication); falls back to `psql` for other methods.
pub(crate) fn postgres_exec(url: &str, sql: &str) -> Result<(), String> {
    match wire_exec(url, sql) {
        Err(error) if error.starts_with("authentication method") => {
            let output = Command::new("psql")
                .args([
                    url.split('?').next().unwrap_or(url),
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-c",
                    sql,
                ])
                .output()
                .map_err(|e| format!("{error}; psql: {e}"))?;
            if output.status.success() {
                Ok(())
            } else {
                Err(format!(
                    "{error}; psql: {}",
                    String::from_utf8_lossy(&output.stderr)
                ))
            }
        }
        other => other,
    }
}

fn wire_exec(url: &str, sql: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
        .ok_or("not a postgres:// URL")?;
    let rest = rest.split('?').next().unwrap_or(rest);
    let (userinfo, rest) = rest.split_once('@').unwrap_or(("postgres", rest));
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let (host, database) = rest.split_once('/').unwrap_or((rest, user));
    let host = if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:5432")
    };
    let mut stream = TcpStream::connect(&host).map_err(|e| format!("connecting to {host}: {e}"))?;
    stream
        .set_read_timeout(Some(REQUEST_TIMEOUT))
        .map_err(|e| e.to_string())?;
    let mut body = 196_608u32.to_be_bytes().to_vec();
    for (key, value) in [("user", user), ("database", database)] {
        body.extend_from_slice(key.as_bytes());
        body.push(0);
        body.extend_from_slice(value.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut startup = u32::try_from(body.len() + 4)
        .expect("short")
        .to_be_bytes()
        .to_vec();
    startup.extend_from_slice(&body);
    stream.write_all(&startup).map_err(|e| e.to_string())?;
    let message = |tag: u8, body: &[u8]| {
        let mut out = vec![tag];
        out.extend_from_slice(&u32::try_from(body.len() + 4).expect("short").to_be_bytes());
        out.extend_from_slice(body);
        out
    };
    let mut sent_query = false;
    let mut error = None;
    loop {
        let mut head = [0u8; 5];
        stream
            .read_exact(&mut head)
            .map_err(|e| format!("reading from PostgreSQL: {e}"))?;
        let length = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
        let mut body = vec![0u8; length.saturating_sub(4)];
        stream
            .read_exact(&mut body)
            .map_err(|e| format!("reading from PostgreSQL: {e}"))?;
        match head[0] {
            b'R' => match body
                .get(..4)
                .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            {
                Some(0) => {}
                Some(3) => {
                    let mut password = password.as_bytes().to_vec();
                    password.push(0);
                    stream
                        .write_all(&message(b'p', &password))
                        .map_err(|e| e.to_string())?;
                }
                other => return Err(format!("authentication method {other:?} is not supported")),
            },
            b'E' => {
                let text: String = body
                    .split(|b| *b == 0)
                    .filter(|field| field.first() == Some(&b'M'))
                    .map(|field| String::from_utf8_lossy(&field[1..]).into_owned())
                    .collect();
                if !sent_query {
                    return Err(format!("PostgreSQL: {text}"));
                }
                error = Some(text);
            }
            b'Z' => {
                if sent_query {
                    let _ = stream.write_all(&message(b'X', &[]));
                    return error.map_or(Ok(()), |text| Err(format!("PostgreSQL: {sql}: {text}")));
                }
                let mut query = sql.as_bytes().to_vec();
                query.push(0);
                stream
                    .write_all(&message(b'Q', &query))
                    .map_err(|e| e.to_string())?;
                sent_query = true;
            }
            _ => {}
        }
    }
}
