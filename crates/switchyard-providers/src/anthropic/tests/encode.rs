//! Canonical request → Anthropic body.

use serde_json::{json, Value};
use switchyard_types::openai::ChatRequest;
use switchyard_types::TranslateError;

use super::{encode, fixture, target};
use crate::adapter::{Adapter, Dialect};
use crate::anthropic::{ingress, AnthropicAdapter, DEFAULT_MAX_TOKENS, JSON_OBJECT_INSTRUCTION};

fn encode_err(openai: Value) -> TranslateError {
    let req: ChatRequest = serde_json::from_value(openai).unwrap();
    AnthropicAdapter
        .encode_chat(&req, &target("claude-sonnet-4-5"))
        .unwrap_err()
}

#[test]
fn adapter_basics() {
    let a = AnthropicAdapter;
    assert_eq!(a.dialect(), Dialect::Anthropic);
    assert_eq!(
        a.chat_url(&target("m"), true),
        "https://api.anthropic.com/v1/messages"
    );
    assert_eq!(a.static_headers(), &[("anthropic-version", "2023-06-01")]);
    assert_eq!(a.embeddings_url(&target("m")), None);
    let req = serde_json::from_value(json!({"model": "m", "input": "x"})).unwrap();
    assert!(matches!(
        a.encode_embeddings(&req, &target("m")),
        Err(TranslateError::Unsupported { .. })
    ));
    assert!(a.decode_embeddings(b"{}", &req).is_err());
}

#[test]
fn system_and_developer_are_hoisted_and_defaults_applied() {
    let body = encode(json!({
        "model": "alias",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}]},
            {"role": "user", "content": "Weather in Paris?"}
        ],
        "seed": 7, "presence_penalty": 0.5, "logit_bias": {"1": 2}, "n": 1
    }));
    assert_eq!(
        body,
        json!({
            "model": "claude-sonnet-4-5",
            "max_tokens": DEFAULT_MAX_TOKENS,
            "system": "You are terse.\n\nAnswer in French.",
            "messages": [{"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]}]
        }),
        "seed, penalties, logit_bias and n=1 are dropped"
    );
}

#[test]
fn system_with_cache_control_stays_blocks() {
    let body = encode(json!({
        "model": "m",
        "messages": [
            {"role": "system", "content": [
                {"type": "text", "text": "Long policy.", "cache_control": {"type": "ephemeral"}, "junk": 1}
            ]},
            {"role": "user", "content": "hi"}
        ]
    }));
    assert_eq!(
        body["system"],
        json!([{"type": "text", "text": "Long policy.", "cache_control": {"type": "ephemeral"}}])
    );
}

#[test]
fn images_and_files_become_blocks() {
    let body = encode(json!({
        "model": "m",
        "messages": [{"role": "user", "content": [
            {"type": "text", "text": "Describe this."},
            {"type": "text", "text": ""},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png", "detail": "high"}},
            {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0=", "filename": "report.pdf"}}
        ]}]
    }));
    assert_eq!(
        body["messages"][0]["content"],
        json!([
            {"type": "text", "text": "Describe this."},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}},
            {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="}, "title": "report.pdf"}
        ]),
        "empty text is never sent"
    );
    let err = encode_err(
        json!({"model": "m", "messages": [{"role": "user", "content": [
        {"type": "input_audio", "input_audio": {"data": "AAA", "format": "wav"}}]}]}),
    );
    assert_eq!(
        err,
        TranslateError::Unsupported {
            param: "messages[0].content[0]".into(),
            provider: "anthropic".into()
        }
    );
    let err = encode_err(
        json!({"model": "m", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "ftp://x/y.png"}}]}]}),
    );
    assert!(
        matches!(err, TranslateError::InvalidRequest { param: Some(p), .. } if p == "messages[0].content[0]")
    );
}

#[test]
fn tool_results_are_grouped_into_one_user_turn_first() {
    let body = encode(json!({
        "model": "m",
        "messages": [
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": "toolu_01A", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                {"id": "call.b:2", "type": "function", "function": {"name": "get_weather", "arguments": ""}}
            ]},
            {"role": "tool", "tool_call_id": "toolu_01A", "content": "{\"temp_c\":18}"},
            {"role": "tool", "tool_call_id": "call.b:2", "content": [{"type": "text", "text": "not found"}]},
            {"role": "user", "content": "Thanks. Also Berlin?"}
        ]
    }));
    assert_eq!(
        body["messages"],
        json!([
            {"role": "user", "content": [{"type": "text", "text": "Weather in Paris and Rome?"}]},
            {"role": "assistant", "content": [
                {"type": "tool_use", "id": "toolu_01A", "name": "get_weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "call_b_2", "name": "get_weather", "input": {}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01A", "content": "{\"temp_c\":18}"},
                {"type": "tool_result", "tool_use_id": "call_b_2", "content": [{"type": "text", "text": "not found"}]},
                {"type": "text", "text": "Thanks. Also Berlin?"}
            ]}
        ])
    );
}

