//! Whole rounds through the state machine, as the server runs them: every
//! procurement mechanism and every withdrawal protocol; the outcome entry
//! equals `procura clear` on the revealed instance; the transcript and
//! every receipt verify; every refusal has its status and rule; tampered,
//! truncated, re-signed and forked logs are caught.

use ed25519_dalek::SigningKey;
use procura_market::envelope::{Envelope, KeyId, Kind};
use procura_market::payload::{
    close_bytes, commit_bytes, commitment, decide_bytes, derive_nonce, reveal_bytes, ClosedPhase,
    Decision, Report, RoundId,
};
use procura_market::round::minify;
use procura_market::transcript::{self, Transcript};
use procura_market::{Phase, Refusal, RoundLog};
use procura_mechanisms::procurement::{self, Auction};
use procura_mechanisms::threshold::{withdrawal, Protocol};
use serde_json::{json, Value};

const NAME: &str = "procura.example";
const CAPACITIES: [f64; 5] = [2.0, 1.5, 3.0, 2.5, 1.0];

fn key(byte: u8) -> SigningKey {
    SigningKey::from_bytes(&[byte; 32])
}

fn operator() -> SigningKey {
    key(1)
}

fn buyer() -> SigningKey {
    key(2)
}

/// Participant `i`'s key.
fn participant(i: usize) -> SigningKey {
    key(10 + i as u8)
}

fn id_of(i: usize) -> String {
    format!("p{i}")
}

fn round_id(text: &str) -> RoundId {
    RoundId::parse(text).expect("a round id")
}

/// A procurement open: five providers.
fn procurement_open(round: &str, mechanism: Auction) -> Envelope {
    let roster: Vec<Value> = (0..5)
        .map(|i| {
            json!({
                "id": id_of(i),
                "key": KeyId::of(&participant(i).verifying_key()).to_string(),
                "quality": 0.5 + 0.1 * i as f64,
                "utility": 2.0 - 0.25 * i as f64,
                "volume": 100.0 * (i + 1) as f64,
            })
        })
        .collect();
    let instance = match mechanism {
        Auction::Mut | Auction::Mixed => json!({"budget": 10.0, "token_budget": 4.0}),
        _ => json!({"budget": 10.0}),
    };
    let payload = json!({
        "round": round, "mechanism": mechanism.name(), "instance": instance, "roster": roster,
    });
    Envelope::sign(Kind::Open, payload.to_string().into_bytes(), &buyer())
}

/// A threshold open: five users.
fn threshold_open(round: &str, protocol: Protocol) -> Envelope {
    let roster: Vec<Value> = (0..5)
        .map(|i| {
            json!({
                "id": id_of(i),
                "key": KeyId::of(&participant(i).verifying_key()).to_string(),
                "capacity": CAPACITIES[i],
                "benefit": 0.1 * i as f64,
            })
        })
        .collect();
    let payload = json!({
        "round": round, "mechanism": "withdrawal",
        "instance": {"threshold": 6.0, "reserve_price": 3.0, "budget": 100.0, "slack": 0.25,
                     "reversibility": 0.5, "shock_mean": 0.5, "protocol": protocol.name()},
        "roster": roster,
    });
    Envelope::sign(Kind::Open, payload.to_string().into_bytes(), &buyer())
}

fn open(envelope: Envelope) -> RoundLog {
    RoundLog::open(envelope, KeyId::of(&operator().verifying_key())).expect("opens")
}

fn send(
    log: &mut RoundLog,
    kind: Kind,
    payload: Vec<u8>,
    by: &SigningKey,
) -> Result<Vec<u64>, Refusal> {
    log.accept(Envelope::sign(kind, payload, by), &operator())
}

fn reveal_payload(log: &RoundLog, i: usize, report: Report) -> Vec<u8> {
    let round = log.round().id().clone();
    let nonce = derive_nonce(participant(i).as_bytes(), &round, &id_of(i));
    reveal_bytes(&round, &id_of(i), report, &nonce)
}

