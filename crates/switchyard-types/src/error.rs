//! Errors raised while translating between wire formats.

/// A request or response could not be translated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TranslateError {
    /// The client's request is invalid for the target format (HTTP 400 at the edge).
    #[error("{message}")]
    InvalidRequest {
        /// Human-readable reason.
        message: String,
        /// The offending request field, when known (`messages[2].content`).
        param: Option<String>,
    },
    /// The request uses a parameter the target provider cannot honour, and the unsupported-
    /// parameter policy says to refuse rather than drop.
    #[error("parameter `{param}` is not supported by {provider}")]
    Unsupported {
        /// The parameter name.
        param: String,
        /// The provider family that lacks it.
        provider: String,
    },
    /// The upstream sent something that is not valid in its own format.
    #[error("malformed upstream payload: {0}")]
    MalformedUpstream(String),
}

impl TranslateError {
    /// Shorthand for [`TranslateError::InvalidRequest`].
    pub fn invalid(message: impl Into<String>, param: Option<&str>) -> Self {
        Self::InvalidRequest {
            message: message.into(),
            param: param.map(str::to_owned),
        }
    }
}
