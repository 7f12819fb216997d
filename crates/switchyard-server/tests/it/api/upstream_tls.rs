//! HTTPS upstreams: with no `http2:` key the gateway offers HTTP/2 and HTTP/1.1 by ALPN and
//! uses whichever the provider picks; `http2: false` keeps HTTP/1.1; a provider's `ca_file`
//! is trusted in addition to the web roots, and nothing else is.

use serde_json::json;
use switchyard_sim::{SimConfig, SimTls};

use super::{chat_body, user, OpenAiStream};
use crate::common;

const TLS_DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../switchyard-sim/testdata/tls"
);

fn sim_tls() -> SimTls {
    SimTls::from_pem_files(
        format!("{TLS_DIR}/server.pem"),
        format!("{TLS_DIR}/server.key"),
    )
    .expect("test certificates")
}

fn yaml(extra: &str) -> String {
    format!(
        "server:\n  providers_from_env: false\nproviders:\n  - name: up\n    kind: openai\n    base_url: ${{SIM}}/v1\n    api_key: k\n{extra}models:\n  - name: m\n    deployments: [up/gpt-4o-mini]\n"
    )
}

fn with_ca(extra: &str) -> String {
    yaml(&format!("    ca_file: {TLS_DIR}/ca.pem\n{extra}"))
}

async fn start(yaml: &str, tls: SimTls) -> common::Harness {
    common::start_with(
        yaml,
        SimConfig {
            record_requests: true,
            tls: Some(tls),
            ..SimConfig::default()
        },
    )
    .await
}

async fn chat(h: &common::Harness, text: &str) -> reqwest::Response {
    h.post(
        "/v1/chat/completions",
        chat_body("m", user(&format!("echo: {text}")), json!({})),
    )
    .await
}

fn versions(h: &common::Harness) -> Vec<String> {
    h.sim
        .requests("gpt-4o-mini")
        .into_iter()
        .map(|r| r.version)
        .collect()
}

/// The default negotiates HTTP/2 with an HTTPS provider that offers it; plain and streamed
/// replies are intact.
#[tokio::test]
async fn default_config_speaks_http2_to_an_https_provider_that_offers_it() {
    let h = start(&with_ca(""), sim_tls()).await;
    assert!(h.sim.base_url().starts_with("https://"));
    let resp = chat(&h, "over tls").await;
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["choices"][0]["message"]["content"], "over tls");
    let resp = h
        .post(
            "/v1/chat/completions",
            chat_body(
                "m",
                user("echo: streamed over tls"),
                json!({"stream": true}),
            ),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let s = OpenAiStream::read(resp).await;
    assert!(s.done);
    assert_eq!(s.text(), "streamed over tls");
    assert_eq!(versions(&h), ["HTTP/2.0", "HTTP/2.0"]);
}

/// A provider that answers ALPN with HTTP/1.1 only is served over HTTP/1.1, from the first
/// request on.
#[tokio::test]
async fn default_config_falls_back_to_http1_when_the_provider_offers_only_that() {
    let h = start(&with_ca(""), sim_tls().http1_only()).await;
    for text in ["first", "second", "third"] {
        let resp = chat(&h, text).await;
        assert_eq!(resp.status(), 200, "{text}");
        let body: serde_json::Value = resp.json().await.expect("json");
        assert_eq!(body["choices"][0]["message"]["content"], text);
    }
    assert_eq!(versions(&h), ["HTTP/1.1", "HTTP/1.1", "HTTP/1.1"]);
}

/// `http2: false` keeps HTTP/1.1 although the provider offers HTTP/2; `http2: true` insists
/// on HTTP/2 and says so when the provider does not offer it.
#[tokio::test]
async fn http2_key_forces_the_version() {
    let h = start(&with_ca("    http2: false\n"), sim_tls()).await;
    assert_eq!(chat(&h, "one").await.status(), 200);
    assert_eq!(versions(&h), ["HTTP/1.1"]);

    let h = start(&with_ca("    http2: true\n"), sim_tls().http1_only()).await;
    let resp = chat(&h, "one").await;
    assert_eq!(resp.status(), 502);
    let body: serde_json::Value = resp.json().await.expect("json");
    let msg = body["error"]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("HTTP/2"), "{body}");
    assert_eq!(h.sim.request_count("gpt-4o-mini"), 0);
}

