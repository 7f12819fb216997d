//! HTTP/1.1 to providers: our own keep-alive pool and message framing, with `httparse` (the
//! parser hyper itself uses) for chunk sizes and for response heads off the fast path
//! ([`head`]).
//!
//! Why not hyper's client here: a gateway sends one kind of request (a `POST` with a JSON
//! body of known length) and reads one kind of response, and hyper-util's pooled client paid
//! for generality on every call. Each connection ran as its own task fed through a request
//! channel (a 9 KB block per connection) with an 8 KB write buffer that outlived the request,
//! and each request built a header map, hashed its pool key with SipHash, raced a checkout
//! against a connect, and crossed tasks twice. With 5,000 streams held open over HTTP/1.1
//! that was ~10 KB per stream, and on a short request ~25k of the gateway's ~100k
//! instructions (docs/benchmarks.md). Here the request's own future drives the connection:
//! the head is written from one buffer, the response read into one adaptive buffer, and
//! body chunks are slices of it.
//!
//! What it does, as a demanding client should:
//! - Framing per RFC 9112 §6.3: `Content-Length`, `Transfer-Encoding: chunked` (extensions
//!   and trailers skipped), or read-until-close; no body on 204 and 304; interim 1xx
//!   responses skipped; conflicting lengths are a malformed response.
//! - Keep-alive: a connection goes back to the pool only after its body was read to the end,
//!   when neither side asked to close it and nothing beyond the message arrived. An idle
//!   connection is checked before reuse (a closed or readable socket is dropped); a task per
//!   pool closes idle connections past [`IDLE_TIMEOUT`] or closed by the upstream, so none
//!   linger when traffic stops.
//! - A request whose write fails on a reused connection (the provider closed it while idle)
//!   is sent once more on a new connection; nothing was processed. Otherwise a failed write
//!   still reads what the provider answered before closing (a 413 or 401 sent before it read
//!   a large body), so the client gets that answer rather than a broken pipe. A request that was
//!   written and got no answer is not sent again (LLM calls are not idempotent); the engine's
//!   retry policy decides.

use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, Uri};
use hyper_util::rt::TokioIo;
use switchyard_providers::{ErrorClass, UpstreamError};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, ReadBuf};
use tokio::time::Instant;
use tower::ServiceExt;

use crate::transport::{connect_failed, request_failed, Connector};

mod head;
use head::parse_head;

/// Idle connections are closed after this long unused.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// Idle connections kept per origin.
pub const MAX_IDLE_PER_ORIGIN: usize = 1024;
/// Largest response head accepted.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Most response headers accepted.
const MAX_HEADERS: usize = 128;
/// First read buffer of a connection. Small, because a held stream keeps its buffer (a
/// response head and the first events fit; 2 KiB against 4 KiB measured 4–10 MB less at
/// 5,000 open streams). It doubles while reads fill it.
const INITIAL_READ: usize = 2048;
/// Read buffer of a held stream ([`H1Body::settle_for_stream`]).
const STREAM_READ: usize = 1024;
/// Largest read buffer growth step.
const MAX_READ: usize = 64 * 1024;
/// How long a released body ([`H1Body::release`]) is read on for its end before its
/// connection is closed instead of reused.
const DRAIN_WAIT: Duration = Duration::from_secs(1);
/// How much of a released body is read on at most.
const DRAIN_BYTES: usize = 64 * 1024;
/// How long a request whose write failed waits for an answer the upstream sent early.
const EARLY_ANSWER_WAIT: Duration = Duration::from_secs(1);
/// A request body up to this size is copied behind its head and written in one call.
const COALESCE_BODY: usize = 16 * 1024;

type Io = TokioIo<<Connector as tower::Service<Uri>>::Response>;

/// One keep-alive connection with its read buffer.
struct Conn {
    io: Io,
    buf: BytesMut,
    next_read: usize,
    idle_since: Instant,
}

impl Conn {
    fn new(io: Io) -> Self {
        Self {
            io,
            buf: BytesMut::new(),
            next_read: INITIAL_READ,
            idle_since: Instant::now(),
        }
    }

    /// Reads more bytes into the buffer; 0 at the end of the stream.
    async fn read_more(&mut self) -> io::Result<usize> {
        let spare = self.buf.capacity() - self.buf.len();
        if spare < self.next_read / 4 {
            self.buf.reserve(self.next_read);
        }
        let spare = self.buf.capacity() - self.buf.len();
        let n = self.io.read_buf(&mut self.buf).await?;
        if n == spare && self.next_read < MAX_READ {
            self.next_read *= 2;
        }
        Ok(n)
    }

    /// Whether an idle connection can take a request: still open, nothing unread.
    fn is_reusable(&mut self) -> bool {
        let mut probe = [MaybeUninit::<u8>::uninit(); 1];
        let mut probe = ReadBuf::uninit(&mut probe);
        let mut cx = Context::from_waker(Waker::noop());
        matches!(
            Pin::new(&mut self.io).poll_read(&mut cx, &mut probe),
            Poll::Pending
        )
    }
}

