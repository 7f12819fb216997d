//! Anthropic Messages request → canonical `ChatRequest`.

use serde_json::Value;
use switchyard_types::anthropic::{
    ContentBlock, ImageSource, MessageContent, MessagesRequest, Role as WireRole, System,
    ToolResultContent,
};
use switchyard_types::openai::{
    ChatRequest, Content, ContentPart, Extra, FunctionCall, FunctionDef, FunctionName, Message,
    NamedToolChoice, Role, Stop, StreamOptions, Tool, ToolCall, ToolChoice,
};
use switchyard_types::TranslateError;

use crate::anthropic::response::THINKING_BLOCKS;

/// Prefix of a tool message made from a `tool_result` with `is_error: true`.
pub const TOOL_ERROR_PREFIX: &str = "Error: ";

/// Parses and validates an Anthropic request body the way Anthropic would (missing `model`,
/// `max_tokens` or `messages` → [`TranslateError::InvalidRequest`] naming the field), then
/// translates it to the canonical model.
pub fn request_to_canonical(body: &[u8]) -> Result<ChatRequest, TranslateError> {
    let raw: Value = serde_json::from_slice(body)
        .map_err(|e| TranslateError::invalid(format!("invalid JSON body: {e}"), None))?;
    for field in ["model", "max_tokens", "messages"] {
        if raw.get(field).is_none_or(Value::is_null) {
            return Err(TranslateError::invalid(
                format!("{field}: Field required"),
                Some(field),
            ));
        }
    }
    let req: MessagesRequest = serde_json::from_value(raw)
        .map_err(|e| TranslateError::invalid(format!("invalid request: {e}"), None))?;
    if req.model.is_empty() {
        return Err(TranslateError::invalid(
            "model: must not be empty",
            Some("model"),
        ));
    }
    if req.messages.is_empty() {
        return Err(TranslateError::invalid(
            "messages: at least one message is required",
            Some("messages"),
        ));
    }

    let mut messages = Vec::new();
    if let Some(system) = &req.system {
        messages.push(system_message(system));
    }
    for (i, m) in req.messages.iter().enumerate() {
        let blocks = match &m.content {
            MessageContent::Text(t) => vec![ContentBlock::text(t.clone())],
            MessageContent::Blocks(b) => b.clone(),
        };
        match m.role {
            WireRole::User => user_messages(blocks, i, &mut messages)?,
            WireRole::Assistant => messages.push(assistant_message(blocks)),
        }
    }

    let mut extra = req.extra.clone();
    if let Some(k) = req.top_k {
        extra.insert("top_k".to_owned(), Value::from(k));
    }
    let mut reasoning_effort = None;
    if let Some(thinking) = &req.thinking {
        reasoning_effort = match (thinking.kind.as_str(), thinking.budget_tokens) {
            ("enabled", Some(b)) if b < 4096 => Some("low"),
            ("enabled", Some(b)) if b < 16_384 => Some("medium"),
            ("enabled", _) => Some("high"),
            ("adaptive", _) => Some("medium"),
            _ => None,
        }
        .map(str::to_owned);
        let value = serde_json::to_value(thinking)
            .map_err(|e| TranslateError::invalid(e.to_string(), Some("thinking")))?;
        extra.insert("thinking".to_owned(), value);
    }
    let (tool_choice, parallel_tool_calls) = tool_choice(&req);
    let stream = req.stream.unwrap_or(false);

    Ok(ChatRequest {
        model: req.model.clone(),
        messages,
        stream: req.stream,
        stream_options: stream.then(|| StreamOptions {
            include_usage: Some(true),
            extra: Extra::new(),
        }),
        temperature: req.temperature,
        top_p: req.top_p,
        max_tokens: None,
        max_completion_tokens: req.max_tokens,
        stop: req.stop_sequences.clone().map(Stop::Many),
        n: None,
        seed: None,
        user: req.metadata.as_ref().and_then(|m| m.user_id.clone()),
        tools: tools(&req)?,
        tool_choice,
        parallel_tool_calls,
        response_format: None,
        presence_penalty: None,
        frequency_penalty: None,
        reasoning_effort,
        extra,
    })
}

