//! Canonical `ChatRequest` → Anthropic Messages request body.
//!
//! Choices where the formats do not line up (documented in the adapter's module docs):
//! `max_tokens` defaults to [`DEFAULT_MAX_TOKENS`]; `temperature` is clamped into Anthropic's
//! 0..=1; `n > 1` is refused; `seed`, penalties and `logit_bias` are dropped; `reasoning_effort`
//! becomes a fixed thinking budget ([`thinking_budget`]); `response_format` `json_schema` uses
//! the native `output_config.format`, `json_object` a system instruction.

use serde_json::{json, Map, Value};
use switchyard_types::anthropic::{
    ContentBlock, ImageSource, InputMessage, MessageContent, MessagesRequest, Metadata,
    Role as WireRole, System, Thinking, Tool as WireTool, ToolChoice as WireToolChoice,
    ToolResultContent,
};
use switchyard_types::openai::{
    ChatRequest, Content, ContentPart, Extra, ImageUrl, Message, ResponseFormat, Role, ToolChoice,
};
use switchyard_types::TranslateError;

use super::response::THINKING_BLOCKS;

/// `max_tokens` sent when the client gave no output cap (Anthropic requires one).
pub const DEFAULT_MAX_TOKENS: u64 = 4096;

/// Provider name used in [`TranslateError::Unsupported`].
const PROVIDER: &str = "anthropic";

/// Canonical extras forwarded as top-level Anthropic fields (set by the Anthropic ingress or by
/// clients that know they talk to Claude); every other unknown field is dropped, because
/// Anthropic rejects fields it does not know.
const PASSTHROUGH_EXTRAS: [&str; 6] = [
    "top_k",
    "output_config",
    "cache_control",
    "container",
    "mcp_servers",
    "context_management",
];

/// Instruction added to `system` for `response_format: json_object` (Anthropic has no switch).
pub const JSON_OBJECT_INSTRUCTION: &str =
    "Respond with a single valid JSON object and nothing else: no prose, no code fences.";

/// Schema keywords Anthropic's structured outputs reject; removed before sending.
const UNSUPPORTED_SCHEMA_KEYS: [&str; 9] = [
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "uniqueItems",
    "patternProperties",
];

/// Thinking budget for an OpenAI `reasoning_effort`; `Ok(None)` for `none`.
pub fn thinking_budget(effort: &str) -> Result<Option<u64>, TranslateError> {
    Ok(Some(match effort {
        "none" => return Ok(None),
        "minimal" => 1024,
        "low" => 2048,
        "medium" => 8192,
        "high" => 16_384,
        "xhigh" | "max" => 32_768,
        other => {
            return Err(TranslateError::invalid(
                format!("unknown reasoning_effort `{other}`"),
                Some("reasoning_effort"),
            ))
        }
    }))
}

