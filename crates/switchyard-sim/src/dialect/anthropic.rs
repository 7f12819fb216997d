//! Anthropic Messages API: validation, replies, the event stream and error bodies.

use std::borrow::Cow;
use std::collections::HashSet;

use axum::response::Response;
use bytes::Bytes;
use serde_json::{json, Value};

use super::{quoted, stream_cut, Action, Ctx};
use crate::content::{self, SIGNATURE};
use crate::error::{Cause, SimError};
use crate::prompt::{text_of, JsonMode, LastTurn, Prompt, Tool, ToolChoice};
use crate::reply::{self, Finish, Reply};
use crate::sse::Kind;

const GARBAGE_JSON: &[u8] = b"{\"id\":\"msg_sim\",\"type\":\"message\",\"content\":[{\"ty";
const GARBAGE_SSE: &[u8] =
    b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_del\n\n";
const OVERLOADED_EVENT: &[u8] = b"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";
const IMAGE_TYPES: [&str; 4] = ["image/jpeg", "image/png", "image/gif", "image/webp"];

/// Serves `POST /v1/messages` and `/v1/messages/count_tokens`.
pub(crate) async fn messages(ctx: Ctx<'_>, body: Value, count_only: bool) -> Response {
    let (prompt, stream) = match parse(&body, count_only) {
        Ok(parsed) => parsed,
        Err(err) => return ctx.error(&err),
    };
    if count_only {
        let tokens = content::tokens_for_chars(prompt.input_chars);
        return ctx.json(json!({ "input_tokens": tokens }).to_string().into_bytes());
    }
    let (action, extra) = ctx.decide(&prompt.directives);
    match action {
        Action::Status(code, retry) => return ctx.error(&SimError::injected(code, retry)),
        Action::Hang => return ctx.hang().await,
        Action::MidError(_) if !stream => return ctx.error(&SimError::injected(529, None)),
        _ => {}
    }
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let reply = reply::plan(&prompt, ctx.state.config());
    if stream {
        let frames = stream_frames(ctx.seq, model, &reply);
        let cut = stream_cut(&action, Bytes::from_static(OVERLOADED_EVENT), GARBAGE_SSE);
        return ctx.sse(frames, cut, ctx.pace(extra));
    }
    ctx.delay(extra).await;
    if let Some(response) = ctx.cut_json(&action, GARBAGE_JSON) {
        return response;
    }
    ctx.json(message(ctx.seq, model, &reply).to_string().into_bytes())
}

fn parse(body: &Value, count_only: bool) -> Result<(Prompt<'_>, bool), SimError> {
    let Some(obj) = body.as_object() else {
        return Err(SimError::invalid(
            "Input should be a valid dictionary or object",
        ));
    };
    if !obj.contains_key("model") {
        return Err(SimError::invalid("model: Field required"));
    }
    if !count_only && !obj.get("max_tokens").is_some_and(Value::is_u64) {
        return Err(SimError::invalid("max_tokens: Field required"));
    }
    let Some(messages) = obj.get("messages").and_then(Value::as_array) else {
        return Err(SimError::invalid("messages: Field required"));
    };
    if obj
        .get("temperature")
        .and_then(Value::as_f64)
        .is_some_and(|t| !(0.0..=1.0).contains(&t))
    {
        return Err(SimError::invalid("temperature: range: 0..1"));
    }
    let max_tokens = obj.get("max_tokens").and_then(Value::as_u64);
    let thinking = matches!(
        body.pointer("/thinking/type").and_then(Value::as_str),
        Some("enabled" | "adaptive")
    );
    let mut prompt = Prompt {
        reasoning: thinking,
        max_tokens,
        ..Prompt::default()
    };
    read_tools(body, &mut prompt);
    if thinking {
        if matches!(prompt.tool_choice, ToolChoice::Forced(_))
            || body.pointer("/tool_choice/type").and_then(Value::as_str) == Some("any")
        {
            return Err(SimError::invalid(
                "Thinking may not be enabled when tool_choice forces tool use.",
            ));
        }
        if let Some(budget) = body
            .pointer("/thinking/budget_tokens")
            .and_then(Value::as_u64)
        {
            if budget < 1024 {
                return Err(SimError::invalid(
                    "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024",
                ));
            }
            if max_tokens.is_some_and(|m| budget >= m) {
                return Err(SimError::invalid(
                    "`max_tokens` must be greater than `thinking.budget_tokens`.",
                ));
            }
        }
    }
    match obj.get("system") {
        Some(Value::String(s)) => prompt.add_text(s),
        Some(system @ Value::Array(_)) => prompt.add_text(&text_of(system)),
        _ => {}
    }
    let mut pending: Vec<&str> = Vec::new();
    for (i, message) in messages.iter().enumerate() {
        read_message(i, message, &mut prompt, &mut pending)?;
    }
    let stops = obj.get("stop_sequences").and_then(Value::as_array);
    for stop in stops.into_iter().flatten().filter_map(Value::as_str) {
        if stop.trim().is_empty() {
            return Err(SimError::invalid(
                "stop_sequences: each stop sequence must contain non-whitespace",
            ));
        }
        prompt.stop.push(stop);
    }
    if body
        .pointer("/output_config/format/type")
        .and_then(Value::as_str)
        == Some("json_schema")
    {
        prompt.json = body
            .pointer("/output_config/format/schema")
            .map(JsonMode::Schema);
    }
    let stream = obj.get("stream").and_then(Value::as_bool) == Some(true);
    Ok((prompt, stream))
}

