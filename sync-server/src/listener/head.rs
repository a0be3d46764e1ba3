//! Telling a subscription from every other request by peeking at a connection's first
//! request head.
//!
//! The head is peeked, so it stays in the socket, into a temporary buffer freed as soon as
//! it is parsed (with `httparse`, hyper's own parser). Only a plain HTTP/1.1
//! `GET /.well-known/mercure` without a body is taken off the socket and turned into an
//! [`http::Request`]; anything else — another method or path, HTTP/1.0, `Expect`, a request
//! body, a malformed, incomplete or oversized head — is left untouched for hyper, which
//! reads it as if nobody had looked and keeps the one implementation of HTTP error handling.

use crate::MERCURE_PATH;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderName, HeaderValue, Method, Request, Uri, Version};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::time::Instant;

/// The largest head taken off the socket; a larger one goes to hyper.
pub const MAX_HEAD: usize = 16 * 1024;
/// The first peek's buffer: enough for a subscription with a token in a cookie.
const FIRST_PEEK: usize = 4 * 1024;
/// Headers beyond this count send the request to hyper.
const MAX_HEADERS: usize = 64;
/// How long a head may take to arrive once its first byte did, before hyper gets it.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest pause between two peeks at an incomplete head.
const MAX_PAUSE: Duration = Duration::from_millis(32);

/// What a connection's first bytes are.
#[derive(Debug)]
pub enum FirstRequest {
    /// A subscription, its head already read off the socket.
    Subscription(Box<Request<Body>>),
    /// Anything else, left unread for hyper.
    Other,
    /// The client closed, or the socket failed, before sending a head.
    Closed,
}

/// What one look at the peeked bytes says.
enum Look {
    Subscription {
        request: Box<Request<Body>>,
        len: usize,
    },
    Other,
    Incomplete,
}

/// Waits for the first request head on `stream` and sorts it; a subscription's head is
/// consumed, everything else stays in the socket.
pub async fn first_request(stream: &mut TcpStream, peer: SocketAddr) -> FirstRequest {
    // No buffer while the client is silent: browsers open sockets ahead of their requests.
    if stream.readable().await.is_err() {
        return FirstRequest::Closed;
    }
    let deadline = Instant::now() + HEAD_TIMEOUT;
    let mut buf = vec![0; FIRST_PEEK];
    let mut peeked = 0;
    let mut pause = Duration::from_millis(1);
    loop {
        let n = match stream.peek(&mut buf).await {
            Ok(0) | Err(_) => return FirstRequest::Closed,
            Ok(n) => n,
        };
        match look(&buf[..n], peer) {
            Look::Subscription { request, len } => {
                // The bytes are already there: this read does not wait.
                return match stream.read_exact(&mut buf[..len]).await {
                    Ok(_) => FirstRequest::Subscription(request),
                    Err(_) => FirstRequest::Closed,
                };
            }
            Look::Other => return FirstRequest::Other,
            Look::Incomplete if n == buf.len() && n < MAX_HEAD => buf.resize(MAX_HEAD, 0),
            Look::Incomplete if n == buf.len() || Instant::now() >= deadline => {
                return FirstRequest::Other;
            }
            Look::Incomplete => {
                // A peek returns at once while unread bytes remain, so wait for the rest
                // with a growing pause rather than spinning. Heads rarely come in pieces.
                if n == peeked {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(MAX_PAUSE);
                }
                peeked = n;
            }
        }
    }
}

/// Parses the peeked `bytes` as far as they go.
fn look(bytes: &[u8], peer: SocketAddr) -> Look {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut head = httparse::Request::new(&mut headers);
    let parsed = head.parse(bytes);
    // Decided as soon as the request line says it is not a subscription.
    if head.method.is_some_and(|m| m != "GET")
        || head.path.is_some_and(|p| !p.starts_with(MERCURE_PATH))
    {
        return Look::Other;
    }
    match parsed {
        Ok(httparse::Status::Complete(len)) => match subscription(&head, peer) {
            Some(request) => Look::Subscription {
                request: Box::new(request),
                len,
            },
            None => Look::Other,
        },
        Ok(httparse::Status::Partial) => Look::Incomplete,
        Err(_) => Look::Other,
    }
}

