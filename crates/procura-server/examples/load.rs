//! A bounded load generator for `procura serve` (issue 11; the figures of
//! BENCHMARKS.md, "Live market server under load"):
//!
//! ```text
//! cargo build --release                                   # target/release/procura
//! cargo build --release -p procura-server --examples      # target/release/examples/load
//! target/release/examples/load --procura target/release/procura --db sqlite \
//!     --providers 20000 --clients 64
//! target/release/examples/load --procura target/release/procura \
//!     --db postgres://postgres@127.0.0.1:5432/test --providers 100000
//! ```
//!
//! It starts the release binary `procura serve` as **a separate process**
//! on 127.0.0.1 (its own tokio runtime, sharing the machine's cores with
//! this generator), opens one Q-MIA round of N providers (keys derived
//! from the provider's index, so the same N gives the same envelopes),
//! signs every envelope before any timing, then sends every commit from C
//! concurrent clients (one keep-alive HTTP/1.1 connection each, hyper's
//! connection-level client on a tokio runtime), closes the commit phase,
//! sends every reveal the same way and closes the reveal phase (the server
//! clears the round and appends its outcome). Each request is timed from
//! just before it is sent to the last byte of its receipt. It then
//! fetches the transcript, writes it to a file, times `procura verify` on
//! it, and measures two peers in the same run (the server stopped by
//! then): the same commits appended to a `RoundLog` in memory on one
//! thread (the rules' CPU cost, no HTTP, no storage), and durable
//! single-row commits to the same database (one transaction per row, the
//! cost group commit avoids).
//!
//! With `--db postgres://…` a fresh schema is created for the run and
//! dropped after. With `--db sqlite` a fresh database file is made in a
//! temporary folder. Every count and time is bounded (see `usage`); the
//! whole run stops at `--deadline`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{header, Method, Request};
use hyper_util::rt::TokioIo;
use procura_market::envelope::{Envelope, KeyId, Kind};
use procura_market::payload::{
    close_bytes, commit_bytes, commitment, derive_nonce, reveal_bytes, ClosedPhase, Report, RoundId,
};
use procura_market::RoundLog;
use serde_json::json;

const USAGE: &str = "\
usage: load --procura PATH [options]
  --procura PATH       the release `procura` binary (started as `procura serve`)
  --db DB              sqlite (a fresh file in a temporary folder), sqlite://PATH
                       (a new file), or postgres://USER@HOST:PORT/DB (a fresh schema,
                       dropped after); default sqlite
  --providers N        providers in the round, 1..=200000; default 10000
  --clients C          concurrent clients (keep-alive connections), 1..=256; default 64
  --client-threads T   tokio worker threads of this generator, 1..=4; default 1
  --verify-runs R      times `procura verify` runs on the transcript, 0..=20; default 3
  --peer-seconds S     seconds of single-row commits for the storage peer, 0..=60;
                       default 5 (0: no storage peer)
  --peer-appends M     commits appended offline for the CPU peer, 0..=200000;
                       default 20000
  --transcript FILE    where the transcript goes; default DIR/transcript.json
  --dir DIR            a folder for the key, the server's log and the SQLite file;
                       default a new temporary folder (removed at the end)
  --perf FILE          run `perf record -g` on the server during the commit and
                       reveal phases, writing FILE
  --deadline S         stop everything after S seconds, 10..=3600; default 900
  --request-timeout S  a request without an answer after S seconds fails, 1..=600;
                       default 60";

/// The parsed, bounded arguments.
#[derive(Debug)]
struct Args {
    procura: PathBuf,
    db: String,
    providers: usize,
    clients: usize,
    client_threads: usize,
    verify_runs: usize,
    peer_seconds: u64,
    peer_appends: usize,
    transcript: Option<PathBuf>,
    dir: Option<PathBuf>,
    perf: Option<PathBuf>,
    deadline: Duration,
    request_timeout: Duration,
}

