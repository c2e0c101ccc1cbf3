//! The signature rule (§C.1): when an Ed25519 signature counts as valid, for
//! one signature (the server, a receipt, a checkpoint) and for a whole
//! transcript at once (`procura verify`), with the same answer.
//!
//! A signature `(R, s)` by the key `A` over the message `M` is valid when
//!
//! 1. `s` is below ℓ, the order of the prime-order subgroup (no malleable
//!    `s`);
//! 2. `R` is the canonical encoding of a point that is not of small order;
//! 3. `A` is not of small order (a small-order key is bound to no secret:
//!    anyone could sign for it);
//! 4. the cofactored equation of RFC 8032 §5.1.7 holds:
//!    `[8][s]B = [8]R + [8][k]A` with `k = SHA-512(R ‖ A ‖ M)`, `R` and `A`
//!    as the bytes given.
//!
//! Rules 1 to 3 are what `ed25519-dalek`'s `verify_strict` adds to the
//! group equation. Rule 4 is the equation RFC 8032 states first; `verify_strict`
//! checks the cofactorless `[s]B = R + [k]A` that the RFC also allows. The two
//! differ only when `R` or `A` has a component of small order, which no
//! honest signer produces. We take the cofactored one because single and
//! batch verification then agree on every input (ZIP-215, implemented by
//! `ed25519-zebra`): with the cofactorless equation a signature crafted with a
//! small-order component passes a random batch one time in eight, so the
//! server and `procura verify` could disagree on a log.
//!
//! Batch verification draws its 128-bit multipliers from ChaCha20 seeded with
//! a hash that commits to every signature in the batch (the caller passes
//! the log's Merkle root), so nobody can choose signatures after seeing the
//! multipliers.

use std::sync::OnceLock;

use curve25519_dalek::constants::EIGHT_TORSION;
use ed25519_zebra::batch;
use ed25519_zebra::{Signature, VerificationKey, VerificationKeyBytes};
use rand_chacha::rand_core::SeedableRng as _;
use rand_chacha::ChaCha20Rng;
use sha2::{Digest as _, Sha256};

/// The bytes of p = 2²⁵⁵ − 19, little-endian, without the sign bit.
const P_BYTES: [u8; 32] = {
    let mut bytes = [0xff; 32];
    bytes[0] = 0xed;
    bytes[31] = 0x7f;
    bytes
};

/// Whether the y coordinate of an encoded point (its 255 low bits) is below
/// p, that is, reduced. Little-endian comparison with `P_BYTES`.
fn y_is_reduced(encoding: &[u8; 32]) -> bool {
    for at in (0..32).rev() {
        let byte = if at == 31 {
            encoding[31] & 0x7f
        } else {
            encoding[at]
        };
        if byte != P_BYTES[at] {
            return byte < P_BYTES[at];
        }
    }
    false
}

/// Every 32-byte string that decodes to a point of small order: the
/// canonical encodings of the eight points of `EIGHT_TORSION`, the same
/// with the sign bit set where x = 0 (a "negative zero"), and the unreduced
/// encodings y + p of those whose y is below 19.
fn small_order_encodings() -> &'static [[u8; 32]] {
    static ENCODINGS: OnceLock<Vec<[u8; 32]>> = OnceLock::new();
    ENCODINGS.get_or_init(|| {
        let mut encodings = Vec::new();
        for point in EIGHT_TORSION {
            let canonical = point.compress().to_bytes();
            let mut negative = canonical;
            negative[31] |= 0x80;
            for form in [canonical, negative] {
                if form == canonical || negative_zero(&form) {
                    encodings.push(form);
                    encodings.extend(plus_p(&form));
                }
            }
        }
        encodings.sort_unstable();
        encodings.dedup();
        encodings
    })
}

