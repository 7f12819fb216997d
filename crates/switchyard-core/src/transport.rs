//! The one transport that executes every upstream call: a pooled HTTP client per connect
//! timeout, credentials injected at the last moment, classified transport errors.
//!
//! The gateway only ever sends a prepared `POST` with a JSON body to a URI parsed once per
//! deployment, so it uses no general-purpose client: HTTP/1.1 goes through our own pool
//! ([`crate::h1pool`], framing on `httparse`), HTTP/2 through hyper's connection API with our
//! own pool ([`crate::h2pool`]). Connections are opened by hyper-util's connector (TCP, the
//! egress proxy, rustls with the webpki roots plus a provider's `ca_file`).
//!
//! HTTP versions, per provider (`http2:`):
//! - unset (the default): an `https://` origin is offered HTTP/2 and HTTP/1.1 by ALPN. If it
//!   picks HTTP/2, requests share connections through [`crate::h2pool`]; if it picks HTTP/1.1,
//!   the origin is remembered as such and served by the HTTP/1.1 pool. `http://` origins
//!   use HTTP/1.1 (a local model server rarely speaks cleartext HTTP/2).
//! - `false`: HTTP/1.1 on a pool of keep-alive connections, one per in-flight request.
//! - `true`: HTTP/2 only, prior knowledge on `http://`.
//!
//! Not hyper's own HTTP/2 pool: it puts every request to a host on one HTTP/2 connection and
//! never opens a second one when the provider's `SETTINGS_MAX_CONCURRENT_STREAMS` (often 100)
//! is reached (hyperium/hyper#2197, #3623); LLM streams live for minutes, so the 101st
//! concurrent stream would wait for a slot until its deadline. [`crate::h2pool`] opens another
//! connection every 100 concurrent requests.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use switchyard_config::{CaBundle, HttpVersion, Secret};
use switchyard_providers::{AuthScheme, ErrorClass, UpstreamError};

use crate::h1pool::{H1Body, H1Pool, H1Request};
use crate::h2pool::{H2Pool, Lease, Sent};
use crate::proxy::{Proxy, ProxyConnector};

pub(crate) type Connector = hyper_rustls::HttpsConnector<ProxyConnector>;

/// A pooled upstream client (a cheap handle; clones share the pools).
#[derive(Clone, Debug)]
pub enum HttpClient {
    /// HTTP/1.1 only (`http2: false`): one keep-alive connection per in-flight request.
    Http1(Arc<H1Pool>),
    /// HTTP/2 only (`http2: true`): many requests per connection.
    Http2(Arc<H2Pool>),
    /// The default: HTTP/2 where an `https://` origin offers it by ALPN, else HTTP/1.1.
    Auto(Arc<AutoClient>),
}

/// The default client: both pools, and per origin the protocol it chose.
#[derive(Debug)]
pub struct AutoClient {
    http1: Arc<H1Pool>,
    http2: H2Pool,
}

