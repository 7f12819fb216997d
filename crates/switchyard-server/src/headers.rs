//! Transparency headers: every response says who served it, how many attempts it took and
//! why the earlier ones failed, how long the upstream took and what the gateway added.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::LazyLock;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use switchyard_core::report::{AttemptRecord, Served};

/// Request id (echoed from the client's `x-request-id` when it sends a sane one).
pub(crate) const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// Provider name that served the request.
pub(crate) const PROVIDER: HeaderName = HeaderName::from_static("x-switchyard-provider");
/// Deployment id that served it.
pub(crate) const DEPLOYMENT: HeaderName = HeaderName::from_static("x-switchyard-deployment");
/// Upstream model that served it.
pub(crate) const MODEL: HeaderName = HeaderName::from_static("x-switchyard-model");
/// Model group (public name) that served it.
pub(crate) const GROUP: HeaderName = HeaderName::from_static("x-switchyard-group");
/// Routing rule that chose the group.
pub(crate) const RULE: HeaderName = HeaderName::from_static("x-switchyard-rule");
/// Attempts made, the successful one included.
pub(crate) const ATTEMPTS: HeaderName = HeaderName::from_static("x-switchyard-attempts");
/// Failed attempts: `deployment:class[:status]`, comma-separated, in order.
pub(crate) const ATTEMPT_ERRORS: HeaderName =
    HeaderName::from_static("x-switchyard-attempt-errors");
/// Upstream time of the winning attempt, ms (to first event for streams).
pub(crate) const UPSTREAM_MS: HeaderName =
    HeaderName::from_static("x-switchyard-upstream-latency-ms");
/// Gateway's own time, µs: total minus time spent waiting on upstreams.
pub(crate) const OVERHEAD_US: HeaderName = HeaderName::from_static("x-switchyard-overhead-us");
/// Parameters dropped because the provider does not support them.
pub(crate) const DROPPED: HeaderName = HeaderName::from_static("x-switchyard-dropped-params");
/// The winning attempt was a hedge.
pub(crate) const HEDGED: HeaderName = HeaderName::from_static("x-switchyard-hedged");
/// Error code label on error responses.
pub(crate) const ERROR_CODE: HeaderName = HeaderName::from_static("x-switchyard-error");

/// The client's `x-request-id` when it is short and printable: the id echoed back.
pub(crate) fn client_request_id(headers: &HeaderMap) -> Option<&HeaderValue> {
    headers.get(REQUEST_ID).filter(|v| {
        let b = v.as_bytes();
        !b.is_empty() && b.len() <= 128 && b.iter().all(u8::is_ascii_graphic)
    })
}

static PREFIX: LazyLock<u32> = LazyLock::new(|| {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() ^ (d.as_secs() as u32));
    t ^ std::process::id().rotate_left(16)
});
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A new request id, `req_` + 8 hex digits of a per-process prefix + 12 of a counter: cheap
/// (one allocation, no formatting), unique per process run.
pub(crate) fn new_request_id() -> HeaderValue {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let prefix = u64::from(*PREFIX);
    let mut out = *b"req_00000000000000000000";
    for (i, shift) in (0..8).rev().enumerate() {
        out[4 + i] = HEX[((prefix >> (shift * 4)) & 0xf) as usize];
    }
    for (i, shift) in (0..12).rev().enumerate() {
        out[12 + i] = HEX[((n >> (shift * 4)) & 0xf) as usize];
    }
    HeaderValue::from_bytes(&out).unwrap_or_else(|_| HeaderValue::from_static("req_"))
}

/// `n` as a header value: one allocation (`HeaderValue::from(u64)` makes two).
fn number(n: u64) -> HeaderValue {
    let mut digits = itoa::Buffer::new();
    HeaderValue::from_str(digits.format(n)).unwrap_or_else(|_| HeaderValue::from_static("0"))
}

/// `us` microseconds as milliseconds with three decimals (`12.345`), without float or
/// `format!` machinery.
fn millis(us: u128) -> HeaderValue {
    let (buf, n) = millis_text(us);
    HeaderValue::from_bytes(&buf[..n]).unwrap_or_else(|_| HeaderValue::from_static("0.000"))
}

/// The text of [`millis`]: a buffer and how much of it is written.
fn millis_text(us: u128) -> ([u8; 48], usize) {
    let mut digits = itoa::Buffer::new();
    let whole = digits.format(us / 1000).as_bytes();
    let frac = u16::try_from(us % 1000).unwrap_or(0);
    let mut buf = [0u8; 48];
    buf[..whole.len()].copy_from_slice(whole);
    let n = whole.len();
    buf[n] = b'.';
    buf[n + 1] = b'0' + (frac / 100) as u8;
    buf[n + 2] = b'0' + (frac / 10 % 10) as u8;
    buf[n + 3] = b'0' + (frac % 10) as u8;
    (buf, n + 4)
}

