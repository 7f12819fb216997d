//! `POST /v1/messages` (the Anthropic API) served by any provider, with Anthropic-shaped
//! responses, streams and errors.

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::{anthropic_error, header, json_of, sse_events};
use crate::common;

fn messages_body(model: &str, text: &str, extra: Value) -> Value {
    let mut body = json!({"model": model, "max_tokens": 256,
        "messages": [{"role": "user", "content": text}]});
    if let Value::Object(m) = extra {
        for (k, v) in m {
            body[k] = v;
        }
    }
    body
}

async fn non_stream(model: &str, provider: &str) {
    let h = common::start("").await;
    let resp = h
        .post(
            "/v1/messages",
            messages_body(model, "echo: hello anthropic client", json!({})),
        )
        .await;
    let (status, headers, body) = json_of(resp).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(header(&headers, "x-switchyard-provider"), provider);
    assert_eq!(body["type"], "message", "{body}");
    assert_eq!(body["role"], "assistant", "{body}");
    assert!(body["id"].as_str().is_some_and(|s| !s.is_empty()), "{body}");
    assert_eq!(body["content"][0]["type"], "text", "{body}");
    assert_eq!(
        body["content"][0]["text"], "hello anthropic client",
        "{body}"
    );
    assert_eq!(body["stop_reason"], "end_turn", "{body}");
    assert!(
        body["usage"]["input_tokens"]
            .as_u64()
            .is_some_and(|n| n > 0),
        "{body}"
    );
    assert_eq!(body["usage"]["output_tokens"], 3, "{body}");
}

#[tokio::test]
async fn messages_to_openai() {
    non_stream("openai/gpt-4o-mini", "openai").await;
}

#[tokio::test]
async fn messages_to_gemini() {
    non_stream("gemini/gemini-2.5-flash", "gemini").await;
}

#[tokio::test]
async fn messages_to_anthropic() {
    non_stream("anthropic/claude-sonnet-4-5", "anthropic").await;
}

/// The stream follows Anthropic's event grammar: `message_start`, then blocks
/// (`content_block_start`, deltas, `content_block_stop`), `message_delta` with the stop
/// reason, `message_stop`; every event's name matches its data's `type`.
async fn stream(model: &str) {
    stream_with(model, "").await;
}

async fn stream_with(model: &str, yaml: &str) {
    let h = common::start(yaml).await;
    let resp = h
        .post(
            "/v1/messages",
            messages_body(
                model,
                "echo: streamed to an anthropic client",
                json!({"stream": true}),
            ),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(header(resp.headers(), "content-type").starts_with("text/event-stream"));
    let events = sse_events(resp).await;
    let mut names = Vec::new();
    let mut text = String::new();
    let mut stop_reason = None;
    for (name, data) in &events {
        let name = name
            .clone()
            .unwrap_or_else(|| panic!("event without name: {events:?}"));
        let v: Value = serde_json::from_str(data).unwrap_or_else(|e| panic!("{e}: {data}"));
        assert_eq!(v["type"], name.as_str(), "{data}");
        if name == "content_block_delta" && v["delta"]["type"] == "text_delta" {
            text.push_str(v["delta"]["text"].as_str().expect("text"));
        }
        if name == "message_delta" {
            stop_reason = v["delta"]["stop_reason"].as_str().map(str::to_owned);
            assert!(
                v["usage"]["output_tokens"].as_u64().is_some_and(|n| n > 0),
                "{data}"
            );
        }
        if name != "ping" {
            names.push(name);
        }
    }
    assert_eq!(
        names.first().map(String::as_str),
        Some("message_start"),
        "{names:?}"
    );
    assert_eq!(
        names.last().map(String::as_str),
        Some("message_stop"),
        "{names:?}"
    );
    assert_eq!(names[names.len() - 2], "message_delta", "{names:?}");
    assert_eq!(names[1], "content_block_start", "{names:?}");
    assert_eq!(names[names.len() - 3], "content_block_stop", "{names:?}");
    assert!(
        names[2..names.len() - 3]
            .iter()
            .all(|n| n == "content_block_delta"),
        "{names:?}"
    );
    assert_eq!(text, "streamed to an anthropic client");
    assert_eq!(stop_reason.as_deref(), Some("end_turn"));
}

#[tokio::test]
async fn messages_stream_from_openai() {
    stream("openai/gpt-4o-mini").await;
}

#[tokio::test]
async fn messages_stream_from_gemini() {
    stream("gemini/gemini-2.5-flash").await;
}

#[tokio::test]
async fn messages_stream_from_azure() {
    stream_with("azure/my-gpt4o", super::AZURE_YAML).await;
}

#[tokio::test]
async fn messages_stream_from_anthropic() {
    stream("anthropic/claude-sonnet-4-5").await;
}

/// Tool use through `/v1/messages` to an OpenAI upstream comes back as `tool_use` blocks.
#[tokio::test]
async fn messages_tool_use_from_openai() {
    let h = common::start("").await;
    let resp = h
        .post(
            "/v1/messages",
            messages_body(
                "openai/gpt-4o-mini",
                "weather in Paris?",
                json!({"tools": [{"name": "get_weather", "description": "weather",
                    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}},
                        "required": ["city"]}}]}),
            ),
        )
        .await;
    let (status, _, body) = json_of(resp).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["stop_reason"], "tool_use", "{body}");
    let block = body["content"]
        .as_array()
        .and_then(|c| c.iter().find(|b| b["type"] == "tool_use"))
        .unwrap_or_else(|| panic!("no tool_use block: {body}"));
    assert_eq!(block["name"], "get_weather");
    assert_eq!(block["input"], json!({"city": "sample"}));
    assert!(block["id"].as_str().is_some_and(|s| !s.is_empty()));
}

