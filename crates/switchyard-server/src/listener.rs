//! The accept loop: HTTP/1.1 connections served by hyper directly, with graceful shutdown.
//!
//! Not `axum::serve`: it sniffs every new connection for an HTTP/2 preface (one extra read
//! syscall, and hyper's read buffer then grows to 16 KiB instead of 8 KiB for the
//! connection's life; at 5,000 open streams that is 40 MB), and it exposes none of hyper's
//! settings. Here: `TCP_NODELAY` on every accepted socket (Nagle plus delayed ACKs would hold
//! small SSE events back by ~40 ms), a header read timeout against slow-loris clients, and
//! accept errors (such as running out of file descriptors) that back off instead of ending
//! the server. The OpenAI and Anthropic SDKs speak HTTP/1.1; TLS and HTTP/2 toward clients
//! belong to the load balancer in front.

use std::future::Future;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use crate::edge::App;

/// How long a client may take to send a request's headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting and waits for
/// the open connections to finish their in-flight requests (idle keep-alive connections are
/// closed at once).
pub async fn serve(listener: TcpListener, app: App, shutdown: impl Future<Output = ()>) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .keep_alive(true);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(e) => {
                    // Per-connection failures (reset before accept) are routine; running out
                    // of descriptors is not, but retrying shortly is the only useful reaction.
                    tracing::warn!(error = %e, "accept failed; retrying");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let conn = http.serve_connection(TokioIo::new(stream), app.clone());
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "client connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}
