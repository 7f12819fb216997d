//! Gemini error classification: the Google RPC body `{"error": {"code", "message", "status",
//! "details"}}`, also when wrapped in a one-element array, and in-stream error events.

use std::time::Duration;

use serde_json::Value;

use crate::error::{
    class_for_status, parse_go_duration, retry_after_from_headers, ErrorClass, UpstreamError,
};

const RETRY_INFO: &str = "type.googleapis.com/google.rpc.RetryInfo";

/// Classifies a non-2xx Gemini response.
pub fn classify(status: u16, headers: &http::HeaderMap, body: &[u8]) -> UpstreamError {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let unwrapped = match parsed {
        Some(Value::Array(mut items)) if !items.is_empty() => Some(items.swap_remove(0)),
        other => other,
    };
    match unwrapped.as_ref().and_then(|v| v.get("error")) {
        Some(err @ Value::Object(_)) => classify_status(status, headers, err),
        _ => {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            let message = if text.is_empty() {
                format!("upstream returned HTTP {status}")
            } else {
                text.chars().take(500).collect()
            };
            let mut e = UpstreamError::new(class_for_status(status), message).with_status(status);
            e.retry_after = retry_after_from_headers(headers);
            e
        }
    }
}

/// Classifies the inner `error` object (a `google.rpc.Status`).
pub(crate) fn classify_status(
    status: u16,
    headers: &http::HeaderMap,
    err: &Value,
) -> UpstreamError {
    let message = err
        .get("message")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
        .map_or_else(|| format!("upstream returned HTTP {status}"), str::to_owned);
    let code = err.get("status").and_then(Value::as_str);
    let details = err.get("details").and_then(Value::as_array);
    let lower = message.to_ascii_lowercase();
    let api_key_invalid = lower.contains("api key not valid")
        || lower.contains("api key expired")
        || details.is_some_and(|ds| {
            ds.iter().any(|d| {
                matches!(
                    d.get("reason").and_then(Value::as_str),
                    Some("API_KEY_INVALID" | "API_KEY_EXPIRED")
                )
            })
        });
    let class = match code {
        _ if api_key_invalid => ErrorClass::Auth,
        Some("RESOURCE_EXHAUSTED") => ErrorClass::RateLimited,
        Some("UNAVAILABLE") => ErrorClass::Overloaded,
        Some("INVALID_ARGUMENT" | "OUT_OF_RANGE") if context_too_long(&lower) => {
            ErrorClass::ContextTooLong
        }
        Some("INVALID_ARGUMENT" | "FAILED_PRECONDITION" | "OUT_OF_RANGE") => ErrorClass::BadRequest,
        Some("PERMISSION_DENIED" | "UNAUTHENTICATED") => ErrorClass::Auth,
        Some("NOT_FOUND") => ErrorClass::NotFound,
        Some("INTERNAL" | "UNKNOWN" | "DATA_LOSS") => ErrorClass::ServerError,
        Some("DEADLINE_EXCEEDED") => ErrorClass::Timeout,
        _ if context_too_long(&lower) => ErrorClass::ContextTooLong,
        _ => class_for_status(status),
    };
    let mut e = UpstreamError::new(class, message).with_status(status);
    e.provider_code = code.map(str::to_owned);
    e.retry_after = details
        .and_then(|ds| retry_delay(ds))
        .or_else(|| retry_after_from_headers(headers));
    e
}

/// `The input token count (1234567) exceeds the maximum number of tokens allowed (1048576).`
fn context_too_long(lower: &str) -> bool {
    (lower.contains("input token count") && lower.contains("exceed"))
        || lower.contains("exceeds the maximum number of tokens")
}

/// `RetryInfo.retryDelay` (`"26s"`, `"0.5s"`) from the error details.
fn retry_delay(details: &[Value]) -> Option<Duration> {
    details
        .iter()
        .filter(|d| d.get("@type").and_then(Value::as_str) == Some(RETRY_INFO))
        .find_map(|d| match d.get("retryDelay")? {
            Value::String(s) => parse_go_duration(s),
            // The proto3 JSON form is a string; accept `{"seconds", "nanos"}` too.
            Value::Object(o) => {
                let secs = o.get("seconds").and_then(|s| {
                    s.as_u64()
                        .or_else(|| s.as_str().and_then(|t| t.parse().ok()))
                })?;
                let nanos = o.get("nanos").and_then(Value::as_u64).unwrap_or(0);
                Some(Duration::from_secs(secs) + Duration::from_nanos(nanos))
            }
            _ => None,
        })
}
