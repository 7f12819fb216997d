//! The OpenAI dialect: OpenAI, Azure OpenAI and the whole compatible family (DeepSeek, Qwen,
//! Mistral, Groq, Together, OpenRouter, xAI, Ollama, vLLM). Members differ only by the
//! [`Quirks`] of their catalog entry.

mod error_body;
mod stream;

use serde_json::Value;
use switchyard_types::openai::{
    ChatRequest, ChatResponse, Content, EmbeddingsRequest, EmbeddingsResponse, Role,
};
use switchyard_types::TranslateError;

use crate::adapter::{Adapter, Dialect, StreamDecoder, Target};
use crate::catalog::{Quirks, ReasoningField};
use crate::error::UpstreamError;

pub use error_body::classify;
pub use stream::OpenAiStreamDecoder;

/// Adapter for the OpenAI dialect.
#[derive(Debug, Clone)]
pub struct OpenAiAdapter {
    azure: bool,
    reasoning_field: ReasoningField,
}

impl OpenAiAdapter {
    /// Adapter for OpenAI and the compatible family.
    pub fn new(reasoning_field: ReasoningField) -> Self {
        Self {
            azure: false,
            reasoning_field,
        }
    }

    /// Adapter for Azure OpenAI deployment URLs.
    pub fn azure() -> Self {
        Self {
            azure: true,
            reasoning_field: ReasoningField::ReasoningContent,
        }
    }

    fn url(&self, target: &Target<'_>, op: &str) -> String {
        if self.azure {
            let version = target.api_version.unwrap_or(DEFAULT_AZURE_API_VERSION);
            format!(
                "{}/openai/deployments/{}/{op}?api-version={version}",
                target.base_url, target.model
            )
        } else {
            format!("{}/{op}", target.base_url)
        }
    }
}

/// `api-version` used for Azure when a deployment names none.
pub const DEFAULT_AZURE_API_VERSION: &str = "2024-10-21";

/// Request parameters that only exist in the OpenAI dialect's extras and that a compatible
/// provider may lack; checked against [`Quirks::unsupported_params`].
fn present_params(req: &ChatRequest) -> Vec<&str> {
    let mut out: Vec<&str> = req.extra.keys().map(String::as_str).collect();
    let named = [
        ("n", req.n.is_some()),
        ("seed", req.seed.is_some()),
        ("user", req.user.is_some()),
        ("parallel_tool_calls", req.parallel_tool_calls.is_some()),
        ("reasoning_effort", req.reasoning_effort.is_some()),
        ("presence_penalty", req.presence_penalty.is_some()),
        ("frequency_penalty", req.frequency_penalty.is_some()),
        ("stream_options", req.stream_options.is_some()),
    ];
    out.extend(named.iter().filter(|(_, p)| *p).map(|(k, _)| *k));
    out
}

/// Applies a compatible provider's quirks to a canonical request: unsupported parameters are
/// removed (the caller decided beforehand whether that is allowed), `developer` becomes
/// `system`, and `max_completion_tokens` becomes `max_tokens` where only that is understood.
pub fn apply_quirks(req: &mut ChatRequest, quirks: &Quirks) {
    for p in present_params(req)
        .into_iter()
        .filter(|p| quirks.unsupported(p))
        .map(str::to_owned)
        .collect::<Vec<_>>()
    {
        req.remove_param(&p);
    }
    if !quirks.stream_usage {
        req.stream_options = None;
    }
    if quirks.developer_as_system {
        for m in &mut req.messages {
            if m.role == Role::Developer {
                m.role = Role::System;
            }
        }
    }
    if quirks.no_message_name {
        for m in &mut req.messages {
            m.name = None;
        }
    }
    if quirks.legacy_max_tokens {
        if let Some(cap) = req.max_completion_tokens.take() {
            req.max_tokens = Some(cap);
        }
    }
}

