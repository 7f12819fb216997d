//! OpenAI Chat Completions and the OpenAI-compatible flavours (DeepSeek, Mistral, DashScope,
//! Groq, Together, OpenRouter, xAI, Ollama, vLLM, Azure): validation, replies, streams, errors.

use std::borrow::Cow;
use std::fmt::Write as _;

use axum::response::Response;
use bytes::Bytes;
use serde_json::{json, Value};

use super::{quoted, stream_cut, Action, Ctx};
use crate::content;
use crate::error::{Cause, SimError};
use crate::prompt::{text_of, JsonMode, Prompt, Tool, ToolChoice};
use crate::reply::{self, Finish, Reply};
use crate::route::Flavor;
use crate::sse::Kind;

/// Fixed `created` timestamp of every response.
pub(crate) const CREATED: u64 = 1_700_000_000;

const GARBAGE_JSON: &[u8] =
    b"{\"id\":\"chatcmpl-sim\",\"object\":\"chat.completion\",\"choices\":[{\"mess";
const GARBAGE_SSE: &[u8] =
    b"data: {\"id\":\"chatcmpl-sim\",\"choices\":[{\"delta\":{\"content\":\"unterminated\n\n";

/// Fields Mistral accepts on chat completions; anything else is a 422.
const MISTRAL_FIELDS: &[&str] = &[
    "model",
    "messages",
    "temperature",
    "top_p",
    "max_tokens",
    "stream",
    "stop",
    "random_seed",
    "response_format",
    "tools",
    "tool_choice",
    "presence_penalty",
    "frequency_penalty",
    "n",
    "prediction",
    "parallel_tool_calls",
    "safe_prompt",
    "prompt_mode",
];

struct Opts {
    stream: bool,
    include_usage: bool,
    /// Name of the reasoning field in messages and deltas (`None`: hidden or absent).
    reasoning_field: Option<&'static str>,
}

/// Serves `POST .../chat/completions`.
pub(crate) async fn chat(ctx: Ctx<'_>, flavor: Flavor, body: Value) -> Response {
    let parsed = parse(flavor, &ctx, &body);
    let (prompt, opts) = match parsed {
        Ok(parsed) => parsed,
        Err(err) => return ctx.error(&err),
    };
    let (action, extra) = ctx.decide(&prompt.directives);
    match action {
        Action::Status(code, retry) => return ctx.error(&SimError::injected(code, retry)),
        Action::Hang => return ctx.hang().await,
        Action::MidError(_) if !opts.stream => return ctx.error(&SimError::injected(500, None)),
        _ => {}
    }
    let model = ctx
        .route
        .path_model
        .or_else(|| body.get("model").and_then(Value::as_str))
        .unwrap_or_default();
    let reply = reply::plan(&prompt, ctx.state.config());
    if opts.stream {
        let frames = stream_frames(flavor, &ctx, model, &reply, &opts);
        let cut = stream_cut(
            &action,
            mid_stream_error(flavor, ctx.seq, model),
            GARBAGE_SSE,
        );
        return ctx.sse(frames, cut, ctx.pace(extra));
    }
    ctx.delay(extra).await;
    if let Some(response) = ctx.cut_json(&action, GARBAGE_JSON) {
        return response;
    }
    ctx.json(
        completion(flavor, ctx.seq, model, &reply, &opts)
            .to_string()
            .into_bytes(),
    )
}

