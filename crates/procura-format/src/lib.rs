//! # procura-format: the specification's JSON, in and out
//!
//! The instance files of the specification (§A.1 procurement, §B.1
//! threshold) read into validated instances, and outcomes (§A.2, §B.2–§B.4)
//! and instances written back as JSON. The command line, and every other
//! edge that speaks the spec's JSON, goes through these functions, so the
//! same instance gives the same bytes wherever it is cleared.
//!
//! - [`read`]: text to [`Instance`](procura_mechanisms::procurement::Instance)
//!   or [`ThresholdInstance`](procura_mechanisms::threshold::ThresholdInstance);
//!   a malformed or invalid file gets a [`read::ReadError`] that names the
//!   field and the record (`provider "acme" (#0): quality 1.5 is outside
//!   [0, 1]`).
//! - [`write`](mod@write): outcomes and instances to pretty-printed JSON. Every double
//!   is written so that it reads back as the same double. An outcome that
//!   names a participant its instance does not have (it was cleared from
//!   another instance) is a [`write::WriteError`], never a panic.
//! - `schema` (feature `schema`): the JSON Schemas of both
//!   formats, derived from the same types.
//!
//! The crate does no IO: callers read and write the text.
//!
//! ```
//! use procura_format::{read, write};
//! use procura_mechanisms::procurement::{clear, Auction};
//!
//! let text = r#"{"budget": 10, "providers": [
//!     {"id": "acme", "bid": 2, "quality": 0.9, "utility": 1.5}]}"#;
//! let instance = read::procurement_instance(text)?;
//! let outcome = clear(&instance, Auction::Qmia)?;
//! let json = write::procurement_outcome(&instance, &outcome)?;
//! assert!(json.starts_with("{\n  \"mechanism\": \"qmia\""));
//!
//! let error = read::procurement_instance(r#"{"budget": 1, "providers": [
//!     {"id": "acme", "bid": 2, "quality": 1.5, "utility": 1}]}"#).unwrap_err();
//! assert_eq!(error.to_string(), r#"provider "acme" (#0): quality 1.5 is outside [0, 1]"#);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

pub mod audit_report;
pub mod read;
#[cfg(feature = "schema")]
pub mod schema;
pub mod write;
