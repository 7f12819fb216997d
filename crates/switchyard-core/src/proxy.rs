//! The egress proxy: upstream connections through an HTTP proxy named by the environment
//! (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`), the way curl, reqwest and the
//! OpenAI SDK read them. Both `https://` and `http://` upstreams are tunnelled with `CONNECT`,
//! so TLS stays end to end between the gateway and the provider and the proxy sees only the
//! host name. Loopback destinations are always reached directly. Built on hyper-util's
//! `Tunnel` and its `NO_PROXY` matcher.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::Uri;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::TokioIo;
use switchyard_config::ProxyConfig;
use tokio::net::TcpStream;
use tower::{Service, ServiceExt};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Which destinations go through which proxy; `None` when no proxy is configured.
#[derive(Clone, Default)]
pub struct Proxy(Option<Arc<Matcher>>);

impl std::fmt::Debug for Proxy {
    // The matcher holds the proxy URL, which may carry credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Proxy(configured)"
        } else {
            "Proxy(none)"
        })
    }
}

impl Proxy {
    /// The proxy for `dst`, if it is not reached directly (loopback, `NO_PROXY`).
    fn intercept(&self, dst: &Uri) -> Option<hyper_util::client::proxy::matcher::Intercept> {
        let matcher = self.0.as_ref()?;
        if is_loopback(dst) {
            return None;
        }
        matcher.intercept(dst)
    }

    /// The proxy of `config` (none when no variable is set).
    pub fn new(config: &ProxyConfig) -> Self {
        if !config.is_set() {
            return Self(None);
        }
        let value = |s: &Option<switchyard_config::Secret>| {
            s.as_ref()
                .map(|s| s.expose().to_owned())
                .unwrap_or_default()
        };
        let matcher = Matcher::builder()
            .all(value(&config.all))
            .http(value(&config.http))
            .https(value(&config.https))
            .no(config.no_proxy.clone().unwrap_or_default())
            .build();
        Self(Some(Arc::new(matcher)))
    }
}

/// Connects directly, or through the proxy's `CONNECT` tunnel when the destination is not
/// excluded by `NO_PROXY`.
#[derive(Clone, Debug)]
pub struct ProxyConnector {
    http: HttpConnector,
    proxy: Proxy,
}

impl ProxyConnector {
    pub(crate) fn new(http: HttpConnector, proxy: Proxy) -> Self {
        Self { http, proxy }
    }
}

impl Service<Uri> for ProxyConnector {
    type Response = TokioIo<TcpStream>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.http.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        match self.proxy.intercept(&dst) {
            Some(via) => {
                let mut tunnel = Tunnel::new(via.uri().clone(), self.http.clone());
                if let Some(auth) = via.basic_auth() {
                    tunnel = tunnel.with_auth(auth.clone());
                }
                Box::pin(async move { tunnel.oneshot(dst).await.map_err(proxy_error) })
            }
            None => {
                let connect = self.http.call(dst);
                Box::pin(async move { connect.await.map_err(Into::into) })
            }
        }
    }
}

/// Loopback destinations (`localhost`, `127.0.0.0/8`, `::1`) never go through the proxy, as
/// in Go's `ProxyFromEnvironment`: a proxy cannot reach the gateway's own host, and a model
/// server or the built-in simulator there must keep working when `HTTPS_PROXY` is exported
/// for the rest of the machine.
fn is_loopback(dst: &Uri) -> bool {
    let Some(host) = dst.host() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A tunnel failure as one message naming the proxy (root-cause reporting would otherwise
/// show only "connection refused"); a timeout stays an `io::ErrorKind::TimedOut`, so it is
/// classified as a timeout.
fn proxy_error(err: impl std::error::Error + Send + Sync + 'static) -> BoxError {
    let mut text = format!("egress proxy: {err}");
    let mut timed_out = false;
    let mut cur = err.source();
    while let Some(e) = cur {
        text.push_str(&format!(": {e}"));
        timed_out |= e
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut);
        cur = e.source();
    }
    let kind = if timed_out {
        std::io::ErrorKind::TimedOut
    } else {
        std::io::ErrorKind::Other
    };
    Box::new(std::io::Error::new(kind, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_are_routed_by_scheme_no_proxy_and_loopback() {
        let config = ProxyConfig {
            https: Some(switchyard_config::Secret::new("http://proxy.corp:3128")),
            http: None,
            all: None,
            no_proxy: Some("internal.corp, .test, 10.0.0.0/8".to_owned()),
        };
        let proxy = Proxy::new(&config);
        let via = |url: &str| {
            proxy
                .intercept(&url.parse().unwrap())
                .map(|i| i.uri().to_string())
        };
        assert_eq!(
            via("https://api.openai.com/v1").as_deref(),
            Some("http://proxy.corp:3128/")
        );
        assert_eq!(via("http://api.example.com/v1"), None, "no HTTP_PROXY");
        assert_eq!(via("https://models.internal.corp/v1"), None);
        assert_eq!(via("https://upstream.test:8443/v1"), None);
        assert_eq!(via("https://10.1.2.3/v1"), None);
        assert_eq!(via("https://localhost:8443/v1"), None);
        assert!(Proxy::new(&ProxyConfig::default()).0.is_none());
        assert_eq!(format!("{proxy:?}"), "Proxy(configured)");
    }

    #[test]
    fn loopback_destinations_are_recognised() {
        for url in [
            "http://localhost:8000/v1",
            "https://LOCALHOST/v1",
            "http://127.0.0.1:4010/v1",
            "http://127.8.9.10/v1",
            "http://[::1]:8000/v1",
        ] {
            assert!(is_loopback(&url.parse().unwrap()), "{url}");
        }
        for url in [
            "https://api.openai.com/v1",
            "http://10.0.0.5:8000/v1",
            "http://localhost.example.com/v1",
        ] {
            assert!(!is_loopback(&url.parse().unwrap()), "{url}");
        }
    }
}
