//! Gemini response → canonical response.

use switchyard_types::openai::{FinishReason, Usage};
use switchyard_types::TranslateError;

use super::*;

/// providers.md 3.2, text answer (verbatim).
pub(super) const TEXT_RESPONSE: &str = r#"{
  "candidates": [
    {
      "content": {"role": "model", "parts": [{"text": "It is 18 °C in Paris."}]},
      "finishReason": "STOP",
      "index": 0,
      "safetyRatings": [{"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "NEGLIGIBLE"}]
    }
  ],
  "usageMetadata": {
    "promptTokenCount": 42,
    "candidatesTokenCount": 9,
    "thoughtsTokenCount": 120,
    "totalTokenCount": 171,
    "cachedContentTokenCount": 0,
    "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 42}]
  },
  "modelVersion": "gemini-2.5-flash",
  "responseId": "mAitaLmkHPPlz7IPvtfUqQ4"
}"#;

/// providers.md 3.2, function calls without ids (verbatim).
const CALLS_RESPONSE: &str = r#"{"candidates": [{"content": {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "CiQBVKhc7..."}, {"functionCall": {"name": "get_time", "args": {"tz": "CET"}}}]}, "finishReason": "STOP", "index": 0}], "usageMetadata": {"promptTokenCount": 60, "candidatesTokenCount": 20, "totalTokenCount": 80}, "modelVersion": "gemini-2.5-flash", "responseId": "abc"}"#;

fn decode(body: &str) -> ChatResponse {
    GeminiAdapter.decode_chat(body.as_bytes()).unwrap()
}

#[test]
fn text_response_decodes_with_usage_including_thoughts() {
    let r = decode(TEXT_RESPONSE);
    assert_eq!(r.id, "mAitaLmkHPPlz7IPvtfUqQ4");
    assert_eq!(r.model, "gemini-2.5-flash");
    assert_eq!(r.object, "chat.completion");
    assert_eq!(r.choices.len(), 1);
    let c = &r.choices[0];
    assert_eq!(c.index, 0);
    assert_eq!(c.finish_reason, Some(FinishReason::Stop));
    assert_eq!(
        c.message.content.as_ref().unwrap().joined_text(),
        "It is 18 °C in Paris."
    );
    assert!(c.message.tool_calls.is_none() && c.message.reasoning_content.is_none());
    let u = r.usage.unwrap();
    assert_eq!(
        (u.prompt_tokens, u.completion_tokens, u.total_tokens),
        (42, 129, 171)
    );
    assert_eq!(u.reasoning_tokens(), 120);
    assert_eq!(u.cached_tokens(), 0);
}

#[test]
fn function_calls_get_synthesized_ids_and_tool_calls_finish() {
    let r = decode(CALLS_RESPONSE);
    let m = &r.choices[0].message;
    assert_eq!(r.choices[0].finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(m.content, None);
    let calls = m.tool_calls.as_ref().unwrap();
    assert_eq!(calls.len(), 2);
    assert_eq!(
        (
            calls[0].id.as_str(),
            calls[0].function.name.as_str(),
            calls[0].function.arguments.as_str()
        ),
        ("call_0", "get_weather", r#"{"city":"Paris"}"#)
    );
    assert_eq!(calls[1].id, "call_1");
    assert_eq!(calls[1].kind, "function");
    assert_eq!(
        m.extra["thought_signatures"],
        serde_json::json!({"call_0": "CiQBVKhc7..."})
    );
    assert_eq!(r.usage.unwrap(), Usage::new(60, 20));
}

#[test]
fn function_call_ids_from_gemini_are_kept_and_signatures_replay() {
    let body = r#"{"candidates":[{"content":{"role":"model","parts":[
        {"text":"Let me check."},
        {"functionCall":{"id":"fc_1","name":"get_weather"},"thoughtSignature":"c2ln"}]},
        "finishReason":"STOP"}],"modelVersion":"gemini-3-pro-preview","responseId":"r1"}"#;
    let r = decode(body);
    let m = &r.choices[0].message;
    assert_eq!(m.content.as_ref().unwrap().joined_text(), "Let me check.");
    let calls = m.tool_calls.as_ref().unwrap();
    assert_eq!(
        (calls[0].id.as_str(), calls[0].function.arguments.as_str()),
        ("fc_1", "{}")
    );
    assert!(r.usage.is_none());
    // The client sends the message back: the signature returns to its part.
    let mut history = serde_json::to_value(m).unwrap();
    history["content"] = serde_json::Value::Null;
    let req = serde_json::json!({"model": "m", "messages": [
        {"role": "user", "content": "weather?"}, history,
        {"role": "tool", "tool_call_id": "fc_1", "content": "sunny"}]});
    let v = super::encode(&req.to_string());
    assert_eq!(
        v["contents"][1]["parts"],
        serde_json::json!([{"functionCall": {"id": "fc_1", "name": "get_weather", "args": {}}, "thoughtSignature": "c2ln"}])
    );
}

