//! Error bodies of the OpenAI dialect and its relatives: OpenAI's nested object, Mistral's and
//! vLLM's flat objects, OpenRouter's numeric codes and Ollama's plain strings.

use serde_json::Value;

use crate::error::{
    class_for_status, explicit_retry_after, retry_after_from_headers, ErrorClass, UpstreamError,
};

/// Classifies an OpenAI-dialect error response.
pub fn classify(status: u16, headers: &http::HeaderMap, body: &[u8]) -> UpstreamError {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let (message, code, kind, param) = match parsed.as_ref() {
        Some(v) => extract(v),
        None => (None, None, None, None),
    };
    let message = message.unwrap_or_else(|| {
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        if text.is_empty() {
            format!("upstream returned HTTP {status}")
        } else {
            text.chars().take(500).collect()
        }
    });
    let mut class = class_for_status(status);
    let code_or_kind = code.clone().or_else(|| kind.clone()).unwrap_or_default();
    let lower = message.to_ascii_lowercase();
    if code_or_kind == "context_length_exceeded"
        || lower.contains("maximum context length")
        || lower.contains("context window")
        || lower.contains("too many tokens")
    {
        class = ErrorClass::ContextTooLong;
    } else if code_or_kind.contains("content_filter")
        || code_or_kind.contains("content_policy")
        || code_or_kind == "moderation"
    {
        class = ErrorClass::ContentPolicy;
    }
    let mut err = UpstreamError::new(class, message).with_status(status);
    err.provider_code = code.or(kind);
    err.param = param;
    // `x-ratelimit-reset-*` come on every OpenAI response: they say how long to wait only when
    // the request was rate limited, never for a 5xx (which would otherwise cool the deployment
    // down for the rest of the rate-limit window).
    err.retry_after = if err.class == ErrorClass::RateLimited {
        retry_after_from_headers(headers)
    } else {
        explicit_retry_after(headers)
    };
    err
}

type Parts = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn extract(v: &Value) -> Parts {
    let text = |v: Option<&Value>| -> Option<String> {
        match v? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    };
    match v.get("error") {
        // OpenAI / OpenRouter: {"error": {...}}
        Some(Value::Object(e)) => (
            text(e.get("message")),
            text(e.get("code")),
            text(e.get("type")),
            text(e.get("param")),
        ),
        // Ollama: {"error": "model not found"}
        Some(Value::String(s)) => (Some(s.clone()), None, None, None),
        // Mistral / vLLM flat: {"object":"error","message":...,"type":...,"code":...}
        _ => {
            let message = text(v.get("message")).or_else(|| match v.get("detail") {
                Some(Value::String(s)) => Some(s.clone()),
                Some(d @ Value::Array(_)) => Some(d.to_string()),
                _ => None,
            });
            (
                message,
                text(v.get("code")),
                text(v.get("type")),
                text(v.get("param")),
            )
        }
    }
}
