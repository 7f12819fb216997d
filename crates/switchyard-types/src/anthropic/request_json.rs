//! A Messages request as JSON bytes: `serde_json::to_vec`'s output, written by hand.
//!
//! A translated request is built as a [`MessagesRequest`] and written out for the provider;
//! through serde that cost ~3,300 instructions on a two-message request (a map entry per
//! member, an escape-table lookup per string byte, untagged and internally tagged enums, a
//! buffer grown from 128 bytes). Here the request and its messages are written member by
//! member, text and text blocks with [`write_json_string`]; every other value (tools, tool
//! choice, metadata, thinking, other blocks, unmodelled members' values) goes through serde on
//! its own, which writes the same bytes it writes inside the whole (the compact formatter
//! keeps no state between values). Member order follows the serde attributes of the types; a
//! test compares the bytes with `serde_json::to_vec` on real requests and every optional part.

use serde::Serialize;

use super::{ContentBlock, Extra, MessageContent, MessagesRequest, Role, System};
use crate::json_string::write_json_string;

impl MessagesRequest {
    /// The request as JSON, byte for byte what `serde_json::to_vec` writes.
    pub fn to_json(&self) -> serde_json::Result<Vec<u8>> {
        let text: usize = self
            .messages
            .iter()
            .map(|m| match &m.content {
                MessageContent::Text(t) => t.len(),
                MessageContent::Blocks(b) => b.len() * 64,
            })
            .sum();
        let mut out = Vec::with_capacity(text + 256);
        out.extend_from_slice(b"{\"model\":");
        write_json_string(&mut out, &self.model);
        if let Some(n) = self.max_tokens {
            out.extend_from_slice(b",\"max_tokens\":");
            out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
        }
        out.extend_from_slice(b",\"messages\":[");
        for (i, m) in self.messages.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(match m.role {
                Role::User => b"{\"role\":\"user\",\"content\":",
                Role::Assistant => b"{\"role\":\"assistant\",\"content\":",
            });
            match &m.content {
                MessageContent::Text(t) => write_json_string(&mut out, t),
                MessageContent::Blocks(blocks) => write_blocks(&mut out, blocks)?,
            }
            out.push(b'}');
        }
        out.push(b']');
        if let Some(system) = &self.system {
            out.extend_from_slice(b",\"system\":");
            match system {
                System::Text(t) => write_json_string(&mut out, t),
                System::Blocks(blocks) => write_blocks(&mut out, blocks)?,
            }
        }
        member(&mut out, "temperature", &self.temperature)?;
        member(&mut out, "top_p", &self.top_p)?;
        member(&mut out, "top_k", &self.top_k)?;
        member(&mut out, "stop_sequences", &self.stop_sequences)?;
        member(&mut out, "stream", &self.stream)?;
        member(&mut out, "tools", &self.tools)?;
        member(&mut out, "tool_choice", &self.tool_choice)?;
        member(&mut out, "metadata", &self.metadata)?;
        member(&mut out, "thinking", &self.thinking)?;
        flattened(&mut out, &self.extra)?;
        out.push(b'}');
        Ok(out)
    }
}

/// `,"key":value` when there is a value (`skip_serializing_if = "Option::is_none"`).
fn member<T: Serialize>(out: &mut Vec<u8>, key: &str, value: &Option<T>) -> serde_json::Result<()> {
    if let Some(v) = value {
        out.push(b',');
        write_json_string(out, key);
        out.push(b':');
        serde_json::to_writer(&mut *out, v)?;
    }
    Ok(())
}

/// The members of a `#[serde(flatten)]` map, in its order, after the others.
fn flattened(out: &mut Vec<u8>, extra: &Extra) -> serde_json::Result<()> {
    for (key, value) in extra {
        out.push(b',');
        write_json_string(out, key);
        out.push(b':');
        serde_json::to_writer(&mut *out, value)?;
    }
    Ok(())
}

/// Blocks: a text block (tag first, as serde writes an internally tagged enum) by hand, any
/// other through serde.
fn write_blocks(out: &mut Vec<u8>, blocks: &[ContentBlock]) -> serde_json::Result<()> {
    out.push(b'[');
    for (i, block) in blocks.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        match block {
            ContentBlock::Text { text, extra } => {
                out.extend_from_slice(b"{\"type\":\"text\",\"text\":");
                write_json_string(out, text);
                flattened(out, extra)?;
                out.push(b'}');
            }
            other => serde_json::to_writer(&mut *out, other)?,
        }
    }
    out.push(b']');
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn same_bytes(req: &MessagesRequest) {
        assert_eq!(
            String::from_utf8(req.to_json().unwrap()).unwrap(),
            serde_json::to_string(req).unwrap()
        );
    }

    /// Real requests (providers.md section 2, as in the providers crate's fixtures) and a
    /// request with every optional member, text and block forms, and unmodelled members.
    #[test]
    fn requests_are_written_as_serde_json_writes_them() {
        for body in [
            json!({
                "model": "claude-sonnet-4-5",
                "max_tokens": 1024,
                "system": [{"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral"}}],
                "messages": [
                    {"role": "user", "content": [
                        {"type": "text", "text": "What is in this image?\n\"Quote\""},
                        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
                    ]},
                    {"role": "assistant", "content": [
                        {"type": "thinking", "thinking": "Let me look.", "signature": "EqQBCgIYAhIM"},
                        {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"location": "Paris", "unit": "c"}}
                    ]},
                    {"role": "user", "content": [
                        {"type": "tool_result", "tool_use_id": "toolu_01", "content": "15 degrees", "is_error": false}
                    ]}
                ],
                "tools": [{"name": "get_weather", "description": "Weather", "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}}}],
                "tool_choice": {"type": "auto", "disable_parallel_tool_use": true},
                "temperature": 0.2,
                "top_p": 0.95,
                "top_k": 40,
                "stop_sequences": ["\n\nHuman:"],
                "stream": true,
                "metadata": {"user_id": "u-1"},
                "thinking": {"type": "enabled", "budget_tokens": 2048},
                "service_tier": "auto",
                "container": null
            }),
            json!({
                "model": "claude-haiku-4-5",
                "system": "Plain system \u{1} text",
                "messages": [
                    {"role": "user", "content": "Hi é 😀"},
                    {"role": "assistant", "content": ""},
                    {"role": "user", "content": []}
                ]
            }),
            json!({"model": "", "messages": []}),
        ] {
            let req: MessagesRequest = serde_json::from_value(body).unwrap();
            same_bytes(&req);
        }
        let mut temp = MessagesRequest {
            temperature: Some(1.0),
            top_p: Some(1e-7),
            ..MessagesRequest::default()
        };
        same_bytes(&temp);
        temp.temperature = Some(123_456_789.5);
        same_bytes(&temp);
    }
}
