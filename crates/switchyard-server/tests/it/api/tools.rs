//! Tool calling and structured output for every family.

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::{chat_body, json_of, per_family, user, Family, OpenAiStream};

per_family!(
    tool_call,
    tool_call_stream,
    parallel_tool_calls,
    tool_result_round_trip,
    json_schema_response
);

fn tools() -> Value {
    json!([
        {"type": "function", "function": {
            "name": "get_weather",
            "description": "Current weather for a city",
            "parameters": {"type": "object",
                "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
                "required": ["city", "unit"]}
        }},
        {"type": "function", "function": {
            "name": "get_time",
            "description": "Current time in a city",
            "parameters": {"type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"]}
        }}
    ])
}

/// The arguments the sim samples from `get_weather`'s schema.
fn assert_weather_args(args: &str) {
    let v: Value = serde_json::from_str(args)
        .unwrap_or_else(|e| panic!("arguments are not JSON ({e}): {args}"));
    assert_eq!(v, json!({"city": "sample", "unit": "c"}), "{args}");
}

async fn tool_call(f: Family) {
    let h = f.start().await;
    let resp = h
        .post(
            "/v1/chat/completions",
            chat_body(
                &f.id(),
                user("What is the weather in Paris?"),
                json!({"tools": tools()}),
            ),
        )
        .await;
    let (status, _, body) = json_of(resp).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let choice = &body["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls", "{body}");
    let calls = choice["message"]["tool_calls"]
        .as_array()
        .unwrap_or_else(|| panic!("no tool_calls: {body}"));
    assert_eq!(calls.len(), 1, "{body}");
    let c = &calls[0];
    assert!(c["id"].as_str().is_some_and(|s| !s.is_empty()), "{body}");
    assert_eq!(c["type"], "function", "{body}");
    assert_eq!(c["function"]["name"], "get_weather", "{body}");
    assert_weather_args(
        c["function"]["arguments"]
            .as_str()
            .expect("arguments string"),
    );
}

async fn tool_call_stream(f: Family) {
    let h = f.start().await;
    let resp = h
        .post(
            "/v1/chat/completions",
            chat_body(
                &f.id(),
                user("What is the weather in Paris?"),
                json!({"tools": tools(), "stream": true}),
            ),
        )
        .await;
    let s = OpenAiStream::read(resp).await;
    assert!(s.done, "{:?}", s.data);
    assert_eq!(
        s.finish_reason().as_deref(),
        Some("tool_calls"),
        "{:?}",
        s.data
    );
    let calls = s.tool_calls();
    assert_eq!(calls.len(), 1, "{:?}", s.data);
    let (id, name, args) = &calls[0];
    assert!(!id.is_empty(), "{:?}", s.data);
    assert_eq!(name, "get_weather");
    assert_weather_args(args);
}

async fn parallel_tool_calls(f: Family) {
    let h = f.start().await;
    let resp = h
        .post(
            "/v1/chat/completions",
            chat_body(
                &f.id(),
                user("Use both tools in parallel for Paris"),
                json!({"tools": tools()}),
            ),
        )
        .await;
    let (status, _, body) = json_of(resp).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let calls = body["choices"][0]["message"]["tool_calls"]
        .as_array()
        .unwrap_or_else(|| panic!("no tool_calls: {body}"));
    let names: Vec<&str> = calls
        .iter()
        .filter_map(|c| c["function"]["name"].as_str())
        .collect();
    assert_eq!(names, ["get_weather", "get_time"], "{body}");
    let ids: Vec<&str> = calls.iter().filter_map(|c| c["id"].as_str()).collect();
    assert_eq!(ids.len(), 2, "{body}");
    assert_ne!(ids[0], ids[1], "{body}");
    assert_weather_args(calls[0]["function"]["arguments"].as_str().expect("args"));
}

/// Second turn: the assistant's tool call and the tool's result go back; the model answers
/// from the result.
async fn tool_result_round_trip(f: Family) {
    let h = f.start().await;
    let first = h
        .post(
            "/v1/chat/completions",
            chat_body(
                &f.id(),
                user("What is the weather in Paris?"),
                json!({"tools": tools()}),
            ),
        )
        .await;
    let (status, _, body) = json_of(first).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let assistant = body["choices"][0]["message"].clone();
    let call_id = assistant["tool_calls"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no tool call: {body}"))
        .to_owned();
    let messages = json!([
        {"role": "user", "content": "What is the weather in Paris?"},
        assistant,
        {"role": "tool", "tool_call_id": call_id, "content": "18C and sunny"}
    ]);
    let second = h
        .post(
            "/v1/chat/completions",
            chat_body(&f.id(), messages, json!({"tools": tools()})),
        )
        .await;
    let (status, _, body) = json_of(second).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Gemini takes a tool result as an object: the text arrives as `{"content": ...}`.
    let text = body["choices"][0]["message"]["content"]
        .as_str()
        .unwrap_or_else(|| panic!("no content: {body}"));
    if f.provider == "gemini" {
        assert_eq!(text, r#"tool said: {"content":"18C and sunny"}"#, "{body}");
    } else {
        assert_eq!(text, "tool said: 18C and sunny", "{body}");
    }
    assert_eq!(body["choices"][0]["finish_reason"], "stop", "{body}");
}

async fn json_schema_response(f: Family) {
    let h = f.start().await;
    let schema = json!({
        "type": "object",
        "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
        "required": ["city", "population"],
        "additionalProperties": false
    });
    let resp = h
        .post(
            "/v1/chat/completions",
            chat_body(
                &f.id(),
                user("Give me a city as JSON"),
                json!({"response_format": {"type": "json_schema",
                    "json_schema": {"name": "city", "strict": true, "schema": schema}}}),
            ),
        )
        .await;
    let (status, _, body) = json_of(resp).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let content = body["choices"][0]["message"]["content"]
        .as_str()
        .unwrap_or_else(|| panic!("no content: {body}"));
    let v: Value = serde_json::from_str(content)
        .unwrap_or_else(|e| panic!("content is not JSON ({e}): {content}"));
    assert!(v["city"].is_string(), "{v}");
    assert!(v["population"].is_i64(), "{v}");
}
