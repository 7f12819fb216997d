//! Hedging: when the first deployment has not answered after `hedge.after`, the next one races
//! it; the first answer wins and the slower one is discarded.

use std::time::Duration;

use switchyard_sim::Fault;

use super::support::{chat, scenario};
use crate::common::start;

const CONFIG: &str = r#"
models:
  - name: chat
    strategy: ordered
    hedge: {after: 50ms}
    deployments:
      - openai/slow-a
      - openai/fast-b
"#;

async fn hedge_wins(stream: bool) {
    let h = start(CONFIG).await;
    h.sim.set_scenario(
        "slow-a",
        scenario(vec![Fault::Latency(Duration::from_millis(500))], true),
    );
    let r = chat(&h, "chat", stream).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("x-switchyard-hedged"), Some("true"));
    assert_eq!(r.deployment(), "openai/fast-b");
    assert!(
        r.elapsed < Duration::from_millis(400),
        "answered in {:?}, the slow deployment takes 500ms",
        r.elapsed
    );
    // One answer, and it is the fast deployment's; the slow one was asked and dropped.
    if stream {
        r.assert_complete_stream();
        for d in r.sse_data().iter().filter(|d| *d != "[DONE]") {
            let v: serde_json::Value = serde_json::from_str(d).expect("chunk");
            assert_eq!(v["model"], "fast-b", "{d}");
        }
    } else {
        assert_eq!(r.json()["model"], "fast-b");
    }
    assert_eq!(h.sim.request_count("slow-a"), 1);
    assert_eq!(h.sim.request_count("fast-b"), 1);
}

#[tokio::test]
async fn a_hedge_answers_for_a_slow_deployment() {
    hedge_wins(false).await;
}

#[tokio::test]
async fn a_hedge_answers_for_a_slow_deployment_when_streaming() {
    hedge_wins(true).await;
}

#[tokio::test]
async fn no_hedge_when_the_first_deployment_answers_in_time() {
    let h = start(CONFIG).await;
    for _ in 0..5 {
        let r = chat(&h, "chat", false).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.deployment(), "openai/slow-a");
        assert_eq!(r.header("x-switchyard-hedged"), None);
    }
    assert_eq!(h.sim.request_count("fast-b"), 0);
}
