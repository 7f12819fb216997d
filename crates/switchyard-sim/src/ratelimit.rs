//! Per-model minute windows: rate-limit headers that decrease and reset, and the optional RPM
//! limit that really returns 429.

use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use tokio::time::Instant;

use crate::state::{lock, ModelEntry};

const WINDOW: Duration = Duration::from_secs(60);
/// Advertised request budget when no RPM limit is set.
const DEFAULT_RPM: u64 = 10_000;
/// Advertised token budget per minute.
const TOKENS_PER_MINUTE: u64 = 10_000_000;

/// Requests and tokens used in the current window.
#[derive(Debug, Default)]
pub(crate) struct RateWindow {
    start: Option<Instant>,
    requests: u64,
    tokens: u64,
}

/// The window as seen by one request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RateSnapshot {
    pub(crate) limit_requests: u64,
    pub(crate) remaining_requests: u64,
    pub(crate) remaining_tokens: u64,
    pub(crate) reset: Duration,
    /// The RPM limit is exceeded: answer 429.
    pub(crate) limited: bool,
}

impl RateSnapshot {
    /// Whole seconds until the window resets, at least 1.
    pub(crate) fn retry_after_secs(&self) -> u64 {
        self.reset.as_millis().div_ceil(1000).max(1) as u64
    }
}

/// Counts one request of `tokens` prompt tokens against the model's window.
pub(crate) fn admit(entry: &ModelEntry, tokens: u64) -> RateSnapshot {
    let rpm = entry.rpm_limit.load(Ordering::Relaxed);
    let now = Instant::now();
    let mut window = lock(&entry.window);
    let start = match window.start {
        Some(start) if now.duration_since(start) < WINDOW => start,
        _ => {
            *window = RateWindow {
                start: Some(now),
                requests: 0,
                tokens: 0,
            };
            now
        }
    };
    window.requests += 1;
    window.tokens += tokens;
    let limit_requests = if rpm == 0 { DEFAULT_RPM } else { rpm };
    RateSnapshot {
        limit_requests,
        remaining_requests: limit_requests.saturating_sub(window.requests),
        remaining_tokens: TOKENS_PER_MINUTE.saturating_sub(window.tokens),
        reset: WINDOW.saturating_sub(now.duration_since(start)),
        limited: rpm != 0 && window.requests > rpm,
    }
}

/// OpenAI-style `x-ratelimit-*` headers.
pub(crate) fn openai_headers(snap: &RateSnapshot, headers: &mut HeaderMap) {
    let reset = HeaderValue::from_str(&go_duration(snap.reset)).ok();
    headers.insert(
        HeaderName::from_static("x-ratelimit-limit-requests"),
        HeaderValue::from(snap.limit_requests),
    );
    headers.insert(
        HeaderName::from_static("x-ratelimit-limit-tokens"),
        HeaderValue::from(TOKENS_PER_MINUTE),
    );
    headers.insert(
        HeaderName::from_static("x-ratelimit-remaining-requests"),
        HeaderValue::from(snap.remaining_requests),
    );
    headers.insert(
        HeaderName::from_static("x-ratelimit-remaining-tokens"),
        HeaderValue::from(snap.remaining_tokens),
    );
    if let Some(reset) = reset {
        headers.insert(
            HeaderName::from_static("x-ratelimit-reset-requests"),
            reset.clone(),
        );
        headers.insert(HeaderName::from_static("x-ratelimit-reset-tokens"), reset);
    }
}

/// Anthropic `anthropic-ratelimit-*` headers (resets as RFC 3339 instants).
pub(crate) fn anthropic_headers(snap: &RateSnapshot, headers: &mut HeaderMap) {
    let reset_at = SystemTime::now() + snap.reset;
    let reset = HeaderValue::from_str(&rfc3339(reset_at)).ok();
    let groups: [(&'static str, &'static str, &'static str, u64, u64); 4] = [
        (
            "anthropic-ratelimit-requests-limit",
            "anthropic-ratelimit-requests-remaining",
            "anthropic-ratelimit-requests-reset",
            snap.limit_requests,
            snap.remaining_requests,
        ),
        (
            "anthropic-ratelimit-tokens-limit",
            "anthropic-ratelimit-tokens-remaining",
            "anthropic-ratelimit-tokens-reset",
            TOKENS_PER_MINUTE,
            snap.remaining_tokens,
        ),
        (
            "anthropic-ratelimit-input-tokens-limit",
            "anthropic-ratelimit-input-tokens-remaining",
            "anthropic-ratelimit-input-tokens-reset",
            TOKENS_PER_MINUTE,
            snap.remaining_tokens,
        ),
        (
            "anthropic-ratelimit-output-tokens-limit",
            "anthropic-ratelimit-output-tokens-remaining",
            "anthropic-ratelimit-output-tokens-reset",
            TOKENS_PER_MINUTE,
            TOKENS_PER_MINUTE,
        ),
    ];
    for (limit, remaining, reset_name, limit_value, remaining_value) in groups {
        headers.insert(
            HeaderName::from_static(limit),
            HeaderValue::from(limit_value),
        );
        headers.insert(
            HeaderName::from_static(remaining),
            HeaderValue::from(remaining_value),
        );
        if let Some(reset) = &reset {
            headers.insert(HeaderName::from_static(reset_name), reset.clone());
        }
    }
}

/// Go-style duration as OpenAI prints it: `12ms`, `1.5s`, `6m0s`.
pub(crate) fn go_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let secs = d.as_secs();
    let millis = d.subsec_millis();
    let minutes = secs / 60;
    let rest = secs % 60;
    let frac = if millis == 0 {
        String::new()
    } else {
        let digits = format!(".{millis:03}");
        digits.trim_end_matches('0').to_owned()
    };
    if minutes == 0 {
        format!("{rest}{frac}s")
    } else {
        format!("{minutes}m{rest}{frac}s")
    }
}

/// `2025-08-21T12:40:59Z` for a system time (UTC, whole seconds).
pub(crate) fn rfc3339(at: SystemTime) -> String {
    let secs = at
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() + u64::from(d.subsec_nanos() > 0));
    let days = (secs / 86_400) as i64;
    let tod = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        tod / 3600,
        (tod % 3600) / 60,
        tod % 60
    )
}

/// Howard Hinnant's days-to-civil conversion.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_dates() {
        assert_eq!(go_duration(Duration::from_millis(12)), "12ms");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(go_duration(Duration::from_secs(360)), "6m0s");
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(1_755_780_059)),
            "2025-08-21T12:40:59Z"
        );
    }

    #[test]
    fn window_counts_down_and_limits() {
        let entry = ModelEntry::default();
        entry.rpm_limit.store(2, Ordering::Relaxed);
        let a = admit(&entry, 10);
        let b = admit(&entry, 10);
        let c = admit(&entry, 10);
        assert_eq!((a.remaining_requests, b.remaining_requests), (1, 0));
        assert!(!b.limited && c.limited);
        assert!(c.retry_after_secs() >= 1);
    }
}
