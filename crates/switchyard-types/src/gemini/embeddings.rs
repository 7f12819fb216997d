//! `batchEmbedContents` request and response.

use serde::{Deserialize, Serialize};

use super::{Content, Extra};

/// `POST /v1beta/models/{model}:batchEmbedContents` request: one request per input.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchEmbedContentsRequest {
    /// One entry per input text.
    pub requests: Vec<EmbedContentRequest>,
}

/// One `embedContent` request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmbedContentRequest {
    /// `models/{model}`; must match the URL.
    pub model: String,
    /// The text to embed (several parts yield one vector).
    pub content: Content,
    /// `RETRIEVAL_QUERY`, `RETRIEVAL_DOCUMENT`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_type: Option<String>,
    /// Document title (with `RETRIEVAL_DOCUMENT` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Truncates the vector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_dimensionality: Option<u32>,
}

/// `batchEmbedContents` response.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchEmbedContentsResponse {
    /// One embedding per request, in order.
    #[serde(default)]
    pub embeddings: Vec<ContentEmbedding>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One embedding.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentEmbedding {
    /// The vector.
    #[serde(default)]
    pub values: Vec<f32>,
}
