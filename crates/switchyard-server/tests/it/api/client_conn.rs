//! Client connection limits: a request head that trickles in is cut off after
//! `client_header_timeout`, an idle keep-alive connection is closed after
//! `client_idle_timeout`, and neither limit touches a connection that is serving a request,
//! however long its stream runs.

use std::time::Duration;

use serde_json::json;
use switchyard_sim::SimConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::{chat_body, user};
use crate::common;

const LIMITS: &str = "version: 1\nserver: { client_header_timeout: 1s, client_idle_timeout: 5s }\n";

/// One keep-alive request on `conn`; returns the response's head and body as text.
async fn request(conn: &mut TcpStream, body: &serde_json::Value) -> String {
    let body = body.to_string();
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: gw\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).await.expect("write head");
    conn.write_all(body.as_bytes()).await.expect("write body");
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = conn.read(&mut buf).await.expect("read");
        assert!(
            n > 0,
            "closed mid-response: {}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got);
        if let Some(split) = text.find("\r\n\r\n") {
            let head = text[..split].to_ascii_lowercase();
            let rest = &text[split + 4..];
            if let Some(len) = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
            {
                if rest.len() >= len {
                    return text.into_owned();
                }
            } else if rest.ends_with("0\r\n\r\n") {
                return text.into_owned();
            }
        }
    }
}

/// Waits until the gateway closes `conn` (EOF or reset); how long that took.
async fn closed_after(conn: &mut TcpStream, limit: Duration) -> Duration {
    let t = Instant::now();
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(limit, conn.read(&mut buf)).await;
    match read {
        Ok(Ok(0)) | Ok(Err(_)) => t.elapsed(),
        Ok(Ok(n)) => panic!("unexpected bytes: {:?}", String::from_utf8_lossy(&buf[..n])),
        Err(_) => panic!("still open after {limit:?}"),
    }
}

#[tokio::test]
async fn a_head_that_trickles_in_is_cut_off() {
    let h = common::start_with(LIMITS, SimConfig::default()).await;
    let mut conn = TcpStream::connect(h.addr).await.expect("connect");
    conn.write_all(b"POST /v1/chat/completions HTTP/1.1\r\nhost: gw\r\n")
        .await
        .expect("write");
    let t = Instant::now();
    // A header line every 300 ms: bytes keep coming, the head never completes.
    let mut i = 0;
    let closed = loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        if conn
            .write_all(format!("x-slow-{i}: y\r\n").as_bytes())
            .await
            .is_err()
        {
            break t.elapsed();
        }
        i += 1;
        let mut buf = [0u8; 64];
        if let Ok(Ok(0) | Err(_)) =
            tokio::time::timeout(Duration::from_millis(1), conn.read(&mut buf)).await
        {
            break t.elapsed();
        }
        assert!(t.elapsed() < Duration::from_secs(6), "never cut off");
    };
    // The 1 s limit, checked once a second (the idle limit does not apply once bytes came).
    assert!(closed >= Duration::from_millis(900), "{closed:?}");
    assert!(closed < Duration::from_millis(4000), "{closed:?}");
}

/// The header limit is for heads: a body uploaded slowly after a complete head is read to its
/// end (as hyper did, whose handler read the body while the request counted as busy).
#[tokio::test]
async fn a_body_uploaded_slower_than_the_header_limit_is_served() {
    let h = common::start_with(LIMITS, SimConfig::default()).await;
    let body = chat_body("gpt-4o-mini", user("echo: patience"), json!({})).to_string();
    let mut conn = TcpStream::connect(h.addr).await.expect("connect");
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: gw\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).await.expect("write head");
    // Four pieces 700 ms apart: 2.1 s, past the 1 s header limit and its two sweeps.
    let quarter = body.len().div_ceil(4);
    for piece in body.as_bytes().chunks(quarter) {
        tokio::time::sleep(Duration::from_millis(700)).await;
        conn.write_all(piece)
            .await
            .expect("the connection was cut off");
    }
    let mut got = String::new();
    let mut buf = [0u8; 8192];
    while !got.contains("patience") {
        let n = tokio::time::timeout(Duration::from_secs(5), conn.read(&mut buf))
            .await
            .expect("an answer")
            .expect("read");
        assert!(n > 0, "closed without an answer: {got}");
        got.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_limit() {
    let h = common::start_with(LIMITS, SimConfig::default()).await;
    let body = chat_body("gpt-4o-mini", user("hi"), json!({}));
    let mut conn = TcpStream::connect(h.addr).await.expect("connect");
    let first = request(&mut conn, &body).await;
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    // Past the header limit but within the idle one: still open and usable.
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let second = request(&mut conn, &body).await;
    assert!(second.starts_with("HTTP/1.1 200"), "{second}");
    // The sweeper looks once a second: the limit plus up to two ticks.
    let closed = closed_after(&mut conn, Duration::from_secs(10)).await;
    assert!(closed >= Duration::from_millis(4900), "{closed:?}");
    assert!(closed < Duration::from_millis(7500), "{closed:?}");
}

#[tokio::test]
async fn a_stream_longer_than_both_limits_runs_to_its_end() {
    let h = common::start_with(
        LIMITS,
        SimConfig {
            chunks: 17,
            chunk_interval: Duration::from_millis(500),
            ..SimConfig::default()
        },
    )
    .await;
    let body = chat_body("gpt-4o-mini", user("tell me"), json!({"stream": true}));
    let mut conn = TcpStream::connect(h.addr).await.expect("connect");
    let t = Instant::now();
    let reply = request(&mut conn, &body).await;
    // Eight seconds: more than two of the sweeper's ticks past the idle limit.
    assert!(
        t.elapsed() > Duration::from_millis(7500),
        "{:?}",
        t.elapsed()
    );
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.contains("data: [DONE]"), "{reply}");
    // And the connection is still good for another request right after.
    let again = request(&mut conn, &chat_body("gpt-4o-mini", user("hi"), json!({}))).await;
    assert!(again.starts_with("HTTP/1.1 200"), "{again}");
}

#[tokio::test]
async fn a_head_started_right_after_a_response_gets_the_header_limit() {
    let h = common::start_with(LIMITS, SimConfig::default()).await;
    let body = chat_body("gpt-4o-mini", user("hi"), json!({}));
    let mut conn = TcpStream::connect(h.addr).await.expect("connect");
    let first = request(&mut conn, &body).await;
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    // Half a head at once, then nothing: timed from the header limit (1 s), not the idle one.
    conn.write_all(b"POST /v1/chat/completions HTTP/1.1\r\nhost: gw\r\n")
        .await
        .expect("write");
    let closed = closed_after(&mut conn, Duration::from_secs(10)).await;
    assert!(closed >= Duration::from_millis(900), "{closed:?}");
    assert!(closed < Duration::from_millis(4000), "{closed:?}");
}
