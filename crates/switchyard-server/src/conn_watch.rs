//! Client connection timeouts without a timer per request.
//!
//! Two limits, both from `server`: a request's head must arrive within
//! `client_header_timeout` of its first byte (slow-loris clients), and a keep-alive connection
//! idle for `client_idle_timeout` is closed (75 s by default: longer than the 60 s of common
//! load balancers, so the balancer closes first and never reuses a connection the gateway has
//! just closed, which its clients would see as 502s).
//!
//! hyper's own `header_read_timeout` does the first with a boxed timer armed and disarmed for
//! every request (~1,400 instructions, 2.6% of a same-format chat request's user-space work,
//! in `bench/`), and uses the same limit for idle connections. Here each connection keeps three
//! counters that the request path bumps with relaxed atomics (bytes read, requests in flight,
//! requests finished), and one sweeper task for the whole listener compares them once a
//! second: a connection whose counters say "head started, no request since" or "nothing at
//! all" for longer than the limit is aborted. A connection is closed between its limit and
//! about two seconds past it (two ticks: the one that first sees the state, and the first one
//! at least the limit later).

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use axum::response::Response;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::task::AbortHandle;
use tokio::time::Instant;

use crate::busy_poll::BusyPoll;
use crate::edge::{App, AppFuture};
use crate::extract::BoxError;

/// How often the sweeper looks at every connection.
const TICK: Duration = Duration::from_secs(1);

/// What one connection did, as counters the sweeper compares between ticks.
#[derive(Debug, Default)]
pub(crate) struct Activity {
    /// Reads that returned bytes.
    reads: AtomicU32,
    /// Requests being served: from the service call until the response is built, or for a
    /// streamed body until hyper drops it.
    busy: AtomicU32,
    /// Requests finished.
    done: AtomicU32,
    /// `reads` when the last request finished: reads after it are the next head's.
    reads_at_done: AtomicU32,
}

impl Activity {
    /// A request is being served.
    pub(crate) fn begin(&self) {
        self.busy.fetch_add(1, Ordering::Relaxed);
    }

    /// The request being served is done with.
    pub(crate) fn finish(&self) {
        self.reads_at_done
            .store(self.reads.load(Ordering::Relaxed), Ordering::Relaxed);
        self.busy.fetch_sub(1, Ordering::Relaxed);
        self.done.fetch_add(1, Ordering::Relaxed);
    }
}

/// The client's socket, counting reads that return bytes (and telling busy polling).
#[derive(Debug)]
pub(crate) struct CountedStream {
    inner: TcpStream,
    activity: Arc<Activity>,
    busy_poll: Option<Arc<BusyPoll>>,
}

impl CountedStream {
    pub(crate) fn new(
        inner: TcpStream,
        activity: Arc<Activity>,
        busy_poll: Option<Arc<BusyPoll>>,
    ) -> Self {
        Self {
            inner,
            activity,
            busy_poll,
        }
    }
}

impl AsyncRead for CountedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            // One writer (this socket's reader, `&mut self`): a load and a store, not an
            // atomic read-modify-write; the sweeper only compares values.
            let reads = &self.activity.reads;
            reads.store(
                reads.load(Ordering::Relaxed).wrapping_add(1),
                Ordering::Relaxed,
            );
            if let Some(busy) = &self.busy_poll {
                busy.poke();
            }
        }
        polled
    }
}

impl AsyncWrite for CountedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// [`App`] for one connection: marks each request busy until its response is done.
#[derive(Debug)]
pub(crate) struct Watched {
    app: App,
    activity: Arc<Activity>,
}

impl Watched {
    pub(crate) fn new(app: App, activity: Arc<Activity>) -> Self {
        Self { app, activity }
    }
}

impl<B> hyper::service::Service<Request<B>> for Watched
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = InFlight;

    fn call(&self, req: Request<B>) -> Self::Future {
        self.activity.busy.fetch_add(1, Ordering::Relaxed);
        InFlight {
            inner: hyper::service::Service::call(&self.app, req),
            activity: Some(Arc::clone(&self.activity)),
        }
    }
}

/// A request's response future; the request stays busy until the response is complete.
pub(crate) struct InFlight {
    inner: AppFuture,
    /// `None` once the request's end has been handed on (to the body, or counted).
    activity: Option<Arc<Activity>>,
}

impl Future for InFlight {
    type Output = Result<Response, std::convert::Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Poll::Ready(Ok(response)) = self.inner.as_mut().poll(cx) else {
            return Poll::Pending;
        };
        let Some(activity) = self.activity.take() else {
            return Poll::Ready(Ok(response));
        };
        let body = response.body();
        if http_body::Body::is_end_stream(body)
            || http_body::Body::size_hint(body).exact().is_some()
        {
            // Written with the head: the request is done.
            activity.finish();
            return Poll::Ready(Ok(response));
        }
        // A streamed body: busy until hyper drops it (finished, or the client went away).
        Poll::Ready(Ok(response.map(|inner| {
            Body::new(FinishOnDrop {
                inner,
                _activity: Finisher(activity),
            })
        })))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        // Dropped before the response was built (the client went away).
        if let Some(a) = self.activity.take() {
            a.finish();
        }
    }
}

