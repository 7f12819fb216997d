//! Wire-format tests against a simulator started on 127.0.0.1:0, over real HTTP.
#![expect(clippy::unwrap_used, reason = "helpers of an integration test binary")]

use std::time::Duration;

use serde_json::{json, Value};
use switchyard_sim::{start, Fault, Scenario, SimConfig, SimHandle};

async fn sim() -> SimHandle {
    sim_with(SimConfig {
        record_requests: true,
        ..SimConfig::default()
    })
    .await
}

async fn sim_with(config: SimConfig) -> SimHandle {
    start("127.0.0.1:0".parse().unwrap(), config).await.unwrap()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

async fn openai(sim: &SimHandle, path: &str, body: Value) -> reqwest::Response {
    client()
        .post(format!("{}{path}", sim.base_url()))
        .bearer_auth("sk-test")
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn anthropic(sim: &SimHandle, body: Value) -> reqwest::Response {
    client()
        .post(format!("{}/v1/messages", sim.base_url()))
        .header("x-api-key", "sk-ant-test")
        .header("anthropic-version", "2023-06-01")
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn gemini(sim: &SimHandle, method: &str, body: Value) -> reqwest::Response {
    client()
        .post(format!(
            "{}/v1beta/models/gemini-2.5-flash:{method}",
            sim.base_url()
        ))
        .header("x-goog-api-key", "g-test")
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// `(event name, data)` per SSE event; accepts `\n\n` and `\r\n\r\n` separators.
fn events(body: &str) -> Vec<(Option<String>, String)> {
    body.replace("\r\n", "\n")
        .split("\n\n")
        .filter(|e| !e.trim().is_empty())
        .filter_map(|event| {
            let mut name = None;
            let mut data = Vec::new();
            for line in event.lines() {
                if let Some(n) = line.strip_prefix("event: ") {
                    name = Some(n.to_owned());
                } else if let Some(d) = line.strip_prefix("data: ") {
                    data.push(d);
                }
            }
            (!data.is_empty()).then(|| (name, data.join("\n")))
        })
        .collect()
}

fn chat(content: &str) -> Value {
    json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": content}]})
}

fn b64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let clean: Vec<u8> = s.bytes().filter(|b| *b != b'=').collect();
    let mut out = Vec::new();
    for chunk in clean.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= u32::from(val(*c)) << (18 - 6 * i);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..chunk.len() - 1]);
    }
    out
}

mod openai_dialect {
    use super::*;

