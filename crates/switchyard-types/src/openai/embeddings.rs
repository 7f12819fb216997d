//! Embeddings request and response.

use serde::{Deserialize, Serialize};

use super::{Extra, Usage};

/// `POST /v1/embeddings` request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingsRequest {
    /// Model name.
    pub model: String,
    /// One string, many strings, or token arrays.
    pub input: EmbeddingInput,
    /// `float` (default) or `base64`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding_format: Option<String>,
    /// Output dimensions, where the model supports shortening.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<u32>,
    /// End-user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The `input` of an embeddings request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EmbeddingInput {
    /// A single string.
    Single(String),
    /// Several strings.
    Many(Vec<String>),
    /// One token array.
    Tokens(Vec<u32>),
    /// Several token arrays.
    ManyTokens(Vec<Vec<u32>>),
}

impl EmbeddingInput {
    /// Texts of the input; token arrays yield none (they cannot be translated to text).
    pub fn texts(&self) -> Option<Vec<&str>> {
        match self {
            Self::Single(s) => Some(vec![s.as_str()]),
            Self::Many(v) => Some(v.iter().map(String::as_str).collect()),
            Self::Tokens(_) | Self::ManyTokens(_) => None,
        }
    }
}

/// `POST /v1/embeddings` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingsResponse {
    /// Always `list`.
    pub object: String,
    /// One entry per input.
    pub data: Vec<Embedding>,
    /// Model that produced them.
    pub model: String,
    /// Token usage (`completion_tokens` is zero).
    #[serde(default)]
    pub usage: EmbeddingsUsage,
}

/// Embeddings usage.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbeddingsUsage {
    /// Input tokens.
    #[serde(default)]
    pub prompt_tokens: u64,
    /// Same as `prompt_tokens`.
    #[serde(default)]
    pub total_tokens: u64,
}

impl From<&EmbeddingsUsage> for Usage {
    fn from(u: &EmbeddingsUsage) -> Self {
        Usage::new(u.prompt_tokens, 0)
    }
}

/// One embedding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Embedding {
    /// Always `embedding`.
    pub object: String,
    /// Position of the input.
    pub index: u32,
    /// A float array, or a base64 string of little-endian f32 when `encoding_format` was base64.
    pub embedding: EmbeddingVector,
}

/// Embedding values in either encoding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EmbeddingVector {
    /// `encoding_format: float`.
    Float(Vec<f32>),
    /// `encoding_format: base64`.
    Base64(String),
}
