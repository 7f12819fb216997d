//! `POST /v1/messages` response and usage.

use serde::{Deserialize, Serialize};

use super::{ContentBlock, Extra};

/// A Messages response (also the `message` of a stream's `message_start`, with empty
/// `content` and a null `stop_reason`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessagesResponse {
    /// `msg_...`.
    #[serde(default)]
    pub id: String,
    /// Always `message`.
    #[serde(rename = "type", default = "message_type")]
    pub kind: String,
    /// Always `assistant`.
    #[serde(default = "assistant_role")]
    pub role: String,
    /// Model that answered.
    #[serde(default)]
    pub model: String,
    /// Output blocks.
    #[serde(default)]
    pub content: Vec<ContentBlock>,
    /// `end_turn`, `max_tokens`, `stop_sequence`, `tool_use`, `pause_turn`, `refusal`, ...
    pub stop_reason: Option<String>,
    /// The stop sequence matched, if any.
    #[serde(default)]
    pub stop_sequence: Option<String>,
    /// Token usage.
    #[serde(default)]
    pub usage: Usage,
    /// Unmodelled fields (`stop_details`, `container`, ...).
    #[serde(flatten)]
    pub extra: Extra,
}

fn message_type() -> String {
    "message".to_owned()
}

fn assistant_role() -> String {
    "assistant".to_owned()
}

/// Token usage. Every count is optional because `message_delta` may carry only
/// `output_tokens`; `input_tokens` excludes cache reads and writes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    /// Uncached input tokens after the last cache breakpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u64>,
    /// Tokens written to the prompt cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_creation_input_tokens: Option<u64>,
    /// Tokens read from the prompt cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read_input_tokens: Option<u64>,
    /// Output tokens, thinking included (cumulative in streams).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<u64>,
    /// Unmodelled fields (`cache_creation`, `service_tier`, `output_tokens_details`, ...).
    #[serde(flatten)]
    pub extra: Extra,
}
