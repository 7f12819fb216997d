//! Graceful shutdown of the accept loop: a stream in flight when shutdown begins finishes
//! whole, new connections are refused, and `serve` returns once the stream is done.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::json;
use switchyard_sim::SimConfig;

use super::{chat_body, user};
use crate::common;

#[tokio::test]
async fn shutdown_drains_a_stream_in_flight_and_refuses_new_connections() {
    let sim = switchyard_sim::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        SimConfig {
            chunk_interval: Duration::from_millis(60),
            chunks: 6,
            ..SimConfig::default()
        },
    )
    .await
    .expect("sim");
    let app = common::gateway_app("", &sim);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(switchyard_server::serve(listener, app, async {
        let _ = stop_rx.await;
    }));

    let client = reqwest::Client::new();
    let resp = client
        .post(format!("http://{addr}/v1/chat/completions"))
        .json(&chat_body(
            "gpt-4o-mini",
            user("echo: one two three four five six"),
            json!({"stream": true}),
        ))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    let mut body = resp.bytes_stream();
    let first = body.next().await.expect("a first chunk").expect("chunk");
    assert!(first.starts_with(b"data: "), "{first:?}");

    stop_tx.send(()).expect("signal shutdown");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        !server.is_finished(),
        "serve returned while a stream was in flight"
    );
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "a new connection was accepted after shutdown began"
    );

    let mut text = String::from_utf8_lossy(&first).into_owned();
    while let Some(chunk) = body.next().await {
        text.push_str(&String::from_utf8_lossy(&chunk.expect("chunk")));
    }
    assert!(text.trim_end().ends_with("data: [DONE]"), "{text}");
    for word in ["one", "three", "six"] {
        assert!(text.contains(word), "{word} missing: {text}");
    }
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("serve returns after the stream ends")
        .expect("serve task");
}
