//! Signed statements: DSSE v1 envelopes with one Ed25519 signature (spec
//! §C.1, §C.2).
//!
//! ```json
//! {"payloadType":"application/vnd.procura.commit+json","payload":"<base64>","signatures":[{"keyid":"<key id>","sig":"<base64>"}]}
//! ```
//!
//! The signature is Ed25519 over PAE(payloadType, payload) =
//! `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`. An envelope is
//! parsed strictly, so that its **leaf bytes** (the form above, no
//! whitespace, keys in that order) are unique: the payload type is one of
//! the seven kinds, the key id is 64 lowercase hex digits, both base64
//! strings are canonical standard base64 with padding, there is exactly one
//! signature and no other field. Payload bytes are kept as the author wrote
//! them; nobody re-serializes a payload.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use serde::Deserialize;

use crate::merkle::{leaf_hash, Hash};
use crate::signature::{self, PublicKey};

/// The kinds of entry, each with its payload type
/// `application/vnd.procura.<kind>+json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Creates a round (the buyer).
    Open,
    /// A sealed bid or cost (a participant).
    Commit,
    /// Ends a phase (the buyer).
    Close,
    /// Opens a commitment (a participant).
    Reveal,
    /// The cleared outcome (the operator).
    Outcome,
    /// Stay or withdraw (an assigned user).
    Decide,
    /// Training and escrow release (the operator).
    Settle,
}

impl Kind {
    /// Every kind, in the order of §C.2.
    pub const ALL: [Kind; 7] = [
        Kind::Open,
        Kind::Commit,
        Kind::Close,
        Kind::Reveal,
        Kind::Outcome,
        Kind::Decide,
        Kind::Settle,
    ];

    /// The kind's name: `open`, `commit`, …
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Kind::Open => "open",
            Kind::Commit => "commit",
            Kind::Close => "close",
            Kind::Reveal => "reveal",
            Kind::Outcome => "outcome",
            Kind::Decide => "decide",
            Kind::Settle => "settle",
        }
    }

    /// The payload type, `application/vnd.procura.<kind>+json`.
    #[must_use]
    pub fn payload_type(self) -> &'static str {
        match self {
            Kind::Open => "application/vnd.procura.open+json",
            Kind::Commit => "application/vnd.procura.commit+json",
            Kind::Close => "application/vnd.procura.close+json",
            Kind::Reveal => "application/vnd.procura.reveal+json",
            Kind::Outcome => "application/vnd.procura.outcome+json",
            Kind::Decide => "application/vnd.procura.decide+json",
            Kind::Settle => "application/vnd.procura.settle+json",
        }
    }

    /// The kind of a payload type, if it is one of procura's.
    #[must_use]
    pub fn of_payload_type(payload_type: &str) -> Option<Kind> {
        Kind::ALL
            .into_iter()
            .find(|kind| kind.payload_type() == payload_type)
    }
}

/// An identity: an Ed25519 public key, named by its key id, the lowercase
/// hex of its 32 bytes (§C.1). The key is decompressed once, when the id is
/// parsed, and kept beside its bytes.
#[derive(Debug, Clone, Copy)]
pub struct KeyId {
    bytes: [u8; 32],
    key: PublicKey,
}

impl PartialEq for KeyId {
    fn eq(&self, other: &KeyId) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for KeyId {}

impl std::hash::Hash for KeyId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.bytes.hash(state);
    }
}

/// Why a key id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyIdError {
    /// Not 64 lowercase hex digits.
    #[error("a key id is 64 lowercase hex digits")]
    NotHex,
    /// The bytes are not an Ed25519 public key.
    #[error("not an Ed25519 public key")]
    NotAKey,
}

impl KeyId {
    /// Parses a key id, checking that it is an Ed25519 public key.
    pub fn parse(text: &str) -> Result<KeyId, KeyIdError> {
        let bytes = parse_hex32(text).ok_or(KeyIdError::NotHex)?;
        let key = PublicKey::decode(bytes).ok_or(KeyIdError::NotAKey)?;
        Ok(KeyId { bytes, key })
    }

    /// The key id of a public key.
    #[must_use]
    pub fn of(key: &VerifyingKey) -> KeyId {
        let bytes = key.to_bytes();
        KeyId {
            bytes,
            key: PublicKey::decode(bytes).expect("a VerifyingKey is a curve point"),
        }
    }