/// Builds the Anthropic body for `req`, addressed to `model`.
pub(crate) fn encode(req: &ChatRequest, model: &str) -> Result<MessagesRequest, TranslateError> {
    if req.n.is_some_and(|n| n > 1) {
        return Err(TranslateError::Unsupported {
            param: "n".to_owned(),
            provider: PROVIDER.to_owned(),
        });
    }
    let mut system = system_parts(&req.messages);
    if matches!(req.response_format, Some(ResponseFormat::JsonObject)) {
        system.push(ContentBlock::text(JSON_OBJECT_INSTRUCTION));
    }
    let messages = conversation(&req.messages)?;
    let tools = tools(req)?;
    let tool_choice = tool_choice(req, tools.is_some())?;
    let forced_tool = tool_choice
        .as_ref()
        .is_some_and(|c| c.kind == "any" || c.kind == "tool");

    let mut extra = Extra::new();
    for key in PASSTHROUGH_EXTRAS {
        if let Some(v) = req.extra.get(key) {
            extra.insert(key.to_owned(), v.clone());
        }
    }
    if let Some(ResponseFormat::JsonSchema { json_schema }) = &req.response_format {
        let mut schema = json_schema
            .schema
            .clone()
            .unwrap_or_else(|| json!({"type": "object"}));
        strip_schema_keys(&mut schema);
        let config = extra
            .entry("output_config")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(config) = config {
            config.insert(
                "format".to_owned(),
                json!({"type": "json_schema", "schema": schema}),
            );
        }
    }

    let mut max_tokens = req.output_cap().unwrap_or(DEFAULT_MAX_TOKENS);
    // Anthropic rejects thinking together with a forced tool: the tool choice wins.
    let thinking = if forced_tool { None } else { thinking(req)? };
    let thinking_on = thinking.as_ref().is_some_and(|t| t.kind != "disabled");
    if let Some(budget) = thinking.as_ref().and_then(|t| t.budget_tokens) {
        // The budget counts inside max_tokens and must stay below it; keep the client's cap
        // for the visible answer on top of the budget.
        if max_tokens <= budget {
            max_tokens += budget;
        }
    }
    let (temperature, top_p) = if thinking_on {
        // Thinking requires the default temperature and top_k, and top_p within 0.95..=1.
        extra.remove("top_k");
        (None, req.top_p.filter(|p| *p >= 0.95))
    } else {
        (req.temperature.map(|t| t.clamp(0.0, 1.0)), req.top_p)
    };
    let top_k = extra.remove("top_k").and_then(|v| v.as_u64());

    let stop_sequences: Vec<String> = req
        .stop
        .as_ref()
        .map(|s| s.to_vec())
        .unwrap_or_default()
        .into_iter()
        .filter(|s| !s.trim().is_empty())
        .collect();
    // Anthropic wants an opaque id: values that look like e-mail addresses are dropped.
    let metadata = req
        .user
        .as_ref()
        .filter(|u| !u.is_empty() && !u.contains('@'))
        .map(|u| Metadata {
            user_id: Some(u.clone()),
            extra: Extra::new(),
        });

    Ok(MessagesRequest {
        model: model.to_owned(),
        max_tokens: Some(max_tokens),
        messages,
        system: system_value(system),
        temperature,
        top_p,
        top_k,
        stop_sequences: (!stop_sequences.is_empty()).then_some(stop_sequences),
        stream: req.is_stream().then_some(true),
        tools,
        tool_choice,
        metadata,
        thinking,
        extra,
    })
}

/// System and developer messages, in order, as text blocks.
fn system_parts(messages: &[Message]) -> Vec<ContentBlock> {
    let mut out = Vec::new();
    for m in messages
        .iter()
        .filter(|m| matches!(m.role, Role::System | Role::Developer))
    {
        match &m.content {
            Some(Content::Text(t)) if !t.is_empty() => out.push(ContentBlock::text(t.clone())),
            Some(Content::Parts(parts)) => {
                for p in parts {
                    if let ContentPart::Text { text, extra, .. } = p {
                        if !text.is_empty() {
                            out.push(ContentBlock::Text {
                                text: text.clone(),
                                extra: cache_control(extra),
                            });
                        }
                    }
                }
            }
            Some(Content::Text(_)) | None => {}
        }
    }
    out
}

