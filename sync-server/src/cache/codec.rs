//! How a value is stored in Redis: a 5-byte header, then the value, deflated above a threshold.
//!
//! | Byte(s) | What |
//! |---|---|
//! | 0 | flags: bit 0 = the value is deflated (raw deflate, flate2) |
//! | 1..5 | how long the loader took to compute the value, in ms (u32, little-endian; 0 = unknown), used by probabilistic early refresh |
//! | 5.. | the value |
//!
//! ```
//! use sync_server::cache::codec::{decode, encode};
//! let stored = encode(&[b'x'; 4096], 120, Some(1024));
//! assert!(stored.len() < 200);
//! let frame = decode(&stored).unwrap();
//! assert_eq!(frame.value, vec![b'x'; 4096]);
//! assert_eq!(frame.compute_ms, 120);
//! ```

use super::CacheError;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use flate2::Compression;
use std::io::{Read, Write};

const DEFLATED: u8 = 1;
const HEADER: usize = 5;
/// The largest value a stored frame may inflate to: 64 MiB. Default of [`decode`].
pub const MAX_INFLATED_BYTES: u64 = 64 << 20;

/// A decoded stored value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The value.
    pub value: Vec<u8>,
    /// How long computing it took, in ms (0 when unknown).
    pub compute_ms: u32,
}

/// Frames `value`, deflating it when `compress_above` is set and the value is longer.
#[must_use]
pub fn encode(value: &[u8], compute_ms: u32, compress_above: Option<usize>) -> Vec<u8> {
    let deflated = compress_above
        .filter(|limit| value.len() > *limit)
        .and_then(|_| deflate(value))
        .filter(|d| d.len() < value.len());
    let (flags, body) = match &deflated {
        Some(d) => (DEFLATED, d.as_slice()),
        None => (0, value),
    };
    let mut out = Vec::with_capacity(HEADER + body.len());
    out.push(flags);
    out.extend_from_slice(&compute_ms.to_le_bytes());
    out.extend_from_slice(body);
    out
}

fn deflate(value: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = DeflateEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(value).ok()?;
    encoder.finish().ok()
}

/// Reads a frame written by [`encode`]; [`CacheError::Corrupt`] when it is not one.
pub fn decode(stored: &[u8]) -> Result<Frame, CacheError> {
    let (header, body) = stored
        .split_at_checked(HEADER)
        .ok_or(CacheError::Corrupt("shorter than its header"))?;
    let flags = header[0];
    let compute_ms = u32::from_le_bytes([header[1], header[2], header[3], header[4]]);
    let value = match flags {
        0 => body.to_vec(),
        DEFLATED => {
            let mut out = Vec::new();
            DeflateDecoder::new(body)
                .take(MAX_INFLATED_BYTES + 1)
                .read_to_end(&mut out)
                .map_err(|_| CacheError::Corrupt("bad deflate data"))?;
            if out.len() as u64 > MAX_INFLATED_BYTES {
                return Err(CacheError::Corrupt("inflates beyond 64 MiB"));
            }
            out
        }
        _ => return Err(CacheError::Corrupt("unknown flags")),
    };
    Ok(Frame { value, compute_ms })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_values_stay_plain_and_round_trip() {
        let stored = encode(b"hello", 7, Some(1024));
        assert_eq!(stored[0], 0);
        assert_eq!(stored.len(), 10);
        let frame = decode(&stored).unwrap();
        assert_eq!(
            (frame.value.as_slice(), frame.compute_ms),
            (&b"hello"[..], 7)
        );
    }

    #[test]
    fn incompressible_values_are_stored_plain() {
        let noise: Vec<u8> = (0..4096).map(|_| fastrand::u8(..)).collect();
        let stored = encode(&noise, 0, Some(16));
        assert_eq!(stored[0], 0);
        assert_eq!(decode(&stored).unwrap().value, noise);
    }

    #[test]
    fn bad_frames_are_errors_not_panics() {
        let why = |stored: &[u8]| match decode(stored) {
            Err(CacheError::Corrupt(why)) => why,
            other => panic!("{other:?}"),
        };
        assert_eq!(why(b"\0\0"), "shorter than its header");
        assert_eq!(why(b"\x09\0\0\0\0x"), "unknown flags");
        assert_eq!(why(b"\x01\0\0\0\0garbage"), "bad deflate data");
        assert_eq!(decode(b"\0\0\0\0\0").unwrap().value, b"");
    }
}
