//! End-to-end tests of the live market (spec Part C) through the real
//! `procura` binary: `procura serve` runs as a child process on a loopback
//! port, participants sign in the test (procura_market + ureq) or run
//! `procura market …`, and everything served is checked with `procura
//! clear` and `procura verify`.
//!
//! - whole rounds: every procurement mechanism and every withdrawal
//!   protocol, with concurrent commits, reveals and (simultaneous)
//!   decisions;
//! - crashes: the server is SIGKILLed with commits, reveals or decisions
//!   in flight, and right after a reveal close; every entry a client got a
//!   receipt for is in the restarted server's log, which verifies, and the
//!   round runs to its end;
//! - the same against PostgreSQL when `PROCURA_TEST_POSTGRES` is set;
//! - sealing: no bid is found, in any encoding, in the database files, the
//!   server's trace log or any GET before its phase closes.

mod common_market;

use std::collections::BTreeSet;
use std::time::Duration;

use common_market::{
    find_needles, needles, procurement, procurement_instance, providers, read_raw, send_raw,
    send_then_crash, threshold, Client, Market, Member, Needle, ProviderRow, Refused, Round,
    Schema, Server, Via,
};
use procura_market::payload::{ClosedPhase, Decision};
use procura_market::{Envelope, Kind};
use serde_json::json;

/// The id that withdraws in every threshold round (it is assigned).
const WITHDRAWS: &str = "u02";

fn others(ids: &[String], left_out: &str) -> Vec<String> {
    ids.iter().filter(|id| *id != left_out).cloned().collect()
}

fn set(ids: &[String]) -> BTreeSet<String> {
    ids.iter().cloned().collect()
}

fn decision_of(id: &str) -> Decision {
    if id == WITHDRAWS {
        Decision::Withdraw
    } else {
        Decision::Stay
    }
}

/// A whole procurement round of ten providers, three of them through
/// `procura market`: all commit at once, one does not reveal, the others
/// reveal at once; the outcome is `procura clear`'s and the transcript
/// verifies with every receipt.
fn procurement_round(market: &Market, client: &Client, id: &str, mechanism: &str, buyer: Via) {
    let spec = procurement(
        id,
        mechanism,
        procurement_instance(mechanism),
        providers(10),
        &[1, 4, 7],
    );
    let round = Round::new(market, spec);
    round.open(client, buyer);
    let everyone = round.spec.ids();
    round.report_all(client, &everyone, Kind::Commit);
    assert_eq!(round.listed(client, "committed"), set(&everyone));
    round.close(client, ClosedPhase::Commit, buyer);
    // p03 committed but does not reveal: it takes no part.
    let revealing = others(&everyone, "p03");
    round.report_all(client, &revealing, Kind::Reveal);
    assert_eq!(round.status(client)["phase"], "reveal");
    let closed = round.close(client, ClosedPhase::Reveal, buyer);
    assert!(
        closed.get("then").is_some(),
        "{id}: the outcome entry follows the close"
    );
    round.check_outcome(client, &revealing);
    let checked = round.verify(client);
    assert!(
        checked.summary.contains(", phase cleared,"),
        "{}",
        checked.summary
    );
    assert_eq!(round.status(client)["phase"], "cleared", "{id}");
}

