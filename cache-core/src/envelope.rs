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

use crate::json::{write_strings, write_u64, JsonError, Reader};

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvelopeError {
    /// Not JSON, or not an envelope.
    Corrupt(JsonError),
    /// An envelope of another format version.
    OtherFormat(u64),
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
    out.push_str("{\"f\":1,\"e\":");
    match expires_at {
        Some(e) => write_u64(&mut out, e),
        None => out.push_str("null"),
    }
    out.push_str(",\"w\":");
    write_u64(&mut out, written_at);
    out.push_str(",\"t\":");
    write_strings(&mut out, tags);
    out.push_str(",\"d\":");
    out.push_str(value_json);
    out.push('}');
    out
}

#[derive(Default)]
struct Fields<'a> {
    format: Option<u64>,
    expires_at: Option<Option<u64>>,
    written_at: Option<u64>,
    tags: Option<Vec<String>>,
    value_json: Option<&'a str>,
    unknown: bool,
}

/// Decodes a record, validating its format version and shape (the value is validated as
/// JSON but not parsed).
pub fn decode(raw: &str) -> Result<Record<'_>, EnvelopeError> {
    let mut reader = Reader::new(raw);
    let mut f = Fields::default();
    reader
        .object(|r, name| {
            match name.as_str() {
                "f" if f.format.is_none() => f.format = Some(r.u64()?),
                "e" if f.expires_at.is_none() => f.expires_at = Some(r.u64_or_null()?),
                "w" if f.written_at.is_none() => f.written_at = Some(r.u64()?),
                "t" if f.tags.is_none() => f.tags = Some(r.strings()?),
                "d" if f.value_json.is_none() => f.value_json = Some(r.raw_value()?),
                _ => {
                    f.unknown = true;
                    r.raw_value()?;
                }
            }
            Ok(())
        })
        .and_then(|()| reader.end())
        .map_err(EnvelopeError::Corrupt)?;
    let corrupt = |what| EnvelopeError::Corrupt(JsonError { at: 0, what });
    match f.format {
        None => return Err(corrupt("no format version")),
        Some(v) if v != u64::from(FORMAT_VERSION) => return Err(EnvelopeError::OtherFormat(v)),
        Some(_) if f.unknown => return Err(corrupt("unknown field")),
        Some(_) => {}
    }
    match (f.expires_at, f.written_at, f.value_json) {
        (Some(expires_at), Some(written_at), Some(value_json)) => Ok(Record {
            expires_at,
            written_at,
            tags: f.tags.unwrap_or_default(),
            value_json,
        }),
        _ => Err(corrupt("missing field")),
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
