//! Anthropic-format ingress: requests in, responses and SSE out.

use serde_json::{json, Value};
use switchyard_types::anthropic::StreamEvent;
use switchyard_types::openai::{
    ChatChunk, ChatResponse, Content, ContentPart, Delta, FinishReason, FunctionCallDelta,
    PromptTokensDetails, Role, Stop, ToolCallDelta, ToolChoice, Usage,
};
use switchyard_types::sse::SseParser;
use switchyard_types::TranslateError;

use super::{decode_everywhere, decode_stream, fixture};
use crate::adapter::Adapter;
use crate::anthropic::ingress::{
    error_body, request_to_canonical, response_from_canonical, AnthropicStreamEncoder,
};
use crate::anthropic::AnthropicAdapter;

#[test]
fn tool_loop_request_to_canonical() {
    let req = request_to_canonical(fixture!("request_tool_loop.json").as_bytes()).unwrap();
    assert_eq!(req.model, "claude-sonnet-4-5");
    assert_eq!(
        (req.max_tokens, req.max_completion_tokens),
        (None, Some(1024))
    );
    assert_eq!(req.temperature, Some(0.2));
    assert_eq!(req.stop, Some(Stop::Many(vec!["END".into()])));
    assert_eq!(
        req.user.as_deref(),
        Some("6f1c2a9e-0d7b-4d4f-9a61-2b8e2f0c3a11")
    );
    assert_eq!(req.stream, Some(false));
    assert!(req.stream_options.is_none());
    assert_eq!(req.tool_choice, Some(ToolChoice::Mode("auto".into())));
    assert_eq!(req.parallel_tool_calls, None);
    let tool = &req.tools.as_ref().unwrap()[0];
    assert_eq!(tool.kind, "function");
    assert_eq!(tool.function.name, "get_weather");
    assert_eq!(
        tool.function.parameters.as_ref().unwrap()["required"],
        json!(["city"])
    );

    let roles: Vec<Role> = req.messages.iter().map(|m| m.role).collect();
    assert_eq!(
        roles,
        [Role::System, Role::User, Role::Assistant, Role::Tool]
    );
    assert_eq!(
        req.messages[0].content,
        Some(Content::Text("You are terse.".into()))
    );
    let assistant = &req.messages[2];
    assert_eq!(assistant.content, Some(Content::Text("Checking.".into())));
    let call = &assistant.tool_calls.as_ref().unwrap()[0];
    assert_eq!(call.id, "toolu_01A");
    assert_eq!(call.function.arguments, r#"{"city":"Paris"}"#);
    assert_eq!(req.messages[3].tool_call_id.as_deref(), Some("toolu_01A"));
    assert_eq!(
        req.messages[3].content,
        Some(Content::Text(r#"{"temp_c":18}"#.into()))
    );
}

#[test]
fn every_request_block_kind_maps() {
    let blocks: Vec<Value> = serde_json::from_str(fixture!("request_blocks.json")).unwrap();
    let (user_side, assistant_side): (Vec<_>, Vec<_>) = blocks.into_iter().partition(|b| {
        !matches!(
            b["type"].as_str(),
            Some("tool_use" | "thinking" | "redacted_thinking")
        )
    });
    let body = json!({"model": "claude-sonnet-4-5", "max_tokens": 100, "messages": [
        {"role": "assistant", "content": assistant_side},
        {"role": "user", "content": user_side}
    ]});
    let req = request_to_canonical(body.to_string().as_bytes()).unwrap();
    let roles: Vec<Role> = req.messages.iter().map(|m| m.role).collect();
    assert_eq!(roles, [Role::Assistant, Role::Tool, Role::Tool, Role::User]);

    let a = &req.messages[0];
    assert_eq!(a.content, None);
    assert_eq!(a.reasoning_content.as_deref(), Some("Let me reason..."));
    assert_eq!(
        a.extra["thinking_blocks"],
        json!([
            {"type": "thinking", "thinking": "Let me reason...", "signature": "EqQBCgIYAhIM..."},
            {"type": "redacted_thinking", "data": "EmwKAhgBEgy..."}
        ])
    );
    assert_eq!(a.tool_calls.as_ref().unwrap()[0].id, "toolu_01A");

    assert_eq!(
        req.messages[1].content,
        Some(Content::Text(r#"{"temp_c":18}"#.into()))
    );
    assert_eq!(req.messages[2].tool_call_id.as_deref(), Some("toolu_01B"));
    assert_eq!(
        req.messages[2].content,
        Some(Content::Text("Error: not found".into())),
        "is_error becomes a prefix"
    );

    let Some(Content::Parts(parts)) = &req.messages[3].content else {
        panic!("user parts expected");
    };
    let parts = serde_json::to_value(parts).unwrap();
    assert_eq!(
        parts,
        json!([
            {"type": "text", "text": "Describe this.", "cache_control": {"type": "ephemeral"}},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
            {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0=", "filename": "report.pdf"}},
            {"type": "text", "text": "plain text doc"}
        ])
    );
    // And back to Anthropic: the same blocks, tool results first.
    let encoded: Value = serde_json::from_slice(
        &AnthropicAdapter
            .encode_chat(&req, &super::target("claude-sonnet-4-5"))
            .unwrap(),
    )
    .unwrap();
    let user = &encoded["messages"][1]["content"];
    assert_eq!(user[0]["type"], "tool_result");
    assert_eq!(user[1]["content"], "Error: not found");
    assert_eq!(user[2], user_side_block(0));
    assert_eq!(user[3], user_side_block(1));
    assert_eq!(user[4], user_side_block(2));
    assert_eq!(user[5], user_side_block(3));
    assert_eq!(
        encoded["messages"][0]["content"][0]["signature"],
        "EqQBCgIYAhIM..."
    );
}

fn user_side_block(i: usize) -> Value {
    let blocks: Vec<Value> = serde_json::from_str(fixture!("request_blocks.json")).unwrap();
    blocks[i].clone()
}

#[test]
fn validation_names_the_missing_field() {
    let cases = [
        (
            json!({"max_tokens": 10, "messages": [{"role": "user", "content": "x"}]}),
            "model",
        ),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}]}),
            "max_tokens",
        ),
        (json!({"model": "m", "max_tokens": 10}), "messages"),
        (
            json!({"model": "m", "max_tokens": 10, "messages": []}),
            "messages",
        ),
    ];
    for (body, field) in cases {
        let err = request_to_canonical(body.to_string().as_bytes()).unwrap_err();
        assert!(
            matches!(&err, TranslateError::InvalidRequest { param: Some(p), .. } if p == field),
            "{field}: {err:?}"
        );
    }
    assert!(request_to_canonical(b"{").is_err());
    let bad_role =
        json!({"model": "m", "max_tokens": 1, "messages": [{"role": "system", "content": "x"}]});
    assert!(request_to_canonical(bad_role.to_string().as_bytes()).is_err());
}

#[test]
fn thinking_top_k_stream_and_parallel_flag() {
    let body = json!({"model": "m", "max_tokens": 20000, "stream": true, "top_k": 5,
        "thinking": {"type": "enabled", "budget_tokens": 10000},
        "tools": [{"name": "f", "input_schema": {"type": "object"}}],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
        "system": [{"type": "text", "text": "Cached.", "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": [{"type": "text", "text": "x"}]}]});
    let req = request_to_canonical(body.to_string().as_bytes()).unwrap();
    assert_eq!(req.reasoning_effort.as_deref(), Some("medium"));
    assert_eq!(
        req.extra["thinking"],
        json!({"type": "enabled", "budget_tokens": 10000})
    );
    assert_eq!(req.extra["top_k"], 5);
    assert!(req.is_stream() && req.include_usage());
    assert_eq!(req.tool_choice, Some(ToolChoice::Mode("required".into())));
    assert_eq!(req.parallel_tool_calls, Some(false));
    assert!(
        matches!(&req.messages[0].content, Some(Content::Parts(p)) if matches!(&p[0], ContentPart::Text { extra, .. } if extra.contains_key("cache_control")))
    );
    assert_eq!(req.messages[1].content, Some(Content::Text("x".into())));
    let server_tool = json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": "x"}],
        "tools": [{"type": "web_search_20250305", "name": "web_search"}]});
    assert!(request_to_canonical(server_tool.to_string().as_bytes()).is_err());
}