    /// The public key's 32 bytes.
    #[must_use]
    pub fn bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// The public key, decoded for verification (see [`signature`]).
    #[must_use]
    pub fn key(&self) -> &PublicKey {
        &self.key
    }
}

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.bytes))
    }
}

/// 64 lowercase hex digits as 32 bytes; `None` otherwise.
#[must_use]
pub fn parse_hex32(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut bytes = [0; 32];
    hex::decode_to_slice(text, &mut bytes).ok()?;
    Some(bytes)
}

/// Why a key file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a key file holds the 32-byte Ed25519 seed as 64 lowercase hex digits and a newline")]
pub struct KeyFileError;

/// A secret key as procura's key files hold it: the 32-byte Ed25519 seed
/// as 64 lowercase hex digits, then a newline, which may be missing (the
/// server's `--key` and the client's `procura market keygen` both write
/// this form).
pub fn parse_key_file(text: &str) -> Result<SigningKey, KeyFileError> {
    let seed = parse_hex32(text.strip_suffix('\n').unwrap_or(text)).ok_or(KeyFileError)?;
    Ok(SigningKey::from_bytes(&seed))
}

/// The key file text of `key`: [`parse_key_file`]'s form.
#[must_use]
pub fn key_file(key: &SigningKey) -> String {
    format!("{}\n", hex::encode(key.to_bytes()))
}

/// PAE(type, body) of DSSE v1: `"DSSEv1" SP LEN(type) SP type SP LEN(body)
/// SP body`.
#[must_use]
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// A well-formed envelope; its signature is checked by
/// [`Envelope::verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    kind: Kind,
    payload: Vec<u8>,
    payload_base64: String,
    signer: KeyId,
    signature: [u8; 64],
    signature_base64: String,
}

