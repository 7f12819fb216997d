//! Providers configured with `http2: true` are called over HTTP/2 (prior knowledge on
//! `http://`), and many concurrent streams share a few connections without queueing behind
//! one connection's stream limit.

use std::time::Duration;

use serde_json::json;
use switchyard_sim::SimConfig;

use super::{chat_body, user, OpenAiStream};
use crate::common;

fn yaml(http2: bool) -> String {
    format!(
        "server:\n  providers_from_env: false\nproviders:\n  - name: up\n    kind: openai\n    base_url: ${{SIM}}/v1\n    api_key: k\n    http2: {http2}\nmodels:\n  - name: m\n    deployments: [up/gpt-4o-mini]\n"
    )
}

/// The upstream sees HTTP/2 when the provider asks for it, HTTP/1.1 otherwise, and the reply
/// is the same.
#[tokio::test]
async fn http2_is_used_only_where_configured() {
    for (http2, version) in [(true, "HTTP/2.0"), (false, "HTTP/1.1")] {
        let h = common::start(&yaml(http2)).await;
        let resp = h
            .post(
                "/v1/chat/completions",
                chat_body("m", user("echo: hello there"), json!({})),
            )
            .await;
        assert_eq!(resp.status(), 200);
        let body: serde_json::Value = resp.json().await.expect("json");
        assert_eq!(body["choices"][0]["message"]["content"], "hello there");
        let seen = h.sim.requests("gpt-4o-mini");
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].version, version, "http2: {http2}");
        if !http2 {
            // One `Host`, with the port (prebuilt per deployment, not formatted per request).
            let hosts: Vec<&str> = seen[0]
                .headers
                .iter()
                .filter(|(k, _)| k == "host")
                .map(|(_, v)| v.as_str())
                .collect();
            assert_eq!(hosts, [h.sim.addr().to_string().as_str()]);
        }
    }
}

/// 250 streams open at once (more than two connections' worth of the pool's 100 per
/// connection) all complete with their whole text.
#[tokio::test]
async fn many_concurrent_streams_over_http2_all_complete() {
    let h = common::start_with(
        &yaml(true),
        SimConfig {
            chunk_interval: Duration::from_millis(20),
            chunks: 5,
            ..SimConfig::default()
        },
    )
    .await;
    let h = std::sync::Arc::new(h);
    let mut tasks = Vec::new();
    for i in 0..250 {
        let h = std::sync::Arc::clone(&h);
        tasks.push(tokio::spawn(async move {
            let text = format!("echo: stream {i} says hello");
            let resp = h
                .post(
                    "/v1/chat/completions",
                    chat_body("m", user(&text), json!({"stream": true})),
                )
                .await;
            assert_eq!(resp.status(), 200);
            let s = OpenAiStream::read(resp).await;
            assert!(s.done, "stream {i} has no [DONE]");
            assert_eq!(s.text(), format!("stream {i} says hello"));
        }));
    }
    let all = tokio::time::timeout(
        Duration::from_secs(20),
        futures_util::future::join_all(tasks),
    )
    .await
    .expect("250 streams finish in time");
    for r in all {
        r.expect("stream task");
    }
}
