//! A subscription served outside hyper.
//!
//! The router answers the subscription like any other request, so routing, authorization,
//! limits, CORS, cursor and replay stay one implementation. This task then writes the answer
//! straight to the socket: an event stream as HTTP/1.1 chunks (each shared frame as it is,
//! behind a chunk-size line built on the stack), any other answer (an error) with its
//! `content-length`. The connection serves this one request and closes
//! (`connection: close`), so an idle subscriber holds its socket, its stream's state and
//! this small task instead of hyper's connection with its 8 KiB read and write buffers.

use super::stall::StallGuard;
use crate::chunked::{self, SizeLine, LAST_CHUNK};
use crate::fanout::{direct, Fanout};
use crate::stream::{Handoff, Subscription};
use axum::body::Body;
use axum::http::{header, response::Parts, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use hyper::body::Body as _;
use std::io::{self, IoSlice, Write as _};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tower::ServiceExt;

/// How the body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// No body may follow (204, 304, 1xx).
    None,
    /// `content-length`.
    Length(usize),
    /// `transfer-encoding: chunked`, until the stream ends.
    Chunked,
}

/// An answer that goes on as an event stream.
pub enum Streaming {
    /// A subscription, served through the hub's direct fan-out.
    Direct {
        stream: TcpStream,
        sub: Box<Subscription>,
        fanout: Arc<Fanout>,
    },
    /// Any other streamed body, written as it comes.
    Body { stream: TcpStream, body: Body },
}

