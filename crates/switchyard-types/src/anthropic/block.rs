//! Content blocks shared by requests, responses and stream events.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Extra;

/// One content block. Types this crate does not model (`document`, `server_tool_use`,
/// `web_search_tool_result`, ...) are kept as sent in [`ContentBlock::Other`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentBlock {
    /// `{"type":"text","text"}`; may carry `cache_control` or `citations` in `extra`.
    Text {
        /// The text (must be non-empty in requests).
        text: String,
        /// Unmodelled fields.
        #[serde(flatten)]
        extra: Extra,
    },
    /// `{"type":"image","source"}`.
    Image {
        /// Where the image comes from.
        source: ImageSource,
        /// Unmodelled fields.
        #[serde(flatten)]
        extra: Extra,
    },
    /// A tool call by the assistant.
    ToolUse {
        /// Call id, `^[a-zA-Z0-9_-]+$`.
        id: String,
        /// Tool name.
        name: String,
        /// Arguments: a JSON object.
        #[serde(default)]
        input: Value,
        /// Unmodelled fields.
        #[serde(flatten)]
        extra: Extra,
    },
    /// A tool's answer, in a user turn.
    ToolResult {
        /// The call answered.
        tool_use_id: String,
        /// A string or blocks.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        content: Option<ToolResultContent>,
        /// The tool failed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        is_error: Option<bool>,
        /// Unmodelled fields.
        #[serde(flatten)]
        extra: Extra,
    },
    /// Extended-thinking text with its signature.
    Thinking {
        /// The reasoning text.
        thinking: String,
        /// Opaque signature; must be replayed unmodified.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signature: Option<String>,
        /// Unmodelled fields.
        #[serde(flatten)]
        extra: Extra,
    },
    /// Encrypted thinking.
    RedactedThinking {
        /// Opaque payload.
        data: String,
        /// Unmodelled fields.
        #[serde(flatten)]
        extra: Extra,
    },
    /// Any other block, kept as sent.
    #[serde(untagged)]
    Other(Value),
}

impl ContentBlock {
    /// A text block.
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text {
            text: text.into(),
            extra: Extra::new(),
        }
    }
}

/// An image source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ImageSource {
    /// Inline bytes.
    Base64 {
        /// `image/png`, `image/jpeg`, `image/gif` or `image/webp`.
        media_type: String,
        /// Base64 data.
        data: String,
    },
    /// A URL Anthropic fetches.
    Url {
        /// `https://...`.
        url: String,
    },
    /// Any other source (`file`), kept as sent.
    #[serde(untagged)]
    Other(Value),
}

/// `tool_result.content`: a string or blocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ToolResultContent {
    /// Plain text.
    Text(String),
    /// Text, image or document blocks.
    Blocks(Vec<ContentBlock>),
}