fn set(h: &mut HeaderMap, name: HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        h.insert(name, v);
    }
}

/// Writes the attempt headers.
pub(crate) fn attempts(h: &mut HeaderMap, total: usize, failed: &[AttemptRecord]) {
    // Almost always 1: a static value, not an allocation per response.
    const SMALL: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
    let value = SMALL
        .get(total)
        .map_or_else(|| HeaderValue::from(total), |s| HeaderValue::from_static(s));
    h.insert(ATTEMPTS, value);
    if !failed.is_empty() {
        let list: Vec<String> = failed.iter().map(AttemptRecord::header_form).collect();
        set(h, ATTEMPT_ERRORS, &list.join(", "));
    }
}

/// How many headers [`served`] writes for `s`, so a reply's map can be sized exactly.
pub(crate) fn served_count(s: &Served) -> usize {
    7 + usize::from(s.rule.is_some())
        + usize::from(!s.failed.is_empty())
        + usize::from(!s.dropped_params.is_empty())
        + usize::from(s.hedged)
}

/// Writes every transparency header for a served request.
pub(crate) fn served(h: &mut HeaderMap, s: &Served, gateway_total: Duration) {
    let labels = &s.deployment.labels;
    h.insert(PROVIDER, labels.provider.clone());
    h.insert(DEPLOYMENT, labels.id.clone());
    h.insert(MODEL, labels.model.clone());
    h.insert(GROUP, s.group.label.clone());
    if let Some(rule) = &s.rule {
        set(h, RULE, rule);
    }
    attempts(h, s.attempts(), &s.failed);
    // Milliseconds with microsecond precision, written without float formatting.
    h.insert(UPSTREAM_MS, millis(s.upstream_latency.as_micros()));
    let overhead = gateway_total.saturating_sub(s.upstream_total);
    h.insert(
        OVERHEAD_US,
        number(u64::try_from(overhead.as_micros()).unwrap_or(u64::MAX)),
    );
    if !s.dropped_params.is_empty() {
        set(h, DROPPED, &s.dropped_params.join(","));
    }
    if s.hedged {
        h.insert(HEDGED, HeaderValue::from_static("true"));
    }
}

/// A served request's transparency headers, carried on a response (as an extension) until its
/// head is written: the connection loop writes them straight into the head
/// ([`write_served`]), every other path turns them into headers first ([`materialize`]).
/// Writing them once as bytes costs a sixth of building them into the header map.
#[derive(Debug, Clone)]
pub(crate) struct Transparency {
    pub(crate) served: Served,
    /// When the gateway received the request: the overhead is measured up to the head.
    pub(crate) started: tokio::time::Instant,
}

/// Moves a response's [`Transparency`] into its headers.
pub(crate) fn materialize(response: &mut axum::response::Response) {
    if let Some(t) = response.extensions_mut().remove::<Transparency>() {
        let h = response.headers_mut();
        h.reserve(served_count(&t.served));
        served(h, &t.served, t.started.elapsed());
    }
}

/// The same headers as [`served`], appended to a response head as `name: value` lines. The
/// lines naming the deployment and the group are rendered once per snapshot (the values are
/// `HeaderValue`s already, so valid) and copied whole.
pub(crate) fn write_served(out: &mut Vec<u8>, s: &Served, gateway_total: Duration) {
    let labels = &s.deployment.labels;
    out.extend_from_slice(labels.rendered.get_or_init(|| {
        let mut b = Vec::with_capacity(96);
        line(&mut b, &PROVIDER, labels.provider.as_bytes());
        line(&mut b, &DEPLOYMENT, labels.id.as_bytes());
        line(&mut b, &MODEL, labels.model.as_bytes());
        b.into_boxed_slice()
    }));
    out.extend_from_slice(s.group.rendered.get_or_init(|| {
        let mut b = Vec::with_capacity(48);
        line(&mut b, &GROUP, s.group.label.as_bytes());
        b.into_boxed_slice()
    }));
    if let Some(rule) = &s.rule {
        line(out, &RULE, rule.as_bytes());
    }
    let total = s.attempts();
    line(out, &ATTEMPTS, itoa::Buffer::new().format(total).as_bytes());
    if !s.failed.is_empty() {
        let list: Vec<String> = s.failed.iter().map(AttemptRecord::header_form).collect();
        line(out, &ATTEMPT_ERRORS, list.join(", ").as_bytes());
    }
    let (ms, n) = millis_text(s.upstream_latency.as_micros());
    line(out, &UPSTREAM_MS, &ms[..n]);
    let overhead = gateway_total.saturating_sub(s.upstream_total);
    let overhead = u64::try_from(overhead.as_micros()).unwrap_or(u64::MAX);
    line(
        out,
        &OVERHEAD_US,
        itoa::Buffer::new().format(overhead).as_bytes(),
    );
    if !s.dropped_params.is_empty() {
        line(out, &DROPPED, s.dropped_params.join(",").as_bytes());
    }
    if s.hedged {
        line(out, &HEDGED, b"true");
    }
}

