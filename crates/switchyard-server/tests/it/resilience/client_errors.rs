//! A client's own error is returned at once: no retry, no other deployment, no fallback. And
//! fallbacks fire only on the error classes listed in their `on`.

use super::support::{chat, scenario, status};
use crate::common::start;

const CONFIG: &str = r#"
routing:
  retry_budget: {ratio: 10, min_per_second: 1000}
models:
  - name: chat
    strategy: ordered
    retry: {attempts: 3, backoff: 1ms, max_backoff: 5ms}
    deployments:
      - openai/primary-a
      - openai/backup-b
    fallbacks:
      - model: spare
  - name: spare
    deployments: [anthropic/spare-c]
"#;

async fn client_400_is_final(stream: bool) {
    let h = start(CONFIG).await;
    h.sim
        .set_scenario("primary-a", scenario(vec![status(400)], true));
    let r = chat(&h, "chat", stream).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(
        r.json()["error"]["code"],
        "upstream_bad_request",
        "{}",
        r.body
    );
    assert_eq!(r.attempts(), 1);
    assert_eq!(r.attempt_errors(), vec!["openai/primary-a:bad_request:400"]);
    assert_eq!(h.sim.request_count("primary-a"), 1);
    assert_eq!(h.sim.request_count("backup-b"), 0, "no other deployment");
    assert_eq!(h.sim.request_count("spare-c"), 0, "no fallback");
}

#[tokio::test]
async fn a_client_400_is_returned_at_once() {
    client_400_is_final(false).await;
}

#[tokio::test]
async fn a_client_400_is_returned_at_once_when_streaming() {
    client_400_is_final(true).await;
}

#[tokio::test]
async fn fallbacks_fire_only_on_their_error_classes() {
    let h = start(
        r#"
routing:
  retry_budget: {ratio: 10, min_per_second: 1000}
models:
  - name: chat
    retry: {attempts: 1}
    deployments: [openai/primary-a]
    fallbacks:
      - {model: on-timeout, on: [timeout]}
      - {model: on-5xx, on: [server_error]}
  - name: on-timeout
    deployments: [openai/timeout-b]
  - name: on-5xx
    deployments: [openai/fivexx-c]
"#,
    )
    .await;
    h.sim
        .set_scenario("primary-a", scenario(vec![status(500), status(429)], false));
    let r = chat(&h, "chat", false).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("x-switchyard-group"), Some("on-5xx"));
    assert_eq!(r.attempts(), 2);
    assert_eq!(h.sim.request_count("timeout-b"), 0);
    // A 429 matches neither fallback: the client gets the rate limit.
    let r = chat(&h, "chat", false).await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(r.attempts(), 1);
    assert_eq!(h.sim.request_count("timeout-b"), 0);
    assert_eq!(h.sim.request_count("fivexx-c"), 1);
}

/// Fallbacks that point back at each other (`a` → `b` → `a`, and `a` → `a`) try each group
/// once: the request ends with the last group's error, not in a loop.
#[tokio::test]
async fn fallbacks_in_a_cycle_try_each_group_once() {
    let h = start(
        r#"
routing:
  retry_budget: {ratio: 10, min_per_second: 1000}
models:
  - name: a
    retry: {attempts: 1}
    deployments: [openai/cycle-a]
    fallbacks: [{model: b}, {model: a}]
  - name: b
    retry: {attempts: 1}
    deployments: [openai/cycle-b]
    fallbacks: [{model: a}, {model: b}]
"#,
    )
    .await;
    h.sim
        .set_scenario("cycle-a", scenario(vec![status(500)], true));
    h.sim
        .set_scenario("cycle-b", scenario(vec![status(503)], true));
    let r = chat(&h, "a", false).await;
    assert_eq!(r.status, 502, "{}", r.body);
    assert!(
        r.body.contains("openai/cycle-b"),
        "the last group's error: {}",
        r.body
    );
    assert_eq!(r.attempts(), 2, "{}", r.body);
    assert_eq!(h.sim.request_count("cycle-a"), 1);
    assert_eq!(h.sim.request_count("cycle-b"), 1);
}
