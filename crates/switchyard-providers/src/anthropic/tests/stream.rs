//! Anthropic SSE → canonical chunks, replayed at every split point.

use serde_json::json;
use switchyard_types::openai::{FinishReason, PromptTokensDetails, Role, Usage};
use switchyard_types::sse::SseEvent;

use super::{decode_everywhere, decode_stream, fixture, text_of, tool_arguments};
use crate::adapter::StreamDecoder;
use crate::anthropic::AnthropicStreamDecoder;
use crate::error::ErrorClass;

#[test]
fn tool_use_stream() {
    let (chunks, end) = decode_everywhere(fixture!("stream_tool_use.sse"));
    end.unwrap();
    assert!(
        chunks
            .iter()
            .all(|c| c.id == "msg_019Q1hrJbZG26Fb9BQhrkHEr"
                && c.model == "claude-sonnet-4-5-20250929")
    );
    let first = &chunks[0].choices[0].delta;
    assert_eq!(first.role, Some(Role::Assistant));
    assert_eq!(first.content.as_deref(), Some(""));
    assert_eq!(text_of(&chunks).0, "I'll check the weather.");

    let calls: Vec<_> = chunks
        .iter()
        .flat_map(|c| &c.choices)
        .flat_map(|c| c.delta.tool_calls.iter().flatten())
        .collect();
    assert_eq!(calls[0].index, 0, "tool index counts tools, not blocks");
    assert_eq!(
        calls[0].id.as_deref(),
        Some("toolu_01NRLabsLyVHZPKxbKvkfSMn")
    );
    assert_eq!(calls[0].kind.as_deref(), Some("function"));
    assert_eq!(
        calls[0].function.as_ref().unwrap().name.as_deref(),
        Some("get_weather")
    );
    assert_eq!(
        calls.len(),
        3,
        "start + two non-empty fragments (the empty one is skipped)"
    );
    assert!(calls[1..].iter().all(|c| c.index == 0 && c.id.is_none()));
    assert_eq!(tool_arguments(&chunks, 0), "{\"location\": \"Paris\"}");

    let finish = &chunks[chunks.len() - 2];
    assert_eq!(
        finish.choices[0].finish_reason,
        Some(FinishReason::ToolCalls)
    );
    let last = chunks.last().unwrap();
    assert!(last.choices.is_empty());
    assert_eq!(last.usage, Some(Usage::new(377, 65)));
}

#[test]
fn thinking_stream_keeps_the_signature() {
    let (chunks, end) = decode_everywhere(fixture!("stream_thinking.sse"));
    end.unwrap();
    let (content, reasoning) = text_of(&chunks);
    assert_eq!(content, "Paris is sunny.");
    assert_eq!(reasoning, "The user wants...");
    let blocks: Vec<_> = chunks
        .iter()
        .flat_map(|c| &c.choices)
        .filter_map(|c| c.delta.extra.get("thinking_blocks"))
        .collect();
    assert_eq!(
        blocks,
        vec![
            &json!([{"type": "thinking", "thinking": "The user wants...",
            "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds..."}])
        ]
    );
    assert_eq!(
        chunks[chunks.len() - 2].choices[0].finish_reason,
        Some(FinishReason::Stop)
    );
    assert_eq!(chunks.last().unwrap().usage, Some(Usage::new(377, 42)));
}