fn bounded<T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy>(
    flag: &str,
    value: &str,
    low: T,
    high: T,
) -> Result<T, String> {
    let parsed: T = value
        .parse()
        .map_err(|_| format!("{flag}: {value:?} is not a number"))?;
    if parsed < low || parsed > high {
        return Err(format!("{flag}: {value} is not in {low}..={high}"));
    }
    Ok(parsed)
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        procura: PathBuf::new(),
        db: "sqlite".into(),
        providers: 10_000,
        clients: 64,
        client_threads: 1,
        verify_runs: 3,
        peer_seconds: 5,
        peer_appends: 20_000,
        transcript: None,
        dir: None,
        perf: None,
        deadline: Duration::from_secs(900),
        request_timeout: Duration::from_secs(60),
    };
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let mut at = 0;
    while at < raw.len() {
        let flag = raw[at].as_str();
        if flag == "--help" || flag == "-h" {
            return Err(String::new());
        }
        let value = raw
            .get(at + 1)
            .ok_or_else(|| format!("{flag}: a value is missing"))?;
        match flag {
            "--procura" => args.procura = PathBuf::from(value),
            "--db" => args.db.clone_from(value),
            "--providers" => args.providers = bounded(flag, value, 1, 200_000)?,
            "--clients" => args.clients = bounded(flag, value, 1, 256)?,
            "--client-threads" => args.client_threads = bounded(flag, value, 1, 4)?,
            "--verify-runs" => args.verify_runs = bounded(flag, value, 0, 20)?,
            "--peer-seconds" => args.peer_seconds = bounded(flag, value, 0, 60)?,
            "--peer-appends" => args.peer_appends = bounded(flag, value, 0, 200_000)?,
            "--transcript" => args.transcript = Some(PathBuf::from(value)),
            "--dir" => args.dir = Some(PathBuf::from(value)),
            "--perf" => args.perf = Some(PathBuf::from(value)),
            "--deadline" => {
                args.deadline = Duration::from_secs(bounded(flag, value, 10, 3600)?);
            }
            "--request-timeout" => {
                args.request_timeout = Duration::from_secs(bounded(flag, value, 1, 600)?);
            }
            _ => return Err(format!("{flag}: no such option")),
        }
        at += 2;
    }
    if args.procura.as_os_str().is_empty() {
        return Err("--procura: the path of the release `procura` binary is required".into());
    }
    if !(args.db == "sqlite" || args.db.starts_with("sqlite:") || args.db.starts_with("postgres")) {
        return Err(format!(
            "--db: {:?} is not sqlite, sqlite://PATH or postgres://…",
            args.db
        ));
    }
    Ok(args)
}

/// The key of provider `index` (and of the buyer, `u64::MAX`).
fn key(index: u64) -> SigningKey {
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&index.to_le_bytes());
    seed[31] = 0x6c;
    SigningKey::from_bytes(&seed)
}

/// `f(0..n)` on `threads` threads, in order.
fn par_map<T: Send>(n: usize, threads: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let chunk = n.div_ceil(threads.max(1)).max(1);
    std::thread::scope(|scope| {
        let f = &f;
        let handles: Vec<_> = (0..n)
            .step_by(chunk)
            .map(|start| scope.spawn(move || (start..(start + chunk).min(n)).map(f).collect()))
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| -> Vec<T> { handle.join().expect("a signing thread") })
            .collect()
    })
}

/// Every envelope of the round, signed before any timing.
struct Workload {
    round: RoundId,
    open: Envelope,
    commits: Vec<Envelope>,
    close_commit: Envelope,
    reveals: Vec<Envelope>,
    close_reveal: Envelope,
}

