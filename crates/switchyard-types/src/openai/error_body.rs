//! The OpenAI error body: `{"error": {"message", "type", "code", "param"}}`.

use serde::{Deserialize, Serialize};

/// Top-level error envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorEnvelope {
    /// The error.
    pub error: ErrorBody,
}

/// The error object. `code` and `param` are always present (possibly null), as OpenAI sends them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Human-readable message.
    pub message: String,
    /// Error type, e.g. `invalid_request_error`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Machine-readable code, e.g. `model_not_found`.
    pub code: Option<String>,
    /// The request parameter at fault.
    pub param: Option<String>,
}
