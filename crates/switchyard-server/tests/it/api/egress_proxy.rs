//! Upstream calls through an egress proxy from the environment (`HTTPS_PROXY`, `HTTP_PROXY`,
//! `NO_PROXY`): tunnelled with `CONNECT`, credentials sent to the proxy, loopback never
//! proxied, and a proxy that is down named in the error.
//!
//! Loopback destinations bypass the proxy, so the provider is addressed as `upstream.test`
//! (a name in the simulator's test certificate), which only the test proxy resolves: to the
//! simulator.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use serde_json::json;
use switchyard_sim::{SimConfig, SimTls};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use super::{chat_body, user};
use crate::common;

const TLS_DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../switchyard-sim/testdata/tls"
);

/// What the proxy saw of one tunnel: the CONNECT target and its `Proxy-Authorization`.
#[derive(Debug, Clone)]
struct Tunnelled {
    target: String,
    auth: Option<String>,
}

/// A minimal HTTP CONNECT proxy that records each tunnel.
async fn connect_proxy() -> (SocketAddr, Arc<Mutex<Vec<Tunnelled>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                let mut client = BufReader::new(client);
                let mut line = String::new();
                client.read_line(&mut line).await.expect("request line");
                let target = line
                    .strip_prefix("CONNECT ")
                    .and_then(|r| r.split(' ').next())
                    .expect("a CONNECT request")
                    .to_owned();
                let mut auth = None;
                loop {
                    let mut header = String::new();
                    client.read_line(&mut header).await.expect("header");
                    if header.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = header.split_once(':') {
                        if k.eq_ignore_ascii_case("proxy-authorization") {
                            auth = Some(v.trim().to_owned());
                        }
                    }
                }
                log.lock().expect("log").push(Tunnelled {
                    target: target.clone(),
                    auth,
                });
                let dial = target.replace("upstream.test", "127.0.0.1");
                let mut upstream = tokio::net::TcpStream::connect(&dial).await.expect("target");
                let mut client = client.into_inner();
                client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await
                    .expect("reply");
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    (addr, seen)
}

/// A provider at `upstream.test` on the simulator's port, trusting the test CA when `tls`.
fn yaml(tls: bool) -> String {
    let (scheme, ca) = if tls {
        ("https", format!("    ca_file: {TLS_DIR}/ca.pem\n"))
    } else {
        ("http", String::new())
    };
    format!(
        "server:\n  providers_from_env: false\nproviders:\n  - name: up\n    kind: openai\n    base_url: {scheme}://upstream.test:${{SIM_PORT}}/v1\n    api_key: k\n{ca}models:\n  - name: m\n    deployments: [up/gpt-4o-mini]\n"
    )
}

fn tls_sim() -> SimConfig {
    SimConfig {
        record_requests: true,
        tls: Some(
            SimTls::from_pem_files(
                format!("{TLS_DIR}/server.pem"),
                format!("{TLS_DIR}/server.key"),
            )
            .expect("test certificates"),
        ),
        ..SimConfig::default()
    }
}

async fn chat(h: &common::Harness) -> reqwest::Response {
    h.post(
        "/v1/chat/completions",
        chat_body("m", user("echo: via the proxy"), json!({})),
    )
    .await
}

/// `HTTPS_PROXY` with credentials: the provider is reached through a CONNECT tunnel (TLS and
/// HTTP/2 end to end inside it), and the proxy gets the credentials as Basic auth.
#[tokio::test]
async fn https_upstreams_go_through_the_proxy() {
    let (proxy, seen) = connect_proxy().await;
    let url = format!("http://alice:s3cret@{proxy}");
    let h = common::start_with_env(&yaml(true), tls_sim(), &[("HTTPS_PROXY", &url)]).await;
    let resp = chat(&h).await;
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["choices"][0]["message"]["content"], "via the proxy");
    let seen = seen.lock().expect("log").clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(
        seen[0].target,
        format!("upstream.test:{}", h.sim.addr().port())
    );
    // base64("alice:s3cret")
    assert_eq!(seen[0].auth.as_deref(), Some("Basic YWxpY2U6czNjcmV0"));
    let versions: Vec<String> = h
        .sim
        .requests("gpt-4o-mini")
        .into_iter()
        .map(|r| r.version)
        .collect();
    assert_eq!(versions, ["HTTP/2.0"]);
}

/// Loopback destinations are never proxied (`NO_PROXY` matching is tested in the core
/// crate); `HTTP_PROXY` covers `http://` upstreams.
#[tokio::test]
async fn loopback_is_reached_directly_and_http_proxy_covers_http() {
    let (proxy, seen) = connect_proxy().await;
    let url = format!("http://{proxy}");
    let h = common::start_with_env(
        &yaml(true).replace("upstream.test", "127.0.0.1"),
        tls_sim(),
        &[("HTTPS_PROXY", &url)],
    )
    .await;
    assert_eq!(chat(&h).await.status(), 200);
    assert!(
        seen.lock().expect("log").is_empty(),
        "loopback went through the proxy"
    );

    let h =
        common::start_with_env(&yaml(false), SimConfig::default(), &[("HTTP_PROXY", &url)]).await;
    assert_eq!(chat(&h).await.status(), 200);
    let seen = seen.lock().expect("log").clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(
        seen[0].target,
        format!("upstream.test:{}", h.sim.addr().port())
    );
}

/// A proxy that cannot be reached fails the call with an error that names the proxy.
#[tokio::test]
async fn an_unreachable_proxy_is_named_in_the_error() {
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    let h = common::start_with_env(&yaml(true), tls_sim(), &[("HTTPS_PROXY", &url)]).await;
    let resp = chat(&h).await;
    assert_eq!(resp.status(), 502);
    let body: serde_json::Value = resp.json().await.expect("json");
    let msg = body["error"]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("egress proxy"), "{body}");
    assert!(!msg.contains("s3cret"));
    assert_eq!(h.sim.request_count("gpt-4o-mini"), 0);
}
