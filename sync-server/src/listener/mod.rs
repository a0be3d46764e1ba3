//! The hub's accept loop: subscriptions outside hyper, everything else through hyper.
//!
//! Each connection's first request head is peeked at ([`head`]). A plain
//! `GET /.well-known/mercure` is answered by the router and then streamed by a small task
//! that writes straight to the socket ([`lean`]); every other connection is served by
//! hyper, as `axum::serve` would, including a subscription that arrives as a later request
//! on a keep-alive connection. Both paths call the same [`Router`], with
//! `ConnectInfo<SocketAddr>`, and both fail a write stalled for too long ([`StallGuard`]).
//!
//! Shutdown works like `axum::serve`'s `with_graceful_shutdown`: the loop stops accepting,
//! connections still waiting for their first request are closed, hyper connections finish
//! their request in flight, and the loop returns once every connection has ended. Event
//! streams end through the application's shutdown token (telling clients to reconnect).

mod head;
mod lean;
mod stall;

pub use head::{HEAD_TIMEOUT, MAX_HEAD};
pub use stall::StallGuard;

use axum::extract::ConnectInfo;
use axum::Router;
use head::FirstRequest;
use hyper::body::Incoming;
use hyper::Request;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// A [`TcpListener`] whose connections get `TCP_NODELAY` and the write-stall limit.
#[derive(Debug)]
pub struct HubListener {
    inner: TcpListener,
    write_stall: Duration,
}

impl HubListener {
    /// Wraps `inner`; writes stalled for `write_stall` fail.
    #[must_use]
    pub fn new(inner: TcpListener, write_stall: Duration) -> Self {
        Self { inner, write_stall }
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// The next connection. Errors of one connection are skipped; others (out of file
    /// descriptors) are logged and retried after a second, as `axum::serve` does.
    async fn accept(&self) -> (TcpStream, SocketAddr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    return (stream, peer);
                }
                Err(e) if is_connection_error(&e) => {}
                Err(e) => {
                    tracing::error!("accept error: {e}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Serves `router` on `listener` (with `ConnectInfo<SocketAddr>`) until `shutdown`
/// resolves, then waits for open connections to end.
pub async fn serve(
    listener: HubListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let closing = CancellationToken::new();
    // Every connection holds a watcher until it ends: `shutdown()` waits for all of them.
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        tokio::spawn(connection(
            stream,
            peer,
            router.clone(),
            listener.write_stall,
            closing.clone(),
            graceful.watcher(),
        ));
    }
    drop(listener);
    closing.cancel();
    graceful.shutdown().await;
    Ok(())
}

/// One connection: sorted by its first request, then served by the lean path or hyper.
async fn connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    write_stall: Duration,
    closing: CancellationToken,
    watcher: Watcher,
) {
    // Everything before the stream is boxed, and scoped so that no request, router future
    // or response head stays in this task's state, which an idle subscriber keeps.
    let streaming = {
        let first = tokio::select! {
            first = Box::pin(head::first_request(&mut stream, peer)) => first,
            // Nothing is in flight yet: close, as hyper does with an idle connection.
            () = closing.cancelled() => return,
        };
        match first {
            FirstRequest::Subscription(request) => {
                Box::pin(lean::answer(stream, request, router, write_stall)).await
            }
            FirstRequest::Other => {
                Box::pin(through_hyper(stream, peer, router, write_stall, watcher)).await;
                return;
            }
            FirstRequest::Closed => return,
        }
    };
    if let Some(streaming) = streaming {
        // The watcher is held, not watched: the stream ends through the application's
        // shutdown token, and graceful shutdown waits for that.
        lean::stream(streaming, write_stall).await;
    }
    drop(watcher);
}

/// Serves the connection with hyper's HTTP/1.1 server, as `axum::serve` does.
async fn through_hyper(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    write_stall: Duration,
    watcher: Watcher,
) {
    let service = router.map_request(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        request
    });
    let io = TokioIo::new(StallGuard::new(stream, write_stall));
    let connection = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, TowerToHyperService::new(service));
    if let Err(error) = watcher.watch(connection).await {
        tracing::trace!(%error, "connection failed");
    }
}
