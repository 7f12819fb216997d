//! HTTP/2 upstream connections: many requests share one connection, and a new connection is
//! opened when every open one carries the pool's streams per connection (the provider's
//! `http2_max_streams`, [`MAX_STREAMS_PER_CONNECTION`] by default).
//!
//! hyper's own pool puts every request to a host on a single HTTP/2 connection and never opens
//! a second one when the server's `SETTINGS_MAX_CONCURRENT_STREAMS` is reached
//! (hyperium/hyper#2197, #3623): with LLM streams that last minutes, request 101 would wait for
//! a free slot until its deadline. This pool counts the requests in flight per connection
//! itself (a request holds a [`Lease`] until its response body is dropped) and keeps each
//! connection under the limit RFC 9113 recommends servers allow at least (100), or under the
//! provider's `http2_max_streams` for a server that advertises fewer. (`h2` does not expose the
//! server's `SETTINGS_MAX_CONCURRENT_STREAMS`, so the pool cannot read it off the connection.)
//!
//! Requests are sent with the `h2` crate directly, not through hyper's HTTP/2 client: hyper
//! passes every request through a channel to its connection task and spawns a task per request
//! to await the response and hand it back through a oneshot, ~10k instructions per request
//! that buy nothing here. Each request's own task sends on a clone of the connection's
//! `SendRequest` and reads its `RecvStream` (releasing flow-control capacity as it reads); one
//! task per connection drives the connection and its keep-alive pings.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use h2::client::SendRequest;
use h2::RecvStream;
use http::{Request, Response, Uri};
use hyper_util::client::legacy::connect::Connection;
use hyper_util::rt::TokioIo;
use switchyard_providers::{ErrorClass, UpstreamError};
use tokio::time::Instant;
use tower::ServiceExt;

use crate::transport::{request_failed, Connector};

/// Requests in flight on one connection before another is opened, by default.
pub const MAX_STREAMS_PER_CONNECTION: usize = switchyard_config::DEFAULT_HTTP2_MAX_STREAMS;

/// Receive window of one upstream stream: how much of a response the provider may send ahead
/// of the gateway reading it (hyper's default is 2 MiB).
pub const STREAM_WINDOW: u32 = 1024 * 1024;

/// Receive window of a whole connection: every stream's window at once. With hyper's default
/// (5 MiB, less than three streams' windows) a few clients that stop reading would stall every
/// other stream sharing their connection; sized like this, streams never wait on each other.
/// It is only a permission: memory is used by data actually buffered. Capped at HTTP/2's
/// largest window (2^31 - 1).
fn connection_window(max_streams: usize) -> u32 {
    let streams = u32::try_from(max_streams).unwrap_or(u32::MAX);
    STREAM_WINDOW.saturating_mul(streams).min((1 << 31) - 1)
}

/// A connection with no request in flight for this long is closed (checked when the origin is
/// next used), so that a burst does not leave its connections open for ever. The first idle
/// connection of an origin is kept.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// A pool of HTTP/2 connections per origin.
#[derive(Debug)]
pub struct H2Pool {
    connector: Connector,
    /// Per origin (`https`, authority); few per pool, so a linear scan (no key to format or
    /// hash per request).
    origins: Mutex<Vec<OriginEntry>>,
    idle_timeout: Duration,
    /// An `https://` origin that answers ALPN with HTTP/1.1 is remembered as such and its
    /// requests handed back ([`Sent::Http1Only`]) instead of failing.
    fallback: bool,
    /// Requests in flight on one connection before another is opened.
    max_streams: usize,
}

/// An origin's scheme (`https` or not), authority, and state.
type OriginEntry = (bool, Box<str>, Arc<Origin>);

#[derive(Debug, Default)]
struct Origin {
    /// Held while choosing a connection and while opening a new one, so a burst of requests
    /// opens one connection per `max_streams` requests, not one each.
    conns: tokio::sync::Mutex<Vec<Arc<H2Conn>>>,
    /// The origin chose HTTP/1.1 by ALPN (fallback pools only); remembered for the life of
    /// the process.
    http1_only: AtomicBool,
}

