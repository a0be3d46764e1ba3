//! Server-Sent Events framing: every frame is built once, as shared [`Bytes`].
//!
//! `data` is split on CR, LF and CRLF into several `data:` lines, so it can never end a field
//! early; `id` and `event` must already be checked with [`check_field`], and any CR, LF or NUL
//! that reached [`frame`] anyway is dropped rather than written.
//!
//! ```
//! use sync_server::sse::frame;
//! let f = frame(Some("e-1-0"), Some("invalidate"), "a\nb", None);
//! assert_eq!(&f[..], b"id: e-1-0\nevent: invalidate\ndata: a\ndata: b\n\n");
//! ```

use crate::error::HubError;
use bytes::Bytes;

/// The heartbeat: an SSE comment that keeps proxies from closing an idle stream.
pub const HEARTBEAT: &[u8] = b":\n\n";

/// The heartbeat for subscribers that asked for `heartbeat=event`: an event of type
/// `heartbeat` (no id, so it never moves a cursor) whose data gives the interval, so the
/// client can tell a silent stream from a dead one. EventSource ignores event types nobody
/// listens to, so other clients are unaffected.
#[must_use]
pub fn heartbeat_event(interval: std::time::Duration) -> Bytes {
    let ms = interval.as_millis();
    Bytes::from(format!(
        "event: heartbeat\ndata: {{\"interval_ms\":{ms}}}\n\n"
    ))
}

/// Rejects a user-supplied string that would break an SSE field: CR, LF or NUL, or longer than
/// `max` bytes. `what` names the field in the error message.
pub fn check_field(what: &str, value: &str, max: usize) -> Result<(), HubError> {
    if value.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
        return Err(HubError::BadRequest(format!(
            "{what} must not contain CR, LF or NUL"
        )));
    }
    if value.len() > max {
        return Err(HubError::BadRequest(format!(
            "{what} must be at most {max} bytes"
        )));
    }
    Ok(())
}

/// Checks a topic or topic selector: like [`check_field`], and not empty.
pub fn check_topic(value: &str, max: usize) -> Result<(), HubError> {
    if value.is_empty() {
        return Err(HubError::BadRequest("a topic must not be empty".into()));
    }
    check_field("topic", value, max)
}

fn push_field(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend(value.bytes().filter(|b| !matches!(b, b'\r' | b'\n' | 0)));
    out.push(b'\n');
}

/// One SSE event: optional `id`, `event` and `retry` fields, then `data` as one `data:` line
/// per line of input, then the blank line that ends the event.
#[must_use]
pub fn frame(id: Option<&str>, event: Option<&str>, data: &str, retry: Option<u64>) -> Bytes {
    let mut out = Vec::with_capacity(data.len() + 64);
    if let Some(id) = id {
        push_field(&mut out, "id", id);
    }
    if let Some(event) = event {
        push_field(&mut out, "event", event);
    }
    if let Some(retry) = retry {
        push_field(&mut out, "retry", &retry.to_string());
    }
    let normalized = data.replace("\r\n", "\n").replace('\r', "\n");
    for line in normalized.split('\n') {
        push_field(&mut out, "data", line);
    }
    out.push(b'\n');
    Bytes::from(out)
}

/// A `retry:` hint alone: `base_ms` plus up to 50 % random jitter, so that clients cut off
/// together do not reconnect together.
#[must_use]
pub fn retry_hint(base_ms: u64) -> Bytes {
    let jitter = fastrand::u64(0..=base_ms / 2);
    Bytes::from(format!("retry: {}\n\n", base_ms + jitter))
}

/// What a stream says when the hub shuts down: come back soon (a quarter of the usual
/// `retry_ms`, with jitter), to another instance.
#[must_use]
pub fn goodbye(retry_ms: u64) -> [Bytes; 2] {
    [
        retry_hint(retry_ms / 4 + 1),
        comment("hub shutting down: reconnect"),
    ]
}

/// What a stream says when its token expires.
#[must_use]
pub fn token_expired() -> Bytes {
    comment("token expired")
}

/// A comment line (`: text`), with control characters removed.
#[must_use]
pub fn comment(text: &str) -> Bytes {
    let clean: String = text.chars().filter(|c| !c.is_control()).collect();
    Bytes::from(format!(": {clean}\n\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_every_line_ending() {
        let f = frame(None, None, "a\r\nb\rc\n", None);
        assert_eq!(&f[..], b"data: a\ndata: b\ndata: c\ndata: \n\n");
    }

    #[test]
    fn fields_never_carry_line_breaks() {
        let f = frame(Some("x\ny"), Some("t\r\0"), "", Some(5));
        assert_eq!(&f[..], b"id: xy\nevent: t\nretry: 5\ndata: \n\n");
        assert!(check_field("topic", "a\nb", 10).is_err());
        assert!(check_field("topic", "a\0b", 10).is_err());
        assert!(check_field("topic", "abc", 2).is_err());
        assert!(check_field("topic", "/cache/shop", 100).is_ok());
    }

    #[test]
    fn retry_hint_has_bounded_jitter() {
        for _ in 0..50 {
            let hint = retry_hint(1000);
            let text = std::str::from_utf8(&hint).unwrap();
            let ms: u64 = text
                .trim()
                .strip_prefix("retry: ")
                .unwrap()
                .parse()
                .unwrap();
            assert!((1000..=1500).contains(&ms), "{ms}");
        }
    }
}