fn workload(n: usize) -> Result<Workload, String> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let buyer = key(u64::MAX);
    let round = RoundId::parse("load").map_err(|e| e.to_string())?;
    let id = |i: usize| format!("p{i}");
    let keys: Vec<SigningKey> = par_map(n, threads, |i| key(i as u64));
    let roster: Vec<serde_json::Value> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| {
            let x = (i % 97) as f64 / 97.0;
            json!({"id": id(i), "key": KeyId::of(&key.verifying_key()).to_string(),
                   "quality": 0.5 + x / 2.0, "utility": 1.0 + x})
        })
        .collect();
    let open = json!({"round": round.as_str(), "mechanism": "qmia",
                      "instance": {"budget": n as f64, "token_budget": n as f64 / 2.0},
                      "roster": roster});
    let open = Envelope::sign(Kind::Open, open.to_string().into_bytes(), &buyer);
    let pairs: Vec<(Envelope, Envelope)> = par_map(n, threads, |i| {
        let x = ((i * 7919) % 1000) as f64 / 1000.0;
        let report = Report::Bid {
            bid: 0.1 + x,
            claimed_quality: None,
        };
        let nonce = derive_nonce(keys[i].as_bytes(), &round, &id(i));
        let reveal = reveal_bytes(&round, &id(i), report, &nonce);
        let commit = commit_bytes(&round, &id(i), &commitment(&reveal));
        (
            Envelope::sign(Kind::Commit, commit, &keys[i]),
            Envelope::sign(Kind::Reveal, reveal, &keys[i]),
        )
    });
    let (commits, reveals) = pairs.into_iter().unzip();
    let close = |phase| Envelope::sign(Kind::Close, close_bytes(&round, phase), &buyer);
    Ok(Workload {
        open,
        commits,
        close_commit: close(ClosedPhase::Commit),
        reveals,
        close_reveal: close(ClosedPhase::Reveal),
        round,
    })
}

/// One keep-alive connection.
type Conn = SendRequest<Full<Bytes>>;

async fn connect(address: SocketAddr) -> Result<Conn, String> {
    let stream = tokio::net::TcpStream::connect(address)
        .await
        .map_err(|e| format!("connecting to {address}: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("HTTP handshake: {e}"))?;
    tokio::spawn(async move {
        // Ends when the sender is dropped or the server closes.
        let _ = connection.await;
    });
    Ok(sender)
}

/// One request on `conn`: the status and the whole body.
async fn call(
    conn: &mut Conn,
    method: Method,
    path: &str,
    body: Bytes,
    timeout: Duration,
) -> Result<(u16, Bytes), String> {
    let exchange = async {
        conn.ready().await.map_err(|e| format!("connection: {e}"))?;
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, "127.0.0.1")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(body))
            .map_err(|e| e.to_string())?;
        let response = conn
            .send_request(request)
            .await
            .map_err(|e| format!("{path}: {e}"))?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("{path}: reading the body: {e}"))?
            .to_bytes();
        Ok((status, body))
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| format!("{path}: no answer within {timeout:?}"))?
}

/// What one phase of many requests gave.
#[derive(Debug, Default)]
struct Phase {
    sent: usize,
    accepted: usize,
    /// Time to receipt of every accepted request, in microseconds, sorted.
    latencies: Vec<u32>,
    wall: Duration,
    /// CPU seconds the server and this generator spent during the phase.
    server_cpu: f64,
    client_cpu: f64,
    /// The first few refusals or errors.
    errors: Vec<String>,
}

/// CPU seconds (user + system) a process has used so far, from
/// `/proc/PID/stat` (clock ticks of 1/100 s).
fn cpu_seconds(pid: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return f64::NAN;
    };
    // The fields after the command name, which is in parentheses.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |at: usize| fields.get(at).and_then(|f| f.parse::<f64>().ok());
    match (ticks(11), ticks(12)) {
        (Some(user), Some(system)) => (user + system) / 100.0,
        _ => f64::NAN,
    }
}

impl Phase {
    fn rate(&self) -> f64 {
        self.accepted as f64 / self.wall.as_secs_f64().max(1e-9)
    }

    /// Nearest-rank percentile, in milliseconds.
    fn percentile(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * self.latencies.len() as f64).ceil() as usize;
        f64::from(self.latencies[rank.clamp(1, self.latencies.len()) - 1]) / 1000.0
    }
}