#[test]
fn response_round_trips_to_the_anthropic_shape() {
    let original: Value = serde_json::from_str(fixture!("response_tool_use.json")).unwrap();
    let canonical = AnthropicAdapter
        .decode_chat(fixture!("response_tool_use.json").as_bytes())
        .unwrap();
    let out: Value = serde_json::from_slice(&response_from_canonical(
        &canonical,
        "claude-sonnet-4-5-20250929",
    ))
    .unwrap();
    for field in [
        "id",
        "type",
        "role",
        "model",
        "content",
        "stop_reason",
        "stop_sequence",
    ] {
        assert_eq!(out[field], original[field], "{field}");
    }
    assert_eq!(
        out["usage"],
        json!({"input_tokens": 377, "output_tokens": 65, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0})
    );

    let thinking = AnthropicAdapter
        .decode_chat(fixture!("response_thinking_cache.json").as_bytes())
        .unwrap();
    let out: Value = serde_json::from_slice(&response_from_canonical(&thinking, "claude")).unwrap();
    let original: Value = serde_json::from_str(fixture!("response_thinking_cache.json")).unwrap();
    assert_eq!(out["content"], original["content"]);
    assert_eq!(out["stop_reason"], "end_turn");
    assert_eq!(
        out["usage"]["input_tokens"], 21,
        "input excludes cache reads and writes"
    );
    assert_eq!(out["usage"]["cache_read_input_tokens"], 3000);
    assert_eq!(out["usage"]["cache_creation_input_tokens"], 1500);
}