/// Thinking, text, then two tool calls (the second without JSON fragments): tool indices are
/// 0 and 1 although the Anthropic blocks are 2 and 3.
const MULTI_BLOCK: &str = concat!(
    "event: message_start\n",
    r#"data: {"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":10,"cache_creation_input_tokens":0,"cache_read_input_tokens":90,"output_tokens":1}}}"#,
    "\n\nevent: content_block_start\n",
    r#"data: {"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}"#,
    "\n\nevent: content_block_delta\n",
    r#"data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Two cities."}}"#,
    "\n\nevent: content_block_delta\n",
    r#"data: {"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"sig"}}"#,
    "\n\nevent: content_block_stop\n",
    r#"data: {"type":"content_block_stop","index":0}"#,
    "\n\nevent: content_block_start\n",
    r#"data: {"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}"#,
    "\n\nevent: content_block_delta\n",
    r#"data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Checking both."}}"#,
    "\n\nevent: content_block_stop\n",
    r#"data: {"type":"content_block_stop","index":1}"#,
    "\n\nevent: content_block_start\n",
    r#"data: {"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_A","name":"get_weather","input":{}}}"#,
    "\n\nevent: content_block_delta\n",
    r#"data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":""}}"#,
    "\n\nevent: content_block_delta\n",
    r#"data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"city\": \"Paris\"}"}}"#,
    "\n\nevent: content_block_stop\n",
    r#"data: {"type":"content_block_stop","index":2}"#,
    "\n\nevent: content_block_start\n",
    r#"data: {"type":"content_block_start","index":3,"content_block":{"type":"tool_use","id":"toolu_B","name":"now","input":{}}}"#,
    "\n\nevent: content_block_stop\n",
    r#"data: {"type":"content_block_stop","index":3}"#,
    "\n\nevent: message_delta\n",
    r#"data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":80}}"#,
    "\n\nevent: message_stop\n",
    r#"data: {"type":"message_stop"}"#,
    "\n\n"
);

#[test]
fn tool_indices_count_tool_calls_only() {
    let (chunks, end) = decode_everywhere(MULTI_BLOCK);
    end.unwrap();
    let starts: Vec<_> = chunks
        .iter()
        .flat_map(|c| &c.choices)
        .flat_map(|c| c.delta.tool_calls.iter().flatten())
        .filter_map(|t| Some((t.index, t.id.clone()?)))
        .collect();
    assert_eq!(
        starts,
        vec![(0, "toolu_A".to_owned()), (1, "toolu_B".to_owned())]
    );
    assert_eq!(tool_arguments(&chunks, 0), "{\"city\": \"Paris\"}");
    assert_eq!(
        tool_arguments(&chunks, 1),
        "{}",
        "no fragments: empty object"
    );
    let usage = chunks.last().unwrap().usage.clone().unwrap();
    assert_eq!(usage.prompt_tokens, 100);
    assert_eq!(usage.completion_tokens, 80);
    assert_eq!(
        usage.prompt_tokens_details,
        Some(PromptTokensDetails {
            cached_tokens: 90,
            cache_creation_tokens: 0
        })
    );
}

#[test]
fn error_event_is_classified() {
    let (chunks, end) = decode_everywhere(fixture!("stream_error.sse"));
    let err = end.unwrap_err();
    assert_eq!(err.class, ErrorClass::Overloaded);
    assert_eq!(err.provider_code.as_deref(), Some("overloaded_error"));
    assert_eq!(err.message, "Overloaded");
    assert_eq!(chunks.len(), 1, "only the role chunk came before the error");
}

#[test]
fn truncated_stream_is_an_error() {
    let wire = fixture!("stream_tool_use.sse");
    let cut = wire.find("event: message_stop").unwrap();
    let (chunks, end) = decode_stream(&wire.as_bytes()[..cut], cut);
    assert_eq!(end.unwrap_err().class, ErrorClass::StreamBroken);
    assert!(chunks.iter().all(|c| c.usage.is_none()));
    let mut dec = AnthropicStreamDecoder::new();
    assert_eq!(dec.finish().unwrap_err().class, ErrorClass::StreamBroken);
}

#[test]
fn comments_pings_and_garbage() {
    let mut dec = AnthropicStreamDecoder::new();
    let ev = |data: &str| SseEvent {
        raw: bytes::Bytes::new(),
        event: None,
        data: bytes::Bytes::from(data.to_owned()),
    };
    assert!(dec.feed(&ev("")).unwrap().is_empty());
    assert!(dec.feed(&ev(r#"{"type": "ping"}"#)).unwrap().is_empty());
    assert!(dec
        .feed(&ev(r#"{"type": "future_event", "x": 1}"#))
        .unwrap()
        .is_empty());
    assert_eq!(
        dec.feed(&ev("{oops")).unwrap_err().class,
        ErrorClass::Malformed
    );
}
