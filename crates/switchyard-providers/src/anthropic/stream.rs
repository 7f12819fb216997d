//! Anthropic SSE stream → canonical chunks (providers.md 5.6, "Anthropic SSE -> OpenAI").

use std::collections::HashMap;

use serde_json::{json, Value};
use switchyard_types::anthropic::{self as wire, BlockDelta, ContentBlock, StreamEvent};
use switchyard_types::openai::{
    ChatChunk, Delta, FinishReason, FunctionCallDelta, Role, ToolCallDelta,
};
use switchyard_types::sse::SseEvent;

use crate::adapter::StreamDecoder;
use crate::error::{ErrorClass, UpstreamError};

use super::error::stream_error;
use super::response::{finish_reason, thinking_block, usage, THINKING_BLOCKS};

/// What an open Anthropic content block is, by its Anthropic index.
#[derive(Debug)]
enum Block {
    Text,
    Thinking {
        text: String,
        signature: String,
    },
    /// A `tool_use` block and its OpenAI tool-call index.
    Tool {
        index: u32,
        got_arguments: bool,
    },
    Other,
}

/// Decodes one Anthropic stream. Emits the role delta on `message_start`, content, reasoning
/// and tool-call deltas (tool-call `index` counts tool calls only, from 0), the finish chunk on
/// `message_delta`, and on `message_stop` a final chunk with empty `choices` carrying usage
/// (the server drops it when the client did not ask for usage). Chunks carry `created: 0`;
/// the engine stamps the time.
#[derive(Debug, Default)]
pub struct AnthropicStreamDecoder {
    id: String,
    model: String,
    usage: wire::Usage,
    blocks: HashMap<u32, Block>,
    next_tool: u32,
    finish_sent: bool,
    stopped: bool,
}

impl AnthropicStreamDecoder {
    /// A fresh decoder.
    pub fn new() -> Self {
        Self::default()
    }

    fn chunk(&self, delta: Delta, finish: Option<FinishReason>) -> ChatChunk {
        ChatChunk::new(self.id.clone(), self.model.clone(), 0).with_delta(delta, finish)
    }

    fn tool_delta(&self, call: ToolCallDelta) -> ChatChunk {
        self.chunk(
            Delta {
                tool_calls: Some(vec![call]),
                ..Delta::default()
            },
            None,
        )
    }

    /// Keeps the latest value of each count (stream counts are cumulative: overwrite).
    fn merge_usage(&mut self, u: wire::Usage) {
        let slots = [
            (&mut self.usage.input_tokens, u.input_tokens),
            (
                &mut self.usage.cache_creation_input_tokens,
                u.cache_creation_input_tokens,
            ),
            (
                &mut self.usage.cache_read_input_tokens,
                u.cache_read_input_tokens,
            ),
            (&mut self.usage.output_tokens, u.output_tokens),
        ];
        for (slot, value) in slots {
            if value.is_some() {
                *slot = value;
            }
        }
        self.usage.extra.extend(u.extra);
    }

    fn block_start(&mut self, index: u32, block: ContentBlock) -> Vec<ChatChunk> {
        let (state, out) = match block {
            ContentBlock::Text { text, .. } => {
                let out = (!text.is_empty()).then(|| text_delta(text));
                (Block::Text, out.map(|d| self.chunk(d, None)))
            }
            ContentBlock::Thinking { thinking, .. } => {
                let out = (!thinking.is_empty()).then(|| self.reasoning(thinking.clone()));
                (
                    Block::Thinking {
                        text: thinking,
                        signature: String::new(),
                    },
                    out,
                )
            }
            ContentBlock::ToolUse { id, name, .. } => {
                let k = self.next_tool;
                self.next_tool += 1;
                let chunk = self.tool_delta(ToolCallDelta {
                    index: k,
                    id: Some(id),
                    kind: Some("function".to_owned()),
                    function: Some(FunctionCallDelta {
                        name: Some(name),
                        arguments: Some(String::new()),
                    }),
                });
                (
                    Block::Tool {
                        index: k,
                        got_arguments: false,
                    },
                    Some(chunk),
                )
            }
            ContentBlock::RedactedThinking { data, .. } => {
                let blocks = json!([{"type": "redacted_thinking", "data": data}]);
                (Block::Other, Some(self.thinking_blocks(blocks)))
            }
            ContentBlock::Image { .. }
            | ContentBlock::ToolResult { .. }
            | ContentBlock::Other(_) => (Block::Other, None),
        };
        self.blocks.insert(index, state);
        out.into_iter().collect()
    }

    fn reasoning(&self, text: String) -> ChatChunk {
        self.chunk(
            Delta {
                reasoning_content: Some(text),
                ..Delta::default()
            },
            None,
        )
    }

