//! The retry budget: once spent, a failure is returned instead of being retried elsewhere, so
//! an outage cannot turn into a retry storm.

use super::support::{chat, scenario, status};
use crate::common::start;

#[tokio::test]
async fn a_spent_retry_budget_stops_retries() {
    // No ratio and no refill: only the bucket's initial burst of 10 retries.
    let h = start(
        r#"
routing:
  retry_budget: {ratio: 0, min_per_second: 0}
models:
  - name: chat
    strategy: ordered
    retry: {attempts: 3, backoff: 1ms, max_backoff: 5ms}
    cooldown: {failures: 1000, window: 60s, duration: 1s}
    deployments:
      - openai/primary-a
      - openai/backup-b
"#,
    )
    .await;
    h.sim
        .set_scenario("primary-a", scenario(vec![status(500)], true));
    let mut retried = 0;
    let mut refused = 0;
    for _ in 0..20 {
        let r = chat(&h, "chat", false).await;
        match r.status {
            200 => {
                assert_eq!(r.attempts(), 2);
                assert_eq!(r.deployment(), "openai/backup-b");
                retried += 1;
            }
            502 => {
                assert_eq!(r.attempts(), 1, "no retry without budget");
                assert_eq!(
                    r.attempt_errors(),
                    vec!["openai/primary-a:server_error:500"]
                );
                refused += 1;
            }
            s => panic!("unexpected {s}: {}", r.body),
        }
    }
    assert_eq!((retried, refused), (10, 10));
    assert_eq!(h.sim.request_count("primary-a"), 20);
    assert_eq!(h.sim.request_count("backup-b"), 10);
}