/// Whether `encoding` with its sign bit set decodes to the same point as
/// without it, which happens only when x = 0.
fn negative_zero(encoding: &[u8; 32]) -> bool {
    let mut positive = *encoding;
    positive[31] &= 0x7f;
    let decode =
        |bytes: [u8; 32]| curve25519_dalek::edwards::CompressedEdwardsY(bytes).decompress();
    matches!((decode(*encoding), decode(positive)), (Some(a), Some(b)) if a == b)
}

/// The encoding of y + p with the same sign bit, when y + p < 2²⁵⁵.
fn plus_p(encoding: &[u8; 32]) -> Option<[u8; 32]> {
    let sign = encoding[31] & 0x80;
    let mut y = *encoding;
    y[31] &= 0x7f;
    if y[1..].iter().any(|&byte| byte != 0) || y[0] >= 19 {
        return None;
    }
    let mut unreduced = P_BYTES;
    unreduced[0] += y[0];
    unreduced[31] |= sign;
    Some(unreduced)
}

/// Whether `encoding` decodes to a point of small order (in any of its
/// encodings). For an encoding that decodes to no point at all the answer
/// is false; decoding refuses it elsewhere.
#[must_use]
pub fn is_small_order(encoding: &[u8; 32]) -> bool {
    small_order_encodings().binary_search(encoding).is_ok()
}

/// Rule 2 on the bytes of `R` alone: reduced y and not of small order. (A
/// reduced y with the sign bit set and x = 0 is of small order, so this also
/// makes the encoding canonical.)
fn r_is_acceptable(r: &[u8; 32]) -> bool {
    y_is_reduced(r) && !is_small_order(r)
}

/// A verification key: its bytes, whether it is of small order, and the
/// decompressed point that single verification uses.
#[derive(Debug, Clone, Copy)]
pub struct PublicKey {
    key: VerificationKey,
    small_order: bool,
}

impl PublicKey {
    /// Decodes a public key; `None` when the bytes are not a curve point
    /// or write its y unreduced (y + p: so a key has one key id). A point
    /// of small order decodes, and every signature by it fails.
    #[must_use]
    pub fn decode(bytes: [u8; 32]) -> Option<PublicKey> {
        if !y_is_reduced(&bytes) {
            return None;
        }
        let key = VerificationKey::try_from(bytes).ok()?;
        Some(PublicKey {
            key,
            small_order: is_small_order(&bytes),
        })
    }

    /// The key's 32 bytes, as given.
    #[must_use]
    pub fn bytes(&self) -> [u8; 32] {
        VerificationKeyBytes::from(self.key).into()
    }
}

/// Checks one signature by the rules of this module.
#[must_use]
pub fn is_valid(key: &PublicKey, message: &[u8], signature: &[u8; 64]) -> bool {
    let r: &[u8; 32] = signature[..32].try_into().expect("64 = 32 + 32");
    !key.small_order
        && r_is_acceptable(r)
        && key
            .key
            .verify(&Signature::from_bytes(signature), message)
            .is_ok()
}

/// One signature to check in a batch.
#[derive(Debug, Clone, Copy)]
pub struct Signed<'a> {
    /// The signer's key.
    pub key: &'a PublicKey,
    /// The signed bytes.
    pub message: &'a [u8],
    /// The 64-byte signature.
    pub signature: &'a [u8; 64],
}

