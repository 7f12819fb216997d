//! Canonical `ChatResponse` → Anthropic Messages response JSON.

use serde_json::{json, Value};
use switchyard_types::anthropic::{ContentBlock, Extra, MessagesResponse};
use switchyard_types::openai::{ChatResponse, Message};

use super::{message_id, stop_reason, wire_usage};
use crate::anthropic::response::THINKING_BLOCKS;

/// Builds the Anthropic response body for `resp`, reporting `model` (the name the client
/// asked for). Thinking comes first (signed blocks from `thinking_blocks` when present, else
/// `reasoning_content` with an empty signature), then text, then `tool_use` blocks.
pub fn response_from_canonical(resp: &ChatResponse, model: &str) -> Vec<u8> {
    let choice = resp.choices.first();
    let content = choice.map(|c| blocks(&c.message)).unwrap_or_default();
    let usage = resp
        .usage
        .as_ref()
        .map(wire_usage)
        .unwrap_or_else(|| wire_usage(&switchyard_types::openai::Usage::default()));
    let body = MessagesResponse {
        id: message_id(&resp.id),
        kind: "message".to_owned(),
        role: "assistant".to_owned(),
        model: model.to_owned(),
        content,
        stop_reason: Some(stop_reason(choice.and_then(|c| c.finish_reason)).to_owned()),
        stop_sequence: None,
        usage,
        extra: Extra::new(),
    };
    serde_json::to_vec(&body).unwrap_or_default()
}

fn blocks(m: &Message) -> Vec<ContentBlock> {
    let mut out = thinking(m);
    let text = m
        .content
        .as_ref()
        .map(|c| c.joined_text())
        .unwrap_or_default();
    if !text.is_empty() {
        out.push(ContentBlock::text(text));
    } else if let Some(refusal) = m.refusal.as_ref().filter(|r| !r.is_empty()) {
        out.push(ContentBlock::text(refusal.clone()));
    }
    for call in m.tool_calls.iter().flatten() {
        out.push(ContentBlock::ToolUse {
            id: call.id.clone(),
            name: call.function.name.clone(),
            input: tool_input(&call.function.arguments),
            extra: Extra::new(),
        });
    }
    out
}

fn thinking(m: &Message) -> Vec<ContentBlock> {
    if let Some(Value::Array(blocks)) = m.extra.get(THINKING_BLOCKS) {
        let parsed: Vec<ContentBlock> = blocks
            .iter()
            .filter_map(|b| serde_json::from_value::<ContentBlock>(b.clone()).ok())
            .filter(|b| {
                matches!(
                    b,
                    ContentBlock::Thinking { .. } | ContentBlock::RedactedThinking { .. }
                )
            })
            .collect();
        if !parsed.is_empty() {
            return parsed;
        }
    }
    match m.reasoning_content.as_ref().filter(|r| !r.is_empty()) {
        Some(r) => vec![ContentBlock::Thinking {
            thinking: r.clone(),
            signature: Some(String::new()),
            extra: Extra::new(),
        }],
        None => Vec::new(),
    }
}

/// Tool arguments as the object Anthropic clients expect; arguments that are not a JSON
/// object (a misbehaving upstream) are wrapped as `{"arguments": <raw string>}`, never lost.
pub(crate) fn tool_input(arguments: &str) -> Value {
    if arguments.trim().is_empty() {
        return json!({});
    }
    match serde_json::from_str::<Value>(arguments) {
        Ok(v @ Value::Object(_)) => v,
        _ => json!({"arguments": arguments}),
    }
}