#[test]
fn thought_parts_become_reasoning_content() {
    let body = r#"{"candidates":[{"content":{"role":"model","parts":[
        {"text":"**Weighing options** I compare.","thought":true},
        {"text":"Answer: "},{"text":"42"}]},"finishReason":"STOP","index":0}],
        "usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":3,"thoughtsTokenCount":50,"totalTokenCount":63}}"#;
    let r = decode(body);
    let m = &r.choices[0].message;
    assert_eq!(
        m.reasoning_content.as_deref(),
        Some("**Weighing options** I compare.")
    );
    assert_eq!(m.content.as_ref().unwrap().joined_text(), "Answer: 42");
    assert!(r.id.starts_with("chatcmpl-"), "{}", r.id);
    assert_eq!(r.id, decode(body).id, "generated ids are deterministic");
    assert_eq!(r.model, "");
    assert_eq!(r.usage.unwrap().completion_tokens, 53);
}

#[test]
fn finish_reasons_map_per_table() {
    let cases = [
        ("STOP", FinishReason::Stop),
        ("MAX_TOKENS", FinishReason::Length),
        ("SAFETY", FinishReason::ContentFilter),
        ("RECITATION", FinishReason::ContentFilter),
        ("BLOCKLIST", FinishReason::ContentFilter),
        ("PROHIBITED_CONTENT", FinishReason::ContentFilter),
        ("SPII", FinishReason::ContentFilter),
        ("LANGUAGE", FinishReason::ContentFilter),
        ("IMAGE_SAFETY", FinishReason::ContentFilter),
        ("OTHER", FinishReason::Stop),
        ("MALFORMED_FUNCTION_CALL", FinishReason::Stop),
        ("FINISH_REASON_UNSPECIFIED", FinishReason::Stop),
        ("SOMETHING_NEW", FinishReason::Stop),
    ];
    for (gemini, want) in cases {
        let body = format!(
            r#"{{"candidates":[{{"content":{{"role":"model","parts":[{{"text":"x"}}]}},"finishReason":"{gemini}","index":0}}]}}"#
        );
        assert_eq!(
            decode(&body).choices[0].finish_reason,
            Some(want),
            "{gemini}"
        );
    }
    let missing = r#"{"candidates":[{"content":{"role":"model","parts":[{"text":"x"}]}}]}"#;
    assert_eq!(
        decode(missing).choices[0].finish_reason,
        Some(FinishReason::Stop)
    );
    let truncated_call = r#"{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":{}}}]},"finishReason":"MAX_TOKENS"}]}"#;
    assert_eq!(
        decode(truncated_call).choices[0].finish_reason,
        Some(FinishReason::Length)
    );
}