/// Clients are shared by every provider with the same settings; extra CAs by content, so a
/// changed `ca_file` gets a new client.
type ClientKey = (
    Duration,
    HttpVersion,
    usize,
    Option<Arc<[rustls::pki_types::CertificateDer<'static>]>>,
);

/// Builds and shares HTTP clients. Clients are cheap handles over their connection pools.
#[derive(Debug, Default)]
pub struct Transport {
    clients: Mutex<HashMap<ClientKey, HttpClient>>,
    proxy: Proxy,
}

impl Transport {
    /// A transport with no clients yet, connecting directly.
    pub fn new() -> Self {
        Self::default()
    }

    /// A transport whose connections go through `proxy` (except `NO_PROXY` destinations).
    pub fn with_proxy(proxy: Proxy) -> Self {
        Self {
            clients: Mutex::default(),
            proxy,
        }
    }

    /// The client for a connect timeout, HTTP version, requests per HTTP/2 connection and
    /// extra CA (created once, then shared). Fails when the CA bundle holds no usable
    /// certificate.
    pub fn client(
        &self,
        connect_timeout: Duration,
        http: HttpVersion,
        http2_max_streams: usize,
        ca: Option<&CaBundle>,
    ) -> Result<HttpClient, String> {
        // HTTP/1.1-only clients share their pool whatever the HTTP/2 setting says.
        let streams = if http == HttpVersion::Http1 {
            0
        } else {
            http2_max_streams
        };
        let key = (
            connect_timeout,
            http,
            streams,
            ca.map(|c| Arc::clone(&c.certs)),
        );
        let mut clients = match self.clients.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(client) = clients.get(&key) {
            return Ok(client.clone());
        }
        let tls = tls_config(ca)?;
        let client = match http {
            HttpVersion::Http1 => {
                HttpClient::Http1(Arc::new(http1_pool(connect_timeout, tls, &self.proxy)))
            }
            HttpVersion::Http2 => HttpClient::Http2(Arc::new(H2Pool::new(
                connector(connect_timeout, Alpn::Http2, tls, &self.proxy),
                false,
                http2_max_streams,
            ))),
            HttpVersion::Auto => HttpClient::Auto(Arc::new(AutoClient {
                http1: Arc::new(http1_pool(connect_timeout, tls.clone(), &self.proxy)),
                http2: H2Pool::new(
                    connector(connect_timeout, Alpn::Both, tls, &self.proxy),
                    true,
                    http2_max_streams,
                ),
            })),
        };
        clients.insert(key, client.clone());
        Ok(client)
    }
}

/// The rustls client config: the webpki roots, plus `ca` when given.
pub(crate) fn tls_config(ca: Option<&CaBundle>) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(ca) = ca {
        let (added, _ignored) = roots.add_parsable_certificates(ca.certs.iter().cloned());
        if added == 0 {
            return Err(format!(
                "{}: no usable CA certificate (not X.509, or not a CA)",
                ca.path
            ));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = match rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
    {
        Ok(b) => b,
        // The ring provider supports the default versions; this arm is unreachable in practice.
        Err(_) => rustls::ClientConfig::builder_with_protocol_versions(rustls::ALL_VERSIONS),
    };
    Ok(builder.with_root_certificates(roots).with_no_client_auth())
}

/// The protocols a connector offers by ALPN on `https://`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Alpn {
    Http1,
    Http2,
    Both,
}

pub(crate) fn connector(
    connect_timeout: Duration,
    alpn: Alpn,
    tls: rustls::ClientConfig,
    proxy: &Proxy,
) -> Connector {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(connect_timeout));
    http.set_keepalive(Some(Duration::from_secs(60)));
    let http = ProxyConnector::new(http, proxy.clone());
    let builder = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http();
    match alpn {
        Alpn::Http1 => builder.enable_http1().wrap_connector(http),
        Alpn::Http2 => builder.enable_http2().wrap_connector(http),
        Alpn::Both => builder.enable_all_versions().wrap_connector(http),
    }
}

fn http1_pool(connect_timeout: Duration, tls: rustls::ClientConfig, proxy: &Proxy) -> H1Pool {
    H1Pool::new(connector(connect_timeout, Alpn::Http1, tls, proxy))
}

/// Parses an upstream URL once (per deployment). Characters a URI may not carry (a space in a
/// model name, say) are percent-encoded first. Only absolute `http`/`https` URLs are accepted.
pub fn parse_upstream_url(url: &str) -> Result<Uri, String> {
    let encoded = percent_encode_illegal(url);
    let uri: Uri = encoded.parse().map_err(|e| format!("{e}"))?;
    match uri.scheme_str() {
        Some("http" | "https") if uri.authority().is_some() => Ok(uri),
        _ => Err("must be an absolute http:// or https:// URL".to_owned()),
    }
}

