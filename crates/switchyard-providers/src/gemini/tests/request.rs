//! Canonical request → Gemini request.

use serde_json::{json, Value};
use switchyard_types::TranslateError;

use super::{encode, encode_err, encode_for};

/// The request of providers.md 3.1, verbatim.
const FIXTURE_3_1: &str = r#"{
  "contents": [
    {"role": "user", "parts": [{"text": "What's the weather in Paris?"}, {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}]},
    {"role": "model", "parts": [{"functionCall": {"id": "fc_1", "name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "CiQBVKhc7..."}]},
    {"role": "user", "parts": [{"functionResponse": {"id": "fc_1", "name": "get_weather", "response": {"output": {"temp_c": 18}}}}]}
  ],
  "systemInstruction": {"parts": [{"text": "You are terse."}]},
  "tools": [{"functionDeclarations": [{"name": "get_weather", "description": "Current weather for a city", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]}],
  "toolConfig": {"functionCallingConfig": {"mode": "AUTO"}},
  "safetySettings": [{"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "threshold": "BLOCK_ONLY_HIGH"}],
  "generationConfig": {
    "temperature": 0.2,
    "topP": 0.95,
    "topK": 40,
    "candidateCount": 1,
    "maxOutputTokens": 1024,
    "stopSequences": ["END"],
    "presencePenalty": 0.0,
    "frequencyPenalty": 0.0,
    "seed": 42,
    "responseMimeType": "application/json",
    "responseJsonSchema": {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]},
    "responseLogprobs": true,
    "logprobs": 3,
    "thinkingConfig": {"thinkingBudget": 1024, "includeThoughts": false}
  }
}"#;

/// The OpenAI request a client would send for the same conversation.
const OPENAI_3_1: &str = r#"{
  "model": "alias",
  "messages": [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": [
      {"type": "text", "text": "What's the weather in Paris?"},
      {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}]},
    {"role": "assistant", "content": null,
     "tool_calls": [{"id": "fc_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}],
     "thought_signatures": {"fc_1": "CiQBVKhc7..."}},
    {"role": "tool", "tool_call_id": "fc_1", "content": "{\"output\": {\"temp_c\": 18}}"}
  ],
  "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Current weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": false}, "strict": true}}],
  "tool_choice": "auto",
  "temperature": 0.2, "top_p": 0.95, "top_k": 40, "n": 1, "max_completion_tokens": 1024, "stop": "END",
  "presence_penalty": 0.0, "frequency_penalty": 0.0, "seed": 42,
  "response_format": {"type": "json_schema", "json_schema": {"name": "a", "strict": true,
    "schema": {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"], "additionalProperties": false}}},
  "user": "user-1234", "parallel_tool_calls": true
}"#;

#[test]
fn reference_request_round_trips_to_the_documented_shape() {
    let fixture: Value = serde_json::from_str(FIXTURE_3_1).unwrap();
    let v = encode(OPENAI_3_1);
    assert_eq!(v["contents"], fixture["contents"]);
    assert_eq!(v["systemInstruction"], fixture["systemInstruction"]);
    assert_eq!(v["tools"], fixture["tools"]);
    assert_eq!(v["toolConfig"], fixture["toolConfig"]);
    let g = &v["generationConfig"];
    for key in [
        "temperature",
        "topP",
        "topK",
        "candidateCount",
        "maxOutputTokens",
        "stopSequences",
        "presencePenalty",
        "frequencyPenalty",
        "seed",
        "responseMimeType",
    ] {
        assert_eq!(g[key], fixture["generationConfig"][key], "{key}");
    }
    assert_eq!(
        g["responseSchema"], fixture["generationConfig"]["responseJsonSchema"],
        "schema cleaned of $schema and additionalProperties"
    );
    assert!(v.get("user").is_none() && v.get("model").is_none());
    assert!(v.get("parallel_tool_calls").is_none());
}

#[test]
fn system_and_developer_messages_are_hoisted_in_order() {
    let v = encode(
        r#"{"model":"m","messages":[
          {"role":"system","content":"A"},
          {"role":"user","content":"hi"},
          {"role":"developer","content":[{"type":"text","text":"B"}]}]}"#,
    );
    assert_eq!(
        v["systemInstruction"],
        json!({"parts": [{"text": "A"}, {"text": "B"}]})
    );
    assert_eq!(
        v["contents"],
        json!([{"role": "user", "parts": [{"text": "hi"}]}])
    );
    assert!(v.get("generationConfig").is_none(), "nothing to configure");
}

#[test]
fn system_only_request_becomes_a_user_turn() {
    let v = encode(r#"{"model":"m","messages":[{"role":"system","content":"Say hi"}]}"#);
    assert_eq!(
        v["contents"],
        json!([{"role": "user", "parts": [{"text": "Say hi"}]}])
    );
    assert!(v.get("systemInstruction").is_none());
    let err = encode_err(r#"{"model":"m","messages":[]}"#);
    assert!(matches!(err, TranslateError::InvalidRequest { .. }));
}

#[test]
fn consecutive_same_role_turns_are_merged() {
    let v = encode(
        r#"{"model":"m","messages":[
          {"role":"user","content":"one"},
          {"role":"user","content":"two"},
          {"role":"assistant","content":"three"},
          {"role":"assistant","content":""},
          {"role":"assistant","content":"four"},
          {"role":"user","content":"five"}]}"#,
    );
    assert_eq!(
        v["contents"],
        json!([
            {"role": "user", "parts": [{"text": "one"}, {"text": "two"}]},
            {"role": "model", "parts": [{"text": "three"}, {"text": "four"}]},
            {"role": "user", "parts": [{"text": "five"}]}
        ])
    );
}

#[test]
fn images_become_inline_data_or_file_data() {
    let v = encode(
        r#"{"model":"m","messages":[{"role":"user","content":[
          {"type":"image_url","image_url":{"url":"data:image/webp;base64,UklGRg=="}},
          {"type":"image_url","image_url":{"url":"https://example.com/cat.PNG?size=large","detail":"high"}},
          {"type":"image_url","image_url":{"url":"https://example.com/photo"}},
          {"type":"image_url","image_url":{"url":"https://generativelanguage.googleapis.com/v1beta/files/abc"}},
          {"type":"image_url","image_url":{"url":"https://example.com/doc.pdf#page=2"}},
          {"type":"input_audio","input_audio":{"data":"UklGRg==","format":"wav"}},
          {"type":"file","file":{"filename":"a.pdf","file_data":"data:application/pdf;base64,JVBERi0="}}]}]}"#,
    );
    assert_eq!(
        v["contents"][0]["parts"],
        json!([
            {"inlineData": {"mimeType": "image/webp", "data": "UklGRg=="}},
            {"fileData": {"mimeType": "image/png", "fileUri": "https://example.com/cat.PNG?size=large"}},
            {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://example.com/photo"}},
            {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://generativelanguage.googleapis.com/v1beta/files/abc"}},
            {"fileData": {"mimeType": "application/pdf", "fileUri": "https://example.com/doc.pdf#page=2"}},
            {"inlineData": {"mimeType": "audio/wav", "data": "UklGRg=="}},
            {"inlineData": {"mimeType": "application/pdf", "data": "JVBERi0="}}
        ])
    );
}

#[test]
fn bad_media_is_rejected_with_the_part_as_param() {
    let err = encode_err(
        r#"{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"x"},
          {"type":"image_url","image_url":{"url":"ftp://example.com/a.png"}}]}]}"#,
    );
    assert_eq!(
        err,
        TranslateError::invalid(
            "media URL must be a data: URL or an http(s) URL",
            Some("messages[0].content[1]")
        )
    );
    let err = encode_err(
        r#"{"model":"m","messages":[{"role":"user","content":[{"type":"video_url","video_url":"x"}]}]}"#,
    );
    assert!(
        matches!(err, TranslateError::InvalidRequest { param: Some(p), .. } if p == "messages[0].content[0]")
    );
}