/// Decisions of `order`, concurrently (simultaneous) or one by one in
/// turn; under a sequential protocol the last user's decision is first
/// tried out of turn (409), and each decision is public once accepted.
fn decide(round: &Round, client: &Client, order: &[String], protocol: &str) {
    if protocol == "simultaneous" {
        let barrier = std::sync::Barrier::new(order.len());
        std::thread::scope(|scope| {
            for id in order {
                let (client, barrier) = (client.clone(), &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    round.decide(&client, id, decision_of(id));
                });
            }
        });
        return;
    }
    let last = round.spec.member(order.last().expect("assigned users"));
    let early = round.spec.decide_envelope(last, Decision::Stay);
    match round.send(client, "an out-of-turn decision", &early) {
        Err(Refused::Status(409, body)) => assert!(body.contains("turn"), "{body}"),
        other => panic!("{protocol}: a decision out of turn: {other:?}"),
    }
    for (done, id) in order.iter().enumerate() {
        round.decide(client, id, decision_of(id));
        let decided: Vec<String> = round.status(client)["decided"]
            .as_array()
            .expect("decided")
            .iter()
            .map(|id| id.as_str().expect("an id").to_owned())
            .collect();
        assert_eq!(decided, order[..=done], "{protocol}: decided in turn");
    }
    // Sequential decisions are public: the transcript shows them whole.
    let transcript = client.get_json(&format!("/v1/rounds/{}/transcript", round.id()));
    let shown = transcript["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|entry| entry["payloadType"] == "application/vnd.procura.decide+json")
        .count();
    assert_eq!(shown, order.len(), "{protocol}: decisions shown");
}

/// A whole threshold round under `protocol`: ten users commit at once,
/// nine reveal at once, the assigned users decide in the protocol's order
/// (u02 withdraws), the buyer closes; the settle entry is what the
/// outcome and the decisions give.
fn threshold_round(market: &Market, client: &Client, id: &str, protocol: &str) {
    let round = Round::new(market, threshold(id, protocol));
    round.open(client, Via::Library);
    let everyone = round.spec.ids();
    round.report_all(client, &everyone, Kind::Commit);
    round.close(client, ClosedPhase::Commit, Via::Library);
    let revealing = others(&everyone, "u09");
    round.report_all(client, &revealing, Kind::Reveal);
    round.close(client, ClosedPhase::Reveal, Via::Library);
    let outcome = round.check_outcome(client, &revealing);
    assert_eq!(outcome["null"], json!(false), "{id}");
    assert_eq!(round.status(client)["phase"], "decide", "{id}");
    let order = Round::decision_order(&outcome, protocol);
    assert_eq!(order.len(), 7, "{id}: assigned users");
    assert!(order.iter().any(|id| id == WITHDRAWS));
    decide(&round, client, &order, protocol);
    let closed = round.close(client, ClosedPhase::Decide, Via::Cli);
    assert!(
        closed.get("then").is_some(),
        "{id}: the settle entry follows the close"
    );
    let checked = round.verify(client);
    round.check_settle(&checked, &outcome, &others(&order, WITHDRAWS));
    let status = round.status(client);
    assert_eq!(status["phase"], "settled", "{id}");
    assert_eq!(
        status["decided"].as_array().map(Vec::len),
        Some(order.len())
    );
}

#[test]
fn a_round_under_every_procurement_mechanism_clears_as_procura_clear() {
    let mut market = Market::sqlite();
    let server = market.start();
    let client = server.client();
    for mechanism in ["qmia", "mut", "mixed", "volume", "trust"] {
        // The buyer of the qmia round uses `procura market open/close`.
        let buyer = if mechanism == "qmia" {
            Via::Cli
        } else {
            Via::Library
        };
        procurement_round(
            &market,
            &client,
            &format!("proc-{mechanism}"),
            mechanism,
            buyer,
        );
    }
}

#[test]
fn a_threshold_round_under_every_protocol_settles() {
    let mut market = Market::sqlite();
    let server = market.start();
    let client = server.client();
    for protocol in ["simultaneous", "small-first", "large-first"] {
        threshold_round(&market, &client, &format!("thr-{protocol}"), protocol);
    }
}

// ---------------------------------------------------------------------------
// Crashes

/// Spreads entries over `n` lanes, round robin.
fn lanes<T>(jobs: Vec<T>, n: usize) -> Vec<Vec<T>> {
    let mut lanes: Vec<Vec<T>> = (0..n).map(|_| Vec::new()).collect();
    for (k, job) in jobs.into_iter().enumerate() {
        lanes[k % n].push(job);
    }
    lanes
}

