//! Deadlines: a provider that does not answer in time is a 504, promptly.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use tokio::time::Instant;

use super::{chat_body, header, json_of, openai_error, user};
use crate::common;

async fn assert_504(resp: reqwest::Response, started: Instant) {
    let (status, headers, body) = json_of(resp).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT, "{body}");
    let e = openai_error(&body);
    assert_eq!(e["type"], "timeout_error", "{body}");
    assert_eq!(header(&headers, "x-switchyard-error"), "upstream_timeout");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn hanging_provider_with_timeout_header_is_504() {
    let h = common::start("").await;
    let t = Instant::now();
    let resp = h
        .client
        .post(h.url("/v1/chat/completions"))
        .header("x-switchyard-timeout", "300ms")
        .json(&chat_body(
            "openai/gpt-4o-mini",
            user("[[sim:hang]] hi"),
            json!({}),
        ))
        .send()
        .await
        .expect("send");
    assert_504(resp, t).await;
    assert!(t.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn hanging_stream_with_timeout_header_is_504() {
    let h = common::start("").await;
    let t = Instant::now();
    let resp = h
        .client
        .post(h.url("/v1/chat/completions"))
        .header("x-switchyard-timeout", "300")
        .json(&chat_body(
            "anthropic/claude-sonnet-4-5",
            user("[[sim:hang]] hi"),
            json!({"stream": true}),
        ))
        .send()
        .await
        .expect("send");
    assert_504(resp, t).await;
}

#[tokio::test]
async fn first_byte_timeout_from_config_is_504() {
    let h = common::start(
        r#"
providers:
  - name: openai
    kind: openai
    base_url: ${SIM}/v1
    api_key: sk-test
    timeouts:
      first_byte: 200ms
      total: 1s
"#,
    )
    .await;
    let t = Instant::now();
    let resp = h
        .post(
            "/v1/chat/completions",
            chat_body("openai/gpt-4o-mini", user("[[sim:hang]] hi"), json!({})),
        )
        .await;
    assert_504(resp, t).await;
}

#[tokio::test]
async fn first_byte_timeout_header_is_504() {
    let h = common::start("").await;
    let t = Instant::now();
    let resp = h
        .client
        .post(h.url("/v1/chat/completions"))
        .header("x-switchyard-first-byte-timeout", "200ms")
        .header("x-switchyard-timeout", "1s")
        .json(&chat_body(
            "gemini/gemini-2.5-flash",
            user("[[sim:hang]] hi"),
            json!({}),
        ))
        .send()
        .await
        .expect("send");
    assert_504(resp, t).await;
}

/// A slow but answering provider within the deadline is served normally.
#[tokio::test]
async fn slow_provider_within_deadline_is_served() {
    let h = common::start("").await;
    let resp = h
        .client
        .post(h.url("/v1/chat/completions"))
        .header("x-switchyard-timeout", "2s")
        .json(&chat_body(
            "openai/gpt-4o-mini",
            user("[[sim:latency_ms=100]] late but fine"),
            json!({}),
        ))
        .send()
        .await
        .expect("send");
    let (status, headers, body) = json_of(resp).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["choices"][0]["message"]["content"]
        .as_str()
        .is_some_and(|c| !c.is_empty()));
    let upstream: f64 = header(&headers, "x-switchyard-upstream-latency-ms")
        .parse()
        .expect("latency");
    assert!(upstream >= 100.0, "upstream latency {upstream}ms");
}
