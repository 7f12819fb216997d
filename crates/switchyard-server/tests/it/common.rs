//! Test harness: start a simulator and a gateway wired to it.

use std::collections::HashMap;
use std::net::SocketAddr;

use switchyard_providers::catalog::{simulator_base_url, SPECS};
use switchyard_providers::ProviderKind;
use switchyard_sim::{SimConfig, SimHandle};

/// A running gateway and its simulator.
pub struct Harness {
    pub sim: SimHandle,
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    _server: tokio::task::JoinHandle<()>,
}

impl Harness {
    /// Base URL of the gateway, e.g. `http://127.0.0.1:1234`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// POST JSON to the gateway.
    pub async fn post(&self, path: &str, body: serde_json::Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .expect("request")
    }
}

/// The environment that points every provider at the simulator (like demo mode), plus
/// `extra` variables.
pub fn sim_env(sim: &SimHandle, extra: &[(&str, &str)]) -> HashMap<String, String> {
    let mut env = HashMap::new();
    for s in SPECS {
        if matches!(
            s.kind,
            ProviderKind::Azure | ProviderKind::Vllm | ProviderKind::OpenAiCompatible
        ) {
            continue;
        }
        if let Some(k) = s.key_env.first() {
            env.insert((*k).to_owned(), "sk-test".to_owned());
        }
        if !s.base_url_env.is_empty() {
            env.insert(
                s.base_url_env.to_owned(),
                simulator_base_url(s.kind, &sim.base_url()),
            );
        }
    }
    env.insert("SIM".to_owned(), sim.base_url());
    env.insert("SIM_PORT".to_owned(), sim.addr().port().to_string());
    for (k, v) in extra {
        env.insert((*k).to_owned(), (*v).to_owned());
    }
    env
}

/// The gateway's router for `yaml` (may use `${SIM}`), every provider also configured from
/// the environment to point at `sim`.
pub fn gateway_app(yaml: &str, sim: &SimHandle) -> switchyard_server::App {
    gateway_app_with_env(yaml, sim, &[])
}

/// [`gateway_app`] with `extra` environment variables (proxy settings, say).
pub fn gateway_app_with_env(
    yaml: &str,
    sim: &SimHandle,
    extra: &[(&str, &str)],
) -> switchyard_server::App {
    let env = sim_env(sim, extra);
    let config = switchyard_config::load_str(yaml, &env).expect("config");
    let engine = switchyard_core::Engine::new(config).expect("engine");
    switchyard_server::app(switchyard_server::AppState::new(engine))
}

/// Starts a simulator with `sim_config` and a gateway with `yaml` (may use `${SIM}` for the
/// simulator's base URL; every provider is also configured from the environment).
pub async fn start_with(yaml: &str, sim_config: SimConfig) -> Harness {
    start_with_env(yaml, sim_config, &[]).await
}

/// [`start_with`] with `extra` environment variables for the gateway.
pub async fn start_with_env(yaml: &str, sim_config: SimConfig, extra: &[(&str, &str)]) -> Harness {
    let sim = switchyard_sim::start(SocketAddr::from(([127, 0, 0, 1], 0)), sim_config)
        .await
        .expect("sim");
    let app = gateway_app_with_env(yaml, &sim, extra);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        switchyard_server::serve(listener, app, std::future::pending()).await;
    });
    Harness {
        sim,
        addr,
        client: reqwest::Client::new(),
        _server: server,
    }
}

/// Starts with a config and a recording simulator.
pub async fn start(yaml: &str) -> Harness {
    start_with(
        yaml,
        SimConfig {
            record_requests: true,
            ..SimConfig::default()
        },
    )
    .await
}

/// Reads an SSE response body into its `data:` payloads (strings), comments skipped.
pub async fn sse_data(resp: reqwest::Response) -> Vec<String> {
    let text = resp.text().await.expect("body");
    text.split("\n\n")
        .filter_map(|ev| {
            let data: Vec<&str> = ev
                .lines()
                .filter_map(|l| l.strip_prefix("data:").map(str::trim_start))
                .collect();
            (!data.is_empty()).then(|| data.join("\n"))
        })
        .collect()
}

/// For a hand-written upstream: reads a request whose small JSON body follows its head (the
/// gateway's requests end with `}`) from `conn`; false when the connection ends first.
pub async fn read_small_request(conn: &mut tokio::net::TcpStream) -> bool {
    use tokio::io::AsyncReadExt;
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") || !seen.ends_with(b"}") {
        match conn.read(&mut buf).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
    true
}

/// `GET /admin/v1/deployments`: every deployment with its live state.
pub async fn admin_deployments(h: &Harness) -> serde_json::Value {
    h.client
        .get(h.url("/admin/v1/deployments"))
        .send()
        .await
        .expect("admin request")
        .json()
        .await
        .expect("admin json")
}