/// Answers `request` through `router` on `stream`. Returns the connection when the answer is
/// a stream whose head is written and whose body follows; any other answer is written
/// whole, and the connection closed. Short-lived: the caller boxes it, so that the router's
/// future, the request and the head are not carried for as long as the stream.
pub async fn answer(
    mut stream: TcpStream,
    request: Box<Request<Body>>,
    router: Router,
    write_stall: Duration,
) -> Option<Streaming> {
    let response = match router.oneshot(*request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let (parts, body) = response.into_parts();
    let subscription = parts.extensions.get::<Handoff>().and_then(|handoff| {
        let fanout = Arc::clone(handoff.fanout());
        handoff.take().map(|sub| (Box::new(sub), fanout))
    });
    let mut writer = StallGuard::new(&mut stream, write_stall);
    let written = if !can_have_body(parts.status) {
        writer.write_all(&head(&parts, Framing::None)).await
    } else if body.size_hint().exact().is_none() {
        match writer.write_all(&head(&parts, Framing::Chunked)).await {
            Ok(()) => {
                return Some(match subscription {
                    Some((sub, fanout)) => Streaming::Direct {
                        stream,
                        sub,
                        fanout,
                    },
                    None => Streaming::Body { stream, body },
                })
            }
            Err(e) => Err(e),
        }
    } else {
        write_whole(&mut writer, &parts, body).await
    };
    if let Err(error) = written {
        tracing::debug!(%error, "could not answer a subscription");
    }
    let _ = writer.shutdown().await;
    None
}

/// Writes the rest of a streamed answer until it ends or the client goes away, then closes
/// the connection. This is what an idle subscriber holds: keep it small.
pub async fn stream(streaming: Streaming, write_stall: Duration) {
    let (mut stream, body) = match streaming {
        Streaming::Direct {
            stream,
            sub,
            fanout,
        } => return direct::serve(stream, *sub, fanout, write_stall).await,
        Streaming::Body { stream, body } => (stream, body),
    };
    let (mut reader, writer) = stream.split();
    let mut writer = StallGuard::new(writer, write_stall);
    if let Err(error) = write_chunks(&mut reader, &mut writer, body).await {
        tracing::debug!(%error, "subscription connection ended");
    }
    let _ = writer.shutdown().await;
}

async fn write_whole<W>(writer: &mut W, parts: &Parts, body: Body) -> io::Result<()>
where
    W: AsyncWrite + Unpin,
{
    let bytes = body.collect().await.map_err(io::Error::other)?.to_bytes();
    let mut answer = head(parts, Framing::Length(bytes.len()));
    answer.extend_from_slice(&bytes);
    writer.write_all(&answer).await
}

fn can_have_body(status: StatusCode) -> bool {
    !(status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED)
}

/// The status line and headers as hyper writes them (lower-case names, a `date`), with the
/// framing and `connection: close` in place of whatever the response said about them.
fn head(parts: &Parts, framing: Framing) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    let reason = parts.status.canonical_reason().unwrap_or("");
    let _ = write!(out, "HTTP/1.1 {} {reason}\r\n", parts.status.as_u16());
    for (name, value) in &parts.headers {
        let ours = [
            header::CONNECTION,
            header::CONTENT_LENGTH,
            header::TRANSFER_ENCODING,
        ];
        if ours.contains(name) {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    match framing {
        Framing::None => {}
        Framing::Length(n) => {
            let _ = write!(out, "content-length: {n}\r\n");
        }
        Framing::Chunked => out.extend_from_slice(b"transfer-encoding: chunked\r\n"),
    }
    if !parts.headers.contains_key(header::DATE) {
        let date = httpdate::fmt_http_date(SystemTime::now());
        let _ = write!(out, "date: {date}\r\n");
    }
    out.extend_from_slice(b"connection: close\r\n\r\n");
    out
}

/// Writes `body` as chunks until it ends (then the last chunk) or the client goes away.
async fn write_chunks<R, W>(reader: &mut R, writer: &mut W, mut body: Body) -> io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    loop {
        // Scoped so that the frame's storage is not kept across the write below.
        let data = {
            let frame = tokio::select! {
                frame = body.frame() => frame,
                closed = client_closed(reader) => return closed,
            };
            let Some(frame) = frame else {
                return writer.write_all(LAST_CHUNK).await;
            };
            match frame.map_err(io::Error::other)?.into_data() {
                Ok(data) => data,
                // Trailers are never sent on an event stream.
                Err(_) => continue,
            }
        };
        if !data.is_empty() {
            write_chunk(writer, &data).await?;
        }
    }
}

/// Resolves when the client closes its side or the connection fails. What it sends is
/// discarded: the connection serves one request. The buffer is on the stack and small.
async fn client_closed<R: AsyncRead + Unpin>(reader: &mut R) -> io::Result<()> {
    let mut sink = [0u8; 64];
    loop {
        if reader.read(&mut sink).await? == 0 {
            return Ok(());
        }
    }
}

/// One chunk — size line, data, CRLF — in one vectored write when the socket takes it all.
async fn write_chunk<W: AsyncWrite + Unpin>(writer: &mut W, data: &[u8]) -> io::Result<()> {
    let mut line = SizeLine::default();
    let mut parts = chunked::chunk(data, &mut line);
    let mut parts = &mut parts[..];
    while !parts.is_empty() {
        let n = writer.write_vectored(parts).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        IoSlice::advance_slices(&mut parts, n);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use axum::response::Response;
    use bytes::Bytes;
    use std::convert::Infallible;
    use std::sync::{Arc, Mutex};

    fn sse(frames: Vec<&'static str>) -> Response {
        let stream = futures_util::stream::iter(
            frames
                .into_iter()
                .map(|f| Ok::<_, Infallible>(Bytes::from(f))),
        );
        let mut response = Response::new(Body::from_stream(stream));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        );
        response
    }

    /// What the client reads when `response` is the router's answer.
    async fn written(response: Response) -> String {
        let once = Arc::new(Mutex::new(Some(response)));
        let router =
            Router::new().fallback(move || async move { once.lock().unwrap().take().unwrap() });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let request = Box::new(Request::new(Body::empty()));
        if let Some(streaming) = answer(server, request, router, Duration::from_secs(5)).await {
            stream(streaming, Duration::from_secs(5)).await;
        }
        let mut out = String::new();
        client.read_to_string(&mut out).await.unwrap();
        out
    }

    #[tokio::test]
    async fn a_stream_is_written_as_chunks_then_the_last_chunk() {
        let out = written(sse(vec!["retry: 5\n\n", "", "data: a\n\n"])).await;
        let (head, body) = out.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
        assert!(
            head.contains("\r\ncontent-type: text/event-stream\r\n"),
            "{head}"
        );
        assert!(
            head.contains("\r\ntransfer-encoding: chunked\r\n"),
            "{head}"
        );
        assert!(head.contains("\r\ndate: "), "{head}");
        assert!(head.ends_with("\r\nconnection: close"), "{head}");
        assert_eq!(body, "A\r\nretry: 5\n\n\r\n9\r\ndata: a\n\n\r\n0\r\n\r\n");
    }

    #[tokio::test]
    async fn other_answers_carry_their_length() {
        let mut response = Response::new(Body::from("{\"error\":\"x\"}"));
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        let out = written(response).await;
        assert!(out.starts_with("HTTP/1.1 401 Unauthorized\r\n"), "{out}");
        assert!(out.contains("\r\ncontent-length: 13\r\n"), "{out}");
        assert!(out.ends_with("\r\n\r\n{\"error\":\"x\"}"), "{out}");
        let mut empty = Response::new(Body::from("ignored"));
        *empty.status_mut() = StatusCode::NO_CONTENT;
        let out = written(empty).await;
        assert!(out.ends_with("connection: close\r\n\r\n"), "{out}");
        assert!(!out.contains("content-length"), "{out}");
    }
}