/// The request for a complete head, if it is a plain subscription.
fn subscription(head: &httparse::Request<'_, '_>, peer: SocketAddr) -> Option<Request<Body>> {
    if head.version != Some(1) {
        return None;
    }
    let uri: Uri = head.path?.parse().ok()?;
    if uri.path() != MERCURE_PATH {
        return None;
    }
    let mut request = Request::new(Body::empty());
    *request.method_mut() = Method::GET;
    *request.uri_mut() = uri;
    *request.version_mut() = Version::HTTP_11;
    let headers = request.headers_mut();
    for h in head.headers.iter() {
        let name = HeaderName::from_bytes(h.name.as_bytes()).ok()?;
        // A body, an interim answer or a protocol switch: hyper's business.
        if [
            header::CONTENT_LENGTH,
            header::TRANSFER_ENCODING,
            header::EXPECT,
            header::UPGRADE,
        ]
        .contains(&name)
        {
            return None;
        }
        headers.append(name, HeaderValue::from_bytes(h.value).ok()?);
    }
    // What `into_make_service_with_connect_info` would have added.
    request.extensions_mut().insert(ConnectInfo(peer));
    Some(request)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 4000))
    }

    fn is_subscription(bytes: &[u8]) -> bool {
        matches!(look(bytes, peer()), Look::Subscription { .. })
    }

    fn is_other(bytes: &[u8]) -> bool {
        matches!(look(bytes, peer()), Look::Other)
    }

    #[test]
    fn a_plain_subscription_is_recognized_with_its_headers() {
        let head = b"GET /.well-known/mercure?match=/a HTTP/1.1\r\nHost: x\r\n\
                     Last-Event-ID: e-1-0\r\nCookie: a=b\r\n\r\nextra";
        let Look::Subscription { request, len } = look(head, peer()) else {
            panic!("not recognized");
        };
        assert_eq!(len, head.len() - "extra".len());
        assert_eq!(request.uri().query(), Some("match=/a"));
        assert_eq!(request.headers()["last-event-id"], "e-1-0");
        let connect_info = request.extensions().get::<ConnectInfo<SocketAddr>>();
        assert_eq!(connect_info.map(|c| c.0), Some(peer()));
    }

    #[test]
    fn everything_unusual_is_left_to_hyper() {
        for head in [
            &b"POST /.well-known/mercure HTTP/1.1\r\n"[..],
            b"GET /healthz HTTP/1.1\r\n\r\n",
            b"GET /.well-known/mercure/x HTTP/1.1\r\n\r\n",
            b"GET /.well-known/mercure HTTP/1.0\r\n\r\n",
            b"GET /.well-known/mercure HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
            b"GET /.well-known/mercure HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"GET /.well-known/mercure HTTP/1.1\r\nExpect: 100-continue\r\n\r\n",
            b"GET /.well-known/mercure HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
            b"GET /.well-known/mercure HTTP/1.1\r\nBad Header\r\n\r\n",
            b"GET /.well-known/mercure HTTP/1.1\r\nX: \x01\r\n\r\n",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
            b"GET /.well-known/mercure?a=%zz\x7f HTTP/1.1\r\n\r\n",
        ] {
            assert!(is_other(head), "{:?}", String::from_utf8_lossy(head));
        }
    }

    #[test]
    fn too_many_headers_go_to_hyper() {
        let mut head = b"GET /.well-known/mercure?match=/a HTTP/1.1\r\n".to_vec();
        for n in 0..=MAX_HEADERS {
            head.extend_from_slice(format!("x-{n}: y\r\n").as_bytes());
        }
        head.extend_from_slice(b"\r\n");
        assert!(is_other(&head));
    }

    #[test]
    fn an_incomplete_head_waits() {
        let head = b"GET /.well-known/mercure?match=/a HTTP/1.1\r\nHost: x\r\n\r\n";
        for cut in 1..head.len() {
            assert!(
                matches!(look(&head[..cut], peer()), Look::Incomplete),
                "{cut}"
            );
        }
        assert!(is_subscription(head));
    }
}
