//! Gemini SSE → OpenAI chunks, replayed at every split point.

use serde_json::json;
use switchyard_types::openai::{ChatChunk, FinishReason, Role, Usage};
use switchyard_types::sse::SseParser;

use crate::error::{ErrorClass, UpstreamError};

use super::*;

/// providers.md 3.3 (verbatim, `\n` line endings as printed).
const TEXT_STREAM: &str = "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"It is\"}],\"role\": \"model\"},\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 42,\"candidatesTokenCount\": 2,\"totalTokenCount\": 44},\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"mAitaLmkHPPlz7IPvtfUqQ4\"}

data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \" 18 °C in Paris.\"}],\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 42,\"candidatesTokenCount\": 9,\"totalTokenCount\": 51,\"promptTokensDetails\": [{\"modality\": \"TEXT\",\"tokenCount\": 42}]},\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"mAitaLmkHPPlz7IPvtfUqQ4\"}

";

/// Thoughts, then two function calls (one with a signature) over two events.
const CALLS_STREAM: &str = "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Planning the lookup.\",\"thought\": true}],\"role\": \"model\"},\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 60,\"totalTokenCount\": 60,\"thoughtsTokenCount\": 12},\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"abc\"}

data: {\"candidates\": [{\"content\": {\"parts\": [{\"functionCall\": {\"name\": \"get_weather\",\"args\": {\"city\": \"Paris\"}},\"thoughtSignature\": \"CiQBVKhc7...\"}],\"role\": \"model\"},\"index\": 0}],\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"abc\"}

data: {\"candidates\": [{\"content\": {\"parts\": [{\"functionCall\": {\"name\": \"get_time\",\"args\": {\"tz\": \"CET\"}}}],\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 60,\"candidatesTokenCount\": 20,\"thoughtsTokenCount\": 12,\"totalTokenCount\": 92},\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"abc\"}

";

type Outcome = (Vec<ChatChunk>, Result<Vec<ChatChunk>, UpstreamError>);

/// Feeds `pieces` through the SSE parser and a fresh decoder; the first error stops the feed.
fn run(pieces: &[&[u8]]) -> Outcome {
    let mut parser = SseParser::new();
    let mut dec = GeminiAdapter.stream_decoder();
    let mut chunks = Vec::new();
    let mut events = Vec::new();
    for p in pieces {
        events.extend(parser.feed(p).unwrap());
    }
    events.extend(parser.finish());
    for ev in &events {
        match dec.feed(ev) {
            Ok(c) => chunks.extend(c),
            Err(e) => return (chunks, Err(e)),
        }
    }
    let end = dec.finish();
    (chunks, end)
}

/// Decodes `wire` whole, split at every byte offset, and byte by byte; all must agree.
fn replay(wire: &str) -> Outcome {
    let bytes = wire.as_bytes();
    let whole = run(&[bytes]);
    for cut in 0..=bytes.len() {
        assert_eq!(run(&[&bytes[..cut], &bytes[cut..]]), whole, "cut at {cut}");
    }
    let bytewise: Vec<&[u8]> = bytes.chunks(1).collect();
    assert_eq!(run(&bytewise), whole, "byte by byte");
    whole
}

fn crlf(wire: &str) -> String {
    wire.replace('\n', "\r\n")
}

fn text_of(chunks: &[ChatChunk]) -> String {
    chunks
        .iter()
        .flat_map(|c| &c.choices)
        .filter_map(|c| c.delta.content.as_deref())
        .collect()
}

#[test]
fn text_stream_yields_role_deltas_finish_and_usage() {
    for wire in [TEXT_STREAM.to_owned(), crlf(TEXT_STREAM)] {
        let (chunks, end) = replay(&wire);
        assert_eq!(chunks.len(), 3, "{chunks:#?}");
        assert!(chunks.iter().all(|c| c.id == "mAitaLmkHPPlz7IPvtfUqQ4"
            && c.model == "gemini-2.5-flash"
            && c.object == "chat.completion.chunk"));
        assert_eq!(chunks[0].choices[0].delta.role, Some(Role::Assistant));
        assert_eq!(chunks[1].choices[0].delta.role, None);
        assert_eq!(text_of(&chunks), "It is 18 °C in Paris.");
        assert_eq!(chunks[2].choices[0].finish_reason, Some(FinishReason::Stop));
        assert_eq!(chunks[2].choices[0].delta.content, None);
        let tail = end.unwrap();
        assert_eq!(tail.len(), 1);
        assert!(tail[0].choices.is_empty());
        assert_eq!(
            tail[0].usage,
            Some(Usage::new(42, 9)),
            "the last usageMetadata wins"
        );
    }
}

#[test]
fn function_calls_stream_as_complete_deltas_with_stable_indices() {
    let (chunks, end) = replay(&crlf(CALLS_STREAM));
    assert_eq!(chunks.len(), 4, "{chunks:#?}");
    let d0 = &chunks[0].choices[0].delta;
    assert_eq!(d0.role, Some(Role::Assistant));
    assert_eq!(
        d0.reasoning_content.as_deref(),
        Some("Planning the lookup.")
    );
    let call = |i: usize| {
        let d = &chunks[i].choices[0].delta;
        serde_json::to_value(d.tool_calls.as_ref().unwrap()).unwrap()
    };
    assert_eq!(
        call(1),
        json!([{"index": 0, "id": "call_0", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}])
    );
    assert_eq!(
        chunks[1].choices[0].delta.extra["thought_signatures"],
        json!({"call_0": "CiQBVKhc7..."})
    );
    assert_eq!(
        call(2),
        json!([{"index": 1, "id": "call_1", "type": "function", "function": {"name": "get_time", "arguments": "{\"tz\":\"CET\"}"}}])
    );
    assert_eq!(
        chunks[3].choices[0].finish_reason,
        Some(FinishReason::ToolCalls)
    );
    let usage = end.unwrap().remove(0).usage.unwrap();
    assert_eq!(
        (
            usage.prompt_tokens,
            usage.completion_tokens,
            usage.total_tokens
        ),
        (60, 32, 92)
    );
    assert_eq!(usage.reasoning_tokens(), 12);
}

#[test]
fn stream_without_finish_reason_is_truncated() {
    let first_event = TEXT_STREAM.split("\n\n").next().unwrap().to_owned() + "\n\n";
    let (chunks, end) = replay(&crlf(&first_event));
    assert_eq!(text_of(&chunks), "It is");
    assert_eq!(end.unwrap_err().class, ErrorClass::StreamBroken);
    let (chunks, end) = run(&[b""]);
    assert!(chunks.is_empty());
    assert_eq!(end.unwrap_err().class, ErrorClass::StreamBroken);
}

#[test]
fn error_event_mid_stream_is_classified() {
    let first_event = TEXT_STREAM.split("\n\n").next().unwrap();
    let wire = format!(
        "{first_event}\r\n\r\ndata: {{\"error\": {{\"code\": 503, \"message\": \"The model is overloaded. Please try again later.\", \"status\": \"UNAVAILABLE\"}}}}\r\n\r\n"
    );
    let (chunks, end) = replay(&wire);
    assert_eq!(text_of(&chunks), "It is");
    let err = end.unwrap_err();
    assert_eq!(err.class, ErrorClass::Overloaded);
    assert_eq!(err.status, Some(503));
    assert_eq!(err.provider_code.as_deref(), Some("UNAVAILABLE"));
    assert_eq!(
        err.message,
        "The model is overloaded. Please try again later."
    );

    let (_, end) = replay("data: {\"error\": {\"code\": 429, \"message\": \"quota\", \"status\": \"RESOURCE_EXHAUSTED\"}}\n\n");
    assert_eq!(end.unwrap_err().class, ErrorClass::RateLimited);
    let (_, end) = replay("data: {not json\n\n");
    assert_eq!(end.unwrap_err().class, ErrorClass::Malformed);
}

#[test]
fn blocked_prompt_and_safety_stop_in_stream() {
    let wire = "data: {\"promptFeedback\": {\"blockReason\": \"SAFETY\"},\"usageMetadata\": {\"promptTokenCount\": 7,\"totalTokenCount\": 7},\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"b\"}\r\n\r\n";
    let (chunks, end) = replay(wire);
    assert_eq!(chunks.len(), 1);
    let c = &chunks[0].choices[0];
    assert_eq!(c.finish_reason, Some(FinishReason::ContentFilter));
    assert_eq!(c.delta.role, Some(Role::Assistant));
    assert_eq!(
        c.delta.refusal.as_deref(),
        Some("prompt blocked by gemini: SAFETY")
    );
    assert_eq!(end.unwrap()[0].usage, Some(Usage::new(7, 0)));

    let wire = "data: {\"candidates\": [{\"finishReason\": \"SAFETY\",\"index\": 0}],\"responseId\": \"s\"}\n\n";
    let (chunks, end) = replay(wire);
    assert_eq!(
        chunks[0].choices[0].finish_reason,
        Some(FinishReason::ContentFilter)
    );
    assert!(end.unwrap().is_empty(), "no usage seen, no usage chunk");
}

#[test]
fn comments_empty_text_and_usage_only_events_emit_nothing() {
    let wire = ": keep-alive\r\n\r\ndata: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"\"}],\"role\": \"model\"},\"index\": 0}]}\r\n\r\ndata: {\"usageMetadata\": {\"promptTokenCount\": 3}}\r\n\r\n";
    let (chunks, end) = replay(wire);
    assert!(chunks.is_empty(), "{chunks:#?}");
    assert!(end.is_err());
}

#[test]
fn candidates_stream_as_separate_choices() {
    let wire = "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"a\"}]},\"index\": 0},{\"content\": {\"parts\": [{\"functionCall\": {\"name\": \"f\",\"args\": {}}}]},\"index\": 1}]}\n\ndata: {\"candidates\": [{\"finishReason\": \"STOP\",\"index\": 0},{\"finishReason\": \"STOP\",\"index\": 1}]}\n\n";
    let (chunks, end) = replay(wire);
    assert!(end.is_ok());
    let of = |i: u32| -> Vec<_> {
        chunks
            .iter()
            .flat_map(|c| &c.choices)
            .filter(|c| c.index == i)
            .collect()
    };
    assert_eq!(of(0)[0].delta.role, Some(Role::Assistant));
    assert_eq!(of(1)[0].delta.role, Some(Role::Assistant));
    assert_eq!(of(1)[0].delta.tool_calls.as_ref().unwrap()[0].index, 0);
    assert_eq!(
        of(0).last().unwrap().finish_reason,
        Some(FinishReason::Stop)
    );
    assert_eq!(
        of(1).last().unwrap().finish_reason,
        Some(FinishReason::ToolCalls)
    );
    assert!(chunks[0].id.starts_with("chatcmpl-"));
}
