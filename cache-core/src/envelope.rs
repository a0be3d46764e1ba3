//! The storage envelope: one persisted record holds the value, its expiry, its tags, when it
//! was written and the format version, so an entry is never half-written and a record of
//! another format is recognised rather than served.
//!
//! The record is JSON with the value last and kept as raw JSON text, so decoding the envelope
//! does not parse the value (the browser parses it lazily, once):
//!
//! ```
//! use cache_core::envelope::{decode, encode};
//! let raw = encode(Some(2_000), 1_000, &["catalog".to_string()], r#"{"id":42}"#);
//! assert_eq!(raw, r#"{"f":1,"e":2000,"w":1000,"t":["catalog"],"d":{"id":42}}"#);
//! let record = decode(&raw).unwrap();
//! assert_eq!(record.expires_at, Some(2_000));
//! assert_eq!(record.value_json, r#"{"id":42}"#);
//! ```

use serde::Deserialize;
use serde_json::value::RawValue;
use std::fmt::Write as _;

/// The format version this crate writes. Records of any other version are rejected.
pub const FORMAT_VERSION: u32 = 1;

/// A decoded record; `value_json` borrows the value's JSON text from the raw record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    /// Absolute expiry in milliseconds of the caller's clock, `None` for never.
    pub expires_at: Option<u64>,
    /// When the record was written, in the same clock.
    pub written_at: u64,
    /// Tags of the entry.
    pub tags: Vec<String>,
    /// The value, as JSON text.
    pub value_json: &'a str,
}

/// Why a record could not be decoded. Every case means: treat as a miss and remove it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// Not JSON, or not an envelope.
    #[error("corrupt record: {0}")]
    Corrupt(String),
    /// An envelope of another format version.
    #[error("record format {0} is not {FORMAT_VERSION}")]
    OtherFormat(u32),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire<'a> {
    f: u32,
    e: Option<u64>,
    w: u64,
    #[serde(default)]
    t: Vec<String>,
    #[serde(borrow)]
    d: &'a RawValue,
}

#[derive(Deserialize)]
struct FormatOnly {
    f: u32,
}

/// Encodes a record. `value_json` must be one JSON value (as produced by `JSON.stringify`);
/// if it is not, the record will later decode as [`EnvelopeError::Corrupt`].
#[must_use]
pub fn encode(
    expires_at: Option<u64>,
    written_at: u64,
    tags: &[String],
    value_json: &str,
) -> String {
    let mut out = String::with_capacity(value_json.len() + 48);
    out.push_str("{\"f\":");
    let _ = write!(out, "{FORMAT_VERSION},\"e\":");
    match expires_at {
        Some(e) => {
            let _ = write!(out, "{e}");
        }
        None => out.push_str("null"),
    }
    let _ = write!(out, ",\"w\":{written_at},\"t\":");
    out.push_str(&serde_json::to_string(tags).unwrap_or_else(|_| "[]".into()));
    out.push_str(",\"d\":");
    out.push_str(value_json);
    out.push('}');
    out
}

/// Decodes a record, validating its format version and shape.
pub fn decode(raw: &str) -> Result<Record<'_>, EnvelopeError> {
    match serde_json::from_str::<Wire<'_>>(raw) {
        Ok(wire) if wire.f == FORMAT_VERSION => Ok(Record {
            expires_at: wire.e,
            written_at: wire.w,
            tags: wire.t,
            value_json: wire.d.get(),
        }),
        Ok(wire) => Err(EnvelopeError::OtherFormat(wire.f)),
        Err(e) => match serde_json::from_str::<FormatOnly>(raw) {
            Ok(FormatOnly { f }) if f != FORMAT_VERSION => Err(EnvelopeError::OtherFormat(f)),
            _ => Err(EnvelopeError::Corrupt(e.to_string())),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn never_expiring_record() {
        let raw = encode(None, 5, &[], "\"x\"");
        let r = decode(&raw).unwrap();
        assert_eq!(
            (r.expires_at, r.written_at, r.value_json),
            (None, 5, "\"x\"")
        );
        assert!(r.tags.is_empty());
    }

    #[test]
    fn corrupt_and_foreign_records_are_errors() {
        for raw in [
            "",
            "hello",
            "{\"f\":1}",
            "{\"f\":1,\"e\":null,\"w\":1,\"t\":[],\"d\":",
            "{\"f\":1,\"e\":\"soon\",\"w\":1,\"t\":[],\"d\":1}",
            "[1,2]",
            "{\"f\":1,\"e\":null,\"w\":1,\"t\":[],\"d\":1,\"x\":0}",
        ] {
            assert!(
                matches!(decode(raw), Err(EnvelopeError::Corrupt(_))),
                "{raw:?}"
            );
        }
        assert_eq!(
            decode("{\"f\":0,\"e\":null,\"w\":1,\"t\":[],\"d\":1}"),
            Err(EnvelopeError::OtherFormat(0))
        );
        assert_eq!(
            decode("{\"f\":7,\"new\":true}"),
            Err(EnvelopeError::OtherFormat(7))
        );
    }

    #[test]
    fn invalid_value_json_is_corrupt() {
        let raw = encode(None, 1, &[], "{not json");
        assert!(matches!(decode(&raw), Err(EnvelopeError::Corrupt(_))));
    }

    proptest! {
        #[test]
        fn round_trips(e in proptest::option::of(any::<u64>()), w in any::<u64>(),
                       tags in proptest::collection::vec(".{0,8}", 0..4), s in ".{0,16}") {
            let value = serde_json::to_string(&s).unwrap();
            let raw = encode(e, w, &tags, &value);
            let r = decode(&raw).unwrap();
            prop_assert_eq!(r.expires_at, e);
            prop_assert_eq!(r.written_at, w);
            prop_assert_eq!(r.tags, tags);
            prop_assert_eq!(r.value_json, value.as_str());
        }
    }
}
