//! A cached response in Redis: `u32` (little-endian) length of a JSON array of
//! `[name, value]` header pairs, the JSON, then the body.

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use bytes::Bytes;

/// A response read back from the cache.
#[derive(Debug, Clone)]
pub struct StoredResponse {
    /// Its headers (with `ETag`, `Last-Modified`, `Cache-Control`, `Cache-Tag`).
    pub headers: HeaderMap,
    /// Its body.
    pub body: Bytes,
}

/// Serializes headers and body; `None` when a header value is not UTF-8 (not cached then).
#[must_use]
pub fn encode(headers: &HeaderMap, body: &[u8]) -> Option<Vec<u8>> {
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(n, v)| v.to_str().ok().map(|v| (n.as_str(), v)))
        .collect::<Option<_>>()?;
    let head = serde_json::to_vec(&pairs).ok()?;
    let len = u32::try_from(head.len()).ok()?;
    let mut out = Vec::with_capacity(4 + head.len() + body.len());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&head);
    out.extend_from_slice(body);
    Some(out)
}

/// Reads what [`encode`] wrote; `None` when it is not that (treated as a miss).
#[must_use]
pub fn decode(stored: &[u8]) -> Option<StoredResponse> {
    let (len, rest) = stored.split_at_checked(4)?;
    let len = usize::try_from(u32::from_le_bytes([len[0], len[1], len[2], len[3]])).ok()?;
    let (head, body) = rest.split_at_checked(len)?;
    let pairs: Vec<(String, String)> = serde_json::from_slice(head).ok()?;
    let mut headers = HeaderMap::with_capacity(pairs.len());
    for (name, value) in pairs {
        let name = HeaderName::from_bytes(name.as_bytes()).ok()?;
        headers.append(name, HeaderValue::from_str(&value).ok()?);
    }
    Some(StoredResponse {
        headers,
        body: Bytes::copy_from_slice(body),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_garbage() {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        headers.append("x-a", HeaderValue::from_static("1"));
        headers.append("x-a", HeaderValue::from_static("2"));
        let stored = decode(&encode(&headers, b"{}").unwrap()).unwrap();
        assert_eq!(stored.headers, headers);
        assert_eq!(&stored.body[..], b"{}");
        assert!(decode(b"\xff\xff\xff\xff{}").is_none());
        assert!(decode(b"\x02\0\0\0[x").is_none());
        let mut bad = HeaderMap::new();
        bad.insert("x-b", HeaderValue::from_bytes(b"\xff").unwrap());
        assert!(encode(&bad, b"").is_none());
    }
}