/// Idle connections of one origin (scheme and authority).
struct Origin {
    https: bool,
    authority: Box<str>,
    /// Boxed: a connection (with TLS state) is over a kilobyte, moved between pool and body.
    #[allow(clippy::vec_box)]
    idle: Vec<Box<Conn>>,
}

/// The pool: idle connections per origin. Connections in use belong to their request.
pub struct H1Pool {
    connector: Connector,
    origins: Mutex<Vec<Origin>>,
    idle_timeout: Duration,
    /// Whether the task that closes expired and dead idle connections runs.
    reaper: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for H1Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H1Pool").finish_non_exhaustive()
    }
}

/// A request to send: everything but the body is the head.
pub(crate) struct H1Request<'a> {
    pub uri: &'a Uri,
    /// `Host` value; the URI's authority when `None`.
    pub host: Option<&'a HeaderValue>,
    pub headers: &'a [(&'a [u8], &'a [u8])],
    /// More headers, after `headers` (a provider's fixed ones).
    pub extra: &'static [(&'static str, &'static str)],
    pub body: &'a Bytes,
}

/// A response head and its body.
#[derive(Debug)]
pub(crate) struct H1Response {
    pub status: u16,
    /// Headers of a non-2xx response (for error classification); empty on success.
    pub headers: HeaderMap,
    pub body: H1Body,
}