fn percent_encode_illegal(url: &str) -> std::borrow::Cow<'_, str> {
    let legal = |b: u8| b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&b);
    if url.bytes().all(legal) {
        return std::borrow::Cow::Borrowed(url);
    }
    let mut out = String::with_capacity(url.len() + 8);
    for b in url.bytes() {
        if legal(b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The header carrying a provider credential, prebuilt once per provider and marked sensitive
/// so it never shows in debug output.
#[derive(Debug, Clone)]
pub struct AuthHeader(Option<(HeaderName, HeaderValue)>);

impl AuthHeader {
    /// Builds the header for `scheme` from `key`. A key with characters illegal in a header
    /// yields no header (the upstream then answers 401, classified as a credential failure).
    pub fn new(scheme: AuthScheme, key: Option<&Secret>) -> Self {
        let Some(key) = key else { return Self(None) };
        let (name, value) = match scheme {
            AuthScheme::Bearer => ("authorization", format!("Bearer {}", key.expose())),
            AuthScheme::XApiKey => ("x-api-key", key.expose().to_owned()),
            AuthScheme::ApiKey => ("api-key", key.expose().to_owned()),
            AuthScheme::GoogApiKey => ("x-goog-api-key", key.expose().to_owned()),
            AuthScheme::None => return Self(None),
        };
        match HeaderValue::from_str(&value) {
            Ok(mut v) => {
                v.set_sensitive(true);
                Self(Some((HeaderName::from_static(name), v)))
            }
            Err(_) => Self(None),
        }
    }
}

/// One upstream HTTP call, ready to send.
#[derive(Debug)]
pub struct UpstreamCall<'a> {
    /// The client (pool) to use.
    pub client: &'a HttpClient,
    /// Full URL.
    pub url: &'a Uri,
    /// The `Host` header for `url` (set on HTTP/1.1 requests), prebuilt.
    pub host: Option<&'a HeaderValue>,
    /// JSON body (borrowed: an HTTP/1.1 request writes it from where it is; an HTTP/2 one takes
    /// a reference-counted clone).
    pub body: &'a Bytes,
    /// Credential header.
    pub auth: &'a AuthHeader,
    /// Static headers of the dialect.
    pub static_headers: &'static [(&'static str, &'static str)],
}

const JSON: HeaderValue = HeaderValue::from_static("application/json");

impl UpstreamCall<'_> {
    /// Sends the call and waits for the response head. Deadline handling is the caller's.
    pub async fn send(self) -> Result<UpstreamResponse, UpstreamError> {
        match self.client {
            HttpClient::Http1(pool) => self.send_http1(pool).await,
            // The HTTP/2 send is boxed: inline, its state would size (and be copied with)
            // every HTTP/1.1 request's future too (+24k instructions per request, measured).
            HttpClient::Http2(pool) => match Box::pin(pool.send(|| self.http2_request())).await? {
                Sent::Response(resp, lease) => Ok(http2_response(resp, lease)),
                Sent::Http1Only => Err(UpstreamError::new(
                    ErrorClass::Connect,
                    "the upstream did not negotiate HTTP/2",
                )),
            },
            HttpClient::Auto(auto) => {
                if self.url.scheme() == Some(&http::uri::Scheme::HTTPS)
                    && !auto.http2.is_http1_only(self.url)
                {
                    match Box::pin(auto.http2.send(|| self.http2_request())).await? {
                        Sent::Response(resp, lease) => Ok(http2_response(resp, lease)),
                        Sent::Http1Only => self.send_http1(&auto.http1).await,
                    }
                } else {
                    self.send_http1(&auto.http1).await
                }
            }
        }
    }

    async fn send_http1(&self, pool: &Arc<H1Pool>) -> Result<UpstreamResponse, UpstreamError> {
        // On the stack: the content type and the credential, then the provider's own headers.
        let content_type: (&[u8], &[u8]) = (b"content-type", b"application/json");
        let fixed = match &self.auth.0 {
            Some((name, value)) => [content_type, (name.as_str().as_bytes(), value.as_bytes())],
            None => [content_type, (b"", b"")],
        };
        let resp = pool
            .send(&H1Request {
                uri: self.url,
                host: self.host,
                headers: &fixed[..1 + usize::from(self.auth.0.is_some())],
                extra: self.static_headers,
                body: self.body,
            })
            .await?;
        Ok(UpstreamResponse {
            status: resp.status,
            headers: resp.headers,
            body: UpstreamBody(BodyKind::Http1(resp.body)),
        })
    }

    fn http2_request(&self) -> Request<Bytes> {
        let mut req = Request::new(self.body.clone());
        *req.method_mut() = Method::POST;
        *req.uri_mut() = self.url.clone();
        let headers = req.headers_mut();
        headers.insert(http::header::CONTENT_TYPE, JSON);
        headers.insert(
            http::header::CONTENT_LENGTH,
            HeaderValue::from(self.body.len()),
        );
        if let Some((name, value)) = &self.auth.0 {
            headers.insert(name.clone(), value.clone());
        }
        for (name, value) in self.static_headers {
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                headers.insert(n, v);
            }
        }
        req
    }
}