fn read_message<'a>(
    i: usize,
    message: &'a Value,
    prompt: &mut Prompt<'a>,
    pending: &mut Vec<&'a str>,
) -> Result<(), SimError> {
    let role = message
        .get("role")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let content = message.get("content").unwrap_or(&Value::Null);
    let blocks: &[Value] = match content {
        Value::String(s) => {
            if s.is_empty() {
                return Err(SimError::invalid(format!(
                    "messages.{i}: all messages must have non-empty content except for the optional final assistant message"
                )));
            }
            if !pending.is_empty() {
                return Err(missing_results(i.saturating_sub(1), pending));
            }
            prompt.add_text(s);
            if role == "user" {
                prompt.set_user_turn(&[s.as_str()]);
            } else {
                prompt.last_turn = LastTurn::Other;
            }
            return Ok(());
        }
        Value::Array(blocks) => blocks,
        _ => {
            return Err(SimError::invalid(format!(
                "messages.{i}.content: Field required"
            )));
        }
    };
    let expected: HashSet<&str> = pending.drain(..).collect();
    let mut answered = HashSet::new();
    let mut texts = Vec::new();
    let mut results = 0;
    for (j, block) in blocks.iter().enumerate() {
        match block
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
        {
            "text" => {
                let text = block
                    .get("text")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if text.is_empty() {
                    return Err(SimError::invalid(
                        "messages: text content blocks must be non-empty",
                    ));
                }
                prompt.add_text(text);
                texts.push(text);
            }
            "image" => {
                check_image(i, j, block)?;
                prompt.images += 1;
            }
            "tool_use" if role == "assistant" => {
                if let Some(id) = block.get("id").and_then(Value::as_str) {
                    pending.push(id);
                }
                if let Some(input) = block.get("input") {
                    prompt.add_text(&input.to_string());
                }
            }
            "tool_result" if role == "user" => {
                let id = block
                    .get("tool_use_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if !expected.contains(id) {
                    return Err(SimError::invalid(format!(
                        "messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` blocks: {id}. Each `tool_result` block must have a corresponding `tool_use` block in the previous message."
                    )));
                }
                answered.insert(id);
                let text = block.get("content").map_or(Cow::Borrowed(""), text_of);
                prompt.add_text(&text);
                prompt.push_tool_result(text);
                results += 1;
            }
            _ => {}
        }
    }
    if let Some(missing) = expected.iter().find(|id| !answered.contains(*id)) {
        return Err(missing_results(i.saturating_sub(1), &[missing]));
    }
    if role == "user" && results == 0 {
        prompt.set_user_turn(&texts);
    } else if role != "user" {
        prompt.last_turn = LastTurn::Other;
    }
    Ok(())
}

fn missing_results(i: usize, ids: &[&str]) -> SimError {
    SimError::invalid(format!(
        "messages.{i}: `tool_use` ids were found without `tool_result` blocks immediately after: {}. Each `tool_use` block must have a corresponding `tool_result` block in the next message.",
        ids.join(", ")
    ))
}

