//! Errors the engine returns to the edge. The server maps each to an HTTP status and an
//! OpenAI error body in one exhaustive match.

use switchyard_providers::UpstreamError;

use crate::report::AttemptRecord;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The client's request is invalid.
    #[error("{message}")]
    InvalidRequest {
        /// Reason.
        message: String,
        /// Field at fault.
        param: Option<String>,
    },
    /// The requested parameter is not supported by the provider and the policy is `reject`.
    #[error("parameter `{param}` is not supported by provider `{provider}`")]
    UnsupportedParam {
        /// Parameter.
        param: String,
        /// Provider name.
        provider: String,
    },
    /// No model, alias or `provider/model` of that name.
    #[error("model `{model}` does not exist")]
    ModelNotFound {
        /// What the client asked for.
        model: String,
        /// Closest known names.
        suggestions: Vec<String>,
    },
    /// Every candidate deployment failed; `last` is the error the client sees.
    #[error("{}", last.message)]
    Upstream {
        /// The decisive failure.
        last: Box<UpstreamError>,
        /// Provider of the decisive failure.
        provider: String,
        /// Deployment of the decisive failure.
        deployment: String,
        /// Every attempt made.
        attempts: Vec<AttemptRecord>,
    },
    /// Every deployment is cooling down or at its provider limits, and no fallback helped.
    #[error("no deployment of `{model}` is available: {reason}")]
    Unavailable {
        /// Model group.
        model: String,
        /// Why.
        reason: String,
        /// Attempts made before giving up (may be empty).
        attempts: Vec<AttemptRecord>,
    },
}

impl EngineError {
    /// An invalid-request error.
    pub fn invalid(message: impl Into<String>, param: Option<&str>) -> Self {
        Self::InvalidRequest {
            message: message.into(),
            param: param.map(str::to_owned),
        }
    }

    /// Attempts made before failing.
    pub fn attempts(&self) -> &[AttemptRecord] {
        match self {
            Self::Upstream { attempts, .. } | Self::Unavailable { attempts, .. } => attempts,
            Self::InvalidRequest { .. }
            | Self::UnsupportedParam { .. }
            | Self::ModelNotFound { .. } => &[],
        }
    }
}

impl From<switchyard_types::TranslateError> for EngineError {
    fn from(e: switchyard_types::TranslateError) -> Self {
        match e {
            switchyard_types::TranslateError::InvalidRequest { message, param } => {
                Self::InvalidRequest { message, param }
            }
            switchyard_types::TranslateError::Unsupported { param, provider } => {
                Self::UnsupportedParam { param, provider }
            }
            switchyard_types::TranslateError::MalformedUpstream(m) => Self::InvalidRequest {
                message: m,
                param: None,
            },
        }
    }
}