impl H1Pool {
    /// A pool connecting with `connector` (which must offer HTTP/1.1 only by ALPN).
    pub(crate) fn new(connector: Connector) -> Self {
        Self {
            connector,
            origins: Mutex::new(Vec::new()),
            idle_timeout: IDLE_TIMEOUT,
            reaper: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Sends the request and reads the response head.
    pub(crate) async fn send(
        self: &Arc<Self>,
        req: &H1Request<'_>,
    ) -> Result<H1Response, UpstreamError> {
        let mut head = encode_head(req);
        let coalesce = req.body.len() <= COALESCE_BODY;
        if coalesce {
            head.extend_from_slice(req.body);
        }
        let mut again = true;
        loop {
            let (origin, idle) = self.checkout(req.uri);
            let (mut conn, reused) = match idle {
                Some(c) => (c, true),
                // Boxed: opening a connection (TCP, TLS, a proxy tunnel) is a large future
                // and a rare one; inline it would size every request's future.
                None => (Box::pin(self.connect(req.uri)).await?, false),
            };
            let written = async {
                conn.io.write_all(&head).await?;
                if !coalesce {
                    conn.io.write_all(req.body).await?;
                }
                conn.io.flush().await
            }
            .await;
            match written {
                Ok(()) => {}
                Err(e) if reused && std::mem::take(&mut again) => {
                    tracing::debug!(error = %e, "idle upstream connection was closed; sending on a new one");
                    continue;
                }
                Err(e) => {
                    // The upstream may have answered before reading the whole body (a 413 or
                    // a 401 for a large prompt) and closed: its answer says more than the
                    // write error does. The connection is not reused either way.
                    let early = tokio::time::timeout(
                        EARLY_ANSWER_WAIT,
                        self.read_head(conn, origin, false),
                    );
                    return match early.await {
                        Ok(Ok(answer)) => Ok(answer),
                        _ => Err(request_failed(&e)),
                    };
                }
            }
            return self.read_head(conn, origin, true).await;
        }
    }

    /// Reads the response head; `reusable` is false when the request was not written whole.
    async fn read_head(
        self: &Arc<Self>,
        mut conn: Box<Conn>,
        origin: usize,
        reusable: bool,
    ) -> Result<H1Response, UpstreamError> {
        loop {
            if !conn.buf.is_empty() {
                if let Some(head) = parse_head(&conn.buf)? {
                    conn.buf.advance(head.len);
                    if (100..200).contains(&head.status) {
                        continue;
                    }
                    let mut body = H1Body {
                        conn: Some(conn),
                        decoder: head.decoder,
                        keep_alive: head.keep_alive && reusable,
                        pool: Some((Arc::clone(self), origin)),
                    };
                    if body.decoder.is_done() {
                        body.finish();
                    }
                    return Ok(H1Response {
                        status: head.status,
                        headers: head.headers,
                        body,
                    });
                }
                if conn.buf.len() >= MAX_HEAD_BYTES {
                    return Err(malformed(format!(
                        "upstream response head larger than {MAX_HEAD_BYTES} bytes"
                    )));
                }
            }
            match conn.read_more().await {
                Ok(0) => {
                    return Err(UpstreamError::new(
                        ErrorClass::Connect,
                        "upstream request failed: the connection closed before a response",
                    ))
                }
                Ok(_) => {}
                Err(e) => return Err(request_failed(&e)),
            }
        }
    }

    /// The index of the origin (scheme and authority) of `uri` (origins are never removed) and
    /// its most recently used live idle connection, if any: one lock for both.
    fn checkout(&self, uri: &Uri) -> (usize, Option<Box<Conn>>) {
        let https = uri.scheme() == Some(&http::uri::Scheme::HTTPS);
        let authority = uri.authority().map_or("", |a| a.as_str());
        let mut origins = lock(&self.origins);
        let Some(origin) = origins
            .iter()
            .position(|o| o.https == https && &*o.authority == authority)
        else {
            origins.push(Origin {
                https,
                authority: authority.into(),
                idle: Vec::new(),
            });
            return (origins.len() - 1, None);
        };
        let idle = &mut origins[origin].idle;
        let now = Instant::now();
        // The oldest are at the front: drop the expired ones.
        let expired = idle
            .iter()
            .take_while(|c| now.duration_since(c.idle_since) >= self.idle_timeout)
            .count();
        idle.drain(..expired);
        while let Some(mut conn) = idle.pop() {
            if conn.is_reusable() {
                return (origin, Some(conn));
            }
        }
        (origin, None)
    }

    fn check_in(self: &Arc<Self>, origin: usize, mut conn: Box<Conn>) {
        // A load first: the swap is an atomic read-modify-write, and the reaper runs already
        // after the first connection.
        if !self.reaper.load(std::sync::atomic::Ordering::Relaxed)
            && !self.reaper.swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            self.spawn_reaper();
        }
        conn.idle_since = Instant::now();
        // A large response grew the buffer: an idle connection should not keep it, and the
        // next response (often a held stream) starts small again; a stream's smaller buffer
        // goes too, since the next response head may not fit it.
        if conn.buf.capacity() > 4 * INITIAL_READ || conn.next_read < INITIAL_READ {
            conn.buf = BytesMut::new();
            conn.next_read = INITIAL_READ;
        }
        let mut origins = lock(&self.origins);
        if let Some(o) = origins.get_mut(origin) {
            if o.idle.len() < MAX_IDLE_PER_ORIGIN {
                o.idle.push(conn);
            }
        }
    }

    /// Starts the task that closes idle connections past [`IDLE_TIMEOUT`] or closed by the
    /// upstream, so that they do not linger (and hold descriptors) when traffic stops. It
    /// ends with the pool.
    fn spawn_reaper(self: &Arc<Self>) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let pool = Arc::downgrade(self);
        let every = self.idle_timeout / 3;
        runtime.spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(pool) = pool.upgrade() else {
                    return;
                };
                pool.prune();
            }
        });
    }

    /// Closes idle connections that expired or that the upstream closed.
    fn prune(&self) {
        let now = Instant::now();
        let mut origins = lock(&self.origins);
        for origin in origins.iter_mut() {
            origin.idle.retain_mut(|c| {
                now.duration_since(c.idle_since) < self.idle_timeout && c.is_reusable()
            });
        }
    }

    async fn connect(&self, uri: &Uri) -> Result<Box<Conn>, UpstreamError> {
        let io = self
            .connector
            .clone()
            .oneshot(uri.clone())
            .await
            .map_err(|e| connect_failed(&*e))?;
        Ok(Box::new(Conn::new(TokioIo::new(io))))
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

fn malformed(msg: impl Into<String>) -> UpstreamError {
    UpstreamError::new(ErrorClass::Malformed, msg)
}

/// The request head: request line, `Host`, the given headers, `Content-Length`.
fn encode_head(req: &H1Request<'_>) -> Vec<u8> {
    let path = req.uri.path_and_query().map_or("/", |p| p.as_str());
    let host = match req.host {
        Some(h) => h.as_bytes(),
        None => req
            .uri
            .authority()
            .map_or(&b""[..], |a| a.as_str().as_bytes()),
    };
    let mut head = Vec::with_capacity(
        160 + path.len()
            + host.len()
            + req
                .headers
                .iter()
                .map(|(n, v)| n.len() + v.len() + 4)
                .sum::<usize>()
            + req
                .extra
                .iter()
                .map(|(n, v)| n.len() + v.len() + 4)
                .sum::<usize>()
            + if req.body.len() <= COALESCE_BODY {
                req.body.len()
            } else {
                0
            },
    );
    head.extend_from_slice(b"POST ");
    head.extend_from_slice(path.as_bytes());
    head.extend_from_slice(b" HTTP/1.1\r\nhost: ");
    head.extend_from_slice(host);
    let extra = req.extra.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes()));
    for (name, value) in req.headers.iter().copied().chain(extra) {
        head.extend_from_slice(b"\r\n");
        head.extend_from_slice(name);
        head.extend_from_slice(b": ");
        head.extend_from_slice(value);
    }
    head.extend_from_slice(b"\r\ncontent-length: ");
    push_decimal(&mut head, req.body.len() as u64);
    head.extend_from_slice(b"\r\n\r\n");
    head
}

fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// How the body ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decoder {
    /// This many bytes remain.
    Length(u64),
    Chunked(Chunk),
    /// Until the connection closes.
    Eof,
    /// The body is complete.
    Done,
}

