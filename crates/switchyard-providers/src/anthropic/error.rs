//! Classification of Anthropic error bodies (`{"type":"error","error":{"type","message"}}`)
//! and of in-stream `error` events.

use std::time::Duration;

use switchyard_types::anthropic::ErrorEnvelope;

use crate::error::{class_for_status, retry_after_from_headers, ErrorClass, UpstreamError};

/// Classifies a non-2xx Anthropic response.
///
/// The error `type` decides the class when present (it is more precise than the status: 529
/// `overloaded_error`, 413 `request_too_large`); unknown types fall back to the status, as
/// Anthropic asks. A 429 without `retry-after` waits until the latest `anthropic-ratelimit-*-reset`
/// instant, measured from the response's own `date` header (adapters read no clock).
pub fn classify(status: u16, headers: &http::HeaderMap, body: &[u8]) -> UpstreamError {
    let envelope: Option<ErrorEnvelope> = serde_json::from_slice(body).ok();
    let (kind, message) = match envelope {
        Some(e) if !e.error.message.is_empty() => (Some(e.error.kind), e.error.message),
        Some(e) => (
            Some(e.error.kind),
            format!("upstream returned HTTP {status}"),
        ),
        None => (None, body_text(status, body)),
    };
    let class = class_for(kind.as_deref(), &message).unwrap_or_else(|| class_for_status(status));
    let mut err = UpstreamError::new(class, message).with_status(status);
    err.provider_code = kind;
    err.retry_after = retry_after_from_headers(headers);
    if err.retry_after.is_none() && class == ErrorClass::RateLimited {
        err.retry_after = ratelimit_reset_wait(headers);
    }
    err
}

/// An in-stream `error` event (HTTP 200 already sent).
pub(crate) fn stream_error(kind: &str, message: &str) -> UpstreamError {
    let class = class_for(Some(kind), message).unwrap_or(ErrorClass::StreamBroken);
    let message = if message.is_empty() {
        format!("upstream stream error: {kind}")
    } else {
        message.to_owned()
    };
    UpstreamError::new(class, message).with_code(kind)
}

/// The class named by an Anthropic error type; `None` for types we do not know.
fn class_for(kind: Option<&str>, message: &str) -> Option<ErrorClass> {
    let lower = message.to_ascii_lowercase();
    if lower.contains("prompt is too long")
        || lower.contains("exceed context limit")
        || lower.contains("context window")
    {
        return Some(ErrorClass::ContextTooLong);
    }
    Some(match kind? {
        "overloaded_error" => ErrorClass::Overloaded,
        "rate_limit_error" => ErrorClass::RateLimited,
        // Billing problems belong to the gateway's account, like a bad key.
        "authentication_error" | "permission_error" | "billing_error" => ErrorClass::Auth,
        "invalid_request_error" | "request_too_large" => ErrorClass::BadRequest,
        "not_found_error" => ErrorClass::NotFound,
        "api_error" => ErrorClass::ServerError,
        "timeout_error" => ErrorClass::Timeout,
        _ => return None,
    })
}

fn body_text(status: u16, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        format!("upstream returned HTTP {status}")
    } else {
        text.chars().take(500).collect()
    }
}

/// Reset headers whose RFC 3339 instant tells when a bucket refills.
const RESET_HEADERS: [&str; 4] = [
    "anthropic-ratelimit-requests-reset",
    "anthropic-ratelimit-tokens-reset",
    "anthropic-ratelimit-input-tokens-reset",
    "anthropic-ratelimit-output-tokens-reset",
];

/// Latest reset among exhausted buckets (remaining `0`, or every bucket when none says),
/// relative to the `date` header.
fn ratelimit_reset_wait(headers: &http::HeaderMap) -> Option<Duration> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let now = text("date").and_then(parse_http_date)?;
    let resets: Vec<(i64, bool)> = RESET_HEADERS
        .iter()
        .filter_map(|h| {
            let at = parse_rfc3339(text(h)?)?;
            let remaining = text(&h.replace("-reset", "-remaining"));
            Some((at, remaining.is_some_and(|r| r.trim() == "0")))
        })
        .collect();
    let any_exhausted = resets.iter().any(|(_, exhausted)| *exhausted);
    let latest = resets
        .iter()
        .filter(|(_, exhausted)| *exhausted || !any_exhausted)
        .map(|(at, _)| *at)
        .max()?;
    u64::try_from(latest - now)
        .ok()
        .map(|s| Duration::from_secs(s.min(86_400)))
}

/// `2025-08-21T12:40:59Z` (fractions and offsets accepted) → Unix seconds.
pub(crate) fn parse_rfc3339(s: &str) -> Option<i64> {
    let s = s.trim();
    let (date, time) = s.split_once(['T', 't', ' '])?;
    let mut d = date.splitn(3, '-');
    let (y, m, day) = (
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
    );
    let (clock, offset) = match time.find(['Z', 'z', '+', '-']) {
        Some(i) => time.split_at(i),
        None => (time, "Z"),
    };
    let secs = clock_secs(clock)?;
    let offset_secs = match offset {
        "Z" | "z" => 0,
        o => {
            let sign = if o.starts_with('-') { -1 } else { 1 };
            let (h, m) = o.get(1..)?.split_once(':')?;
            sign * (h.parse::<i64>().ok()? * 3600 + m.parse::<i64>().ok()? * 60)
        }
    };
    Some(days_from_civil(y, m, day)? * 86_400 + secs - offset_secs)
}

/// IMF-fixdate (`Thu, 21 Aug 2025 12:40:00 GMT`) → Unix seconds.
fn parse_http_date(s: &str) -> Option<i64> {
    let mut parts = s.split_whitespace().skip(1);
    let day = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year = parts.next()?.parse().ok()?;
    let secs = clock_secs(parts.next()?)?;
    Some(days_from_civil(year, month, day)? * 86_400 + secs)
}

/// `HH:MM:SS[.fff]` → seconds of the day (fractions dropped).
fn clock_secs(clock: &str) -> Option<i64> {
    let mut c = clock.splitn(3, ':');
    let h: i64 = c.next()?.parse().ok()?;
    let m: i64 = c.next()?.parse().ok()?;
    let s: i64 = c.next()?.split('.').next()?.parse().ok()?;
    Some(h * 3600 + m * 60 + s)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> Option<i64> {
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}
