//! The one transport that executes every upstream call: a pooled HTTP client per connect
//! timeout, credentials injected at the last moment, classified transport errors.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue};
use switchyard_config::Secret;
use switchyard_providers::{AuthScheme, ErrorClass, UpstreamError};

/// Builds and shares HTTP clients. Clients are cheap handles over one connection pool each.
#[derive(Debug, Default)]
pub struct Transport {
    clients: Mutex<HashMap<Duration, reqwest::Client>>,
}

impl Transport {
    /// A transport with no clients yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The client for a connect timeout (created once, then shared).
    pub fn client(&self, connect_timeout: Duration) -> reqwest::Client {
        let mut clients = match self.clients.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        clients
            .entry(connect_timeout)
            .or_insert_with(|| build_client(connect_timeout))
            .clone()
    }
}

fn build_client(connect_timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .tcp_nodelay(true)
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(1024)
        .no_proxy()
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
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
    pub client: &'a reqwest::Client,
    /// Full URL.
    pub url: &'a reqwest::Url,
    /// JSON body.
    pub body: Bytes,
    /// Credential header.
    pub auth: &'a AuthHeader,
    /// Static headers of the dialect.
    pub static_headers: &'static [(&'static str, &'static str)],
}

impl UpstreamCall<'_> {
    /// Sends the call and waits for the response head. Deadline handling is the caller's.
    pub async fn send(self) -> Result<reqwest::Response, UpstreamError> {
        let mut req = self
            .client
            .post(self.url.clone())
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(self.body);
        if let Some((name, value)) = &self.auth.0 {
            req = req.header(name.clone(), value.clone());
        }
        for (name, value) in self.static_headers {
            req = req.header(*name, *value);
        }
        req.send().await.map_err(classify_transport_error)
    }
}

/// Classifies a client error without echoing the URL (which may carry a query key).
pub fn classify_transport_error(err: reqwest::Error) -> UpstreamError {
    let err = err.without_url();
    if err.is_timeout() {
        UpstreamError::new(ErrorClass::Timeout, "upstream timed out")
    } else if err.is_connect() {
        UpstreamError::new(
            ErrorClass::Connect,
            format!("cannot connect to upstream: {}", root_cause(&err)),
        )
    } else if err.is_body() || err.is_decode() {
        UpstreamError::new(
            ErrorClass::StreamBroken,
            format!("upstream connection broke: {}", root_cause(&err)),
        )
    } else {
        UpstreamError::new(
            ErrorClass::Connect,
            format!("upstream request failed: {}", root_cause(&err)),
        )
    }
}

fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = err;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// Reads a body up to `limit` bytes; longer bodies are cut (error bodies) or rejected.
pub async fn read_body_capped(
    mut resp: reqwest::Response,
    limit: usize,
) -> Result<Bytes, UpstreamError> {
    let mut buf = bytes::BytesMut::new();
    while let Some(chunk) = resp.chunk().await.map_err(classify_transport_error)? {
        if buf.len() + chunk.len() > limit {
            return Err(UpstreamError::new(
                ErrorClass::Malformed,
                format!("upstream response larger than {limit} bytes"),
            ));
        }
        if buf.is_empty() && resp.content_length().is_none() {
            buf.reserve(chunk.len());
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}
