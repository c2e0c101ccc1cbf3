//! Checkpoints: the log's signed tree heads (spec §C.4), C2SP
//! tlog-checkpoint bodies signed as C2SP signed notes.
//!
//! ```text
//! procura.example/rounds/r1
//! 13
//! <base64 of the 32-byte root hash>
//!
//! — procura.example <base64(key hash ‖ signature)>
//! ```
//!
//! The key name is the origin's first path element; the key hash is the
//! first 4 bytes of SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ public key); the
//! signature is Ed25519 over the body bytes.
//!
//! Decisions where the formats leave room (written down here and tested):
//! - a checkpoint body is exactly three lines (no extension lines), the
//!   size is decimal without leading zeros, the root is canonical base64 of
//!   32 bytes;
//! - a note may carry other signatures (C2SP: verifiers ignore keys they do
//!   not know), at most [`MAX_SIGNATURES`] lines; it verifies when one line
//!   has the operator's key name and key hash and its signature verifies. A
//!   line with the operator's name and hash whose signature fails makes the
//!   note fail, as in Go's `note.Open`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey};
use sha2::{Digest, Sha256};

use crate::envelope::KeyId;
use crate::merkle::Hash;
use crate::signature;

/// Most signature lines a note may carry (Go's `note` has the same bound).
pub const MAX_SIGNATURES: usize = 100;

/// Longest note text accepted, in bytes.
pub const MAX_NOTE_BYTES: usize = 64 * 1024;

/// A checkpoint body: the origin, the tree size and the root hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// `NAME/rounds/ROUND_ID`.
    pub origin: String,
    /// The number of entries.
    pub size: u64,
    /// The Merkle root of the entries.
    pub root: Hash,
}

/// Why a signed checkpoint was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    /// Longer than [`MAX_NOTE_BYTES`].
    #[error("the note is longer than {MAX_NOTE_BYTES} bytes")]
    TooLong,
    /// Not a body, a blank line and signature lines.
    #[error("not a signed note: {0}")]
    Format(&'static str),
    /// The body is not a three-line checkpoint.
    #[error("not a checkpoint body: {0}")]
    Body(&'static str),
    /// No signature line by the operator's key.
    #[error("no signature by the key {0}")]
    Unsigned(String),
    /// The operator's signature does not verify.
    #[error("the signature by {0} does not verify")]
    BadSignature(String),
}

/// The key hash of a signed note's key: the first 4 bytes of
/// SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key), where 0x01 is the Ed25519
/// algorithm byte.
#[must_use]
pub fn key_hash(name: &str, key: &[u8; 32]) -> [u8; 4] {
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update([0x0a, 0x01]);
    hasher.update(key);
    let digest: [u8; 32] = hasher.finalize().into();
    [digest[0], digest[1], digest[2], digest[3]]
}

/// Whether `name` can name a note key: non-empty, printable, no space and
/// no `+` (the C2SP rule).
#[must_use]
pub fn is_key_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && c != '+')
}

/// The signature line of `body` by `key` under `name`: `— name
/// base64(key hash ‖ signature)` and a newline.
#[must_use]
pub fn signature_line(name: &str, key: &SigningKey, body: &str) -> String {
    let mut blob = key_hash(name, key.verifying_key().as_bytes()).to_vec();
    blob.extend_from_slice(&key.sign(body.as_bytes()).to_bytes());
    format!("\u{2014} {name} {}\n", STANDARD.encode(blob))
}

/// `body` signed as a note by `key` under `name`: the body, a blank line
/// and one signature line. `body` ends in a newline.
#[must_use]
pub fn sign_note(body: &str, name: &str, key: &SigningKey) -> String {
    format!("{body}\n{}", signature_line(name, key, body))
}

/// Opens a signed note: checks it has a signature line by `name` and `key`
/// that verifies, and returns its body.
pub fn open_note<'a>(text: &'a str, name: &str, key: &KeyId) -> Result<&'a str, NoteError> {
    if text.len() > MAX_NOTE_BYTES {
        return Err(NoteError::TooLong);
    }
    let split = text
        .find("\n\n")
        .ok_or(NoteError::Format("no blank line after the body"))?;
    let (body, signatures) = (&text[..=split], &text[split + 2..]);
    if signatures.is_empty() || !signatures.ends_with('\n') {
        return Err(NoteError::Format(
            "the signature lines do not end in a newline",
        ));
    }
    let want = key_hash(name, key.bytes());
    let mut signed = false;
    let lines: Vec<&str> = signatures[..signatures.len() - 1].split('\n').collect();
    if lines.len() > MAX_SIGNATURES {
        return Err(NoteError::Format("too many signature lines"));
    }
    for line in lines {
        let rest = line.strip_prefix("\u{2014} ").ok_or(NoteError::Format(
            "a signature line does not start with an em dash and a space",
        ))?;
        let (line_name, blob) = rest
            .split_once(' ')
            .ok_or(NoteError::Format("a signature line has no key name"))?;
        if !is_key_name(line_name) {
            return Err(NoteError::Format(
                "a signature line's key name is not valid",
            ));
        }
        let blob = STANDARD
            .decode(blob)
            .map_err(|_| NoteError::Format("a signature is not base64"))?;
        if blob.len() < 4 {
            return Err(NoteError::Format(
                "a signature is shorter than its key hash",
            ));
        }
        if line_name != name || blob[..4] != want {
            continue;
        }
        let signature = <[u8; 64]>::try_from(&blob[4..])
            .map_err(|_| NoteError::BadSignature(name.to_owned()))?;
        if !signature::is_valid(key.key(), body.as_bytes(), &signature) {
            return Err(NoteError::BadSignature(name.to_owned()));
        }
        signed = true;
    }
    if !signed {
        return Err(NoteError::Unsigned(name.to_owned()));
    }
    Ok(body)
}