fn check_image(i: usize, j: usize, block: &Value) -> Result<(), SimError> {
    let source = block.get("source");
    let kind = source.and_then(|s| s.get("type")).and_then(Value::as_str);
    let prefix = format!("messages.{i}.content.{j}.image.source");
    match kind {
        Some("base64") => {
            let media = source.and_then(|s| s.get("media_type")).and_then(Value::as_str);
            if !media.is_some_and(|m| IMAGE_TYPES.contains(&m)) {
                return Err(SimError::invalid(format!(
                    "{prefix}.base64.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'"
                )));
            }
            let data = source.and_then(|s| s.get("data")).and_then(Value::as_str);
            if data.is_none_or(str::is_empty) {
                return Err(SimError::invalid(format!("{prefix}.base64.data: Field required")));
            }
            Ok(())
        }
        Some("url") if source.and_then(|s| s.get("url")).is_some_and(Value::is_string) => Ok(()),
        Some("url") => Err(SimError::invalid(format!("{prefix}.url.url: Field required"))),
        Some("file") => Ok(()),
        _ => Err(SimError::invalid(format!(
            "{prefix}: Input tag '{}' found using 'type' does not match any of the expected tags: 'base64', 'file', 'url'",
            kind.unwrap_or_default()
        ))),
    }
}

fn read_tools<'a>(body: &'a Value, prompt: &mut Prompt<'a>) {
    if let Some(tools) = body.get("tools").and_then(Value::as_array) {
        for tool in tools {
            let custom = tool
                .get("type")
                .and_then(Value::as_str)
                .is_none_or(|t| t == "custom");
            if let (true, Some(name)) = (custom, tool.get("name").and_then(Value::as_str)) {
                prompt.tools.push(Tool {
                    name,
                    schema: tool.get("input_schema"),
                });
            }
        }
    }
    let choice = body.get("tool_choice");
    prompt.tool_choice = match choice.and_then(|c| c.get("type")).and_then(Value::as_str) {
        Some("none") => ToolChoice::None,
        Some("tool") => choice
            .and_then(|c| c.get("name"))
            .and_then(Value::as_str)
            .map_or(ToolChoice::Auto, ToolChoice::Forced),
        _ => ToolChoice::Auto,
    };
    prompt.parallel = choice
        .and_then(|c| c.get("disable_parallel_tool_use"))
        .and_then(Value::as_bool)
        != Some(true);
}

fn stop_reason(finish: &Finish) -> (&'static str, Value) {
    match finish {
        Finish::Stop => ("end_turn", Value::Null),
        Finish::Length => ("max_tokens", Value::Null),
        Finish::ToolCalls => ("tool_use", Value::Null),
        Finish::StopSequence(s) => ("stop_sequence", Value::from(s.as_str())),
    }
}

fn tool_id(seq: u64, k: usize) -> String {
    format!("toolu_sim{seq:06}x{k}")
}

