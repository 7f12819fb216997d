//! The error contract: one [`ApiError`] mapped through a closed [`ErrorKind`] to an HTTP
//! status and an OpenAI error body (or Anthropic's, on `/v1/messages`). The match is
//! exhaustive, so a new kind forces a decision. Published in docs/errors.md.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use switchyard_core::report::AttemptRecord;
use switchyard_core::EngineError;
use switchyard_providers::ErrorClass;
use switchyard_types::openai::{ErrorBody, ErrorEnvelope};

use crate::headers;

/// Every error kind the gateway returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Malformed JSON, missing or invalid fields.
    InvalidRequest,
    /// A parameter the provider does not support, with policy `reject`.
    UnsupportedParameter,
    /// Unknown model.
    ModelNotFound,
    /// Missing or wrong gateway key.
    Unauthorized,
    /// Body over the limit.
    PayloadTooLarge,
    /// Unknown route.
    NotFound,
    /// Wrong method.
    MethodNotAllowed,
    /// The provider refused the request as the client's fault (its 4xx, passed on).
    UpstreamBadRequest,
    /// Prompt longer than the model's context.
    ContextLengthExceeded,
    /// Refused by a provider's content policy.
    ContentPolicy,
    /// The provider rate-limited every attempt.
    UpstreamRateLimited,
    /// The gateway's credential for the provider was rejected.
    UpstreamAuth,
    /// The provider does not know the model.
    UpstreamModelNotFound,
    /// Provider 5xx, overload, malformed answer, connection failure.
    UpstreamError,
    /// Provider did not answer in time.
    UpstreamTimeout,
    /// No deployment available (cooldown or provider limits).
    NoDeploymentAvailable,
    /// A bug in the gateway (caught panic).
    Internal,
}

impl ErrorKind {
    /// (HTTP status, OpenAI `type`, `code`).
    pub fn contract(self) -> (StatusCode, &'static str, &'static str) {
        match self {
            Self::InvalidRequest => (
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "invalid_request",
            ),
            Self::UnsupportedParameter => (
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "unsupported_parameter",
            ),
            Self::ModelNotFound => (
                StatusCode::NOT_FOUND,
                "invalid_request_error",
                "model_not_found",
            ),
            Self::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "invalid_request_error",
                "invalid_api_key",
            ),
            Self::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request_error",
                "request_too_large",
            ),
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                "invalid_request_error",
                "unknown_url",
            ),
            Self::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "invalid_request_error",
                "method_not_allowed",
            ),
            Self::UpstreamBadRequest => (
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "upstream_bad_request",
            ),
            Self::ContextLengthExceeded => (
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "context_length_exceeded",
            ),
            Self::ContentPolicy => (
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "content_policy_violation",
            ),
            Self::UpstreamRateLimited => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limit_error",
                "rate_limit_exceeded",
            ),
            Self::UpstreamAuth => (
                StatusCode::BAD_GATEWAY,
                "upstream_auth_error",
                "upstream_authentication_failed",
            ),
            Self::UpstreamModelNotFound => (
                StatusCode::NOT_FOUND,
                "invalid_request_error",
                "upstream_model_not_found",
            ),
            Self::UpstreamError => (StatusCode::BAD_GATEWAY, "upstream_error", "upstream_error"),
            Self::UpstreamTimeout => (
                StatusCode::GATEWAY_TIMEOUT,
                "timeout_error",
                "upstream_timeout",
            ),
            Self::NoDeploymentAvailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "service_unavailable",
                "no_deployment_available",
            ),
            Self::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "internal_error",
            ),
        }
    }

    /// Low-cardinality label for metrics and logs.
    pub fn label(self) -> &'static str {
        self.contract().2
    }
}

/// Which error body shape the client understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ErrorFormat {
    /// `{"error": {"message","type","code","param"}}`.
    #[default]
    OpenAi,
    /// `{"type":"error","error":{"type","message"}}` for the Anthropic SDK.
    Anthropic,
}

/// An error on its way to the client.
#[derive(Debug)]
pub struct ApiError {
    /// Kind.
    pub kind: ErrorKind,
    /// Message.
    pub message: String,
    /// Field at fault.
    pub param: Option<String>,
    /// Status override (provider 4xx passed on as the same 4xx).
    pub status: Option<StatusCode>,
    /// Seconds the client should wait.
    pub retry_after: Option<u64>,
    /// Attempts made, for the transparency headers.
    pub attempts: Vec<AttemptRecord>,
    /// Body shape.
    pub format: ErrorFormat,
}

