//! The little of RESP2 the floor needs: commands out, replies and pushes in.

use crate::error::BenchError;

/// Deepest nesting accepted (pub/sub pushes are one level deep).
const MAX_DEPTH: usize = 4;

/// One RESP2 value, borrowing from the read buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<'a> {
    /// `+OK`.
    Simple(&'a [u8]),
    /// `-ERR ...`.
    Error(&'a [u8]),
    /// `:42`.
    Int(i64),
    /// `$3\r\nabc` (`None` for `$-1`).
    Bulk(Option<&'a [u8]>),
    /// `*2\r\n...` (`None` for `*-1`).
    Array(Option<Vec<Value<'a>>>),
}

/// A command as a RESP array of bulk strings.
#[must_use]
pub fn command(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", parts.len()).into_bytes();
    for part in parts {
        out.extend_from_slice(format!("${}\r\n", part.len()).as_bytes());
        out.extend_from_slice(part);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Parses one value at the start of `buf`: `Ok(None)` while incomplete, else the value and
/// the bytes it took.
pub fn parse(buf: &[u8]) -> Result<Option<(Value<'_>, usize)>, BenchError> {
    parse_at(buf, 0, 0)
}

fn line(buf: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let rest = buf.get(at..)?;
    let end = rest.windows(2).position(|w| w == b"\r\n")?;
    Some((&rest[..end], at + end + 2))
}

fn number(text: &[u8]) -> Result<i64, BenchError> {
    std::str::from_utf8(text)
        .ok()
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| BenchError::Protocol(format!("bad RESP number {text:?}")))
}

fn parse_at(buf: &[u8], at: usize, depth: usize) -> Result<Option<(Value<'_>, usize)>, BenchError> {
    if depth > MAX_DEPTH {
        return Err(BenchError::Protocol("RESP nested too deep".into()));
    }
    let Some(&kind) = buf.get(at) else {
        return Ok(None);
    };
    let Some((text, next)) = line(buf, at + 1) else {
        return Ok(None);
    };
    let value = match kind {
        b'+' => (Value::Simple(text), next),
        b'-' => (Value::Error(text), next),
        b':' => (Value::Int(number(text)?), next),
        b'$' => {
            let Ok(length) = usize::try_from(number(text)?) else {
                return Ok(Some((Value::Bulk(None), next)));
            };
            let end = next + length;
            if buf.len() < end + 2 {
                return Ok(None);
            }
            if &buf[end..end + 2] != b"\r\n" {
                return Err(BenchError::Protocol("bulk string without CRLF".into()));
            }
            (Value::Bulk(Some(&buf[next..end])), end + 2)
        }
        b'*' => {
            let Ok(count) = usize::try_from(number(text)?) else {
                return Ok(Some((Value::Array(None), next)));
            };
            let mut items = Vec::with_capacity(count.min(16));
            let mut at = next;
            for _ in 0..count {
                let Some((item, after)) = parse_at(buf, at, depth + 1)? else {
                    return Ok(None);
                };
                items.push(item);
                at = after;
            }
            (Value::Array(Some(items)), at)
        }
        other => {
            return Err(BenchError::Protocol(format!(
                "unknown RESP type byte {other:#x}"
            )))
        }
    };
    Ok(Some(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_commands() {
        assert_eq!(
            command(&[b"PUBLISH", b"bench", b"1_2"]),
            b"*3\r\n$7\r\nPUBLISH\r\n$5\r\nbench\r\n$3\r\n1_2\r\n"
        );
    }

    #[test]
    fn parses_pushes_and_replies() {
        let push = b"*3\r\n$7\r\nmessage\r\n$5\r\nbench\r\n$3\r\n1_2\r\n:1\r\n";
        let (value, used) = parse(push).unwrap().unwrap();
        assert_eq!(
            value,
            Value::Array(Some(vec![
                Value::Bulk(Some(b"message")),
                Value::Bulk(Some(b"bench")),
                Value::Bulk(Some(b"1_2")),
            ]))
        );
        assert_eq!(parse(&push[used..]).unwrap().unwrap().0, Value::Int(1));
        for cut in 0..used {
            assert_eq!(parse(&push[..cut]).unwrap(), None, "cut at {cut}");
        }
        assert_eq!(parse(b"$-1\r\n").unwrap().unwrap().0, Value::Bulk(None));
        assert_eq!(
            parse(b"-ERR no\r\n").unwrap().unwrap().0,
            Value::Error(b"ERR no")
        );
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse(b"?x\r\n").is_err());
        assert!(parse(b":x\r\n").is_err());
        assert!(parse(b"$1\r\nab\r\n").is_err());
        assert!(parse(b"*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n").is_err());
    }
}
