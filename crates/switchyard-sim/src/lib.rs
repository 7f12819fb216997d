//! The provider simulator: a loopback server speaking the OpenAI, Anthropic and Gemini wire
//! formats (plus the quirks of the OpenAI-compatible providers), with deterministic replies and
//! injectable faults. Used by integration tests, benchmarks and the gateway's demo mode.
//!
//! It depends on none of Switchyard's crates on purpose: written from the providers' published
//! formats, it cannot mirror a mistake in our own serde types. See `README.md` for the routes,
//! the fault directives and the control API.

mod content;
mod control;
mod dialect;
mod dispatch;
mod embeddings;
mod error;
mod fault;
mod minimal;
mod models;
mod prompt;
mod ratelimit;
mod reply;
mod route;
mod sse;
mod state;
mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

pub use fault::{Fault, Scenario};
pub use minimal::{serve_minimal, MINIMAL_REPLY};
pub use state::{RecordedRequest, SimState};
pub use tls::SimTls;

/// Knobs of a simulator instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimConfig {
    /// Delay before the response (non-stream) or before the first SSE event (stream).
    pub first_byte_latency: Duration,
    /// Delay between SSE content events.
    pub chunk_interval: Duration,
    /// Number of content chunks a streamed text reply is split into.
    pub chunks: usize,
    /// Words in a default text reply.
    pub words: usize,
    /// Keep the last requests per model for inspection.
    pub record_requests: bool,
    /// If set, only this key is accepted; otherwise any non-empty key not starting with
    /// `invalid` is.
    pub required_key: Option<String>,
    /// Serve HTTPS with this identity (ALPN `h2` and `http/1.1`) instead of cleartext HTTP.
    pub tls: Option<SimTls>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            first_byte_latency: Duration::ZERO,
            chunk_interval: Duration::ZERO,
            chunks: 8,
            words: 24,
            record_requests: false,
            required_key: None,
            tls: None,
        }
    }
}

/// Marker type naming the simulator; the entry points are the free functions [`start`],
/// [`serve`] and [`router`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Simulator;

/// The simulator's axum router, to embed in another server or drive with `oneshot`.
pub fn router(state: SimState) -> axum::Router {
    control::routes()
        .fallback(dispatch::handle)
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024 * 1024))
        .with_state(state)
}

/// Binds `addr` (port 0 allowed), spawns the server and returns at once. Serves HTTPS when
/// `config.tls` is set.
pub async fn start(addr: SocketAddr, config: SimConfig) -> std::io::Result<SimHandle> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let tls = config.tls.clone();
    let https = tls.is_some();
    let state = SimState::new(config);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let app = router(state.clone());
    let counting = state.clone();
    let task = tokio::spawn(async move {
        let shutdown = async move {
            let _ = stop_rx.await;
        };
        let _ = run(listener, tls.as_ref(), app, &counting, shutdown).await;
    });
    Ok(SimHandle {
        addr,
        https,
        state,
        stop: stop_tx,
        task,
    })
}

/// Runs a simulator on `addr` until `shutdown` completes (used by `switchyard sim`). Serves
/// HTTPS when `config.tls` is set.
pub async fn serve(
    addr: SocketAddr,
    config: SimConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let tls = config.tls.clone();
    let state = SimState::new(config);
    let app = router(state.clone());
    let closing = state.clone();
    let shutdown = async move {
        shutdown.await;
        // Release hanging and stalled responses so the graceful shutdown can finish.
        closing.close();
    };
    run(listener, tls.as_ref(), app, &state, shutdown).await
}

/// `axum::serve` over cleartext TCP, or over TLS when `tls` is set, until `shutdown`.
async fn run(
    listener: tokio::net::TcpListener,
    tls: Option<&SimTls>,
    app: axum::Router,
    state: &SimState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let counted = state.clone();
    match tls {
        Some(tls) => {
            let listener = tls::TlsListener::new(listener, tls)?;
            axum::serve(listener.tap_io(move |_| counted.connection_accepted()), app)
                .with_graceful_shutdown(shutdown)
                .await
        }
        None => {
            axum::serve(listener.tap_io(move |_| counted.connection_accepted()), app)
                .with_graceful_shutdown(shutdown)
                .await
        }
    }
}

/// A running simulator started by [`start`].
#[derive(Debug)]
pub struct SimHandle {
    addr: SocketAddr,
    https: bool,
    state: SimState,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl SimHandle {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, or `https://127.0.0.1:PORT` when serving TLS.
    pub fn base_url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The shared state (the same one the control API drives).
    pub fn state(&self) -> &SimState {
        &self.state
    }

    /// Installs a fault scenario for an upstream model name (Azure: the deployment).
    pub fn set_scenario(&self, model: &str, scenario: Scenario) {
        self.state.set_scenario(model, scenario);
    }

    /// Removes every scenario.
    pub fn clear_scenarios(&self) {
        self.state.clear_scenarios();
    }

    /// Last requests for a model (newest last) when `record_requests` is on.
    pub fn requests(&self, model: &str) -> Vec<RecordedRequest> {
        self.state.requests(model)
    }

    /// Requests seen for a model, always counted.
    pub fn request_count(&self, model: &str) -> u64 {
        self.state.request_count(model)
    }

    /// TCP connections accepted since start (a client that reuses connections keeps this low).
    pub fn connection_count(&self) -> u64 {
        self.state.connection_count()
    }

    /// Limits a model to `rpm` requests per minute window (0 removes the limit).
    pub fn set_rpm_limit(&self, model: &str, rpm: u64) {
        self.state.set_rpm_limit(model, rpm);
    }

    /// Stops the server; hanging and stalled responses are aborted.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        self.state.close();
        let mut task = self.task;
        if tokio::time::timeout(Duration::from_secs(2), &mut task)
            .await
            .is_err()
        {
            task.abort();
        }
    }
}