impl ApiError {
    /// A new error.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            param: None,
            status: None,
            retry_after: None,
            attempts: Vec::new(),
            format: ErrorFormat::OpenAi,
        }
    }

    /// With a parameter.
    pub fn param(mut self, p: impl Into<String>) -> Self {
        self.param = Some(p.into());
        self
    }

    /// In the Anthropic shape.
    pub fn anthropic(mut self) -> Self {
        self.format = ErrorFormat::Anthropic;
        self
    }

    fn anthropic_type(&self, status: StatusCode) -> &'static str {
        match status.as_u16() {
            400 | 422 => "invalid_request_error",
            // Anthropic's own type for a body over its limit.
            413 => "request_too_large",
            401 => "authentication_error",
            403 => "permission_error",
            404 => "not_found_error",
            429 => "rate_limit_error",
            503 | 529 => "overloaded_error",
            _ => "api_error",
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        let attempts = e.attempts().to_vec();
        let mut out = match e {
            EngineError::InvalidRequest { message, param } => {
                let mut a = ApiError::new(ErrorKind::InvalidRequest, message);
                a.param = param;
                a
            }
            EngineError::UnsupportedParam { param, provider } => ApiError::new(
                ErrorKind::UnsupportedParameter,
                format!("parameter `{param}` is not supported by provider `{provider}`; send `x-switchyard-unsupported-params: drop` to drop it instead"),
            )
            .param(param),
            EngineError::ModelNotFound { model, suggestions } => {
                let hint = if suggestions.is_empty() {
                    "; list models with GET /v1/models".to_owned()
                } else {
                    format!("; did you mean {}?", suggestions.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", "))
                };
                ApiError::new(ErrorKind::ModelNotFound, format!("the model `{model}` does not exist{hint}")).param("model")
            }
            EngineError::Unavailable { model, reason, .. } => {
                ApiError::new(ErrorKind::NoDeploymentAvailable, format!("no deployment of `{model}` is available: {reason}"))
            }
            EngineError::Upstream { last, provider, deployment, .. } => {
                let kind = match last.class {
                    ErrorClass::BadRequest => ErrorKind::UpstreamBadRequest,
                    ErrorClass::ContextTooLong => ErrorKind::ContextLengthExceeded,
                    ErrorClass::ContentPolicy => ErrorKind::ContentPolicy,
                    ErrorClass::RateLimited => ErrorKind::UpstreamRateLimited,
                    ErrorClass::Auth => ErrorKind::UpstreamAuth,
                    ErrorClass::NotFound => ErrorKind::UpstreamModelNotFound,
                    ErrorClass::Timeout => ErrorKind::UpstreamTimeout,
                    ErrorClass::Overloaded
                    | ErrorClass::ServerError
                    | ErrorClass::Connect
                    | ErrorClass::Malformed
                    | ErrorClass::StreamBroken => ErrorKind::UpstreamError,
                };
                let message = match (kind, last.status) {
                    // The provider's own words are not passed on: they may quote part of the
                    // gateway's key ("Incorrect API key provided: sk-ab***yz").
                    (ErrorKind::UpstreamAuth, status) => format!(
                        "provider `{provider}` rejected the gateway's credential for deployment `{deployment}`{} (this is not about your key: the gateway operator must fix the provider credential)",
                        status.map(|s| format!(" with HTTP {s}")).unwrap_or_default()
                    ),
                    (_, Some(s)) => format!("provider `{provider}` (deployment `{deployment}`) returned {s}: {}", last.message),
                    (_, None) => format!("provider `{provider}` (deployment `{deployment}`) failed: {}", last.message),
                };
                let mut a = ApiError::new(kind, message);
                a.param = last.param.clone();
                if kind == ErrorKind::UpstreamBadRequest {
                    a.status = last.status.and_then(|s| StatusCode::from_u16(s).ok()).filter(|s| s.is_client_error());
                }
                a.retry_after = last.retry_after.map(|d| d.as_secs().max(1));
                a
            }
        };
        out.attempts = attempts;
        out
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (default_status, kind, code) = self.kind.contract();
        let status = self.status.unwrap_or(default_status);
        let body = match self.format {
            ErrorFormat::OpenAi => serde_json::to_vec(&ErrorEnvelope {
                error: ErrorBody {
                    message: self.message.clone(),
                    kind: kind.to_owned(),
                    code: Some(code.to_owned()),
                    param: self.param.clone(),
                },
            })
            .unwrap_or_default(),
            ErrorFormat::Anthropic => switchyard_providers::anthropic::ingress::error_body(
                self.anthropic_type(status),
                &self.message,
            ),
        };
        let mut resp = (status, body).into_response();
        let h = resp.headers_mut();
        h.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        h.insert(headers::ERROR_CODE, HeaderValue::from_static(code));
        if let Some(s) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&s.to_string()) {
                h.insert(http::header::RETRY_AFTER, v);
            }
        }
        if !self.attempts.is_empty() {
            headers::attempts(h, self.attempts.len(), &self.attempts);
        }
        resp
    }
}
