//! The Google Gemini dialect (native `v1beta` API): chat via `generateContent` and
//! `streamGenerateContent?alt=sse`, embeddings via `batchEmbedContents`, Google RPC errors.
//!
//! Translation decisions are documented in each module: [`request`] (system hoisting, turn
//! merging, media, tools, thinking), [`response`] (ids, finish reasons, usage, blocked prompts),
//! [`stream`], [`embeddings`] (usage estimate, base64) and [`schema`] (JSON Schema clean-up).

mod embeddings;
mod error;
mod request;
mod response;
mod schema;
mod stream;

use switchyard_types::openai::{ChatRequest, ChatResponse, EmbeddingsRequest, EmbeddingsResponse};
use switchyard_types::TranslateError;

use crate::adapter::{Adapter, Dialect, StreamDecoder, Target};
use crate::error::UpstreamError;

pub use error::classify;
pub use stream::GeminiStreamDecoder;

/// Adapter for the Gemini dialect.
#[derive(Debug, Clone, Copy, Default)]
pub struct GeminiAdapter;

/// `{base}/v1beta/models/{model}:{op}`.
fn model_url(target: &Target<'_>, op: &str) -> String {
    let model = target.model.strip_prefix("models/").unwrap_or(target.model);
    format!(
        "{}/v1beta/models/{model}:{op}",
        target.base_url.trim_end_matches('/')
    )
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<Vec<u8>, TranslateError> {
    serde_json::to_vec(v).map_err(|e| TranslateError::invalid(e.to_string(), None))
}

impl Adapter for GeminiAdapter {
    fn dialect(&self) -> Dialect {
        Dialect::Gemini
    }

    fn chat_url(&self, target: &Target<'_>, stream: bool) -> String {
        if stream {
            model_url(target, "streamGenerateContent?alt=sse")
        } else {
            model_url(target, "generateContent")
        }
    }

    fn encode_chat(
        &self,
        req: &ChatRequest,
        target: &Target<'_>,
    ) -> Result<Vec<u8>, TranslateError> {
        to_json(&request::encode(req, target.model)?)
    }

    fn decode_chat(&self, body: &[u8]) -> Result<ChatResponse, TranslateError> {
        response::decode(body)
    }

    fn stream_decoder(&self) -> Box<dyn StreamDecoder> {
        Box::new(GeminiStreamDecoder::new())
    }

    fn embeddings_url(&self, target: &Target<'_>) -> Option<String> {
        Some(model_url(target, "batchEmbedContents"))
    }

    fn encode_embeddings(
        &self,
        req: &EmbeddingsRequest,
        target: &Target<'_>,
    ) -> Result<Vec<u8>, TranslateError> {
        let model = target.model.strip_prefix("models/").unwrap_or(target.model);
        to_json(&embeddings::encode(req, model)?)
    }

    fn decode_embeddings(
        &self,
        body: &[u8],
        req: &EmbeddingsRequest,
    ) -> Result<EmbeddingsResponse, TranslateError> {
        embeddings::decode(body, req)
    }

    fn classify_error(&self, status: u16, headers: &http::HeaderMap, body: &[u8]) -> UpstreamError {
        classify(status, headers, body)
    }
}

#[cfg(test)]
mod tests;
