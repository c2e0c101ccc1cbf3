//! The signature rule on the inputs where Ed25519 implementations differ:
//! one signature at a time (the server) and in batches (`procura verify`)
//! must give the same answer on every one of them, and agree with
//! `ed25519-dalek`'s `verify_strict` wherever no small-order component is
//! involved.

use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use ed25519_dalek::{Signer as _, SigningKey};
use procura_market::signature::{all_valid, is_small_order, is_valid, PublicKey, Signed};
use proptest::prelude::*;
use sha2::{Digest as _, Sha512};

fn signing_key(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n; 32])
}

fn public(key: &SigningKey) -> PublicKey {
    PublicKey::decode(key.verifying_key().to_bytes()).expect("a key")
}

/// The secret scalar of `key` (RFC 8032 §5.1.5: the clamped first half of
/// SHA-512 of the seed).
fn secret_scalar(key: &SigningKey) -> Scalar {
    let digest = Sha512::digest(key.to_bytes());
    let mut bytes: [u8; 32] = digest[..32].try_into().expect("32");
    bytes[0] &= 248;
    bytes[31] &= 127;
    bytes[31] |= 64;
    let scalar = Scalar::from_bytes_mod_order(bytes);
    assert_eq!(
        (ED25519_BASEPOINT_POINT * scalar).compress().to_bytes(),
        key.verifying_key().to_bytes(),
        "the secret scalar reproduces the key"
    );
    scalar
}

/// A signature with the nonce point `r_point` whose discrete log is `r`
/// up to a small-order part: s = r + k·a with k = SHA-512(R ‖ A ‖ M).
fn sign_with_nonce(key: &SigningKey, r: Scalar, r_point: EdwardsPoint, message: &[u8]) -> [u8; 64] {
    let r_bytes = r_point.compress().to_bytes();
    let k = Scalar::from_hash(
        Sha512::new()
            .chain_update(r_bytes)
            .chain_update(key.verifying_key().to_bytes())
            .chain_update(message),
    );
    let s = r + k * secret_scalar(key);
    let mut signature = [0u8; 64];
    signature[..32].copy_from_slice(&r_bytes);
    signature[32..].copy_from_slice(s.as_bytes());
    signature
}

fn strict(key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
    ed25519_dalek::VerifyingKey::from_bytes(key).is_ok_and(|key| {
        key.verify_strict(message, &ed25519_dalek::Signature::from_bytes(signature))
            .is_ok()
    })
}

/// `is_valid` alone, and `all_valid` on the signature surrounded by valid
/// ones under several seeds: the same answer every time.
fn checked_both_ways(key: &PublicKey, message: &[u8], signature: &[u8; 64]) -> bool {
    let single = is_valid(key, message, signature);
    let others: Vec<(PublicKey, Vec<u8>, [u8; 64])> = (1..4)
        .map(|n| {
            let signer = signing_key(n);
            let message = format!("other {n}").into_bytes();
            let signature = signer.sign(&message).to_bytes();
            (public(&signer), message, signature)
        })
        .collect();
    for seed in 0u8..12 {
        let mut batch: Vec<Signed<'_>> = others
            .iter()
            .map(|(key, message, signature)| Signed {
                key,
                message,
                signature,
            })
            .collect();
        batch.insert(
            usize::from(seed) % 4,
            Signed {
                key,
                message,
                signature,
            },
        );
        assert_eq!(all_valid(&batch, &[seed]), single, "seed {seed}");
        let alone = [Signed {
            key,
            message,
            signature,
        }];
        assert_eq!(all_valid(&alone, &[seed]), single, "alone, seed {seed}");
    }
    single
}

#[test]
fn an_honest_signature_is_valid_both_ways_and_strictly() {
    let key = signing_key(7);
    let signature = key.sign(b"bid").to_bytes();
    assert!(checked_both_ways(&public(&key), b"bid", &signature));
    assert!(strict(&key.verifying_key().to_bytes(), b"bid", &signature));
    assert!(!checked_both_ways(&public(&key), b"bad", &signature));
}

#[test]
fn an_unreduced_s_is_refused() {
    let key = signing_key(7);
    let mut signature = key.sign(b"bid").to_bytes();
    // s + ℓ encodes the same residue: the malleable form.
    let s = Scalar::from_bytes_mod_order(signature[32..].try_into().expect("32"));
    let ell: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut sum = [0u8; 32];
    let mut carry = 0u16;
    for at in 0..32 {
        let total = u16::from(s.as_bytes()[at]) + u16::from(ell[at]) + carry;
        sum[at] = total as u8;
        carry = total >> 8;
    }
    assert_eq!(carry, 0);
    signature[32..].copy_from_slice(&sum);
    assert!(!checked_both_ways(&public(&key), b"bid", &signature));
    assert!(!strict(&key.verifying_key().to_bytes(), b"bid", &signature));
}