/// After a restart: sends again each listed member's entry that is not in
/// the log (`field` of the status), and checks that an entry stored
/// without its client hearing back is refused as a replay (409).
fn finish(
    round: &Round,
    client: &Client,
    ids: &[String],
    field: &str,
    kind: &str,
    envelope: impl Fn(&Member) -> Envelope,
) {
    let listed = round.listed(client, field);
    let got = round.receipts();
    for id in ids {
        let what = format!("{kind} {id}");
        let had_receipt = got.iter().any(|g| g.what == what);
        let envelope = envelope(round.spec.member(id));
        if listed.contains(id) {
            if !had_receipt {
                // Stored, but its client never heard: sending it again is
                // a replay.
                match round.send(client, &what, &envelope) {
                    Err(Refused::Status(409, _)) => {}
                    other => panic!("{what}: sent again after the restart: {other:?}"),
                }
            }
        } else {
            assert!(
                !had_receipt,
                "{what}: a receipt, but not in the restarted log"
            );
            round.accept(client, &what, &envelope);
        }
    }
}

fn report_crash(what: &str, received: usize, failed: usize) {
    eprintln!("{what}: {received} receipts before the SIGKILL, {failed} requests got no answer");
}

/// 32 providers commit from 8 threads; the server is SIGKILLed after 8
/// receipts. After the restart every receipt checks, the missing commits
/// are sent, and the round clears.
fn crash_with_commits_in_flight(market: &mut Market, id: &str) {
    let server = market.start();
    let spec = procurement(id, "qmia", procurement_instance("qmia"), providers(32), &[]);
    let round = Round::new(market, spec);
    round.open(&server.client(), Via::Library);
    let jobs = round
        .spec
        .members
        .iter()
        .map(|m| {
            (
                &round,
                format!("commit {}", m.id),
                round.spec.commit_envelope(m),
            )
        })
        .collect();
    let (received, failed) = send_then_crash(server, lanes(jobs, 8), 8);
    report_crash(id, received, failed);
    let server = market.start();
    let client = server.client();
    round.verify(&client);
    let everyone = round.spec.ids();
    finish(&round, &client, &everyone, "committed", "commit", |m| {
        round.spec.commit_envelope(m)
    });
    round.close(&client, ClosedPhase::Commit, Via::Library);
    round.report_all(&client, &everyone, Kind::Reveal);
    round.close(&client, ClosedPhase::Reveal, Via::Library);
    round.check_outcome(&client, &everyone);
    round.verify(&client);
}

#[test]
fn a_crash_with_commits_in_flight_loses_no_receipted_entry() {
    crash_with_commits_in_flight(&mut Market::sqlite(), "crash-commits");
}

#[test]
fn a_crash_with_reveals_in_flight_loses_no_receipted_entry() {
    let mut market = Market::sqlite();
    let server = market.start();
    let client = server.client();
    let spec = procurement(
        "crash-reveals",
        "mixed",
        procurement_instance("mixed"),
        providers(32),
        &[],
    );
    let round = Round::new(&market, spec);
    round.open(&client, Via::Library);
    let everyone = round.spec.ids();
    round.report_all(&client, &everyone, Kind::Commit);
    round.close(&client, ClosedPhase::Commit, Via::Library);
    let jobs = round
        .spec
        .members
        .iter()
        .map(|m| {
            (
                &round,
                format!("reveal {}", m.id),
                round.spec.reveal_envelope(m),
            )
        })
        .collect();
    let (received, failed) = send_then_crash(server, lanes(jobs, 8), 8);
    report_crash("crash-reveals", received, failed);
    let server = market.start();
    let client = server.client();
    assert_eq!(round.status(&client)["phase"], "reveal");
    round.verify(&client);
    finish(&round, &client, &everyone, "revealed", "reveal", |m| {
        round.spec.reveal_envelope(m)
    });
    round.close(&client, ClosedPhase::Reveal, Via::Library);
    round.check_outcome(&client, &everyone);
    round.verify(&client);
}

