//! The Anthropic error body: `{"type":"error","error":{"type","message"},"request_id"}`.

use serde::{Deserialize, Serialize};

/// Top-level error envelope (also the payload of a stream `error` event).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorEnvelope {
    /// Always `error`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The error.
    pub error: ErrorDetail,
    /// `req_...`, when the API assigned one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// The error object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// `invalid_request_error`, `rate_limit_error`, `overloaded_error`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// Human-readable message.
    #[serde(default)]
    pub message: String,
}

impl ErrorEnvelope {
    /// An envelope of `kind` with `message`.
    pub fn new(kind: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            kind: "error".to_owned(),
            error: ErrorDetail {
                kind: kind.into(),
                message: message.into(),
            },
            request_id: None,
        }
    }
}
