//! Client connections served by a small HTTP/1.1 loop of our own, with hyper beside it as the
//! reference for everything outside the common shape.
//!
//! What the loop serves: HTTP/1.1 requests (keep-alive, or `Connection: close`: answered, then
//! the connection closed) whose body, if any, has a `Content-Length` within the body limit
//! ([`request`] says exactly which heads), one after another (pipelined ones too), each
//! answered with a `content-length` or chunked body ([`response`]). It reads the whole body before calling the handler (the handlers read it
//! whole first anyway), watches the socket for the client's end while the handler works or a
//! stream waits, and sends the ready chunks of a stream in one write.
//!
//! What hyper serves: the rest of any connection whose next head is anything else (HTTP/1.0,
//! chunked uploads, `Expect: 100-continue`, upgrades, a malformed or oversized head, a body
//! over the limit). The loop hands hyper the socket with the unread
//! bytes put back in front ([`rewind`]), so hyper sees the connection as if it had read it
//! from that byte on, and answers errors in its own way (400, 431).
//!
//! Why: on a same-format chat request hyper's server side cost ~12,000 instructions of the
//! gateway's ~46,000 (its dispatcher's state machine, a body channel to the handler, a
//! header map rebuilt for every response, its own encoder), and what the loop does instead
//! costs about a third of that (measured in `bench/`, see docs/benchmarks.md).

mod date;
mod request;
mod response;
mod rewind;

use std::future::{poll_fn, Future};
use std::io::{self, IoSlice};
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use bytes::{Bytes, BytesMut};
use http::{Method, Request};
use http_body::Body as _;
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;

use crate::conn_watch::{Activity, Connections, CountedStream, Watched};
use crate::edge::{App, AppFuture};
use crate::headers::Transparency;
use request::Taken;
use response::Framing;

/// A head not complete within this many bytes goes to hyper (which allows ~400 KB and then
/// answers 431).
const MAX_HEAD: usize = 16 * 1024;
/// The read buffer a connection starts with (hyper's size).
const INITIAL_BUFFER: usize = 8 * 1024;
/// Bytes of pipelined requests read ahead while a response is in progress.
const MAX_READ_AHEAD: usize = 64 * 1024;
/// A body piece this large is written from where it is instead of copied beside its framing.
const HOLD: usize = 256;
/// Pieces held for one write at most (each one more `iovec`).
const MAX_HELD: usize = 15;
/// Buffers larger than this are not kept between requests.
const MAX_KEPT: usize = 64 * 1024;
/// Ready body bytes gathered up to this many before a write.
const GATHER: usize = 64 * 1024;

/// One client connection.
pub(crate) struct Conn {
    io: CountedStream,
    /// Bytes read and not yet taken as a head or body.
    buf: BytesMut,
    /// The response being written: its head and the framing and small pieces of its body.
    out: Vec<u8>,
    /// Larger pieces of the body, each to be written where it is after `out` up to the
    /// offset beside it.
    held: Vec<(usize, Bytes)>,
    app: App,
    activity: Arc<Activity>,
    conns: Arc<Connections>,
    body_limit: usize,
}

/// Why the loop stopped.
enum End {
    /// The connection is done.
    Closed,
    /// The next head is one for hyper.
    Hyper,
}

/// How a connection learns that the gateway is shutting down.
pub(crate) struct Stop {
    /// Read after each request (the listener closes idle connections itself).
    pub(crate) conns: Arc<Connections>,
    /// For a connection hyper serves: turns true at shutdown.
    pub(crate) hyper: watch::Receiver<bool>,
}

/// Serves one client connection until it ends, or until the request in progress when the
/// gateway began shutting down is answered.
pub(crate) async fn serve(io: CountedStream, app: App, activity: Arc<Activity>, stop: Stop) {
    let Stop {
        conns,
        hyper: mut shutdown,
    } = stop;
    let mut conn = Conn {
        io,
        buf: BytesMut::with_capacity(INITIAL_BUFFER),
        out: Vec::new(),
        held: Vec::new(),
        body_limit: app.body_limit(),
        app,
        activity,
        conns,
    };
    if let End::Closed = conn.run().await {
        let _ = conn.io.shutdown().await;
        return;
    }
    let Conn {
        io,
        buf,
        app,
        activity,
        ..
    } = conn;
    let io = TokioIo::new(rewind::Rewind::new(buf.freeze(), io));
    let mut hyper = hyper::server::conn::http1::Builder::new();
    // No `header_read_timeout`: `conn_watch` enforces it (and the idle limit) for every
    // connection at once.
    hyper.keep_alive(true);
    // Boxed: only the connections handed over pay for hyper's state (a connection's task is as
    // large as its largest state, and thousands of connections may be open).
    let mut served = Box::pin(hyper.serve_connection(io, Watched::new(app, activity)));
    let ended = tokio::select! {
        ended = served.as_mut() => ended,
        _ = stopping(&mut shutdown) => {
            served.as_mut().graceful_shutdown();
            served.await
        }
    };
    if let Err(e) = ended {
        tracing::debug!(error = %e, "client connection ended with an error");
    }
}