/// Two parallel calls without Gemini ids (ids synthesized by the gateway), results in reverse
/// order, then a user follow-up: results land in one user turn, in call order, with names
/// recovered by id.
#[test]
fn tool_calls_and_results_round_trip_with_names() {
    let v = encode(
        r#"{"model":"m","messages":[
          {"role":"user","content":"weather and time?"},
          {"role":"assistant","content":"Checking.","tool_calls":[
            {"id":"call_0","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
            {"id":"call_1","type":"function","function":{"name":"get_time","arguments":""}}],
           "thought_signatures":{"call_1":"c2lnMQ=="}},
          {"role":"tool","tool_call_id":"call_1","content":"14:02"},
          {"role":"tool","tool_call_id":"call_0","content":[{"type":"text","text":"{\"temp_c\":18}"}]},
          {"role":"user","content":"thanks"},
          {"role":"assistant","tool_calls":[
            {"id":"call_0","type":"function","function":{"name":"get_time","arguments":"{}"}}]},
          {"role":"tool","tool_call_id":"call_0","content":"[1,2]"}]}"#,
    );
    assert_eq!(
        v["contents"],
        json!([
            {"role": "user", "parts": [{"text": "weather and time?"}]},
            {"role": "model", "parts": [
                {"text": "Checking."},
                {"functionCall": {"id": "call_0", "name": "get_weather", "args": {"city": "Paris"}},
                 "thoughtSignature": "skip_thought_signature_validator"},
                {"functionCall": {"id": "call_1", "name": "get_time", "args": {}}, "thoughtSignature": "c2lnMQ=="}
            ]},
            {"role": "user", "parts": [
                {"functionResponse": {"id": "call_0", "name": "get_weather", "response": {"temp_c": 18}}},
                {"functionResponse": {"id": "call_1", "name": "get_time", "response": {"content": "14:02"}}},
                {"text": "thanks"}
            ]},
            {"role": "model", "parts": [
                {"functionCall": {"id": "call_0", "name": "get_time", "args": {}},
                 "thoughtSignature": "skip_thought_signature_validator"}
            ]},
            {"role": "user", "parts": [
                {"functionResponse": {"id": "call_0", "name": "get_time", "response": {"content": "[1,2]"}}}
            ]}
        ]),
        "a reused id resolves to the nearest preceding call"
    );
}