/// Where a chunked body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// Before a chunk-size line.
    Size,
    /// Inside a chunk's data, this many bytes left.
    Data(u64),
    /// After a chunk's data, before its CRLF.
    DataEnd,
    /// After the last chunk, in the trailer section.
    Trailers,
}

/// One decoding step.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    Data(Bytes),
    NeedMore,
    Done,
}

impl Decoder {
    fn is_done(&self) -> bool {
        matches!(self, Decoder::Done | Decoder::Length(0))
    }

    /// The next piece of body from the front of `buf`.
    fn decode(&mut self, buf: &mut BytesMut) -> Result<Step, UpstreamError> {
        loop {
            match self {
                Decoder::Done => return Ok(Step::Done),
                Decoder::Length(0) => {
                    *self = Decoder::Done;
                    return Ok(Step::Done);
                }
                Decoder::Length(left) => {
                    if buf.is_empty() {
                        return Ok(Step::NeedMore);
                    }
                    let n = (*left).min(buf.len() as u64);
                    *left -= n;
                    return Ok(Step::Data(buf.split_to(n as usize).freeze()));
                }
                Decoder::Eof => {
                    if buf.is_empty() {
                        return Ok(Step::NeedMore);
                    }
                    return Ok(Step::Data(buf.split().freeze()));
                }
                Decoder::Chunked(chunk) => match chunk {
                    Chunk::Size => match httparse::parse_chunk_size(buf) {
                        Ok(httparse::Status::Complete((used, size))) => {
                            buf.advance(used);
                            *chunk = if size == 0 {
                                Chunk::Trailers
                            } else {
                                Chunk::Data(size)
                            };
                        }
                        Ok(httparse::Status::Partial) => {
                            if buf.len() > 4096 {
                                return Err(malformed("upstream chunk-size line too long"));
                            }
                            return Ok(Step::NeedMore);
                        }
                        Err(_) => return Err(malformed("upstream sent an invalid chunk size")),
                    },
                    Chunk::Data(left) => {
                        if buf.is_empty() {
                            return Ok(Step::NeedMore);
                        }
                        let n = (*left).min(buf.len() as u64);
                        *left -= n;
                        if *left == 0 {
                            *chunk = Chunk::DataEnd;
                        }
                        return Ok(Step::Data(buf.split_to(n as usize).freeze()));
                    }
                    Chunk::DataEnd => {
                        if buf.len() < 2 {
                            return Ok(Step::NeedMore);
                        }
                        if &buf[..2] != b"\r\n" {
                            return Err(malformed("upstream chunk not followed by CRLF"));
                        }
                        buf.advance(2);
                        *chunk = Chunk::Size;
                    }
                    Chunk::Trailers => {
                        // Trailer fields end with an empty line; they are skipped.
                        if buf.starts_with(b"\r\n") {
                            buf.advance(2);
                            *self = Decoder::Done;
                            continue;
                        }
                        match memchr::memmem::find(buf, b"\r\n\r\n") {
                            Some(i) => {
                                buf.advance(i + 4);
                                *self = Decoder::Done;
                            }
                            None if buf.len() > MAX_HEAD_BYTES => {
                                return Err(malformed("upstream trailers too large"))
                            }
                            None => return Ok(Step::NeedMore),
                        }
                    }
                },
            }
        }
    }
}

/// A response body read from its connection; the connection goes back to the pool when the
/// body has been read to its end, and is closed when the body is dropped before.
pub(crate) struct H1Body {
    conn: Option<Box<Conn>>,
    decoder: Decoder,
    keep_alive: bool,
    pool: Option<(Arc<H1Pool>, usize)>,
}

impl std::fmt::Debug for H1Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H1Body")
            .field("decoder", &self.decoder)
            .finish_non_exhaustive()
    }
}

impl H1Body {
    /// The next data chunk; `None` at the end of the body.
    pub(crate) async fn chunk(&mut self) -> Result<Option<Bytes>, UpstreamError> {
        loop {
            let Some(conn) = self.conn.as_mut() else {
                return Ok(None);
            };
            match self.decoder.decode(&mut conn.buf) {
                Ok(Step::Data(b)) => return Ok(Some(b)),
                Ok(Step::Done) => {
                    self.finish();
                    return Ok(None);
                }
                Ok(Step::NeedMore) => {}
                Err(e) => {
                    self.conn = None;
                    return Err(e);
                }
            }
            match conn.read_more().await {
                Ok(0) if self.decoder == Decoder::Eof => {
                    self.decoder = Decoder::Done;
                    self.conn = None;
                    return Ok(None);
                }
                Ok(0) => {
                    self.conn = None;
                    return Err(UpstreamError::new(
                        ErrorClass::StreamBroken,
                        "upstream connection broke: it closed before the body ended",
                    ));
                }
                Ok(_) => {}
                Err(e) => {
                    self.conn = None;
                    return Err(if e.kind() == io::ErrorKind::TimedOut {
                        UpstreamError::new(ErrorClass::Timeout, "upstream timed out")
                    } else {
                        UpstreamError::new(
                            ErrorClass::StreamBroken,
                            format!("upstream connection broke: {e}"),
                        )
                    });
                }
            }
        }
    }

