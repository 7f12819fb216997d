//! API behaviour tests (issue: foundation).
//!
//! Behaviours that every provider family must show (chat, streams, tools, images, structured
//! output) are written once as `async fn check(f: Family)` and instantiated per family with
//! [`per_family!`], in the spirit of a provider conformance suite: a failure names the
//! behaviour and the family, e.g. `api::tools::tool_call::gemini`.

use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::{self, Harness};

mod anthropic_ingress;
mod auth;
mod busy_poll;
mod chat;
mod client_conn;
mod egress_proxy;
mod embeddings;
mod errors;
mod http1;
mod http2;
mod images;
mod models;
mod passthrough;
mod shutdown;
mod stream;
mod timeouts;
mod tools;
mod upstream_tls;

/// A provider family as a client names it, and the config that enables it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Family {
    /// Provider name (the `x-switchyard-provider` header).
    pub provider: &'static str,
    /// Upstream model (the `x-switchyard-model` header).
    pub model: &'static str,
    /// Gateway config (`""`: zero-config, every provider from the environment).
    pub yaml: &'static str,
}

/// Azure needs a base URL and an API version, so it is configured in the file.
pub(crate) const AZURE_YAML: &str = r#"
providers:
  - name: azure
    kind: azure
    base_url: ${SIM}
    api_key: az-test-key
    api_version: "2024-10-21"
"#;

impl Family {
    pub(crate) const OPENAI: Self = Self::zero("openai", "gpt-4o-mini");
    pub(crate) const AZURE: Self = Self {
        provider: "azure",
        model: "my-gpt4o",
        yaml: AZURE_YAML,
    };
    pub(crate) const ANTHROPIC: Self = Self::zero("anthropic", "claude-sonnet-4-5");
    pub(crate) const GEMINI: Self = Self::zero("gemini", "gemini-2.5-flash");
    pub(crate) const DEEPSEEK: Self = Self::zero("deepseek", "deepseek-chat");
    pub(crate) const MISTRAL: Self = Self::zero("mistral", "mistral-small-latest");
    pub(crate) const DASHSCOPE: Self = Self::zero("dashscope", "qwen-plus");
    pub(crate) const GROQ: Self = Self::zero("groq", "llama-3.3-70b-versatile");
    pub(crate) const TOGETHER: Self =
        Self::zero("together", "meta-llama/Llama-3.3-70B-Instruct-Turbo");
    pub(crate) const OPENROUTER: Self = Self::zero("openrouter", "openai/gpt-4o");
    pub(crate) const XAI: Self = Self::zero("xai", "grok-4");

    const fn zero(provider: &'static str, model: &'static str) -> Self {
        Self {
            provider,
            model,
            yaml: "",
        }
    }

    /// `provider/model`, the id a client sends.
    pub(crate) fn id(&self) -> String {
        format!("{}/{}", self.provider, self.model)
    }

    /// Starts a simulator and a gateway for this family.
    pub(crate) async fn start(&self) -> Harness {
        common::start(self.yaml).await
    }
}

/// Instantiates each listed `async fn name(f: Family)` once per provider family, as a module
/// `name` holding one test per family.
macro_rules! per_family {
    ($($check:ident),* $(,)?) => {$(
        mod $check {
            use crate::api::Family;
            #[tokio::test]
            async fn openai() { super::$check(Family::OPENAI).await }
            #[tokio::test]
            async fn azure() { super::$check(Family::AZURE).await }
            #[tokio::test]
            async fn anthropic() { super::$check(Family::ANTHROPIC).await }
            #[tokio::test]
            async fn gemini() { super::$check(Family::GEMINI).await }
            #[tokio::test]
            async fn deepseek() { super::$check(Family::DEEPSEEK).await }
            #[tokio::test]
            async fn mistral() { super::$check(Family::MISTRAL).await }
            #[tokio::test]
            async fn dashscope() { super::$check(Family::DASHSCOPE).await }
            #[tokio::test]
            async fn groq() { super::$check(Family::GROQ).await }
            #[tokio::test]
            async fn together() { super::$check(Family::TOGETHER).await }
            #[tokio::test]
            async fn openrouter() { super::$check(Family::OPENROUTER).await }
            #[tokio::test]
            async fn xai() { super::$check(Family::XAI).await }
        }
    )*};
}
pub(crate) use per_family;

