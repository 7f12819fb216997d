//! Graceful shutdown of the accept loop: a stream in flight when shutdown begins finishes
//! whole, new connections are refused, idle ones are closed, a request in progress is
//! answered with `connection: close`, and `serve` returns once they are done.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::json;
use switchyard_sim::SimConfig;

use super::{chat_body, user};
use crate::common;

/// A gateway in demo mode over a simulator with `sim`, served until the sender is used; the
/// simulator's handle stays alive with it.
async fn stoppable(
    sim: SimConfig,
) -> (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
    switchyard_sim::SimHandle,
) {
    let sim = switchyard_sim::start(SocketAddr::from(([127, 0, 0, 1], 0)), sim)
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
    (addr, stop_tx, server, sim)
}

#[tokio::test]
async fn shutdown_drains_a_stream_in_flight_and_refuses_new_connections() {
    let (addr, stop_tx, server, _sim) = stoppable(SimConfig {
        chunk_interval: Duration::from_millis(60),
        chunks: 6,
        ..SimConfig::default()
    })
    .await;

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

/// At shutdown an idle keep-alive connection is closed at once, and a request in progress is
/// answered with `connection: close` before its connection ends.
#[tokio::test]
async fn shutdown_closes_idle_connections_and_answers_the_busy_with_close() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let (addr, stop_tx, server, _sim) = stoppable(SimConfig::default()).await;
    let request = |text: &str| {
        let body = chat_body("gpt-4o-mini", user(text), json!({})).to_string();
        format!(
            "POST /v1/chat/completions HTTP/1.1\r\nhost: gw\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    let read_all = |mut conn: tokio::net::TcpStream| async move {
        let mut got = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), conn.read_to_end(&mut got)).await;
        String::from_utf8_lossy(&got).into_owned()
    };

    // One connection served once and left idle, one with a slow request in progress.
    let mut idle = tokio::net::TcpStream::connect(addr).await.expect("connect");
    idle.write_all(request("echo: hi").as_bytes())
        .await
        .expect("write");
    let mut first = [0u8; 4096];
    let n = idle.read(&mut first).await.expect("read");
    assert!(first[..n].starts_with(b"HTTP/1.1 200 OK"));
    let mut busy = tokio::net::TcpStream::connect(addr).await.expect("connect");
    busy.write_all(request("[[sim:latency_ms=300]] slow").as_bytes())
        .await
        .expect("write");
    tokio::time::sleep(Duration::from_millis(100)).await;

    stop_tx.send(()).expect("signal shutdown");
    let t = tokio::time::Instant::now();
    let rest = read_all(idle).await;
    assert!(rest.is_empty(), "the idle connection got {rest:?}");
    assert!(
        t.elapsed() < Duration::from_millis(150),
        "the idle connection stayed open {:?}",
        t.elapsed()
    );
    let answer = read_all(busy).await.to_ascii_lowercase();
    assert!(answer.starts_with("http/1.1 200 ok\r\n"), "{answer}");
    assert!(answer.contains("\r\nconnection: close\r\n"), "{answer}");
    assert!(answer.contains("\"chat.completion\""), "{answer}");
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("serve returns once the busy connection is done")
        .expect("serve task");
}