fn parse<'a>(
    flavor: Flavor,
    ctx: &Ctx<'_>,
    body: &'a Value,
) -> Result<(Prompt<'a>, Opts), SimError> {
    let Some(obj) = body.as_object() else {
        return Err(SimError::invalid(
            "Invalid request body: expected a JSON object.",
        ));
    };
    if flavor == Flavor::Mistral {
        let unknown: Vec<Value> = obj
            .iter()
            .filter(|(k, _)| !MISTRAL_FIELDS.contains(&k.as_str()))
            .map(|(k, v)| {
                json!({"type":"extra_forbidden","loc":["body",k],"msg":"Extra inputs are not permitted","input":v})
            })
            .collect();
        if !unknown.is_empty() {
            let mut err = SimError::new(422, Cause::Invalid, "Extra inputs are not permitted");
            err.detail = Some(json!({ "detail": unknown }));
            return Err(err);
        }
    }
    let model = obj.get("model").and_then(Value::as_str);
    if model.is_none() && ctx.route.path_model.is_none() {
        return Err(SimError::invalid("you must provide a model parameter"));
    }
    let model = model.or(ctx.route.path_model).unwrap_or_default();
    let Some(messages) = obj.get("messages") else {
        return Err(SimError::invalid("Missing required parameter: 'messages'.")
            .with_param("messages")
            .with_code("missing_required_parameter"));
    };
    let Some(messages) = messages.as_array().filter(|m| !m.is_empty()) else {
        return Err(SimError::invalid(
            "Invalid 'messages': empty array. Expected an array with minimum length 1.",
        )
        .with_param("messages")
        .with_code("empty_array"));
    };
    validate_params(flavor, obj, model)?;
    let reasoning_field = reasoning_field(flavor, body, model);
    let mut prompt = Prompt {
        reasoning: reasoning_field.is_some()
            || (is_reasoning_model(model) && matches!(flavor, Flavor::OpenAi | Flavor::Azure)),
        ..Prompt::default()
    };
    for (i, message) in messages.iter().enumerate() {
        read_message(flavor, i, message, &mut prompt, reasoning_field.is_some())?;
    }
    read_tools(body, &mut prompt);
    prompt.max_tokens = obj
        .get("max_completion_tokens")
        .or_else(|| obj.get("max_tokens"))
        .and_then(Value::as_u64);
    match obj.get("stop") {
        Some(Value::String(s)) => prompt.stop.push(s),
        Some(Value::Array(list)) => prompt.stop.extend(list.iter().filter_map(Value::as_str)),
        _ => {}
    }
    let format = obj.get("response_format");
    prompt.json = match format.and_then(|f| f.get("type")).and_then(Value::as_str) {
        Some("json_schema") => format
            .and_then(|f| f.pointer("/json_schema/schema"))
            .map(JsonMode::Schema),
        Some("json_object") => Some(JsonMode::Object),
        _ => None,
    };
    let stream = obj.get("stream").and_then(Value::as_bool) == Some(true);
    let include_usage = obj
        .get("stream_options")
        .and_then(|o| o.get("include_usage"))
        .and_then(Value::as_bool)
        == Some(true);
    Ok((
        prompt,
        Opts {
            stream,
            include_usage,
            reasoning_field,
        },
    ))
}

fn is_reasoning_model(model: &str) -> bool {
    ["o1", "o3", "o4", "gpt-5"]
        .iter()
        .any(|p| model.starts_with(p))
}