fn system_message(system: &System) -> Message {
    match system {
        System::Text(t) => Message::text(Role::System, t.clone()),
        System::Blocks(blocks) => {
            let parts: Vec<ContentPart> = blocks.iter().filter_map(text_part).collect();
            let mut m = Message::text(Role::System, String::new());
            m.content = Some(collapse(parts));
            m
        }
    }
}

/// A text block as a text part, `cache_control` and other extras kept.
fn text_part(block: &ContentBlock) -> Option<ContentPart> {
    match block {
        ContentBlock::Text { text, extra } => Some(ContentPart::Text {
            kind: switchyard_types::openai::TextTag::Text,
            text: text.clone(),
            extra: extra.clone(),
        }),
        _ => None,
    }
}

/// One plain text part becomes a string; anything else stays parts.
fn collapse(parts: Vec<ContentPart>) -> Content {
    match parts.as_slice() {
        [ContentPart::Text { text, extra, .. }] if extra.is_empty() => Content::Text(text.clone()),
        _ => Content::Parts(parts),
    }
}

/// A user turn: its `tool_result` blocks become tool messages (first, in order), the rest one
/// user message.
fn user_messages(
    blocks: Vec<ContentBlock>,
    i: usize,
    out: &mut Vec<Message>,
) -> Result<(), TranslateError> {
    let mut parts = Vec::new();
    for (j, block) in blocks.into_iter().enumerate() {
        let param = format!("messages[{i}].content[{j}]");
        match block {
            ContentBlock::ToolResult {
                tool_use_id,
                content,
                is_error,
                ..
            } => out.push(tool_message(tool_use_id, content, is_error, &param)?),
            other => {
                if let Some(p) = part(other, &param)? {
                    parts.push(p);
                }
            }
        }
    }
    if !parts.is_empty() {
        let mut m = Message::text(Role::User, String::new());
        m.content = Some(collapse(parts));
        out.push(m);
    }
    Ok(())
}

/// A user-side block as a canonical part; thinking or tool_use here are ignored.
fn part(block: ContentBlock, param: &str) -> Result<Option<ContentPart>, TranslateError> {
    Ok(match block {
        ContentBlock::Text { text, extra } => Some(ContentPart::Text {
            kind: switchyard_types::openai::TextTag::Text,
            text,
            extra,
        }),
        ContentBlock::Image { source, extra } => {
            let url = match source {
                ImageSource::Base64 { media_type, data } => {
                    format!("data:{media_type};base64,{data}")
                }
                ImageSource::Url { url } => url,
                ImageSource::Other(_) => {
                    return Err(TranslateError::invalid(
                        "only base64 and url image sources are supported",
                        Some(&format!("{param}.source")),
                    ))
                }
            };
            let mut p = ContentPart::image(url);
            if let ContentPart::ImageUrl { extra: e, .. } = &mut p {
                *e = extra;
            }
            Some(p)
        }
        ContentBlock::Other(v) => Some(document_part(v)),
        ContentBlock::ToolUse { .. }
        | ContentBlock::ToolResult { .. }
        | ContentBlock::Thinking { .. }
        | ContentBlock::RedactedThinking { .. } => None,
    })
}

/// A base64 PDF `document` becomes an OpenAI `file` part, a plain-text one a text part;
/// other blocks are kept as sent (an Anthropic upstream understands them).
fn document_part(v: Value) -> ContentPart {
    let source = v.get("source");
    let field = |k: &str| source.and_then(|s| s.get(k)).and_then(Value::as_str);
    if v.get("type").and_then(Value::as_str) == Some("document") {
        match (field("type"), field("media_type"), field("data")) {
            (Some("base64"), Some(media), Some(data)) => {
                let mut file =
                    serde_json::json!({"file_data": format!("data:{media};base64,{data}")});
                if let (Some(title), Value::Object(f)) =
                    (v.get("title").and_then(Value::as_str), &mut file)
                {
                    f.insert("filename".to_owned(), Value::String(title.to_owned()));
                }
                return ContentPart::Other(serde_json::json!({"type": "file", "file": file}));
            }
            (Some("text"), _, Some(data)) => return ContentPart::text(data),
            _ => {}
        }
    }
    ContentPart::Other(v)
}