/// A plain string unless a block carries `cache_control`; `None` when empty.
fn system_value(blocks: Vec<ContentBlock>) -> Option<System> {
    if blocks.is_empty() {
        return None;
    }
    let plain = blocks
        .iter()
        .all(|b| matches!(b, ContentBlock::Text { extra, .. } if extra.is_empty()));
    if !plain {
        return Some(System::Blocks(blocks));
    }
    let texts: Vec<&str> = blocks
        .iter()
        .filter_map(|b| match b {
            ContentBlock::Text { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    Some(System::Text(texts.join("\n\n")))
}

/// Only `cache_control` of a part's extras means something to Anthropic.
fn cache_control(extra: &Extra) -> Extra {
    extra
        .iter()
        .filter(|(k, _)| k.as_str() == "cache_control")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// User, assistant and tool messages → alternating Anthropic turns. Consecutive tool messages
/// become one user turn of `tool_result` blocks, placed before any other content of that turn.
fn conversation(messages: &[Message]) -> Result<Vec<InputMessage>, TranslateError> {
    let mut turns: Vec<(WireRole, Vec<ContentBlock>)> = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        let (role, blocks) = match m.role {
            Role::System | Role::Developer => continue,
            Role::User => (WireRole::User, user_blocks(m, i)?),
            Role::Assistant => (WireRole::Assistant, assistant_blocks(m, i)?),
            Role::Tool => (WireRole::User, vec![tool_result(m, i)?]),
            Role::Function => {
                return Err(TranslateError::invalid(
                    "legacy function messages are not supported; use tool messages",
                    Some(&format!("messages[{i}].role")),
                ))
            }
        };
        if blocks.is_empty() {
            continue;
        }
        match turns.last_mut() {
            Some((last_role, last)) if *last_role == role => merge(last, blocks),
            _ => turns.push((role, blocks)),
        }
    }
    // A final assistant turn is a prefill, which must not end with whitespace.
    if let Some((WireRole::Assistant, blocks)) = turns.last_mut() {
        if let Some(ContentBlock::Text { text, .. }) = blocks.last_mut() {
            text.truncate(text.trim_end().len());
        }
        if matches!(blocks.last(), Some(ContentBlock::Text { text, .. }) if text.is_empty()) {
            blocks.pop();
        }
        if blocks.is_empty() {
            turns.pop();
        }
    }
    if turns.is_empty() {
        return Err(TranslateError::invalid(
            "at least one non-empty user or assistant message is required",
            Some("messages"),
        ));
    }
    Ok(turns
        .into_iter()
        .map(|(role, blocks)| InputMessage {
            role,
            content: MessageContent::Blocks(blocks),
        })
        .collect())
}

/// Appends `blocks` to a same-role turn, keeping `tool_result` blocks first.
fn merge(turn: &mut Vec<ContentBlock>, blocks: Vec<ContentBlock>) {
    for block in blocks {
        if matches!(block, ContentBlock::ToolResult { .. }) {
            let at = turn
                .iter()
                .position(|b| !matches!(b, ContentBlock::ToolResult { .. }))
                .unwrap_or(turn.len());
            turn.insert(at, block);
        } else {
            turn.push(block);
        }
    }
}

fn user_blocks(m: &Message, i: usize) -> Result<Vec<ContentBlock>, TranslateError> {
    match &m.content {
        Some(c) => content_blocks(c, &format!("messages[{i}].content")),
        None => Ok(Vec::new()),
    }
}

/// Thinking blocks (replayed with signatures), text, then `tool_use` blocks.
fn assistant_blocks(m: &Message, i: usize) -> Result<Vec<ContentBlock>, TranslateError> {
    let mut out = replay_thinking(&m.extra);
    if let Some(c) = &m.content {
        out.extend(content_blocks(c, &format!("messages[{i}].content"))?);
    }
    for (j, call) in m.tool_calls.iter().flatten().enumerate() {
        let param = format!("messages[{i}].tool_calls[{j}].function.arguments");
        let args = call.function.arguments.trim();
        let input = if args.is_empty() {
            json!({})
        } else {
            serde_json::from_str::<Value>(args).map_err(|e| {
                TranslateError::invalid(
                    format!("tool call arguments are not valid JSON: {e}"),
                    Some(&param),
                )
            })?
        };
        if !input.is_object() {
            return Err(TranslateError::invalid(
                "tool call arguments must be a JSON object",
                Some(&param),
            ));
        }
        out.push(ContentBlock::ToolUse {
            id: tool_id(&call.id, &format!("messages[{i}].tool_calls[{j}].id"))?,
            name: call.function.name.clone(),
            input,
            extra: Extra::new(),
        });
    }
    Ok(out)
}

/// Signed thinking blocks kept in the message's [`THINKING_BLOCKS`] extra. Bare
/// `reasoning_content` without a signature cannot be replayed (Anthropic verifies signatures)
/// and is dropped, as is any block from another provider.
fn replay_thinking(extra: &Extra) -> Vec<ContentBlock> {
    let Some(Value::Array(blocks)) = extra.get(THINKING_BLOCKS) else {
        return Vec::new();
    };
    blocks
        .iter()
        .filter_map(|b| serde_json::from_value::<ContentBlock>(b.clone()).ok())
        .filter(|b| match b {
            ContentBlock::Thinking { signature, .. } => {
                signature.as_deref().is_some_and(|s| !s.is_empty())
            }
            ContentBlock::RedactedThinking { .. } => true,
            _ => false,
        })
        .collect()
}

fn tool_result(m: &Message, i: usize) -> Result<ContentBlock, TranslateError> {
    let Some(id) = &m.tool_call_id else {
        return Err(TranslateError::invalid(
            "tool messages need a tool_call_id",
            Some(&format!("messages[{i}].tool_call_id")),
        ));
    };
    let content = match &m.content {
        Some(Content::Text(t)) if !t.is_empty() => Some(ToolResultContent::Text(t.clone())),
        Some(c @ Content::Parts(_)) => {
            let blocks = content_blocks(c, &format!("messages[{i}].content"))?;
            (!blocks.is_empty()).then_some(ToolResultContent::Blocks(blocks))
        }
        Some(Content::Text(_)) | None => None,
    };
    Ok(ContentBlock::ToolResult {
        tool_use_id: tool_id(id, &format!("messages[{i}].tool_call_id"))?,
        content,
        is_error: m.extra.get("is_error").and_then(Value::as_bool),
        extra: Extra::new(),
    })
}

/// Anthropic accepts ids matching `^[a-zA-Z0-9_-]+$`; other characters become `_`, the same
/// way for calls and results so they still pair up.
fn tool_id(id: &str, param: &str) -> Result<String, TranslateError> {
    if id.is_empty() {
        return Err(TranslateError::invalid(
            "tool call id is empty",
            Some(param),
        ));
    }
    Ok(id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect())
}

/// Message content → blocks; empty text is skipped (Anthropic rejects empty text blocks).
fn content_blocks(content: &Content, param: &str) -> Result<Vec<ContentBlock>, TranslateError> {
    let parts = match content {
        Content::Text(t) if t.is_empty() => return Ok(Vec::new()),
        Content::Text(t) => return Ok(vec![ContentBlock::text(t.clone())]),
        Content::Parts(parts) => parts,
    };
    let mut out = Vec::with_capacity(parts.len());
    for (j, part) in parts.iter().enumerate() {
        let param = format!("{param}[{j}]");
        match part {
            ContentPart::Text { text, extra, .. } => {
                if !text.is_empty() {
                    out.push(ContentBlock::Text {
                        text: text.clone(),
                        extra: cache_control(extra),
                    });
                }
            }
            ContentPart::ImageUrl {
                image_url, extra, ..
            } => out.push(ContentBlock::Image {
                source: image_source(image_url, &param)?,
                extra: cache_control(extra),
            }),
            ContentPart::Other(v) => out.push(other_part(v, &param)?),
        }
    }
    Ok(out)
}

fn image_source(image: &ImageUrl, param: &str) -> Result<ImageSource, TranslateError> {
    if let Some((media_type, data)) = image.as_data_url() {
        return Ok(ImageSource::Base64 {
            media_type: media_type.to_owned(),
            data: data.to_owned(),
        });
    }
    if image.url.starts_with("https://") || image.url.starts_with("http://") {
        return Ok(ImageSource::Url {
            url: image.url.clone(),
        });
    }
    Err(TranslateError::invalid(
        "image_url must be an http(s) URL or a base64 data URL",
        Some(param),
    ))
}

/// `file` parts with inline data become `document` blocks; Anthropic-native block types pass
/// through; anything else (audio, uploaded file ids) cannot be expressed.
fn other_part(v: &Value, param: &str) -> Result<ContentBlock, TranslateError> {
    match v.get("type").and_then(Value::as_str) {
        Some("file") => {
            let file = v.get("file");
            let data_url = file
                .and_then(|f| f.get("file_data"))
                .and_then(Value::as_str)
                .map(|url| ImageUrl {
                    url: url.to_owned(),
                    detail: None,
                });
            let Some((media_type, data)) = data_url.as_ref().and_then(ImageUrl::as_data_url) else {
                return Err(TranslateError::Unsupported {
                    param: param.to_owned(),
                    provider: PROVIDER.to_owned(),
                });
            };
            let mut doc = json!({
                "type": "document",
                "source": {"type": "base64", "media_type": media_type, "data": data},
            });
            if let (Some(name), Value::Object(d)) = (
                file.and_then(|f| f.get("filename")).and_then(Value::as_str),
                &mut doc,
            ) {
                d.insert("title".to_owned(), Value::String(name.to_owned()));
            }
            Ok(ContentBlock::Other(doc))
        }
        Some("document" | "search_result") => Ok(ContentBlock::Other(v.clone())),
        _ => Err(TranslateError::Unsupported {
            param: param.to_owned(),
            provider: PROVIDER.to_owned(),
        }),
    }
}

fn tools(req: &ChatRequest) -> Result<Option<Vec<WireTool>>, TranslateError> {
    let Some(tools) = req.tools.as_ref().filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    tools
        .iter()
        .enumerate()
        .map(|(i, t)| {
            if t.kind != "function" {
                return Err(TranslateError::Unsupported {
                    param: format!("tools[{i}].type"),
                    provider: PROVIDER.to_owned(),
                });
            }
            Ok(WireTool {
                name: t.function.name.clone(),
                description: t.function.description.clone(),
                input_schema: Some(
                    t.function
                        .parameters
                        .clone()
                        .unwrap_or_else(|| json!({"type": "object", "properties": {}})),
                ),
                extra: Extra::new(),
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// `tool_choice` and the inverse `parallel_tool_calls` flag; omitted without tools.
fn tool_choice(
    req: &ChatRequest,
    has_tools: bool,
) -> Result<Option<WireToolChoice>, TranslateError> {
    if !has_tools {
        return Ok(None);
    }
    let choice = |kind: &str, name: Option<String>| WireToolChoice {
        kind: kind.to_owned(),
        name,
        disable_parallel_tool_use: None,
    };
    let mut out = match &req.tool_choice {
        None => None,
        Some(ToolChoice::Mode(mode)) => Some(match mode.as_str() {
            "auto" => choice("auto", None),
            "required" => choice("any", None),
            "none" => choice("none", None),
            other => {
                return Err(TranslateError::invalid(
                    format!("unknown tool_choice `{other}`"),
                    Some("tool_choice"),
                ))
            }
        }),
        Some(ToolChoice::Named(named)) => Some(choice("tool", Some(named.function.name.clone()))),
    };
    if req.parallel_tool_calls == Some(false) {
        let c = out.get_or_insert_with(|| choice("auto", None));
        if c.kind != "none" {
            c.disable_parallel_tool_use = Some(true);
        }
    }
    Ok(out)
}

/// An explicit Anthropic `thinking` extra wins; else `reasoning_effort` maps to a budget.
fn thinking(req: &ChatRequest) -> Result<Option<Thinking>, TranslateError> {
    if let Some(v) = req.extra.get("thinking") {
        return serde_json::from_value(v.clone()).map(Some).map_err(|e| {
            TranslateError::invalid(format!("invalid thinking: {e}"), Some("thinking"))
        });
    }
    let Some(effort) = &req.reasoning_effort else {
        return Ok(None);
    };
    Ok(thinking_budget(effort)?.map(|budget| Thinking {
        kind: "enabled".to_owned(),
        budget_tokens: Some(budget),
        extra: Extra::new(),
    }))
}

/// Removes schema keywords Anthropic's structured outputs reject, recursively.
fn strip_schema_keys(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            for key in UNSUPPORTED_SCHEMA_KEYS {
                map.remove(key);
            }
            if map
                .get("minItems")
                .and_then(Value::as_u64)
                .is_some_and(|n| n > 1)
            {
                map.remove("minItems");
            }
            for (key, value) in map.iter_mut() {
                match (key.as_str(), value) {
                    // Maps from names to schemas: a property may be called `maximum`.
                    ("properties" | "$defs" | "definitions", Value::Object(named)) => {
                        named.values_mut().for_each(strip_schema_keys);
                    }
                    (_, value) => strip_schema_keys(value),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip_schema_keys),
        _ => {}
    }
}
