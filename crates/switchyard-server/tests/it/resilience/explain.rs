//! `POST /v1/route/explain`: the matched rule and the ordered candidates with their scores,
//! health and reasons, computed without calling any provider.

use serde_json::Value;

use super::support::{body, chat, scenario, status};
use crate::common::{start, Harness};

const CONFIG: &str = r#"
routing:
  retry_budget: {ratio: 10, min_per_second: 1000}
models:
  - name: auto
    deployments: [openai/general-model]
  - name: budget
    strategy: lowest_cost
    retry: {attempts: 3, backoff: 1ms, max_backoff: 5ms}
    cooldown: {failures: 1, window: 60s, duration: 60s}
    deployments:
      - {provider: openai, model: pricey-a, price: {input_per_mtok: 10, output_per_mtok: 30}}
      - {provider: openai, model: cheap-b, price: {input_per_mtok: 0.1, output_per_mtok: 0.4}}
      - {provider: openai, model: middle-c, price: {input_per_mtok: 1, output_per_mtok: 2}}
    fallbacks:
      - {model: auto, on: [server_error]}
rules:
  - name: free-tier
    when: 'has(metadata.tier) && metadata.tier == "free"'
    model: budget
"#;

const MODELS: [&str; 4] = ["general-model", "pricey-a", "cheap-b", "middle-c"];

fn counts(h: &Harness) -> Vec<u64> {
    MODELS.iter().map(|m| h.sim.request_count(m)).collect()
}

async fn explain(h: &Harness, metadata: &str) -> Value {
    let resp = h
        .client
        .post(h.url("/v1/route/explain"))
        .header("x-switchyard-metadata", metadata)
        .json(&body("auto", "hello there, what is the time", false))
        .send()
        .await
        .expect("explain request");
    assert_eq!(resp.status(), 200);
    resp.json().await.expect("explain json")
}

fn deployments(candidates: &Value) -> Vec<&str> {
    candidates
        .as_array()
        .expect("candidates")
        .iter()
        .map(|c| c["deployment"].as_str().expect("deployment"))
        .collect()
}

#[tokio::test]
async fn explain_shows_the_rule_and_ranked_candidates_without_calling_providers() {
    let h = start(CONFIG).await;
    let e = explain(&h, r#"{"tier": "free"}"#).await;
    assert_eq!(counts(&h), vec![0; 4], "explain called a provider");

    assert_eq!(e["matched_rule"], "free-tier", "{e}");
    assert_eq!(e["group"], "budget");
    assert_eq!(e["strategy"], "lowest_cost");
    assert_eq!(e["rules"][0]["result"], "true", "{e}");
    let c = &e["candidates"];
    assert_eq!(
        deployments(c),
        vec!["openai/cheap-b", "openai/middle-c", "openai/pricey-a"],
        "{e}"
    );
    let scores: Vec<f64> = c
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["score"].as_f64().expect("score"))
        .collect();
    assert!(scores.windows(2).all(|w| w[0] < w[1]), "{scores:?}");
    for x in c.as_array().unwrap() {
        assert_eq!(x["health"], "ready", "{x}");
        assert!(x["estimated_cost_usd"].as_f64().is_some(), "{x}");
        assert!(
            x["reason"]
                .as_str()
                .is_some_and(|r| r.starts_with("estimated $")),
            "{x}"
        );
    }
    assert_eq!(e["fallbacks"][0]["model"], "auto");
    assert_eq!(e["fallbacks"][0]["on"][0], "server_error");
    assert_eq!(
        deployments(&e["fallbacks"][0]["candidates"]),
        vec!["openai/general-model"]
    );

    // Without the metadata no rule matches and the requested model is explained.
    let e = explain(&h, "{}").await;
    assert!(e["matched_rule"].is_null(), "{e}");
    assert_eq!(e["group"], "auto");
    assert_eq!(e["rules"][0]["result"], "false", "{e}");

    // A deployment cooling down is shown last, with its health and why it is skipped.
    h.sim
        .set_scenario("cheap-b", scenario(vec![status(500)], true));
    let r = super::support::send(
        &h,
        body("auto", "hello there, what is the time", false),
        &[("x-switchyard-metadata", r#"{"tier": "free"}"#)],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.deployment(), "openai/middle-c");
    let before = counts(&h);
    let e = explain(&h, r#"{"tier": "free"}"#).await;
    assert_eq!(counts(&h), before, "explain called a provider");
    let c = &e["candidates"];
    assert_eq!(
        deployments(c),
        vec!["openai/middle-c", "openai/pricey-a", "openai/cheap-b"],
        "{e}"
    );
    assert_eq!(c[2]["health"], "cooling_down", "{e}");
    assert!(
        c[2]["reason"].as_str().unwrap().contains("cooling down"),
        "{e}"
    );
    // And plain chat traffic is unaffected by explaining.
    assert_eq!(chat(&h, "auto", false).await.status, 200);
}
