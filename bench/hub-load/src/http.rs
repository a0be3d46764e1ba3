//! The little of HTTP/1.1 the generator speaks: a response head, and a streaming decoder for
//! `Transfer-Encoding: chunked` bodies (the hub's SSE streams are chunked).

use crate::error::BenchError;

/// Longest response head accepted.
pub const MAX_HEAD_BYTES: usize = 8 * 1024;

/// What the generator needs from a response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// The status code.
    pub status: u16,
    /// Whether the body is chunked.
    pub chunked: bool,
    /// `Content-Length`, if given.
    pub content_length: Option<usize>,
}

/// Parses a response head at the start of `buf`: `Ok(None)` until the blank line that ends
/// it has arrived, else the head and the number of bytes it took.
pub fn parse_head(buf: &[u8]) -> Result<Option<(Head, usize)>, BenchError> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        if buf.len() > MAX_HEAD_BYTES {
            return Err(BenchError::Protocol("response head too long".into()));
        }
        return Ok(None);
    };
    let text = std::str::from_utf8(&buf[..end])
        .map_err(|_| BenchError::Protocol("response head is not UTF-8".into()))?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status = status_line
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| status_line.strip_prefix("HTTP/1.0 "))
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| BenchError::Protocol(format!("bad status line {status_line:?}")))?;
    let mut head = Head {
        status,
        chunked: false,
        content_length: None,
    };
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Err(BenchError::Protocol(format!("bad header line {line:?}")));
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("transfer-encoding") {
            head.chunked = value.eq_ignore_ascii_case("chunked");
        } else if name.eq_ignore_ascii_case("content-length") {
            let length = value
                .parse()
                .map_err(|_| BenchError::Protocol(format!("bad content-length {value:?}")))?;
            head.content_length = Some(length);
        }
    }
    Ok(Some((head, end + 4)))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading the hex size; `extension` once a `;` was seen.
    Size {
        size: usize,
        digits: u8,
        extension: bool,
    },
    /// Inside a chunk, with this many data bytes left.
    Data(usize),
    /// After a chunk's data, skipping its CRLF (this many bytes left).
    DataEnd(u8),
    /// The last chunk was read (trailers, if any, are ignored).
    Done,
}

/// Decodes a chunked body as it arrives, in pieces of any size.
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    state: State,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        Self {
            state: State::Size {
                size: 0,
                digits: 0,
                extension: false,
            },
        }
    }
}

impl ChunkedDecoder {
    /// Whether the last (empty) chunk was read: the body is complete.
    #[must_use]
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Feeds `input`, passing each piece of body data to `out`.
    pub fn feed(&mut self, mut input: &[u8], out: &mut dyn FnMut(&[u8])) -> Result<(), BenchError> {
        while !input.is_empty() {
            match self.state {
                State::Done => return Ok(()),
                State::Data(left) => {
                    let take = left.min(input.len());
                    out(&input[..take]);
                    input = &input[take..];
                    self.state = if take == left {
                        State::DataEnd(2)
                    } else {
                        State::Data(left - take)
                    };
                }
                State::DataEnd(left) => {
                    input = &input[1..];
                    self.state = if left > 1 {
                        State::DataEnd(left - 1)
                    } else {
                        Self::default().state
                    };
                }
                State::Size {
                    size,
                    digits,
                    extension,
                } => {
                    let byte = input[0];
                    input = &input[1..];
                    self.state = size_byte(byte, size, digits, extension)?;
                }
            }
        }
        Ok(())
    }
}

fn size_byte(byte: u8, size: usize, digits: u8, extension: bool) -> Result<State, BenchError> {
    let state = match byte {
        b'\n' if digits == 0 => {
            return Err(BenchError::Protocol("chunk size missing".into()));
        }
        b'\n' if size == 0 => State::Done,
        b'\n' => State::Data(size),
        _ if extension => State::Size {
            size,
            digits,
            extension,
        },
        b'\r' | b' ' | b'\t' => State::Size {
            size,
            digits,
            extension,
        },
        b';' => State::Size {
            size,
            digits,
            extension: true,
        },
        _ => {
            let value = (byte as char)
                .to_digit(16)
                .ok_or_else(|| BenchError::Protocol(format!("bad chunk size byte {byte:#x}")))?;
            if digits >= 15 {
                return Err(BenchError::Protocol("chunk size too large".into()));
            }
            State::Size {
                size: size * 16 + value as usize,
                digits: digits + 1,
                extension,
            }
        }
    };
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_chunked_sse_head() {
        let raw = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\
                    Transfer-Encoding: chunked\r\n\r\nb\r\nretry: 2000";
        let (head, used) = parse_head(raw).unwrap().unwrap();
        assert_eq!(
            head,
            Head {
                status: 200,
                chunked: true,
                content_length: None
            }
        );
        assert_eq!(&raw[used..used + 3], b"b\r\n");
        assert_eq!(parse_head(&raw[..20]).unwrap(), None);
    }

    #[test]
    fn parses_content_length_and_rejects_garbage() {
        let raw = b"HTTP/1.1 429 Too Many Requests\r\ncontent-length: 12\r\n\r\n";
        let (head, _) = parse_head(raw).unwrap().unwrap();
        assert_eq!((head.status, head.content_length), (429, Some(12)));
        assert!(parse_head(b"SSH-2.0-x\r\n\r\n").is_err());
        assert!(parse_head(&[b'a'; MAX_HEAD_BYTES + 1]).is_err());
    }

    fn decode_in_pieces(body: &[u8], piece: usize) -> (Vec<u8>, bool) {
        let mut decoder = ChunkedDecoder::default();
        let mut out = Vec::new();
        for part in body.chunks(piece) {
            decoder
                .feed(part, &mut |data| out.extend_from_slice(data))
                .unwrap();
        }
        (out, decoder.is_done())
    }

    #[test]
    fn decodes_chunks_split_anywhere() {
        let body = b"5\r\nhello\r\n1;ext=1\r\n \r\nA\r\n0123456789\r\n0\r\n\r\n";
        for piece in 1..body.len() {
            let (out, done) = decode_in_pieces(body, piece);
            assert_eq!(out, b"hello 0123456789", "piece size {piece}");
            assert!(done);
        }
        let (out, done) = decode_in_pieces(b"3\r\nabc\r\n", 4);
        assert_eq!((out.as_slice(), done), (&b"abc"[..], false));
    }

    #[test]
    fn rejects_bad_sizes() {
        let mut decoder = ChunkedDecoder::default();
        assert!(decoder.feed(b"zz\r\n", &mut |_| {}).is_err());
        let mut decoder = ChunkedDecoder::default();
        assert!(decoder.feed(b"\r\n", &mut |_| {}).is_err());
        let mut decoder = ChunkedDecoder::default();
        assert!(decoder.feed(b"1000000000000000\r\n", &mut |_| {}).is_err());
    }
}