    fn thinking_blocks(&self, blocks: Value) -> ChatChunk {
        let mut delta = Delta::default();
        delta.extra.insert(THINKING_BLOCKS.to_owned(), blocks);
        self.chunk(delta, None)
    }

    fn block_delta(&mut self, index: u32, delta: BlockDelta) -> Vec<ChatChunk> {
        let block = self.blocks.get_mut(&index);
        let out = match (delta, block) {
            (BlockDelta::TextDelta { text }, _) if !text.is_empty() => {
                Some(self.chunk(text_delta(text), None))
            }
            (BlockDelta::ThinkingDelta { thinking }, block) if !thinking.is_empty() => {
                if let Some(Block::Thinking { text, .. }) = block {
                    text.push_str(&thinking);
                }
                Some(self.reasoning(thinking))
            }
            (
                BlockDelta::SignatureDelta { signature: s },
                Some(Block::Thinking { signature, .. }),
            ) => {
                signature.push_str(&s);
                None
            }
            (
                BlockDelta::InputJsonDelta { partial_json },
                Some(Block::Tool {
                    index: k,
                    got_arguments,
                }),
            ) if !partial_json.is_empty() => {
                *got_arguments = true;
                let k = *k;
                Some(self.tool_delta(arguments_delta(k, partial_json)))
            }
            _ => None,
        };
        out.into_iter().collect()
    }

    fn block_stop(&mut self, index: u32) -> Vec<ChatChunk> {
        match self.blocks.remove(&index) {
            // A call that streamed no JSON still needs parseable arguments.
            Some(Block::Tool {
                index: k,
                got_arguments: false,
            }) => vec![self.tool_delta(arguments_delta(k, "{}".to_owned()))],
            Some(Block::Thinking { text, signature }) => {
                let block = thinking_block(&text, Some(&signature));
                vec![self.thinking_blocks(Value::Array(vec![block]))]
            }
            _ => Vec::new(),
        }
    }

    fn finish_chunk(&mut self, stop_reason: Option<&str>) -> ChatChunk {
        self.finish_sent = true;
        self.chunk(Delta::default(), Some(finish_reason(stop_reason)))
    }
}

fn text_delta(text: String) -> Delta {
    Delta {
        content: Some(text),
        ..Delta::default()
    }
}

fn arguments_delta(index: u32, arguments: String) -> ToolCallDelta {
    ToolCallDelta {
        index,
        id: None,
        kind: None,
        function: Some(FunctionCallDelta {
            name: None,
            arguments: Some(arguments),
        }),
    }
}

impl StreamDecoder for AnthropicStreamDecoder {
    fn feed(&mut self, event: &SseEvent) -> Result<Vec<ChatChunk>, UpstreamError> {
        if event.is_empty() {
            return Ok(Vec::new());
        }
        let parsed: StreamEvent = serde_json::from_slice(&event.data).map_err(|e| {
            UpstreamError::new(
                ErrorClass::Malformed,
                format!("malformed stream event: {e}"),
            )
        })?;
        Ok(match parsed {
            StreamEvent::MessageStart { message } => {
                self.id = message.id;
                self.model = message.model;
                self.merge_usage(message.usage);
                let delta = Delta {
                    role: Some(Role::Assistant),
                    content: Some(String::new()),
                    ..Delta::default()
                };
                vec![self.chunk(delta, None)]
            }
            StreamEvent::ContentBlockStart {
                index,
                content_block,
            } => self.block_start(index, content_block),
            StreamEvent::ContentBlockDelta { index, delta } => self.block_delta(index, delta),
            StreamEvent::ContentBlockStop { index } => self.block_stop(index),
            StreamEvent::MessageDelta { delta, usage } => {
                if let Some(u) = usage {
                    self.merge_usage(u);
                }
                vec![self.finish_chunk(delta.stop_reason.as_deref())]
            }
            StreamEvent::MessageStop => {
                self.stopped = true;
                let mut out = Vec::new();
                if !self.finish_sent {
                    out.push(self.finish_chunk(None));
                }
                let mut last = ChatChunk::new(self.id.clone(), self.model.clone(), 0);
                last.usage = Some(usage(&self.usage));
                out.push(last);
                out
            }
            StreamEvent::Error { error } => return Err(stream_error(&error.kind, &error.message)),
            StreamEvent::Ping | StreamEvent::Other(_) => Vec::new(),
        })
    }

    fn finish(&mut self) -> Result<Vec<ChatChunk>, UpstreamError> {
        if self.stopped {
            Ok(Vec::new())
        } else {
            Err(UpstreamError::truncated())
        }
    }
}