    /// Bytes left when the upstream declared the length.
    pub(crate) fn exact_len(&self) -> Option<u64> {
        match self.decoder {
            Decoder::Length(n) => Some(n),
            Decoder::Done => Some(0),
            _ => None,
        }
    }

    /// The body is a stream that may stay open for minutes: a read buffer grown for the
    /// response head is swapped for a [`STREAM_READ`] one (it doubles again while reads fill
    /// it), so that thousands of held streams do not each keep the head's buffer. LLM streams
    /// arrive an event at a time, and an event fits.
    pub(crate) fn settle_for_stream(&mut self) {
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        if conn.buf.capacity() > STREAM_READ && conn.buf.len() <= STREAM_READ / 2 {
            let mut small = BytesMut::with_capacity(STREAM_READ);
            small.extend_from_slice(&conn.buf);
            conn.buf = small;
            conn.next_read = STREAM_READ;
        }
    }

    /// The reader has what it wants (a stream's terminating event arrived): the rest of the
    /// body, usually only the chunked terminator, already buffered or a packet behind, is read
    /// so that the connection can be reused. What is buffered is decoded now; otherwise a
    /// task reads on for at most [`DRAIN_WAIT`] and [`DRAIN_BYTES`], then closes the
    /// connection. Dropping a body unreleased closes its connection at once, which is what
    /// an abandoned stream wants: the provider stops generating.
    pub(crate) fn release(&mut self) {
        let mut left = DRAIN_BYTES;
        loop {
            let Some(conn) = self.conn.as_mut() else {
                return;
            };
            match self.decoder.decode(&mut conn.buf) {
                Ok(Step::Data(b)) if b.len() <= left => left -= b.len(),
                Ok(Step::Done) => return self.finish(),
                Ok(Step::NeedMore) => break,
                Ok(Step::Data(_)) | Err(_) => {
                    self.conn = None;
                    return;
                }
            }
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.conn = None;
            return;
        };
        if !self.keep_alive || self.decoder == Decoder::Eof {
            // Closed after this body anyway: nothing to keep.
            self.conn = None;
            return;
        }
        let mut rest = std::mem::replace(self, H1Body::released());
        runtime.spawn(async move {
            let drained = async {
                while let Ok(Some(b)) = rest.chunk().await {
                    match left.checked_sub(b.len()) {
                        Some(l) => left = l,
                        None => return,
                    }
                }
            };
            // The body reaching its end inside `chunk` checks the connection in; a timeout
            // drops it, and with it the connection.
            let _ = tokio::time::timeout(DRAIN_WAIT, drained).await;
        });
    }

    /// A body whose connection was handed on.
    fn released() -> Self {
        H1Body {
            conn: None,
            decoder: Decoder::Done,
            keep_alive: false,
            pool: None,
        }
    }