#[test]
fn safety_stops_and_blocked_prompts_become_content_filter() {
    let no_content = r#"{"candidates":[{"finishReason":"SAFETY","index":0,"safetyRatings":[{"category":"HARM_CATEGORY_HARASSMENT","probability":"HIGH","blocked":true}]}],
        "usageMetadata":{"promptTokenCount":8,"totalTokenCount":8},"modelVersion":"gemini-2.5-flash","responseId":"s1"}"#;
    let r = decode(no_content);
    assert_eq!(
        r.choices[0].finish_reason,
        Some(FinishReason::ContentFilter)
    );
    assert_eq!(
        r.choices[0].message.content.as_ref().unwrap().joined_text(),
        ""
    );
    assert_eq!(r.usage.unwrap(), Usage::new(8, 0));

    let blocked = r#"{"promptFeedback":{"blockReason":"PROHIBITED_CONTENT","safetyRatings":[]},
        "usageMetadata":{"promptTokenCount":12,"totalTokenCount":12},"modelVersion":"gemini-2.5-flash","responseId":"b1"}"#;
    let r = decode(blocked);
    assert_eq!(r.choices.len(), 1);
    let c = &r.choices[0];
    assert_eq!(c.finish_reason, Some(FinishReason::ContentFilter));
    assert_eq!(c.message.content.as_ref().unwrap().joined_text(), "");
    assert_eq!(
        c.message.refusal.as_deref(),
        Some("prompt blocked by gemini: PROHIBITED_CONTENT")
    );
}

#[test]
fn usage_counts_parse_leniently() {
    let body = r#"{"candidates":[{"content":{"parts":[{"text":"x"}]},"finishReason":"STOP"}],
        "usageMetadata":{"promptTokenCount":"1200","candidatesTokenCount":30.0,"thoughtsTokenCount":"7",
        "cachedContentTokenCount":"1000","toolUsePromptTokenCount":5,"totalTokenCount":"1242"}}"#;
    let u = decode(body).usage.unwrap();
    assert_eq!(
        (u.prompt_tokens, u.completion_tokens, u.total_tokens),
        (1205, 37, 1242)
    );
    assert_eq!((u.cached_tokens(), u.reasoning_tokens()), (1000, 7));
    let garbage = r#"{"promptFeedback":{"blockReason":"OTHER"},"usageMetadata":{"promptTokenCount":"lots","candidatesTokenCount":-3}}"#;
    assert_eq!(decode(garbage).usage.unwrap(), Usage::new(0, 0));
}

#[test]
fn thoughts_already_inside_candidates_are_not_double_counted() {
    let body = r#"{"candidates":[{"content":{"parts":[{"text":"x"}]},"finishReason":"STOP"}],
        "usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":50,"thoughtsTokenCount":40,"totalTokenCount":60}}"#;
    let u = decode(body).usage.unwrap();
    assert_eq!(
        (u.completion_tokens, u.total_tokens, u.reasoning_tokens()),
        (50, 60, 40)
    );
}

#[test]
fn multiple_candidates_become_choices() {
    let body = r#"{"candidates":[
        {"content":{"role":"model","parts":[{"text":"a"}]},"finishReason":"STOP","index":0},
        {"content":{"role":"model","parts":[{"text":"b"}]},"finishReason":"MAX_TOKENS","index":1}]}"#;
    let r = decode(body);
    assert_eq!(r.choices.len(), 2);
    assert_eq!(r.choices[1].index, 1);
    assert_eq!(r.choices[1].finish_reason, Some(FinishReason::Length));
}

#[test]
fn malformed_bodies_are_errors_not_panics() {
    for body in [
        "",
        "null",
        "{}",
        r#"{"error":{"code":500,"message":"boom","status":"INTERNAL"}}"#,
        "[1]",
        r#"{"candidates":"x"}"#,
        r#"{"candidates":[{"content":{"parts":[{"text":5}]}}]}"#,
    ] {
        let err = GeminiAdapter.decode_chat(body.as_bytes()).unwrap_err();
        assert!(
            matches!(err, TranslateError::MalformedUpstream(_)),
            "{body}"
        );
    }
}
