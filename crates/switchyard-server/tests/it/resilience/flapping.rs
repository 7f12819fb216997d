//! A primary that flaps between 500s, 429s with Retry-After and silence: the client sees no
//! error, and the attempt headers of every response say exactly what happened upstream.

use std::time::Duration;

use switchyard_sim::Fault;

use super::support::{chat, scenario, status, Reply};
use crate::common::{start, Harness};

const CONFIG: &str = r#"
routing:
  retry_budget: {ratio: 10, min_per_second: 1000}
models:
  - name: chat
    strategy: ordered
    timeouts: {first_byte: 300ms}
    retry: {attempts: 3, backoff: 2ms, max_backoff: 10ms}
    cooldown: {failures: 3, window: 60s, duration: 200ms}
    deployments:
      - openai/primary-a
      - openai/backup-b
"#;

const PRIMARY: &str = "openai/primary-a";
const BACKUP: &str = "openai/backup-b";

/// The primary's cycle, and the attempt-error entry each failing step must produce.
fn steps() -> Vec<(Fault, Option<&'static str>)> {
    vec![
        (status(500), Some("openai/primary-a:server_error:500")),
        (Fault::Ok, None),
        (Fault::Hang, Some("openai/primary-a:timeout")),
        (Fault::Ok, None),
        (
            Fault::Status {
                code: 429,
                retry_after_secs: Some(1),
            },
            Some("openai/primary-a:rate_limited:429"),
        ),
        (Fault::Ok, None),
    ]
}

async fn flap(stream: bool) {
    let h: Harness = start(CONFIG).await;
    let cycle = steps();
    h.sim.set_scenario(
        "primary-a",
        scenario(cycle.iter().map(|(f, _)| f.clone()).collect(), true),
    );
    let mut seen_classes = std::collections::BTreeSet::new();
    for i in 0..200 {
        let before = h.sim.request_count("primary-a");
        let backup_before = h.sim.request_count("backup-b");
        let r: Reply = chat(&h, "chat", stream).await;
        let after = h.sim.request_count("primary-a");
        let backup_after = h.sim.request_count("backup-b");
        assert_eq!(r.status, 200, "request {i}: {}", r.body);
        if stream {
            r.assert_complete_stream();
        } else {
            assert!(r.json()["choices"][0]["message"]["content"].is_string());
        }
        match after - before {
            0 => {
                // The primary was cooling down (after a Retry-After): not tried at all.
                assert_eq!(r.attempts(), 1, "request {i}");
                assert_eq!(r.deployment(), BACKUP, "request {i}");
                assert!(r.attempt_errors().is_empty(), "request {i}");
            }
            1 => {
                let step = usize::try_from(before).unwrap() % cycle.len();
                match cycle[step].1 {
                    None => {
                        assert_eq!(r.attempts(), 1, "request {i} (step {step})");
                        assert_eq!(r.deployment(), PRIMARY, "request {i}");
                        assert!(r.attempt_errors().is_empty(), "request {i}");
                        assert_eq!(backup_after, backup_before, "request {i}");
                    }
                    Some(entry) => {
                        assert_eq!(r.attempts(), 2, "request {i} (step {step})");
                        assert_eq!(r.deployment(), BACKUP, "request {i}");
                        assert_eq!(r.attempt_errors(), vec![entry.to_owned()], "request {i}");
                        assert_eq!(backup_after, backup_before + 1, "request {i}");
                        seen_classes.insert(entry);
                    }
                }
            }
            n => panic!("request {i}: the primary was tried {n} times"),
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Every kind of failure was exercised, and the primary came back after each cooldown.
    assert_eq!(seen_classes.len(), 3, "{seen_classes:?}");
    assert!(
        h.sim.request_count("primary-a") > cycle.len() as u64,
        "the primary served again after its Retry-After cooldown"
    );
}

#[tokio::test]
async fn flapping_primary_is_invisible_to_clients() {
    flap(false).await;
}

#[tokio::test]
async fn flapping_primary_is_invisible_to_streaming_clients() {
    flap(true).await;
}
