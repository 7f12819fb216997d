//! Same-format requests pass through untouched: what the client sent reaches the upstream,
//! and what the upstream answered reaches the client.

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::{header, json_of, OpenAiStream};
use crate::common;

async fn post_raw(h: &common::Harness, path: &str, body: &str) -> reqwest::Response {
    h.client
        .post(h.url(path))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("send")
}

/// An unknown (future) field and the exact bytes of every value reach an OpenAI-dialect
/// upstream; only the model is rewritten.
async fn unknown_field_reaches_upstream(provider: &str, model: &str) {
    let h = common::start("").await;
    let client_body = format!(
        r#"{{"model":"{provider}/{model}","messages":[{{"role":"user","content":"hi \u00e9\u4e16"}}],"temperature":0.70,"future_knob":{{"nested":[1,2.50,"x",null],"flag":true}},"top_p":1e0}}"#
    );
    let resp = post_raw(&h, "/v1/chat/completions", &client_body).await;
    let (status, _, body) = json_of(resp).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let seen = h.sim.requests(model);
    assert_eq!(seen.len(), 1);
    let upstream = std::str::from_utf8(&seen[0].body).expect("utf-8");
    let expected = client_body.replace(
        &format!(r#""model":"{provider}/{model}""#),
        &format!(r#""model":"{model}""#),
    );
    assert_eq!(upstream, expected);
}

#[tokio::test]
async fn unknown_field_reaches_openai_byte_identical() {
    unknown_field_reaches_upstream("openai", "gpt-4o-mini").await;
}

#[tokio::test]
async fn unknown_field_reaches_xai_byte_identical() {
    unknown_field_reaches_upstream("xai", "grok-4").await;
}

#[tokio::test]
async fn unknown_field_reaches_azure_byte_identical() {
    let h = common::start(super::AZURE_YAML).await;
    let client_body = r#"{"model":"azure/my-gpt4o","messages":[{"role":"user","content":"hi"}],"future_knob":{"a":[1,2.50]}}"#;
    let resp = post_raw(&h, "/v1/chat/completions", client_body).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let seen = h.sim.requests("my-gpt4o");
    assert_eq!(seen.len(), 1);
    assert_eq!(
        std::str::from_utf8(&seen[0].body).expect("utf-8"),
        client_body.replace("azure/my-gpt4o", "my-gpt4o")
    );
    assert!(
        seen[0].path.contains("api-version=2024-10-21"),
        "{}",
        seen[0].path
    );
    assert!(
        seen[0]
            .headers
            .iter()
            .any(|(k, v)| k == "api-key" && v == "az-test-key"),
        "{:?}",
        seen[0].headers
    );
}

/// Replaces every `"id":"…"` value with `"id":"_"` (ids come from a per-instance counter).
fn blank_ids(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(r#""id":""#) {
        let (head, tail) = rest.split_at(i + 6);
        out.push_str(head);
        let end = tail.find('"').expect("closing quote");
        out.push('_');
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

const THINKING_REQUEST: &str = r#"{"model":"MODEL","max_tokens":2048,"thinking":{"type":"enabled","budget_tokens":1024},"messages":[{"role":"user","content":"think about this"}]}"#;

/// `/v1/messages` to an Anthropic upstream: the response is the upstream's bytes, thinking
/// blocks and signatures included.
#[tokio::test]
async fn anthropic_thinking_blocks_pass_byte_for_byte() {
    let h = common::start("").await;
    let direct = h
        .client
        .post(format!("{}/v1/messages", h.sim.base_url()))
        .header("x-api-key", "sk-test")
        .header("anthropic-version", "2023-06-01")
        .header("content-type", "application/json")
        .body(THINKING_REQUEST.replace("MODEL", "claude-sonnet-4-5"))
        .send()
        .await
        .expect("direct");
    assert_eq!(direct.status(), StatusCode::OK);
    let direct = direct.text().await.expect("body");
    let v: Value = serde_json::from_str(&direct).expect("json");
    assert_eq!(v["content"][0]["type"], "thinking", "{direct}");
    assert!(v["content"][0]["signature"]
        .as_str()
        .is_some_and(|s| !s.is_empty()));

    let via = post_raw(
        &h,
        "/v1/messages",
        &THINKING_REQUEST.replace("MODEL", "anthropic/claude-sonnet-4-5"),
    )
    .await;
    assert_eq!(via.status(), StatusCode::OK);
    assert_eq!(header(via.headers(), "x-switchyard-provider"), "anthropic");
    let via = via.text().await.expect("body");
    assert_eq!(blank_ids(&via), blank_ids(&direct));
}

/// Same for the stream: every event, including `signature_delta`, as the upstream sent it.
#[tokio::test]
async fn anthropic_thinking_stream_passes_byte_for_byte() {
    let h = common::start("").await;
    let body = THINKING_REQUEST.replace(r#""max_tokens""#, r#""stream":true,"max_tokens""#);
    let direct = h
        .client
        .post(format!("{}/v1/messages", h.sim.base_url()))
        .header("x-api-key", "sk-test")
        .header("anthropic-version", "2023-06-01")
        .header("content-type", "application/json")
        .body(body.replace("MODEL", "claude-sonnet-4-5"))
        .send()
        .await
        .expect("direct")
        .text()
        .await
        .expect("body");
    assert!(direct.contains("signature_delta"), "{direct}");
    let via = post_raw(
        &h,
        "/v1/messages",
        &body.replace("MODEL", "anthropic/claude-sonnet-4-5"),
    )
    .await;
    assert_eq!(via.status(), StatusCode::OK);
    let via = via.text().await.expect("body");
    assert_eq!(blank_ids(&via), blank_ids(&direct));
}

/// The gateway asks the upstream for stream usage (to account for it) but a client that did
/// not ask sees no usage chunk, and the stream still ends with `[DONE]`.
#[tokio::test]
async fn injected_stream_usage_is_invisible() {
    let h = common::start("").await;
    let resp = h
        .post(
            "/v1/chat/completions",
            json!({"model": "openai/gpt-4o-mini", "stream": true,
                "messages": [{"role": "user", "content": "echo: a b c"}]}),
        )
        .await;
    let s = OpenAiStream::read(resp).await;
    assert!(s.done);
    assert_eq!(s.text(), "a b c");
    assert!(s.usage_chunks().is_empty(), "{:?}", s.data);
    let seen = h.sim.requests("gpt-4o-mini");
    let upstream: Value = serde_json::from_slice(&seen[0].body).expect("json");
    assert_eq!(
        upstream["stream_options"]["include_usage"], true,
        "the gateway should ask for usage: {upstream}"
    );
}

/// The client's own `stream_options` is forwarded untouched when it asked for usage.
#[tokio::test]
async fn client_stream_options_forwarded() {
    let h = common::start("").await;
    let body = r#"{"model":"openai/gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}"#;
    let resp = post_raw(&h, "/v1/chat/completions", body).await;
    let s = OpenAiStream::read(resp).await;
    assert_eq!(s.usage_only_chunks().len(), 1, "{:?}", s.data);
    let seen = h.sim.requests("gpt-4o-mini");
    assert_eq!(
        std::str::from_utf8(&seen[0].body).expect("utf-8"),
        body.replace("openai/gpt-4o-mini", "gpt-4o-mini")
    );
}