#[test]
fn invalid_tool_arguments_and_orphan_results_are_rejected() {
    let err = encode_err(
        r#"{"model":"m","messages":[{"role":"user","content":"x"},
          {"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{not json"}}]}]}"#,
    );
    assert!(matches!(
        err,
        TranslateError::InvalidRequest { param: Some(p), .. } if p == "messages[1].tool_calls[0].function.arguments"
    ));
    let err = encode_err(
        r#"{"model":"m","messages":[{"role":"user","content":"x"},
          {"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"[1]"}}]}]}"#,
    );
    assert!(matches!(err, TranslateError::InvalidRequest { .. }));
    let err = encode_err(
        r#"{"model":"m","messages":[{"role":"user","content":"x"},{"role":"tool","tool_call_id":"nope","content":"r"}]}"#,
    );
    assert_eq!(
        err,
        TranslateError::invalid(
            "no preceding assistant tool call has id `nope`",
            Some("messages[1].tool_call_id")
        )
    );
    // A legacy `function` message carries its name itself.
    let v = encode(
        r#"{"model":"m","messages":[{"role":"user","content":"x"},{"role":"function","name":"f","content":"{\"ok\":true}"}]}"#,
    );
    assert_eq!(
        v["contents"][0]["parts"][1],
        json!({"functionResponse": {"name": "f", "response": {"ok": true}}})
    );
}

