//! Deadlines: a silent upstream is abandoned at the first-byte deadline, and a request's total
//! deadline bounds all its attempts together (timeouts never add up).

use std::time::Duration;

use switchyard_sim::Fault;

use super::support::{body, chat, scenario, send};
use crate::common::start;

const FIRST_BYTE: Duration = Duration::from_millis(300);
/// Scheduling slack on a loaded test machine.
const MARGIN: Duration = Duration::from_millis(700);

async fn silent_primary(stream: bool) {
    let h = start(
        r#"
models:
  - name: chat
    strategy: ordered
    timeouts: {first_byte: 300ms}
    deployments:
      - openai/silent-a
      - openai/backup-b
"#,
    )
    .await;
    h.sim
        .set_scenario("silent-a", scenario(vec![Fault::Hang], true));
    let r = chat(&h, "chat", stream).await;
    assert_eq!(r.status, 200, "{}", r.body);
    if stream {
        r.assert_complete_stream();
    }
    assert_eq!(r.deployment(), "openai/backup-b");
    assert_eq!(r.attempt_errors(), vec!["openai/silent-a:timeout"]);
    assert!(
        r.elapsed >= FIRST_BYTE && r.elapsed < FIRST_BYTE + MARGIN,
        "reached the backup after {:?}",
        r.elapsed
    );
}

#[tokio::test]
async fn a_silent_upstream_is_left_at_the_first_byte_deadline() {
    silent_primary(false).await;
}

#[tokio::test]
async fn a_silent_upstream_is_left_at_the_first_byte_deadline_when_streaming() {
    silent_primary(true).await;
}

/// Three hanging deployments and a hanging fallback, each with an 800ms first-byte deadline:
/// added up that would be over 3s of attempts.
const ALL_HANGING: &str = r#"
routing:
  retry_budget: {ratio: 10, min_per_second: 1000}
models:
  - name: chat
    strategy: ordered
    timeouts: {first_byte: 800ms}
    retry: {attempts: 4, backoff: 1ms, max_backoff: 5ms}
    deployments:
      - openai/hang-a
      - openai/hang-b
      - openai/hang-c
    fallbacks:
      - model: spare
  - name: spare
    timeouts: {first_byte: 800ms}
    deployments: [openai/hang-d]
"#;

const TOTAL: Duration = Duration::from_secs(1);

fn hang_everything(h: &crate::common::Harness) {
    for m in ["hang-a", "hang-b", "hang-c", "hang-d"] {
        h.sim.set_scenario(m, scenario(vec![Fault::Hang], true));
    }
}

async fn total_deadline_from_header(stream: bool) {
    let h = start(ALL_HANGING).await;
    hang_everything(&h);
    let r = send(
        &h,
        body("chat", "hello", stream),
        &[("x-switchyard-timeout", "1s")],
    )
    .await;
    assert_eq!(r.status, 504, "{}", r.body);
    assert_eq!(r.header("x-switchyard-error"), Some("upstream_timeout"));
    assert!(
        r.elapsed >= TOTAL - Duration::from_millis(50) && r.elapsed < TOTAL + MARGIN,
        "gave up after {:?}",
        r.elapsed
    );
    assert_eq!(h.sim.request_count("hang-a"), 1);
    assert_eq!(
        h.sim.request_count("hang-b"),
        1,
        "the second attempt got what was left"
    );
    assert_eq!(h.sim.request_count("hang-c"), 0);
    assert_eq!(h.sim.request_count("hang-d"), 0);
}

#[tokio::test]
async fn the_total_deadline_bounds_all_attempts() {
    total_deadline_from_header(false).await;
}

#[tokio::test]
async fn the_total_deadline_bounds_all_attempts_when_streaming() {
    total_deadline_from_header(true).await;
}

#[tokio::test]
async fn the_configured_total_deadline_bounds_all_attempts() {
    let h = start(&ALL_HANGING.replace(
        "timeouts: {first_byte: 800ms}\n    retry",
        "timeouts: {first_byte: 800ms, total: 1s}\n    retry",
    ))
    .await;
    hang_everything(&h);
    let r = chat(&h, "chat", false).await;
    assert_eq!(r.status, 504, "{}", r.body);
    assert!(r.elapsed < TOTAL + MARGIN, "gave up after {:?}", r.elapsed);
}
