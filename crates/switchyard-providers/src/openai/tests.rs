use super::*;
use crate::catalog::spec_by_name;
use crate::ErrorClass;
use switchyard_types::sse::SseParser;

fn target<'a>(quirks: &'a Quirks, model: &'a str) -> Target<'a> {
    Target {
        base_url: "https://api.example.com/v1",
        model,
        api_version: None,
        quirks,
    }
}

#[test]
fn deepseek_quirks_map_developer_and_drop_unsupported() {
    let quirks = &spec_by_name("deepseek").unwrap().quirks;
    let req: ChatRequest = serde_json::from_str(
        r#"{"model":"alias","messages":[{"role":"developer","content":"be brief"},{"role":"user","content":"hi"}],
            "n":1,"seed":7,"max_completion_tokens":50,"logit_bias":{"1":2}}"#,
    )
    .unwrap();
    assert_eq!(unsupported_params(&req, quirks), vec!["n", "seed"]);
    let body = OpenAiAdapter::new(quirks.reasoning_field)
        .encode_chat(&req, &target(quirks, "deepseek-chat"))
        .unwrap();
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["model"], "deepseek-chat");
    assert_eq!(v["messages"][0]["role"], "system");
    assert!(v.get("seed").is_none() && v.get("n").is_none());
    assert_eq!(v["max_tokens"], 50);
    assert!(v.get("max_completion_tokens").is_none());
    assert_eq!(v["logit_bias"]["1"], 2, "unknown fields survive");
}

#[test]
fn azure_url_uses_deployment_and_api_version() {
    let a = OpenAiAdapter::azure();
    let t = Target {
        base_url: "https://res.openai.azure.com",
        model: "gpt4o-prod",
        api_version: Some("2024-06-01"),
        quirks: &Quirks::OPENAI,
    };
    assert_eq!(
        a.chat_url(&t, false),
        "https://res.openai.azure.com/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-06-01"
    );
}

#[test]
fn decode_moves_openrouter_reasoning_to_reasoning_content() {
    let body = br#"{"id":"gen-1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,
        "message":{"role":"assistant","content":"4","reasoning":"2+2"},"finish_reason":"stop"}],
        "usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8,"completion_tokens_details":{"reasoning_tokens":2}}}"#;
    let resp = OpenAiAdapter::new(ReasoningField::Reasoning)
        .decode_chat(body)
        .unwrap();
    assert_eq!(
        resp.choices[0].message.reasoning_content.as_deref(),
        Some("2+2")
    );
    assert_eq!(resp.usage.unwrap().reasoning_tokens(), 2);
}

#[test]
fn stream_decoder_reads_chunks_and_detects_truncation() {
    let wire = b"data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hel\"},\"finish_reason\":null}]}\n\n";
    let mut parser = SseParser::new();
    let mut dec = OpenAiStreamDecoder::new();
    let mut text = String::new();
    for ev in parser.feed(wire).unwrap() {
        for c in dec.feed(&ev).unwrap() {
            text.push_str(c.choices[0].delta.content.as_deref().unwrap_or(""));
        }
    }
    assert_eq!(text, "Hel");
    let err = dec.finish().unwrap_err();
    assert_eq!(err.class, ErrorClass::StreamBroken);

    let mut dec = OpenAiStreamDecoder::new();
    for ev in parser.feed(b"data: [DONE]\n\n").unwrap() {
        dec.feed(&ev).unwrap();
    }
    assert!(dec.finish().unwrap().is_empty());
}

#[test]
fn in_stream_error_is_an_error() {
    let mut parser = SseParser::new();
    let mut dec = OpenAiStreamDecoder::new();
    let ev = parser
        .feed(b"data: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}\n\n")
        .unwrap();
    assert!(dec.feed(&ev[0]).is_err());
}

#[test]
fn error_bodies_of_each_family_are_classified() {
    let h = http::HeaderMap::new();
    let e = classify(400, &h, br#"{"error":{"message":"This model's maximum context length is 8192 tokens","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#);
    assert_eq!(e.class, ErrorClass::ContextTooLong);
    assert_eq!(e.param.as_deref(), Some("messages"));
    let e = classify(422, &h, br#"{"object":"error","message":"Extra inputs are not permitted","type":"invalid_request_message_error","param":null,"code":null}"#);
    assert_eq!(
        (e.class, e.message.as_str()),
        (ErrorClass::BadRequest, "Extra inputs are not permitted")
    );
    let e = classify(
        429,
        &h,
        br#"{"error":{"code":429,"message":"Rate limit exceeded"}}"#,
    );
    assert_eq!(e.class, ErrorClass::RateLimited);
    let e = classify(404, &h, br#"{"error":"model 'llama9' not found"}"#);
    assert_eq!(
        (e.class, e.message.as_str()),
        (ErrorClass::NotFound, "model 'llama9' not found")
    );
    let e = classify(502, &h, b"<html>bad gateway</html>");
    assert_eq!(e.class, ErrorClass::ServerError);
}

#[test]
fn rate_limit_window_headers_are_a_wait_only_for_rate_limited_errors() {
    let mut h = http::HeaderMap::new();
    h.insert(
        "x-ratelimit-reset-requests",
        http::HeaderValue::from_static("59.9s"),
    );
    let e = classify(
        500,
        &h,
        br#"{"error":{"message":"boom","type":"server_error"}}"#,
    );
    assert_eq!(e.class, ErrorClass::ServerError);
    assert_eq!(e.retry_after, None);
    let e = classify(429, &h, br#"{"error":{"message":"slow down"}}"#);
    assert_eq!(
        e.retry_after,
        Some(std::time::Duration::from_millis(59_900))
    );
    h.insert("retry-after", http::HeaderValue::from_static("3"));
    let e = classify(503, &h, br#"{"error":{"message":"busy"}}"#);
    assert_eq!(e.retry_after, Some(std::time::Duration::from_secs(3)));
}