/// Appends `name: value\r\n` when `HeaderValue` would accept `value` (`served` skips a value it
/// refuses).
fn line(out: &mut Vec<u8>, name: &HeaderName, value: &[u8]) {
    if value
        .iter()
        .all(|&b| (b >= 0x20 && b != 0x7f) || b == b'\t')
    {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::{millis, new_request_id, number};

    /// The lines written into a head are the headers `served` puts in a map, for a plain
    /// request and one with every optional header (a rule, failed attempts, dropped
    /// parameters, a hedge, a value `HeaderValue` refuses).
    #[test]
    fn written_lines_are_the_served_headers() {
        use std::collections::HashMap;
        use std::time::Duration;

        use switchyard_core::report::{AttemptRecord, Served};

        let yaml = "providers:\n  - { name: openai, kind: openai, api_key: sk-test }\n\
                    models:\n  - name: chat\n    deployments: [openai/gpt-4o-mini]\n";
        let config = switchyard_config::load_str(yaml, &HashMap::new()).expect("config");
        let engine = switchyard_core::Engine::new(config).expect("engine");
        let group = engine.snapshot().resolve("chat").expect("group");
        let plain = Served {
            deployment: std::sync::Arc::clone(&group.deployments[0]),
            group,
            rule: None,
            failed: Vec::new(),
            upstream_latency: Duration::from_micros(12_345),
            upstream_total: Duration::from_micros(20_000),
            dropped_params: Vec::new(),
            hedged: false,
        };
        let failed = vec![
            AttemptRecord {
                deployment: "openai/gpt-4o".into(),
                provider: "openai".into(),
                class: switchyard_providers::ErrorClass::RateLimited,
                status: Some(429),
                elapsed: Duration::from_millis(3),
            },
            AttemptRecord {
                deployment: "anthropic/claude".into(),
                provider: "anthropic".into(),
                class: switchyard_providers::ErrorClass::Timeout,
                status: None,
                elapsed: Duration::from_millis(9),
            },
        ];
        let mut full = plain.clone();
        full.rule = Some("long-prompts".into());
        full.failed = failed;
        full.dropped_params = vec!["logit_bias".into(), "seed".into()];
        full.hedged = true;
        let mut bad = plain.clone();
        bad.rule = Some("tab\there, bell\x07".into());
        // One deployment and group for all three: the second and third copy the lines rendered
        // for the first.
        for s in [plain, full, bad] {
            let total = Duration::from_micros(25_000);
            let mut map = axum::http::HeaderMap::new();
            super::served(&mut map, &s, total);
            let mut want: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{k}: {}", String::from_utf8_lossy(v.as_bytes())))
                .collect();
            want.sort();
            let mut out = Vec::new();
            super::write_served(&mut out, &s, total);
            let text = String::from_utf8(out).expect("ascii");
            let mut got: Vec<String> = text.split_terminator("\r\n").map(str::to_owned).collect();
            got.sort();
            assert_eq!(got, want);
        }
    }

    #[test]
    fn request_ids_are_unique_and_well_formed() {
        let a = new_request_id();
        let b = new_request_id();
        assert_ne!(a, b);
        let a = a.to_str().expect("ascii");
        assert_eq!(a.len(), 24);
        assert!(a.starts_with("req_"));
        assert!(a[4..].bytes().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn numbers_and_millis_read_as_written() {
        assert_eq!(number(0), "0");
        assert_eq!(number(u64::MAX), "18446744073709551615");
        assert_eq!(millis(0), "0.000");
        assert_eq!(millis(7), "0.007");
        assert_eq!(millis(12_345), "12.345");
        assert_eq!(millis(1_000_050), "1000.050");
        assert_eq!(
            millis(u128::MAX),
            "340282366920938463463374607431768211.455"
        );
    }
}