impl Origin {
    /// Stops choosing `conn` (it is closing); requests on it finish undisturbed.
    async fn forget(&self, conn: &Arc<H2Conn>) {
        self.conns.lock().await.retain(|c| !Arc::ptr_eq(c, conn));
    }
}

/// Pings on every connection, busy or idle, so that one silently dropped by a NAT or load
/// balancer is found dead and pruned instead of taking the next request into a black hole.
const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(30);

/// A connection whose ping is not answered within this is closed.
const KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(20);

/// Largest header list accepted in a response (hyper's default for its HTTP/2 client).
const MAX_HEADER_LIST_SIZE: u32 = 16 * 1024;

/// Request data buffered per stream before the peer's window lets it go.
const MAX_SEND_BUFFER: usize = 1024 * 1024;

/// Why a request failed, and whether the provider provably did not process it.
struct Failed {
    error: h2::Error,
    /// RFC 9113 §8.7: its stream was refused, it was above the last stream a graceful GOAWAY
    /// let finish, or it never left the gateway (the connection was closing when it was sent).
    unprocessed: bool,
}

impl Failed {
    /// Before the request was handed to the connection: nothing reached the provider.
    fn not_sent(error: h2::Error) -> Self {
        Self {
            error,
            unprocessed: true,
        }
    }

    /// While waiting for the response head.
    fn waiting(error: h2::Error) -> Self {
        let unprocessed = error.reason() == Some(h2::Reason::REFUSED_STREAM)
            || (error.is_go_away()
                && error.is_remote()
                && error.reason() == Some(h2::Reason::NO_ERROR));
        Self { error, unprocessed }
    }
}

/// Sends `req` on the connection behind `sender` and waits for the response head.
async fn send_on(
    sender: SendRequest<Bytes>,
    req: Request<Bytes>,
) -> Result<Response<RecvStream>, Failed> {
    let mut sender = sender.ready().await.map_err(Failed::not_sent)?;
    let (parts, body) = req.into_parts();
    let end = body.is_empty();
    let (response, mut stream) = sender
        .send_request(Request::from_parts(parts, ()), end)
        .map_err(Failed::not_sent)?;
    if !end {
        // Queued whole: `h2` asks the peer's window for it and sends it as that allows.
        stream.send_data(body, true).map_err(Failed::waiting)?;
    }
    response.await.map_err(Failed::waiting)
}

/// Pings the connection every [`KEEP_ALIVE_INTERVAL`]; returns when a ping goes unanswered
/// for [`KEEP_ALIVE_TIMEOUT`] or cannot be sent (the connection is then closed).
async fn keep_alive(ping: Option<h2::PingPong>) {
    let Some(mut ping) = ping else {
        return std::future::pending().await;
    };
    loop {
        tokio::time::sleep(KEEP_ALIVE_INTERVAL).await;
        match tokio::time::timeout(KEEP_ALIVE_TIMEOUT, ping.ping(h2::Ping::opaque())).await {
            Ok(Ok(_pong)) => {}
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "upstream HTTP/2 keep-alive ping failed");
                return;
            }
            Err(_) => {
                tracing::debug!("upstream HTTP/2 connection did not answer a ping; closing it");
                return;
            }
        }
    }
}

/// What [`H2Pool::send`] did with a request.
#[derive(Debug)]
pub(crate) enum Sent {
    /// Sent over HTTP/2: the response head and the connection slot it holds.
    Response(Response<RecvStream>, Lease),
    /// Not sent: the origin speaks HTTP/1.1 only (fallback pools only).
    Http1Only,
}

#[derive(Debug)]
struct H2Conn {
    sender: SendRequest<Bytes>,
    /// Set when the connection's task ends (either side closed it, or a ping went unanswered).
    closed: Arc<AtomicBool>,
    in_flight: AtomicUsize,
    /// When the last request finished, in milliseconds since `epoch`.
    last_done_ms: AtomicU64,
    epoch: Instant,
}

