//! The worked examples of spec Part C, produced by an independent
//! implementation: every transcript verifies (or fails at the expected rule
//! and entry), every proof of `proofs.json` is the one our tree builds and
//! verifies, and re-signing with the published keys gives the same bytes.

use std::collections::HashMap;
use std::path::Path;

use ed25519_dalek::SigningKey;
use procura_market::checkpoint::Checkpoint;
use procura_market::envelope::{parse_hex32, Envelope, KeyId};
use procura_market::merkle::{verify_consistency, verify_inclusion, Hash, Tree};
use procura_market::transcript::{self, Transcript};
use serde_json::Value;

fn data(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn json(name: &str) -> Value {
    serde_json::from_slice(&data(name)).expect("JSON")
}

fn load(name: &str) -> Transcript {
    transcript::parse(&data(name)).expect("a transcript")
}

fn hash(text: &str) -> Hash {
    parse_hex32(text).expect("hex")
}

#[test]
fn every_example_transcript_verifies_or_fails_at_the_expected_rule_and_entry() {
    let expected = json("expected.json");
    let cases = expected.as_object().expect("object");
    assert_eq!(cases.len(), 11);
    for (file, want) in cases {
        let result = transcript::verify(&load(file));
        if want["valid"] == Value::Bool(true) {
            let verified = result.unwrap_or_else(|failure| panic!("{file}: {failure}"));
            assert_eq!(
                verified.round().phase().name(),
                want["phase"].as_str().expect("phase"),
                "{file}"
            );
        } else {
            let failure = result.err().unwrap_or_else(|| panic!("{file} verified"));
            assert_eq!(
                u64::from(failure.rule),
                want["rule"].as_u64().expect("rule"),
                "{file}: {failure}"
            );
            assert_eq!(failure.entry, want["entry"].as_u64(), "{file}: {failure}");
        }
    }
}

#[test]
fn the_valid_examples_summarise_their_winners_and_payments() {
    let procurement = transcript::verify(&load("procurement.transcript.json")).expect("valid");
    assert_eq!(
        procurement.summary(),
        "valid: round r1, mechanism qmia, phase cleared, 13 entries\n\
         winners: corpus-co, acme, beta\ntotal paid: 8.48\n"
    );
    let threshold = transcript::verify(&load("threshold.transcript.json")).expect("valid");
    let settled = threshold.round().settlement_entry().expect("settled");
    assert!(settled.trained);
    assert_eq!(settled.collected, 6.0);
    let stayers: Vec<&str> = settled.payments.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(stayers, ["u2", "u1", "u4"]);
    assert!(threshold.summary().contains("phase settled, 20 entries"));
    assert!(threshold.summary().contains("total paid: 13.2"));
}

#[test]
fn the_published_proofs_are_the_ones_our_tree_builds_and_they_verify() {
    let proofs = json("proofs.json");
    let transcript = load("procurement.transcript.json");
    let leaves: Vec<Hash> = transcript
        .entries
        .iter()
        .map(|entry| {
            Envelope::from_value(entry.clone())
                .expect("an envelope")
                .leaf_hash()
        })
        .collect();
    let published: Vec<Hash> = proofs["leaf_hashes"]
        .as_array()
        .expect("array")
        .iter()
        .map(|h| hash(h.as_str().expect("hex")))
        .collect();
    assert_eq!(leaves, published);
    let tree = Tree::from_leaves(leaves.iter().copied());
    let roots = proofs["roots"].as_object().expect("object");
    assert_eq!(roots.len(), 14);
    for (size, root) in roots {
        let size: u64 = size.parse().expect("a size");
        assert_eq!(
            tree.root_at(size).expect("in range"),
            hash(root.as_str().expect("hex"))
        );
    }
    let decode = |proof: &Value| -> Vec<Hash> {
        proof
            .as_array()
            .expect("array")
            .iter()
            .map(|h| hash(h.as_str().expect("hex")))
            .collect()
    };
    let inclusion = proofs["inclusion"].as_array().expect("array");
    assert_eq!(inclusion.len(), 13);
    for case in inclusion {
        let (index, size) = (
            case["index"].as_u64().expect("index"),
            case["size"].as_u64().expect("size"),
        );
        let proof = decode(&case["proof"]);
        assert_eq!(tree.inclusion_proof(index, size).expect("in range"), proof);
        let root = tree.root_at(size).expect("in range");
        verify_inclusion(index, size, &leaves[index as usize], &proof, &root).expect("verifies");
    }
    let consistency = proofs["consistency"].as_array().expect("array");
    assert!(!consistency.is_empty());
    for case in consistency {
        let (from, to) = (
            case["from"].as_u64().expect("from"),
            case["to"].as_u64().expect("to"),
        );
        let proof = decode(&case["proof"]);
        assert_eq!(tree.consistency_proof(from, to).expect("in range"), proof);
        verify_consistency(
            from,
            to,
            &proof,
            &tree.root_at(from).expect("in range"),
            &tree.root_at(to).expect("in range"),
        )
        .expect("verifies");
    }
}

/// The published seeds, by key id.
fn keys() -> HashMap<KeyId, SigningKey> {
    json("keys.json")
        .as_object()
        .expect("object")
        .values()
        .map(|seed| {
            let key = SigningKey::from_bytes(&hash(seed.as_str().expect("hex")));
            (KeyId::of(&key.verifying_key()), key)
        })
        .collect()
}

#[test]
fn re_signing_the_valid_examples_with_the_published_keys_gives_the_same_bytes() {
    let keys = keys();
    for file in ["procurement.transcript.json", "threshold.transcript.json"] {
        let transcript = load(file);
        for entry in &transcript.entries {
            let envelope = Envelope::from_value(entry.clone()).expect("an envelope");
            let key = &keys[&envelope.signer()];
            let again = Envelope::sign(envelope.kind(), envelope.payload().to_vec(), key);
            assert_eq!(again.leaf_bytes(), envelope.leaf_bytes(), "{file}");
        }
        let operator = KeyId::parse(&transcript.operator).expect("a key");
        let checkpoint = Checkpoint::open(&transcript.checkpoint, &operator).expect("a checkpoint");
        assert_eq!(checkpoint.sign(&keys[&operator]), transcript.checkpoint);
    }
}
