//! An HTTP/1.1 client over a bare `TcpStream`, to see exactly what the hub writes.

use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const WAIT: Duration = Duration::from_secs(5);

/// A response's status line and headers (names lower-cased).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub status: u16,
    pub headers: Vec<(String, String)>,
}

impl Head {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

pub struct Raw {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Raw {
    /// Connects to `url` (`http://host:port`).
    pub async fn connect(url: &str) -> Self {
        let address = url.strip_prefix("http://").unwrap();
        Self {
            stream: TcpStream::connect(address).await.unwrap(),
            buf: Vec::new(),
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    /// Reads more bytes; false at the end of the stream.
    async fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout(WAIT, self.stream.read(&mut chunk))
            .await
            .expect("nothing read in time")
            .unwrap_or(0);
        self.buf.extend_from_slice(&chunk[..n]);
        n > 0
    }

    /// Takes `n` bytes, reading as needed.
    async fn take(&mut self, n: usize) -> Vec<u8> {
        while self.buf.len() < n {
            assert!(self.fill().await, "the stream ended early");
        }
        self.buf.drain(..n).collect()
    }

    /// Takes a line without its CRLF.
    async fn line(&mut self) -> String {
        loop {
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = self.take(end + 2).await;
                return String::from_utf8(line[..end].to_vec()).unwrap();
            }
            assert!(self.fill().await, "the stream ended inside a line");
        }
    }

    pub async fn head(&mut self) -> Head {
        let status_line = self.line().await;
        let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
        let mut headers = Vec::new();
        loop {
            let line = self.line().await;
            if line.is_empty() {
                return Head { status, headers };
            }
            let (name, value) = line.split_once(':').unwrap();
            headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
        }
    }

    /// A body delimited by `content-length`.
    pub async fn body(&mut self, head: &Head) -> String {
        let length = head.header("content-length").unwrap().parse().unwrap();
        String::from_utf8(self.take(length).await).unwrap()
    }

    /// The next chunk's data; `None` after the last chunk. Panics on bad framing.
    pub async fn chunk(&mut self) -> Option<String> {
        let size = usize::from_str_radix(&self.line().await, 16).unwrap();
        let data = self.take(size).await;
        assert_eq!(self.take(2).await, b"\r\n", "chunk not followed by CRLF");
        (size > 0).then(|| String::from_utf8(data).unwrap())
    }

    /// Chunks until one contains `needle`; panics if the stream ends first.
    pub async fn chunk_containing(&mut self, needle: &str) -> String {
        loop {
            let chunk = self.chunk().await.expect("the stream ended");
            if chunk.contains(needle) {
                return chunk;
            }
        }
    }

    /// Whether the hub closes the connection (within the wait) without sending more.
    pub async fn closed(&mut self) -> bool {
        self.buf.is_empty() && !self.fill().await
    }
}

/// A subscription request on `topic`, with `extra` header lines (each ending in CRLF).
pub fn subscription(topic: &str, extra: &str) -> Vec<u8> {
    format!(
        "GET {}?match={topic} HTTP/1.1\r\nhost: hub\r\n{extra}\r\n",
        sync_server::MERCURE_PATH
    )
    .into_bytes()
}