fn tool_message(
    tool_use_id: String,
    content: Option<ToolResultContent>,
    is_error: Option<bool>,
    param: &str,
) -> Result<Message, TranslateError> {
    let mut content = match content {
        None => Content::Text(String::new()),
        Some(ToolResultContent::Text(t)) => Content::Text(t),
        Some(ToolResultContent::Blocks(blocks)) => {
            let mut parts = Vec::new();
            for (k, b) in blocks.into_iter().enumerate() {
                if let Some(p) = part(b, &format!("{param}.content[{k}]"))? {
                    parts.push(p);
                }
            }
            collapse(parts)
        }
    };
    if is_error == Some(true) {
        content = match content {
            Content::Text(t) => Content::Text(format!("{TOOL_ERROR_PREFIX}{t}")),
            Content::Parts(mut parts) => {
                parts.insert(0, ContentPart::text(TOOL_ERROR_PREFIX));
                Content::Parts(parts)
            }
        };
    }
    let mut m = Message::text(Role::Tool, String::new());
    m.content = Some(content);
    m.tool_call_id = Some(tool_use_id);
    Ok(m)
}

/// Text → content, thinking → `reasoning_content` plus signed blocks in `thinking_blocks`,
/// `tool_use` → tool calls (ids kept).
fn assistant_message(blocks: Vec<ContentBlock>) -> Message {
    let mut text = String::new();
    let mut reasoning = String::new();
    let mut thinking_blocks = Vec::new();
    let mut tool_calls = Vec::new();
    for block in blocks {
        match block {
            ContentBlock::Text { text: t, .. } => text.push_str(&t),
            ContentBlock::Thinking { ref thinking, .. } => {
                reasoning.push_str(thinking);
                thinking_blocks.push(serde_json::to_value(&block).unwrap_or(Value::Null));
            }
            ContentBlock::RedactedThinking { .. } => {
                thinking_blocks.push(serde_json::to_value(&block).unwrap_or(Value::Null));
            }
            ContentBlock::ToolUse {
                id, name, input, ..
            } => tool_calls.push(ToolCall {
                id,
                kind: "function".to_owned(),
                function: FunctionCall {
                    name,
                    arguments: input.to_string(),
                },
            }),
            ContentBlock::Image { .. }
            | ContentBlock::ToolResult { .. }
            | ContentBlock::Other(_) => {}
        }
    }
    let mut m = Message::text(Role::Assistant, text);
    if matches!(&m.content, Some(Content::Text(t)) if t.is_empty()) {
        m.content = None;
    }
    m.reasoning_content = (!reasoning.is_empty()).then_some(reasoning);
    m.tool_calls = (!tool_calls.is_empty()).then_some(tool_calls);
    if !thinking_blocks.is_empty() {
        m.extra
            .insert(THINKING_BLOCKS.to_owned(), Value::Array(thinking_blocks));
    }
    m
}

fn tools(req: &MessagesRequest) -> Result<Option<Vec<Tool>>, TranslateError> {
    let Some(tools) = &req.tools else {
        return Ok(None);
    };
    tools
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let custom = t.extra.get("type").is_none_or(|k| k == "custom");
            if !custom {
                return Err(TranslateError::invalid(
                    "server tools are not supported through the gateway",
                    Some(&format!("tools[{i}].type")),
                ));
            }
            Ok(Tool {
                kind: "function".to_owned(),
                function: FunctionDef {
                    name: t.name.clone(),
                    description: t.description.clone(),
                    parameters: t.input_schema.clone(),
                    strict: t.extra.get("strict").and_then(Value::as_bool),
                },
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// `tool_choice` and `disable_parallel_tool_use` → canonical choice and parallel flag.
fn tool_choice(req: &MessagesRequest) -> (Option<ToolChoice>, Option<bool>) {
    let Some(c) = &req.tool_choice else {
        return (None, None);
    };
    let choice = match (c.kind.as_str(), &c.name) {
        ("any", _) => Some(ToolChoice::Mode("required".to_owned())),
        ("none", _) => Some(ToolChoice::Mode("none".to_owned())),
        ("tool", Some(name)) => Some(ToolChoice::Named(NamedToolChoice {
            kind: "function".to_owned(),
            function: FunctionName { name: name.clone() },
        })),
        _ => Some(ToolChoice::Mode("auto".to_owned())),
    };
    let parallel = c.disable_parallel_tool_use.filter(|d| *d).map(|_| false);
    (choice, parallel)
}
