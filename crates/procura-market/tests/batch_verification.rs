//! `transcript::verify` checks signatures in batches, one per thread: a bad
//! signature anywhere is still named (the first in log order, rule 2), and
//! the answer is the same on one thread and on several.

use ed25519_dalek::SigningKey;
use procura_market::checkpoint::Checkpoint;
use procura_market::envelope::{Envelope, KeyId, Kind};
use procura_market::merkle::Tree;
use procura_market::payload::{
    close_bytes, commit_bytes, commitment, derive_nonce, reveal_bytes, ClosedPhase, Report,
};
use procura_market::transcript::{self, Transcript};
use procura_market::RoundLog;
use serde_json::{json, Value};

const NAME: &str = "procura.example";
/// Enough providers for more than two batches of the smallest size.
const PROVIDERS: u8 = 250;

fn key(byte: u8) -> SigningKey {
    SigningKey::from_bytes(&[byte; 32])
}

fn operator() -> SigningKey {
    key(1)
}

fn buyer() -> SigningKey {
    key(2)
}

fn provider(i: u8) -> SigningKey {
    key(3 + i)
}

/// A cleared Q-MIA round of `PROVIDERS` providers: 504 entries.
fn cleared_round() -> Transcript {
    let roster: Vec<Value> = (0..PROVIDERS)
        .map(|i| {
            json!({
                "id": format!("p{i}"),
                "key": KeyId::of(&provider(i).verifying_key()).to_string(),
                "quality": 0.5 + f64::from(i % 7) / 20.0,
                "utility": 1.0 + f64::from(i % 5) / 4.0,
                "volume": 10.0 * f64::from(1 + i % 3),
            })
        })
        .collect();
    let open = json!({"round": "big", "mechanism": "qmia", "instance": {"budget": 50.0},
                      "roster": roster});
    let mut log = RoundLog::open(
        Envelope::sign(Kind::Open, open.to_string().into_bytes(), &buyer()),
        KeyId::of(&operator().verifying_key()),
    )
    .expect("opens");
    let round = log.round().id().clone();
    let reveals: Vec<Vec<u8>> = (0..PROVIDERS)
        .map(|i| {
            let id = format!("p{i}");
            let nonce = derive_nonce(provider(i).as_bytes(), &round, &id);
            let report = Report::Bid {
                bid: 0.5 + f64::from(i % 11) / 10.0,
                claimed_quality: None,
            };
            reveal_bytes(&round, &id, report, &nonce)
        })
        .collect();
    let mut send = |kind, payload: Vec<u8>, by: &SigningKey| {
        log.accept(Envelope::sign(kind, payload, by), &operator())
            .expect("accepted");
    };
    for i in 0..PROVIDERS {
        let reveal = &reveals[usize::from(i)];
        let commit = commit_bytes(&round, &format!("p{i}"), &commitment(reveal));
        send(Kind::Commit, commit, &provider(i));
    }
    send(
        Kind::Close,
        close_bytes(&round, ClosedPhase::Commit),
        &buyer(),
    );
    for i in 0..PROVIDERS {
        send(Kind::Reveal, reveals[usize::from(i)].clone(), &provider(i));
    }
    send(
        Kind::Close,
        close_bytes(&round, ClosedPhase::Reveal),
        &buyer(),
    );
    log.transcript(NAME, &operator())
}

/// The transcript with one bit of the signatures of `entries` flipped, and
/// a checkpoint over the changed log by the operator's real key, so only
/// rule 2 can catch it.
fn with_bad_signatures(transcript: &Transcript, entries: &[usize]) -> Transcript {
    use base64::Engine as _;
    let engine = base64::engine::general_purpose::STANDARD;
    let mut changed = transcript.clone();
    for &at in entries {
        let sig = changed.entries[at]["signatures"][0]["sig"]
            .as_str()
            .expect("a signature");
        let mut bytes = engine.decode(sig).expect("base64");
        bytes[40] ^= 0x04;
        changed.entries[at]["signatures"][0]["sig"] = json!(engine.encode(bytes));
    }
    let tree = Tree::from_leaves(changed.entries.iter().map(|value| {
        Envelope::from_value(value.clone())
            .expect("still an envelope")
            .leaf_hash()
    }));
    changed.checkpoint = Checkpoint {
        origin: changed.origin.clone(),
        size: tree.size(),
        root: tree.root(),
    }
    .sign(&operator());
    changed
}

fn failure_on(threads: usize, transcript: &Transcript) -> Option<(u8, Option<u64>, String)> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a pool")
        .install(|| transcript::verify(transcript).err())
        .map(|failure| (failure.rule, failure.entry, failure.to_string()))
}

#[test]
fn a_bad_signature_in_any_batch_is_named_on_any_number_of_threads() {
    let transcript = cleared_round();
    assert_eq!(transcript.entries.len(), 2 * usize::from(PROVIDERS) + 4);
    for threads in [1, 2] {
        assert_eq!(failure_on(threads, &transcript), None, "{threads} threads");
    }
    // Entries in the first, the middle and the last part of the log, alone
    // and together: the first in log order is named.
    let cases: [(&[usize], usize); 4] = [
        (&[300], 300),
        (&[503], 503),
        (&[300, 10], 10),
        (&[480, 260], 260),
    ];
    for (bad, first) in cases {
        let changed = with_bad_signatures(&transcript, bad);
        let on_one = failure_on(1, &changed).expect("refused");
        assert_eq!((on_one.0, on_one.1), (2, Some(first as u64)), "{bad:?}");
        assert!(on_one.2.contains("does not verify"), "{}", on_one.2);
        for threads in [2, 3] {
            assert_eq!(
                failure_on(threads, &changed).as_ref(),
                Some(&on_one),
                "{bad:?} on {threads} threads"
            );
        }
    }
}