#[test]
fn a_small_order_key_signs_nothing() {
    // With A and R of small order and s = 0 the cofactored equation holds
    // for every message: the key must be refused.
    for point in EIGHT_TORSION {
        let bytes = point.compress().to_bytes();
        assert!(is_small_order(&bytes));
        let key = PublicKey::decode(bytes).expect("a point");
        let mut signature = [0u8; 64];
        signature[..32].copy_from_slice(&EIGHT_TORSION[0].compress().to_bytes());
        assert!(!checked_both_ways(&key, b"anything", &signature));
        assert!(!strict(&bytes, b"anything", &signature));
    }
}

#[test]
fn a_small_order_nonce_is_refused() {
    // R of small order, s = k·a: the cofactored equation holds, the rule
    // refuses R (as verify_strict does).
    let key = signing_key(9);
    for torsion in &EIGHT_TORSION[1..] {
        let signature = sign_with_nonce(&key, Scalar::ZERO, *torsion, b"bid");
        assert!(!checked_both_ways(&public(&key), b"bid", &signature));
        assert!(!strict(&key.verifying_key().to_bytes(), b"bid", &signature));
    }
}

#[test]
fn a_nonce_with_a_small_order_part_is_valid_both_ways() {
    // R = rB + T: the cofactorless equation fails (verify_strict refuses),
    // the cofactored one holds. Only the key's holder can make such a
    // signature; the rule accepts it, and does so in every batch, which is
    // why it is the cofactored one (docs/MARKET.md).
    let key = signing_key(11);
    let r = Scalar::from(123_456_789_u64);
    for torsion in &EIGHT_TORSION[1..] {
        let r_point = ED25519_BASEPOINT_POINT * r + torsion;
        let signature = sign_with_nonce(&key, r, r_point, b"bid");
        assert!(checked_both_ways(&public(&key), b"bid", &signature));
        assert!(!strict(&key.verifying_key().to_bytes(), b"bid", &signature));
    }
    // Without the small-order part the same construction is an ordinary
    // signature, which both rules accept.
    let signature = sign_with_nonce(&key, r, ED25519_BASEPOINT_POINT * r, b"bid");
    assert!(checked_both_ways(&public(&key), b"bid", &signature));
    assert!(strict(&key.verifying_key().to_bytes(), b"bid", &signature));
}

#[test]
fn an_unreduced_nonce_encoding_is_refused() {
    // The same R written as y + p (only possible for y < 19): refused,
    // whatever s.
    let key = signing_key(13);
    for y in 0u8..19 {
        let mut unreduced = [0xff; 32];
        unreduced[0] = 0xed + y;
        unreduced[31] = 0x7f;
        let mut signature = key.sign(b"bid").to_bytes();
        signature[..32].copy_from_slice(&unreduced);
        assert!(!checked_both_ways(&public(&key), b"bid", &signature));
    }
}

#[test]
fn a_key_written_with_an_unreduced_y_is_not_a_key() {
    // Points with y < 19 can also be written y + p; only the reduced form
    // is a key (one point, one key id).
    let mut found = 0;
    for y in 2u8..19 {
        let mut reduced = [0u8; 32];
        reduced[0] = y;
        if curve25519_dalek::edwards::CompressedEdwardsY(reduced)
            .decompress()
            .is_none()
        {
            continue;
        }
        let mut unreduced = [0xff; 32];
        unreduced[0] = 0xed + y;
        unreduced[31] = 0x7f;
        assert!(PublicKey::decode(reduced).is_some(), "y = {y}");
        assert!(PublicKey::decode(unreduced).is_none(), "y = {y} + p");
        found += 1;
    }
    assert!(found > 0, "some y below 19 is on the curve");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random damage to a batch of honest signatures: the batch is valid
    /// exactly when every signature is, and each signature's answer is
    /// verify_strict's.
    #[test]
    fn batches_agree_with_single_checks(
        damage in proptest::collection::vec((0usize..6, 0usize..96, 0u8..8), 0..3),
        seed in any::<u64>(),
    ) {
        let keys: Vec<SigningKey> = (20..26).map(signing_key).collect();
        let publics: Vec<PublicKey> = keys.iter().map(public).collect();
        let mut messages: Vec<Vec<u8>> = (0..6).map(|n| format!("entry {n}").into_bytes()).collect();
        let mut signatures: Vec<[u8; 64]> = keys
            .iter()
            .zip(&messages)
            .map(|(key, message)| key.sign(message).to_bytes())
            .collect();
        for (entry, at, bit) in damage {
            if at < 64 {
                signatures[entry][at] ^= 1 << bit;
            } else {
                let message = &mut messages[entry];
                let at = (at - 64) % message.len();
                message[at] ^= 1 << bit;
            }
        }
        let mut every = true;
        for n in 0..6 {
            let single = is_valid(&publics[n], &messages[n], &signatures[n]);
            prop_assert_eq!(single, strict(&keys[n].verifying_key().to_bytes(), &messages[n], &signatures[n]));
            every &= single;
        }
        let batch: Vec<Signed<'_>> = (0..6)
            .map(|n| Signed { key: &publics[n], message: &messages[n], signature: &signatures[n] })
            .collect();
        prop_assert_eq!(all_valid(&batch, &seed.to_le_bytes()), every);
    }
}
