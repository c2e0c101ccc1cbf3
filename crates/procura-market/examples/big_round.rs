//! Writes the transcript of a whole round with N participants, for the
//! `procura verify` figures of BENCHMARKS.md:
//!
//! ```text
//! cargo run --release -p procura-market --example big_round -- 100000 qmia /tmp/round.json
//! cargo run --release -p procura-market --example big_round -- 100000 withdrawal /tmp/rights.json
//! ```
//!
//! Every participant commits and reveals; in a threshold round every
//! assigned user stays. Keys are derived from the participant's index, so
//! the same N gives the same bytes.

use ed25519_dalek::SigningKey;
use procura_market::envelope::{Envelope, KeyId, Kind};
use procura_market::payload::{
    close_bytes, commit_bytes, commitment, decide_bytes, derive_nonce, reveal_bytes, ClosedPhase,
    Decision, Report, RoundId,
};
use procura_market::RoundLog;
use rayon::prelude::*;
use serde_json::json;

fn key(index: u64) -> SigningKey {
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&index.to_le_bytes());
    seed[31] = 0x5a;
    SigningKey::from_bytes(&seed)
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let [_, n, mechanism, out] = &args[..] else {
        return Err("usage: big_round N (qmia|mut|mixed|volume|trust|withdrawal) OUT".into());
    };
    let n: u64 = n.parse().map_err(|_| "N is a count")?;
    let threshold = mechanism == "withdrawal";
    let operator = key(u64::MAX);
    let buyer = key(u64::MAX - 1);
    let round = RoundId::parse("big").map_err(|e| e.to_string())?;
    let id = |i: u64| format!("p{i}");
    let keys: Vec<SigningKey> = (0..n).into_par_iter().map(key).collect();
    let roster: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            let key = KeyId::of(&keys[i as usize].verifying_key()).to_string();
            let x = (i % 97) as f64 / 97.0;
            if threshold {
                json!({"id": id(i), "key": key, "capacity": 1.0 + x})
            } else {
                json!({"id": id(i), "key": key, "quality": 0.5 + x / 2.0, "utility": 1.0 + x})
            }
        })
        .collect();
    let instance = if threshold {
        json!({"threshold": n as f64 / 4.0, "reserve_price": 3.0, "budget": 10.0 * n as f64,
               "protocol": "small-first"})
    } else {
        json!({"budget": n as f64, "token_budget": n as f64 / 2.0})
    };
    let open =
        json!({"round": "big", "mechanism": mechanism, "instance": instance, "roster": roster});
    let mut log = RoundLog::open(
        Envelope::sign(Kind::Open, open.to_string().into_bytes(), &buyer),
        KeyId::of(&operator.verifying_key()),
    )
    .map_err(|e| e.to_string())?;
    let report = |i: u64| {
        let x = ((i * 7919) % 1000) as f64 / 1000.0;
        if threshold {
            Report::Cost(0.5 + 2.0 * x)
        } else {
            Report::Bid {
                bid: 0.1 + x,
                claimed_quality: None,
            }
        }
    };
    let reveals: Vec<Vec<u8>> = (0..n)
        .into_par_iter()
        .map(|i| {
            let nonce = derive_nonce(keys[i as usize].as_bytes(), &round, &id(i));
            reveal_bytes(&round, &id(i), report(i), &nonce)
        })
        .collect();
    let commits: Vec<Envelope> = (0..n)
        .into_par_iter()
        .map(|i| {
            let payload = commit_bytes(&round, &id(i), &commitment(&reveals[i as usize]));
            Envelope::sign(Kind::Commit, payload, &keys[i as usize])
        })
        .collect();
    let fail = |e: procura_market::Refusal| e.to_string();
    for commit in commits {
        log.append(commit).map_err(fail)?;
    }
    let close = |phase| Envelope::sign(Kind::Close, close_bytes(&round, phase), &buyer);
    log.accept(close(ClosedPhase::Commit), &operator)
        .map_err(fail)?;
    let signed: Vec<Envelope> = reveals
        .into_par_iter()
        .enumerate()
        .map(|(i, payload)| Envelope::sign(Kind::Reveal, payload, &keys[i]))
        .collect();
    for reveal in signed {
        log.append(reveal).map_err(fail)?;
    }
    log.accept(close(ClosedPhase::Reveal), &operator)
        .map_err(fail)?;
    if threshold && log.round().phase() == procura_market::Phase::Decide {
        loop {
            let due: Vec<String> = log
                .round()
                .due_to_decide()
                .iter()
                .map(|s| (*s).to_owned())
                .collect();
            let Some(next) = due.first() else { break };
            let i: u64 = next[1..].parse().map_err(|_| "an id p<i>")?;
            let payload = decide_bytes(&round, next, Decision::Stay);
            log.append(Envelope::sign(Kind::Decide, payload, &keys[i as usize]))
                .map_err(fail)?;
        }
        log.accept(close(ClosedPhase::Decide), &operator)
            .map_err(fail)?;
    }
    let transcript = log.transcript("procura.example", &operator);
    let text = serde_json::to_string(&transcript).map_err(|e| e.to_string())?;
    std::fs::write(out, text).map_err(|e| format!("{out}: {e}"))?;
    eprintln!(
        "{out}: {} entries, phase {}",
        log.round().size(),
        log.round().phase().name()
    );
    Ok(())
}