#[tokio::test]
async fn messages_malformed_json_is_anthropic_400() {
    let h = common::start("").await;
    let resp = h
        .client
        .post(h.url("/v1/messages"))
        .header("content-type", "application/json")
        .body("{\"model\": ")
        .send()
        .await
        .expect("send");
    let (status, _, body) = json_of(resp).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(anthropic_error(&body).0, "invalid_request_error");
}

#[tokio::test]
async fn messages_missing_max_tokens_is_anthropic_400() {
    let h = common::start("").await;
    let resp = h
        .post(
            "/v1/messages",
            json!({"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    let (status, _, body) = json_of(resp).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (kind, message) = anthropic_error(&body);
    assert_eq!(kind, "invalid_request_error");
    assert!(message.contains("max_tokens"), "{message}");
    assert_eq!(h.sim.request_count("gpt-4o-mini"), 0);
}

#[tokio::test]
async fn messages_unknown_model_is_anthropic_404() {
    let h = common::start("").await;
    let resp = h
        .post(
            "/v1/messages",
            messages_body("cluade-sonnet-4-5", "hi", json!({})),
        )
        .await;
    let (status, _, body) = json_of(resp).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (kind, message) = anthropic_error(&body);
    assert_eq!(kind, "not_found_error");
    assert!(message.contains("claude-sonnet-4-5"), "{message}");
}

#[tokio::test]
async fn messages_upstream_5xx_is_anthropic_error() {
    let h = common::start("").await;
    let resp = h
        .post(
            "/v1/messages",
            messages_body("openai/gpt-4o-mini", "[[sim:status=500]] hi", json!({})),
        )
        .await;
    let (status, _, body) = json_of(resp).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    let (kind, message) = anthropic_error(&body);
    assert_eq!(kind, "api_error");
    assert!(message.contains("openai"), "{message}");
}

#[tokio::test]
async fn messages_without_key_is_anthropic_401() {
    let h = common::start("server:\n  master_key: sk-master\n").await;
    let resp = h
        .post(
            "/v1/messages",
            messages_body("openai/gpt-4o-mini", "hi", json!({})),
        )
        .await;
    let (status, _, body) = json_of(resp).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(anthropic_error(&body).0, "authentication_error");
    let ok = h
        .client
        .post(h.url("/v1/messages"))
        .header("x-api-key", "sk-master")
        .header("anthropic-version", "2023-06-01")
        .json(&messages_body("openai/gpt-4o-mini", "echo: ok", json!({})))
        .send()
        .await
        .expect("send");
    let (status, _, body) = json_of(ok).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["content"][0]["text"], "ok");
}

/// A mid-stream failure on `/v1/messages` ends with an Anthropic `error` event, not
/// `message_stop`.
#[tokio::test]
async fn messages_stream_mid_failure_ends_with_error_event() {
    let h = common::start("").await;
    let resp = h
        .post(
            "/v1/messages",
            messages_body(
                "openai/gpt-4o-mini",
                "[[sim:mid_stream_error=2]] go",
                json!({"stream": true}),
            ),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let events = sse_events(resp).await;
    let (name, data) = events.last().expect("events");
    assert_eq!(name.as_deref(), Some("error"), "{events:?}");
    let v: Value = serde_json::from_str(data).expect("json");
    anthropic_error(&v);
    assert!(
        !events
            .iter()
            .any(|(n, _)| n.as_deref() == Some("message_stop")),
        "{events:?}"
    );
}

/// Anthropic client, Anthropic upstream, failure mid-stream: the upstream's error event
/// reaches the client, and the stream does not pretend to have completed.
#[tokio::test]
async fn messages_passthrough_stream_mid_failure_ends_with_error_event() {
    let h = common::start("").await;
    let resp = h
        .post(
            "/v1/messages",
            messages_body(
                "anthropic/claude-sonnet-4-5",
                "[[sim:drop_after=2]] go",
                json!({"stream": true}),
            ),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let events = sse_events(resp).await;
    let (name, data) = events.last().expect("events");
    assert_eq!(name.as_deref(), Some("error"), "{events:?}");
    let v: Value = serde_json::from_str(data).expect("json");
    anthropic_error(&v);
    assert!(
        !events
            .iter()
            .any(|(n, _)| n.as_deref() == Some("message_stop")),
        "{events:?}"
    );
}

/// Streamed tool use from an OpenAI upstream: `input_json_delta` fragments join to the
/// arguments.
#[tokio::test]
async fn messages_tool_use_stream_from_openai() {
    let h = common::start("").await;
    let resp = h
        .post(
            "/v1/messages",
            messages_body(
                "openai/gpt-4o-mini",
                "weather in Paris?",
                json!({"stream": true, "tools": [{"name": "get_weather", "description": "weather",
                    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}},
                        "required": ["city"]}}]}),
            ),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let events = sse_events(resp).await;
    let mut json_text = String::new();
    let mut started = None;
    let mut stop_reason = None;
    for (name, data) in &events {
        let v: Value = serde_json::from_str(data).expect("json");
        match name.as_deref() {
            Some("content_block_start") if v["content_block"]["type"] == "tool_use" => {
                started = Some(v["content_block"]["name"].clone());
            }
            Some("content_block_delta") if v["delta"]["type"] == "input_json_delta" => {
                json_text.push_str(v["delta"]["partial_json"].as_str().expect("partial_json"));
            }
            Some("message_delta") => {
                stop_reason = v["delta"]["stop_reason"].as_str().map(str::to_owned)
            }
            _ => {}
        }
    }
    assert_eq!(started, Some(json!("get_weather")), "{events:?}");
    let input: Value =
        serde_json::from_str(&json_text).unwrap_or_else(|e| panic!("{e}: {json_text}"));
    assert_eq!(input, json!({"city": "sample"}));
    assert_eq!(stop_reason.as_deref(), Some("tool_use"));
    assert_eq!(
        events.last().and_then(|e| e.0.as_deref()),
        Some("message_stop")
    );
}

/// `/v1/messages` responses carry the transparency headers too.
#[tokio::test]
async fn messages_transparency_headers() {
    let h = common::start("").await;
    let resp = h
        .post(
            "/v1/messages",
            messages_body("gemini/gemini-2.5-flash", "hi", json!({})),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    super::assert_served_by(resp.headers(), "gemini", "gemini-2.5-flash");
}