impl Checkpoint {
    /// The body: origin, size and base64 root, each line ending in a
    /// newline.
    #[must_use]
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root)
        )
    }

    /// The key name: the origin's first path element.
    #[must_use]
    pub fn key_name(&self) -> &str {
        key_name_of(&self.origin)
    }

    /// The body signed by the operator's `key`.
    #[must_use]
    pub fn sign(&self, key: &SigningKey) -> String {
        sign_note(&self.body(), self.key_name(), key)
    }

    /// Parses a three-line checkpoint body.
    pub fn parse_body(body: &str) -> Result<Checkpoint, NoteError> {
        let lines: Vec<&str> = body
            .strip_suffix('\n')
            .ok_or(NoteError::Body("it does not end in a newline"))?
            .split('\n')
            .collect();
        let [origin, size, root] = lines[..] else {
            return Err(NoteError::Body("it is not exactly three lines"));
        };
        if origin.is_empty() {
            return Err(NoteError::Body("the origin is empty"));
        }
        if size.is_empty()
            || !size.bytes().all(|b| b.is_ascii_digit())
            || (size.len() > 1 && size.starts_with('0'))
        {
            return Err(NoteError::Body(
                "the size is not a decimal number without leading zeros",
            ));
        }
        let size: u64 = size
            .parse()
            .map_err(|_| NoteError::Body("the size does not fit 64 bits"))?;
        let root: Hash = STANDARD
            .decode(root)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(NoteError::Body("the root is not the base64 of 32 bytes"))?;
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
        })
    }

    /// Opens a signed checkpoint with the operator's key: the signature
    /// line under the origin's key name must verify.
    pub fn open(text: &str, key: &KeyId) -> Result<Checkpoint, NoteError> {
        // The key name is read from the body's first line before the
        // signature is checked; it is checked again as the origin below.
        let first = text.split('\n').next().unwrap_or_default();
        let body = open_note(text, key_name_of(first), key)?;
        Checkpoint::parse_body(body)
    }
}

/// The origin's first path element.
fn key_name_of(origin: &str) -> &str {
    origin.split('/').next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str =
        "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";

    fn peter() -> SigningKey {
        // The Go note documentation's signer key: after the algorithm byte
        // 0x01, the base64 holds the Ed25519 seed.
        let skey = STANDARD
            .decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")
            .expect("base64");
        assert_eq!(skey[0], 0x01);
        SigningKey::from_bytes(&skey[1..].try_into().expect("32 bytes"))
    }

    #[test]
    fn the_go_note_vector_signs_and_verifies_byte_for_byte() {
        let key = peter();
        assert_eq!(
            hex::encode(key.verifying_key().as_bytes()),
            "1a5cd907143c384c41e830c5bce12aa8817ec5649aaabf2c31388b35b2d744d6"
        );
        assert_eq!(
            hex::encode(key_hash("PeterNeumann", key.verifying_key().as_bytes())),
            "c74f20a3"
        );
        let line = signature_line("PeterNeumann", &key, TEXT);
        assert_eq!(
            line,
            "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
        );
        let note = sign_note(TEXT, "PeterNeumann", &key);
        assert_eq!(
            open_note(&note, "PeterNeumann", &KeyId::of(&key.verifying_key())),
            Ok(TEXT)
        );
    }

    #[test]
    fn notes_by_other_keys_or_with_changed_bodies_do_not_open() {
        let key = peter();
        let other = SigningKey::from_bytes(&[9; 32]);
        let note = sign_note(TEXT, "PeterNeumann", &key);
        assert!(matches!(
            open_note(&note, "PeterNeumann", &KeyId::of(&other.verifying_key())),
            Err(NoteError::Unsigned(_))
        ));
        let changed = note.replacen("cryptography", "cryptograph", 1);
        assert!(matches!(
            open_note(&changed, "PeterNeumann", &KeyId::of(&key.verifying_key())),
            Err(NoteError::BadSignature(_))
        ));
        // An unknown signature beside the right one is ignored.
        let cosigned = format!("{note}{}", signature_line("Other", &other, TEXT));
        assert_eq!(
            open_note(&cosigned, "PeterNeumann", &KeyId::of(&key.verifying_key())),
            Ok(TEXT)
        );
        for broken in [
            TEXT.to_owned(),
            note.trim_end().to_owned(),
            note.replace('\u{2014}', "-"),
        ] {
            assert!(open_note(&broken, "PeterNeumann", &KeyId::of(&key.verifying_key())).is_err());
        }
    }

    #[test]
    fn a_checkpoint_round_trips_and_strict_bodies_are_enforced() {
        let key = SigningKey::from_bytes(&[3; 32]);
        let checkpoint = Checkpoint {
            origin: "procura.example/rounds/r1".into(),
            size: 13,
            root: [7; 32],
        };
        let note = checkpoint.sign(&key);
        assert!(note.contains("\n\n\u{2014} procura.example "));
        assert_eq!(
            Checkpoint::open(&note, &KeyId::of(&key.verifying_key())),
            Ok(checkpoint)
        );
        for body in [
            "o\n013\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n",
            "o\n13\nBwcH\n",
            "o\n13\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\nextension\n",
            "o\n-1\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n",
            "o\n13\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=",
        ] {
            assert!(Checkpoint::parse_body(body).is_err(), "{body:?}");
        }
    }
}