#[test]
fn invalid_tool_arguments_are_refused_with_param() {
    let err = encode_err(json!({"model": "m", "messages": [
        {"role": "user", "content": "x"},
        {"role": "assistant", "tool_calls": [{"id": "a", "type": "function", "function": {"name": "f", "arguments": "{not json"}}]}
    ]}));
    assert!(
        matches!(&err, TranslateError::InvalidRequest { param: Some(p), .. } if p == "messages[1].tool_calls[0].function.arguments"),
        "{err:?}"
    );
    let err = encode_err(json!({"model": "m", "messages": [{"role": "tool", "content": "x"}]}));
    assert!(
        matches!(err, TranslateError::InvalidRequest { param: Some(p), .. } if p == "messages[0].tool_call_id")
    );
}

#[test]
fn tools_and_tool_choice_map() {
    let tools = json!([{"type": "function", "function": {"name": "get_weather", "description": "Current weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
        {"type": "function", "function": {"name": "now"}}]);
    let with = |choice: Value, parallel: Value| {
        encode(
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}],
            "tools": tools, "tool_choice": choice, "parallel_tool_calls": parallel}),
        )
    };
    let body = with(json!("auto"), Value::Null);
    assert_eq!(
        body["tools"],
        json!([
            {"name": "get_weather", "description": "Current weather", "input_schema":
                {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
            {"name": "now", "input_schema": {"type": "object", "properties": {}}}
        ])
    );
    assert_eq!(body["tool_choice"], json!({"type": "auto"}));
    assert_eq!(
        with(json!("required"), Value::Null)["tool_choice"],
        json!({"type": "any"})
    );
    assert_eq!(
        with(json!("none"), json!(false))["tool_choice"],
        json!({"type": "none"})
    );
    assert_eq!(
        with(
            json!({"type": "function", "function": {"name": "now"}}),
            json!(false)
        )["tool_choice"],
        json!({"type": "tool", "name": "now", "disable_parallel_tool_use": true})
    );
    assert_eq!(
        with(Value::Null, json!(false))["tool_choice"],
        json!({"type": "auto", "disable_parallel_tool_use": true})
    );
    let no_tools = encode(
        json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "tool_choice": "none"}),
    );
    assert!(no_tools.get("tool_choice").is_none() && no_tools.get("tools").is_none());
}

#[test]
fn sampling_stop_user_stream_and_n() {
    let body = encode(json!({
        "model": "m", "messages": [{"role": "user", "content": "x"}],
        "max_tokens": 10, "max_completion_tokens": 300, "temperature": 1.7, "top_p": 0.9,
        "stop": ["END", "  ", "\n"], "user": "6f1c2a9e", "stream": true,
        "stream_options": {"include_usage": true}, "top_k": 40
    }));
    assert_eq!(body["max_tokens"], 300);
    assert_eq!(body["temperature"], 1.0, "clamped into Anthropic's range");
    assert_eq!(body["top_p"], 0.9);
    assert_eq!(body["top_k"], 40);
    assert_eq!(body["stop_sequences"], json!(["END"]));
    assert_eq!(body["metadata"], json!({"user_id": "6f1c2a9e"}));
    assert_eq!(body["stream"], true);
    assert!(body.get("stream_options").is_none());
    let single = encode(
        json!({"model": "m", "messages": [{"role": "user", "content": "x"}],
        "stop": "END", "user": "bob@example.com", "temperature": 0.3}),
    );
    assert_eq!(single["stop_sequences"], json!(["END"]));
    assert_eq!(single["temperature"], 0.3);
    assert!(
        single.get("metadata").is_none(),
        "e-mail user ids are dropped"
    );
    assert_eq!(
        encode_err(json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "n": 2})),
        TranslateError::Unsupported {
            param: "n".into(),
            provider: "anthropic".into()
        }
    );
}

