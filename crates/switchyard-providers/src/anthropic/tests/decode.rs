//! Anthropic response → canonical response.

use serde_json::{json, Value};
use switchyard_types::openai::{Content, FinishReason, PromptTokensDetails, Usage};
use switchyard_types::TranslateError;

use super::fixture;
use crate::adapter::Adapter;
use crate::anthropic::response::{decode_typed, finish_reason};
use crate::anthropic::AnthropicAdapter;
use switchyard_types::mutate::one_byte_mutations;

#[test]
fn text_and_tool_use() {
    let resp = AnthropicAdapter
        .decode_chat(fixture!("response_tool_use.json").as_bytes())
        .unwrap();
    assert_eq!(resp.id, "msg_019Q1hrJbZG26Fb9BQhrkHEr");
    assert_eq!(resp.object, "chat.completion");
    assert_eq!(resp.model, "claude-sonnet-4-5-20250929");
    let choice = &resp.choices[0];
    assert_eq!(choice.finish_reason, Some(FinishReason::ToolCalls));
    let m = &choice.message;
    assert_eq!(
        m.content,
        Some(Content::Text("I'll check the weather.".into()))
    );
    let calls = m.tool_calls.as_ref().unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].id, "toolu_01NRLabsLyVHZPKxbKvkfSMn");
    assert_eq!(calls[0].kind, "function");
    assert_eq!(calls[0].function.name, "get_weather");
    let args: Value = serde_json::from_str(&calls[0].function.arguments).unwrap();
    assert_eq!(args, json!({"location": "Paris"}));
    assert!(m.reasoning_content.is_none() && m.extra.is_empty());
    assert_eq!(resp.usage, Some(Usage::new(377, 65)));
}

#[test]
fn thinking_and_cache_usage() {
    let resp = AnthropicAdapter
        .decode_chat(fixture!("response_thinking_cache.json").as_bytes())
        .unwrap();
    let m = &resp.choices[0].message;
    assert_eq!(m.content, Some(Content::Text("Paris is sunny.".into())));
    assert_eq!(m.reasoning_content.as_deref(), Some("Let me reason..."));
    assert_eq!(
        m.extra["thinking_blocks"],
        json!([
            {"type": "thinking", "thinking": "Let me reason...", "signature": "EqQBCgIYAhIM..."},
            {"type": "redacted_thinking", "data": "EmwKAhgBEgy..."}
        ])
    );
    assert_eq!(resp.choices[0].finish_reason, Some(FinishReason::Stop));
    let usage = resp.usage.unwrap();
    assert_eq!(usage.prompt_tokens, 21 + 3000 + 1500);
    assert_eq!(usage.completion_tokens, 95);
    assert_eq!(usage.total_tokens, 4521 + 95);
    assert_eq!(
        usage.prompt_tokens_details,
        Some(PromptTokensDetails {
            cached_tokens: 3000,
            cache_creation_tokens: 1500
        })
    );
}

#[test]
fn empty_content_and_thinking_token_details() {
    let body = json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "m",
        "content": [], "stop_reason": "max_tokens", "stop_sequence": null,
        "usage": {"input_tokens": 5, "output_tokens": 7, "output_tokens_details": {"thinking_tokens": 4}}});
    let resp = AnthropicAdapter
        .decode_chat(body.to_string().as_bytes())
        .unwrap();
    assert_eq!(resp.choices[0].message.content, None);
    assert_eq!(resp.choices[0].finish_reason, Some(FinishReason::Length));
    assert_eq!(resp.usage.unwrap().reasoning_tokens(), 4);
}

#[test]
fn stop_reason_table_is_pinned() {
    let table = [
        (Some("end_turn"), FinishReason::Stop),
        (Some("stop_sequence"), FinishReason::Stop),
        (Some("pause_turn"), FinishReason::Stop),
        (Some("max_tokens"), FinishReason::Length),
        (Some("model_context_window_exceeded"), FinishReason::Length),
        (Some("tool_use"), FinishReason::ToolCalls),
        (Some("refusal"), FinishReason::ContentFilter),
        (Some("something_new"), FinishReason::Stop),
        (None, FinishReason::Stop),
    ];
    for (stop, finish) in table {
        assert_eq!(finish_reason(stop), finish, "{stop:?}");
    }
}