/// Without the provider's `ca_file` the simulator's private CA is not trusted: the call fails
/// with a clear upstream error, and no request reaches the provider.
#[tokio::test]
async fn an_unknown_certificate_authority_is_refused() {
    let h = start(&yaml(""), sim_tls()).await;
    let resp = chat(&h, "hello").await;
    assert_eq!(resp.status(), 502);
    let body: serde_json::Value = resp.json().await.expect("json");
    let msg = body["error"]["message"].as_str().unwrap_or_default();
    assert!(msg.to_lowercase().contains("certificate"), "{body}");
    assert_eq!(h.sim.request_count("gpt-4o-mini"), 0);
}

/// Over HTTP/2 a broken upstream stream (the simulator resets it) and a silent one both end
/// the client's stream with one error event and no `[DONE]`; neither disturbs the shared
/// connection, so the next request on it is served.
#[tokio::test]
async fn broken_and_stalled_http2_streams_end_with_an_error_event() {
    let h = start(&with_ca("    timeouts:\n      idle: 300ms\n"), sim_tls()).await;
    for (directive, kind) in [
        ("[[sim:drop_after=2]]", "upstream_error"),
        ("[[sim:stall_after=2]]", "timeout_error"),
    ] {
        let resp = h
            .post(
                "/v1/chat/completions",
                chat_body(
                    "m",
                    user(&format!("{directive} go")),
                    json!({"stream": true}),
                ),
            )
            .await;
        let s = tokio::time::timeout(std::time::Duration::from_secs(5), OpenAiStream::read(resp))
            .await
            .expect("the stream was never ended");
        assert!(!s.done, "{directive}: {:?}", s.data);
        assert!(!s.text().is_empty(), "{directive}: {:?}", s.data);
        let last = s.chunks.last().expect("chunks");
        assert_eq!(
            super::openai_error(last)["type"],
            kind,
            "{directive}: {last}"
        );
    }
    let resp = chat(&h, "still served").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(versions(&h), ["HTTP/2.0", "HTTP/2.0", "HTTP/2.0"]);
}

/// Clients that leave mid-stream cancel their HTTP/2 upstream stream: the deployment's
/// in-flight count returns to zero, and after more disconnects than one connection has slots
/// streams are still served.
#[tokio::test]
async fn client_disconnects_release_http2_streams() {
    let h = common::start_with(
        &with_ca(""),
        SimConfig {
            tls: Some(sim_tls()),
            chunk_interval: std::time::Duration::from_millis(50),
            ..SimConfig::default()
        },
    )
    .await;
    let limit = switchyard_core::h2pool::MAX_STREAMS_PER_CONNECTION;
    for _ in 0..(limit + 20) {
        let mut resp = h
            .post(
                "/v1/chat/completions",
                chat_body(
                    "m",
                    user("[[sim:chunks=100]] talk slowly"),
                    json!({"stream": true}),
                ),
            )
            .await;
        assert_eq!(resp.status(), 200);
        let first = resp.chunk().await.expect("read").expect("a first chunk");
        assert!(!first.is_empty());
        drop(resp);
    }
    let mut n = u64::MAX;
    for _ in 0..100 {
        let state = crate::resilience::support::deployment_state(&h, "up/gpt-4o-mini").await;
        n = state["in_flight"]
            .as_u64()
            .unwrap_or_else(|| panic!("no in_flight: {state}"));
        if n == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(n, 0, "in-flight did not return to 0 after the clients left");
    let resp = h
        .post(
            "/v1/chat/completions",
            chat_body(
                "m",
                user("echo: after the disconnects"),
                json!({"stream": true}),
            ),
        )
        .await;
    let s = OpenAiStream::read(resp).await;
    assert!(s.done);
    assert_eq!(s.text(), "after the disconnects");
}