#[test]
fn tool_choice_maps_to_function_calling_config() {
    let base = r#"{"model":"m","messages":[{"role":"user","content":"x"}],
      "tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"a":{"type":"string"}}}}}],
      "tool_choice":CHOICE}"#;
    let cases = [
        (r#""auto""#, json!({"mode": "AUTO"})),
        (r#""none""#, json!({"mode": "NONE"})),
        (r#""required""#, json!({"mode": "ANY"})),
        (
            r#"{"type":"function","function":{"name":"f"}}"#,
            json!({"mode": "ANY", "allowedFunctionNames": ["f"]}),
        ),
    ];
    for (choice, want) in cases {
        let v = encode(&base.replace("CHOICE", choice));
        assert_eq!(v["toolConfig"]["functionCallingConfig"], want, "{choice}");
    }
    let err = encode_err(&base.replace("CHOICE", r#""sometimes""#));
    assert!(
        matches!(err, TranslateError::InvalidRequest { param: Some(p), .. } if p == "tool_choice")
    );
    // No tools: no toolConfig.
    let v =
        encode(r#"{"model":"m","messages":[{"role":"user","content":"x"}],"tool_choice":"none"}"#);
    assert!(v.get("toolConfig").is_none() && v.get("tools").is_none());
}

#[test]
fn tools_without_properties_omit_parameters() {
    let v = encode(
        r#"{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[
          {"type":"function","function":{"name":"now","description":"time","parameters":{"type":"object","properties":{},"additionalProperties":false}}},
          {"type":"function","function":{"name":"ping"}}]}"#,
    );
    assert_eq!(
        v["tools"],
        json!([{"functionDeclarations": [{"name": "now", "description": "time"}, {"name": "ping"}]}])
    );
    let err = encode_err(
        r#"{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"web_search","function":{"name":"w"}}]}"#,
    );
    assert!(matches!(err, TranslateError::Unsupported { .. }));
}

#[test]
fn generation_config_fields_map() {
    let v = encode(
        r#"{"model":"m","messages":[{"role":"user","content":"x"}],
          "max_tokens":77,"stop":["a","b"],"n":2,"response_format":{"type":"json_object"}}"#,
    );
    assert_eq!(
        v["generationConfig"],
        json!({"maxOutputTokens": 77, "stopSequences": ["a", "b"], "candidateCount": 2, "responseMimeType": "application/json"})
    );
    let v = encode(
        r#"{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":77,"max_completion_tokens":88,"response_format":{"type":"text"}}"#,
    );
    assert_eq!(v["generationConfig"], json!({"maxOutputTokens": 88}));
}

#[test]
fn reasoning_effort_maps_to_thinking_config() {
    let req = |effort: &str| {
        format!(
            r#"{{"model":"m","messages":[{{"role":"user","content":"x"}}],"reasoning_effort":"{effort}"}}"#
        )
    };
    let cfg = |effort: &str, model: &str| -> Value {
        encode_for(&req(effort), model)["generationConfig"]["thinkingConfig"].clone()
    };
    assert_eq!(
        cfg("none", "gemini-2.5-flash"),
        json!({"thinkingBudget": 0, "includeThoughts": false})
    );
    assert_eq!(
        cfg("none", "gemini-2.5-pro"),
        json!({"thinkingBudget": 128, "includeThoughts": false})
    );
    assert_eq!(
        cfg("minimal", "gemini-2.5-flash"),
        json!({"thinkingBudget": 128, "includeThoughts": true})
    );
    assert_eq!(
        cfg("low", "gemini-2.5-flash"),
        json!({"thinkingBudget": 1024, "includeThoughts": true})
    );
    assert_eq!(
        cfg("medium", "gemini-2.5-flash"),
        json!({"thinkingBudget": 8192, "includeThoughts": true})
    );
    assert_eq!(
        cfg("high", "gemini-2.5-pro"),
        json!({"thinkingBudget": 24576, "includeThoughts": true})
    );
    assert_eq!(
        cfg("low", "gemini-3-pro-preview"),
        json!({"thinkingLevel": "LOW", "includeThoughts": true})
    );
    assert_eq!(
        cfg("medium", "gemini-3-flash"),
        json!({"thinkingLevel": "HIGH", "includeThoughts": true})
    );
    let err = encode_err(&req("extreme"));
    assert!(
        matches!(err, TranslateError::InvalidRequest { param: Some(p), .. } if p == "reasoning_effort")
    );
}

#[test]
fn history_starting_with_the_assistant_gets_a_user_turn_first() {
    let v = encode(
        r#"{"model":"m","messages":[{"role":"system","content":"s"},
          {"role":"assistant","content":"Hello! How can I help?"},{"role":"user","content":"hi"}]}"#,
    );
    assert_eq!(
        v["contents"],
        json!([
            {"role": "user", "parts": [{"text": "."}]},
            {"role": "model", "parts": [{"text": "Hello! How can I help?"}]},
            {"role": "user", "parts": [{"text": "hi"}]}
        ])
    );
}

#[test]
fn results_without_ids_are_ordered_by_name() {
    let v = encode(
        r#"{"model":"m","messages":[{"role":"user","content":"x"},
          {"role":"assistant","tool_calls":[
            {"id":"","type":"function","function":{"name":"a","arguments":"{}"}},
            {"id":"","type":"function","function":{"name":"b","arguments":"{}"}}]},
          {"role":"function","name":"b","content":"B"},
          {"role":"function","name":"a","content":"A"}]}"#,
    );
    let names: Vec<&str> = v["contents"][2]["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["functionResponse"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a", "b"]);
    assert!(v["contents"][1]["parts"][0]["functionCall"]
        .get("id")
        .is_none());
}
