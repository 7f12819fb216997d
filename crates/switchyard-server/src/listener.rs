//! The accept loop: HTTP/1.1 connections served by our loop (`h1`, hyper beside it for the
//! uncommon), with graceful shutdown.
//!
//! Not `axum::serve`: it sniffs every new connection for an HTTP/2 preface (one extra read
//! syscall, and hyper's read buffer then grows to 16 KiB instead of 8 KiB for the
//! connection's life; at 5,000 open streams that is 40 MB), and it exposes none of hyper's
//! settings. Here: `TCP_NODELAY` on every accepted socket (Nagle plus delayed ACKs would hold
//! small SSE events back by ~40 ms), client header and idle timeouts (`conn_watch`: one sweeper
//! for all connections instead of hyper's timer per request), and accept errors (such as
//! running out of file descriptors) that back off instead of ending the server, and busy
//! polling when `server.busy_poll` asks for it (`busy_poll`). The OpenAI
//! and Anthropic SDKs speak HTTP/1.1; TLS and HTTP/2 toward clients belong to the load
//! balancer in front.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::busy_poll::BusyPoll;
use crate::conn_watch::{Connections, CountedStream, Untrack};
use crate::edge::App;
use crate::h1;

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting and waits for
/// the open connections to finish their in-flight requests (idle keep-alive connections are
/// closed at once).
pub async fn serve(listener: TcpListener, app: App, shutdown: impl Future<Output = ()>) {
    let conns = Arc::new(Connections::default());
    let sweeper = tokio::spawn(Arc::clone(&conns).sweeper(app.client_limits()));
    let busy_poll = app.busy_poll().map(BusyPoll::new);
    let spinners = busy_poll.as_ref().map_or_else(Vec::new, |b| {
        b.start(tokio::runtime::Handle::current().metrics().num_workers())
    });
    // Connections hyper serves (see `h1`) hold a receiver: `true` asks them to finish.
    let (stop, _) = watch::channel(false);
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
        let (id, activity) = conns.open();
        let io = CountedStream::new(stream, Arc::clone(&activity), busy_poll.clone());
        let conn = h1::serve(
            io,
            app.clone(),
            Arc::clone(&activity),
            h1::Stop {
                conns: Arc::clone(&conns),
                hyper: stop.subscribe(),
            },
        );
        let untrack = Untrack {
            conns: Arc::clone(&conns),
            id,
        };
        let task = tokio::spawn(async move {
            let _untrack = untrack;
            conn.await;
        });
        conns.track(id, activity, task.abort_handle());
    }
    drop(listener);
    // Idle connections close now, the others after their request in progress (the sweeper
    // still enforcing the header timeout on any that started a head).
    conns.stop();
    stop.send_replace(true);
    while conns.len() > 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    sweeper.abort();
    for s in spinners {
        s.abort();
    }
}