/// When the server is killed after a close is sent.
#[derive(Debug, Clone, Copy)]
enum Pause {
    /// This many milliseconds after.
    After(u64),
    /// As soon as the SQLite write-ahead log is written to.
    WalWritten,
}

#[test]
fn a_crash_right_after_the_reveal_close_keeps_close_and_outcome_together() {
    let mut market = Market::sqlite();
    let mut server = market.start();
    // Rounds ready to close, each closed and killed at a different moment
    // once the request is written: the kill may land before the close is
    // read, while it is applied, after it is stored but before the answer
    // (the database's write-ahead log was written), or after the answer.
    // Every case is accepted; never a close without its outcome entry, nor
    // a lost receipt.
    let pauses = [
        Pause::After(0),
        Pause::After(30),
        Pause::WalWritten,
        Pause::After(100),
        Pause::After(300),
    ];
    let rounds: Vec<Round> = (0..pauses.len())
        .map(|k| {
            let id = format!("crash-close-{k}");
            let spec = procurement(
                &id,
                "qmia",
                procurement_instance("qmia"),
                providers(10),
                &[],
            );
            let round = Round::new(&market, spec);
            let client = server.client();
            round.open(&client, Via::Library);
            round.report_all(&client, &round.spec.ids(), Kind::Commit);
            round.close(&client, ClosedPhase::Commit, Via::Library);
            round.report_all(&client, &round.spec.ids(), Kind::Reveal);
            round
        })
        .collect();
    let wal = market.sqlite_files()[1].clone();
    // The write-ahead log's size and time of change: a write changes one.
    let wal_state = || {
        std::fs::metadata(&wal)
            .ok()
            .map(|m| (m.len(), m.modified().ok()))
    };
    for (round, pause) in rounds.iter().zip(pauses) {
        let client = server.client();
        let close = round
            .spec
            .close_envelope(ClosedPhase::Reveal, &market.buyer);
        let path = format!("/v1/rounds/{}/entries", round.id());
        let before = wal_state();
        let stream = send_raw(client.address(), &path, close.leaf_bytes().as_bytes());
        match pause {
            Pause::After(ms) => std::thread::sleep(Duration::from_millis(ms)),
            Pause::WalWritten => {
                let start = std::time::Instant::now();
                while wal_state() == before && start.elapsed() < Duration::from_secs(60) {
                    std::thread::yield_now();
                }
            }
        }
        server.crash();
        let answer = read_raw(stream);
        let receipted = answer.as_ref().is_some_and(|a| a.status == 201);
        if let Some(answer) = answer.filter(|a| a.status == 201) {
            round.keep_answer("close reveal", answer.json(), &close);
        }
        server = market.start();
        let client = server.client();
        let phase = round.status(&client)["phase"]
            .as_str()
            .expect("a phase")
            .to_owned();
        eprintln!(
            "{}: killed {pause:?} after the close was sent: receipt {receipted}, phase after the \
             restart {phase}",
            round.id()
        );
        // Never the close without the operator's outcome entry.
        match phase.as_str() {
            "reveal" => {
                assert!(!receipted, "{}: a receipted close was lost", round.id());
                let closed = round.close(&client, ClosedPhase::Reveal, Via::Library);
                assert!(closed.get("then").is_some());
            }
            "cleared" if !receipted => match round.send(&client, "close again", &close) {
                Err(Refused::Status(409, _)) => {}
                other => panic!("{}: the stored close sent again: {other:?}", round.id()),
            },
            "cleared" => {}
            other => panic!("{}: phase {other} after the restart", round.id()),
        }
        round.check_outcome(&client, &round.spec.ids());
        let checked = round.verify(&client);
        assert!(
            checked.summary.contains(", phase cleared,"),
            "{}",
            checked.summary
        );
    }
}