impl H2Conn {
    fn idle_for(&self, now: Instant) -> Option<Duration> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let done = self.epoch + Duration::from_millis(self.last_done_ms.load(Ordering::Acquire));
        Some(now.saturating_duration_since(done))
    }
}

/// One request's claim on a connection slot, released when dropped.
#[derive(Debug)]
pub struct Lease(Arc<H2Conn>);

impl Drop for Lease {
    fn drop(&mut self) {
        let ms = u64::try_from(self.0.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.0.last_done_ms.store(ms, Ordering::Release);
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl H2Pool {
    /// A pool whose `https://` connections must negotiate HTTP/2 (`http2: true`), or, with
    /// `fallback`, may settle on HTTP/1.1 (the connector must then offer both by ALPN);
    /// `max_streams` requests at most in flight per connection (at least 1).
    pub(crate) fn new(connector: Connector, fallback: bool, max_streams: usize) -> Self {
        Self {
            connector,
            origins: Mutex::new(Vec::new()),
            idle_timeout: IDLE_TIMEOUT,
            fallback,
            max_streams: max_streams.max(1),
        }
    }

    /// Sends the request `make` builds on a connection with a free slot, opening one if
    /// needed. A request the provider provably did not process (its connection was closing:
    /// GOAWAY, a refused stream, a connection gone before the request left) is built and sent
    /// once more on another connection, so a provider rotating its connections costs no
    /// attempt. (Built again rather than copied up front: the copy would be made for every
    /// request and used by almost none.)
    pub(crate) async fn send(
        &self,
        make: impl Fn() -> Request<Bytes>,
    ) -> Result<Sent, UpstreamError> {
        let mut req = make();
        let origin = self.origin(req.uri());
        let mut again = true;
        loop {
            if origin.http1_only.load(Ordering::Acquire) {
                return Ok(Sent::Http1Only);
            }
            let Some((sender, lease)) = self.checkout(&origin, req.uri()).await? else {
                return Ok(Sent::Http1Only);
            };
            match send_on(sender, req).await {
                Ok(resp) => return Ok(Sent::Response(resp, lease)),
                Err(f) if f.unprocessed && again => {
                    tracing::debug!(error = %f.error, "upstream HTTP/2 connection closing; request sent again on another");
                    origin.forget(&lease.0).await;
                    req = make();
                    again = false;
                }
                Err(f) => return Err(request_failed(&f.error)),
            }
        }
    }

    /// Whether `uri`'s origin is known to speak HTTP/1.1 only (fallback pools), so a caller
    /// can skip building an HTTP/2 request for it.
    pub(crate) fn is_http1_only(&self, uri: &Uri) -> bool {
        self.origin(uri).http1_only.load(Ordering::Acquire)
    }

    /// A connection slot, or `None` when the origin turned out to speak HTTP/1.1 only.
    async fn checkout(
        &self,
        origin: &Origin,
        uri: &Uri,
    ) -> Result<Option<(SendRequest<Bytes>, Lease)>, UpstreamError> {
        let mut conns = origin.conns.lock().await;
        if origin.http1_only.load(Ordering::Acquire) {
            // Found out by the request that held the lock before us.
            return Ok(None);
        }
        let now = Instant::now();
        let mut kept_idle = false;
        conns.retain(|c| {
            if c.closed.load(Ordering::Acquire) {
                return false;
            }
            match c.idle_for(now) {
                Some(idle) if idle >= self.idle_timeout => !std::mem::replace(&mut kept_idle, true),
                _ => true,
            }
        });
        let conn = match conns
            .iter()
            .find(|c| c.in_flight.load(Ordering::Acquire) < self.max_streams)
        {
            Some(c) => Arc::clone(c),
            None => {
                // Boxed: opening a connection is a large future and a rare one; inline, it
                // would size every request's future.
                let Some(c) = Box::pin(self.connect(uri)).await? else {
                    origin.http1_only.store(true, Ordering::Release);
                    tracing::info!(
                        host = uri.host().unwrap_or(""),
                        "the upstream does not offer HTTP/2; using HTTP/1.1 for it"
                    );
                    return Ok(None);
                };
                let c = Arc::new(c);
                conns.push(Arc::clone(&c));
                c
            }
        };
        conn.in_flight.fetch_add(1, Ordering::AcqRel);
        Ok(Some((conn.sender.clone(), Lease(conn))))
    }

    fn origin(&self, uri: &Uri) -> Arc<Origin> {
        let https = uri.scheme() == Some(&http::uri::Scheme::HTTPS);
        let authority = uri.authority().map_or("", |a| a.as_str());
        let mut origins = match self.origins.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some((_, _, o)) = origins
            .iter()
            .find(|(h, a, _)| *h == https && &**a == authority)
        {
            return Arc::clone(o);
        }
        let origin = Arc::new(Origin::default());
        origins.push((https, authority.into(), Arc::clone(&origin)));
        origin
    }

    /// Opens a connection; `None` when a fallback pool's origin chose HTTP/1.1 by ALPN.
    async fn connect(&self, uri: &Uri) -> Result<Option<H2Conn>, UpstreamError> {
        let io = self
            .connector
            .clone()
            .oneshot(uri.clone())
            .await
            .map_err(|e| {
                if alpn_refused(&*e) {
                    return not_http2();
                }
                crate::transport::connect_failed(&*e)
            })?;
        if uri.scheme_str() == Some("https") && !io.connected().is_negotiated_h2() {
            if self.fallback {
                // This connection is dropped; the HTTP/1.1 pool opens its own.
                return Ok(None);
            }
            return Err(not_http2());
        }
        let (sender, mut conn) = h2::client::Builder::new()
            .initial_window_size(STREAM_WINDOW)
            .initial_connection_window_size(connection_window(self.max_streams))
            .max_header_list_size(MAX_HEADER_LIST_SIZE)
            .max_send_buffer_size(MAX_SEND_BUFFER)
            .enable_push(false)
            .handshake::<_, Bytes>(TokioIo::new(io))
            .await
            .map_err(|e| request_failed(&e))?;
        let ping = conn.ping_pong();
        let closed = Arc::new(AtomicBool::new(false));
        let ended = Arc::clone(&closed);
        tokio::spawn(async move {
            tokio::select! {
                result = &mut conn => if let Err(e) = result {
                    tracing::debug!(error = %e, "upstream HTTP/2 connection ended with an error");
                },
                () = keep_alive(ping) => {}
            }
            ended.store(true, Ordering::Release);
        });
        Ok(Some(H2Conn {
            sender,
            closed,
            in_flight: AtomicUsize::new(0),
            last_done_ms: AtomicU64::new(0),
            epoch: Instant::now(),
        }))
    }
}

fn not_http2() -> UpstreamError {
    UpstreamError::new(
        ErrorClass::Connect,
        "the upstream does not offer HTTP/2; remove `http2: true` from this provider",
    )
}

/// The TLS server refused the handshake because it speaks none of the offered protocols (a
/// rustls server offered only `h2` when it has `http/1.1` alone).
fn alpn_refused(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if matches!(
            e.downcast_ref::<rustls::Error>(),
            Some(rustls::Error::AlertReceived(
                rustls::AlertDescription::NoApplicationProtocol
            ))
        ) {
            return true;
        }
        // `io::Error::source` skips the error it wraps (hyper-rustls nests two); look inside.
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            if alpn_refused(inner) {
                return true;
            }
        }
        cur = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::net::SocketAddr;

    use http_body_util::Full;
    use hyper_util::rt::TokioExecutor;

    use super::*;
    use crate::transport::Alpn;

    /// A loopback listener that spawns `serve` for every connection it accepts; its address
    /// and the number of connections accepted so far.
    async fn accepting<F, Fut>(serve: F) -> (SocketAddr, Arc<AtomicUsize>)
    where
        F: Fn(tokio::net::TcpStream) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&accepted);
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve(tcp));
            }
        });
        (addr, accepted)
    }

    /// An h2c server answering every request with `body`, counting the connections it
    /// accepts. With `goaway_after`, each connection is closed gracefully (GOAWAY) after that
    /// many requests, like front ends that cap a connection's age or request count.
    async fn h2c_server_with(
        body: Bytes,
        goaway_after: Option<usize>,
    ) -> (SocketAddr, Arc<AtomicUsize>) {
        accepting(move |tcp| {
            let body = body.clone();
            async move {
                let served = AtomicUsize::new(0);
                let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
                let svc = hyper::service::service_fn(move |_req| {
                    if Some(served.fetch_add(1, Ordering::SeqCst) + 1) == goaway_after {
                        let _ = tx.send(());
                    }
                    let body = body.clone();
                    async move { Ok::<_, Infallible>(Response::new(Full::new(body))) }
                });
                let conn = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .max_concurrent_streams(1000)
                    .serve_connection(TokioIo::new(tcp), svc);
                tokio::pin!(conn);
                tokio::select! {
                    _ = conn.as_mut() => return,
                    _ = rx.recv() => conn.as_mut().graceful_shutdown(),
                }
                let _ = conn.await;
            }
        })
        .await
    }

    async fn h2c_server() -> (SocketAddr, Arc<AtomicUsize>) {
        h2c_server_with(Bytes::from_static(b"ok"), None).await
    }

    /// An h2c server advertising `SETTINGS_MAX_CONCURRENT_STREAMS = limit` whose responses
    /// wait until `release` is notified; counts the requests that reached it.
    async fn holding_server(
        limit: u32,
    ) -> (SocketAddr, Arc<AtomicUsize>, Arc<tokio::sync::Semaphore>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let received = Arc::new(AtomicUsize::new(0));
        let release = Arc::new(tokio::sync::Semaphore::new(0));
        let (count, gate) = (Arc::clone(&received), Arc::clone(&release));
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (count, gate) = (Arc::clone(&count), Arc::clone(&gate));
                let svc = hyper::service::service_fn(move |_req| {
                    count.fetch_add(1, Ordering::SeqCst);
                    let gate = Arc::clone(&gate);
                    async move {
                        gate.acquire().await.expect("gate").forget();
                        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
                    }
                });
                tokio::spawn(
                    hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                        .max_concurrent_streams(limit)
                        .serve_connection(TokioIo::new(tcp), svc),
                );
            }
        });
        (addr, received, release)
    }

    fn pool_of(max_streams: usize) -> H2Pool {
        let tls = crate::transport::tls_config(None).expect("tls");
        H2Pool::new(
            crate::transport::connector(
                Duration::from_secs(2),
                Alpn::Http2,
                tls,
                &crate::proxy::Proxy::default(),
            ),
            false,
            max_streams,
        )
    }

    fn pool() -> H2Pool {
        pool_of(MAX_STREAMS_PER_CONNECTION)
    }

    /// After one answered request, `n` requests sent at once to `addr` through `pool`, and
    /// how many of them reached the server within `wait` while none had been answered.
    async fn reached_at_once(
        pool: &Arc<H2Pool>,
        addr: SocketAddr,
        n: usize,
        received: &AtomicUsize,
        release: &tokio::sync::Semaphore,
        wait: Duration,
    ) -> (usize, Vec<tokio::task::JoinHandle<u16>>) {
        // One request answered first, so the connection has the server's SETTINGS (before
        // them, a client may open any number of streams and the server refuses the excess).
        let before = received.load(Ordering::SeqCst);
        let warm = {
            let pool = Arc::clone(pool);
            tokio::spawn(async move { pool.send(|| request(addr)).await.map(|_| ()) })
        };
        while received.load(Ordering::SeqCst) == before {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        release.add_permits(1);
        warm.await.expect("task").expect("warm-up request");
        received.store(0, Ordering::SeqCst);
        let tasks: Vec<_> = (0..n)
            .map(|_| {
                let pool = Arc::clone(pool);
                tokio::spawn(async move {
                    match pool.send(|| request(addr)).await.expect("send") {
                        Sent::Response(resp, _lease) => resp.status().as_u16(),
                        Sent::Http1Only => panic!("h2c origin"),
                    }
                })
            })
            .collect();
        let deadline = tokio::time::Instant::now() + wait;
        while received.load(Ordering::SeqCst) < n && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        (received.load(Ordering::SeqCst), tasks)
    }

    /// A server that allows two streams per connection: with `http2_max_streams: 2` every one
    /// of four concurrent requests reaches it at once (on two connections); with the default
    /// of 100 the third and fourth wait on the first connection for a free stream.
    #[tokio::test]
    async fn streams_per_connection_follow_the_setting() {
        let (addr, received, release) = holding_server(2).await;
        let two = Arc::new(pool_of(2));
        let (reached, tasks) =
            reached_at_once(&two, addr, 4, &received, &release, Duration::from_secs(5)).await;
        assert_eq!(reached, 4, "all four requests reach the server at once");
        release.add_permits(4);
        for t in tasks {
            assert_eq!(t.await.expect("task"), 200);
        }

        let (addr, received, release) = holding_server(2).await;
        let default = Arc::new(pool());
        let (reached, tasks) = reached_at_once(
            &default,
            addr,
            4,
            &received,
            &release,
            Duration::from_millis(500),
        )
        .await;
        assert_eq!(
            reached, 2,
            "with 100 per connection, requests beyond the server's 2 wait on its connection"
        );
        release.add_permits(4);
        for t in tasks {
            assert_eq!(t.await.expect("task"), 200);
        }
    }

    /// Sends over HTTP/2; these tests' server speaks nothing else.
    async fn send(
        pool: &H2Pool,
        make: impl Fn() -> Request<Bytes>,
    ) -> (Response<RecvStream>, Lease) {
        match pool.send(make).await.expect("send") {
            Sent::Response(resp, lease) => (resp, lease),
            Sent::Http1Only => panic!("an h2c origin is never HTTP/1.1 only"),
        }
    }

    fn request(addr: SocketAddr) -> Request<Bytes> {
        let mut req = Request::new(Bytes::from_static(b"{}"));
        *req.method_mut() = http::Method::POST;
        *req.uri_mut() = format!("http://{addr}/v1/chat/completions")
            .parse()
            .expect("uri");
        req
    }

    /// Request 101 in flight opens a second connection (hyper's own pool would queue it on the
    /// first); once the responses are dropped their slots are reused, not new connections.
    #[tokio::test]
    async fn a_second_connection_opens_at_the_limit_and_freed_slots_are_reused() {
        let (addr, accepted) = h2c_server().await;
        let pool = pool();
        let mut held = Vec::new();
        for _ in 0..MAX_STREAMS_PER_CONNECTION {
            held.push(send(&pool, || request(addr)).await);
        }
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            1,
            "100 requests fit one connection"
        );
        held.push(send(&pool, || request(addr)).await);
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            2,
            "request 101 opens another"
        );
        held.clear();
        for _ in 0..(2 * MAX_STREAMS_PER_CONNECTION) {
            let (resp, _lease) = send(&pool, || request(addr)).await;
            assert_eq!(resp.status(), 200);
        }
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            2,
            "released slots are reused"
        );
    }

    /// Responses nobody reads (clients that stopped reading) fill their own stream windows
    /// but never the connection's: a later response on the same connection still arrives.
    #[tokio::test]
    async fn unread_responses_do_not_stall_the_connection() {
        let size = 3 * 1024 * 1024;
        let (addr, _) = h2c_server_with(Bytes::from(vec![b'x'; size]), None).await;
        let pool = pool();
        let mut unread = Vec::new();
        for _ in 0..6 {
            unread.push(send(&pool, || request(addr)).await);
        }
        let (resp, lease) = send(&pool, || request(addr)).await;
        // Read the way the gateway reads (releasing flow-control capacity as it goes): three
        // stream windows' worth arrive.
        let mut body = crate::transport::http2_response(resp, lease).body;
        let mut got = 0;
        tokio::time::timeout(Duration::from_secs(5), async {
            while let Some(chunk) = body.chunk().await.expect("body") {
                got += chunk.len();
            }
        })
        .await
        .expect("the last response is not stalled behind the unread ones");
        assert_eq!(got, size);
        assert_eq!(unread.len(), 6);
    }

    /// A stream the provider refuses (REFUSED_STREAM: it did not process the request) is sent
    /// again on a new connection: here each connection answers its first request and refuses
    /// every later one, and two requests sent at once share the first connection.
    #[tokio::test]
    async fn a_refused_stream_is_sent_again_on_a_new_connection() {
        let (addr, accepted) = accepting(|tcp| async move {
            let mut conn = h2::server::handshake(tcp).await.expect("handshake");
            let mut first = true;
            while let Some(Ok((_req, mut respond))) = conn.accept().await {
                if std::mem::replace(&mut first, false) {
                    let mut body = respond
                        .send_response(Response::new(()), false)
                        .expect("head");
                    body.send_data(Bytes::from_static(b"ok"), true)
                        .expect("data");
                } else {
                    respond.send_reset(h2::Reason::REFUSED_STREAM);
                }
            }
        })
        .await;
        let pool = Arc::new(pool());
        let tasks: Vec<_> = (0..2)
            .map(|_| {
                let pool = Arc::clone(&pool);
                tokio::spawn(async move {
                    match pool.send(|| request(addr)).await {
                        Ok(Sent::Response(resp, _lease)) => Ok(resp.status().as_u16()),
                        Ok(Sent::Http1Only) => panic!("h2c origin"),
                        Err(e) => Err(e.to_string()),
                    }
                })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.expect("task"), Ok(200));
        }
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            2,
            "the refused request went to a second connection"
        );
    }

    /// A provider closing connections gracefully (GOAWAY) costs no request: later requests,
    /// one after another and many at once, go to new connections.
    #[tokio::test]
    async fn requests_survive_connections_closed_with_goaway() {
        let (addr, accepted) = h2c_server_with(Bytes::from_static(b"ok"), Some(3)).await;
        let pool = Arc::new(pool());
        for i in 0..12 {
            let (resp, _lease) = match pool.send(|| request(addr)).await {
                Ok(Sent::Response(resp, lease)) => (resp, lease),
                Ok(Sent::Http1Only) => panic!("h2c origin"),
                Err(e) => panic!("sequential request {i} failed: {e}"),
            };
            assert_eq!(resp.status(), 200);
        }
        assert!(
            accepted.load(Ordering::SeqCst) >= 2,
            "connections were closed and reopened"
        );
        let mut tasks = Vec::new();
        for _ in 0..60 {
            let pool = Arc::clone(&pool);
            tasks.push(tokio::spawn(async move {
                match pool.send(|| request(addr)).await {
                    Ok(Sent::Response(resp, _lease)) => Ok(resp.status()),
                    Ok(Sent::Http1Only) => panic!("h2c origin"),
                    Err(e) => Err(e.to_string()),
                }
            }));
        }
        let mut failed = Vec::new();
        for t in tasks {
            match t.await.expect("task") {
                Ok(status) => assert_eq!(status, 200),
                Err(e) => failed.push(e),
            }
        }
        assert!(
            failed.is_empty(),
            "{} of 60 concurrent requests failed: {:?}",
            failed.len(),
            failed.first()
        );
    }

    /// A request body larger than the server's windows (`h2`'s defaults: 64 KiB per stream and
    /// per connection) goes out whole, as the server's window updates allow.
    #[tokio::test]
    async fn request_bodies_larger_than_the_window_arrive_whole() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.expect("accept");
            let mut conn = h2::server::handshake(tcp).await.expect("handshake");
            while let Some(Ok((req, mut respond))) = conn.accept().await {
                tokio::spawn(async move {
                    let mut body = req.into_body();
                    let mut len = 0;
                    while let Some(Ok(data)) = body.data().await {
                        len += data.len();
                        let _ = body.flow_control().release_capacity(data.len());
                    }
                    let mut send = respond
                        .send_response(Response::new(()), false)
                        .expect("head");
                    send.send_data(Bytes::from(len.to_string()), true)
                        .expect("data");
                });
            }
        });
        let pool = pool();
        let size = 1024 * 1024 + 7;
        let big = Bytes::from(vec![b'a'; size]);
        let make = || {
            let mut req = request(addr);
            *req.body_mut() = big.clone();
            req
        };
        let (resp, lease) = tokio::time::timeout(Duration::from_secs(10), send(&pool, make))
            .await
            .expect("the request was not stalled by flow control");
        let mut body = crate::transport::http2_response(resp, lease).body;
        let answer = body.chunk().await.expect("body").expect("a chunk");
        assert_eq!(answer, size.to_string().as_bytes());
    }

    /// An h2c server (the `h2` crate's) that answers the first request of each connection and
    /// then goes silent without closing it: no more frames read or written, pings unanswered,
    /// like a connection a NAT or load balancer dropped without telling either side.
    async fn silent_after_one_answer() -> (SocketAddr, Arc<AtomicUsize>) {
        accepting(|tcp| async move {
            let mut conn = h2::server::handshake(tcp).await.expect("handshake");
            if let Some(Ok((_req, mut respond))) = conn.accept().await {
                let mut body = respond
                    .send_response(Response::new(()), false)
                    .expect("head");
                body.send_data(Bytes::from_static(b"ok"), true)
                    .expect("data");
            }
            // Polled a moment more to write the answer, then held and never polled.
            let _ = tokio::time::timeout(Duration::from_millis(100), conn.accept()).await;
            std::future::pending::<()>().await;
            drop(conn);
        })
        .await
    }

    /// A connection that stops answering pings is closed after the keep-alive timeout, and
    /// the next request goes out on a new one instead of waiting on the dead one.
    #[tokio::test(start_paused = true)]
    async fn a_connection_that_stops_answering_pings_is_replaced() {
        let (addr, accepted) = silent_after_one_answer().await;
        let pool = pool();
        let (resp, _lease) = send(&pool, || request(addr)).await;
        assert_eq!(resp.status(), 200);
        drop((resp, _lease));
        // One ping interval and its timeout later (virtual time), the connection is gone.
        tokio::time::sleep(KEEP_ALIVE_INTERVAL + KEEP_ALIVE_TIMEOUT + Duration::from_secs(1)).await;
        let (resp, _lease) =
            tokio::time::timeout(Duration::from_secs(300), send(&pool, || request(addr)))
                .await
                .expect("the second request was sent on the dead connection and never answered");
        assert_eq!(resp.status(), 200);
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
    }

    /// Connections idle beyond the timeout are closed when the origin is next used, all but
    /// one.
    #[tokio::test]
    async fn idle_connections_are_closed_but_one() {
        let (addr, accepted) = h2c_server().await;
        let mut pool = pool();
        pool.idle_timeout = Duration::from_millis(50);
        let mut held = Vec::new();
        for _ in 0..=MAX_STREAMS_PER_CONNECTION {
            held.push(send(&pool, || request(addr)).await);
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
        held.clear();
        tokio::time::sleep(Duration::from_millis(120)).await;
        let (resp, _lease) = send(&pool, || request(addr)).await;
        assert_eq!(resp.status(), 200);
        let origin = pool.origin(&format!("http://{addr}/").parse().expect("uri"));
        assert_eq!(
            origin.conns.lock().await.len(),
            1,
            "one idle connection kept"
        );
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            2,
            "the kept one served the request"
        );
    }
}
