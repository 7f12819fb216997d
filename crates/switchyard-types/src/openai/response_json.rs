//! A `chat.completion` as JSON bytes: `serde_json::to_vec`'s output, written by hand.
//!
//! A translated reply is decoded into a [`ChatResponse`] and written out again for the
//! client; through serde that cost ~5,500 instructions on a short reply (a map entry and an
//! escape-table lookup per byte for every string, a buffer grown from 128 bytes), more than
//! the gateway spends reading the reply. The common shape (no unmodelled members, text
//! content) is written here member by member with [`write_json_string`]; the nested values
//! that are rare or small (tool calls, usage, log probabilities) and any other shape go
//! through serde. Member order and omissions follow the serde attributes of the types; a
//! test compares the bytes with `serde_json::to_vec` on every shape.

use super::{ChatResponse, Content, Message, Role};
use crate::json_string::write_json_string;

impl ChatResponse {
    /// The response as JSON, byte for byte what `serde_json::to_vec` writes.
    pub fn to_json(&self) -> serde_json::Result<Vec<u8>> {
        let common = self.extra.is_empty()
            && self.choices.iter().all(|c| {
                c.message.extra.is_empty() && !matches!(c.message.content, Some(Content::Parts(_)))
            });
        if !common {
            return serde_json::to_vec(self);
        }
        let text: usize = self
            .choices
            .iter()
            .map(|c| match &c.message.content {
                Some(Content::Text(t)) => t.len(),
                _ => 0,
            })
            .sum();
        let mut out = Vec::with_capacity(text + 320);
        out.extend_from_slice(b"{\"id\":");
        write_json_string(&mut out, &self.id);
        out.extend_from_slice(b",\"object\":");
        write_json_string(&mut out, &self.object);
        out.extend_from_slice(b",\"created\":");
        out.extend_from_slice(itoa::Buffer::new().format(self.created).as_bytes());
        out.extend_from_slice(b",\"model\":");
        write_json_string(&mut out, &self.model);
        out.extend_from_slice(b",\"choices\":[");
        for (i, c) in self.choices.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"index\":");
            out.extend_from_slice(itoa::Buffer::new().format(c.index).as_bytes());
            out.extend_from_slice(b",\"message\":");
            write_message(&mut out, &c.message)?;
            out.extend_from_slice(b",\"finish_reason\":");
            match c.finish_reason {
                Some(r) => write_json_string(&mut out, r.as_str()),
                None => out.extend_from_slice(b"null"),
            }
            if let Some(l) = &c.logprobs {
                out.extend_from_slice(b",\"logprobs\":");
                serde_json::to_writer(&mut out, l)?;
            }
            out.push(b'}');
        }
        out.push(b']');
        if let Some(u) = &self.usage {
            out.extend_from_slice(b",\"usage\":");
            serde_json::to_writer(&mut out, u)?;
        }
        if let Some(f) = &self.system_fingerprint {
            out.extend_from_slice(b",\"system_fingerprint\":");
            write_json_string(&mut out, f);
        }
        out.push(b'}');
        Ok(out)
    }
}

/// A message without unmodelled members or content parts.
fn write_message(out: &mut Vec<u8>, m: &Message) -> serde_json::Result<()> {
    out.extend_from_slice(b"{\"role\":");
    write_json_string(out, role_name(m.role));
    if let Some(Content::Text(t)) = &m.content {
        out.extend_from_slice(b",\"content\":");
        write_json_string(out, t);
    }
    optional_string(out, "name", m.name.as_deref());
    if let Some(calls) = &m.tool_calls {
        out.extend_from_slice(b",\"tool_calls\":");
        serde_json::to_writer(&mut *out, calls)?;
    }
    optional_string(out, "tool_call_id", m.tool_call_id.as_deref());
    optional_string(out, "refusal", m.refusal.as_deref());
    optional_string(out, "reasoning_content", m.reasoning_content.as_deref());
    out.push(b'}');
    Ok(())
}