/// A one-message user conversation.
pub(crate) fn user(text: &str) -> Value {
    json!([{"role": "user", "content": text}])
}

/// A response's status, headers and JSON body.
pub(crate) async fn json_of(resp: reqwest::Response) -> (StatusCode, HeaderMap, Value) {
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("body");
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("body is not JSON ({e}); status {status}: {text}"));
    (status, headers, body)
}

/// A header as text, or `""` when absent.
pub(crate) fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// The transparency headers of a request served by `provider`/`model` on the first attempt.
pub(crate) fn assert_served_by(h: &HeaderMap, provider: &str, model: &str) {
    assert!(
        header(h, "x-request-id").len() >= 8,
        "x-request-id missing: {h:?}"
    );
    assert_eq!(header(h, "x-switchyard-provider"), provider, "{h:?}");
    assert_eq!(header(h, "x-switchyard-model"), model, "{h:?}");
    assert_eq!(
        header(h, "x-switchyard-deployment"),
        format!("{provider}/{model}"),
        "{h:?}"
    );
    assert_eq!(header(h, "x-switchyard-attempts"), "1", "{h:?}");
    let upstream: f64 = header(h, "x-switchyard-upstream-latency-ms")
        .parse()
        .unwrap_or_else(|_| panic!("x-switchyard-upstream-latency-ms: {h:?}"));
    assert!(upstream >= 0.0, "{h:?}");
    let overhead: u64 = header(h, "x-switchyard-overhead-us")
        .parse()
        .unwrap_or_else(|_| panic!("x-switchyard-overhead-us: {h:?}"));
    assert!(overhead < 5_000_000, "overhead {overhead}us: {h:?}");
}

/// The OpenAI error envelope with all four fields; returns the error object.
pub(crate) fn openai_error(body: &Value) -> &Value {
    let e = body
        .get("error")
        .unwrap_or_else(|| panic!("no `error` in {body}"));
    let obj = e
        .as_object()
        .unwrap_or_else(|| panic!("error is not an object: {body}"));
    for field in ["message", "type", "code", "param"] {
        assert!(obj.contains_key(field), "error lacks `{field}`: {body}");
    }
    assert!(
        e["message"].as_str().is_some_and(|m| !m.is_empty()),
        "empty message: {body}"
    );
    assert!(e["type"].is_string(), "{body}");
    e
}

/// The Anthropic error shape; returns `(type, message)`.
pub(crate) fn anthropic_error(body: &Value) -> (String, String) {
    assert_eq!(body["type"], "error", "not an Anthropic error: {body}");
    let kind = body["error"]["type"]
        .as_str()
        .unwrap_or_else(|| panic!("no error.type: {body}"))
        .to_owned();
    let message = body["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no error.message: {body}"))
        .to_owned();
    (kind, message)
}

/// A streamed OpenAI response: parsed chunks, and whether it ended with `data: [DONE]`.
#[derive(Debug)]
pub(crate) struct OpenAiStream {
    pub chunks: Vec<Value>,
    pub done: bool,
    /// Raw data payloads in order, `[DONE]` included.
    pub data: Vec<String>,
}

impl OpenAiStream {
    pub(crate) async fn read(resp: reqwest::Response) -> Self {
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(
            header(resp.headers(), "content-type").starts_with("text/event-stream"),
            "{:?}",
            resp.headers()
        );
        let data = common::sse_data(resp).await;
        let done = data.last().is_some_and(|d| d == "[DONE]");
        assert_eq!(
            data.iter().filter(|d| *d == "[DONE]").count(),
            usize::from(done),
            "[DONE] not last, or repeated: {data:?}"
        );
        let chunks = data
            .iter()
            .filter(|d| *d != "[DONE]")
            .map(|d| serde_json::from_str(d).unwrap_or_else(|e| panic!("bad chunk {d}: {e}")))
            .collect();
        Self { chunks, done, data }
    }

    /// The concatenated `delta.content`.
    pub(crate) fn text(&self) -> String {
        self.chunks
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
            .collect()
    }

    /// The last non-null finish reason.
    pub(crate) fn finish_reason(&self) -> Option<String> {
        self.chunks
            .iter()
            .rev()
            .find_map(|c| c["choices"][0]["finish_reason"].as_str())
            .map(str::to_owned)
    }

