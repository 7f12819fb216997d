//! A dialect-neutral error that each dialect renders in its provider's exact shape.

use std::borrow::Cow;

/// An error response to render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SimError {
    pub(crate) status: u16,
    pub(crate) message: Cow<'static, str>,
    /// OpenAI `code` (e.g. `invalid_api_key`), when the provider sets one.
    pub(crate) code: Option<&'static str>,
    /// OpenAI `param`.
    pub(crate) param: Option<Cow<'static, str>>,
    /// `retry-after` seconds.
    pub(crate) retry_after: Option<u64>,
    /// Which failure this is, for dialects whose bodies differ by cause.
    pub(crate) cause: Cause,
    /// Structured validation detail (Mistral's 422 `detail` array).
    pub(crate) detail: Option<serde_json::Value>,
}

/// Why the error is returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cause {
    MissingKey,
    InvalidKey,
    Malformed,
    Invalid,
    NotFound,
    RateLimited,
    Injected,
}

impl SimError {
    pub(crate) fn new(status: u16, cause: Cause, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            status,
            message: message.into(),
            code: None,
            param: None,
            retry_after: None,
            cause,
            detail: None,
        }
    }

    pub(crate) fn invalid(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(400, Cause::Invalid, message)
    }

    pub(crate) fn with_code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    pub(crate) fn with_param(mut self, param: impl Into<Cow<'static, str>>) -> Self {
        self.param = Some(param.into());
        self
    }

    pub(crate) fn with_retry_after(mut self, secs: Option<u64>) -> Self {
        self.retry_after = secs;
        self
    }

    /// An injected status fault; the dialect supplies its usual message for the code.
    pub(crate) fn injected(status: u16, retry_after: Option<u64>) -> Self {
        let retry_after = retry_after.or((status == 429).then_some(1));
        Self::new(status, Cause::Injected, "").with_retry_after(retry_after)
    }
}
