//! OpenAI embeddings ↔ Gemini `batchEmbedContents` (one request per input, so each input gets
//! its own vector).
//!
//! Gemini reports no token usage; `prompt_tokens` is estimated as the sum over inputs of
//! ceil(characters / 4), the usual rule of thumb for English text. `encoding_format: base64`
//! is honoured by encoding the floats as little-endian f32 bytes in base64, as OpenAI does.
//! A `task_type` (or `taskType`) in the request extras is passed on as `taskType`.

use base64::Engine as _;
use serde_json::Value;
use switchyard_types::gemini::{
    BatchEmbedContentsRequest, BatchEmbedContentsResponse, Content, EmbedContentRequest, Part,
};
use switchyard_types::openai::{
    Embedding, EmbeddingVector, EmbeddingsRequest, EmbeddingsResponse, EmbeddingsUsage,
};
use switchyard_types::TranslateError;

/// Builds the `batchEmbedContents` body for `model`.
pub(crate) fn encode(
    req: &EmbeddingsRequest,
    model: &str,
) -> Result<BatchEmbedContentsRequest, TranslateError> {
    let texts = req
        .input
        .texts()
        .ok_or_else(|| TranslateError::Unsupported {
            param: "input (token arrays)".to_owned(),
            provider: "gemini".to_owned(),
        })?;
    if texts.is_empty() {
        return Err(TranslateError::invalid(
            "input must not be empty",
            Some("input"),
        ));
    }
    let task_type = ["task_type", "taskType"]
        .iter()
        .find_map(|k| req.extra.get(*k).and_then(Value::as_str))
        .map(str::to_owned);
    let requests = texts
        .into_iter()
        .map(|text| EmbedContentRequest {
            model: format!("models/{model}"),
            content: Content {
                role: None,
                parts: vec![Part::text(text)],
            },
            task_type: task_type.clone(),
            title: None,
            output_dimensionality: req.dimensions,
        })
        .collect();
    Ok(BatchEmbedContentsRequest { requests })
}

/// Decodes `{"embeddings": [{"values": [...]}]}` in the encoding `req` asked for.
pub(crate) fn decode(
    body: &[u8],
    req: &EmbeddingsRequest,
) -> Result<EmbeddingsResponse, TranslateError> {
    let resp: BatchEmbedContentsResponse = serde_json::from_slice(body)
        .map_err(|e| TranslateError::MalformedUpstream(e.to_string()))?;
    let texts = req.input.texts().unwrap_or_default();
    if resp.embeddings.len() != texts.len() {
        return Err(TranslateError::MalformedUpstream(format!(
            "expected {} embeddings, got {}",
            texts.len(),
            resp.embeddings.len()
        )));
    }
    let base64 = req.encoding_format.as_deref() == Some("base64");
    let data = resp
        .embeddings
        .into_iter()
        .enumerate()
        .map(|(i, e)| Embedding {
            object: "embedding".to_owned(),
            index: u32::try_from(i).unwrap_or(u32::MAX),
            embedding: if base64 {
                EmbeddingVector::Base64(encode_f32_base64(&e.values))
            } else {
                EmbeddingVector::Float(e.values)
            },
        })
        .collect();
    let tokens = estimate_tokens(&texts);
    Ok(EmbeddingsResponse {
        object: "list".to_owned(),
        data,
        model: req.model.clone(),
        usage: EmbeddingsUsage {
            prompt_tokens: tokens,
            total_tokens: tokens,
        },
    })
}

/// Little-endian f32 bytes, base64 (standard alphabet, padded).
pub(crate) fn encode_f32_base64(values: &[f32]) -> String {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// ceil(chars / 4) per input, summed.
fn estimate_tokens(texts: &[&str]) -> u64 {
    texts
        .iter()
        .map(|t| (t.chars().count() as u64).div_ceil(4))
        .sum()
}