fn validate_params(
    flavor: Flavor,
    obj: &serde_json::Map<String, Value>,
    model: &str,
) -> Result<(), SimError> {
    match flavor {
        Flavor::OpenAi | Flavor::Azure if is_reasoning_model(model) && obj.contains_key("max_tokens") => {
            Err(SimError::invalid("Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.")
                .with_param("max_tokens")
                .with_code("unsupported_parameter"))
        }
        Flavor::Groq => {
            for field in ["logprobs", "logit_bias", "top_logprobs"] {
                if obj.contains_key(field) {
                    return Err(SimError::invalid(format!("`{field}` is not supported with this model"))
                        .with_param(field));
                }
            }
            if obj.get("n").and_then(Value::as_u64).is_some_and(|n| n > 1) {
                return Err(SimError::invalid("'n' : number must be at most 1").with_param("n"));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn reasoning_field(flavor: Flavor, body: &Value, model: &str) -> Option<&'static str> {
    let flag = |pointer: &str| body.pointer(pointer).and_then(Value::as_bool);
    let thinking = body.pointer("/thinking/type").and_then(Value::as_str);
    match flavor {
        Flavor::DeepSeek => {
            let on = thinking == Some("enabled")
                || (model.contains("reasoner") && thinking != Some("disabled"));
            on.then_some("reasoning_content")
        }
        Flavor::DashScope => {
            (flag("/enable_thinking") == Some(true)).then_some("reasoning_content")
        }
        Flavor::Xai | Flavor::Together => model.contains("reason").then_some("reasoning_content"),
        Flavor::OpenRouter => {
            let on = body.get("reasoning").is_some_and(Value::is_object)
                && flag("/reasoning/enabled") != Some(false)
                && flag("/reasoning/exclude") != Some(true);
            on.then_some("reasoning")
        }
        Flavor::Vllm => {
            (flag("/chat_template_kwargs/enable_thinking") == Some(true)).then_some("reasoning")
        }
        Flavor::Groq => (body.get("reasoning_format").and_then(Value::as_str) == Some("parsed"))
            .then_some("reasoning"),
        Flavor::OpenAi | Flavor::Azure | Flavor::Mistral | Flavor::Ollama => None,
    }
}

fn read_message<'a>(
    flavor: Flavor,
    i: usize,
    message: &'a Value,
    prompt: &mut Prompt<'a>,
    thinking: bool,
) -> Result<(), SimError> {
    let role = message
        .get("role")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let content = message.get("content").unwrap_or(&Value::Null);
    if flavor == Flavor::Groq && message.get("name").is_some() {
        return Err(SimError::invalid(format!(
            "'messages.{i}' : for 'role:{role}' the following must be satisfied[('messages.{i}.name' : property 'name' is unsupported)]"
        )));
    }
    match role {
        "developer" if flavor == Flavor::DeepSeek => Err(SimError::invalid(format!(
            "Failed to deserialize the JSON body into the target type: messages[{i}]: unknown variant `developer`, expected one of `system`, `user`, `assistant`, `tool`"
        ))
        .with_code("invalid_request_error")),
        "system" | "developer" => {
            prompt.add_text(&text_of(content));
            Ok(())
        }
        "user" => {
            let mut texts = Vec::new();
            match content {
                Value::String(s) => texts.push(s.as_str()),
                Value::Array(parts) => {
                    for (j, part) in parts.iter().enumerate() {
                        match part.get("type").and_then(Value::as_str) {
                            Some("text") => {
                                texts.push(part.get("text").and_then(Value::as_str).unwrap_or_default());
                            }
                            Some("image_url") => {
                                check_image(flavor, i, j, part)?;
                                prompt.images += 1;
                            }
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
            for text in &texts {
                prompt.add_text(text);
            }
            prompt.set_user_turn(&texts);
            Ok(())
        }
        "assistant" => {
            prompt.add_text(&text_of(content));
            let calls = message.get("tool_calls").and_then(Value::as_array);
            for call in calls.into_iter().flatten() {
                if let Some(args) = call.pointer("/function/arguments").and_then(Value::as_str) {
                    prompt.add_text(args);
                }
                let id = call.get("id").and_then(Value::as_str).unwrap_or_default();
                if flavor == Flavor::Mistral && !is_mistral_id(id) {
                    return Err(SimError::invalid(format!(
                        "Tool call id was {id} but must be a-z, A-Z, 0-9, with a length of 9."
                    )));
                }
            }
            let has_reasoning =
                message.get("reasoning_content").is_some() || message.get("reasoning").is_some();
            if flavor == Flavor::DeepSeek && thinking && calls.is_some_and(|c| !c.is_empty()) && !has_reasoning {
                return Err(SimError::invalid(
                    "The reasoning_content in the thinking mode must be passed back to the API.",
                )
                .with_code("invalid_request_error"));
            }
            prompt.last_turn = crate::prompt::LastTurn::Other;
            Ok(())
        }
        "tool" | "function" => {
            if flavor == Flavor::Mistral {
                let id = message.get("tool_call_id").and_then(Value::as_str).unwrap_or_default();
                if !is_mistral_id(id) {
                    return Err(SimError::invalid(format!(
                        "Tool call id was {id} but must be a-z, A-Z, 0-9, with a length of 9."
                    )));
                }
            }
            let text = text_of(content);
            prompt.add_text(&text);
            prompt.push_tool_result(text);
            Ok(())
        }
        other => Err(SimError::invalid(format!(
            "Invalid value: '{other}'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'."
        ))
        .with_param(format!("messages[{i}].role"))
        .with_code("invalid_value")),
    }
}

fn is_mistral_id(id: &str) -> bool {
    id.len() == 9 && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn check_image(flavor: Flavor, i: usize, j: usize, part: &Value) -> Result<(), SimError> {
    let param = format!("messages[{i}].content[{j}].image_url.url");
    let url = part.pointer("/image_url/url").and_then(Value::as_str);
    let Some(url) = url else {
        return Err(
            SimError::invalid(format!("Missing required parameter: '{param}'."))
                .with_param(param)
                .with_code("missing_required_parameter"),
        );
    };
    let remote = url.starts_with("https://") || url.starts_with("http://");
    if remote && flavor != Flavor::Ollama {
        return Ok(());
    }
    let valid = url
        .strip_prefix("data:image/")
        .and_then(|rest| rest.split_once(";base64,"))
        .is_some_and(|(_, data)| {
            !data.is_empty()
                && data
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
        });
    if valid {
        return Ok(());
    }
    Err(SimError::invalid(format!(
        "Invalid '{param}'. Expected a base64-encoded data URL with an image MIME type (e.g. 'data:image/png;base64,aW1nIGJ5dGVzIGhlcmU=')."
    ))
    .with_param(param)
    .with_code("invalid_value"))
}

fn read_tools<'a>(body: &'a Value, prompt: &mut Prompt<'a>) {
    if let Some(tools) = body.get("tools").and_then(Value::as_array) {
        for tool in tools {
            let Some(function) = tool.get("function") else {
                continue;
            };
            if let Some(name) = function.get("name").and_then(Value::as_str) {
                prompt.tools.push(Tool {
                    name,
                    schema: function.get("parameters"),
                });
            }
        }
    }
    prompt.tool_choice = match body.get("tool_choice") {
        Some(Value::String(s)) if s == "none" => ToolChoice::None,
        Some(choice @ Value::Object(_)) => choice
            .pointer("/function/name")
            .or_else(|| choice.pointer("/custom/name"))
            .and_then(Value::as_str)
            .map_or(ToolChoice::Auto, ToolChoice::Forced),
        _ => ToolChoice::Auto,
    };
    prompt.parallel = body.get("parallel_tool_calls").and_then(Value::as_bool) != Some(false);
}

fn finish_reason(finish: &Finish) -> &'static str {
    match finish {
        Finish::Stop | Finish::StopSequence(_) => "stop",
        Finish::Length => "length",
        Finish::ToolCalls => "tool_calls",
    }
}

fn call_id(flavor: Flavor, seq: u64, k: usize) -> String {
    if flavor == Flavor::Mistral {
        format!("sim{:06}", (seq * 10 + k as u64) % 1_000_000)
    } else {
        format!("call_sim{seq:06}x{k}")
    }
}

fn usage(flavor: Flavor, reply: &Reply<'_>) -> Value {
    let p = reply.prompt_tokens;
    let c = reply.completion_tokens;
    let mut usage = json!({
        "prompt_tokens": p,
        "completion_tokens": c,
        "total_tokens": p + c,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": reply.reasoning_tokens,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0
        }
    });
    match flavor {
        Flavor::DeepSeek => {
            usage["prompt_cache_hit_tokens"] = json!(0);
            usage["prompt_cache_miss_tokens"] = json!(p);
        }
        Flavor::Groq => {
            usage["queue_time"] = json!(0.01);
            usage["prompt_time"] = json!(0.001);
            usage["completion_time"] = json!(0.01);
            usage["total_time"] = json!(0.021);
        }
        _ => {}
    }
    usage
}

fn content_filter_results() -> Value {
    let safe = json!({"filtered": false, "severity": "safe"});
    json!({"hate": safe, "self_harm": safe, "sexual": safe, "violence": safe})
}

fn completion(flavor: Flavor, seq: u64, model: &str, reply: &Reply<'_>, opts: &Opts) -> Value {
    let mut message = json!({
        "role": "assistant",
        "content": if reply.calls.is_empty() { Value::from(reply.text.as_str()) } else { Value::Null },
        "refusal": null,
        "annotations": []
    });
    if let (Some(field), Some(reasoning)) = (opts.reasoning_field, reply.reasoning) {
        message[field] = json!(reasoning);
    }
    if !reply.calls.is_empty() {
        message["tool_calls"] = reply
            .calls
            .iter()
            .enumerate()
            .map(|(k, call)| {
                json!({"id": call_id(flavor, seq, k), "type": "function",
                       "function": {"name": call.name, "arguments": call.args_json}})
            })
            .collect();
    }
    let mut choice = json!({
        "index": 0,
        "message": message,
        "logprobs": null,
        "finish_reason": finish_reason(&reply.finish)
    });
    let mut out = json!({
        "id": format!("chatcmpl-sim{seq:06}"),
        "object": "chat.completion",
        "created": CREATED,
        "model": model,
        "choices": [],
        "usage": usage(flavor, reply),
        "service_tier": "default",
        "system_fingerprint": "fp_sim"
    });
    match flavor {
        Flavor::Azure => {
            choice["content_filter_results"] = content_filter_results();
            out["prompt_filter_results"] =
                json!([{"prompt_index": 0, "content_filter_results": content_filter_results()}]);
        }
        Flavor::OpenRouter => out["provider"] = json!("Sim"),
        Flavor::Groq => out["x_groq"] = json!({"id": format!("req_sim{seq:06}")}),
        _ => {}
    }
    out["choices"] = json!([choice]);
    out
}

fn stream_frames(
    flavor: Flavor,
    ctx: &Ctx<'_>,
    model: &str,
    reply: &Reply<'_>,
    opts: &Opts,
) -> Vec<(Kind, Bytes)> {
    let seq = ctx.seq;
    let head = format!(
        "data: {{\"id\":\"chatcmpl-sim{seq:06}\",\"object\":\"chat.completion.chunk\",\"created\":{CREATED},\"model\":{},\"system_fingerprint\":\"fp_sim\",\"choices\":[",
        quoted(model)
    );
    let open = format!("{head}{{\"index\":0,\"delta\":");
    let tail: &str = if opts.include_usage {
        ",\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n"
    } else {
        ",\"logprobs\":null,\"finish_reason\":null}]}\n\n"
    };
    let chunk = |delta: &str| Bytes::from(format!("{open}{delta}{tail}"));
    let mut frames = Vec::with_capacity(reply.chunks + 8);
    if flavor == Flavor::Azure {
        let first = json!({"choices": [], "created": 0, "id": "", "model": "", "object": "",
            "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": content_filter_results()}]});
        frames.push((Kind::Other, Bytes::from(format!("data: {first}\n\n"))));
    }
    if flavor == Flavor::OpenRouter {
        frames.push((
            Kind::Other,
            Bytes::from_static(b": OPENROUTER PROCESSING\n\n"),
        ));
    }
    let reasoning = opts.reasoning_field.zip(reply.reasoning);
    let role_chunk = reply.calls.is_empty() || reasoning.is_some();
    if role_chunk {
        frames.push((
            Kind::Other,
            chunk("{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null}"),
        ));
    }
    if let Some((field, reasoning)) = reasoning {
        for piece in content::split_words(reasoning, 2) {
            frames.push((
                Kind::Content,
                chunk(&format!("{{\"{field}\":{}}}", quoted(piece))),
            ));
        }
    }
    for piece in content::split_words(&reply.text, reply.chunks) {
        frames.push((
            Kind::Content,
            chunk(&format!("{{\"content\":{}}}", quoted(piece))),
        ));
    }
    for (k, call) in reply.calls.iter().enumerate() {
        let role = if k == 0 && !role_chunk {
            "\"role\":\"assistant\",\"content\":null,"
        } else {
            ""
        };
        frames.push((
            Kind::Content,
            chunk(&format!(
                "{{{role}\"tool_calls\":[{{\"index\":{k},\"id\":\"{}\",\"type\":\"function\",\"function\":{{\"name\":{},\"arguments\":\"\"}}}}]}}",
                call_id(flavor, seq, k),
                quoted(call.name)
            )),
        ));
        for piece in content::split_even(&call.args_json, 3) {
            frames.push((
                Kind::Content,
                chunk(&format!(
                    "{{\"tool_calls\":[{{\"index\":{k},\"function\":{{\"arguments\":{}}}}}]}}",
                    quoted(piece)
                )),
            ));
        }
    }
    let usage_json = usage(flavor, reply);
    let mut finish = format!(
        "{open}{{}},\"logprobs\":null,\"finish_reason\":\"{}\"}}]",
        finish_reason(&reply.finish)
    );
    match flavor {
        Flavor::Mistral | Flavor::Together => {
            let _ = write!(finish, ",\"usage\":{usage_json}");
        }
        Flavor::Groq => {
            let _ = write!(
                finish,
                ",\"x_groq\":{{\"id\":\"req_sim{seq:06}\",\"usage\":{usage_json}}}"
            );
        }
        _ if opts.include_usage => finish.push_str(",\"usage\":null"),
        _ => {}
    }
    finish.push_str("}\n\n");
    frames.push((Kind::Finish, Bytes::from(finish)));
    if opts.include_usage {
        frames.push((
            Kind::Finish,
            Bytes::from(format!("{head}],\"usage\":{usage_json}}}\n\n")),
        ));
    }
    frames.push((Kind::Finish, Bytes::from_static(b"data: [DONE]\n\n")));
    frames
}

fn mid_stream_error(flavor: Flavor, seq: u64, model: &str) -> Bytes {
    let body = match flavor {
        Flavor::Vllm | Flavor::Mistral => json!({"object": "error",
            "message": "The server had an error while processing your request.",
            "type": "InternalServerError", "param": null, "code": 500}),
        Flavor::OpenRouter => {
            json!({"id": format!("gen-sim{seq:06}"), "object": "chat.completion.chunk",
            "created": CREATED, "model": model,
            "error": {"code": 502, "message": "Provider disconnected"},
            "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}]})
        }
        _ => json!({"error": {"message": "The server had an error while processing your request.",
            "type": "server_error", "param": null, "code": null}}),
    };
    Bytes::from(format!("data: {body}\n\n"))
}

/// `(type, code, message)` OpenAI uses for a status.
fn defaults(err: &SimError) -> (&'static str, Option<&'static str>, &'static str) {
    match (err.status, err.cause) {
        (_, Cause::MissingKey) => ("invalid_request_error", None, "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."),
        (401, _) => ("invalid_request_error", Some("invalid_api_key"), "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys."),
        (403, _) => ("permission_error", Some("unsupported_country_region_territory"), "Country, region, or territory not supported"),
        (404, _) => ("invalid_request_error", Some("model_not_found"), "The model does not exist or you do not have access to it."),
        (408, _) => ("server_error", None, "Request timed out."),
        (409, _) => ("server_error", None, "The request conflicted with another request."),
        (429, _) => ("requests", Some("rate_limit_exceeded"), "Rate limit reached for requests. Please try again in 1s."),
        (500, _) => ("server_error", None, "The server had an error while processing your request. Sorry about that!"),
        (502, _) => ("server_error", None, "Bad gateway."),
        (503, _) => ("server_error", None, "The engine is currently overloaded, please try again later."),
        (504, _) => ("server_error", None, "Gateway timeout."),
        (s, _) if s >= 500 => ("server_error", None, "The server had an error while processing your request."),
        _ => ("invalid_request_error", None, "Invalid request."),
    }
}

/// The flavour's error body.
pub(crate) fn error_body(flavor: Flavor, err: &SimError) -> Vec<u8> {
    let (kind, default_code, default_message) = defaults(err);
    let message: Cow<'_, str> = if err.message.is_empty() {
        Cow::Borrowed(default_message)
    } else {
        Cow::Borrowed(&err.message)
    };
    let code = err.code.or(default_code);
    let body = match flavor {
        Flavor::Mistral => json!({"object": "error",
            "message": err.detail.clone().unwrap_or_else(|| Value::from(message.as_ref())),
            "type": if err.status == 422 { "invalid_request_message_error" } else { kind },
            "param": err.param, "code": code}),
        Flavor::Vllm if err.status == 401 => json!({"error": "Unauthorized"}),
        Flavor::Vllm => json!({"object": "error", "message": message,
            "type": vllm_type(err.status), "param": err.param, "code": err.status}),
        Flavor::OpenRouter => json!({"error": {"code": err.status, "message": message}}),
        Flavor::Azure => azure_body(err, &message, kind),
        _ => json!({"error": {"message": message, "type": kind, "param": err.param, "code": code}}),
    };
    body.to_string().into_bytes()
}

fn vllm_type(status: u16) -> &'static str {
    match status {
        400 => "BadRequestError",
        404 => "NotFoundError",
        429 => "RateLimitError",
        _ => "InternalServerError",
    }
}

fn azure_body(err: &SimError, message: &str, kind: &str) -> Value {
    match (err.status, err.cause) {
        (401, _) => {
            json!({"error": {"code": "401", "message": "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."}})
        }
        (404, Cause::NotFound) => json!({"error": {"code": "404", "message": message}}),
        (429, _) => json!({"error": {"code": "429", "message": format!(
            "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded call rate limit of your current OpenAI S0 pricing tier. Please retry after {} seconds.",
            err.retry_after.unwrap_or(1))}}),
        _ => json!({"error": {"message": message, "type": kind, "param": err.param,
            "code": err.code.map_or_else(|| err.status.to_string(), str::to_owned), "status": err.status}}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_shapes_per_flavor() {
        let err = SimError::injected(429, Some(2));
        let openai: Value = serde_json::from_slice(&error_body(Flavor::OpenAi, &err)).unwrap();
        assert_eq!(openai["error"]["code"], "rate_limit_exceeded");
        let router: Value = serde_json::from_slice(&error_body(Flavor::OpenRouter, &err)).unwrap();
        assert_eq!(router["error"]["code"], 429);
        let mistral: Value = serde_json::from_slice(&error_body(Flavor::Mistral, &err)).unwrap();
        assert_eq!(mistral["object"], "error");
        let vllm: Value = serde_json::from_slice(&error_body(Flavor::Vllm, &err)).unwrap();
        assert_eq!(vllm["code"], 429);
    }
}
