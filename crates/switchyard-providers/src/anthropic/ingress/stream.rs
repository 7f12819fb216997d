//! Canonical chunks → Anthropic SSE events (providers.md 5.6, "OpenAI chunks -> Anthropic SSE").

use bytes::Bytes;
use serde_json::{json, Value};
use switchyard_types::anthropic::{
    BlockDelta, ContentBlock, ErrorEnvelope, Extra, MessageDeltaBody, MessagesResponse,
    StreamEvent, Usage as WireUsage,
};
use switchyard_types::openai::{ChatChunk, ToolCallDelta, Usage};
use switchyard_types::sse::named_event;

use super::{message_id, stop_reason, wire_usage};
use crate::anthropic::response::THINKING_BLOCKS;

/// The kind of the open content block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    Text,
    Thinking,
    /// A `tool_use` block for the canonical tool call of this index.
    Tool(u32),
}

/// Re-encodes one canonical stream as Anthropic's event sequence: `message_start` once, then
/// `content_block_start` / `content_block_delta`* / `content_block_stop` per text, thinking or
/// tool_use block (a change of kind closes the open block), then `message_delta` (stop reason
/// and usage) and `message_stop`. The `message_delta` waits for the usage chunk that follows
/// the finish chunk, or for [`AnthropicStreamEncoder::finish`].
#[derive(Debug)]
pub struct AnthropicStreamEncoder {
    model: String,
    started: bool,
    open: Option<(u32, Open)>,
    next_index: u32,
    stop_reason: Option<&'static str>,
    usage: Option<Usage>,
    stopped: bool,
}

impl AnthropicStreamEncoder {
    /// An encoder reporting `model` (the name the client asked for).
    pub fn new(model: &str) -> Self {
        Self {
            model: model.to_owned(),
            started: false,
            open: None,
            next_index: 0,
            stop_reason: None,
            usage: None,
            stopped: false,
        }
    }

    /// The events for one canonical chunk (possibly none).
    pub fn encode(&mut self, chunk: &ChatChunk) -> Vec<Bytes> {
        let mut out = Vec::new();
        if self.stopped {
            return out;
        }
        if !self.started {
            self.start(&chunk.id, chunk.usage.as_ref(), &mut out);
        }
        if let Some(u) = &chunk.usage {
            self.usage = Some(u.clone());
        }
        for choice in chunk.choices.iter().filter(|c| c.index == 0) {
            let delta = &choice.delta;
            if let Some(r) = delta.reasoning_content.as_ref().filter(|r| !r.is_empty()) {
                self.ensure(Open::Thinking, None, &mut out);
                self.delta(
                    BlockDelta::ThinkingDelta {
                        thinking: r.clone(),
                    },
                    &mut out,
                );
            }
            if let Some(Value::Array(blocks)) = delta.extra.get(THINKING_BLOCKS) {
                for block in blocks {
                    self.thinking_block(block, &mut out);
                }
            }
            for text in [&delta.content, &delta.refusal].into_iter().flatten() {
                if !text.is_empty() {
                    self.ensure(Open::Text, None, &mut out);
                    self.delta(BlockDelta::TextDelta { text: text.clone() }, &mut out);
                }
            }
            for call in delta.tool_calls.iter().flatten() {
                self.tool_call(call, &mut out);
            }
            if let Some(finish) = choice.finish_reason {
                self.close(&mut out);
                self.stop_reason = Some(stop_reason(Some(finish)));
            }
        }
        if self.stop_reason.is_some() && self.usage.is_some() {
            self.stop(&mut out);
        }
        out
    }

    /// Ends a stream whose upstream finished: closes the open block and sends `message_delta`
    /// and `message_stop` unless already sent.
    pub fn finish(&mut self) -> Vec<Bytes> {
        let mut out = Vec::new();
        if self.stopped {
            return out;
        }
        if !self.started {
            self.start("", None, &mut out);
        }
        self.close(&mut out);
        self.stop(&mut out);
        out
    }

    /// An `error` event; nothing is sent after it.
    pub fn error(&mut self, kind: &str, message: &str) -> Bytes {
        self.stopped = true;
        let body = serde_json::to_vec(&ErrorEnvelope::new(kind, message)).unwrap_or_default();
        named_event("error", &body)
    }