pub(crate) fn http2_response(
    resp: http::Response<h2::RecvStream>,
    lease: Lease,
) -> UpstreamResponse {
    let (parts, body) = resp.into_parts();
    let status = parts.status.as_u16();
    let remaining = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    UpstreamResponse {
        status,
        // Like HTTP/1.1 responses: only an error's headers are kept.
        headers: if (200..300).contains(&status) {
            HeaderMap::new()
        } else {
            parts.headers
        },
        body: UpstreamBody(BodyKind::Http2 {
            body,
            remaining,
            _lease: lease,
        }),
    }
}

/// An upstream response head and its body.
#[derive(Debug)]
pub struct UpstreamResponse {
    /// HTTP status.
    pub status: u16,
    /// Headers of an error response (rate-limit and retry hints, for classification); a
    /// successful response's headers are not kept.
    pub headers: HeaderMap,
    /// The body.
    pub body: UpstreamBody,
}

/// An upstream response body, read chunk by chunk. Holding only the body (not the head) lets
/// a long stream release the header storage.
#[derive(Debug)]
pub struct UpstreamBody(BodyKind);

#[derive(Debug)]
enum BodyKind {
    Http1(H1Body),
    Http2 {
        body: h2::RecvStream,
        /// What is left of a declared `content-length`.
        remaining: Option<u64>,
        /// The HTTP/2 connection slot, released with the body.
        _lease: Lease,
    },
}

impl UpstreamBody {
    /// The next data chunk; `None` at the end of the body. Trailers are skipped.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, UpstreamError> {
        let (body, remaining) = match &mut self.0 {
            BodyKind::Http1(body) => return body.chunk().await,
            BodyKind::Http2 {
                body, remaining, ..
            } => (body, remaining),
        };
        loop {
            match body.data().await {
                None => return Ok(None),
                Some(Ok(data)) => {
                    // Read, so the provider may send as much again (the stream's and the
                    // connection's windows); without this a long response stalls.
                    let _ = body.flow_control().release_capacity(data.len());
                    if data.is_empty() {
                        continue;
                    }
                    if let Some(r) = remaining {
                        *r = r.saturating_sub(data.len() as u64);
                    }
                    return Ok(Some(data));
                }
                Some(Err(e)) => {
                    return Err(UpstreamError::new(
                        ErrorClass::StreamBroken,
                        format!("upstream connection broke: {}", root_cause(&e)),
                    ))
                }
            }
        }
    }

    /// The body is a stream that may be held open for long: over HTTP/1.1 its connection's
    /// read buffer shrinks to what one event needs (`H1Body::settle_for_stream`).
    pub fn settle_for_stream(&mut self) {
        if let BodyKind::Http1(body) = &mut self.0 {
            body.settle_for_stream();
        }
    }

    /// The reader needs nothing more (a stream's terminating event came): over HTTP/1.1 the
    /// rest is read in the background so that the connection can be reused
    /// (`H1Body::release`); an HTTP/2 stream ends when the body is dropped.
    pub fn release(&mut self) {
        if let BodyKind::Http1(body) = &mut self.0 {
            body.release();
        }
    }

    /// The body's length (what is left of it) when the upstream declared it.
    pub fn exact_len(&self) -> Option<u64> {
        match &self.0 {
            BodyKind::Http1(body) => body.exact_len(),
            BodyKind::Http2 { remaining, .. } => *remaining,
        }
    }
}