/// Parameters of `req` that `quirks` does not support (for the drop-or-refuse policy).
pub fn unsupported_params<'r>(req: &'r ChatRequest, quirks: &Quirks) -> Vec<&'r str> {
    let mut out: Vec<&str> = present_params(req)
        .into_iter()
        .filter(|p| quirks.unsupported(p))
        .collect();
    if !quirks.supports_n && req.n.is_some_and(|n| n > 1) && !out.contains(&"n") {
        out.push("n");
    }
    out
}

impl Adapter for OpenAiAdapter {
    fn dialect(&self) -> Dialect {
        Dialect::OpenAi
    }

    fn chat_url(&self, target: &Target<'_>, _stream: bool) -> String {
        self.url(target, "chat/completions")
    }

    fn encode_chat(
        &self,
        req: &ChatRequest,
        target: &Target<'_>,
    ) -> Result<Vec<u8>, TranslateError> {
        let mut req = req.clone();
        req.model = target.model.to_owned();
        apply_quirks(&mut req, target.quirks);
        // Reasoning text of earlier assistant turns goes back under the provider's own name.
        if self.reasoning_field == ReasoningField::Reasoning {
            for m in &mut req.messages {
                if let Some(r) = m.reasoning_content.take() {
                    m.extra.insert("reasoning".to_owned(), Value::String(r));
                }
            }
        }
        for m in &req.messages {
            if m.role == Role::Tool && m.tool_call_id.is_none() {
                return Err(TranslateError::invalid(
                    "tool messages need a tool_call_id",
                    Some("messages"),
                ));
            }
            if let Some(Content::Parts(parts)) = &m.content {
                if parts.is_empty() && m.role == Role::User {
                    return Err(TranslateError::invalid(
                        "user message content must not be empty",
                        Some("messages"),
                    ));
                }
            }
        }
        serde_json::to_vec(&req).map_err(|e| TranslateError::invalid(e.to_string(), None))
    }

    fn decode_chat(&self, body: &[u8]) -> Result<ChatResponse, TranslateError> {
        let mut resp: ChatResponse = serde_json::from_slice(body)
            .map_err(|e| TranslateError::MalformedUpstream(e.to_string()))?;
        for choice in &mut resp.choices {
            normalize_reasoning(
                &mut choice.message.reasoning_content,
                &mut choice.message.extra,
            );
        }
        Ok(resp)
    }

    fn stream_decoder(&self) -> Box<dyn StreamDecoder> {
        Box::new(OpenAiStreamDecoder::new())
    }

    fn embeddings_url(&self, target: &Target<'_>) -> Option<String> {
        Some(self.url(target, "embeddings"))
    }

    fn encode_embeddings(
        &self,
        req: &EmbeddingsRequest,
        target: &Target<'_>,
    ) -> Result<Vec<u8>, TranslateError> {
        let mut req = req.clone();
        req.model = target.model.to_owned();
        serde_json::to_vec(&req).map_err(|e| TranslateError::invalid(e.to_string(), None))
    }

    fn decode_embeddings(
        &self,
        body: &[u8],
        _req: &EmbeddingsRequest,
    ) -> Result<EmbeddingsResponse, TranslateError> {
        serde_json::from_slice(body).map_err(|e| TranslateError::MalformedUpstream(e.to_string()))
    }

    fn classify_error(&self, status: u16, headers: &http::HeaderMap, body: &[u8]) -> UpstreamError {
        classify(status, headers, body)
    }
}

/// Moves a `reasoning` field (OpenRouter, vLLM, Groq) into the canonical `reasoning_content`.
pub(crate) fn normalize_reasoning(
    reasoning_content: &mut Option<String>,
    extra: &mut serde_json::Map<String, Value>,
) {
    if reasoning_content.is_some() {
        return;
    }
    if let Some(Value::String(r)) = extra.remove("reasoning") {
        *reasoning_content = Some(r);
    }
}

#[cfg(test)]
mod tests;