/// Resolves once the gateway is shutting down.
async fn stopping(shutdown: &mut watch::Receiver<bool>) {
    // An error: the listener is gone, which is a shutdown too.
    let _ = shutdown.wait_for(|stop| *stop).await;
}

impl Conn {
    async fn run(&mut self) -> End {
        loop {
            let (head, body_len) = loop {
                match request::take(&mut self.buf, self.body_limit) {
                    Taken::Head(head, body_len) => break (head, body_len),
                    Taken::Partial if self.buf.len() < MAX_HEAD => {}
                    Taken::Partial | Taken::Decline => return End::Hyper,
                }
                // Between requests a shutdown aborts this task (`Connections::stop`).
                let read = read_more(&mut self.io, &mut self.buf).await;
                if !matches!(read, Ok(n) if n > 0) {
                    return End::Closed;
                }
            };
            // Busy from here: the header timeout is for heads, not for slow uploads (the
            // request's end is counted in `respond`; a connection that fails before it ends).
            self.activity.begin();
            while self.buf.len() < body_len {
                self.buf.reserve(body_len - self.buf.len());
                if !matches!(read_more(&mut self.io, &mut self.buf).await, Ok(n) if n > 0) {
                    return End::Closed;
                }
            }
            let body = self.buf.split_to(body_len).freeze();
            let (handler, is_head, close) = self.start(head, body);
            match self.respond(handler, is_head, close).await {
                Ok(true) => {}
                Ok(false) | Err(_) => return End::Closed,
            }
            // A large body or response grew the buffers: give the memory back rather than
            // keep it for the connection's life (thousands of connections may stay open).
            if self.buf.is_empty() && self.buf.capacity() > MAX_KEPT {
                self.buf = BytesMut::with_capacity(INITIAL_BUFFER);
            }
            if self.out.capacity() > MAX_KEPT {
                self.out = Vec::new();
            }
        }
    }

    /// The handler's future for a request (a plain function: the request's parts are moved into
    /// the future, not kept beside it in the connection's state), whether it is `HEAD`, and
    /// whether the client asked to close the connection after it.
    fn start(&self, head: request::Head, body: Bytes) -> (AppFuture, bool, bool) {
        let is_head = head.method == Method::HEAD;
        let close = head.close;
        let mut req = Request::new(Full::new(body));
        *req.method_mut() = head.method;
        *req.uri_mut() = head.uri;
        *req.headers_mut() = head.headers;
        (self.app.handle_raw(req), is_head, close)
    }

    /// Serves one request: `Ok(true)` when the connection stays open for the next.
    /// Takes the handler's future, not the request: an `async fn` keeps its arguments for its
    /// whole life, and the request is consumed at once.
    async fn respond(
        &mut self,
        handler: AppFuture,
        is_head: bool,
        close: bool,
    ) -> io::Result<bool> {
        let Self {
            io,
            buf,
            out,
            held,
            activity,
            conns,
            ..
        } = self;
        let _finish = Finish(activity);
        let mut handler = handler;
        let response = poll_fn(|cx| {
            if let Poll::Ready(r) = handler.as_mut().poll(cx) {
                return Poll::Ready(Some(r));
            }
            watch_end(io, buf, cx).map(|()| None)
        })
        .await;
        drop(handler);
        let Some(Ok(response)) = response else {
            // The client went away: the handler's future is dropped, as hyper does.
            return Ok(false);
        };
        let (parts, mut body) = response.into_parts();
        let exact = body.size_hint().exact();
        out.clear();
        let written = response::encode(
            parts.status,
            &parts.headers,
            parts.extensions.get::<Transparency>(),
            exact,
            is_head,
            close || conns.stopping(),
            out,
        );
        drop(parts);
        let complete = match written.framing {
            Framing::Empty => {
                drop(body);
                write_gathered(io, out, &[]).await?;
                true
            }
            Framing::Length(_) => send_body(io, buf, out, held, &mut body, false).await?,
            Framing::Chunked => send_body(io, buf, out, held, &mut body, true).await?,
        };
        out.clear();
        held.clear();
        Ok(complete && !written.close && !conns.stopping())
    }
}

/// Marks the request finished when the response is done with, however that ends.
struct Finish<'a>(&'a Activity);

impl Drop for Finish<'_> {
    fn drop(&mut self) {
        self.0.finish();
    }
}

/// One step of sending a body.
enum Step {
    Frame(Option<Result<http_body::Frame<Bytes>, axum::Error>>),
    /// Nothing more is ready: write what is gathered.
    Write,
    /// The client went away.
    Gone,
}

