//! Anthropic-format ingress (`POST /v1/messages`): Anthropic requests → canonical, canonical
//! responses and chunks → Anthropic responses and SSE events, so the official Anthropic SDKs
//! can reach any model.
//!
//! Mappings not fixed by the formats: `tool_result` with `is_error: true` becomes a tool
//! message whose text starts with [`TOOL_ERROR_PREFIX`] (portable to every upstream);
//! `top_k` and the original `thinking` object ride in the canonical extras (so an Anthropic
//! upstream gets them back exactly) and `thinking` also sets `reasoning_effort` (budget below
//! 4096 → `low`, below 16384 → `medium`, else `high`; `adaptive` → `medium`); a streaming
//! request asks for the usage chunk, which `message_delta` needs.

mod request;
mod response;
mod stream;

use switchyard_types::anthropic::ErrorEnvelope;

pub use request::{request_to_canonical, TOOL_ERROR_PREFIX};
pub use response::response_from_canonical;
pub use stream::AnthropicStreamEncoder;

/// `{"type":"error","error":{"type":kind,"message":message}}`.
pub fn error_body(kind: &str, message: &str) -> Vec<u8> {
    serde_json::to_vec(&ErrorEnvelope::new(kind, message)).unwrap_or_default()
}

/// Anthropic message id for a canonical completion id: kept when it is already `msg_...`,
/// else `msg_` plus its alphanumeric characters.
pub(crate) fn message_id(id: &str) -> String {
    if id.starts_with("msg_") {
        return id.to_owned();
    }
    let tail: String = id.chars().filter(char::is_ascii_alphanumeric).collect();
    format!("msg_{tail}")
}

/// OpenAI `finish_reason` → Anthropic `stop_reason`.
pub(crate) fn stop_reason(finish: Option<switchyard_types::openai::FinishReason>) -> &'static str {
    use switchyard_types::openai::FinishReason;
    match finish {
        Some(FinishReason::Length) => "max_tokens",
        Some(FinishReason::ToolCalls | FinishReason::FunctionCall) => "tool_use",
        Some(FinishReason::ContentFilter) => "refusal",
        Some(FinishReason::Stop) | None => "end_turn",
    }
}

/// Canonical usage → Anthropic usage: `input_tokens` excludes cache reads and writes.
pub(crate) fn wire_usage(
    u: &switchyard_types::openai::Usage,
) -> switchyard_types::anthropic::Usage {
    let cached = u.cached_tokens();
    let creation = u
        .prompt_tokens_details
        .as_ref()
        .map_or(0, |d| d.cache_creation_tokens);
    switchyard_types::anthropic::Usage {
        input_tokens: Some(u.prompt_tokens.saturating_sub(cached + creation)),
        cache_creation_input_tokens: Some(creation),
        cache_read_input_tokens: Some(cached),
        output_tokens: Some(u.completion_tokens),
        extra: switchyard_types::anthropic::Extra::new(),
    }
}