/// `,"key":"value"` when there is a value (`skip_serializing_if = "Option::is_none"`).
fn optional_string(out: &mut Vec<u8>, key: &str, value: Option<&str>) {
    if let Some(v) = value {
        out.push(b',');
        write_json_string(out, key);
        out.push(b':');
        write_json_string(out, v);
    }
}

/// The role as serde names it (`rename_all = "lowercase"`).
fn role_name(role: Role) -> &'static str {
    match role {
        Role::System => "system",
        Role::Developer => "developer",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
        Role::Function => "function",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::openai::{
        Choice, CompletionTokensDetails, Extra, FinishReason, PromptTokensDetails, ToolCall, Usage,
    };

    fn response(choices: Vec<Choice>) -> ChatResponse {
        let mut usage = Usage::new(21, 24);
        usage.prompt_tokens_details = Some(PromptTokensDetails {
            cached_tokens: 3,
            cache_creation_tokens: 0,
        });
        usage.completion_tokens_details = Some(CompletionTokensDetails {
            reasoning_tokens: 7,
        });
        ChatResponse {
            id: "msg_01\"x\"".to_owned(),
            object: "chat.completion".to_owned(),
            created: 1_764_669_600,
            model: "claude-sonnet-4-5".to_owned(),
            choices,
            usage: Some(usage),
            system_fingerprint: None,
            extra: Extra::new(),
        }
    }

    fn choice(message: Message, finish_reason: Option<FinishReason>) -> Choice {
        Choice {
            index: 0,
            message,
            finish_reason,
            logprobs: None,
        }
    }

    #[test]
    fn every_shape_is_written_as_serde_json_writes_it() {
        let text = Message::text(Role::Assistant, "Hi \"there\"\n\u{1}é😀 \\ / end");
        let mut full = Message::text(Role::Assistant, "calling");
        full.name = Some("bot".to_owned());
        full.tool_calls = Some(vec![ToolCall::function(
            "toolu_1",
            "get_weather",
            r#"{"location":"Paris"}"#,
        )]);
        full.tool_call_id = Some("call_9".to_owned());
        full.refusal = Some("no".to_owned());
        full.reasoning_content = Some("thought\tabout it".to_owned());
        let mut empty = Message::text(Role::Assistant, "");
        empty.content = None;
        let mut with_extra = Message::text(Role::Assistant, "x");
        with_extra
            .extra
            .insert("thinking_blocks".to_owned(), json!([{"type": "thinking"}]));
        let mut with_parts = Message::text(Role::Assistant, "x");
        with_parts.content =
            Some(serde_json::from_value(json!([{"type": "text", "text": "a"}])).unwrap());

        let mut cases = vec![
            response(vec![choice(text.clone(), Some(FinishReason::Stop))]),
            response(vec![choice(full, Some(FinishReason::ToolCalls))]),
            response(vec![choice(empty, None)]),
            response(vec![choice(with_extra, Some(FinishReason::Length))]),
            response(vec![choice(with_parts, Some(FinishReason::ContentFilter))]),
            response(vec![]),
        ];
        for role in [
            Role::System,
            Role::Developer,
            Role::User,
            Role::Tool,
            Role::Function,
        ] {
            cases.push(response(vec![choice(
                Message::text(role, "r"),
                Some(FinishReason::FunctionCall),
            )]));
        }
        let mut two = response(vec![
            choice(text.clone(), Some(FinishReason::Stop)),
            choice(text.clone(), Some(FinishReason::Length)),
        ]);
        two.choices[1].index = 1;
        two.choices[1].logprobs = Some(json!({"content": [{"token": "a", "logprob": -0.5}]}));
        two.system_fingerprint = Some("fp_1".to_owned());
        two.usage = None;
        cases.push(two);
        let mut top_extra = response(vec![choice(text, Some(FinishReason::Stop))]);
        top_extra
            .extra
            .insert("service_tier".to_owned(), json!("default"));
        cases.push(top_extra);

        for case in &cases {
            assert_eq!(
                String::from_utf8(case.to_json().unwrap()).unwrap(),
                serde_json::to_string(case).unwrap()
            );
        }
    }
}