    #[tokio::test]
    async fn non_stream_text_has_exact_shape_and_headers() {
        let sim = sim().await;
        let r1 = openai(&sim, "/v1/chat/completions", chat("hello there")).await;
        assert_eq!(r1.status(), 200);
        let remaining1: u64 = r1.headers()["x-ratelimit-remaining-requests"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(r1.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .starts_with("req_"));
        let v: Value = r1.json().await.unwrap();
        assert_eq!(v["object"], "chat.completion");
        assert_eq!(v["created"], 1_700_000_000);
        assert_eq!(v["choices"][0]["finish_reason"], "stop");
        assert_eq!(v["choices"][0]["message"]["role"], "assistant");
        let text = v["choices"][0]["message"]["content"].as_str().unwrap();
        assert_eq!(text.split_whitespace().count(), 24);
        assert_eq!(v["usage"]["completion_tokens"], 24);
        assert_eq!(v["usage"]["prompt_tokens"], 3); // 11 chars / 4 rounded up
        assert_eq!(v["usage"]["total_tokens"], 27);
        assert_eq!(v["usage"]["prompt_tokens_details"]["cached_tokens"], 0);
        assert_eq!(
            v["usage"]["completion_tokens_details"]["reasoning_tokens"],
            0
        );

        let r2 = openai(&sim, "/v1/chat/completions", chat("hello there")).await;
        let remaining2: u64 = r2.headers()["x-ratelimit-remaining-requests"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(remaining2, remaining1 - 1);
        let v2: Value = r2.json().await.unwrap();
        assert_eq!(
            v2["choices"][0]["message"]["content"], text,
            "deterministic"
        );
        assert_eq!(sim.request_count("gpt-4o-mini"), 2);
        let recorded = sim.requests("gpt-4o-mini");
        assert_eq!(recorded.len(), 2);
        assert_eq!(recorded[1].path, "/v1/chat/completions");
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn stream_sequence_with_and_without_usage() {
        let sim = sim().await;
        let mut body = chat("stream me");
        body["stream"] = json!(true);
        body["stream_options"] = json!({"include_usage": true});
        let r = openai(&sim, "/v1/chat/completions", body.clone()).await;
        assert_eq!(r.headers()["content-type"], "text/event-stream");
        let evs = events(&r.text().await.unwrap());
        assert_eq!(evs.last().unwrap().1, "[DONE]");
        let chunks: Vec<Value> = evs[..evs.len() - 1]
            .iter()
            .map(|(_, d)| serde_json::from_str(d).unwrap())
            .collect();
        assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
        let content: Vec<&Value> = chunks
            .iter()
            .filter_map(|c| c["choices"][0]["delta"].get("content"))
            .collect();
        assert_eq!(content.len(), 1 + 8, "role chunk + 8 content chunks");
        let usage_chunk = chunks.last().unwrap();
        assert_eq!(usage_chunk["choices"], json!([]));
        assert_eq!(usage_chunk["usage"]["completion_tokens"], 24);
        let finish = &chunks[chunks.len() - 2];
        assert_eq!(finish["choices"][0]["finish_reason"], "stop");
        assert_eq!(finish["choices"][0]["delta"], json!({}));
        assert!(chunks[1]["usage"].is_null());

        body["stream_options"] = json!({"include_usage": false});
        let text = openai(&sim, "/v1/chat/completions", body)
            .await
            .text()
            .await
            .unwrap();
        assert!(!text.contains("\"usage\""));
        assert!(text.ends_with("data: [DONE]\n\n"));
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn tool_calls_fragmented_and_parallel() {
        let sim = sim().await;
        let tools = json!([
            {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object",
                "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
                "required": ["city", "unit"]}}},
            {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object",
                "properties": {"tz": {"type": "string"}}, "required": ["tz"]}}}
        ]);
        let mut body = chat("call them in parallel please");
        body["tools"] = tools.clone();
        body["stream"] = json!(true);
        let text = openai(&sim, "/v1/chat/completions", body.clone())
            .await
            .text()
            .await
            .unwrap();
        let evs = events(&text);
        let mut args = [String::new(), String::new()];
        let mut firsts = 0;
        for (_, data) in &evs[..evs.len() - 1] {
            let v: Value = serde_json::from_str(data).unwrap();
            for call in v["choices"][0]["delta"]["tool_calls"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let i = call["index"].as_u64().unwrap() as usize;
                if call.get("id").is_some() {
                    firsts += 1;
                    assert_eq!(call["function"]["arguments"], "");
                    assert_eq!(call["type"], "function");
                }
                args[i].push_str(call["function"]["arguments"].as_str().unwrap());
            }
        }
        assert_eq!(firsts, 2);
        let a0: Value = serde_json::from_str(&args[0]).unwrap();
        assert_eq!(a0, json!({"city": "sample", "unit": "c"}));
        assert!(text.contains("\"finish_reason\":\"tool_calls\""));

        body["stream"] = json!(false);
        body["tool_choice"] = json!({"type": "function", "function": {"name": "get_time"}});
        let v: Value = openai(&sim, "/v1/chat/completions", body)
            .await
            .json()
            .await
            .unwrap();
        let calls = v["choices"][0]["message"]["tool_calls"].as_array().unwrap();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0]["function"]["name"], "get_time");
        assert!(v["choices"][0]["message"]["content"].is_null());

        let follow = json!({"model": "gpt-4o-mini", "tools": tools, "messages": [
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
                "function": {"name": "get_weather", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "18C and sunny"}]});
        let v: Value = openai(&sim, "/v1/chat/completions", follow)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            v["choices"][0]["message"]["content"],
            "tool said: 18C and sunny"
        );
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn echo_caps_stops_images_and_json_schema() {
        let sim = sim().await;
        let v: Value = openai(&sim, "/v1/chat/completions", chat("echo: a b c d e"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(v["choices"][0]["message"]["content"], "a b c d e");

        let mut capped = chat("echo: a b c d e");
        capped["max_completion_tokens"] = json!(2);
        let v: Value = openai(&sim, "/v1/chat/completions", capped)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(v["choices"][0]["message"]["content"], "a b");
        assert_eq!(v["choices"][0]["finish_reason"], "length");

        let mut stopped = chat("echo: one two STOP three");
        stopped["stop"] = json!(["STOP"]);
        let v: Value = openai(&sim, "/v1/chat/completions", stopped)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(v["choices"][0]["message"]["content"], "one two ");
        assert_eq!(v["choices"][0]["finish_reason"], "stop");

        let image = json!({"model": "gpt-4o", "messages": [{"role": "user", "content": [
            {"type": "text", "text": "what is this"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]}]});
        let v: Value = openai(&sim, "/v1/chat/completions", image)
            .await
            .json()
            .await
            .unwrap();
        assert!(v["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .starts_with("I see 2 images."));

        let bad = json!({"model": "gpt-4o", "messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "data:text/plain;base64,aGk="}}]}]});
        let r = openai(&sim, "/v1/chat/completions", bad).await;
        assert_eq!(r.status(), 400);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["type"], "invalid_request_error");

        let mut schema = chat("give json");
        schema["response_format"] = json!({"type": "json_schema", "json_schema": {"name": "a",
            "schema": {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}}});
        let v: Value = openai(&sim, "/v1/chat/completions", schema)
            .await
            .json()
            .await
            .unwrap();
        let content: Value =
            serde_json::from_str(v["choices"][0]["message"]["content"].as_str().unwrap()).unwrap();
        assert_eq!(content, json!({"n": 1}));
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn validation_and_auth_errors() {
        let sim = sim().await;
        let r = client()
            .post(format!("{}/v1/chat/completions", sim.base_url()))
            .json(&chat("x"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        let r = client()
            .post(format!("{}/v1/chat/completions", sim.base_url()))
            .bearer_auth("invalid-key")
            .json(&chat("x"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], "invalid_api_key");

        let r = openai(&sim, "/v1/chat/completions", json!({"model": "gpt-4o"})).await;
        assert_eq!(r.status(), 400);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["param"], "messages");

        let r = client()
            .post(format!("{}/v1/chat/completions", sim.base_url()))
            .bearer_auth("sk")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["type"], "invalid_request_error");

        let r = client()
            .post(format!(
                "{}/openrouter/api/v1/chat/completions",
                sim.base_url()
            ))
            .json(&chat("x"))
            .send()
            .await
            .unwrap();
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], 401);

        let mut mistral = chat("x");
        mistral["logprobs"] = json!(true);
        let r = openai(&sim, "/mistral/v1/chat/completions", mistral).await;
        assert_eq!(r.status(), 422);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["object"], "error");
        assert_eq!(
            v["message"]["detail"][0]["loc"],
            json!(["body", "logprobs"])
        );

        let mut groq = chat("x");
        groq["logit_bias"] = json!({});
        assert_eq!(
            openai(&sim, "/groq/openai/v1/chat/completions", groq)
                .await
                .status(),
            400
        );

        let deepseek = json!({"model": "deepseek-chat", "messages": [
            {"role": "developer", "content": "be terse"}, {"role": "user", "content": "hi"}]});
        assert_eq!(
            openai(&sim, "/deepseek/chat/completions", deepseek)
                .await
                .status(),
            400
        );

        let mut reasoning = chat("x");
        reasoning["model"] = json!("o3-mini");
        reasoning["max_tokens"] = json!(10);
        let v: Value = openai(&sim, "/v1/chat/completions", reasoning)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(v["error"]["code"], "unsupported_parameter");
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn flavour_quirks() {
        let sim = sim().await;
        let body =
            json!({"model": "deepseek-reasoner", "messages": [{"role": "user", "content": "hi"}]});
        let v: Value = openai(&sim, "/deepseek/chat/completions", body.clone())
            .await
            .json()
            .await
            .unwrap();
        assert!(v["choices"][0]["message"]["reasoning_content"].is_string());
        assert_eq!(
            v["usage"]["prompt_cache_miss_tokens"],
            v["usage"]["prompt_tokens"]
        );
        assert!(
            v["usage"]["completion_tokens_details"]["reasoning_tokens"]
                .as_u64()
                .unwrap()
                > 0
        );
        let mut stream = body;
        stream["stream"] = json!(true);
        let text = openai(&sim, "/deepseek/v1/chat/completions", stream)
            .await
            .text()
            .await
            .unwrap();
        let first_reasoning = text.find("reasoning_content").unwrap();
        let first_content = text.find("\"content\":\"").unwrap();
        assert!(text.contains("reasoning_content") && first_reasoning > 0 && first_content > 0);

        let qwen = json!({"model": "qwen-plus", "enable_thinking": true, "messages": [{"role": "user", "content": "hi"}]});
        let v: Value = openai(&sim, "/dashscope/compatible-mode/v1/chat/completions", qwen)
            .await
            .json()
            .await
            .unwrap();
        assert!(v["choices"][0]["message"]["reasoning_content"].is_string());

        let or = json!({"model": "openai/gpt-4o-mini", "reasoning": {"effort": "high"}, "stream": true,
            "messages": [{"role": "user", "content": "hi"}]});
        let text = openai(&sim, "/openrouter/api/v1/chat/completions", or)
            .await
            .text()
            .await
            .unwrap();
        assert!(text.starts_with(": OPENROUTER PROCESSING\n\n"));
        assert!(text.contains("\"reasoning\":"));

        let azure = client()
            .post(format!(
                "{}/openai/deployments/my-dep/chat/completions?api-version=2024-10-21",
                sim.base_url()
            ))
            .header("api-key", "az-key")
            .json(&json!({"messages": [{"role": "user", "content": "hi"}], "stream": true}))
            .send()
            .await
            .unwrap();
        assert_eq!(azure.status(), 200);
        let evs = events(&azure.text().await.unwrap());
        let first: Value = serde_json::from_str(&evs[0].1).unwrap();
        assert_eq!(first["choices"], json!([]));
        assert!(first["prompt_filter_results"].is_array());
        assert_eq!(sim.request_count("my-dep"), 1);

        let no_version = client()
            .post(format!(
                "{}/openai/deployments/my-dep/chat/completions",
                sim.base_url()
            ))
            .header("api-key", "az-key")
            .json(&json!({"messages": [{"role": "user", "content": "hi"}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(no_version.status(), 404);

        let models: Value = client()
            .get(format!("{}/mistral/v1/models", sim.base_url()))
            .bearer_auth("k")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(models["object"], "list");
        assert!(!models["data"].as_array().unwrap().is_empty());
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn embeddings_float_and_base64() {
        let sim = sim().await;
        let body = json!({"model": "text-embedding-3-small", "input": ["first", "second"], "dimensions": 8});
        let v: Value = openai(&sim, "/v1/embeddings", body.clone())
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(v["object"], "list");
        let floats: Vec<f32> = v["data"][0]["embedding"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect();
        assert_eq!(floats.len(), 8);
        let mut b64 = body;
        b64["encoding_format"] = json!("base64");
        let v: Value = openai(&sim, "/v1/embeddings", b64)
            .await
            .json()
            .await
            .unwrap();
        let bytes = b64_decode(v["data"][0]["embedding"].as_str().unwrap());
        let decoded: Vec<f32> = bytes
            .chunks(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        assert_eq!(decoded, floats);
        assert_eq!(v["data"][1]["index"], 1);
        let default: Value = openai(&sim, "/v1/embeddings", json!({"model": "m", "input": "x"}))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            default["data"][0]["embedding"].as_array().unwrap().len(),
            1536
        );
        sim.shutdown().await;
    }
}

mod anthropic_dialect {
    use super::*;

    fn body(extra: Value) -> Value {
        let mut b = json!({"model": "claude-sonnet-4-5", "max_tokens": 256,
            "messages": [{"role": "user", "content": "hello"}]});
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    }

    #[tokio::test]
    async fn non_stream_and_stream_sequence() {
        let sim = sim().await;
        let r = anthropic(&sim, body(json!({}))).await;
        assert!(r.headers()["request-id"]
            .to_str()
            .unwrap()
            .starts_with("req_"));
        assert!(r
            .headers()
            .contains_key("anthropic-ratelimit-requests-remaining"));
        assert!(r.headers()["anthropic-ratelimit-requests-reset"]
            .to_str()
            .unwrap()
            .ends_with('Z'));
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["type"], "message");
        assert_eq!(v["stop_reason"], "end_turn");
        assert_eq!(v["content"][0]["type"], "text");
        assert_eq!(v["usage"]["output_tokens"], 24);
        assert_eq!(v["usage"]["cache_read_input_tokens"], 0);

        let text = anthropic(&sim, body(json!({"stream": true})))
            .await
            .text()
            .await
            .unwrap();
        let names: Vec<String> = events(&text).into_iter().map(|(n, _)| n.unwrap()).collect();
        let mut expected = vec!["message_start", "content_block_start", "ping"];
        expected.extend(std::iter::repeat_n("content_block_delta", 8));
        expected.extend(["content_block_stop", "message_delta", "message_stop"]);
        assert_eq!(names, expected);
        for (name, data) in events(&text) {
            let v: Value = serde_json::from_str(&data).unwrap();
            assert_eq!(v["type"], name.unwrap());
        }
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn thinking_and_tool_use_stream() {
        let sim = sim().await;
        let tools = json!([{"name": "get_weather", "input_schema": {"type": "object",
            "properties": {"city": {"type": "string"}}, "required": ["city"]}}]);
        let req = body(json!({"stream": true, "tools": tools,
            "thinking": {"type": "enabled", "budget_tokens": 1024}, "max_tokens": 2048}));
        let evs = events(&anthropic(&sim, req).await.text().await.unwrap());
        let datas: Vec<Value> = evs
            .iter()
            .map(|(_, d)| serde_json::from_str(d).unwrap())
            .collect();
        assert_eq!(datas[1]["content_block"]["type"], "thinking");
        assert!(datas
            .iter()
            .any(|d| d["delta"]["type"] == "signature_delta"));
        let tool_start = datas
            .iter()
            .position(|d| d["content_block"]["type"] == "tool_use")
            .unwrap();
        assert_eq!(datas[tool_start + 1]["delta"]["partial_json"], "");
        let json_args: String = datas[tool_start + 1..]
            .iter()
            .filter(|d| d["delta"]["type"] == "input_json_delta")
            .map(|d| d["delta"]["partial_json"].as_str().unwrap())
            .collect();
        assert_eq!(
            serde_json::from_str::<Value>(&json_args).unwrap(),
            json!({"city": "sample"})
        );
        let delta = datas.iter().find(|d| d["type"] == "message_delta").unwrap();
        assert_eq!(delta["delta"]["stop_reason"], "tool_use");

        let result = body(json!({"tools": tools, "messages": [
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "rainy"}]}]}));
        let v: Value = anthropic(&sim, result).await.json().await.unwrap();
        assert_eq!(v["content"][0]["text"], "tool said: rainy");
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn validation_and_auth() {
        let sim = sim().await;
        let mut no_max = body(json!({}));
        no_max.as_object_mut().unwrap().remove("max_tokens");
        let r = anthropic(&sim, no_max).await;
        assert_eq!(r.status(), 400);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["type"], "error");
        assert_eq!(v["error"]["type"], "invalid_request_error");
        assert_eq!(v["error"]["message"], "max_tokens: Field required");
        assert!(v["request_id"].is_string());

        assert_eq!(
            anthropic(&sim, body(json!({"temperature": 1.5})))
                .await
                .status(),
            400
        );
        let empty = body(
            json!({"messages": [{"role": "user", "content": [{"type": "text", "text": ""}]}]}),
        );
        assert_eq!(anthropic(&sim, empty).await.status(), 400);
        let orphan = body(json!({"messages": [{"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_x", "content": "x"}]}]}));
        assert_eq!(anthropic(&sim, orphan).await.status(), 400);

        let r = client()
            .post(format!("{}/anthropic/v1/messages", sim.base_url()))
            .header("anthropic-version", "2023-06-01")
            .json(&body(json!({})))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["type"], "authentication_error");
        let models: Value = client()
            .get(format!("{}/anthropic/v1/models", sim.base_url()))
            .header("x-api-key", "k")
            .header("anthropic-version", "2023-06-01")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(models["data"][0]["type"], "model");
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn overloaded_and_mid_stream_error() {
        let sim = sim().await;
        sim.set_scenario(
            "claude-sonnet-4-5",
            Scenario {
                steps: vec![
                    Fault::Status {
                        code: 529,
                        retry_after_secs: None,
                    },
                    Fault::MidStreamError(2),
                ],
                repeat: false,
            },
        );
        let r = anthropic(&sim, body(json!({}))).await;
        assert_eq!(r.status(), 529);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["type"], "overloaded_error");
        let text = anthropic(&sim, body(json!({"stream": true})))
            .await
            .text()
            .await
            .unwrap();
        let evs = events(&text);
        let last = evs.last().unwrap();
        assert_eq!(last.0.as_deref(), Some("error"));
        let deltas = evs
            .iter()
            .filter(|(n, _)| n.as_deref() == Some("content_block_delta"))
            .count();
        assert_eq!(deltas, 2);
        assert!(!text.contains("message_stop"));
        sim.shutdown().await;
    }
}

mod gemini_dialect {
    use super::*;

    fn body() -> Value {
        json!({"contents": [{"role": "user", "parts": [{"text": "hello gemini"}]}]})
    }

    #[tokio::test]
    async fn generate_and_stream() {
        let sim = sim().await;
        let v: Value = gemini(&sim, "generateContent", body())
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(v["candidates"][0]["finishReason"], "STOP");
        assert_eq!(v["candidates"][0]["content"]["role"], "model");
        assert_eq!(v["usageMetadata"]["candidatesTokenCount"], 24);
        assert_eq!(v["modelVersion"], "gemini-2.5-flash");

        let r = client()
            .post(format!(
                "{}/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse&key=g-test",
                sim.base_url()
            ))
            .json(&body())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let text = r.text().await.unwrap();
        assert!(text.contains("\r\n\r\n"));
        let evs = events(&text);
        assert_eq!(evs.len(), 8);
        let last: Value = serde_json::from_str(&evs[7].1).unwrap();
        assert_eq!(last["candidates"][0]["finishReason"], "STOP");
        assert_eq!(last["usageMetadata"]["totalTokenCount"], 24 + 3);
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn thoughts_function_calls_and_validation() {
        let sim = sim().await;
        let mut req = body();
        req["generationConfig"] =
            json!({"thinkingConfig": {"includeThoughts": true, "thinkingBudget": 1024}});
        req["tools"] = json!([{"functionDeclarations": [
            {"name": "a", "parameters": {"type": "object", "properties": {"x": {"type": "integer"}}}},
            {"name": "b"}]}]);
        req["contents"][0]["parts"][0]["text"] = json!("do both in parallel");
        let v: Value = gemini(&sim, "generateContent", req)
            .await
            .json()
            .await
            .unwrap();
        let parts = v["candidates"][0]["content"]["parts"].as_array().unwrap();
        assert_eq!(parts[0]["thought"], true);
        assert_eq!(parts[1]["functionCall"]["name"], "a");
        assert_eq!(parts[1]["functionCall"]["args"], json!({"x": 1}));
        assert!(parts[1]["thoughtSignature"].is_string());
        assert_eq!(parts[2]["functionCall"]["name"], "b");
        assert!(v["usageMetadata"]["thoughtsTokenCount"].as_u64().unwrap() > 0);

        let bad = json!({"contents": [{"role": "model", "parts": [{"text": "hi"}]}]});
        let r = gemini(&sim, "generateContent", bad).await;
        assert_eq!(r.status(), 400);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["status"], "INVALID_ARGUMENT");

        let mismatch = json!({"contents": [
            {"role": "user", "parts": [{"text": "go"}]},
            {"role": "model", "parts": [{"functionCall": {"name": "a", "args": {}}}]},
            {"role": "user", "parts": [{"functionResponse": {"name": "zzz", "response": {"r": 1}}}]}]});
        assert_eq!(
            gemini(&sim, "generateContent", mismatch).await.status(),
            400
        );

        let ok = json!({"contents": [
            {"role": "user", "parts": [{"text": "go"}]},
            {"role": "model", "parts": [{"functionCall": {"name": "a", "args": {}}}]},
            {"role": "user", "parts": [{"functionResponse": {"name": "a", "response": {"r": 1}}}]}]});
        let v: Value = gemini(&sim, "generateContent", ok)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            v["candidates"][0]["content"]["parts"][0]["text"],
            "tool said: {\"r\":1}"
        );

        let r = client()
            .post(format!(
                "{}/v1beta/models/gemini-2.5-flash:generateContent",
                sim.base_url()
            ))
            .header("x-goog-api-key", "invalid")
            .json(&body())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["details"][0]["reason"], "API_KEY_INVALID");
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn rate_limited_with_retry_info_and_embeddings() {
        let sim = sim().await;
        let r = client()
            .post(format!(
                "{}/v1beta/models/gemini-2.5-flash:generateContent",
                sim.base_url()
            ))
            .header("x-goog-api-key", "k")
            .header("x-sim-fault", "status=429;retry_after=7")
            .json(&body())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 429);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["status"], "RESOURCE_EXHAUSTED");
        let details = v["error"]["details"].as_array().unwrap();
        assert!(details.iter().any(|d| d["retryDelay"] == "7s"));

        let embed =
            json!({"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "x"}]}});
        let r = client()
            .post(format!(
                "{}/v1beta/models/gemini-embedding-001:embedContent",
                sim.base_url()
            ))
            .header("x-goog-api-key", "k")
            .json(&embed)
            .send()
            .await
            .unwrap();
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["embedding"]["values"].as_array().unwrap().len(), 768);
        let batch = json!({"requests": [embed, embed]});
        let v: Value = client()
            .post(format!(
                "{}/v1beta/models/gemini-embedding-001:batchEmbedContents",
                sim.base_url()
            ))
            .header("x-goog-api-key", "k")
            .json(&batch)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v["embeddings"].as_array().unwrap().len(), 2);
        sim.shutdown().await;
    }
}

mod faults {
    use super::*;

    fn streamed(content: &str) -> Value {
        let mut b = chat(content);
        b["stream"] = json!(true);
        b
    }

    #[tokio::test]
    async fn status_from_header_text_and_scenario() {
        let sim = sim().await;
        let r = client()
            .post(format!("{}/v1/chat/completions", sim.base_url()))
            .bearer_auth("k")
            .header("x-sim-fault", "status=429;retry_after=2")
            .json(&chat("x"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers()["retry-after"], "2");
        assert_eq!(r.headers()["retry-after-ms"], "2000");
        assert_eq!(r.headers()["x-ratelimit-remaining-requests"], "0");

        let r = openai(
            &sim,
            "/v1/chat/completions",
            chat("fail [[sim:status=500]] please"),
        )
        .await;
        assert_eq!(r.status(), 500);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["type"], "server_error");

        sim.set_scenario(
            "gpt-4o-mini",
            Scenario {
                steps: vec![
                    Fault::Status {
                        code: 503,
                        retry_after_secs: None,
                    },
                    Fault::Ok,
                ],
                repeat: true,
            },
        );
        let codes: Vec<u16> = futures_codes(&sim, 4).await;
        assert_eq!(codes, vec![503, 200, 503, 200]);
        sim.clear_scenarios();
        assert_eq!(futures_codes(&sim, 1).await, vec![200]);

        // The same through the HTTP control API.
        let c = client();
        let r = c
            .put(format!("{}/_sim/scenarios/gpt-4o-mini", sim.base_url()))
            .json(&json!({"steps": [{"status": 500}, {"ok": true}], "repeat": false}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
        assert_eq!(futures_codes(&sim, 3).await, vec![500, 200, 200]);
        let count: Value = c
            .get(format!("{}/_sim/count/gpt-4o-mini", sim.base_url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(count["count"], sim.request_count("gpt-4o-mini"));
        let recorded: Value = c
            .get(format!("{}/_sim/requests/gpt-4o-mini", sim.base_url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(!recorded.as_array().unwrap().is_empty());
        let r = c
            .delete(format!("{}/_sim/scenarios", sim.base_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
        sim.shutdown().await;
    }

    async fn futures_codes(sim: &SimHandle, n: usize) -> Vec<u16> {
        let mut codes = Vec::new();
        for _ in 0..n {
            codes.push(
                openai(sim, "/v1/chat/completions", chat("x"))
                    .await
                    .status()
                    .as_u16(),
            );
        }
        codes
    }

    #[tokio::test]
    async fn hang_and_stall_keep_the_connection_silent() {
        let sim = sim().await;
        let quick = reqwest::Client::builder()
            .timeout(Duration::from_millis(200))
            .build()
            .unwrap();
        let r = quick
            .post(format!("{}/v1/chat/completions", sim.base_url()))
            .bearer_auth("k")
            .header("x-sim-fault", "hang")
            .json(&chat("x"))
            .send()
            .await;
        assert!(r.unwrap_err().is_timeout());

        let r = client()
            .post(format!("{}/v1/chat/completions", sim.base_url()))
            .bearer_auth("k")
            .header("x-sim-fault", "stall_after=2")
            .json(&streamed("x"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let mut r = r;
        let mut got = String::new();
        loop {
            match tokio::time::timeout(Duration::from_millis(200), r.chunk()).await {
                Ok(Ok(Some(bytes))) => got.push_str(&String::from_utf8_lossy(&bytes)),
                Ok(other) => panic!("stream ended: {other:?}"),
                Err(_) => break,
            }
        }
        let content = events(&got).len();
        assert_eq!(content, 3, "role chunk + 2 content chunks, then silence");
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn drop_malformed_mid_stream_and_latency() {
        let sim = sim().await;
        let r = openai(
            &sim,
            "/v1/chat/completions",
            streamed("x [[sim:drop_after=3]]"),
        )
        .await;
        assert_eq!(r.status(), 200);
        assert!(r.text().await.is_err(), "connection aborted mid-body");

        // Non-stream: the connection closes before a complete response arrives.
        let r = client()
            .post(format!("{}/v1/chat/completions", sim.base_url()))
            .bearer_auth("k")
            .json(&chat("x [[sim:drop_after=0]]"))
            .send()
            .await;
        match r {
            Ok(r) => assert!(r.text().await.is_err()),
            Err(err) => assert!(err.is_request()),
        }

        let r = openai(&sim, "/v1/chat/completions", chat("x [[sim:malformed]]")).await;
        assert_eq!(r.status(), 200);
        assert!(serde_json::from_str::<Value>(&r.text().await.unwrap()).is_err());

        let text = openai(
            &sim,
            "/v1/chat/completions",
            streamed("x [[sim:mid_stream_error=2]]"),
        )
        .await
        .text()
        .await
        .unwrap();
        let evs = events(&text);
        let last: Value = serde_json::from_str(&evs.last().unwrap().1).unwrap();
        assert_eq!(last["error"]["type"], "server_error");
        assert!(!text.contains("[DONE]"));

        let text = gemini(
            &sim,
            "streamGenerateContent?alt=sse",
            json!({"contents": [{"parts": [{"text": "x [[sim:mid_stream_error=1]]"}]}]}),
        )
        .await
        .text()
        .await
        .unwrap();
        let evs = events(&text);
        let last: Value = serde_json::from_str(&evs.last().unwrap().1).unwrap();
        assert_eq!(last["error"]["status"], "UNAVAILABLE");

        let started = tokio::time::Instant::now();
        let r = openai(
            &sim,
            "/v1/chat/completions",
            chat("x [[sim:latency_ms=150]]"),
        )
        .await;
        assert_eq!(r.status(), 200);
        assert!(started.elapsed() >= Duration::from_millis(150));

        let words: Value = openai(&sim, "/v1/chat/completions", chat("x [[sim:words=5]]"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(words["usage"]["completion_tokens"], 5);
        let chunks = openai(&sim, "/v1/chat/completions", streamed("x [[sim:chunks=3]]"))
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(events(&chunks).len(), 1 + 3 + 1 + 1);
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn rpm_limit_returns_429_with_reset_headers() {
        let sim = sim().await;
        sim.set_rpm_limit("gpt-4o-mini", 2);
        assert_eq!(futures_codes(&sim, 2).await, vec![200, 200]);
        let r = openai(&sim, "/v1/chat/completions", chat("x")).await;
        assert_eq!(r.status(), 429);
        let retry: u64 = r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&retry));
        assert_eq!(r.headers()["x-ratelimit-remaining-requests"], "0");
        assert_eq!(r.headers()["x-ratelimit-limit-requests"], "2");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], "rate_limit_exceeded");
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn required_key_is_enforced() {
        let sim = sim_with(SimConfig {
            required_key: Some("only-this".into()),
            ..SimConfig::default()
        })
        .await;
        assert_eq!(
            openai(&sim, "/v1/chat/completions", chat("x"))
                .await
                .status(),
            401
        );
        let r = client()
            .post(format!("{}/v1/chat/completions", sim.base_url()))
            .bearer_auth("only-this")
            .json(&chat("x"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        sim.shutdown().await;
    }
}