#[test]
fn a_crash_during_decisions_loses_no_receipted_decision() {
    let mut market = Market::sqlite();
    let server = market.start();
    let client = server.client();
    let protocols = ["simultaneous", "small-first"];
    let mut rounds = Vec::new();
    for protocol in protocols {
        let round = Round::new(
            &market,
            threshold(&format!("crash-decide-{protocol}"), protocol),
        );
        round.open(&client, Via::Library);
        let everyone = round.spec.ids();
        round.report_all(&client, &everyone, Kind::Commit);
        round.close(&client, ClosedPhase::Commit, Via::Library);
        round.report_all(&client, &everyone, Kind::Reveal);
        round.close(&client, ClosedPhase::Reveal, Via::Library);
        let outcome = round.check_outcome(&client, &everyone);
        let order = Round::decision_order(&outcome, protocol);
        rounds.push((round, outcome, order, protocol));
    }
    // Simultaneous decisions each from their own thread; the small-first
    // ones from one thread, in turn.
    let mut all_lanes = Vec::new();
    for (round, _, order, protocol) in &rounds {
        let jobs: Vec<(&Round, String, Envelope)> = order
            .iter()
            .map(|id| {
                let envelope = round
                    .spec
                    .decide_envelope(round.spec.member(id), decision_of(id));
                (round, format!("decide {id}"), envelope)
            })
            .collect();
        if *protocol == "simultaneous" {
            all_lanes.extend(lanes(jobs, order.len()));
        } else {
            all_lanes.push(jobs);
        }
    }
    let (received, failed) = send_then_crash(server, all_lanes, 4);
    report_crash("crash-decide", received, failed);
    let server = market.start();
    let client = server.client();
    for (round, outcome, order, protocol) in &rounds {
        assert_eq!(round.status(&client)["phase"], "decide", "{protocol}");
        round.verify(&client);
        if *protocol != "simultaneous" {
            let decided: Vec<String> = round.listed(&client, "decided").into_iter().collect();
            let mut prefix = order[..decided.len()].to_vec();
            prefix.sort();
            assert_eq!(
                decided, prefix,
                "{protocol}: the stored decisions are a prefix of the turns"
            );
        }
        finish(round, &client, order, "decided", "decide", |m| {
            round.spec.decide_envelope(m, decision_of(&m.id))
        });
        round.close(&client, ClosedPhase::Decide, Via::Library);
        let checked = round.verify(&client);
        round.check_settle(&checked, outcome, &others(order, WITHDRAWS));
    }
}

// ---------------------------------------------------------------------------
// PostgreSQL

#[test]
fn postgres_whole_rounds() {
    let Some(schema) = Schema::create("rounds") else {
        return;
    };
    let mut market = Market::on(&schema.url);
    let server = market.start();
    let client = server.client();
    procurement_round(&market, &client, "pg-qmia", "qmia", Via::Cli);
    threshold_round(&market, &client, "pg-small-first", "small-first");
    // The server goes before the schema is dropped.
    drop(server);
}

#[test]
fn postgres_crash_with_commits_in_flight() {
    let Some(schema) = Schema::create("crash") else {
        return;
    };
    crash_with_commits_in_flight(&mut Market::on(&schema.url), "pg-crash-commits");
}

// ---------------------------------------------------------------------------
// Sealing

