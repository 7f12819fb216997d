//! The adapter contract every provider family implements.

use switchyard_types::openai::{
    ChatChunk, ChatRequest, ChatResponse, EmbeddingsRequest, EmbeddingsResponse,
};
use switchyard_types::sse::SseEvent;
use switchyard_types::TranslateError;

use crate::catalog::Quirks;
use crate::error::UpstreamError;

/// The wire dialect a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// OpenAI Chat Completions (OpenAI, Azure and the compatible family).
    OpenAi,
    /// Anthropic Messages.
    Anthropic,
    /// Google Gemini generateContent.
    Gemini,
}

impl Dialect {
    /// Lowercase name for headers and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OpenAi => "openai",
            Self::Anthropic => "anthropic",
            Self::Gemini => "gemini",
        }
    }
}

/// How the credential is presented upstream. The transport applies it; adapters never see keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthScheme {
    /// `Authorization: Bearer <key>`.
    Bearer,
    /// `x-api-key: <key>` (Anthropic).
    XApiKey,
    /// `api-key: <key>` (Azure OpenAI).
    ApiKey,
    /// `x-goog-api-key: <key>` (Gemini).
    GoogApiKey,
    /// No credential (local servers such as Ollama).
    None,
}

/// Where a call goes, relative to a deployment's base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Full URL (base + path + query).
    pub url: String,
}

/// Everything an adapter needs to know about the deployment it encodes for.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// Base URL, without a trailing slash.
    pub base_url: &'a str,
    /// The provider's model name (for Azure: the deployment name).
    pub model: &'a str,
    /// Azure `api-version`.
    pub api_version: Option<&'a str>,
    /// Compatible-family quirks.
    pub quirks: &'a Quirks,
}

/// A provider family's translation and classification.
///
/// Implementations must be pure: no I/O, no clock, no secrets. `encode_*` must produce a body
/// the provider accepts for every valid canonical request, or a [`TranslateError`] naming the
/// field it cannot express. `decode_*` must never panic on any input.
pub trait Adapter: Send + Sync + 'static {
    /// The dialect spoken.
    fn dialect(&self) -> Dialect;

    /// URL for a chat call.
    fn chat_url(&self, target: &Target<'_>, stream: bool) -> String;

    /// Canonical request → provider request body. `target.model` replaces the client's model.
    fn encode_chat(
        &self,
        req: &ChatRequest,
        target: &Target<'_>,
    ) -> Result<Vec<u8>, TranslateError>;

    /// Provider response body → canonical response.
    fn decode_chat(&self, body: &[u8]) -> Result<ChatResponse, TranslateError>;

    /// A fresh decoder for one streamed response.
    fn stream_decoder(&self) -> Box<dyn StreamDecoder>;

    /// URL for an embeddings call; `None` when the family has no embeddings endpoint.
    fn embeddings_url(&self, target: &Target<'_>) -> Option<String>;

    /// Canonical embeddings request → provider body.
    fn encode_embeddings(
        &self,
        req: &EmbeddingsRequest,
        target: &Target<'_>,
    ) -> Result<Vec<u8>, TranslateError>;

    /// Provider embeddings body → canonical response (in the encoding the client asked for).
    fn decode_embeddings(
        &self,
        body: &[u8],
        req: &EmbeddingsRequest,
    ) -> Result<EmbeddingsResponse, TranslateError>;

    /// Classifies a non-2xx response. Must look at status, headers and body only.
    fn classify_error(&self, status: u16, headers: &http::HeaderMap, body: &[u8]) -> UpstreamError;

    /// Static headers every call carries (e.g. `anthropic-version`).
    fn static_headers(&self) -> &'static [(&'static str, &'static str)] {
        &[]
    }
}

/// Turns one provider's SSE events into canonical chunks. Holds per-stream state (ids, tool
/// call indices, usage seen so far).
pub trait StreamDecoder: Send {
    /// Consumes one event. An in-stream error event yields `Err` with its classification;
    /// comments and pings yield no chunks.
    fn feed(&mut self, event: &SseEvent) -> Result<Vec<ChatChunk>, UpstreamError>;

    /// Called when the upstream closes the stream. Returns trailing chunks, or `Err` with
    /// [`crate::ErrorClass::StreamBroken`] when the stream ended without the dialect's
    /// terminator (a truncated stream is never a successful completion).
    fn finish(&mut self) -> Result<Vec<ChatChunk>, UpstreamError>;
}
