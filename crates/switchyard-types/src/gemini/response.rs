//! `generateContent` response (also each streamed event) and usage metadata.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::{Content, Extra};

/// A `GenerateContentResponse`: the whole answer, or one fragment of a stream.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateContentResponse {
    /// Candidates; absent or empty when the prompt was blocked.
    #[serde(default)]
    pub candidates: Vec<Candidate>,
    /// Why the prompt was blocked, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_feedback: Option<PromptFeedback>,
    /// Token counts (running totals in a stream).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_metadata: Option<UsageMetadata>,
    /// The model version that answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_version: Option<String>,
    /// Response id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_id: Option<String>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One candidate answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Candidate {
    /// The content; may be absent when stopped for safety.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Content>,
    /// `STOP`, `MAX_TOKENS`, `SAFETY`, ... (set on the last chunk of a stream).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
    /// Candidate index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
    /// Unmodelled fields (`safetyRatings`, `citationMetadata`, ...).
    #[serde(flatten)]
    pub extra: Extra,
}

/// `promptFeedback`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PromptFeedback {
    /// `SAFETY`, `OTHER`, `BLOCKLIST`, `PROHIBITED_CONTENT`, `IMAGE_SAFETY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_reason: Option<String>,
    /// Unmodelled fields (`safetyRatings`).
    #[serde(flatten)]
    pub extra: Extra,
}

/// `usageMetadata`. Counts accept numbers or numeric strings; anything else reads as absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageMetadata {
    /// Prompt tokens, cached ones included.
    #[serde(
        default,
        deserialize_with = "lenient_count",
        skip_serializing_if = "Option::is_none"
    )]
    pub prompt_token_count: Option<u64>,
    /// Visible output tokens.
    #[serde(
        default,
        deserialize_with = "lenient_count",
        skip_serializing_if = "Option::is_none"
    )]
    pub candidates_token_count: Option<u64>,
    /// Thinking tokens (not included in `candidatesTokenCount`).
    #[serde(
        default,
        deserialize_with = "lenient_count",
        skip_serializing_if = "Option::is_none"
    )]
    pub thoughts_token_count: Option<u64>,
    /// Prompt tokens of built-in tool use.
    #[serde(
        default,
        deserialize_with = "lenient_count",
        skip_serializing_if = "Option::is_none"
    )]
    pub tool_use_prompt_token_count: Option<u64>,
    /// Prompt tokens read from the cache.
    #[serde(
        default,
        deserialize_with = "lenient_count",
        skip_serializing_if = "Option::is_none"
    )]
    pub cached_content_token_count: Option<u64>,
    /// Everything.
    #[serde(
        default,
        deserialize_with = "lenient_count",
        skip_serializing_if = "Option::is_none"
    )]
    pub total_token_count: Option<u64>,
}

/// Reads a token count from a non-negative number (integral floats too) or a numeric string.
fn lenient_count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(count_from_value(&Value::deserialize(d)?))
}

/// The count in `v`, if it is one.
pub fn count_from_value(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0 && f.fract() == 0.0 && *f < 1e18)
                .map(|f| f as u64)
        }),
        Value::String(s) => {
            let s = s.trim();
            s.parse::<u64>().ok().or_else(|| {
                s.parse::<f64>()
                    .ok()
                    .map(Value::from)
                    .as_ref()
                    .and_then(count_from_value)
            })
        }
        _ => None,
    }
}
