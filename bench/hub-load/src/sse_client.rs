//! The hub's side of the benchmark over plain TCP: a minimal HTTP/1.1 SSE subscriber (one
//! task, one 1 KiB read buffer per connection) and a keep-alive publisher.

use crate::error::BenchError;
use crate::http::{parse_head, ChunkedDecoder, Head};
use crate::process::loopback;
use crate::publisher::Publisher;
use crate::sse::SseParser;
use crate::subscriber::Subscriber;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The topic every subscriber follows and every event is published on.
pub const TOPIC: &str = "/bench";

/// Read buffer per subscriber.
const READ_BUFFER: usize = 1024;

async fn connect(port: u16) -> Result<TcpStream, BenchError> {
    let stream = TcpStream::connect(loopback(port))
        .await
        .map_err(BenchError::io(format!("connect to the hub on port {port}")))?;
    stream
        .set_nodelay(true)
        .map_err(BenchError::io("set TCP_NODELAY"))?;
    Ok(stream)
}

/// Reads until a whole response head arrived; returns it and the bytes read after it.
async fn read_head(stream: &mut TcpStream) -> Result<(Head, Vec<u8>), BenchError> {
    let mut buf = Vec::with_capacity(READ_BUFFER);
    let mut chunk = [0u8; READ_BUFFER];
    loop {
        if let Some((head, used)) = parse_head(&buf)? {
            return Ok((head, buf.split_off(used)));
        }
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(BenchError::io("read a response head"))?;
        if n == 0 {
            return Err(BenchError::Protocol(
                "the hub closed before answering".into(),
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// One SSE subscription to the hub's `/.well-known/mercure?match=/bench`.
#[derive(Debug)]
pub struct HubSubscriber {
    stream: TcpStream,
    buf: Box<[u8]>,
    /// Body bytes that arrived with the response head.
    early: Vec<u8>,
    chunks: ChunkedDecoder,
    sse: SseParser,
}

impl HubSubscriber {
    fn decode(
        chunks: &mut ChunkedDecoder,
        sse: &mut SseParser,
        input: &[u8],
        on_payload: &mut (dyn FnMut(&[u8]) + Send),
    ) -> Result<(), BenchError> {
        let mut failure = None;
        chunks.feed(input, &mut |body| {
            if failure.is_none() {
                failure = sse.feed(body, &mut *on_payload).err();
            }
        })?;
        failure.map_or(Ok(()), Err)
    }
}

impl Subscriber for HubSubscriber {
    async fn connect(port: u16) -> Result<Self, BenchError> {
        let mut stream = connect(port).await?;
        let request = format!(
            "GET /.well-known/mercure?match={TOPIC} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
             Accept: text/event-stream\r\n\r\n"
        );
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(BenchError::io("send a subscription request"))?;
        // The hub registers the subscription before it answers: a 200 head means subscribed.
        let (head, early) = read_head(&mut stream).await?;
        if head.status != 200 || !head.chunked {
            return Err(BenchError::Setup(format!(
                "subscription answered {} (chunked: {})",
                head.status, head.chunked
            )));
        }
        Ok(Self {
            stream,
            buf: vec![0; READ_BUFFER].into_boxed_slice(),
            early,
            chunks: ChunkedDecoder::default(),
            sse: SseParser::default(),
        })
    }

    async fn read_events(
        &mut self,
        on_payload: &mut (dyn FnMut(&[u8]) + Send),
    ) -> Result<bool, BenchError> {
        if !self.early.is_empty() {
            let early = std::mem::take(&mut self.early);
            Self::decode(&mut self.chunks, &mut self.sse, &early, on_payload)?;
            return Ok(!self.chunks.is_done());
        }
        let n = self
            .stream
            .read(&mut self.buf)
            .await
            .map_err(BenchError::io("read the event stream"))?;
        if n == 0 {
            return Ok(false);
        }
        Self::decode(&mut self.chunks, &mut self.sse, &self.buf[..n], on_payload)?;
        Ok(!self.chunks.is_done())
    }
}

/// Publishes over one keep-alive connection: `POST /.well-known/mercure`, form-encoded.
#[derive(Debug)]
pub struct HubPublisher {
    stream: TcpStream,
    port: u16,
}

impl HubPublisher {
    /// Reads at least one more byte of an answer into `chunk`; a closed connection is an error.
    async fn read_more(&mut self, chunk: &mut [u8]) -> Result<usize, BenchError> {
        match self.stream.read(chunk).await {
            Ok(0) => Err(BenchError::Protocol("the hub closed mid-answer".into())),
            Ok(n) => Ok(n),
            Err(e) => Err(BenchError::io("read a publish answer")(e)),
        }
    }

    async fn read_response(&mut self) -> Result<(), BenchError> {
        let (head, mut rest) = read_head(&mut self.stream).await?;
        let mut chunk = [0u8; 256];
        if let Some(length) = head.content_length {
            while rest.len() < length {
                let n = self.read_more(&mut chunk).await?;
                rest.extend_from_slice(&chunk[..n]);
            }
            rest.truncate(length);
        } else if head.chunked {
            let mut decoder = ChunkedDecoder::default();
            let mut body = Vec::new();
            decoder.feed(&rest, &mut |b| body.extend_from_slice(b))?;
            while !decoder.is_done() {
                let n = self.read_more(&mut chunk).await?;
                decoder.feed(&chunk[..n], &mut |b| body.extend_from_slice(b))?;
            }
            rest = body;
        }
        if head.status != 200 {
            return Err(BenchError::Setup(format!(
                "publish answered {}: {}",
                head.status,
                String::from_utf8_lossy(&rest)
            )));
        }
        Ok(())
    }
}

impl Publisher for HubPublisher {
    async fn connect(port: u16) -> Result<Self, BenchError> {
        Ok(Self {
            stream: connect(port).await?,
            port,
        })
    }

    async fn publish(&mut self, payload: &str) -> Result<(), BenchError> {
        let body = format!("topic=%2Fbench&data={payload}");
        let request = format!(
            "POST /.well-known/mercure HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            self.port,
            body.len()
        );
        self.stream
            .write_all(request.as_bytes())
            .await
            .map_err(BenchError::io("send a publication"))?;
        self.read_response().await
    }
}