fn message(seq: u64, model: &str, reply: &Reply<'_>) -> Value {
    let mut blocks = Vec::new();
    if let Some(thinking) = reply.reasoning {
        blocks.push(json!({"type": "thinking", "thinking": thinking, "signature": SIGNATURE}));
    }
    if reply.calls.is_empty() {
        blocks.push(json!({"type": "text", "text": reply.text}));
    }
    for (k, call) in reply.calls.iter().enumerate() {
        blocks.push(json!({"type": "tool_use", "id": tool_id(seq, k), "name": call.name, "input": call.args}));
    }
    let (reason, sequence) = stop_reason(&reply.finish);
    json!({
        "id": format!("msg_sim{seq:06}"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": blocks,
        "stop_reason": reason,
        "stop_sequence": sequence,
        "usage": {
            "input_tokens": reply.prompt_tokens,
            "output_tokens": reply.completion_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
            "service_tier": "standard"
        }
    })
}

fn event(name: &str, data: &str) -> Bytes {
    Bytes::from(format!("event: {name}\ndata: {data}\n\n"))
}

fn stream_frames(seq: u64, model: &str, reply: &Reply<'_>) -> Vec<(Kind, Bytes)> {
    let mut frames = Vec::with_capacity(reply.chunks + 12);
    let start = json!({"type": "message_start", "message": {
        "id": format!("msg_sim{seq:06}"), "type": "message", "role": "assistant", "model": model,
        "content": [], "stop_reason": null, "stop_sequence": null,
        "usage": {"input_tokens": reply.prompt_tokens, "cache_creation_input_tokens": 0,
                  "cache_read_input_tokens": 0, "output_tokens": 1, "service_tier": "standard"}}});
    frames.push((Kind::Other, event("message_start", &start.to_string())));
    let mut index = 0usize;
    let mut open = |frames: &mut Vec<(Kind, Bytes)>, block: &str| {
        frames.push((
            Kind::Other,
            event(
                "content_block_start",
                &format!("{{\"type\":\"content_block_start\",\"index\":{index},\"content_block\":{block}}}"),
            ),
        ));
        if index == 0 {
            frames.push((Kind::Other, event("ping", "{\"type\": \"ping\"}")));
        }
        index += 1;
        index - 1
    };
    let delta = |i: usize, delta: String| {
        (
            Kind::Content,
            event(
                "content_block_delta",
                &format!("{{\"type\":\"content_block_delta\",\"index\":{i},\"delta\":{delta}}}"),
            ),
        )
    };
    let stop = |i: usize| {
        (
            Kind::Other,
            event(
                "content_block_stop",
                &format!("{{\"type\":\"content_block_stop\",\"index\":{i}}}"),
            ),
        )
    };
    if let Some(thinking) = reply.reasoning {
        let i = open(
            &mut frames,
            "{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}",
        );
        for piece in content::split_words(thinking, 2) {
            frames.push(delta(
                i,
                format!(
                    "{{\"type\":\"thinking_delta\",\"thinking\":{}}}",
                    quoted(piece)
                ),
            ));
        }
        frames.push(delta(
            i,
            format!("{{\"type\":\"signature_delta\",\"signature\":\"{SIGNATURE}\"}}"),
        ));
        frames.push(stop(i));
    }
    if reply.calls.is_empty() {
        let i = open(&mut frames, "{\"type\":\"text\",\"text\":\"\"}");
        for piece in content::split_words(&reply.text, reply.chunks) {
            frames.push(delta(
                i,
                format!("{{\"type\":\"text_delta\",\"text\":{}}}", quoted(piece)),
            ));
        }
        frames.push(stop(i));
    }
    for (k, call) in reply.calls.iter().enumerate() {
        let block = format!(
            "{{\"type\":\"tool_use\",\"id\":\"{}\",\"name\":{},\"input\":{{}}}}",
            tool_id(seq, k),
            quoted(call.name)
        );
        let i = open(&mut frames, &block);
        frames.push(delta(
            i,
            "{\"type\":\"input_json_delta\",\"partial_json\":\"\"}".to_owned(),
        ));
        for piece in content::split_even(&call.args_json, 3) {
            frames.push(delta(
                i,
                format!(
                    "{{\"type\":\"input_json_delta\",\"partial_json\":{}}}",
                    quoted(piece)
                ),
            ));
        }
        frames.push(stop(i));
    }
    let (reason, sequence) = stop_reason(&reply.finish);
    let message_delta = json!({"type": "message_delta",
        "delta": {"stop_reason": reason, "stop_sequence": sequence},
        "usage": {"output_tokens": reply.completion_tokens}});
    frames.push((
        Kind::Finish,
        event("message_delta", &message_delta.to_string()),
    ));
    frames.push((
        Kind::Finish,
        event("message_stop", "{\"type\":\"message_stop\"}"),
    ));
    frames
}

/// Anthropic's error body, `request_id` included.
pub(crate) fn error_body(err: &SimError, seq: u64) -> Vec<u8> {
    let (kind, default_message) = match (err.status, err.cause) {
        (_, Cause::MissingKey) => ("authentication_error", "x-api-key header is required"),
        (401, _) => ("authentication_error", "invalid x-api-key"),
        (402, _) => (
            "billing_error",
            "Your credit balance is too low to access the Anthropic API.",
        ),
        (403, _) => (
            "permission_error",
            "Your API key does not have permission to use the specified resource.",
        ),
        (404, _) => ("not_found_error", "Not found"),
        (413, _) => (
            "request_too_large",
            "Request exceeds the maximum allowed number of bytes.",
        ),
        (429, _) => (
            "rate_limit_error",
            "This request would exceed your account's rate limit. Please try again later.",
        ),
        (504, _) => ("timeout_error", "Request timed out"),
        (529, _) => ("overloaded_error", "Overloaded"),
        (s, _) if s >= 500 => ("api_error", "Internal server error"),
        _ => ("invalid_request_error", "Invalid request"),
    };
    let message = if err.message.is_empty() {
        default_message
    } else {
        err.message.as_ref()
    };
    json!({"type": "error", "error": {"type": kind, "message": message},
           "request_id": format!("req_sim{seq:06}")})
    .to_string()
    .into_bytes()
}
