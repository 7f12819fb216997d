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

/// A 504 `upstream_timeout` given up at the total deadline, not before it nor much after.
fn assert_cut_at_total(r: &super::support::Reply) {
    assert_eq!(r.status, 504, "{}", r.body);
    assert_eq!(r.header("x-switchyard-error"), Some("upstream_timeout"));
    assert!(
        r.elapsed >= TOTAL - Duration::from_millis(50) && r.elapsed < TOTAL + MARGIN,
        "gave up after {:?}",
        r.elapsed
    );
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
    assert_cut_at_total(&r);
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

/// An upstream that answers every request with a `200` head and the first bytes of a longer
/// body, then goes silent with the connection open.
async fn stalled_body_upstream() -> std::net::SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            tokio::spawn(async move {
                if !crate::common::read_small_request(&mut conn).await {
                    return;
                }
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 400\r\n\r\n{\"id\":\"c1\",";
                let _ = conn.write_all(head.as_bytes()).await;
                // Silent until the gateway lets go.
                let _ = conn.read(&mut [0u8; 64]).await;
            });
        }
    });
    addr
}

/// A reply whose head arrives in time but whose body stops halfway is cut at the request's
/// total deadline (the body's timer is only set when the body is not there with the head).
#[tokio::test]
async fn a_body_that_stops_halfway_is_cut_at_the_total_deadline() {
    let upstream = stalled_body_upstream().await;
    let yaml = format!(
        "version: 1\nproviders:\n  - {{ name: slow, kind: openai, base_url: \"http://{upstream}/v1\", api_key: sk-x }}\nmodels:\n  - name: chat\n    timeouts: {{first_byte: 300ms, total: 1s}}\n    retry: {{attempts: 1}}\n    deployments: [slow/gpt-x]\n"
    );
    let h = crate::common::start_with(&yaml, Default::default()).await;
    let r = chat(&h, "chat", false).await;
    assert_cut_at_total(&r);
}