    fn start(&mut self, id: &str, usage: Option<&Usage>, out: &mut Vec<Bytes>) {
        self.started = true;
        let mut usage = usage.map(wire_usage).unwrap_or_else(|| WireUsage {
            input_tokens: Some(0),
            cache_creation_input_tokens: Some(0),
            cache_read_input_tokens: Some(0),
            output_tokens: Some(0),
            extra: Extra::new(),
        });
        usage.output_tokens = Some(0);
        let message = MessagesResponse {
            id: message_id(id),
            kind: "message".to_owned(),
            role: "assistant".to_owned(),
            model: self.model.clone(),
            content: Vec::new(),
            stop_reason: None,
            stop_sequence: None,
            usage,
            extra: Extra::new(),
        };
        emit(&StreamEvent::MessageStart { message }, out);
    }

    /// Opens a block of `kind` unless one is open; `skeleton` overrides the empty block.
    fn ensure(&mut self, kind: Open, skeleton: Option<ContentBlock>, out: &mut Vec<Bytes>) {
        if matches!(self.open, Some((_, open)) if open == kind) {
            return;
        }
        self.close(out);
        let content_block = skeleton.unwrap_or_else(|| match kind {
            Open::Thinking => ContentBlock::Thinking {
                thinking: String::new(),
                signature: Some(String::new()),
                extra: Extra::new(),
            },
            Open::Text | Open::Tool(_) => ContentBlock::text(""),
        });
        let index = self.next_index;
        self.next_index += 1;
        self.open = Some((index, kind));
        emit(
            &StreamEvent::ContentBlockStart {
                index,
                content_block,
            },
            out,
        );
    }

    fn close(&mut self, out: &mut Vec<Bytes>) {
        if let Some((index, _)) = self.open.take() {
            emit(&StreamEvent::ContentBlockStop { index }, out);
        }
    }

    fn delta(&self, delta: BlockDelta, out: &mut Vec<Bytes>) {
        if let Some((index, _)) = self.open {
            emit(&StreamEvent::ContentBlockDelta { index, delta }, out);
        }
    }

    /// A signed thinking block (the decoder emits one when Anthropic's block closes): the
    /// signature goes to the open thinking block, or into a block of its own.
    fn thinking_block(&mut self, block: &Value, out: &mut Vec<Bytes>) {
        match serde_json::from_value::<ContentBlock>(block.clone()) {
            Ok(ContentBlock::Thinking {
                thinking,
                signature,
                ..
            }) => {
                let Some(signature) = signature.filter(|s| !s.is_empty()) else {
                    return;
                };
                if !matches!(self.open, Some((_, Open::Thinking))) {
                    self.ensure(Open::Thinking, None, out);
                    if !thinking.is_empty() {
                        self.delta(BlockDelta::ThinkingDelta { thinking }, out);
                    }
                }
                self.delta(BlockDelta::SignatureDelta { signature }, out);
            }
            Ok(redacted @ ContentBlock::RedactedThinking { .. }) => {
                self.close(out);
                // A distinct kind so the next thinking text opens a fresh block.
                self.ensure(Open::Tool(u32::MAX), Some(redacted), out);
                self.close(out);
            }
            _ => {}
        }
    }

    fn tool_call(&mut self, call: &ToolCallDelta, out: &mut Vec<Bytes>) {
        let function = call.function.as_ref();
        if !matches!(self.open, Some((_, Open::Tool(k))) if k == call.index) {
            let skeleton = ContentBlock::ToolUse {
                id: call
                    .id
                    .clone()
                    .unwrap_or_else(|| format!("toolu_{}", call.index)),
                name: function.and_then(|f| f.name.clone()).unwrap_or_default(),
                input: json!({}),
                extra: Extra::new(),
            };
            self.ensure(Open::Tool(call.index), Some(skeleton), out);
        }
        if let Some(args) = function
            .and_then(|f| f.arguments.as_ref())
            .filter(|a| !a.is_empty())
        {
            self.delta(
                BlockDelta::InputJsonDelta {
                    partial_json: args.clone(),
                },
                out,
            );
        }
    }

    fn stop(&mut self, out: &mut Vec<Bytes>) {
        self.stopped = true;
        let usage = self
            .usage
            .as_ref()
            .map(wire_usage)
            .unwrap_or_else(|| WireUsage {
                output_tokens: Some(0),
                ..WireUsage::default()
            });
        emit(
            &StreamEvent::MessageDelta {
                delta: MessageDeltaBody {
                    stop_reason: Some(self.stop_reason.unwrap_or("end_turn").to_owned()),
                    stop_sequence: None,
                },
                usage: Some(usage),
            },
            out,
        );
        emit(&StreamEvent::MessageStop, out);
    }
}

fn emit(event: &StreamEvent, out: &mut Vec<Bytes>) {
    if let (Some(name), Ok(json)) = (event.name(), serde_json::to_vec(event)) {
        out.push(named_event(name, &json));
    }
}