/// Commits participant `i` to `report` (its reveal's bytes, hashed).
fn commit_report(log: &mut RoundLog, i: usize, report: Report) -> Result<Vec<u64>, Refusal> {
    let round = log.round().id().clone();
    let reveal = reveal_payload(log, i, report);
    send(
        log,
        Kind::Commit,
        commit_bytes(&round, &id_of(i), &commitment(&reveal)),
        &participant(i),
    )
}

/// The buyer closes `phase`.
fn close(log: &mut RoundLog, phase: ClosedPhase) -> Result<Vec<u64>, Refusal> {
    let round = log.round().id().clone();
    send(log, Kind::Close, close_bytes(&round, phase), &buyer())
}

/// Commits every participant's report, closes, reveals all but `silent`,
/// closes again.
fn run_to_outcome(log: &mut RoundLog, reports: &[Report], silent: &[usize]) {
    for (i, report) in reports.iter().enumerate() {
        commit_report(log, i, *report).expect("commit");
    }
    close(log, ClosedPhase::Commit).expect("close");
    assert_eq!(log.round().phase(), Phase::Reveal);
    for (i, report) in reports.iter().enumerate() {
        if !silent.contains(&i) {
            let reveal = reveal_payload(log, i, *report);
            send(log, Kind::Reveal, reveal, &participant(i)).expect("reveal");
        }
    }
    let appended = close(log, ClosedPhase::Reveal).expect("close");
    assert_eq!(appended.len(), 2, "the outcome follows the close");
    assert_eq!(
        log.entries().last().map(Envelope::kind),
        Some(Kind::Outcome)
    );
}

