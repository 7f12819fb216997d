//! Mid-stream recovery: an upstream that drops or stalls after some text is continued from
//! another deployment into one complete answer; a stream that cannot be continued (a tool call
//! half sent) ends with an error event, never a silent truncation.

use std::time::Duration;

use serde_json::{json, Value};
use switchyard_sim::Fault;

use super::support::{body, chat, scenario, send, Reply};
use crate::common::{start, Harness};

const CONFIG: &str = r#"
models:
  - name: chat
    strategy: ordered
    timeouts: {first_byte: 2s, idle: 300ms}
    deployments:
      - openai/primary-a
      - openai/backup-b
  - name: solo
    timeouts: {first_byte: 2s, idle: 300ms}
    deployments: [openai/solo-a]
    fallbacks:
      - model: rescue
  - name: rescue
    deployments: [anthropic/rescue-b]
"#;

const NOTE: &str = ": switchyard continued the answer from ";

/// The partial assistant turn the continuation was asked to carry on from.
fn continued_from(h: &Harness, model: &str) -> String {
    let recorded = h.sim.requests(model);
    let last = recorded
        .last()
        .expect("the continuation reached the simulator");
    let body: Value = serde_json::from_slice(&last.body).expect("json body");
    let messages = body["messages"].as_array().expect("messages");
    let turn = messages.last().expect("a last message");
    assert_eq!(turn["role"], "assistant", "{body}");
    match &turn["content"] {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<String>(),
        other => panic!("unexpected content {other}"),
    }
}

fn assert_one_continued_answer(r: &Reply, from: &str, to: &str, class: &str, partial: &str) {
    r.assert_complete_stream();
    let note = format!("{NOTE}{to} after {from} failed ({class})");
    assert_eq!(r.body.matches(NOTE).count(), 1, "{}", r.body);
    assert!(r.body.contains(&note), "{}", r.body);
    let text = r.stream_text();
    assert!(
        text.starts_with(partial) && text.len() > partial.len(),
        "the answer starts with what was sent before the break ({partial:?}), then goes on: {text:?}"
    );
    // One answer: one identity across the splice.
    let ids: Vec<String> = r
        .sse_data()
        .iter()
        .filter(|d| *d != "[DONE]")
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|v| v["id"].as_str().map(str::to_owned))
        .collect();
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");
}

#[tokio::test]
async fn a_dropped_stream_is_continued_by_another_deployment() {
    let h = start(CONFIG).await;
    h.sim
        .set_scenario("primary-a", scenario(vec![Fault::DropAfter(3)], false));
    let r = chat(&h, "chat", true).await;
    // Headers went out with the primary's first chunk, before the break.
    assert_eq!(r.deployment(), "openai/primary-a");
    let partial = continued_from(&h, "backup-b");
    assert!(!partial.is_empty());
    assert_one_continued_answer(
        &r,
        "openai/primary-a",
        "openai/backup-b",
        "stream_broken",
        &partial,
    );
    assert_eq!(h.sim.request_count("primary-a"), 1);
    assert_eq!(h.sim.request_count("backup-b"), 1);
}

#[tokio::test]
async fn a_stalled_stream_is_continued_from_the_fallback_within_the_idle_timeout() {
    let h = start(CONFIG).await;
    h.sim
        .set_scenario("solo-a", scenario(vec![Fault::StallAfter(3)], false));
    let r = chat(&h, "solo", true).await;
    let partial = continued_from(&h, "rescue-b");
    assert!(!partial.is_empty());
    // The fallback speaks another dialect: its answer is translated into the same stream.
    assert_one_continued_answer(
        &r,
        "openai/solo-a",
        "anthropic/rescue-b",
        "timeout",
        &partial,
    );
    assert!(
        r.elapsed >= Duration::from_millis(300) && r.elapsed < Duration::from_millis(1500),
        "the stall was cut at the 300ms idle timeout: {:?}",
        r.elapsed
    );
}

#[tokio::test]
async fn an_upstream_error_event_mid_stream_is_continued() {
    let h = start(CONFIG).await;
    h.sim
        .set_scenario("primary-a", scenario(vec![Fault::MidStreamError(2)], false));
    let r = chat(&h, "chat", true).await;
    r.assert_complete_stream();
    assert!(r.body.contains(NOTE), "{}", r.body);
    assert_eq!(h.sim.request_count("backup-b"), 1);
}

#[tokio::test]
async fn a_half_sent_tool_call_ends_with_an_error_event() {
    let h = start(CONFIG).await;
    h.sim
        .set_scenario("primary-a", scenario(vec![Fault::DropAfter(2)], false));
    let mut b = body("chat", "What is the weather in Paris?", true);
    b["tools"] = json!([{
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"]
            }
        }
    }]);
    let r = send(&h, b, &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let data = r.sse_data();
    assert!(
        data.iter().any(|d| d.contains("\"tool_calls\"")),
        "the tool call had started: {}",
        r.body
    );
    let last: Value = serde_json::from_str(data.last().expect("events")).expect("json event");
    assert!(
        last["error"]["message"].is_string(),
        "the stream ends with an error event: {}",
        r.body
    );
    assert!(!data.iter().any(|d| d == "[DONE]"), "{}", r.body);
    assert!(!r.body.contains(NOTE), "{}", r.body);
    assert!(
        !data.iter().any(|d| d.contains("\"finish_reason\":\"")),
        "never presented as finished: {}",
        r.body
    );
    assert_eq!(
        h.sim.request_count("backup-b"),
        0,
        "a tool call cannot be continued"
    );
}
