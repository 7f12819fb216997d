//! `POST /v1/chat/completions`, non-streaming, for every provider family.

use reqwest::StatusCode;
use serde_json::json;

use super::{assert_served_by, chat_body, json_of, per_family, user, Family};

per_family!(chat_non_stream, chat_max_tokens_length);

/// The sim answers `echo: <text>` with `<text>`: the content that reaches the client must be
/// exactly that, with the OpenAI completion shape, usage and transparency headers.
async fn chat_non_stream(f: Family) {
    let h = f.start().await;
    let resp = h
        .post(
            "/v1/chat/completions",
            chat_body(&f.id(), user("echo: the quick brown fox"), json!({})),
        )
        .await;
    let (status, headers, body) = json_of(resp).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_served_by(&headers, f.provider, f.model);
    assert_eq!(
        super::header(&headers, "content-type"),
        "application/json",
        "{headers:?}"
    );
    assert_eq!(body["object"], "chat.completion", "{body}");
    assert!(body["id"].as_str().is_some_and(|s| !s.is_empty()), "{body}");
    assert!(body["created"].as_u64().is_some_and(|c| c > 0), "{body}");
    let choice = &body["choices"][0];
    assert_eq!(choice["index"], 0, "{body}");
    assert_eq!(choice["message"]["role"], "assistant", "{body}");
    assert_eq!(
        choice["message"]["content"], "the quick brown fox",
        "{body}"
    );
    assert_eq!(choice["finish_reason"], "stop", "{body}");
    let usage = &body["usage"];
    let p = usage["prompt_tokens"].as_u64().expect("prompt_tokens");
    let c = usage["completion_tokens"]
        .as_u64()
        .expect("completion_tokens");
    assert!(p > 0 && c > 0, "{body}");
    assert_eq!(usage["total_tokens"].as_u64(), Some(p + c), "{body}");
    assert_eq!(h.sim.request_count(f.model), 1);
}

/// A token cap reaches the provider (in its own dialect) and the truncation comes back as
/// `finish_reason: length`.
async fn chat_max_tokens_length(f: Family) {
    let h = f.start().await;
    let resp = h
        .post(
            "/v1/chat/completions",
            chat_body(
                &f.id(),
                user("tell me a long story"),
                json!({"max_tokens": 3}),
            ),
        )
        .await;
    let (status, _, body) = json_of(resp).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["choices"][0]["finish_reason"], "length", "{body}");
    let text = body["choices"][0]["message"]["content"]
        .as_str()
        .expect("content");
    assert_eq!(text.split_whitespace().count(), 3, "{body}");
    assert_eq!(body["usage"]["completion_tokens"], 3, "{body}");
}

/// Bare model names resolve to their provider.
#[tokio::test]
async fn bare_model_names_resolve_to_their_provider() {
    let h = crate::common::start("").await;
    for (model, provider) in [
        ("gpt-4o-mini", "openai"),
        ("claude-sonnet-4-5", "anthropic"),
        ("gemini-2.5-flash", "gemini"),
    ] {
        let resp = h
            .post(
                "/v1/chat/completions",
                chat_body(model, user("echo: bare name"), json!({})),
            )
            .await;
        let (status, headers, body) = json_of(resp).await;
        assert_eq!(status, StatusCode::OK, "{model}: {body}");
        assert_eq!(
            super::header(&headers, "x-switchyard-provider"),
            provider,
            "{model}"
        );
        assert_eq!(super::header(&headers, "x-switchyard-model"), model);
        assert_eq!(body["choices"][0]["message"]["content"], "bare name");
        assert_eq!(h.sim.request_count(model), 1, "{model}");
    }
}

/// The client's `x-request-id` is echoed; without one the gateway makes a fresh id per request.
#[tokio::test]
async fn request_id_is_echoed_or_generated() {
    let h = crate::common::start("").await;
    let body = chat_body("openai/gpt-4o-mini", user("hi"), json!({}));
    let resp = h
        .client
        .post(h.url("/v1/chat/completions"))
        .header("x-request-id", "client-id-123")
        .json(&body)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        super::header(resp.headers(), "x-request-id"),
        "client-id-123"
    );
    let a = h.post("/v1/chat/completions", body.clone()).await;
    let b = h.post("/v1/chat/completions", body).await;
    let (ia, ib) = (
        super::header(a.headers(), "x-request-id").to_owned(),
        super::header(b.headers(), "x-request-id").to_owned(),
    );
    assert!(!ia.is_empty() && ia != ib, "{ia} {ib}");
}

/// Bare names stream too.
#[tokio::test]
async fn bare_model_names_stream() {
    let h = crate::common::start("").await;
    for (model, provider) in [
        ("gpt-4o-mini", "openai"),
        ("claude-sonnet-4-5", "anthropic"),
    ] {
        let resp = h
            .post(
                "/v1/chat/completions",
                chat_body(model, user("echo: bare stream"), json!({"stream": true})),
            )
            .await;
        assert_eq!(
            super::header(resp.headers(), "x-switchyard-provider"),
            provider
        );
        let s = super::OpenAiStream::read(resp).await;
        assert!(s.done, "{model}: {:?}", s.data);
        assert_eq!(s.text(), "bare stream", "{model}");
        assert_eq!(s.finish_reason().as_deref(), Some("stop"), "{model}");
    }
}

/// DeepSeek refuses the `developer` role: the gateway sends it as `system`.
#[tokio::test]
async fn developer_role_reaches_deepseek_as_system() {
    let h = crate::common::start("").await;
    let resp = h
        .post(
            "/v1/chat/completions",
            chat_body(
                "deepseek/deepseek-chat",
                json!([{"role": "developer", "content": "be brief"},
                       {"role": "user", "content": "echo: fine"}]),
                json!({}),
            ),
        )
        .await;
    let (status, _, body) = json_of(resp).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["choices"][0]["message"]["content"], "fine");
    let seen = h.sim.requests("deepseek-chat");
    let upstream: serde_json::Value = serde_json::from_slice(&seen[0].body).expect("json");
    assert_eq!(upstream["messages"][0]["role"], "system", "{upstream}");
}

/// Groq refuses `messages[].name`; a client that sends one (the OpenAI SDK allows it) is
/// still served.
#[tokio::test]
async fn message_name_is_accepted_for_groq() {
    let h = crate::common::start("").await;
    let resp = h
        .post(
            "/v1/chat/completions",
            chat_body(
                "groq/llama-3.3-70b-versatile",
                json!([{"role": "user", "name": "alice", "content": "echo: named"}]),
                json!({}),
            ),
        )
        .await;
    let (status, _, body) = json_of(resp).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["choices"][0]["message"]["content"], "named");
}