    /// The body is complete: the connection goes back to the pool if it can be reused.
    fn finish(&mut self) {
        self.decoder = Decoder::Done;
        let Some(conn) = self.conn.take() else {
            return;
        };
        if !self.keep_alive || !conn.buf.is_empty() {
            return;
        }
        if let Some((pool, origin)) = self.pool.take() {
            pool.check_in(origin, conn);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `wire` to a decoder split at every position, and returns the body.
    fn decode_all(mut decoder: Decoder, wire: &[u8]) -> (Vec<u8>, usize) {
        let mut body = Vec::new();
        let mut buf = BytesMut::new();
        let mut fed = 0;
        loop {
            match decoder.decode(&mut buf).expect("valid body") {
                Step::Data(b) => body.extend_from_slice(&b),
                Step::Done => return (body, buf.len() + wire.len() - fed),
                Step::NeedMore => {
                    assert!(fed < wire.len(), "decoder wants more than the message");
                    buf.extend_from_slice(&wire[fed..=fed]);
                    fed += 1;
                }
            }
        }
    }

    #[test]
    fn chunked_bodies_decode_at_every_split() {
        let wire = b"5;ext=1\r\nhello\r\n1A\r\n, world of chunked bodies!\r\n0\r\nx-trailer: 1\r\n\r\nNEXT";
        let (body, left) = decode_all(Decoder::Chunked(Chunk::Size), wire);
        assert_eq!(body, b"hello, world of chunked bodies!");
        assert_eq!(left, 4, "bytes after the message are left in the buffer");

        let (body, left) = decode_all(Decoder::Chunked(Chunk::Size), b"3\r\nabc\r\n0\r\n\r\n");
        assert_eq!((body.as_slice(), left), (&b"abc"[..], 0));
    }

    #[test]
    fn length_bodies_stop_at_their_length() {
        let (body, left) = decode_all(Decoder::Length(5), b"helloHTTP/1.1");
        assert_eq!((body.as_slice(), left), (&b"hello"[..], 8));
    }

    #[test]
    fn malformed_chunks_are_errors() {
        for bad in [
            &b"zz\r\n"[..],
            b"3\r\nabcX\r\n",
            b"FFFFFFFFFFFFFFFFFFFF\r\n",
        ] {
            let mut d = Decoder::Chunked(Chunk::Size);
            let mut buf = BytesMut::from(bad);
            let err = loop {
                match d.decode(&mut buf) {
                    Ok(Step::Data(_)) => continue,
                    Ok(other) => panic!("{other:?} for {bad:?}"),
                    Err(e) => break e,
                }
            };
            assert_eq!(err.class, ErrorClass::Malformed);
        }
    }

    #[test]
    fn request_heads_carry_host_headers_and_length() {
        let uri: Uri = "http://127.0.0.1:9/v1/chat/completions?x=1"
            .parse()
            .unwrap();
        let body = Bytes::from_static(b"{\"a\":1}");
        let host = HeaderValue::from_static("api.example.com");
        let req = H1Request {
            uri: &uri,
            host: Some(&host),
            headers: &[
                (b"content-type", b"application/json"),
                (b"authorization", b"Bearer k"),
            ],
            extra: &[],
            body: &body,
        };
        assert_eq!(
            String::from_utf8(encode_head(&req)).unwrap(),
            "POST /v1/chat/completions?x=1 HTTP/1.1\r\nhost: api.example.com\r\ncontent-type: application/json\r\nauthorization: Bearer k\r\ncontent-length: 7\r\n\r\n"
        );
        let mut out = Vec::new();
        push_decimal(&mut out, 0);
        push_decimal(&mut out, 1_234_567);
        assert_eq!(out, b"01234567");
    }

    /// What the scripted upstream does with the request of this index (over all
    /// connections): write `reply`, then close the connection when `close` is set.
    struct Reply {
        bytes: &'static [u8],
        close: bool,
        /// Written after a pause, to show the client reads the first part on its own.
        later: Option<&'static [u8]>,
    }

    fn reply(bytes: &'static [u8]) -> Reply {
        Reply {
            bytes,
            close: false,
            later: None,
        }
    }

    /// An upstream answering requests in order from `script`; counts connections.
    async fn scripted(script: Vec<Reply>) -> (Uri, Arc<std::sync::atomic::AtomicUsize>) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use tokio::io::AsyncReadExt as _;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let conns = Arc::new(AtomicUsize::new(0));
        let script = Arc::new(script);
        let next = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&conns);
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                let (script, next) = (Arc::clone(&script), Arc::clone(&next));
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    loop {
                        // One request: head, then Content-Length bytes.
                        let end = loop {
                            if let Some(i) = memchr::memmem::find(&buf, b"\r\n\r\n") {
                                break i + 4;
                            }
                            let mut chunk = [0u8; 4096];
                            match sock.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        };
                        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                        let len: usize = head
                            .split("content-length: ")
                            .nth(1)
                            .and_then(|r| r.split("\r\n").next())
                            .and_then(|n| n.parse().ok())
                            .unwrap_or(0);
                        while buf.len() < end + len {
                            let mut chunk = [0u8; 4096];
                            match sock.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        }
                        buf.drain(..end + len);
                        let Some(r) = script.get(next.fetch_add(1, Ordering::SeqCst)) else {
                            return;
                        };
                        sock.write_all(r.bytes).await.unwrap();
                        if let Some(later) = r.later {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            sock.write_all(later).await.unwrap();
                        }
                        if r.close {
                            return;
                        }
                    }
                });
            }
        });
        let uri = format!("http://{addr}/v1/chat/completions")
            .parse()
            .unwrap();
        (uri, conns)
    }

    fn pool() -> Arc<H1Pool> {
        let tls = crate::transport::tls_config(None).unwrap();
        Arc::new(H1Pool::new(crate::transport::connector(
            Duration::from_secs(2),
            crate::transport::Alpn::Http1,
            tls,
            &crate::proxy::Proxy::default(),
        )))
    }

    /// Sends `body` and returns the response with its body unread.
    async fn send(pool: &Arc<H1Pool>, uri: &Uri, body: &'static [u8]) -> H1Response {
        let body = Bytes::from_static(body);
        let req = H1Request {
            uri,
            host: None,
            headers: &[(b"content-type", b"application/json")],
            extra: &[],
            body: &body,
        };
        pool.send(&req).await.expect("response head")
    }

    async fn open(pool: &Arc<H1Pool>, uri: &Uri) -> H1Response {
        send(pool, uri, b"{}").await
    }

    async fn call(pool: &Arc<H1Pool>, uri: &Uri, body: &'static [u8]) -> (u16, Vec<u8>) {
        let mut resp = send(pool, uri, body).await;
        let mut out = Vec::new();
        while let Some(chunk) = resp.body.chunk().await.expect("whole body") {
            out.extend_from_slice(&chunk);
        }
        (resp.status, out)
    }

    const OK: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}";

    #[tokio::test]
    async fn keep_alive_connections_are_reused_until_the_upstream_says_close() {
        let (uri, conns) = scripted(vec![
            reply(OK),
            reply(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\n[1]"),
            reply(b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\n{}"),
            reply(OK),
        ])
        .await;
        let pool = pool();
        assert_eq!(call(&pool, &uri, b"{}").await, (200, b"{}".to_vec()));
        assert_eq!(call(&pool, &uri, b"{}").await, (200, b"[1]".to_vec()));
        assert_eq!(conns.load(std::sync::atomic::Ordering::SeqCst), 1, "reused");
        call(&pool, &uri, b"{}").await;
        assert_eq!(call(&pool, &uri, b"{}").await, (200, b"{}".to_vec()));
        assert_eq!(
            conns.load(std::sync::atomic::Ordering::SeqCst),
            2,
            "closed one not reused"
        );
    }

    #[tokio::test]
    async fn an_idle_connection_the_upstream_closed_is_not_reused() {
        let (uri, conns) = scripted(vec![
            Reply {
                close: true,
                ..reply(OK)
            },
            reply(OK),
        ])
        .await;
        let pool = pool();
        call(&pool, &uri, b"{}").await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(call(&pool, &uri, b"{}").await, (200, b"{}".to_vec()));
        assert_eq!(conns.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    fn idle_count(pool: &H1Pool) -> usize {
        lock(&pool.origins).iter().map(|o| o.idle.len()).sum()
    }

    /// Waits up to two seconds for the pool to hold no idle connection.
    async fn until_no_idle(pool: &H1Pool) -> bool {
        for _ in 0..100 {
            if idle_count(pool) == 0 {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }

    #[tokio::test]
    async fn idle_connections_are_closed_when_traffic_stops() {
        let (uri, _) = scripted(vec![
            Reply {
                close: true,
                ..reply(OK)
            },
            reply(OK),
        ])
        .await;
        let mut pool = H1Pool::new(pool().connector.clone());
        pool.idle_timeout = Duration::from_millis(300);
        let pool = Arc::new(pool);
        // The upstream closes the first connection right after answering; the second stays
        // open but expires.
        call(&pool, &uri, b"{}").await;
        assert_eq!(idle_count(&pool), 1);
        assert!(
            until_no_idle(&pool).await,
            "a connection the upstream closed is pruned"
        );
        call(&pool, &uri, b"{}").await;
        assert_eq!(idle_count(&pool), 1);
        let started = Instant::now();
        assert!(
            until_no_idle(&pool).await,
            "an expired connection is closed"
        );
        assert!(
            started.elapsed() >= Duration::from_millis(250),
            "not before it expired"
        );
    }

    /// A stream whose last event came: released, its connection is reused whether the chunked
    /// terminator is already buffered or arrives a little later.
    #[tokio::test]
    async fn a_released_stream_body_frees_its_connection() {
        let (uri, conns) = scripted(vec![
            reply(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n9\r\ndata: 1\n\n\r\n0\r\n\r\n"),
            Reply {
                later: Some(b"0\r\n\r\n"),
                ..reply(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n9\r\ndata: 1\n\n\r\n")
            },
            reply(OK),
        ])
        .await;
        let pool = pool();
        for _ in 0..2 {
            let mut resp = open(&pool, &uri).await;
            assert_eq!(
                &resp.body.chunk().await.unwrap().unwrap()[..],
                b"data: 1\n\n"
            );
            resp.body.release();
            drop(resp);
            let mut pooled = false;
            for _ in 0..50 {
                if idle_count(&pool) == 1 {
                    pooled = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            assert!(pooled, "the connection went back to the pool");
        }
        assert_eq!(call(&pool, &uri, b"{}").await.0, 200);
        assert_eq!(conns.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    /// A held stream's buffer shrinks to one event's size, keeps what was unread, and grows
    /// again when a burst fills it.
    #[tokio::test]
    async fn a_settled_stream_keeps_a_small_buffer_and_its_data() {
        // The head and a first event, then (50 ms later) a burst larger than the small buffer.
        let burst: &'static [u8] = Box::leak(
            (0..40)
                .flat_map(|_| b"9\r\ndata: 2\n\n\r\n".to_vec())
                .chain(b"0\r\n\r\n".to_vec())
                .collect::<Vec<u8>>()
                .into_boxed_slice(),
        );
        let (uri, _) = scripted(vec![Reply {
            later: Some(burst),
            ..reply(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n9\r\ndata: 1\n\n\r\n")
        }])
        .await;
        let pool = pool();
        let mut resp = open(&pool, &uri).await;
        resp.body.settle_for_stream();
        let cap = resp.body.conn.as_ref().map(|c| c.buf.capacity());
        assert!(cap.is_some_and(|c| c <= STREAM_READ), "{cap:?}");
        let mut events = 0;
        while let Some(chunk) = resp.body.chunk().await.unwrap() {
            assert!(chunk.starts_with(b"data: "));
            events += 1;
        }
        assert_eq!(events, 41, "nothing lost across the swap and the regrowth");
    }

    /// Dropped without a release (the client went away mid-stream), a stream's connection is
    /// closed, so that the provider stops generating.
    #[tokio::test]
    async fn an_abandoned_stream_body_closes_its_connection() {
        let (uri, conns) = scripted(vec![
            reply(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n9\r\ndata: 1\n\n\r\n"),
            reply(OK),
        ])
        .await;
        let pool = pool();
        let mut resp = open(&pool, &uri).await;
        assert!(resp.body.chunk().await.unwrap().is_some());
        drop(resp);
        assert_eq!(idle_count(&pool), 0);
        assert_eq!(call(&pool, &uri, b"{}").await.0, 200);
        assert_eq!(conns.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn chunked_streams_arrive_as_sent_and_free_their_connection() {
        let (uri, conns) = scripted(vec![
            Reply {
                later: Some(b"9\r\ndata: 2\n\n\r\n0\r\n\r\n"),
                ..reply(
                    b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n9\r\ndata: 1\n\n\r\n",
                )
            },
            reply(OK),
        ])
        .await;
        let pool = pool();
        let mut resp = open(&pool, &uri).await;
        let first = resp.body.chunk().await.unwrap().unwrap();
        assert_eq!(&first[..], b"data: 1\n\n", "before the rest was written");
        assert_eq!(
            &resp.body.chunk().await.unwrap().unwrap()[..],
            b"data: 2\n\n"
        );
        assert!(resp.body.chunk().await.unwrap().is_none());
        call(&pool, &uri, b"{}").await;
        assert_eq!(conns.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn bodies_cut_short_are_broken_and_close_delimited_ones_end_at_close() {
        let (uri, conns) = scripted(vec![
            Reply {
                close: true,
                ..reply(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{\"partial\"")
            },
            Reply {
                close: true,
                ..reply(b"HTTP/1.1 200 OK\r\n\r\ndata: until close\n\n")
            },
            reply(OK),
        ])
        .await;
        let pool = pool();
        let mut resp = open(&pool, &uri).await;
        assert_eq!(
            &resp.body.chunk().await.unwrap().unwrap()[..],
            b"{\"partial\""
        );
        let err = resp.body.chunk().await.expect_err("cut short");
        assert_eq!(err.class, ErrorClass::StreamBroken);

        assert_eq!(call(&pool, &uri, b"{}").await.1, b"data: until close\n\n");
        assert_eq!(call(&pool, &uri, b"{}").await.1, b"{}");
        assert_eq!(conns.load(std::sync::atomic::Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn large_request_bodies_are_written_whole() {
        static BIG: [u8; 100_000] = [b'x'; 100_000];
        let (uri, _) = scripted(vec![reply(OK), reply(OK)]).await;
        let pool = pool();
        assert_eq!(call(&pool, &uri, &BIG).await.0, 200);
        assert_eq!(
            call(&pool, &uri, b"{}").await.0,
            200,
            "the connection stayed in sync"
        );
    }

    #[tokio::test]
    async fn unreachable_upstreams_are_connect_errors() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let uri: Uri = format!("http://{}/v1", listener.local_addr().unwrap())
            .parse()
            .unwrap();
        drop(listener);
        let body = Bytes::new();
        let req = H1Request {
            uri: &uri,
            host: None,
            headers: &[],
            extra: &[],
            body: &body,
        };
        let err = pool().send(&req).await.expect_err("refused");
        assert_eq!(err.class, ErrorClass::Connect);
        assert!(
            err.message.starts_with("cannot connect to upstream"),
            "{}",
            err.message
        );
    }

    /// An upstream that answers 413 after reading only the head of a large body and closes:
    /// the write fails, and the client still gets the 413, on a connection not reused.
    #[tokio::test]
    async fn an_early_answer_beats_the_failed_write() {
        use tokio::io::AsyncReadExt as _;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let _ = sock
                    .write_all(b"HTTP/1.1 413 Payload Too Large\r\ncontent-length: 9\r\nconnection: close\r\n\r\ntoo large")
                    .await;
                // Closing with the body unread makes the kernel reset the connection.
            }
        });
        let uri: Uri = format!("http://{addr}/v1/chat/completions")
            .parse()
            .unwrap();
        // Larger than loopback's socket buffers, so the write cannot complete.
        let body: &'static [u8] = Box::leak(vec![b' '; 64 << 20].into_boxed_slice());
        let pool = pool();
        let (status, out) = call(&pool, &uri, body).await;
        assert_eq!((status, &out[..]), (413, &b"too large"[..]));
        assert_eq!(
            idle_count(&pool),
            0,
            "a half-written connection is not pooled"
        );
    }
}
