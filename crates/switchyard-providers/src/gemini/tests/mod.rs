//! Gemini adapter tests on wire payloads from `providers.md` (sections 3, 5 and 6.2).

mod embeddings;
mod errors;
mod request;
mod response;
mod schema;
mod stream;

use serde_json::Value;
use switchyard_types::openai::{ChatRequest, EmbeddingsRequest};

use super::*;
use crate::catalog::Quirks;

pub(super) fn target(model: &str) -> Target<'_> {
    Target {
        base_url: "https://generativelanguage.googleapis.com",
        model,
        api_version: None,
        quirks: &Quirks::OPENAI,
    }
}

/// Encodes an OpenAI request (JSON text) for `gemini-2.5-flash` and returns the body as JSON.
pub(super) fn encode(req: &str) -> Value {
    encode_for(req, "gemini-2.5-flash")
}

pub(super) fn encode_for(req: &str, model: &str) -> Value {
    let req: ChatRequest = serde_json::from_str(req).unwrap();
    let body = GeminiAdapter.encode_chat(&req, &target(model)).unwrap();
    serde_json::from_slice(&body).unwrap()
}

pub(super) fn encode_err(req: &str) -> switchyard_types::TranslateError {
    let req: ChatRequest = serde_json::from_str(req).unwrap();
    GeminiAdapter
        .encode_chat(&req, &target("gemini-2.5-flash"))
        .unwrap_err()
}

pub(super) fn embeddings_request(json: &str) -> EmbeddingsRequest {
    serde_json::from_str(json).unwrap()
}

#[test]
fn urls_follow_the_v1beta_layout() {
    let t = target("gemini-2.5-flash");
    assert_eq!(GeminiAdapter.dialect(), Dialect::Gemini);
    assert_eq!(
        GeminiAdapter.chat_url(&t, false),
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent"
    );
    assert_eq!(
        GeminiAdapter.chat_url(&t, true),
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    );
    assert_eq!(
        GeminiAdapter.embeddings_url(&target("gemini-embedding-001")).unwrap(),
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-embedding-001:batchEmbedContents"
    );
    assert!(GeminiAdapter.static_headers().is_empty());
}
