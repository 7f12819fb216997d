//! Classified upstream errors: who is at fault and whether another attempt may help.

use std::time::Duration;

/// What went wrong upstream, decided by the adapter that knows the provider. The attempt loop
/// decides retries and fallbacks on this class alone and never reads message strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// 429 / quota: try later or elsewhere.
    RateLimited,
    /// Provider overloaded (Anthropic 529, Gemini 503 UNAVAILABLE).
    Overloaded,
    /// The prompt exceeds the model's context window.
    ContextTooLong,
    /// Refused by a content policy.
    ContentPolicy,
    /// The gateway's provider credential was rejected (401/403 upstream).
    Auth,
    /// The request itself is wrong (400/422): never retried.
    BadRequest,
    /// Unknown model or path at the provider.
    NotFound,
    /// Provider 5xx.
    ServerError,
    /// No answer in time (connect, first byte, idle or total deadline).
    Timeout,
    /// Could not connect or the connection broke before a response.
    Connect,
    /// The provider answered with something that is not its own format.
    Malformed,
    /// A stream broke or ended without its terminator after it started.
    StreamBroken,
}

/// Who is at fault for an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The client's request.
    Client,
    /// The provider.
    Upstream,
    /// The gateway (its configuration or credentials).
    Gateway,
}

impl ErrorClass {
    /// Whether another attempt (same or other deployment) may succeed.
    pub fn retryable(self) -> bool {
        match self {
            Self::RateLimited
            | Self::Overloaded
            | Self::ServerError
            | Self::Timeout
            | Self::Connect
            | Self::Malformed
            | Self::StreamBroken => true,
            Self::ContextTooLong
            | Self::ContentPolicy
            | Self::Auth
            | Self::BadRequest
            | Self::NotFound => false,
        }
    }

    /// Who is at fault.
    pub fn fault(self) -> Fault {
        match self {
            Self::BadRequest | Self::ContextTooLong | Self::ContentPolicy => Fault::Client,
            Self::Auth | Self::NotFound => Fault::Gateway,
            Self::RateLimited
            | Self::Overloaded
            | Self::ServerError
            | Self::Timeout
            | Self::Connect
            | Self::Malformed
            | Self::StreamBroken => Fault::Upstream,
        }
    }

    /// Low-cardinality label for metrics and headers.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RateLimited => "rate_limited",
            Self::Overloaded => "overloaded",
            Self::ContextTooLong => "context_too_long",
            Self::ContentPolicy => "content_policy",
            Self::Auth => "upstream_auth",
            Self::BadRequest => "bad_request",
            Self::NotFound => "not_found",
            Self::ServerError => "server_error",
            Self::Timeout => "timeout",
            Self::Connect => "connect",
            Self::Malformed => "malformed",
            Self::StreamBroken => "stream_broken",
        }
    }
}

/// An upstream failure, classified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct UpstreamError {
    /// The class.
    pub class: ErrorClass,
    /// Upstream HTTP status, when there was a response.
    pub status: Option<u16>,
    /// The provider's message (never contains credentials: providers do not echo keys, and
    /// the transport never formats one into a message).
    pub message: String,
    /// How long the provider asked us to wait.
    pub retry_after: Option<Duration>,
    /// The provider's own error type or code (`rate_limit_error`, `RESOURCE_EXHAUSTED`).
    pub provider_code: Option<String>,
    /// The request field the provider blamed.
    pub param: Option<String>,
}

impl UpstreamError {
    /// A new error of `class` with `message`.
    pub fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        Self {
            class,
            status: None,
            message: message.into(),
            retry_after: None,
            provider_code: None,
            param: None,
        }
    }

    /// With an HTTP status.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// With a provider code.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.provider_code = Some(code.into());
        self
    }

    /// The stream ended without its terminator.
    pub fn truncated() -> Self {
        Self::new(
            ErrorClass::StreamBroken,
            "upstream stream ended before completion",
        )
    }
}

/// Default class for an HTTP status when the body says nothing more specific.
pub fn class_for_status(status: u16) -> ErrorClass {
    match status {
        400 | 409 | 413 | 415 | 422 => ErrorClass::BadRequest,
        401 | 403 => ErrorClass::Auth,
        404 => ErrorClass::NotFound,
        408 | 504 => ErrorClass::Timeout,
        429 => ErrorClass::RateLimited,
        503 | 529 => ErrorClass::Overloaded,
        _ if status >= 500 => ErrorClass::ServerError,
        _ => ErrorClass::BadRequest,
    }
}

/// Reads how long to wait from `retry-after-ms`, `retry-after` (seconds or HTTP date is not
/// parsed: seconds only), and OpenAI's `x-ratelimit-reset-*` durations (`1s`, `6m0s`, `20ms`).
/// The latter come on every response and describe the rate-limit window: use this for
/// rate-limited errors only, and [`explicit_retry_after`] for the others.
pub fn retry_after_from_headers(headers: &http::HeaderMap) -> Option<Duration> {
    if let Some(d) = explicit_retry_after(headers) {
        return Some(d);
    }
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    ["x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"]
        .iter()
        .filter_map(|h| text(h).and_then(parse_go_duration))
        .max()
}

/// Reads an explicit `retry-after-ms` or `retry-after` (seconds) header.
pub fn explicit_retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(ms) = text("retry-after-ms").and_then(|v| v.trim().parse::<f64>().ok()) {
        return duration_from_secs(ms / 1000.0);
    }
    text("retry-after")
        .and_then(|v| v.trim().parse::<f64>().ok())
        .and_then(duration_from_secs)
}

fn duration_from_secs(secs: f64) -> Option<Duration> {
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(86_400.0)))
}

/// Parses Go-style durations as OpenAI sends them: `1s`, `6m0s`, `20ms`, `1h2m3.5s`.
pub fn parse_go_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let mut total = 0.0_f64;
    let mut num = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let value: f64 = num.parse().ok()?;
        num.clear();
        let unit = match c {
            'h' => 3600.0,
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                0.001
            }
            'm' => 60.0,
            's' => 1.0,
            _ => return None,
        };
        total += value * unit;
    }
    if !num.is_empty() {
        total += num.parse::<f64>().ok()?;
    }
    duration_from_secs(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_parse() {
        assert_eq!(parse_go_duration("1s"), Some(Duration::from_secs(1)));
        assert_eq!(parse_go_duration("6m0s"), Some(Duration::from_secs(360)));
        assert_eq!(parse_go_duration("20ms"), Some(Duration::from_millis(20)));
        assert_eq!(parse_go_duration("x"), None);
    }

    #[test]
    fn retry_after_prefers_ms() {
        let mut h = http::HeaderMap::new();
        h.insert("retry-after", http::HeaderValue::from_static("2"));
        assert_eq!(retry_after_from_headers(&h), Some(Duration::from_secs(2)));
        h.insert("retry-after-ms", http::HeaderValue::from_static("150"));
        assert_eq!(
            retry_after_from_headers(&h),
            Some(Duration::from_millis(150))
        );
    }
}