/// Sends `body` after the head in `out`: `Ok(true)` once all of it is written, `Ok(false)`
/// when the client went away or the body failed (the connection then closes, a chunked body
/// without its last chunk, so the client sees it cut off). The pieces that are ready are
/// gathered and written together, small ones copied beside their framing, larger ones
/// written from where they are.
async fn send_body(
    io: &mut CountedStream,
    buf: &mut BytesMut,
    out: &mut Vec<u8>,
    held: &mut Vec<(usize, Bytes)>,
    body: &mut Body,
    chunked: bool,
) -> io::Result<bool> {
    let mut gathered = out.len();
    loop {
        let step = poll_fn(|cx| match Pin::new(&mut *body).poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(Step::Frame(frame)),
            Poll::Pending if gathered > 0 => Poll::Ready(Step::Write),
            Poll::Pending => watch_end(io, buf, cx).map(|()| Step::Gone),
        })
        .await;
        match step {
            Step::Write => {}
            Step::Gone | Step::Frame(Some(Err(_))) => return Ok(false),
            Step::Frame(None) => {
                if chunked {
                    out.extend_from_slice(b"0\r\n\r\n");
                }
                write_gathered(io, out, held).await?;
                return Ok(true);
            }
            Step::Frame(Some(Ok(frame))) => {
                // Trailers are not sent (no handler of the gateway makes them).
                let Ok(data) = frame.into_data() else {
                    continue;
                };
                if data.is_empty() {
                    continue;
                }
                if chunked {
                    response::chunk_size(data.len(), out);
                }
                gathered += data.len();
                if data.len() >= HOLD {
                    held.push((out.len(), data));
                } else {
                    out.extend_from_slice(&data);
                }
                if chunked {
                    out.extend_from_slice(b"\r\n");
                }
                if gathered < GATHER && held.len() < MAX_HELD {
                    continue;
                }
            }
        }
        write_gathered(io, out, held).await?;
        out.clear();
        held.clear();
        gathered = 0;
    }
}

/// Writes `out` with the `held` pieces in their places, with as few system calls as the
/// socket allows. The `iovec`s are made afresh for each attempt, on the stack of the poll, so
/// that the future holds only the count written (a connection's task is as large as its
/// largest state, and thousands of connections may be open).
async fn write_gathered(
    io: &mut CountedStream,
    out: &[u8],
    held: &[(usize, Bytes)],
) -> io::Result<()> {
    let held = &held[..held.len().min(MAX_HELD)];
    let total = out.len() + held.iter().map(|(_, d)| d.len()).sum::<usize>();
    let mut written = 0;
    poll_fn(|cx| {
        while written < total {
            let mut slices = [IoSlice::new(&[]); 2 * MAX_HELD + 1];
            let mut n = 0;
            let mut skip = written;
            let mut from = 0;
            for (at, data) in held {
                unwritten(&mut slices, &mut n, &mut skip, &out[from..*at]);
                unwritten(&mut slices, &mut n, &mut skip, data);
                from = *at;
            }
            unwritten(&mut slices, &mut n, &mut skip, &out[from..]);
            // One piece (the common reply): `send`, which the kernel takes on a shorter path
            // than `writev`.
            let attempt = match &slices[..n] {
                [one] => Pin::new(&mut *io).poll_write(cx, one),
                many => Pin::new(&mut *io).poll_write_vectored(cx, many),
            };
            match attempt {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(wrote)) => written += wrote,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    })
    .await
}

/// Adds what is left of `part` after `skip` bytes already written to `slices[n..]`.
fn unwritten<'a>(slices: &mut [IoSlice<'a>], n: &mut usize, skip: &mut usize, part: &'a [u8]) {
    if *skip >= part.len() {
        *skip -= part.len();
    } else if let Some(slot) = slices.get_mut(*n) {
        *slot = IoSlice::new(&part[*skip..]);
        *skip = 0;
        *n += 1;
    }
}

/// Reads what the client sent next into `buf`.
async fn read_more(io: &mut CountedStream, buf: &mut BytesMut) -> io::Result<usize> {
    if buf.capacity() - buf.len() < 1024 {
        buf.reserve(INITIAL_BUFFER);
    }
    io.read_buf(buf).await
}

/// While a response is in progress: `Ready` when the client has closed its side (or its
/// socket failed), as hyper treats it (no half-close). Bytes of a next request are kept in
/// `buf`. Costs no system call while nothing arrives: tokio remembers that the socket was
/// drained.
fn watch_end(io: &mut CountedStream, buf: &mut BytesMut, cx: &mut Context<'_>) -> Poll<()> {
    loop {
        if buf.len() >= MAX_READ_AHEAD {
            return Poll::Pending;
        }
        if buf.capacity() - buf.len() < 1024 {
            buf.reserve(INITIAL_BUFFER);
        }
        match pin!(io.read_buf(buf)).poll(cx) {
            Poll::Ready(Ok(0) | Err(_)) => return Poll::Ready(()),
            Poll::Ready(Ok(_)) => {}
            Poll::Pending => return Poll::Pending,
        }
    }
}