/// A connection that could not be opened (TCP, proxy tunnel, TLS): `timeout` when the
/// connect timeout ran out, else `connect`. The URL is not echoed (it may carry a key).
pub(crate) fn connect_failed(err: &(dyn std::error::Error + 'static)) -> UpstreamError {
    if has_timeout(err) {
        UpstreamError::new(ErrorClass::Timeout, "upstream timed out")
    } else {
        UpstreamError::new(
            ErrorClass::Connect,
            format!("cannot connect to upstream: {}", root_cause(err)),
        )
    }
}

/// A request that failed before its response head arrived: `timeout` when a timer ran out
/// anywhere in the chain, else `connect` (both retryable on another deployment).
pub(crate) fn request_failed(err: &(dyn std::error::Error + 'static)) -> UpstreamError {
    if has_timeout(err) {
        UpstreamError::new(ErrorClass::Timeout, "upstream timed out")
    } else {
        UpstreamError::new(
            ErrorClass::Connect,
            format!("upstream request failed: {}", root_cause(err)),
        )
    }
}

fn has_timeout(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::TimedOut {
                return true;
            }
        }
        if e.downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_timeout)
        {
            return true;
        }
        cur = e.source();
    }
    false
}

pub(crate) fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = err;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// Reads a body up to `limit` bytes; longer bodies are rejected.
pub async fn read_body_capped(
    mut body: UpstreamBody,
    limit: usize,
) -> Result<Bytes, UpstreamError> {
    let mut first: Option<Bytes> = None;
    let mut buf = bytes::BytesMut::new();
    while let Some(chunk) = body.chunk().await? {
        let have = first.as_ref().map_or(0, Bytes::len) + buf.len();
        if have + chunk.len() > limit {
            return Err(UpstreamError::new(
                ErrorClass::Malformed,
                format!("upstream response larger than {limit} bytes"),
            ));
        }
        // The common case is one chunk: keep it as is, no copy.
        if first.is_none() && buf.is_empty() {
            first = Some(chunk);
            continue;
        }
        if let Some(f) = first.take() {
            let hint = body.exact_len().map_or(0, |n| n as usize);
            buf.reserve(f.len() + chunk.len() + hint);
            buf.extend_from_slice(&f);
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(first.unwrap_or_else(|| buf.freeze()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `ca_file` whose PEM blocks hold no parsable certificate fails the load with the file
    /// named; a real CA is accepted.
    #[test]
    fn ca_bundles_without_a_usable_certificate_are_refused() {
        let junk = CaBundle {
            path: "junk.pem".to_owned(),
            certs: vec![rustls::pki_types::CertificateDer::from(vec![1u8, 2, 3])].into(),
        };
        let err = tls_config(Some(&junk)).unwrap_err();
        assert!(
            err.starts_with("junk.pem: no usable CA certificate"),
            "{err}"
        );
        let transport = Transport::new();
        assert!(transport
            .client(
                Duration::from_secs(1),
                HttpVersion::Auto,
                switchyard_config::DEFAULT_HTTP2_MAX_STREAMS,
                Some(&junk)
            )
            .is_err());

        use rustls::pki_types::pem::PemObject;
        let pem = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../switchyard-sim/testdata/tls/ca.pem"
        );
        let ca = CaBundle {
            path: pem.to_owned(),
            certs: rustls::pki_types::CertificateDer::pem_file_iter(pem)
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap()
                .into(),
        };
        assert!(transport
            .client(
                Duration::from_secs(1),
                HttpVersion::Auto,
                switchyard_config::DEFAULT_HTTP2_MAX_STREAMS,
                Some(&ca)
            )
            .is_ok());
    }

    #[test]
    fn upstream_urls_are_validated_and_encoded() {
        let u = parse_upstream_url("https://api.openai.com/v1/chat/completions").unwrap();
        assert_eq!(u.host(), Some("api.openai.com"));
        let u = parse_upstream_url("http://127.0.0.1:4010/v1beta/models/my model:generateContent")
            .unwrap();
        assert_eq!(u.path(), "/v1beta/models/my%20model:generateContent");
        assert!(parse_upstream_url("ftp://example.com/x").is_err());
        assert!(parse_upstream_url("/v1/chat/completions").is_err());
    }
}