/// Whether every signature of `batch` is valid, in one cofactored
/// multi-scalar multiplication. `commitment` must commit to the whole batch
/// (a hash of it); the multipliers are drawn from its SHA-256. Agrees with
/// [`is_valid`] on every signature: true exactly when all are valid, but
/// for a chance of 2⁻¹²⁸ of calling an invalid batch valid.
#[must_use]
pub fn all_valid(batch: &[Signed<'_>], commitment: &[u8]) -> bool {
    let mut verifier = batch::Verifier::new();
    for signed in batch {
        let r: &[u8; 32] = signed.signature[..32].try_into().expect("64 = 32 + 32");
        if signed.key.small_order || !r_is_acceptable(r) {
            return false;
        }
        verifier.queue((
            VerificationKeyBytes::from(signed.key.key),
            Signature::from_bytes(signed.signature),
            signed.message,
        ));
    }
    let seed: [u8; 32] = Sha256::new()
        .chain_update(b"procura batch verification v1\0")
        .chain_update(commitment)
        .finalize()
        .into();
    verifier.verify(ChaCha20Rng::from_seed(seed)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use curve25519_dalek::edwards::CompressedEdwardsY;
    use proptest::prelude::*;

    /// The definition `is_small_order` stands for, by decompression.
    fn decodes_to_small_order(bytes: &[u8; 32]) -> bool {
        CompressedEdwardsY(*bytes)
            .decompress()
            .is_some_and(|point| point.is_small_order())
    }

    /// The definition rule 2 stands for: decodes, re-encodes to the same
    /// bytes, and is not of small order.
    fn canonical_and_not_small(bytes: &[u8; 32]) -> bool {
        CompressedEdwardsY(*bytes)
            .decompress()
            .is_some_and(|point| point.compress().to_bytes() == *bytes && !point.is_small_order())
    }

    /// Encodings near the edges: y in 0..40 and in p−20..2²⁵⁵, each sign,
    /// and the small-order points with the sign bit flipped.
    fn edge_encodings() -> Vec<[u8; 32]> {
        let mut out = Vec::new();
        for sign in [0u8, 0x80] {
            for low in 0u8..40 {
                let mut small = [0u8; 32];
                small[0] = low;
                small[31] |= sign;
                out.push(small);
            }
            // y from p − 20 to 2²⁵⁵ − 1 = p + 18.
            for low in 0xd9..=0xff {
                let mut high = P_BYTES;
                high[0] = low;
                high[31] |= sign;
                out.push(high);
            }
            let mut top = [0xff; 32];
            top[31] = 0x7f | sign;
            out.push(top);
            for point in EIGHT_TORSION {
                let mut bytes = point.compress().to_bytes();
                bytes[31] ^= sign;
                out.push(bytes);
                if let Some(unreduced) = plus_p(&bytes) {
                    out.push(unreduced);
                }
            }
        }
        out
    }

    #[test]
    fn the_blocklist_is_exactly_the_small_order_encodings() {
        let list = small_order_encodings();
        // 8 canonical, 2 negative zeros, and y + p for y = 0 (two signs:
        // the order-4 points) and y = 1 (identity, and its negative zero).
        assert_eq!(list.len(), 14, "{list:02x?}");
        for bytes in list {
            assert!(decodes_to_small_order(bytes), "{bytes:02x?}");
        }
        for bytes in edge_encodings() {
            assert_eq!(
                is_small_order(&bytes),
                decodes_to_small_order(&bytes),
                "{bytes:02x?}"
            );
            if CompressedEdwardsY(bytes).decompress().is_some() {
                assert_eq!(
                    r_is_acceptable(&bytes),
                    canonical_and_not_small(&bytes),
                    "{bytes:02x?}"
                );
            }
        }
    }

    #[test]
    fn reduced_y_is_below_p() {
        assert!(!y_is_reduced(&P_BYTES));
        let mut below = P_BYTES;
        below[0] -= 1;
        assert!(y_is_reduced(&below));
        let mut above = P_BYTES;
        above[0] += 1;
        assert!(!y_is_reduced(&above));
        // The sign bit is not part of y.
        let mut signed = below;
        signed[31] |= 0x80;
        assert!(y_is_reduced(&signed));
        assert!(y_is_reduced(&[0; 32]));
    }

    proptest! {
        #[test]
        fn small_order_agrees_with_decompression_on_any_bytes(bytes in any::<[u8; 32]>()) {
            prop_assert_eq!(is_small_order(&bytes), decodes_to_small_order(&bytes));
            if CompressedEdwardsY(bytes).decompress().is_some() {
                prop_assert_eq!(r_is_acceptable(&bytes), canonical_and_not_small(&bytes));
            }
        }
    }
}