#[test]
fn openai_response_becomes_anthropic() {
    let resp: ChatResponse = serde_json::from_value(json!({
        "id": "chatcmpl-AB12", "object": "chat.completion", "created": 1, "model": "gpt-4o",
        "choices": [{"index": 0, "finish_reason": "length", "message": {"role": "assistant",
            "content": "Partial", "reasoning_content": "hmm",
            "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "not json"}}]}}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 5, "total_tokens": 105,
            "prompt_tokens_details": {"cached_tokens": 60}}
    }))
    .unwrap();
    let out: Value = serde_json::from_slice(&response_from_canonical(&resp, "my-alias")).unwrap();
    assert_eq!(
        out,
        json!({
            "id": "msg_chatcmplAB12", "type": "message", "role": "assistant", "model": "my-alias",
            "content": [
                {"type": "thinking", "thinking": "hmm", "signature": ""},
                {"type": "text", "text": "Partial"},
                {"type": "tool_use", "id": "call_1", "name": "f", "input": {"arguments": "not json"}}
            ],
            "stop_reason": "max_tokens", "stop_sequence": null,
            "usage": {"input_tokens": 40, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 60, "output_tokens": 5}
        })
    );
}

/// Runs chunks through an encoder and parses its output back into (event name, payload).
fn encode_all(chunks: &[ChatChunk], model: &str) -> (Vec<u8>, Vec<(String, StreamEvent)>) {
    let mut enc = AnthropicStreamEncoder::new(model);
    let mut wire = Vec::new();
    for c in chunks {
        enc.encode(c).iter().for_each(|b| wire.extend_from_slice(b));
    }
    enc.finish().iter().for_each(|b| wire.extend_from_slice(b));
    let events = SseParser::new()
        .feed(&wire)
        .unwrap()
        .into_iter()
        .map(|e| {
            let name = e.event.clone().unwrap();
            let ev: StreamEvent = serde_json::from_slice(&e.data).unwrap();
            assert_eq!(
                ev.name(),
                Some(name.as_str()),
                "event name equals data type"
            );
            (name, ev)
        })
        .collect();
    (wire, events)
}

fn names(events: &[(String, StreamEvent)]) -> Vec<&str> {
    events.iter().map(|(n, _)| n.as_str()).collect()
}

#[test]
fn stream_encoder_reproduces_the_real_sequence() {
    let (chunks, _) = decode_everywhere(fixture!("stream_tool_use.sse"));
    let (wire, events) = encode_all(&chunks, "claude-sonnet-4-5-20250929");
    assert_eq!(
        names(&events),
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    let StreamEvent::MessageStart { message } = &events[0].1 else {
        panic!("message_start first");
    };
    assert_eq!(message.id, "msg_019Q1hrJbZG26Fb9BQhrkHEr");
    assert_eq!(message.stop_reason, None);
    let StreamEvent::MessageDelta { delta, usage } = &events[8].1 else {
        panic!("message_delta");
    };
    assert_eq!(delta.stop_reason.as_deref(), Some("tool_use"));
    assert_eq!(usage.as_ref().unwrap().output_tokens, Some(65));
    // Decoding our own output gives back the same canonical chunks.
    let (again, end) = decode_stream(&wire, wire.len());
    end.unwrap();
    assert_eq!(again, chunks);
}

#[test]
fn stream_encoder_thinking_round_trip() {
    let (chunks, _) = decode_everywhere(fixture!("stream_thinking.sse"));
    let (wire, events) = encode_all(&chunks, "claude-sonnet-4-5-20250929");
    assert_eq!(
        names(&events),
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    let (again, end) = decode_stream(&wire, wire.len());
    end.unwrap();
    assert_eq!(again, chunks);
}

fn chunk(delta: Delta, finish: Option<FinishReason>) -> ChatChunk {
    ChatChunk::new("chatcmpl-9", "gpt-4o", 1).with_delta(delta, finish)
}

fn tool_delta(index: u32, id: Option<&str>, name: Option<&str>, args: &str) -> Delta {
    Delta {
        tool_calls: Some(vec![ToolCallDelta {
            index,
            id: id.map(str::to_owned),
            kind: id.map(|_| "function".to_owned()),
            function: Some(FunctionCallDelta {
                name: name.map(str::to_owned),
                arguments: Some(args.to_owned()),
            }),
        }]),
        ..Delta::default()
    }
}

#[test]
fn openai_chunks_with_parallel_tools_become_anthropic_events() {
    let mut usage = Usage::new(100, 20);
    usage.prompt_tokens_details = Some(PromptTokensDetails {
        cached_tokens: 30,
        cache_creation_tokens: 0,
    });
    let mut usage_chunk = ChatChunk::new("chatcmpl-9", "gpt-4o", 1);
    usage_chunk.usage = Some(usage);
    let chunks = vec![
        chunk(
            Delta {
                role: Some(Role::Assistant),
                content: Some(String::new()),
                ..Delta::default()
            },
            None,
        ),
        chunk(
            Delta {
                content: Some("Both:".into()),
                ..Delta::default()
            },
            None,
        ),
        chunk(tool_delta(0, Some("call_a"), Some("get_weather"), ""), None),
        chunk(tool_delta(0, None, None, "{\"city\":"), None),
        chunk(tool_delta(0, None, None, "\"Paris\"}"), None),
        chunk(
            tool_delta(
                1,
                Some("call_b"),
                Some("get_weather"),
                "{\"city\":\"Rome\"}",
            ),
            None,
        ),
        chunk(Delta::default(), Some(FinishReason::ToolCalls)),
        usage_chunk,
    ];
    let (_, events) = encode_all(&chunks, "my-alias");
    assert_eq!(
        names(&events),
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    let json: Vec<Value> = events
        .iter()
        .map(|(_, e)| serde_json::to_value(e).unwrap())
        .collect();
    assert_eq!(json[0]["message"]["id"], "msg_chatcmpl9");
    assert_eq!(json[0]["message"]["model"], "my-alias");
    assert_eq!(
        json[0]["message"]["usage"]["input_tokens"], 0,
        "unknown until the end"
    );
    assert_eq!(
        json[4],
        json!({"type": "content_block_start", "index": 1, "content_block":
            {"type": "tool_use", "id": "call_a", "name": "get_weather", "input": {}}})
    );
    assert_eq!(json[8]["index"], 2);
    assert_eq!(json[8]["content_block"]["id"], "call_b");
    assert_eq!(
        json[11],
        json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null},
            "usage": {"input_tokens": 70, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 30, "output_tokens": 20}})
    );
}

#[test]
fn finish_without_usage_and_error_events() {
    let mut enc = AnthropicStreamEncoder::new("m");
    let first = enc.encode(&chunk(
        Delta {
            content: Some("Hi".into()),
            ..Delta::default()
        },
        None,
    ));
    assert_eq!(first.len(), 3, "message_start, block start, delta");
    assert!(
        enc.encode(&chunk(Delta::default(), Some(FinishReason::Stop)))
            .len()
            == 1,
        "block stop only: waits for usage"
    );
    let tail: Vec<u8> = enc.finish().concat();
    let tail = String::from_utf8(tail).unwrap();
    assert!(tail.starts_with("event: message_delta\ndata: "));
    assert!(tail.contains(r#""stop_reason":"end_turn""#));
    assert!(tail.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));
    assert!(enc.finish().is_empty(), "nothing after message_stop");

    let mut enc = AnthropicStreamEncoder::new("m");
    enc.encode(&chunk(
        Delta {
            content: Some("Hi".into()),
            ..Delta::default()
        },
        None,
    ));
    let err = enc.error("overloaded_error", "Overloaded");
    assert_eq!(
        &err[..],
        &b"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"[..]
    );
    assert!(enc.finish().is_empty() && enc.encode(&chunk(Delta::default(), None)).is_empty());
    assert_eq!(
        serde_json::from_slice::<Value>(&error_body(
            "invalid_request_error",
            "max_tokens: Field required"
        ))
        .unwrap(),
        json!({"type": "error", "error": {"type": "invalid_request_error", "message": "max_tokens: Field required"}})
    );
}
