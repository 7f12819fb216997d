//! The Google RPC error body: `{"error": {"code", "message", "status", "details"}}`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Top-level error envelope (sometimes wrapped in a one-element array upstream).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorEnvelope {
    /// The error.
    pub error: Status,
}

/// A `google.rpc.Status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// HTTP status code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
    /// Human-readable message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Canonical code name, e.g. `RESOURCE_EXHAUSTED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Typed details (`@type`: `type.googleapis.com/google.rpc.RetryInfo`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<Value>,
}
