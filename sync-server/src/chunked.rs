//! HTTP/1.1 chunked framing of shared frames: a chunk is a size line, the frame as it is, and
//! CRLF. The lean writer writes the three as slices of one vectored write; the fan-out
//! builds the chunk once per event ([`encode`]) and writes that one buffer to every socket.

use bytes::Bytes;
use std::io::{IoSlice, Write as _};

/// Room for the longest size line: 16 hex digits and CRLF.
pub type SizeLine = [u8; 18];

/// `len` in hex and CRLF, written into `buf`.
pub fn size_line(len: usize, buf: &mut SizeLine) -> &[u8] {
    let mut rest = &mut buf[..];
    let _ = write!(rest, "{len:X}\r\n");
    let used = std::mem::size_of::<SizeLine>() - rest.len();
    &buf[..used]
}

/// The chunk carrying `data`, as slices for one vectored write; `line` holds its size line.
pub fn chunk<'a>(data: &'a [u8], line: &'a mut SizeLine) -> [IoSlice<'a>; 3] {
    let len = data.len();
    [
        IoSlice::new(size_line(len, line)),
        IoSlice::new(data),
        IoSlice::new(b"\r\n"),
    ]
}

/// The bytes of the chunk carrying `len` bytes of data.
#[must_use]
pub fn chunk_len(len: usize) -> usize {
    let digits = if len == 0 {
        1
    } else {
        (usize::BITS - len.leading_zeros()).div_ceil(4) as usize
    };
    digits + 2 + len + 2
}

/// The chunk carrying `data`, in one buffer: built once per event and shared by every
/// subscriber's write.
#[must_use]
pub fn encode(data: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(chunk_len(data.len()));
    let mut line = SizeLine::default();
    for part in chunk(data, &mut line) {
        out.extend_from_slice(&part);
    }
    Bytes::from(out)
}

/// The chunk that ends a body.
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_writes_one_chunk() {
        assert_eq!(&encode(b"data: a\n\n")[..], b"9\r\ndata: a\n\n\r\n");
        assert_eq!(&encode(b"")[..], b"0\r\n\r\n");
    }

    #[test]
    fn size_lines_are_hex() {
        let mut buf = SizeLine::default();
        assert_eq!(size_line(0, &mut buf), b"0\r\n");
        assert_eq!(size_line(255, &mut buf), b"FF\r\n");
        assert_eq!(size_line(usize::MAX, &mut buf), b"FFFFFFFFFFFFFFFF\r\n");
    }

    #[test]
    fn a_chunk_is_its_size_line_data_and_crlf() {
        for len in [0, 1, 15, 16, 255, 256, 4095, 4096, 1 << 20] {
            let data = vec![b'x'; len];
            let mut line = SizeLine::default();
            let parts = chunk(&data, &mut line);
            let written: usize = parts.iter().map(|p| p.len()).sum();
            assert_eq!(written, chunk_len(len), "{len}");
            assert_eq!(&*parts[2], b"\r\n");
            assert_eq!(encode(&data).len(), chunk_len(len), "{len}");
        }
    }
}
