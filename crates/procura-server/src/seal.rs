//! Entries sealed at rest: every stored entry's bytes are encrypted with
//! XChaCha20-Poly1305 under a key derived from the operator seed
//! (SHA-256 of `"procura storage key v1"` and the seed), with a random
//! 24-byte nonce stored beside the ciphertext.
//!
//! Reveals and decisions arrive while their phase is open, and §C.5 keeps
//! them from everyone else until it closes; with the database encrypted, a
//! copy of it (or of its write-ahead log) shows no bid or cost. The round
//! id, the index and the kind are the associated data, so a row moved to
//! another round or index, or relabelled, fails to open.

use chacha20poly1305::aead::{Aead as _, AeadCore as _, KeyInit as _, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest as _, Sha256};

/// The label hashed with the seed into the storage key.
const KEY_LABEL: &[u8] = b"procura storage key v1";

/// The cipher for stored entries.
pub(crate) struct Sealer(XChaCha20Poly1305);

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

/// Why a stored entry did not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SealError {
    #[error("the nonce is not 24 bytes")]
    Nonce,
    #[error(
        "the ciphertext does not authenticate: the row was edited or moved, or the key file changed"
    )]
    Open,
    #[error("sealing failed")]
    Seal,
}

fn associated(round: &str, index: u64, kind: &str) -> Vec<u8> {
    let mut data = b"procura entry v1\0".to_vec();
    data.extend_from_slice(round.as_bytes());
    data.push(0);
    data.extend_from_slice(&index.to_be_bytes());
    data.extend_from_slice(kind.as_bytes());
    data
}

impl Sealer {
    /// The cipher keyed by SHA-256(label ‖ seed).
    pub(crate) fn new(seed: &[u8; 32]) -> Sealer {
        let mut hasher = Sha256::new();
        hasher.update(KEY_LABEL);
        hasher.update(seed);
        let key: [u8; 32] = hasher.finalize().into();
        Sealer(XChaCha20Poly1305::new(&key.into()))
    }

    /// Encrypts an entry's leaf bytes: (nonce, ciphertext).
    pub(crate) fn seal(
        &self,
        round: &str,
        index: u64,
        kind: &str,
        bytes: &[u8],
    ) -> Result<(Vec<u8>, Vec<u8>), SealError> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let aad = associated(round, index, kind);
        let ciphertext = self
            .0
            .encrypt(
                &nonce,
                Payload {
                    msg: bytes,
                    aad: &aad,
                },
            )
            .map_err(|_| SealError::Seal)?;
        Ok((nonce.to_vec(), ciphertext))
    }

    /// Decrypts a stored entry.
    pub(crate) fn open(
        &self,
        round: &str,
        index: u64,
        kind: &str,
        nonce: &[u8],
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, SealError> {
        if nonce.len() != 24 {
            return Err(SealError::Nonce);
        }
        let aad = associated(round, index, kind);
        self.0
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| SealError::Open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_bytes_open_only_at_their_place_with_their_key() {
        let sealer = Sealer::new(&[1; 32]);
        let (nonce, ciphertext) = sealer.seal("r1", 3, "reveal", b"secret bid").expect("seal");
        assert_eq!(nonce.len(), 24);
        assert!(!ciphertext.windows(6).any(|w| w == b"secret"));
        assert_eq!(
            sealer
                .open("r1", 3, "reveal", &nonce, &ciphertext)
                .expect("open"),
            b"secret bid"
        );
        assert_eq!(
            sealer.open("r2", 3, "reveal", &nonce, &ciphertext),
            Err(SealError::Open)
        );
        assert_eq!(
            sealer.open("r1", 4, "reveal", &nonce, &ciphertext),
            Err(SealError::Open)
        );
        assert_eq!(
            sealer.open("r1", 3, "commit", &nonce, &ciphertext),
            Err(SealError::Open)
        );
        assert_eq!(
            Sealer::new(&[2; 32]).open("r1", 3, "reveal", &nonce, &ciphertext),
            Err(SealError::Open)
        );
        let mut edited = ciphertext;
        edited[0] ^= 1;
        assert_eq!(
            sealer.open("r1", 3, "reveal", &nonce, &edited),
            Err(SealError::Open)
        );
        let (other, _) = sealer.seal("r1", 3, "reveal", b"secret bid").expect("seal");
        assert_ne!(other, nonce, "nonces are random");
    }
}
