//! Classification of Anthropic error responses.

use std::time::Duration;

use http::{HeaderMap, HeaderValue};

use super::fixture;
use crate::adapter::Adapter;
use crate::anthropic::error::parse_rfc3339;
use crate::anthropic::AnthropicAdapter;
use crate::error::ErrorClass;

fn body(kind: &str, message: &str) -> Vec<u8> {
    crate::anthropic::ingress::error_body(kind, message)
}

#[test]
fn error_types_decide_the_class() {
    let h = HeaderMap::new();
    let cases = [
        (
            529,
            "overloaded_error",
            "Overloaded",
            ErrorClass::Overloaded,
        ),
        (
            401,
            "authentication_error",
            "invalid x-api-key",
            ErrorClass::Auth,
        ),
        (403, "permission_error", "no access", ErrorClass::Auth),
        (
            400,
            "invalid_request_error",
            "messages: roles must alternate",
            ErrorClass::BadRequest,
        ),
        (
            400,
            "invalid_request_error",
            "prompt is too long: 215000 tokens > 200000 maximum",
            ErrorClass::ContextTooLong,
        ),
        (
            404,
            "not_found_error",
            "model: claude-x",
            ErrorClass::NotFound,
        ),
        (
            500,
            "api_error",
            "Internal server error",
            ErrorClass::ServerError,
        ),
        (504, "timeout_error", "timed out", ErrorClass::Timeout),
        (418, "brand_new_error", "?", ErrorClass::BadRequest),
        (503, "brand_new_error", "?", ErrorClass::Overloaded),
    ];
    for (status, kind, message, class) in cases {
        let err = AnthropicAdapter.classify_error(status, &h, &body(kind, message));
        assert_eq!(err.class, class, "{kind}: {message}");
        assert_eq!(err.status, Some(status));
        assert_eq!(err.provider_code.as_deref(), Some(kind));
        assert_eq!(err.message, message);
    }
}

#[test]
fn fixtures_and_non_json_bodies() {
    let h = HeaderMap::new();
    let err = AnthropicAdapter.classify_error(400, &h, fixture!("error_400.json").as_bytes());
    assert_eq!(err.class, ErrorClass::BadRequest);
    assert_eq!(err.message, "max_tokens: Field required");
    let err = AnthropicAdapter.classify_error(529, &h, b"");
    assert_eq!(err.class, ErrorClass::Overloaded);
    assert_eq!(err.message, "upstream returned HTTP 529");
    let err = AnthropicAdapter.classify_error(413, &h, b"<html>Request Entity Too Large</html>");
    assert_eq!(err.class, ErrorClass::BadRequest);
    assert!(err.message.contains("Too Large"));
}

#[test]
fn rate_limits_carry_retry_after() {
    let mut h = HeaderMap::new();
    h.insert("retry-after", HeaderValue::from_static("7"));
    let err = AnthropicAdapter.classify_error(429, &h, fixture!("error_429.json").as_bytes());
    assert_eq!(err.class, ErrorClass::RateLimited);
    assert_eq!(err.provider_code.as_deref(), Some("rate_limit_error"));
    assert_eq!(err.retry_after, Some(Duration::from_secs(7)));

    let mut h = HeaderMap::new();
    h.insert(
        "date",
        HeaderValue::from_static("Thu, 21 Aug 2025 12:40:00 GMT"),
    );
    h.insert(
        "anthropic-ratelimit-requests-remaining",
        HeaderValue::from_static("12"),
    );
    h.insert(
        "anthropic-ratelimit-requests-reset",
        HeaderValue::from_static("2025-08-21T12:40:59Z"),
    );
    h.insert(
        "anthropic-ratelimit-tokens-remaining",
        HeaderValue::from_static("0"),
    );
    h.insert(
        "anthropic-ratelimit-tokens-reset",
        HeaderValue::from_static("2025-08-21T12:40:20Z"),
    );
    let err = AnthropicAdapter.classify_error(429, &h, fixture!("error_429.json").as_bytes());
    assert_eq!(
        err.retry_after,
        Some(Duration::from_secs(20)),
        "the exhausted bucket decides"
    );
}

#[test]
fn rfc3339_parses() {
    assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
    assert_eq!(parse_rfc3339("2025-08-21T12:40:59Z"), Some(1_755_780_059));
    assert_eq!(
        parse_rfc3339("2025-08-21T14:40:59.5+02:00"),
        Some(1_755_780_059)
    );
    assert_eq!(parse_rfc3339("yesterday"), None);
}
