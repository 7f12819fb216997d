//! Google RPC error classification (providers.md 3.4, 5.7).

use std::time::Duration;

use crate::error::ErrorClass;

use super::*;

/// providers.md 3.4 (verbatim).
const API_KEY_INVALID: &str = r#"{"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.", "status": "INVALID_ARGUMENT", "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com", "metadata": {"service": "generativelanguage.googleapis.com"}}]}}"#;

const QUOTA: &str = r#"{"error": {"code": 429, "message": "You exceeded your current quota, please check your plan and billing details.", "status": "RESOURCE_EXHAUSTED", "details": [
  {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{"quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests", "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier", "quotaDimensions": {"model": "gemini-2.5-flash", "location": "global"}}]},
  {"@type": "type.googleapis.com/google.rpc.Help", "links": [{"description": "Learn more about Gemini API quotas", "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]},
  {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "26s"}]}}"#;

fn classify(status: u16, body: &str) -> crate::UpstreamError {
    GeminiAdapter.classify_error(status, &http::HeaderMap::new(), body.as_bytes())
}

fn body(code: u16, status: &str, message: &str) -> String {
    format!(r#"{{"error": {{"code": {code}, "message": "{message}", "status": "{status}"}}}}"#)
}

#[test]
fn api_key_invalid_is_auth_even_as_400() {
    let e = classify(400, API_KEY_INVALID);
    assert_eq!(e.class, ErrorClass::Auth);
    assert_eq!(e.status, Some(400));
    assert_eq!(e.provider_code.as_deref(), Some("INVALID_ARGUMENT"));
    assert_eq!(e.message, "API key not valid. Please pass a valid API key.");
}

#[test]
fn resource_exhausted_is_rate_limited_with_retry_info() {
    let e = classify(429, QUOTA);
    assert_eq!(e.class, ErrorClass::RateLimited);
    assert_eq!(e.retry_after, Some(Duration::from_secs(26)));
    let wrapped = format!("[{QUOTA}]");
    assert_eq!(classify(429, &wrapped), e, "array-wrapped body");
    // Without RetryInfo, the retry-after header is used.
    let mut headers = http::HeaderMap::new();
    headers.insert("retry-after", http::HeaderValue::from_static("7"));
    let e = GeminiAdapter.classify_error(
        429,
        &headers,
        body(429, "RESOURCE_EXHAUSTED", "quota").as_bytes(),
    );
    assert_eq!(e.retry_after, Some(Duration::from_secs(7)));
    let frac = r#"{"error":{"code":429,"status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1.5s"}]}}"#;
    assert_eq!(
        classify(429, frac).retry_after,
        Some(Duration::from_millis(1500))
    );
}

#[test]
fn each_status_maps_to_its_class() {
    let cases = [
        (503, "UNAVAILABLE", "The model is overloaded. Please try again later.", ErrorClass::Overloaded),
        (400, "INVALID_ARGUMENT", "Request contains an invalid argument.", ErrorClass::BadRequest),
        (400, "INVALID_ARGUMENT", "The input token count (1300000) exceeds the maximum number of tokens allowed (1048576).", ErrorClass::ContextTooLong),
        (400, "FAILED_PRECONDITION", "User location is not supported for the API use.", ErrorClass::BadRequest),
        (403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers.", ErrorClass::Auth),
        (401, "UNAUTHENTICATED", "Request had invalid authentication credentials.", ErrorClass::Auth),
        (404, "NOT_FOUND", "models/gemini-9 is not found for API version v1beta.", ErrorClass::NotFound),
        (500, "INTERNAL", "An internal error has occurred.", ErrorClass::ServerError),
        (504, "DEADLINE_EXCEEDED", "Deadline exceeded.", ErrorClass::Timeout),
    ];
    for (code, status, message, want) in cases {
        let e = classify(code, &body(code, status, message));
        assert_eq!(e.class, want, "{status}: {message}");
        assert_eq!(e.provider_code.as_deref(), Some(status));
        assert_eq!(e.message, message);
        assert_eq!(e.status, Some(code));
    }
}

#[test]
fn non_json_bodies_fall_back_to_the_http_status() {
    let e = classify(502, "<html>Bad Gateway</html>");
    assert_eq!(e.class, ErrorClass::ServerError);
    assert_eq!(e.message, "<html>Bad Gateway</html>");
    assert_eq!(classify(408, "").class, ErrorClass::Timeout);
    assert_eq!(classify(503, "").message, "upstream returned HTTP 503");
    assert_eq!(classify(429, "[]").class, ErrorClass::RateLimited);
}