/// Why an envelope is malformed or its signature does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// Not the JSON of an envelope (a missing or extra field, a wrong type).
    #[error("not a DSSE envelope: {0}")]
    Syntax(String),
    /// A payload type that is not one of procura's kinds.
    #[error("payloadType {0:?} is not application/vnd.procura.<kind>+json for a kind of entry")]
    PayloadType(String),
    /// A field that is not canonical standard base64 with padding.
    #[error("{0} is not canonical standard base64 with padding")]
    Base64(&'static str),
    /// Not exactly one signature.
    #[error("an envelope has exactly one signature, this one has {0}")]
    Signatures(usize),
    /// A bad key id.
    #[error("signatures[0].keyid: {0}")]
    KeyId(KeyIdError),
    /// A signature that is not 64 bytes.
    #[error("signatures[0].sig is not 64 bytes")]
    SignatureLength,
    /// The signature does not verify with the key id's key (named by its
    /// hex key id).
    #[error("the signature does not verify with key {0}")]
    BadSignature(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvelopeJson {
    #[serde(rename = "payloadType")]
    payload_type: String,
    payload: String,
    signatures: Vec<SignatureJson>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignatureJson {
    keyid: String,
    sig: String,
}

fn decode_base64(text: &str, field: &'static str) -> Result<Vec<u8>, EnvelopeError> {
    STANDARD
        .decode(text)
        .map_err(|_| EnvelopeError::Base64(field))
}

impl Envelope {
    /// Parses an envelope from its JSON text (any whitespace, any key
    /// order); the signature is not checked here.
    pub fn parse(text: &[u8]) -> Result<Envelope, EnvelopeError> {
        let json: EnvelopeJson = serde_json::from_slice(text)
            .map_err(|error| EnvelopeError::Syntax(error.to_string()))?;
        Envelope::from_json(json, KeyId::parse)
    }

    /// Parses an envelope from a JSON value.
    pub fn from_value(value: serde_json::Value) -> Result<Envelope, EnvelopeError> {
        Envelope::from_value_with_keys(value, KeyId::parse)
    }

    /// [`Envelope::from_value`] with the signer's key id parsed by `key`:
    /// a transcript parses each distinct key once (decompressing a key is a
    /// tenth of verifying a large transcript), then looks keys up.
    pub fn from_value_with_keys(
        value: serde_json::Value,
        key: impl Fn(&str) -> Result<KeyId, KeyIdError>,
    ) -> Result<Envelope, EnvelopeError> {
        let json: EnvelopeJson = serde_json::from_value(value)
            .map_err(|error| EnvelopeError::Syntax(error.to_string()))?;
        Envelope::from_json(json, key)
    }

    fn from_json(
        json: EnvelopeJson,
        key: impl Fn(&str) -> Result<KeyId, KeyIdError>,
    ) -> Result<Envelope, EnvelopeError> {
        let kind = Kind::of_payload_type(&json.payload_type)
            .ok_or(EnvelopeError::PayloadType(json.payload_type))?;
        let payload = decode_base64(&json.payload, "payload")?;
        let [signature] = <[SignatureJson; 1]>::try_from(json.signatures)
            .map_err(|signatures| EnvelopeError::Signatures(signatures.len()))?;
        let signer = key(&signature.keyid).map_err(EnvelopeError::KeyId)?;
        let bytes = decode_base64(&signature.sig, "signatures[0].sig")?;
        let signature_bytes: [u8; 64] = bytes
            .try_into()
            .map_err(|_| EnvelopeError::SignatureLength)?;
        Ok(Envelope {
            kind,
            payload,
            payload_base64: json.payload,
            signer,
            signature: signature_bytes,
            signature_base64: signature.sig,
        })
    }

    /// Signs `payload` as an entry of `kind` with `key`.
    #[must_use]
    pub fn sign(kind: Kind, payload: Vec<u8>, key: &SigningKey) -> Envelope {
        let signature = key.sign(&pae(kind.payload_type(), &payload)).to_bytes();
        Envelope {
            kind,
            payload_base64: STANDARD.encode(&payload),
            payload,
            signer: KeyId::of(&key.verifying_key()),
            signature,
            signature_base64: STANDARD.encode(signature),
        }
    }

    /// Checks the signature over PAE with the signer's key, by the rule of
    /// [`signature`] (small-order keys and malleable signatures fail).
    pub fn verify(&self) -> Result<(), EnvelopeError> {
        if signature::is_valid(self.signer.key(), &self.signed_bytes(), &self.signature) {
            Ok(())
        } else {
            Err(EnvelopeError::BadSignature(self.signer.to_string()))
        }
    }

    /// The bytes the signature is over: PAE(payload type, payload).
    #[must_use]
    pub fn signed_bytes(&self) -> Vec<u8> {
        pae(self.kind.payload_type(), &self.payload)
    }

    /// The signer's public key.
    #[must_use]
    pub fn signer_key(&self) -> &PublicKey {
        self.signer.key()
    }

    /// The 64-byte signature.
    #[must_use]
    pub fn signature(&self) -> &[u8; 64] {
        &self.signature
    }

    /// The kind of entry.
    #[must_use]
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The payload bytes, as the author wrote them.
    #[must_use]
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The signer's key id.
    #[must_use]
    pub fn signer(&self) -> KeyId {
        self.signer
    }

    /// The leaf bytes: the envelope with no whitespace and its keys in the
    /// order of §C.2.
    #[must_use]
    pub fn leaf_bytes(&self) -> String {
        format!(
            r#"{{"payloadType":"{}","payload":"{}","signatures":[{{"keyid":"{}","sig":"{}"}}]}}"#,
            self.kind.payload_type(),
            self.payload_base64,
            self.signer,
            self.signature_base64
        )
    }

    /// The Merkle leaf hash of the leaf bytes.
    #[must_use]
    pub fn leaf_hash(&self) -> Hash {
        leaf_hash(self.leaf_bytes().as_bytes())
    }

    /// The envelope as a JSON value (the leaf bytes, parsed).
    #[must_use]
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::json!({
            "payloadType": self.kind.payload_type(),
            "payload": self.payload_base64,
            "signatures": [{"keyid": self.signer.to_string(), "sig": self.signature_base64}],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> SigningKey {
        SigningKey::from_bytes(&[byte; 32])
    }

    #[test]
    fn a_key_file_round_trips_and_nothing_else_parses() {
        let key = key(0xab);
        assert_eq!(
            parse_key_file(&key_file(&key)).map(|k| k.to_bytes()),
            Ok(key.to_bytes())
        );
        let text = key_file(&key);
        assert!(
            parse_key_file(text.trim_end()).is_ok(),
            "the newline may be missing"
        );
        for bad in [&text.to_uppercase(), "", &format!("{text}\n"), &text[1..]] {
            assert_eq!(
                parse_key_file(bad).map(|_| ()),
                Err(KeyFileError),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn pae_is_the_dsse_documents_vector() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
    }

    #[test]
    fn a_signed_envelope_round_trips_through_its_leaf_bytes_and_verifies() {
        let envelope = Envelope::sign(Kind::Commit, br#"{"round":"r1"}"#.to_vec(), &key(7));
        envelope.verify().expect("verifies");
        let parsed = Envelope::parse(envelope.leaf_bytes().as_bytes()).expect("parses");
        assert_eq!(parsed, envelope);
        assert_eq!(parsed.leaf_bytes(), envelope.leaf_bytes());
        // Whitespace and key order do not change the leaf bytes.
        let spaced = format!(
            "{{ \"signatures\": [ {{ \"sig\": \"{}\", \"keyid\": \"{}\" }} ], \"payload\": \"{}\", \
             \"payloadType\": \"{}\" }}",
            envelope.signature_base64,
            envelope.signer,
            envelope.payload_base64,
            Kind::Commit.payload_type()
        );
        let parsed = Envelope::parse(spaced.as_bytes()).expect("parses");
        assert_eq!(parsed.leaf_bytes(), envelope.leaf_bytes());
    }

    #[test]
    fn a_changed_payload_type_payload_or_signer_does_not_verify() {
        let envelope = Envelope::sign(Kind::Commit, br#"{"round":"r1"}"#.to_vec(), &key(7));
        let mut other = envelope.clone();
        other.kind = Kind::Reveal;
        assert!(matches!(
            other.verify(),
            Err(EnvelopeError::BadSignature(_))
        ));
        let mut other = envelope.clone();
        other.payload.push(b' ');
        assert!(other.verify().is_err());
        let mut other = envelope.clone();
        other.signer = KeyId::of(&key(8).verifying_key());
        assert!(other.verify().is_err());
        let mut other = envelope;
        other.signature[0] ^= 1;
        assert!(other.verify().is_err());
    }

    #[test]
    fn malformed_envelopes_are_refused_with_the_reason() {
        let good = Envelope::sign(Kind::Close, b"{}".to_vec(), &key(1));
        let value = good.to_value();
        let with = |edit: &dyn Fn(&mut serde_json::Value)| {
            let mut value = value.clone();
            edit(&mut value);
            Envelope::from_value(value)
        };
        assert!(matches!(
            with(&|v| v["extra"] = 1.into()),
            Err(EnvelopeError::Syntax(_))
        ));
        assert!(matches!(
            with(&|v| v["payloadType"] = "application/json".into()),
            Err(EnvelopeError::PayloadType(_))
        ));
        assert!(matches!(
            with(&|v| v["payload"] = "e30".into()),
            Err(EnvelopeError::Base64("payload"))
        ));
        // Non-canonical trailing bits: "e31=" decodes to the same bytes as
        // "e30=" in a lenient decoder.
        assert!(matches!(
            with(&|v| v["payload"] = "e31=".into()),
            Err(EnvelopeError::Base64("payload"))
        ));
        assert!(matches!(
            with(&|v| v["signatures"] = serde_json::json!([])),
            Err(EnvelopeError::Signatures(0))
        ));
        let two = serde_json::json!([value["signatures"][0], value["signatures"][0]]);
        assert!(matches!(
            with(&|v| v["signatures"] = two.clone()),
            Err(EnvelopeError::Signatures(2))
        ));
        let upper = good.signer.to_string().to_uppercase();
        assert!(matches!(
            with(&|v| v["signatures"][0]["keyid"] = upper.clone().into()),
            Err(EnvelopeError::KeyId(KeyIdError::NotHex))
        ));
        assert!(matches!(
            with(&|v| v["signatures"][0]["sig"] = "AAAA".into()),
            Err(EnvelopeError::SignatureLength)
        ));
        assert!(Envelope::parse(b"[1]").is_err());
        assert!(Envelope::parse(b"").is_err());
    }
}