struct Finisher(Arc<Activity>);

impl Drop for Finisher {
    fn drop(&mut self) {
        self.0.finish();
    }
}

/// A streamed response body that marks its request finished when dropped.
struct FinishOnDrop {
    inner: Body,
    /// Held for its `Drop`.
    _activity: Finisher,
}

impl http_body::Body for FinishOnDrop {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Client timeouts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// From a head's first byte to the request.
    pub(crate) header: Duration,
    /// Between requests.
    pub(crate) idle: Duration,
}

/// One tracked connection.
struct Tracked {
    activity: Arc<Activity>,
    abort: AbortHandle,
    seen_reads: u32,
    seen_done: u32,
    /// Last time the connection was seen serving or finishing a request (or accepted).
    idle_since: Instant,
    /// First tick that saw bytes of a head not yet turned into a request.
    head_since: Option<Instant>,
}

/// Every open client connection of a listener, and their limits.
#[derive(Default)]
pub(crate) struct Connections {
    open: Mutex<HashMap<u64, Tracked>>,
    next: AtomicU64,
    /// The gateway is shutting down: connections close after their request in progress.
    stopping: AtomicBool,
}

impl Connections {
    /// A new connection's id and its counters.
    pub(crate) fn open(&self) -> (u64, Arc<Activity>) {
        (
            self.next.fetch_add(1, Ordering::Relaxed),
            Arc::new(Activity::default()),
        )
    }

    /// Starts watching connection `id`, served by the task behind `abort`.
    pub(crate) fn track(&self, id: u64, activity: Arc<Activity>, abort: AbortHandle) {
        if abort.is_finished() {
            return;
        }
        let tracked = Tracked {
            activity,
            abort,
            seen_reads: 0,
            seen_done: 0,
            idle_since: Instant::now(),
            head_since: None,
        };
        self.lock().insert(id, tracked);
    }

    /// Connection `id` ended.
    pub(crate) fn close(&self, id: u64) {
        self.lock().remove(&id);
    }

    /// True once [`Connections::stop`] was called: a connection closes after the request it
    /// is serving (said with `connection: close`).
    pub(crate) fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }

    /// Shutdown: from now on connections close after their request in progress, and those
    /// between requests, with no byte of a next head read, are closed now.
    pub(crate) fn stop(&self) {
        self.stopping.store(true, Ordering::Relaxed);
        self.lock().retain(|_, t| {
            let a = &t.activity;
            let idle = a.busy.load(Ordering::Relaxed) == 0
                && a.reads.load(Ordering::Relaxed) == a.reads_at_done.load(Ordering::Relaxed);
            if idle {
                t.abort.abort();
            }
            !idle && !t.abort.is_finished()
        });
    }

    /// Connections still open.
    pub(crate) fn len(&self) -> usize {
        let mut open = self.lock();
        open.retain(|_, t| !t.abort.is_finished());
        open.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Tracked>> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// One look at every connection at `now`: aborts those past a limit.
    fn sweep(&self, now: Instant, limits: Limits) {
        self.lock().retain(|_, t| {
            if t.abort.is_finished() {
                return false;
            }
            let a = &t.activity;
            let reads = a.reads.load(Ordering::Relaxed);
            let done = a.done.load(Ordering::Relaxed);
            let busy = a.busy.load(Ordering::Relaxed) > 0;
            if busy || done != t.seen_done {
                t.idle_since = now;
                t.head_since = None;
                t.seen_done = done;
                if busy {
                    t.seen_reads = reads;
                    return true;
                }
                // Bytes read since the request finished start the next head's clock now.
                t.seen_reads = a.reads_at_done.load(Ordering::Relaxed);
            }
            if reads != t.seen_reads {
                t.seen_reads = reads;
                t.head_since.get_or_insert(now);
            }
            let (since, limit, what) = match t.head_since {
                Some(h) => (h, limits.header, "no complete request head"),
                None => (t.idle_since, limits.idle, "idle"),
            };
            if now.saturating_duration_since(since) < limit {
                return true;
            }
            tracing::debug!(
                reason = what,
                after_s = limit.as_secs(),
                "client connection closed"
            );
            t.abort.abort();
            false
        });
    }

    /// Sweeps once a second, for ever (abort the task to stop it).
    pub(crate) async fn sweeper(self: Arc<Self>, limits: Limits) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            self.sweep(Instant::now(), limits);
        }
    }
}

/// Removes a connection from [`Connections`] when its task ends, however it ends.
pub(crate) struct Untrack {
    pub(crate) conns: Arc<Connections>,
    pub(crate) id: u64,
}

impl Drop for Untrack {
    fn drop(&mut self) {
        self.conns.close(self.id);
    }
}
