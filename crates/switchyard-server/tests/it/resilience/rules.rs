//! Routing rules end to end: the documented examples send each request to the provider they
//! name, and an invalid expression is refused at load with a message pointing at it.

use std::collections::HashMap;

use serde_json::json;

use super::support::{body, send, Reply};
use crate::common::{start, Harness};

const CONFIG: &str = r#"
models:
  - name: auto
    deployments: [openai/general-model]
  - name: deepseek
    deployments: [deepseek/support-model]
  - name: claude-opus
    deployments: [anthropic/opus-model]
  - name: gemini
    deployments: [gemini/multilingual-model]
  - name: mistral-small
    deployments: [mistral/small-model]
  - name: cheap
    deployments: [groq/cheap-model]
rules:
  - name: escalation
    when: 'has(metadata.queue) && metadata.queue == "escalation"'
    model: claude-opus
  - name: first-line
    when: 'has(metadata.queue) && metadata.queue == "first-line"'
    model: deepseek
  - name: free-tier
    when: 'has(metadata.tier) && metadata.tier == "free"'
    model: cheap
  - name: non-english
    when: 'prompt.language != "en" && prompt.language != "unknown"'
    model: gemini
  - name: simple-summary
    when: 'prompt.complexity == "simple" && prompt.task == "summarization"'
    model: mistral-small
  - name: complex-reasoning
    when: 'prompt.complexity == "complex"'
    model: claude-opus
"#;

/// Sends `text` to `auto`, with `metadata` in the body when given, and extra headers.
async fn ask(
    h: &Harness,
    text: &str,
    metadata: Option<serde_json::Value>,
    headers: &[(&str, &str)],
) -> Reply {
    let mut b = body("auto", text, false);
    if let Some(m) = metadata {
        b["metadata"] = m;
    }
    let r = send(h, b, headers).await;
    assert_eq!(r.status, 200, "{text}: {}", r.body);
    r
}

fn assert_routed(r: &Reply, provider: &str, rule: Option<&str>) {
    assert_eq!(
        r.header("x-switchyard-provider"),
        Some(provider),
        "{:?}",
        r.headers
    );
    assert_eq!(r.header("x-switchyard-rule"), rule, "{:?}", r.headers);
}

#[tokio::test]
async fn the_documented_rules_route_where_they_should() {
    let h = start(CONFIG).await;

    let r = ask(
        &h,
        "My order has not arrived",
        Some(json!({"queue": "first-line"})),
        &[],
    )
    .await;
    assert_routed(&r, "deepseek", Some("first-line"));

    let r = ask(
        &h,
        "My order has not arrived and I want a refund",
        None,
        &[("x-switchyard-metadata", r#"{"queue": "escalation"}"#)],
    )
    .await;
    assert_routed(&r, "anthropic", Some("escalation"));
    assert_eq!(r.header("x-switchyard-group"), Some("claude-opus"));

    let r = ask(
        &h,
        "¿Cómo puedo cambiar la contraseña de mi cuenta?",
        None,
        &[],
    )
    .await;
    assert_routed(&r, "gemini", Some("non-english"));

    let r = ask(
        &h,
        "Summarize this paragraph in one sentence: the meeting moved to Tuesday.",
        None,
        &[],
    )
    .await;
    assert_routed(&r, "mistral", Some("simple-summary"));

    let r = ask(
        &h,
        "Analyze the trade-offs step by step and design an architecture for a multi-region database.",
        None,
        &[],
    )
    .await;
    assert_routed(&r, "anthropic", Some("complex-reasoning"));

    // Free-tier users, whether the tier comes in the header or the body.
    let r = ask(
        &h,
        "hello there, what is the time",
        None,
        &[("x-switchyard-metadata", r#"{"tier": "free"}"#)],
    )
    .await;
    assert_routed(&r, "groq", Some("free-tier"));
    let r = ask(
        &h,
        "hello there, what is the time",
        Some(json!({"tier": "free"})),
        &[],
    )
    .await;
    assert_routed(&r, "groq", Some("free-tier"));

    // Nothing matches: the requested model serves, and no rule is claimed.
    let r = ask(&h, "hello there, what is the time", None, &[]).await;
    assert_routed(&r, "openai", None);

    // The simulator saw each request at the provider the rule named.
    for (model, n) in [
        ("support-model", 1),
        ("opus-model", 2),
        ("multilingual-model", 1),
        ("small-model", 1),
        ("cheap-model", 2),
        ("general-model", 1),
    ] {
        assert_eq!(h.sim.request_count(model), n, "{model}");
    }
}

#[test]
fn an_invalid_rule_is_refused_at_load_with_a_pointed_message() {
    let env: HashMap<String, String> = HashMap::new();
    let yaml = |when: &str| {
        format!(
            r#"
providers:
  - {{name: openai, base_url: "http://127.0.0.1:9", api_key: sk-test}}
models:
  - name: chat
    deployments: [openai/m]
rules:
  - {{name: ok, when: 'metadata.tier == "free"', model: chat}}
  - {{name: broken, when: '{when}', model: chat}}
"#
        )
    };
    for (when, expect) in [
        ("prompt.tokens >", "invalid CEL expression"),
        ("promt.tokens > 5", "promt"),
        ("prompt.tokens", "must return a bool"),
    ] {
        let config = switchyard_config::load_str(&yaml(when), &env).expect("the YAML is valid");
        let err = switchyard_core::Engine::new(config).expect_err(when);
        assert!(err.starts_with("rules[1].when"), "{when}: {err}");
        assert!(err.contains(expect), "{when}: {err}");
    }
}
