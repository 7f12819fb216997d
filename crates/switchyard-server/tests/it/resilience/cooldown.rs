//! Cooldowns: the breaker opens after the configured failures, the deployment stops receiving
//! requests, the admin API shows it, a single probe goes out once the cooldown is over, and
//! the breaker closes when the deployment has recovered.

use std::time::Duration;

use super::support::{chat, deployment_state, scenario, status};
use crate::common::start;

const CONFIG: &str = r#"
routing:
  retry_budget: {ratio: 10, min_per_second: 1000}
models:
  - name: chat
    strategy: ordered
    retry: {attempts: 2, backoff: 1ms, max_backoff: 5ms}
    cooldown: {failures: 3, window: 10s, duration: 300ms}
    deployments:
      - openai/primary-a
      - openai/backup-b
"#;

const PRIMARY: &str = "openai/primary-a";
const BACKUP: &str = "openai/backup-b";
/// Past the 300ms cooldown, with a margin.
const PAST_COOLDOWN: Duration = Duration::from_millis(450);

#[tokio::test]
async fn breaker_opens_probes_and_closes() {
    let h = start(CONFIG).await;
    h.sim
        .set_scenario("primary-a", scenario(vec![status(500)], true));

    // Below the threshold the breaker stays closed and the primary keeps being tried.
    for n in 1..=2 {
        let r = chat(&h, "chat", false).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.deployment(), BACKUP);
        assert_eq!(r.attempts(), 2);
        assert_eq!(h.sim.request_count("primary-a"), n);
    }
    let s = deployment_state(&h, PRIMARY).await;
    assert_eq!(s["breaker"], "closed", "{s}");
    assert_eq!(s["consecutive_failures"], 2, "{s}");

    // The third failure opens it.
    let r = chat(&h, "chat", false).await;
    assert_eq!(r.attempts(), 2);
    let s = deployment_state(&h, PRIMARY).await;
    assert_eq!(s["breaker"], "open", "{s}");
    let remaining = s["cooldown_remaining_s"]
        .as_f64()
        .expect("remaining cooldown");
    assert!(remaining > 0.0 && remaining <= 0.3, "{s}");
    assert_eq!(deployment_state(&h, BACKUP).await["breaker"], "closed");

    // While open, the primary receives nothing and the backup answers at the first attempt.
    for _ in 0..10 {
        let r = chat(&h, "chat", false).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.deployment(), BACKUP);
        assert_eq!(r.attempts(), 1);
        assert!(r.attempt_errors().is_empty());
    }
    assert_eq!(h.sim.request_count("primary-a"), 3);

    // After the cooldown exactly one request probes it; still failing, it reopens.
    tokio::time::sleep(PAST_COOLDOWN).await;
    let r = chat(&h, "chat", false).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.attempts(), 2, "the probe was tried first");
    assert_eq!(
        r.attempt_errors(),
        vec!["openai/primary-a:server_error:500"]
    );
    assert_eq!(h.sim.request_count("primary-a"), 4);
    for _ in 0..5 {
        assert_eq!(chat(&h, "chat", false).await.deployment(), BACKUP);
    }
    assert_eq!(
        h.sim.request_count("primary-a"),
        4,
        "reopened after the failed probe"
    );
    assert_eq!(deployment_state(&h, PRIMARY).await["breaker"], "open");

    // The primary recovers: the next probe succeeds and closes the breaker.
    h.sim.clear_scenarios();
    tokio::time::sleep(PAST_COOLDOWN).await;
    let r = chat(&h, "chat", false).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.deployment(), PRIMARY);
    assert_eq!(r.attempts(), 1);
    let s = deployment_state(&h, PRIMARY).await;
    assert_eq!(s["breaker"], "closed", "{s}");
    assert_eq!(s["consecutive_failures"], 0, "{s}");
    for _ in 0..5 {
        assert_eq!(chat(&h, "chat", false).await.deployment(), PRIMARY);
    }
    assert_eq!(h.sim.request_count("primary-a"), 10);
}

#[tokio::test]
async fn client_errors_never_open_the_breaker() {
    let h = start(CONFIG).await;
    h.sim
        .set_scenario("primary-a", scenario(vec![status(400)], true));
    for _ in 0..6 {
        let r = chat(&h, "chat", false).await;
        assert_eq!(r.status, 400, "{}", r.body);
    }
    assert_eq!(h.sim.request_count("primary-a"), 6);
    assert_eq!(h.sim.request_count("backup-b"), 0);
    let s = deployment_state(&h, PRIMARY).await;
    assert_eq!(s["breaker"], "closed", "{s}");
}
