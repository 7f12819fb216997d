//! Each strategy distributes load as documented, counted at the simulator.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::{stream, StreamExt};
use switchyard_sim::Fault;

use super::support::{chat, deployment_state, scenario, Reply};
use crate::common::{start, Harness};

fn group(strategy: &str, deployments: &str) -> String {
    format!(
        r#"
models:
  - name: chat
    strategy: {strategy}
    retry: {{attempts: 2, backoff: 1ms, max_backoff: 5ms}}
    deployments:
{deployments}
"#
    )
}

/// `n` requests, `concurrency` at a time.
async fn many(h: &Harness, n: usize, concurrency: usize) -> Vec<Reply> {
    stream::iter(0..n)
        .map(|_| chat(h, "chat", false))
        .buffer_unordered(concurrency)
        .collect()
        .await
}

fn by_deployment(replies: &[Reply]) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for r in replies {
        assert_eq!(r.status, 200, "{}", r.body);
        *out.entry(r.deployment().to_owned()).or_default() += 1;
    }
    out
}

#[tokio::test]
async fn weighted_follows_the_weights() {
    let h = start(&group(
        "weighted",
        "      - {provider: openai, model: heavy-a, weight: 3}\n      - {provider: openai, model: light-b, weight: 1}",
    ))
    .await;
    let replies = many(&h, 400, 16).await;
    by_deployment(&replies);
    let heavy = h.sim.request_count("heavy-a");
    let light = h.sim.request_count("light-b");
    assert_eq!(heavy + light, 400);
    // Expected 300 : 100; the standard deviation is about 9, so ±45 is over 5 sigma.
    assert!((255..=345).contains(&heavy), "heavy {heavy}, light {light}");
}

#[tokio::test]
async fn round_robin_takes_turns() {
    let h = start(&group(
        "round_robin",
        "      - openai/rr-a\n      - openai/rr-b\n      - openai/rr-c",
    ))
    .await;
    let mut order = Vec::new();
    for _ in 0..9 {
        let r = chat(&h, "chat", false).await;
        assert_eq!(r.status, 200);
        order.push(r.deployment().to_owned());
    }
    for (i, d) in order.iter().enumerate() {
        assert_eq!(d, &order[i % 3], "turns repeat every 3: {order:?}");
    }
    let mut first = order[..3].to_vec();
    first.sort();
    first.dedup();
    assert_eq!(first.len(), 3, "each deployment once per turn: {order:?}");
    // Concurrent requests still split exactly evenly.
    many(&h, 300, 16).await;
    for m in ["rr-a", "rr-b", "rr-c"] {
        assert_eq!(h.sim.request_count(m), 3 + 100, "{m}");
    }
}

async fn least_latency(stream: bool) {
    // The slow one is listed first, so the test proves the strategy moves away from it.
    let h = start(&group(
        "least_latency",
        "      - openai/slow-a\n      - openai/fast-b",
    ))
    .await;
    h.sim.set_scenario(
        "slow-a",
        scenario(vec![Fault::Latency(Duration::from_millis(80))], true),
    );
    let mut order = Vec::new();
    for _ in 0..40 {
        let r = chat(&h, "chat", stream).await;
        assert_eq!(r.status, 200);
        order.push(r.deployment().to_owned());
    }
    let slow_late = order[10..].iter().filter(|d| *d == "openai/slow-a").count();
    // Only exploration (5% of decisions, half of them landing on the slow one) goes there.
    assert!(slow_late <= 6, "{order:?}");
    assert!(
        h.sim.request_count("slow-a") >= 1,
        "both were measured: {order:?}"
    );
    // The ranking the next request would get, and the measurement behind it: total latency,
    // or time to first token for streams.
    let e: serde_json::Value = h
        .client
        .post(h.url("/v1/route/explain"))
        .json(&super::support::body("chat", "hello there", stream))
        .send()
        .await
        .expect("explain")
        .json()
        .await
        .expect("explain json");
    let last = &e["candidates"][1];
    assert_eq!(last["deployment"], "openai/slow-a", "{e}");
    assert!(
        last["latency_ms"].as_f64().expect("measured") >= 80.0,
        "{e}"
    );
    let measure = if stream { "ttft" } else { "latency" };
    assert!(last["reason"].as_str().unwrap().starts_with(measure), "{e}");
}