/// Sends every body from `conns.len()` clients, each taking the next
/// unsent body; returns the connections for the next phase.
async fn phase(
    server_pid: u32,
    conns: Vec<Conn>,
    path: &str,
    bodies: Arc<Vec<Bytes>>,
    timeout: Duration,
    deadline: Instant,
) -> (Vec<Conn>, Phase) {
    let next = Arc::new(AtomicUsize::new(0));
    let path: Arc<str> = path.into();
    let server_pid = server_pid.to_string();
    let cpu = (cpu_seconds(&server_pid), cpu_seconds("self"));
    let start = Instant::now();
    let tasks: Vec<_> = conns
        .into_iter()
        .map(|mut conn| {
            let (next, path, bodies) = (Arc::clone(&next), Arc::clone(&path), Arc::clone(&bodies));
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(bodies.len() / 32 + 16);
                let mut errors = Vec::new();
                let mut sent = 0;
                let mut alive = true;
                loop {
                    let at = next.fetch_add(1, Ordering::Relaxed);
                    let Some(body) = bodies.get(at) else { break };
                    if Instant::now() > deadline {
                        errors.push("the deadline passed".to_owned());
                        break;
                    }
                    sent += 1;
                    let sent_at = Instant::now();
                    let answer = call(&mut conn, Method::POST, &path, body.clone(), timeout).await;
                    let micros = sent_at.elapsed().as_micros();
                    match answer {
                        Ok((201, _)) => latencies.push(u32::try_from(micros).unwrap_or(u32::MAX)),
                        Ok((status, body)) => errors.push(format!(
                            "entry {at}: {status} {}",
                            String::from_utf8_lossy(&body)
                        )),
                        Err(error) => {
                            errors.push(format!("entry {at}: {error}"));
                            alive = false;
                            break;
                        }
                    }
                }
                (
                    alive.then_some(conn),
                    sent,
                    latencies,
                    errors,
                    Instant::now(),
                )
            })
        })
        .collect();
    let mut result = Phase::default();
    let mut conns = Vec::new();
    let mut last = start;
    for task in tasks {
        let Ok((conn, sent, latencies, errors, done)) = task.await else {
            result.errors.push("a client task panicked".into());
            continue;
        };
        conns.extend(conn);
        result.sent += sent;
        result.accepted += latencies.len();
        result.latencies.extend(latencies);
        result.errors.extend(errors);
        last = last.max(done);
    }
    result.wall = last - start;
    result.server_cpu = cpu_seconds(&server_pid) - cpu.0;
    result.client_cpu = cpu_seconds("self") - cpu.1;
    result.latencies.sort_unstable();
    result.errors.truncate(5);
    (conns, result)
}

/// One request that must be answered 201 (or 200 for a GET).
async fn single(
    conn: &mut Conn,
    method: Method,
    path: &str,
    body: Bytes,
    timeout: Duration,
) -> Result<(Bytes, Duration), String> {
    let start = Instant::now();
    let (status, body) = call(conn, method, path, body, timeout).await?;
    if !(status == 201 || status == 200) {
        return Err(format!(
            "{path}: {status} {}",
            String::from_utf8_lossy(&body)
        ));
    }
    Ok((body, start.elapsed()))
}

fn remaining(deadline: Instant) -> Result<Duration, String> {
    deadline
        .checked_duration_since(Instant::now())
        .filter(|left| !left.is_zero())
        .ok_or_else(|| "the deadline passed".to_owned())
}

/// The server process; stopped (SIGTERM, then SIGKILL) when dropped.
struct Server {
    child: Child,
}

impl Server {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        let until = Instant::now() + Duration::from_secs(20);
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> Result<SocketAddr, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener.local_addr().map_err(|e| e.to_string())
}

fn start_server(args: &Args, db: &str, dir: &Path, address: SocketAddr) -> Result<Server, String> {
    let log = std::fs::File::create(dir.join("server.log")).map_err(|e| e.to_string())?;
    let child = Command::new(&args.procura)
        .arg("serve")
        .arg("--listen")
        .arg(address.to_string())
        .arg("--db")
        .arg(db)
        .arg("--key")
        .arg(dir.join("operator.key"))
        .arg("--name")
        .arg("procura.example")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map_err(|e| format!("{}: {e}", args.procura.display()))?;
    Ok(Server { child })
}