#[test]
fn malformed_bodies_are_reported() {
    for body in [&b"not json"[..], b"{\"content\": 3}", b"[]"] {
        assert!(matches!(
            AnthropicAdapter.decode_chat(body),
            Err(TranslateError::MalformedUpstream(_))
        ));
    }
}

/// The one-pass reader answers the responses providers send, and leaves the rest (thinking
/// blocks here) to the typed path.
#[test]
fn common_responses_are_read_in_one_pass() {
    for body in [
        fixture!("response_text.json"),
        fixture!("response_tool_use.json"),
    ] {
        let fast = crate::anthropic::response_fast::decode(body.as_bytes())
            .expect("the one-pass reader answers");
        assert_eq!(Ok(fast), decode_typed(body.as_bytes()));
    }
    let thinking = fixture!("response_thinking_cache.json");
    assert!(crate::anthropic::response_fast::decode(thinking.as_bytes()).is_none());
}

/// Where the one-pass reader answers, the typed path answers the same: on every one-byte
/// change, insertion and deletion of real responses.
#[test]
fn the_one_pass_reader_agrees_with_the_typed_path_on_mutated_responses() {
    const BYTES: &[u8] = b"\"\\{}[],:0 n.e-xt";
    let mut answered = 0;
    let mut check = |body: &[u8]| {
        if let Some(fast) = crate::anthropic::response_fast::decode(body) {
            answered += 1;
            assert_eq!(
                Ok(fast),
                decode_typed(body),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    };
    for seed in [
        fixture!("response_text.json"),
        fixture!("response_tool_use.json"),
    ] {
        let seed = seed.as_bytes();
        one_byte_mutations(seed, BYTES, &mut check);
    }
    assert!(answered > 1_000, "{answered} answered");
}

/// Shapes at the edge of the one-pass reader decode as the typed path decodes them: the same
/// response or the same error.
#[test]
fn odd_shapes_decode_as_the_typed_path_decodes_them() {
    for body in [
        r#"{"id":"a","id":"b","content":[]}"#,
        r#"{"\u0069d":"a","content":[]}"#,
        r#"{"id":null}"#,
        r#"{"content":[{"type":"text","text":"a","text":"b"}]}"#,
        r#"{"content":[{"type":"text","\u0074ext":"a"}]}"#,
        r#"{"content":[{"type":"tool_use","id":"t","name":"n","input":{"b":1,"a":[1.5,2e3]}}]}"#,
        r#"{"content":[{"type":"tool_use","id":"t","name":"n"}]}"#,
        r#"{"content":[{"type":"tool_use","id":"t","name":"n","input":null}]}"#,
        r#"{"content":[{"type":"tool_use","id":"t"}]}"#,
        r#"{"usage":{"output_tokens":3,"output_tokens_details":{"thinking_tokens":2}}}"#,
        r#"{"usage":{"input_tokens":null,"output_tokens":1e2}}"#,
        r#"{"usage":{"input_tokens":1,"input_tokens":2}}"#,
        r#"{"usage":{"input_tokens":18446744073709551616}}"#,
        r#"{"usage":null}"#,
        r#"{"content":[{"type":"text","text":5}]}"#,
        r#"{"content":["x",{"type":"text","text":"y"}]}"#,
        r#"{"content":[{"text":"a\u00e9\n","type":"text"}],"stop_reason":"max_tokens"}"#,
        r#"{"content":null}"#,
        r#"{"stop_reason":7}"#,
        r#"{"stop_sequence":"x","stop_reason":null,"extra":{"deep":[1,{"a":null}]}}"#,
        r#"{}"#,
        r#"[]"#,
        r#"{"id":"a"} x"#,
    ] {
        assert_eq!(
            crate::anthropic::response::decode(body.as_bytes()),
            decode_typed(body.as_bytes()),
            "{body}"
        );
    }
}