#[test]
fn reasoning_effort_becomes_a_thinking_budget() {
    let body = encode(
        json!({"model": "m", "messages": [{"role": "user", "content": "x"}],
        "reasoning_effort": "medium", "max_completion_tokens": 1000, "temperature": 0.2, "top_p": 0.5, "top_k": 5}),
    );
    assert_eq!(
        body["thinking"],
        json!({"type": "enabled", "budget_tokens": 8192})
    );
    assert_eq!(body["max_tokens"], 9192, "budget plus the client's cap");
    for dropped in ["temperature", "top_p", "top_k"] {
        assert!(
            body.get(dropped).is_none(),
            "{dropped} is not allowed with thinking"
        );
    }
    let big = encode(
        json!({"model": "m", "messages": [{"role": "user", "content": "x"}],
        "reasoning_effort": "low", "max_tokens": 20000, "top_p": 0.97}),
    );
    assert_eq!(big["thinking"]["budget_tokens"], 2048);
    assert_eq!(big["max_tokens"], 20000);
    assert_eq!(big["top_p"], 0.97);
    let none = encode(
        json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "reasoning_effort": "none"}),
    );
    assert!(none.get("thinking").is_none());
    let forced = encode(
        json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "reasoning_effort": "high",
        "tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": "required"}),
    );
    assert!(
        forced.get("thinking").is_none(),
        "forced tool use wins over thinking"
    );
    let explicit = encode(
        json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "reasoning_effort": "high",
        "thinking": {"type": "enabled", "budget_tokens": 1500}, "max_tokens": 4000}),
    );
    assert_eq!(
        explicit["thinking"],
        json!({"type": "enabled", "budget_tokens": 1500})
    );
    assert!(matches!(
        encode_err(json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "reasoning_effort": "extreme"})),
        TranslateError::InvalidRequest { param: Some(p), .. } if p == "reasoning_effort"
    ));
}

#[test]
fn thinking_blocks_round_trip_to_anthropic() {
    let resp = AnthropicAdapter
        .decode_chat(fixture!("response_thinking_cache.json").as_bytes())
        .unwrap();
    let assistant = serde_json::to_value(&resp.choices[0].message).unwrap();
    let body = encode(json!({"model": "m", "messages": [
        {"role": "user", "content": "Weather?"},
        assistant,
        {"role": "user", "content": "And tomorrow? "}
    ]}));
    assert_eq!(
        body["messages"][1]["content"],
        json!([
            {"type": "thinking", "thinking": "Let me reason...", "signature": "EqQBCgIYAhIM..."},
            {"type": "redacted_thinking", "data": "EmwKAhgBEgy..."},
            {"type": "text", "text": "Paris is sunny."}
        ])
    );
    // Reasoning from elsewhere has no signature and is not sent.
    let body = encode(json!({"model": "m", "messages": [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": "Sunny. ", "reasoning_content": "deepseek thoughts"}
    ]}));
    assert_eq!(
        body["messages"][1],
        json!({"role": "assistant", "content": [{"type": "text", "text": "Sunny."}]}),
        "prefill trailing whitespace trimmed, unsigned reasoning dropped"
    );
}

#[test]
fn response_format_uses_output_config_or_instruction() {
    let body = encode(
        json!({"model": "m", "messages": [{"role": "user", "content": "x"}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "w", "strict": true, "schema": {
            "type": "object",
            "properties": {"temp": {"type": "number", "minimum": -90}, "maximum": {"type": "string", "maxLength": 3}},
            "required": ["temp"], "additionalProperties": false}}}}),
    );
    assert_eq!(
        body["output_config"],
        json!({"format": {"type": "json_schema", "schema": {
            "type": "object",
            "properties": {"temp": {"type": "number"}, "maximum": {"type": "string"}},
            "required": ["temp"], "additionalProperties": false}}})
    );
    assert!(body.get("tools").is_none(), "no synthetic tool");
    let body = encode(
        json!({"model": "m", "messages": [{"role": "system", "content": "Be brief."},
        {"role": "user", "content": "x"}], "response_format": {"type": "json_object"}}),
    );
    assert_eq!(
        body["system"],
        json!(format!("Be brief.\n\n{JSON_OBJECT_INSTRUCTION}"))
    );
}

#[test]
fn anthropic_request_survives_ingress_then_encode() {
    let original: Value = serde_json::from_str(fixture!("request_tool_loop.json")).unwrap();
    let canonical =
        ingress::request_to_canonical(fixture!("request_tool_loop.json").as_bytes()).unwrap();
    let body: Value = serde_json::from_slice(
        &AnthropicAdapter
            .encode_chat(&canonical, &target("claude-sonnet-4-5"))
            .unwrap(),
    )
    .unwrap();
    for field in [
        "model",
        "max_tokens",
        "tools",
        "stop_sequences",
        "temperature",
        "metadata",
    ] {
        assert_eq!(body[field], original[field], "{field}");
    }
    assert_eq!(body["system"], "You are terse.");
    assert_eq!(body["tool_choice"], json!({"type": "auto"}));
    assert_eq!(body["messages"][1], original["messages"][1]);
    assert_eq!(body["messages"][2], original["messages"][2]);
    assert_eq!(
        body["messages"][0],
        json!({"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]})
    );
}
