//! The Anthropic Messages dialect: the upstream adapter (canonical ⇄ `POST /v1/messages`) and,
//! in [`ingress`], the translation that lets Anthropic SDK clients reach any model.
//!
//! Decisions where the two formats do not line up:
//!
//! - `max_tokens` is required by Anthropic: the client's `max_completion_tokens` /
//!   `max_tokens`, else [`DEFAULT_MAX_TOKENS`] (4096).
//! - `temperature` (OpenAI 0..=2) is clamped into Anthropic's 0..=1: a portable client asking
//!   for 1.5 gets Claude's most random setting rather than a 400 on fallback.
//! - `n > 1` is refused with [`TranslateError::Unsupported`] (no fan-out); `n = 1` is fine.
//! - `seed`, `presence_penalty`, `frequency_penalty`, `logit_bias`, `logprobs` and other
//!   OpenAI-only fields are dropped (Anthropic has no equivalent and rejects unknown fields).
//! - `user` becomes `metadata.user_id`, unless it looks like an e-mail address (dropped).
//! - `reasoning_effort` becomes `thinking: {"type":"enabled","budget_tokens":N}` with
//!   minimal 1024, low 2048, medium 8192, high 16384, xhigh 32768, `none` = no thinking
//!   ([`thinking_budget`]). When the cap is not above the budget, `max_tokens` becomes
//!   cap + budget. While thinking, `temperature` and `top_k` are dropped and `top_p` below
//!   0.95 is dropped. A forced tool choice disables thinking (Anthropic rejects the pair).
//!   An explicit `thinking` object in the request extras wins over `reasoning_effort`.
//! - `response_format: json_schema` uses Anthropic's native `output_config.format`
//!   (schema keywords it rejects are stripped), so answers come back as plain text and no
//!   synthetic tool can leak; `json_object` adds [`JSON_OBJECT_INSTRUCTION`] to `system`.
//! - Assistant thinking is replayed only from signed blocks in the message's
//!   `thinking_blocks` extra; bare `reasoning_content` is dropped (it cannot be verified).
//! - Stop reasons: `end_turn`/`stop_sequence`/`pause_turn` → `stop`, `max_tokens` and
//!   `model_context_window_exceeded` → `length`, `tool_use` → `tool_calls`, `refusal` →
//!   `content_filter`, unknown → `stop`.

mod error;
pub mod ingress;
mod request;
mod response;
mod response_fast;
mod stream;

use switchyard_types::openai::{ChatRequest, ChatResponse, EmbeddingsRequest, EmbeddingsResponse};
use switchyard_types::TranslateError;

use crate::adapter::{Adapter, Dialect, StreamDecoder, Target};
use crate::error::UpstreamError;

pub use error::classify;
pub use request::{thinking_budget, DEFAULT_MAX_TOKENS, JSON_OBJECT_INSTRUCTION};
pub use stream::AnthropicStreamDecoder;

/// The API version every call declares.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

const STATIC_HEADERS: &[(&str, &str)] = &[("anthropic-version", ANTHROPIC_VERSION)];

/// Adapter for Anthropic's Messages API.
#[derive(Debug, Clone, Copy, Default)]
pub struct AnthropicAdapter;

impl Adapter for AnthropicAdapter {
    fn dialect(&self) -> Dialect {
        Dialect::Anthropic
    }

    fn chat_url(&self, target: &Target<'_>, _stream: bool) -> String {
        format!("{}/v1/messages", target.base_url)
    }

    fn encode_chat(
        &self,
        req: &ChatRequest,
        target: &Target<'_>,
    ) -> Result<Vec<u8>, TranslateError> {
        let body = request::encode(req, target.model)?;
        body.to_json()
            .map_err(|e| TranslateError::invalid(e.to_string(), None))
    }

    fn decode_chat(&self, body: &[u8]) -> Result<ChatResponse, TranslateError> {
        response::decode(body)
    }

    fn stream_decoder(&self) -> Box<dyn StreamDecoder> {
        Box::new(AnthropicStreamDecoder::new())
    }

    fn embeddings_url(&self, _target: &Target<'_>) -> Option<String> {
        None
    }

    fn encode_embeddings(
        &self,
        _req: &EmbeddingsRequest,
        _target: &Target<'_>,
    ) -> Result<Vec<u8>, TranslateError> {
        Err(no_embeddings())
    }

    fn decode_embeddings(
        &self,
        _body: &[u8],
        _req: &EmbeddingsRequest,
    ) -> Result<EmbeddingsResponse, TranslateError> {
        Err(no_embeddings())
    }

    fn classify_error(&self, status: u16, headers: &http::HeaderMap, body: &[u8]) -> UpstreamError {
        classify(status, headers, body)
    }

    fn static_headers(&self) -> &'static [(&'static str, &'static str)] {
        STATIC_HEADERS
    }
}

/// Anthropic has no embeddings endpoint.
fn no_embeddings() -> TranslateError {
    TranslateError::Unsupported {
        param: "embeddings".to_owned(),
        provider: "anthropic".to_owned(),
    }
}

#[cfg(test)]
mod tests;
