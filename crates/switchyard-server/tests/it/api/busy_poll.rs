//! Busy polling (`server.busy_poll`), on the current-thread runtime the gateway uses on one
//! CPU and on the multi-threaded one: while the spinners poll, every other task of the runtime
//! still runs (the simulator's timers included, which pace its stream), and once the window
//! closes the gateway sleeps and still wakes for the next client.

use std::time::Duration;

use serde_json::{json, Value};
use switchyard_sim::SimConfig;

use super::{chat_body, user};
use crate::common;

#[tokio::test(flavor = "current_thread")]
async fn requests_and_paced_streams_are_served_while_polling_and_after_the_window() {
    check().await;
}

/// With several worker threads there is a polling task per worker; the same holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_on_the_multi_threaded_runtime() {
    check().await;
}

async fn check() {
    let h = common::start_with(
        "version: 1\nserver: { busy_poll: 30ms }\n",
        SimConfig {
            chunk_interval: Duration::from_millis(40),
            chunks: 4,
            ..SimConfig::default()
        },
    )
    .await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    for round in 0..2 {
        let resp = client
            .post(h.url("/v1/chat/completions"))
            .json(&chat_body("gpt-4o-mini", user("echo: busy"), json!({})))
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), 200, "round {round}");
        let body: Value = resp.json().await.expect("json");
        assert_eq!(body["choices"][0]["message"]["content"], "busy");

        // Events 40 ms apart: longer than the window, so the spinner sleeps between them.
        let resp = client
            .post(h.url("/v1/chat/completions"))
            .json(&chat_body(
                "gpt-4o-mini",
                user("echo: one two three four"),
                json!({"stream": true}),
            ))
            .send()
            .await
            .expect("stream");
        assert_eq!(resp.status(), 200, "round {round}");
        let events = common::sse_data(resp).await;
        assert_eq!(
            events.last().map(String::as_str),
            Some("[DONE]"),
            "{events:?}"
        );
        let text: String = events
            .iter()
            .filter_map(|e| serde_json::from_str::<Value>(e).ok())
            .filter_map(|e| {
                e["choices"][0]["delta"]["content"]
                    .as_str()
                    .map(str::to_owned)
            })
            .collect();
        assert_eq!(
            text.split_whitespace().collect::<Vec<_>>(),
            ["one", "two", "three", "four"]
        );
        // Well past the window: the next round starts with the spinner asleep.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