/// The outcome entry's `outcome` member as written, after checking the
/// payload is `{"round":…,"outcome":…}`.
fn outcome_entry(log: &RoundLog) -> String {
    let outcome = log
        .entries()
        .iter()
        .find(|e| e.kind() == Kind::Outcome)
        .expect("an outcome entry");
    let text = String::from_utf8(outcome.payload().to_vec()).expect("UTF-8");
    let prefix = format!(r#"{{"round":"{}","outcome":"#, log.round().id());
    assert!(text.starts_with(&prefix) && text.ends_with('}'), "{text}");
    outcome_text(outcome.payload())
}

/// The `outcome` member of an outcome payload, as written.
fn outcome_text(payload: &[u8]) -> String {
    let text = std::str::from_utf8(payload).expect("UTF-8");
    let start = text.find(r#""outcome":"#).expect("an outcome field") + r#""outcome":"#.len();
    text[start..text.len() - 1].to_owned()
}

fn verify_all(log: &RoundLog) -> transcript::Verified {
    let transcript = log.transcript(NAME, &operator());
    let verified = transcript::verify(&transcript).unwrap_or_else(|f| panic!("{f}"));
    for index in 0..log.round().size() {
        let receipt = log.receipt(NAME, index, &operator()).expect("in range");
        verified
            .check_receipt(&receipt)
            .unwrap_or_else(|e| panic!("receipt {index}: {e}"));
    }
    verified
}

#[test]
fn every_auction_clears_as_procura_clear_does_and_its_transcript_verifies() {
    let bids = [2.0, 3.5, 1.0, 4.0, 0.75];
    for auction in Auction::ALL {
        let mut log = open(procurement_open("auction-1", auction));
        let reports: Vec<Report> = bids
            .iter()
            .enumerate()
            .map(|(i, &bid)| Report::Bid {
                bid,
                claimed_quality: (i == 1).then_some(0.55),
            })
            .collect();
        // p3 commits and never reveals.
        run_to_outcome(&mut log, &reports, &[3]);
        assert_eq!(log.round().phase(), Phase::Cleared);
        // `procura clear` of the revealed instance, written independently.
        let providers: Vec<Value> = [0usize, 1, 2, 4]
            .iter()
            .map(|&i| {
                let mut record = json!({
                    "id": id_of(i), "bid": bids[i], "quality": 0.5 + 0.1 * i as f64,
                    "utility": 2.0 - 0.25 * i as f64, "volume": 100.0 * (i + 1) as f64,
                });
                if i == 1 {
                    record["claimed_quality"] = json!(0.55);
                }
                record
            })
            .collect();
        let mut instance = match auction {
            Auction::Mut | Auction::Mixed => json!({"budget": 10.0, "token_budget": 4.0}),
            _ => json!({"budget": 10.0}),
        };
        instance["providers"] = Value::Array(providers);
        let instance =
            procura_format::read::procurement_instance(&instance.to_string()).expect("valid");
        let outcome = procurement::clear(&instance, auction).expect("clears");
        let printed = procura_format::write::procurement_outcome(&instance, &outcome).expect("ok");
        assert_eq!(outcome_entry(&log), minify(&printed), "{}", auction.name());
        assert_eq!(log.round().outcome_text(), Some(printed.as_str()));
        let verified = verify_all(&log);
        assert!(verified.summary().contains("phase cleared, 13 entries"));
    }
}

/// The next user due to decide under the round's protocol.
fn due(log: &RoundLog) -> Option<usize> {
    let ids = log.round().due_to_decide();
    let first = ids.first()?;
    Some(first[1..].parse().expect("p<i>"))
}

#[test]
fn every_withdrawal_protocol_runs_to_its_settlement_and_verifies() {
    let costs = [1.0, 0.5, 2.0, 1.5, 2.8];
    for protocol in Protocol::ALL {
        let mut log = open(threshold_open("rights", protocol));
        let reports: Vec<Report> = costs.iter().map(|&c| Report::Cost(c)).collect();
        run_to_outcome(&mut log, &reports, &[]);
        assert_eq!(log.round().phase(), Phase::Decide);
        // The outcome is `procura clear`'s.
        let mut instance = json!({"threshold": 6.0, "reserve_price": 3.0, "budget": 100.0,
            "slack": 0.25, "reversibility": 0.5, "shock_mean": 0.5, "protocol": protocol.name()});
        instance["users"] = (0..5)
            .map(|i| {
                json!({"id": id_of(i), "cost": costs[i],
                            "capacity": CAPACITIES[i], "benefit": 0.1 * i as f64})
            })
            .collect();
        let instance =
            procura_format::read::threshold_instance(&instance.to_string()).expect("valid");
        let outcome = withdrawal::clear(&instance, protocol).expect("clears");
        let printed = procura_format::write::withdrawal_outcome(&instance, &outcome).expect("ok");
        assert_eq!(outcome_entry(&log), minify(&printed));
        // p2 withdraws, the others stay, each in its turn.
        let round = log.round().id().clone();
        let mut decided = Vec::new();
        while let Some(i) = due(&log) {
            let decision = if i == 2 {
                Decision::Withdraw
            } else {
                Decision::Stay
            };
            send(
                &mut log,
                Kind::Decide,
                decide_bytes(&round, &id_of(i), decision),
                &participant(i),
            )
            .expect("in turn");
            decided.push(i);
        }
        let assigned = outcome
            .assignments()
            .iter()
            .filter(|a| a.amount > 0.0)
            .count();
        assert_eq!(decided.len(), assigned);
        let appended = close(&mut log, ClosedPhase::Decide).expect("close");
        assert_eq!(appended.len(), 2, "the settlement follows the close");
        assert_eq!(log.round().phase(), Phase::Settled);
        let settled = log.round().settlement_entry().expect("settled").clone();
        let stayers: Vec<_> = outcome
            .assignments()
            .iter()
            .filter(|a| a.amount > 0.0 && instance.users()[a.user].id() != "p2")
            .collect();
        let collected = stayers.iter().fold(0.0, |sum, a| sum + a.amount);
        assert_eq!(settled.collected, collected);
        assert_eq!(
            settled.trained,
            procura_mechanisms::threshold::reaches(collected, 6.0)
        );
        verify_all(&log);
    }
}

#[test]
fn a_sequential_decision_out_of_turn_is_refused_with_409_and_rule_7() {
    let mut log = open(threshold_open("turns", Protocol::SmallFirst));
    let reports: Vec<Report> = [1.0, 0.5, 2.0, 1.5, 2.8].map(Report::Cost).to_vec();
    run_to_outcome(&mut log, &reports, &[]);
    let next = due(&log).expect("someone is due");
    let other = (0..5)
        .find(|&i| i != next && log.round().revealed().contains(&id_of(i).as_str()))
        .expect("another user");
    let round = log.round().id().clone();
    let size = log.round().size();
    let refusal = send(
        &mut log,
        Kind::Decide,
        decide_bytes(&round, &id_of(other), Decision::Stay),
        &participant(other),
    )
    .expect_err("out of turn");
    assert_eq!((refusal.status(), refusal.rule()), (409, 7));
    assert_eq!(log.round().size(), size, "a refusal changes nothing");
}

#[test]
fn every_refusal_has_its_status_and_rule_and_changes_nothing() {
    let mut log = open(procurement_open("r", Auction::Qmia));
    let round = log.round().id().clone();
    let reveal = reveal_payload(
        &log,
        0,
        Report::Bid {
            bid: 2.0,
            claimed_quality: None,
        },
    );
    let commit = commit_bytes(&round, &id_of(0), &commitment(&reveal));
    let outsider = key(99);
    let cases: Vec<(&str, Envelope, u16, u8)> = vec![
        (
            "an outsider's commit",
            Envelope::sign(
                Kind::Commit,
                commit_bytes(&round, "nobody", &[0; 32]),
                &outsider,
            ),
            403,
            4,
        ),
        (
            "p1 commits for p0",
            Envelope::sign(Kind::Commit, commit.clone(), &participant(1)),
            403,
            4,
        ),
        (
            "a close by a participant",
            Envelope::sign(
                Kind::Close,
                close_bytes(&round, ClosedPhase::Commit),
                &participant(0),
            ),
            403,
            4,
        ),
        (
            "a reveal in the commit phase",
            Envelope::sign(Kind::Reveal, reveal.clone(), &participant(0)),
            409,
            4,
        ),
        (
            "a close of the reveal phase in the commit phase",
            Envelope::sign(
                Kind::Close,
                close_bytes(&round, ClosedPhase::Reveal),
                &buyer(),
            ),
            409,
            4,
        ),
        (
            "another round's commit",
            Envelope::sign(
                Kind::Commit,
                commit_bytes(&round_id("other"), &id_of(0), &[0; 32]),
                &participant(0),
            ),
            400,
            4,
        ),
        (
            "a payload that is not an object",
            Envelope::sign(Kind::Commit, b"[1]".to_vec(), &participant(0)),
            400,
            2,
        ),
        (
            "a payload with an unknown field",
            Envelope::sign(
                Kind::Commit,
                br#"{"round":"r","id":"p0","commitment":"00","x":1}"#.to_vec(),
                &participant(0),
            ),
            400,
            2,
        ),
        (
            "a second open",
            procurement_open("r", Auction::Qmia),
            409,
            4,
        ),
    ];
    for (what, envelope, status, rule) in cases {
        let size = log.round().size();
        let refusal = log.append(envelope).expect_err(what);
        assert_eq!(
            (refusal.status(), refusal.rule()),
            (status, rule),
            "{what}: {refusal}"
        );
        assert_eq!(log.round().size(), size, "{what}");
    }
    // A bad signature.
    let good = Envelope::sign(Kind::Commit, commit, &participant(0));
    let mut forged = good.to_value();
    forged["signatures"][0]["keyid"] =
        json!(KeyId::of(&participant(1).verifying_key()).to_string());
    let forged = Envelope::from_value(forged).expect("well formed");
    let refusal = log.append(forged).expect_err("forged");
    assert_eq!((refusal.status(), refusal.rule()), (401, 2));

    // Commit, then a replay of the same envelope, then reveals.
    log.append(good.clone()).expect("commit");
    let refusal = log.append(good).expect_err("a replay");
    assert_eq!((refusal.status(), refusal.rule()), (409, 4));
    close(&mut log, ClosedPhase::Commit).expect("close");
    let wrong = reveal_payload(
        &log,
        0,
        Report::Bid {
            bid: 2.5,
            claimed_quality: None,
        },
    );
    let refusal = send(&mut log, Kind::Reveal, wrong, &participant(0)).expect_err("mismatch");
    assert_eq!((refusal.status(), refusal.rule()), (409, 5));
    let never = reveal_payload(
        &log,
        1,
        Report::Bid {
            bid: 2.5,
            claimed_quality: None,
        },
    );
    let refusal = send(&mut log, Kind::Reveal, never, &participant(1)).expect_err("no commit");
    assert_eq!((refusal.status(), refusal.rule()), (409, 5));
    send(&mut log, Kind::Reveal, reveal.clone(), &participant(0)).expect("reveal");
    // The same reveal again is a replay; the operator's entries cannot be
    // sent.
    let refusal = send(&mut log, Kind::Reveal, reveal, &participant(0)).expect_err("twice");
    assert_eq!(refusal.status(), 409);
    let refusal = send(
        &mut log,
        Kind::Outcome,
        br#"{"round":"r","outcome":{}}"#.to_vec(),
        &operator(),
    )
    .expect_err("the server writes outcomes");
    assert_eq!(refusal.status(), 403);
}

#[test]
fn a_reveal_that_breaks_a_rule_of_part_a_is_refused_with_400() {
    let mut log = open(procurement_open("bad-bid", Auction::Qmia));
    for (i, bid) in [(0, -1.0), (1, f64::INFINITY)] {
        commit_report(
            &mut log,
            i,
            Report::Bid {
                bid,
                claimed_quality: None,
            },
        )
        .expect("commit");
    }
    close(&mut log, ClosedPhase::Commit).expect("close");
    for (i, bid) in [(0, -1.0), (1, f64::INFINITY)] {
        let reveal = reveal_payload(
            &log,
            i,
            Report::Bid {
                bid,
                claimed_quality: None,
            },
        );
        let refusal = send(&mut log, Kind::Reveal, reveal, &participant(i)).expect_err("invalid");
        assert_eq!(refusal.status(), 400, "{refusal}");
    }
}

#[test]
fn an_open_that_breaks_part_a_or_b_is_refused_naming_the_field() {
    let operator_id = KeyId::of(&operator().verifying_key());
    let mut payload = json!({
        "round": "x", "mechanism": "qmia", "instance": {"budget": -1.0},
        "roster": [{"id": "a", "key": KeyId::of(&participant(0).verifying_key()).to_string(),
                    "quality": 0.5, "utility": 1.0}],
    });
    let attempt = |payload: &Value| {
        RoundLog::open(
            Envelope::sign(Kind::Open, payload.to_string().into_bytes(), &buyer()),
            operator_id,
        )
    };
    let refusal = attempt(&payload).expect_err("negative budget");
    assert_eq!(refusal.status(), 400);
    assert!(refusal.to_string().contains("budget"), "{refusal}");
    payload["instance"] = json!({"budget": 1.0});
    attempt(&payload).expect("valid");
    payload["mechanism"] = json!("subsidy");
    assert!(attempt(&payload)
        .expect_err("not a round mechanism")
        .to_string()
        .contains("mechanism"));
    payload["mechanism"] = json!("qmia");
    payload["roster"][0]["capacity"] = json!(1.0);
    assert!(attempt(&payload)
        .expect_err("a threshold field")
        .to_string()
        .contains("capacity"));
    payload["roster"][0]
        .as_object_mut()
        .expect("object")
        .remove("capacity");
    payload["roster"] = json!([payload["roster"][0], payload["roster"][0]]);
    assert!(attempt(&payload)
        .expect_err("twice")
        .to_string()
        .contains("twice"));
    payload["round"] = json!("no spaces");
    assert_eq!(attempt(&payload).expect_err("round id").status(), 400);
}

/// A finished procurement round's transcript.
fn finished() -> (RoundLog, Transcript) {
    let mut log = open(procurement_open("t", Auction::Qmia));
    let reports: Vec<Report> = [2.0, 3.5, 1.0, 4.0, 0.75]
        .map(|bid| Report::Bid {
            bid,
            claimed_quality: None,
        })
        .to_vec();
    run_to_outcome(&mut log, &reports, &[3]);
    let transcript = log.transcript(NAME, &operator());
    (log, transcript)
}

fn rule_of(transcript: &Transcript) -> Option<(u8, Option<u64>)> {
    transcript::verify(transcript)
        .err()
        .map(|failure| (failure.rule, failure.entry))
}

#[test]
fn flipped_dropped_duplicated_swapped_and_truncated_entries_break_the_checkpoint() {
    let (_, transcript) = finished();
    assert_eq!(rule_of(&transcript), None);
    let n = transcript.entries.len();
    for at in 0..n {
        // A flipped byte in the payload (still valid base64).
        let mut edited = transcript.clone();
        let payload = edited.entries[at]["payload"]
            .as_str()
            .expect("payload")
            .to_owned();
        let flipped = if payload.starts_with('e') {
            payload.replacen('e', "f", 1)
        } else {
            format!("e{}", &payload[1..])
        };
        edited.entries[at]["payload"] = json!(flipped);
        assert_eq!(rule_of(&edited).map(|r| r.0), Some(1), "flip {at}");
        let mut dropped = transcript.clone();
        dropped.entries.remove(at);
        assert_eq!(rule_of(&dropped), Some((1, None)), "drop {at}");
        let mut duplicated = transcript.clone();
        duplicated
            .entries
            .insert(at, transcript.entries[at].clone());
        assert_eq!(rule_of(&duplicated), Some((1, None)), "duplicate {at}");
        if at + 1 < n && transcript.entries[at] != transcript.entries[at + 1] {
            let mut swapped = transcript.clone();
            swapped.entries.swap(at, at + 1);
            assert_eq!(rule_of(&swapped), Some((1, None)), "swap {at}");
        }
        let mut truncated = transcript.clone();
        truncated.entries.truncate(at);
        assert_eq!(rule_of(&truncated), Some((1, None)), "truncate {at}");
    }
}

/// Re-signs a doctored log: each envelope by its author's key, and the
/// checkpoint by the operator's real key.
fn re_sign(entries: &[(Kind, Vec<u8>, SigningKey)]) -> Transcript {
    let (_, first, by) = &entries[0];
    let mut log = RoundLog::open(
        Envelope::sign(Kind::Open, first.clone(), by),
        KeyId::of(&operator().verifying_key()),
    )
    .expect("opens");
    let mut transcript_entries = vec![log.entries()[0].to_value()];
    for (kind, payload, by) in &entries[1..] {
        let envelope = Envelope::sign(*kind, payload.clone(), by);
        transcript_entries.push(envelope.to_value());
        // Keep the tree in step even when the rules refuse the entry.
        let _ = log.append(envelope);
    }
    let leaves = transcript_entries.iter().map(|value| {
        Envelope::from_value(value.clone())
            .expect("envelope")
            .leaf_hash()
    });
    let tree = procura_market::merkle::Tree::from_leaves(leaves);
    let origin = log.origin(NAME);
    let checkpoint = procura_market::checkpoint::Checkpoint {
        origin: origin.clone(),
        size: tree.size(),
        root: tree.root(),
    }
    .sign(&operator());
    Transcript {
        origin,
        operator: KeyId::of(&operator().verifying_key()).to_string(),
        entries: transcript_entries,
        checkpoint,
    }
}

fn signer_key(signer: KeyId) -> SigningKey {
    (0..=255u8)
        .map(key)
        .find(|k| KeyId::of(&k.verifying_key()) == signer)
        .expect("a test key")
}

fn entries_of(log: &RoundLog) -> Vec<(Kind, Vec<u8>, SigningKey)> {
    log.entries()
        .iter()
        .map(|e| (e.kind(), e.payload().to_vec(), signer_key(e.signer())))
        .collect()
}

#[test]
fn a_payment_one_ulp_off_re_signed_with_the_operators_real_key_breaks_rule_6() {
    let (log, _) = finished();
    let mut entries = entries_of(&log);
    assert_eq!(
        rule_of(&re_sign(&entries)),
        None,
        "re-signing alone changes nothing"
    );
    let last = entries.len() - 1;
    let mut outcome: Value = serde_json::from_slice(&entries[last].1).expect("JSON");
    let cash = outcome["outcome"]["payments"][0]["cash"]
        .as_f64()
        .expect("cash");
    outcome["outcome"]["payments"][0]["cash"] = json!(f64::from_bits(cash.to_bits() + 1));
    entries[last].1 = outcome.to_string().into_bytes();
    assert_eq!(rule_of(&re_sign(&entries)), Some((6, Some(last as u64))));
}

#[test]
fn a_truncated_log_re_signed_verifies_as_far_as_it_goes_but_not_against_a_later_receipt() {
    let (log, _) = finished();
    let entries = entries_of(&log);
    let truncated = re_sign(&entries[..7]);
    let verified = transcript::verify(&truncated).expect("a valid prefix");
    assert_eq!(verified.round().phase(), Phase::Reveal);
    let receipt = log.receipt(NAME, 9, &operator()).expect("in range");
    let error = verified
        .check_receipt(&receipt)
        .expect_err("dropped entries");
    assert!(error.contains("dropped"), "{error}");
    // A receipt for an entry the prefix holds still checks.
    let early = log.receipt(NAME, 3, &operator()).expect("in range");
    verified.check_receipt(&early).expect("consistent");
}

#[test]
fn a_forked_log_of_the_same_size_is_caught_by_a_participants_receipt() {
    let (log, _) = finished();
    let mut entries = entries_of(&log);
    // The operator rewrites p1's commitment (entry 2) into another valid
    // log: the fork verifies on its own.
    let round = log.round().id().clone();
    entries[2].1 = commit_bytes(&round, &id_of(1), &[7; 32]);
    let (_, reveal_of_p1, _) = entries
        .iter()
        .find(|(kind, payload, _)| {
            *kind == Kind::Reveal && String::from_utf8_lossy(payload).contains(r#""id":"p1""#)
        })
        .expect("p1 revealed")
        .clone();
    // p1's reveal would now fail rule 5: drop it from the fork and replace
    // it by a commit-phase entry so the size stays the same.
    let at = entries
        .iter()
        .position(|(_, payload, _)| *payload == reveal_of_p1)
        .expect("found");
    entries.remove(at);
    entries.insert(
        3,
        (
            Kind::Commit,
            commit_bytes(&round, &id_of(1), &[8; 32]),
            participant(1),
        ),
    );
    // Re-derive the outcome for the fork.
    let mut fork = re_sign(&entries[..entries.len() - 1]);
    let mut replay = RoundLog::replay(
        fork.entries
            .iter()
            .map(|v| Envelope::from_value(v.clone()).expect("envelope")),
        KeyId::of(&operator().verifying_key()),
    )
    .expect("a valid fork");
    let outcome = replay.round().outcome_payload().expect("due");
    replay
        .append(Envelope::sign(Kind::Outcome, outcome, &operator()))
        .expect("the fork's outcome");
    fork = replay.transcript(NAME, &operator());
    assert_eq!(fork.entries.len(), log.entries().len(), "same size");
    let verified = transcript::verify(&fork).expect("the fork verifies on its own");
    // p1's receipt for its original commitment catches the fork.
    let receipt = log.receipt(NAME, 2, &operator()).expect("in range");
    let error = verified.check_receipt(&receipt).expect_err("forked");
    assert!(
        error.contains("forked") || error.contains("inclusion"),
        "{error}"
    );
    // And the last receipt of the real log (same size) too.
    let receipt = log
        .receipt(NAME, log.round().size() - 1, &operator())
        .expect("in range");
    assert!(verified.check_receipt(&receipt).is_err());
}

#[test]
fn a_sealed_transcript_verifies_its_checkpoint_and_every_entry_it_shows() {
    let mut log = open(procurement_open("sealed", Auction::Qmia));
    for i in 0..3 {
        commit_report(
            &mut log,
            i,
            Report::Bid {
                bid: 1.0 + i as f64,
                claimed_quality: None,
            },
        )
        .expect("commit");
    }
    close(&mut log, ClosedPhase::Commit).expect("close");
    for i in 0..2 {
        let reveal = reveal_payload(
            &log,
            i,
            Report::Bid {
                bid: 1.0 + i as f64,
                claimed_quality: None,
            },
        );
        send(&mut log, Kind::Reveal, reveal, &participant(i)).expect("reveal");
    }
    let transcript = log.transcript(NAME, &operator());
    let sealed: Vec<&Value> = transcript
        .entries
        .iter()
        .filter(|e| e.get("leaf_hash").is_some())
        .collect();
    assert_eq!(sealed.len(), 2);
    assert!(!serde_json::to_string(&transcript)
        .expect("JSON")
        .contains("bid"));
    let verified = transcript::verify(&transcript).expect("verifies");
    assert_eq!(verified.sealed(), 2);
    assert_eq!(verified.round().phase(), Phase::Reveal);
    // Once the phase is closed, everything is shown.
    close(&mut log, ClosedPhase::Reveal).expect("close");
    let transcript = log.transcript(NAME, &operator());
    assert!(transcript
        .entries
        .iter()
        .all(|e| e.get("leaf_hash").is_none()));
    verify_all(&log);
}

#[test]
fn a_participant_may_commit_again_up_to_the_limit_and_its_last_commitment_counts() {
    use procura_market::round::MAX_COMMITS;
    let mut log = open(procurement_open("again", Auction::Qmia));
    let round = log.round().id().clone();
    for k in 0..MAX_COMMITS {
        send(
            &mut log,
            Kind::Commit,
            commit_bytes(&round, &id_of(0), &[k; 32]),
            &participant(0),
        )
        .expect("within the limit");
    }
    let refusal = send(
        &mut log,
        Kind::Commit,
        commit_bytes(&round, &id_of(0), &[99; 32]),
        &participant(0),
    )
    .expect_err("over the limit");
    assert_eq!((refusal.status(), refusal.rule()), (413, 4));
    // Others may still commit; the last commitment is the one a reveal must
    // match.
    let reveal = reveal_payload(
        &log,
        1,
        Report::Bid {
            bid: 1.5,
            claimed_quality: None,
        },
    );
    send(
        &mut log,
        Kind::Commit,
        commit_bytes(&round, &id_of(1), &[1; 32]),
        &participant(1),
    )
    .expect("first");
    send(
        &mut log,
        Kind::Commit,
        commit_bytes(&round, &id_of(1), &commitment(&reveal)),
        &participant(1),
    )
    .expect("again");
    close(&mut log, ClosedPhase::Commit).expect("close");
    send(&mut log, Kind::Reveal, reveal, &participant(1)).expect("matches the last commitment");
    assert_eq!(log.round().committed(), ["p0", "p1"]);
}