async fn wait_ready(server: &mut Server, address: SocketAddr) -> Result<(), String> {
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(Some(status)) = server.child.try_wait() {
            return Err(format!(
                "the server exited at start-up ({status}); see server.log"
            ));
        }
        if let Ok(mut conn) = connect(address).await {
            let timeout = Duration::from_secs(5);
            if let Ok((200, _)) = call(
                &mut conn,
                Method::GET,
                "/v1/operator",
                Bytes::new(),
                timeout,
            )
            .await
            {
                return Ok(());
            }
        }
        if Instant::now() > until {
            return Err("the server did not answer within 60 s".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Everything measured, for the table.
#[derive(Debug, Default)]
struct Measured {
    open: Duration,
    commit: Phase,
    close_commit: Duration,
    reveal: Phase,
    close_reveal: Duration,
    round_wall: Duration,
    transcript_bytes: usize,
    transcript_fetch: Duration,
    verify: Vec<Duration>,
    peer_appends: Option<Timed>,
    peer_verify: Option<Timed>,
    peer_storage: Option<(usize, Duration, String)>,
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "?".into())
}

async fn drive(
    args: &Args,
    work: &Workload,
    address: SocketAddr,
    server_pid: u32,
    transcript: &Path,
    deadline: Instant,
    report: &mut Measured,
) -> Result<(), String> {
    let timeout = args.request_timeout;
    let mut control = connect(address).await?;
    let open = Bytes::from(work.open.leaf_bytes());
    let (_, took) = single(
        &mut control,
        Method::POST,
        "/v1/rounds",
        open,
        remaining(deadline)?,
    )
    .await?;
    report.open = took;
    let mut conns = Vec::with_capacity(args.clients);
    for _ in 0..args.clients {
        conns.push(connect(address).await?);
    }
    let entries = format!("/v1/rounds/{}/entries", work.round.as_str());
    let bodies = |envelopes: &[Envelope]| -> Arc<Vec<Bytes>> {
        Arc::new(
            envelopes
                .iter()
                .map(|e| Bytes::from(e.leaf_bytes()))
                .collect(),
        )
    };
    let (commits, reveals) = (bodies(&work.commits), bodies(&work.reveals));
    let perf = match &args.perf {
        Some(file) => Some(
            Command::new("perf")
                .args([
                    "record",
                    "--call-graph",
                    "dwarf,16384",
                    "-F",
                    "299",
                    "-p",
                    &server_pid.to_string(),
                    "-o",
                ])
                .arg(file)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| format!("perf: {e}"))?,
        ),
        None => None,
    };
    if perf.is_some() {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let round_start = Instant::now();
    let (conns, commit) = phase(server_pid, conns, &entries, commits, timeout, deadline).await;
    report.commit = commit;
    let close = Bytes::from(work.close_commit.leaf_bytes());
    let (_, took) = single(&mut control, Method::POST, &entries, close, timeout).await?;
    report.close_commit = took;
    let (conns, reveal) = phase(server_pid, conns, &entries, reveals, timeout, deadline).await;
    report.reveal = reveal;
    let close = Bytes::from(work.close_reveal.leaf_bytes());
    let (_, took) = single(
        &mut control,
        Method::POST,
        &entries,
        close,
        remaining(deadline)?,
    )
    .await?;
    report.close_reveal = took;
    report.round_wall = round_start.elapsed();
    if let Some(mut perf) = perf {
        let _ = Command::new("kill")
            .args(["-INT", &perf.id().to_string()])
            .status();
        let _ = perf.wait();
    }
    drop(conns);
    let path = format!("/v1/rounds/{}/transcript", work.round.as_str());
    let (body, took) = single(
        &mut control,
        Method::GET,
        &path,
        Bytes::new(),
        remaining(deadline)?,
    )
    .await?;
    report.transcript_fetch = took;
    report.transcript_bytes = body.len();
    std::fs::write(transcript, &body).map_err(|e| format!("{}: {e}", transcript.display()))?;
    let failed =
        report.commit.accepted < work.commits.len() || report.reveal.accepted < work.reveals.len();
    if failed {
        return Err(format!(
            "not every entry was accepted: commits {}/{}, reveals {}/{}",
            report.commit.accepted,
            work.commits.len(),
            report.reveal.accepted,
            work.reveals.len()
        ));
    }
    Ok(())
}

/// `procura verify FILE`, `runs` times; each must exit 0.
fn time_verify(
    procura: &Path,
    transcript: &Path,
    runs: usize,
    deadline: Instant,
) -> Result<Vec<Duration>, String> {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        remaining(deadline)?;
        let start = Instant::now();
        let output = Command::new(procura)
            .arg("verify")
            .arg(transcript)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| e.to_string())?;
        let took = start.elapsed();
        if !output.status.success() {
            return Err(format!(
                "procura verify failed ({}): {}{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        times.push(took);
    }
    Ok(times)
}

/// How many operations took how long.
type Timed = (usize, Duration);

/// The CPU peer: the first `m` commits appended to the round in memory on
/// this thread (signature, payload, rules, leaf hash, tree), and the same
/// signatures verified alone.
fn peer_cpu(work: &Workload, m: usize) -> Result<(Timed, Timed), String> {
    let m = m.min(work.commits.len());
    let operator = KeyId::of(&key(u64::MAX - 1).verifying_key());
    let mut log = RoundLog::open(work.open.clone(), operator).map_err(|e| e.to_string())?;
    let envelopes: Vec<Envelope> = work.commits[..m].to_vec();
    let start = Instant::now();
    for envelope in envelopes {
        log.append(envelope).map_err(|e| e.to_string())?;
    }
    let appends = (m, start.elapsed());
    let start = Instant::now();
    for envelope in &work.commits[..m] {
        envelope.verify().map_err(|e| e.to_string())?;
    }
    Ok((appends, (m, start.elapsed())))
}

/// The storage peer: one durable transaction per row (the server's row
/// shape, the commit envelope's size), for `seconds`. SQLite: WAL with
/// synchronous=FULL as the server sets it, one connection (SQLite has one
/// writer at a time). PostgreSQL: `clients` connections at once, each
/// `INSERT` its own transaction (pgbench-style).
async fn peer_storage(
    db: &str,
    dir: &Path,
    clients: usize,
    seconds: u64,
    row: Bytes,
) -> Result<(usize, Duration, String), String> {
    use sqlx::Executor as _;
    let create = "CREATE TABLE peer_entries (round TEXT NOT NULL, idx BIGINT NOT NULL, \
                  kind TEXT NOT NULL, nonce BYTEA NOT NULL, data BYTEA NOT NULL, \
                  PRIMARY KEY (round, idx))";
    let length = Duration::from_secs(seconds);
    if db.starts_with("postgres") {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(clients as u32)
            .connect(db)
            .await
            .map_err(|e| e.to_string())?;
        pool.execute(create).await.map_err(|e| e.to_string())?;
        let next = Arc::new(AtomicUsize::new(0));
        let start = Instant::now();
        let tasks: Vec<_> = (0..clients)
            .map(|_| {
                let (pool, next, row) = (pool.clone(), Arc::clone(&next), row.clone());
                tokio::spawn(async move {
                    while start.elapsed() < length {
                        let at = next.fetch_add(1, Ordering::Relaxed);
                        sqlx::query(
                            "INSERT INTO peer_entries (round, idx, kind, nonce, data) \
                             VALUES ($1, $2, $3, $4, $5)",
                        )
                        .bind("load")
                        .bind(at as i64)
                        .bind("commit")
                        .bind(&[0u8; 24][..])
                        .bind(&row[..])
                        .execute(&pool)
                        .await
                        .map_err(|e| e.to_string())?;
                    }
                    Ok::<(), String>(())
                })
            })
            .collect();
        for task in tasks {
            task.await.map_err(|e| e.to_string())??;
        }
        let took = start.elapsed();
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM peer_entries")
            .fetch_one(&pool)
            .await
            .map_err(|e| e.to_string())?;
        pool.close().await;
        let what = format!("PostgreSQL, one INSERT transaction per row, {clients} connections");
        return Ok((usize::try_from(count).unwrap_or(0), took, what));
    }
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(dir.join("peer.sqlite"))
        .create_if_missing(true)
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
        .synchronous(sqlx::sqlite::SqliteSynchronous::Full);
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .map_err(|e| e.to_string())?;
    pool.execute(create).await.map_err(|e| e.to_string())?;
    let start = Instant::now();
    let mut count = 0usize;
    while start.elapsed() < length {
        sqlx::query(
            "INSERT INTO peer_entries (round, idx, kind, nonce, data) VALUES (?, ?, ?, ?, ?)",
        )
        .bind("load")
        .bind(count as i64)
        .bind("commit")
        .bind(&[0u8; 24][..])
        .bind(&row[..])
        .execute(&pool)
        .await
        .map_err(|e| e.to_string())?;
        count += 1;
    }
    let took = start.elapsed();
    pool.close().await;
    Ok((
        count,
        took,
        "SQLite WAL synchronous=FULL, one INSERT transaction per row, 1 connection".into(),
    ))
}

/// A fresh PostgreSQL schema: (the server's URL, the schema, an admin pool).
async fn pg_schema(base: &str) -> Result<(String, String, sqlx::PgPool), String> {
    let admin = sqlx::PgPool::connect(base)
        .await
        .map_err(|e| format!("{base}: {e}"))?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let schema = format!("procura_load_{}_{nanos}", std::process::id());
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&admin)
        .await
        .map_err(|e| e.to_string())?;
    let separator = if base.contains('?') { '&' } else { '?' };
    Ok((
        format!("{base}{separator}options=-c%20search_path%3D{schema}"),
        schema,
        admin,
    ))
}

fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

fn print_table(args: &Args, backend: &str, report: &Measured, before: &str) {
    let n = args.providers;
    println!();
    println!(
        "procura load: {backend}, {n} providers, {} clients, `procura serve` as a separate process",
        args.clients
    );
    println!("load average before: {before}; after: {}", loadavg());
    println!();
    println!("| phase | entries | wall | entries/s | p50 | p99 | max | CPU/entry server, client |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    println!("| open ({n} roster) | 1 | {} | | | | | |", ms(report.open));
    for (name, phase) in [("commit", &report.commit), ("reveal", &report.reveal)] {
        let per = |cpu: f64| cpu / phase.accepted.max(1) as f64 * 1e6;
        println!(
            "| {name} | {} | {:.2} s | {:.0} | {:.1} ms | {:.1} ms | {:.1} ms | {:.0} µs, {:.0} µs |",
            phase.accepted,
            phase.wall.as_secs_f64(),
            phase.rate(),
            phase.percentile(50.0),
            phase.percentile(99.0),
            phase.percentile(100.0),
            per(phase.server_cpu),
            per(phase.client_cpu)
        );
    }
    println!(
        "| close commit | 1 | {} | | | | | |",
        ms(report.close_commit)
    );
    println!(
        "| close reveal (+ outcome) | 2 | {} | | | | | |",
        ms(report.close_reveal)
    );
    println!(
        "| round: first commit to outcome | {} | {:.2} s | {:.0} | | | | |",
        report.commit.accepted + report.reveal.accepted + 3,
        report.round_wall.as_secs_f64(),
        (report.commit.accepted + report.reveal.accepted) as f64 / report.round_wall.as_secs_f64()
    );
    println!(
        "| GET transcript | {} bytes | {} | | | | | |",
        report.transcript_bytes,
        ms(report.transcript_fetch)
    );
    if !report.verify.is_empty() {
        let mut times = report.verify.clone();
        times.sort();
        println!(
            "| procura verify, {} runs | | min {:.3} s, median {:.3} s, max {:.3} s | | | | | |",
            times.len(),
            times[0].as_secs_f64(),
            times[times.len() / 2].as_secs_f64(),
            times[times.len() - 1].as_secs_f64()
        );
    }
    println!();
    let commit_rate = report.commit.rate();
    if let Some((m, took)) = report.peer_appends {
        let rate = m as f64 / took.as_secs_f64();
        println!(
            "peer: RoundLog::append of {m} commits in memory, 1 thread: {rate:.0}/s \
             (server commits/s ÷ peer = {:.2})",
            commit_rate / rate
        );
    }
    if let Some((m, took)) = report.peer_verify {
        let rate = m as f64 / took.as_secs_f64();
        println!(
            "peer: Envelope::verify (one Ed25519 signature, signature::is_valid) of {m} commits, 1 thread: {rate:.0}/s \
             (server ÷ peer = {:.2})",
            commit_rate / rate
        );
    }
    if let Some((count, took, what)) = &report.peer_storage {
        let rate = *count as f64 / took.as_secs_f64();
        println!(
            "peer: {what}: {count} rows in {:.1} s = {rate:.0}/s (server commits/s ÷ peer = {:.2})",
            took.as_secs_f64(),
            commit_rate / rate
        );
    }
    for (name, phase) in [("commit", &report.commit), ("reveal", &report.reveal)] {
        for error in &phase.errors {
            println!("{name} error: {error}");
        }
    }
}

fn run(args: &Args) -> Result<(), String> {
    let deadline = Instant::now() + args.deadline;
    let before = loadavg();
    let temp = match &args.dir {
        Some(_) => None,
        None => Some(tempfile::tempdir().map_err(|e| e.to_string())?),
    };
    let dir = match (&args.dir, &temp) {
        (Some(dir), _) => {
            std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
            dir.clone()
        }
        (None, Some(temp)) => temp.path().to_owned(),
        (None, None) => return Err("no folder".into()),
    };
    let transcript = args
        .transcript
        .clone()
        .unwrap_or_else(|| dir.join("transcript.json"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.client_threads)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    eprintln!(
        "signing {} commits and {} reveals…",
        args.providers, args.providers
    );
    let start = Instant::now();
    let work = workload(args.providers)?;
    eprintln!("signed in {:.1} s", start.elapsed().as_secs_f64());
    let postgres = args.db.starts_with("postgres");
    let (db, schema) = if postgres {
        let (url, schema, admin) = runtime.block_on(pg_schema(&args.db))?;
        (url, Some((schema, admin)))
    } else if args.db == "sqlite" {
        (
            format!("sqlite://{}", dir.join("market.sqlite").display()),
            None,
        )
    } else {
        (args.db.clone(), None)
    };
    let backend = if postgres { "PostgreSQL" } else { "SQLite" };
    let mut report = Measured::default();
    let result = (|| {
        let address = free_port()?;
        let mut server = start_server(args, &db, &dir, address)?;
        eprintln!(
            "server pid {} on {address}, log {}",
            server.pid(),
            dir.join("server.log").display()
        );
        runtime.block_on(wait_ready(&mut server, address))?;
        let driven = runtime.block_on(drive(
            args,
            &work,
            address,
            server.pid(),
            &transcript,
            deadline,
            &mut report,
        ));
        server.stop();
        driven?;
        eprintln!("transcript: {}", transcript.display());
        report.verify = time_verify(&args.procura, &transcript, args.verify_runs, deadline)?;
        if args.peer_appends > 0 {
            let (appends, verify) = peer_cpu(&work, args.peer_appends)?;
            report.peer_appends = Some(appends);
            report.peer_verify = Some(verify);
        }
        if args.peer_seconds > 0 {
            remaining(deadline)?;
            let row = Bytes::from(work.commits[0].leaf_bytes());
            report.peer_storage = Some(runtime.block_on(peer_storage(
                &db,
                &dir,
                args.clients.min(64),
                args.peer_seconds,
                row,
            ))?);
        }
        Ok::<(), String>(())
    })();
    if let Some((schema, admin)) = schema {
        let dropped = runtime.block_on(async {
            let done = sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                .execute(&admin)
                .await;
            admin.close().await;
            done
        });
        if let Err(error) = dropped {
            eprintln!("dropping schema {schema}: {error}");
        }
    }
    print_table(args, backend, &report, &before);
    result
}

fn main() -> std::process::ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(error) => {
            if !error.is_empty() {
                eprintln!("{error}");
            }
            eprintln!("{USAGE}");
            return std::process::ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("load: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