#[tokio::test]
async fn least_latency_moves_to_the_faster_deployment() {
    least_latency(false).await;
}

/// Streams rank by time to first token: the slow deployment delays its first event.
#[tokio::test]
async fn least_latency_moves_to_the_faster_deployment_when_streaming() {
    least_latency(true).await;
}

#[tokio::test]
async fn lowest_cost_picks_the_cheapest() {
    let h = start(&group(
        "lowest_cost",
        "      - {provider: openai, model: pricey-a, price: {input_per_mtok: 10, output_per_mtok: 30}}\n      - {provider: openai, model: cheap-b, price: {input_per_mtok: 0.1, output_per_mtok: 0.4}}\n      - {provider: openai, model: middle-c, price: {input_per_mtok: 1, output_per_mtok: 2}}",
    ))
    .await;
    let replies = many(&h, 30, 4).await;
    assert_eq!(by_deployment(&replies).get("openai/cheap-b"), Some(&30));
    assert_eq!(h.sim.request_count("pricey-a"), 0);
    assert_eq!(h.sim.request_count("middle-c"), 0);
}

#[tokio::test]
async fn least_busy_avoids_the_deployment_with_requests_in_flight() {
    let h = start(&group(
        "least_busy",
        "      - openai/busy-a\n      - openai/idle-b",
    ))
    .await;
    // The first request holds busy-a for a while (both idle: the first listed wins the tie).
    h.sim.set_scenario(
        "busy-a",
        scenario(vec![Fault::Latency(Duration::from_millis(800))], false),
    );
    let held = {
        let client = h.client.clone();
        let url = h.url("/v1/chat/completions");
        tokio::spawn(async move {
            client
                .post(url)
                .json(&super::support::body("chat", "hold on", false))
                .send()
                .await
                .expect("request")
        })
    };
    while h.sim.request_count("busy-a") == 0 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    for _ in 0..10 {
        let r = chat(&h, "chat", false).await;
        assert_eq!(r.deployment(), "openai/idle-b", "busy-a has one in flight");
    }
    let held = held.await.expect("join");
    assert_eq!(held.status(), 200);
    assert_eq!(held.headers()["x-switchyard-deployment"], "openai/busy-a");
    assert_eq!(h.sim.request_count("busy-a"), 1);
}

#[tokio::test]
async fn usage_aware_never_exceeds_a_deployments_rpm() {
    let h = start(&group(
        "usage_aware",
        "      - {provider: openai, model: small-a, rpm: 4}\n      - {provider: openai, model: big-b, rpm: 8}",
    ))
    .await;
    let replies = many(&h, 20, 8).await;
    let ok = replies.iter().filter(|r| r.status == 200).count();
    for r in replies.iter().filter(|r| r.status != 200) {
        assert_eq!(r.status, 503, "{}", r.body);
        assert_eq!(
            r.header("x-switchyard-error"),
            Some("no_deployment_available")
        );
    }
    assert_eq!(h.sim.request_count("small-a"), 4);
    assert_eq!(h.sim.request_count("big-b"), 8);
    assert_eq!(ok, 12);
}

/// A TPM limit counts the tokens requests really used: an attempt reserves its prompt estimate
/// plus an output allowance (512 tokens without `max_tokens`), and the reply's usage replaces
/// the whole reservation. Ten requests of a few dozen tokens each fit a 2,000-token limit that
/// leftover output allowances (~512 a request) would have exhausted after three.
#[tokio::test]
async fn a_tpm_limit_counts_the_tokens_used_not_the_reservations() {
    let h = start(&group(
        "round_robin",
        "      - {provider: openai, model: metered-a, tpm: 2000}",
    ))
    .await;
    let mut used = 0;
    for _ in 0..10 {
        let r = chat(&h, "chat", false).await;
        assert_eq!(r.status, 200, "{}", r.body);
        used += r.json()["usage"]["total_tokens"]
            .as_u64()
            .expect("usage.total_tokens");
    }
    assert!(used < 1000, "the simulator's replies are short: {used}");
    let s = deployment_state(&h, "openai/metered-a").await;
    assert_eq!(s["tpm_used"], used, "{s}");
    assert_eq!(s["rpm_used"], 10, "{s}");
}