    /// Chunks carrying a non-null `usage`.
    pub(crate) fn usage_chunks(&self) -> Vec<&Value> {
        self.chunks
            .iter()
            .filter(|c| c.get("usage").is_some_and(|u| !u.is_null()))
            .collect()
    }

    /// Usage-only chunks (`choices: []` with a usage), as `include_usage` produces.
    pub(crate) fn usage_only_chunks(&self) -> Vec<&Value> {
        self.usage_chunks()
            .into_iter()
            .filter(|c| c["choices"].as_array().is_some_and(Vec::is_empty))
            .collect()
    }

    /// Streamed tool calls reassembled by index: `(id, name, arguments)`.
    pub(crate) fn tool_calls(&self) -> Vec<(String, String, String)> {
        let mut calls: Vec<(String, String, String)> = Vec::new();
        for c in &self.chunks {
            let Some(list) = c["choices"][0]["delta"]["tool_calls"].as_array() else {
                continue;
            };
            for tc in list {
                let idx = tc["index"].as_u64().expect("tool call delta without index") as usize;
                if calls.len() <= idx {
                    calls.resize(idx + 1, Default::default());
                }
                let slot = &mut calls[idx];
                if let Some(id) = tc["id"].as_str() {
                    slot.0.push_str(id);
                }
                if let Some(n) = tc["function"]["name"].as_str() {
                    slot.1.push_str(n);
                }
                if let Some(a) = tc["function"]["arguments"].as_str() {
                    slot.2.push_str(a);
                }
            }
        }
        calls
    }
}

/// Reads an SSE body into `(event name, data)` pairs, comments skipped.
pub(crate) async fn sse_events(resp: reqwest::Response) -> Vec<(Option<String>, String)> {
    let text = resp.text().await.expect("body");
    let text = text.replace("\r\n", "\n");
    text.split("\n\n")
        .filter_map(|ev| {
            let mut name = None;
            let mut data = Vec::new();
            for line in ev.lines() {
                if let Some(n) = line.strip_prefix("event:") {
                    name = Some(n.trim().to_owned());
                } else if let Some(d) = line.strip_prefix("data:") {
                    data.push(d.trim_start());
                }
            }
            (name.is_some() || !data.is_empty()).then(|| (name, data.join("\n")))
        })
        .collect()
}

/// Standard base64 decoding (embeddings' `encoding_format: base64`).
pub(crate) fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let bytes: Vec<u8> = s.bytes().filter(|b| *b != b'=').collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for group in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, b) in group.iter().enumerate() {
            n |= val(*b) << (18 - 6 * i);
        }
        let take = group.len() - 1;
        out.extend_from_slice(&n.to_be_bytes()[1..=take]);
    }
    out
}

/// A chat request body for `model` with `messages`, plus `extra` top-level fields.
/// A configured group `chat` over one OpenAI deployment, so its state shows in the admin API.
pub(crate) const GROUP_YAML: &str = r#"
models:
  - name: chat
    deployments:
      - openai/gpt-4o-mini
"#;

/// Requests in flight at the deployment of the configured group `chat`, from the admin API.
pub(crate) async fn in_flight(h: &Harness) -> u64 {
    let v = crate::common::admin_deployments(h).await;
    let d = v["deployments"]
        .as_array()
        .and_then(|a| a.iter().find(|d| d["group"] == "chat"))
        .unwrap_or_else(|| panic!("no deployment of `chat`: {v}"));
    d["state"]["in_flight"]
        .as_u64()
        .unwrap_or_else(|| panic!("no in_flight: {v}"))
}

/// Waits up to two seconds for [`in_flight`] to read `want`; what it read last.
pub(crate) async fn in_flight_settles(h: &Harness, want: u64) -> u64 {
    let mut n = in_flight(h).await;
    for _ in 0..100 {
        if n == want {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        n = in_flight(h).await;
    }
    n
}

pub(crate) fn chat_body(model: &str, messages: Value, extra: Value) -> Value {
    let mut body = json!({"model": model, "messages": messages});
    if let Value::Object(m) = extra {
        for (k, v) in m {
            body[k] = v;
        }
    }
    body
}
