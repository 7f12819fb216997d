//! Stream events of `POST /v1/messages` with `"stream": true`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{ContentBlock, ErrorDetail, MessagesResponse, Usage};

/// One SSE event payload; its `type` equals the SSE event name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamEvent {
    /// The message skeleton with input usage.
    MessageStart {
        /// Empty content, null `stop_reason`.
        message: MessagesResponse,
    },
    /// A block opens.
    ContentBlockStart {
        /// Block position in the output.
        index: u32,
        /// Empty skeleton of the block.
        content_block: ContentBlock,
    },
    /// A piece of a block.
    ContentBlockDelta {
        /// Block position.
        index: u32,
        /// The piece.
        delta: BlockDelta,
    },
    /// A block closes.
    ContentBlockStop {
        /// Block position.
        index: u32,
    },
    /// Stop reason and cumulative usage.
    MessageDelta {
        /// `stop_reason`, `stop_sequence`.
        delta: MessageDeltaBody,
        /// Cumulative output (and possibly input) counts.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        usage: Option<Usage>,
    },
    /// The stream's terminator.
    MessageStop,
    /// Keep-alive.
    Ping,
    /// A mid-stream failure.
    Error {
        /// The error.
        error: ErrorDetail,
    },
    /// Any other event, kept as sent.
    #[serde(untagged)]
    Other(Value),
}

/// A `content_block_delta` payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BlockDelta {
    /// Text.
    TextDelta {
        /// The piece.
        text: String,
    },
    /// A fragment of a tool's JSON input (the first may be empty).
    InputJsonDelta {
        /// The fragment.
        partial_json: String,
    },
    /// Thinking text.
    ThinkingDelta {
        /// The piece.
        thinking: String,
    },
    /// The thinking block's signature, just before its `content_block_stop`.
    SignatureDelta {
        /// The signature.
        signature: String,
    },
    /// Any other delta (`citations_delta`), kept as sent.
    #[serde(untagged)]
    Other(Value),
}

/// `message_delta.delta`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MessageDeltaBody {
    /// Why generation stopped.
    #[serde(default)]
    pub stop_reason: Option<String>,
    /// The stop sequence matched.
    #[serde(default)]
    pub stop_sequence: Option<String>,
}

impl StreamEvent {
    /// The SSE event name (`message_start`, ...); `None` for [`StreamEvent::Other`].
    pub fn name(&self) -> Option<&'static str> {
        Some(match self {
            Self::MessageStart { .. } => "message_start",
            Self::ContentBlockStart { .. } => "content_block_start",
            Self::ContentBlockDelta { .. } => "content_block_delta",
            Self::ContentBlockStop { .. } => "content_block_stop",
            Self::MessageDelta { .. } => "message_delta",
            Self::MessageStop => "message_stop",
            Self::Ping => "ping",
            Self::Error { .. } => "error",
            Self::Other(_) => return None,
        })
    }
}
