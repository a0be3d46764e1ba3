//! A streaming Server-Sent Events parser: body bytes in, each event's `data` out.
//!
//! Lines end with LF or CRLF (the hub writes LF); `data:` lines of one event are joined with
//! LF; `id`, `event`, `retry` and comments are read and ignored; an event without data is not
//! dispatched (the hub's `retry:` hint, heartbeats).

use crate::error::BenchError;

/// Longest line accepted.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// Parser state between reads: the unfinished line and the data of the unfinished event.
#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    data: Vec<u8>,
    has_data: bool,
}

impl SseParser {
    /// Feeds body bytes, calling `on_event` with the data of each complete event.
    pub fn feed(
        &mut self,
        mut input: &[u8],
        on_event: &mut dyn FnMut(&[u8]),
    ) -> Result<(), BenchError> {
        while let Some(end) = input.iter().position(|&b| b == b'\n') {
            if self.line.is_empty() {
                self.line_done(&input[..end], on_event);
            } else {
                self.push(&input[..end])?;
                let line = std::mem::take(&mut self.line);
                self.line_done(&line, on_event);
                self.line = line;
                self.line.clear();
            }
            input = &input[end + 1..];
        }
        self.push(input)
    }

    fn push(&mut self, bytes: &[u8]) -> Result<(), BenchError> {
        if self.line.len() + bytes.len() > MAX_LINE_BYTES {
            return Err(BenchError::Protocol("SSE line too long".into()));
        }
        self.line.extend_from_slice(bytes);
        Ok(())
    }

    fn line_done(&mut self, line: &[u8], on_event: &mut dyn FnMut(&[u8])) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            if self.has_data {
                on_event(&self.data);
            }
            self.data.clear();
            self.has_data = false;
            return;
        }
        let (name, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        if name == b"data" {
            if self.has_data {
                self.data.push(b'\n');
            }
            self.data.extend_from_slice(value);
            self.has_data = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(stream: &[u8], piece: usize) -> Vec<String> {
        let mut parser = SseParser::default();
        let mut out = Vec::new();
        for part in stream.chunks(piece) {
            parser
                .feed(part, &mut |data| {
                    out.push(String::from_utf8(data.to_vec()).unwrap());
                })
                .unwrap();
        }
        out
    }

    #[test]
    fn parses_hub_frames_split_anywhere() {
        let stream = b"retry: 2345\n\nid: ab-1-0\ndata: 0_123\n\n:\n\n\
                       id: ab-2-0\nevent: invalidate\ndata: a\ndata:b\n\n\
                       id: ab-3-0\r\ndata: crlf\r\n\r\nid: ab-4-0\ndata: unfinished\n";
        for piece in 1..stream.len() {
            assert_eq!(
                events(stream, piece),
                vec!["0_123", "a\nb", "crlf"],
                "piece size {piece}"
            );
        }
    }

    #[test]
    fn empty_data_is_an_event_and_no_data_is_not() {
        assert_eq!(events(b"data\n\nid: x\n\ndata:\n\n", 100), vec!["", ""]);
    }

    #[test]
    fn rejects_endless_lines() {
        let mut parser = SseParser::default();
        let long = vec![b'a'; MAX_LINE_BYTES / 2 + 1];
        parser.feed(&long, &mut |_| {}).unwrap();
        assert!(parser.feed(&long, &mut |_| {}).is_err());
    }
}