/// Everything a curious party could read: the database files, the
/// server's log and every GET endpoint.
fn haystacks(market: &Market, server: &Server, round: &Round) -> Vec<(String, Vec<u8>)> {
    let client = server.client();
    let mut out = Vec::new();
    for file in market.sqlite_files() {
        if let Ok(bytes) = std::fs::read(&file) {
            out.push((file.display().to_string(), bytes));
        }
    }
    out.push((
        "the server's log".to_owned(),
        std::fs::read(server.log()).expect("the server's log"),
    ));
    let size = round.status(&client)["size"].as_u64().expect("size");
    let id = round.id();
    let mut paths = vec![
        format!("/v1/rounds/{id}"),
        format!("/v1/rounds/{id}/transcript"),
        format!("/v1/rounds/{id}/outcome"),
        "/v1/operator".to_owned(),
        "/openapi.json".to_owned(),
        "/".to_owned(),
        format!("/rounds/{id}"),
    ];
    for k in 1..=size {
        paths.push(format!(
            "/v1/rounds/{id}/proof/consistency?from={k}&to={size}"
        ));
    }
    for k in 0..size {
        paths.push(format!(
            "/v1/rounds/{id}/proof/inclusion?index={k}&size={size}"
        ));
    }
    for path in paths {
        let answer = client.get(&path);
        assert!(
            answer.status == 200 || path.ends_with("/outcome"),
            "GET {path}: {}",
            answer.text()
        );
        out.push((format!("GET {path}"), answer.body));
    }
    out
}

fn assert_sealed(needles: &[Needle], haystacks: &[(String, Vec<u8>)], phase: &str) {
    let found = find_needles(needles, haystacks);
    assert!(
        found.is_empty(),
        "sealed values found during the {phase} phase:\n{}",
        found.join("\n")
    );
}

#[test]
fn no_bid_is_found_anywhere_before_its_phase_closes() {
    let mut market = Market::sqlite();
    let server = market.start_with_log("trace");
    let client = server.client();
    let bids = [
        7.123456789,
        3.987654321,
        5.314159265,
        2.741852963,
        6.022140857,
        1.602176634,
        4.669201609,
        8.314462618,
    ];
    let rows: Vec<ProviderRow> = bids
        .iter()
        .enumerate()
        .map(|(k, bid)| {
            let claimed = match k {
                1 => Some(0.8765432109),
                6 => Some(0.9123456781),
                _ => None,
            };
            let (quality, utility) = (0.5 + 0.05 * k as f64, 1.0 + 0.25 * k as f64);
            (
                format!("s{k}"),
                quality,
                utility,
                100.0 * (k as f64 + 1.0),
                *bid,
                claimed,
            )
        })
        .collect();
    let mut instance = procurement_instance("trust");
    instance.insert("budget".into(), json!(30.0));
    let spec = procurement("sealed", "trust", instance, rows, &[2, 5]);
    let round = Round::new(&market, spec);
    let sealed: Vec<Needle> = round
        .spec
        .members
        .iter()
        .flat_map(|m| needles(&round.spec, m))
        .collect();
    round.open(&client, Via::Library);
    let everyone = round.spec.ids();
    round.report_all(&client, &everyone, Kind::Commit);
    assert_sealed(&sealed, &haystacks(&market, &server, &round), "commit");
    round.close(&client, ClosedPhase::Commit, Via::Library);
    round.report_all(&client, &everyone, Kind::Reveal);
    assert_eq!(round.status(&client)["phase"], "reveal");
    assert_sealed(&sealed, &haystacks(&market, &server, &round), "reveal");
    let log = std::fs::read_to_string(server.log()).expect("the server's log");
    assert!(
        log.contains("TRACE") && log.contains("DEBUG"),
        "the server logs at trace level"
    );
    round.close(&client, ClosedPhase::Reveal, Via::Library);
    // The search itself works: once the phase is closed the transcript
    // shows every reveal, and the payload's base64 is found in it.
    let transcript = client
        .get(&format!("/v1/rounds/{}/transcript", round.id()))
        .body;
    let visible = [("the final transcript".to_owned(), transcript)];
    for member in &round.spec.members {
        let found = find_needles(&needles(&round.spec, member), &visible);
        assert!(
            found.iter().any(|f| f.contains("reveal payload in base64"))
                && found.iter().any(|f| f.contains("bid in base64 at offset")),
            "{}: the search does not find the revealed bid: {found:?}",
            member.id
        );
    }
    round.check_outcome(&client, &everyone);
    round.verify(&client);
}
