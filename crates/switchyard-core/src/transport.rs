//! The one transport that executes every upstream call: a pooled HTTP client per connect
//! timeout, credentials injected at the last moment, classified transport errors.
//!
//! Built on hyper-util's pooled client directly (not reqwest): the gateway only ever sends a
//! prepared `POST` with a JSON body to a URI parsed once per deployment, so reqwest's
//! per-request URL handling, redirect policy and response wrapping were pure overhead on the
//! hot path (docs/benchmarks.md). HTTPS uses rustls with the webpki roots.
//!
//! By default upstream calls use HTTP/1.1 on hyper's pool of keep-alive connections, one per
//! in-flight request. Not hyper's HTTP/2: its pool puts every request to a host on one HTTP/2
//! connection and never opens a second one when the provider's
//! `SETTINGS_MAX_CONCURRENT_STREAMS` (often 100) is reached (hyperium/hyper#2197, #3623); LLM
//! streams live for minutes, so the 101st concurrent stream would wait for a slot until its
//! deadline. Providers configured with `http2: true` go through [`crate::h2pool`] instead,
//! which opens another connection every 100 concurrent requests.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri};
use http_body::Body as _;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use switchyard_config::Secret;
use switchyard_providers::{AuthScheme, ErrorClass, UpstreamError};

use crate::h2pool::{H2Pool, Lease};

pub(crate) type Connector = hyper_rustls::HttpsConnector<HttpConnector>;

/// A pooled upstream client (a cheap handle; clones share the pool): HTTP/1.1 with one
/// keep-alive connection per in-flight request, or HTTP/2 with many requests per connection.
#[derive(Clone, Debug)]
pub enum HttpClient {
    /// HTTP/1.1.
    Http1(Arc<Client<Connector, Full<Bytes>>>),
    /// HTTP/2 (`http2: true` on the provider).
    Http2(Arc<H2Pool>),
}

/// Builds and shares HTTP clients. Clients are cheap handles over one connection pool each.
#[derive(Debug, Default)]
pub struct Transport {
    clients: Mutex<HashMap<(Duration, bool), HttpClient>>,
}

impl Transport {
    /// A transport with no clients yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The client for a connect timeout and protocol (created once, then shared).
    pub fn client(&self, connect_timeout: Duration, http2: bool) -> HttpClient {
        let mut clients = match self.clients.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        clients
            .entry((connect_timeout, http2))
            .or_insert_with(|| {
                if http2 {
                    HttpClient::Http2(Arc::new(H2Pool::new(connector(connect_timeout, true))))
                } else {
                    build_client(connect_timeout)
                }
            })
            .clone()
    }
}

fn tls_config() -> rustls::ClientConfig {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = match rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
    {
        Ok(b) => b,
        // The ring provider supports the default versions; this arm is unreachable in practice.
        Err(_) => rustls::ClientConfig::builder_with_protocol_versions(rustls::ALL_VERSIONS),
    };
    builder.with_root_certificates(roots).with_no_client_auth()
}

pub(crate) fn connector(connect_timeout: Duration, http2: bool) -> Connector {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(connect_timeout));
    http.set_keepalive(Some(Duration::from_secs(60)));
    let builder = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls_config())
        .https_or_http();
    if http2 {
        builder.enable_http2().wrap_connector(http)
    } else {
        builder.enable_http1().wrap_connector(http)
    }
}

fn build_client(connect_timeout: Duration) -> HttpClient {
    let https = connector(connect_timeout, false);
    let client = Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .timer(TokioTimer::new())
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(1024)
        .build(https);
    HttpClient::Http1(Arc::new(client))
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
    /// JSON body.
    pub body: Bytes,
    /// Credential header.
    pub auth: &'a AuthHeader,
    /// Static headers of the dialect.
    pub static_headers: &'static [(&'static str, &'static str)],
}

const JSON: HeaderValue = HeaderValue::from_static("application/json");

impl UpstreamCall<'_> {
    /// Sends the call and waits for the response head. Deadline handling is the caller's.
    pub async fn send(self) -> Result<UpstreamResponse, UpstreamError> {
        let mut req = Request::new(Full::new(self.body));
        *req.method_mut() = Method::POST;
        *req.uri_mut() = self.url.clone();
        let headers = req.headers_mut();
        headers.insert(http::header::CONTENT_TYPE, JSON);
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
        let (resp, lease) = match self.client {
            HttpClient::Http1(client) => (
                client.request(req).await.map_err(classify_request_error)?,
                None,
            ),
            HttpClient::Http2(pool) => {
                // Boxed: opening a connection is a large future, and a rare one.
                let (resp, lease) = Box::pin(pool.send(req)).await?;
                (resp, Some(lease))
            }
        };
        let (parts, body) = resp.into_parts();
        Ok(UpstreamResponse {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body: UpstreamBody {
                body,
                _lease: lease,
            },
        })
    }
}

/// An upstream response head and its body.
#[derive(Debug)]
pub struct UpstreamResponse {
    /// HTTP status.
    pub status: u16,
    /// Response headers (rate-limit and retry hints for error classification).
    pub headers: HeaderMap,
    /// The body.
    pub body: UpstreamBody,
}

/// An upstream response body, read chunk by chunk. Holding only the body (not the head) lets
/// a long stream release the header storage, which shares the connection's read buffer.
#[derive(Debug)]
pub struct UpstreamBody {
    body: Incoming,
    /// The HTTP/2 connection slot, released with the body.
    _lease: Option<Lease>,
}

impl UpstreamBody {
    /// The next data chunk; `None` at the end of the body. Trailers are skipped.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, UpstreamError> {
        loop {
            match self.body.frame().await {
                None => return Ok(None),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        if !data.is_empty() {
                            return Ok(Some(data));
                        }
                    }
                }
                Some(Err(e)) => return Err(classify_body_error(&e)),
            }
        }
    }

    /// The body's length when the upstream declared it.
    pub fn exact_len(&self) -> Option<u64> {
        self.body.size_hint().exact()
    }
}

/// Classifies a failed request without echoing the URL (which may carry a query key).
fn classify_request_error(err: hyper_util::client::legacy::Error) -> UpstreamError {
    if err.is_connect() && !has_timeout(&err) {
        UpstreamError::new(
            ErrorClass::Connect,
            format!("cannot connect to upstream: {}", root_cause(&err)),
        )
    } else {
        request_failed(&err)
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

/// Classifies an error while reading a body.
fn classify_body_error(err: &hyper::Error) -> UpstreamError {
    if err.is_timeout() {
        UpstreamError::new(ErrorClass::Timeout, "upstream timed out")
    } else {
        UpstreamError::new(
            ErrorClass::StreamBroken,
            format!("upstream connection broke: {}", root_cause(err)),
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
