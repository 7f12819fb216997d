//! HTTP/1.1 toward clients, on raw sockets: the gateway's own connection loop for the common
//! shape, hyper for the rest of a connection from its first uncommon request on, and the
//! client's end noticed while a request is in progress.

use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{chat_body, in_flight_settles, user, GROUP_YAML};
use crate::common;

fn chat(text: &str) -> String {
    chat_body("chat", user(text), json!({})).to_string()
}

fn post(body: &str, extra: &str) -> String {
    format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: gw\r\ncontent-type: application/json\r\n{extra}content-length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// One response read off `conn`: status code, lower-cased head, body (chunked bodies
/// decoded). `None` when the connection ends before a response.
async fn response(conn: &mut TcpStream, buf: &mut Vec<u8>) -> Option<(u16, String, String)> {
    loop {
        if let Some(done) = complete(buf) {
            return Some(done);
        }
        let mut chunk = [0u8; 8192];
        let n = tokio::time::timeout(Duration::from_secs(10), conn.read(&mut chunk))
            .await
            .expect("a response within 10 s")
            .ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Takes one complete response off the front of `buf`.
fn complete(buf: &mut Vec<u8>) -> Option<(u16, String, String)> {
    let text = String::from_utf8_lossy(buf).into_owned();
    let split = text.find("\r\n\r\n")?;
    let head = text[..split].to_ascii_lowercase();
    let status: u16 = head.get(9..12)?.parse().ok()?;
    let rest = &text[split + 4..];
    if status == 100 {
        buf.drain(..split + 4);
        return Some((status, head, String::new()));
    }
    let header = |name: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")).map(str::trim))
    };
    let (body, used) = if let Some(len) = header("content-length") {
        let len: usize = len.parse().ok()?;
        (rest.get(..len)?.to_owned(), len)
    } else if header("transfer-encoding") == Some("chunked") {
        let mut body = String::new();
        let mut at = 0;
        loop {
            let line_end = rest[at..].find("\r\n")? + at;
            let size = usize::from_str_radix(&rest[at..line_end], 16).ok()?;
            let start = line_end + 2;
            if size == 0 {
                break (body, start + 2);
            }
            body.push_str(rest.get(start..start + size)?);
            at = start + size + 2;
            rest.get(..at)?;
        }
    } else {
        (String::new(), 0)
    };
    if rest.len() < used {
        return None;
    }
    buf.drain(..split + 4 + used);
    Some((status, head, body))
}

fn content(body: &str) -> String {
    let v: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
    v["choices"][0]["message"]["content"]
        .as_str()
        .unwrap_or_else(|| panic!("no content: {v}"))
        .to_owned()
}

async fn connect(h: &common::Harness) -> TcpStream {
    TcpStream::connect(h.addr).await.expect("connect")
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    let h = common::start(GROUP_YAML).await;
    let mut conn = connect(&h).await;
    let all = format!(
        "{}GET /health/live HTTP/1.1\r\nhost: gw\r\n\r\n{}",
        post(&chat("echo: one"), ""),
        post(&chat("echo: two"), "")
    );
    conn.write_all(all.as_bytes()).await.expect("write");
    let mut buf = Vec::new();
    let (s1, h1, b1) = response(&mut conn, &mut buf).await.expect("first");
    let (s2, _, _) = response(&mut conn, &mut buf).await.expect("second");
    let (s3, _, b3) = response(&mut conn, &mut buf).await.expect("third");
    assert_eq!((s1, s2, s3), (200, 200, 200));
    assert_eq!(content(&b1), "one");
    assert_eq!(content(&b3), "two");
    assert!(h1.contains("\r\ndate: "), "{h1}");
    assert!(h1.contains("\r\nx-switchyard-provider: openai"), "{h1}");
}

/// Each byte in its own segment: a head and body split anywhere are put together.
#[tokio::test]
async fn a_request_sent_a_byte_at_a_time_is_served() {
    let h = common::start(GROUP_YAML).await;
    let mut conn = connect(&h).await;
    conn.set_nodelay(true).expect("nodelay");
    for b in post(&chat("echo: slow"), "").bytes() {
        conn.write_all(&[b]).await.expect("write");
        tokio::task::yield_now().await;
    }
    let (status, _, body) = response(&mut conn, &mut Vec::new())
        .await
        .expect("a response");
    assert_eq!(status, 200);
    assert_eq!(content(&body), "slow");
}

/// Requests the loop declines are served by hyper on the same connection, which then keeps
/// serving every request after them.
#[tokio::test]
async fn a_connection_goes_on_with_hyper_after_an_uncommon_request() {
    let h = common::start(GROUP_YAML).await;
    let mut conn = connect(&h).await;
    let mut buf = Vec::new();
    conn.write_all(post(&chat("echo: first"), "").as_bytes())
        .await
        .expect("write");
    let (status, _, body) = response(&mut conn, &mut buf).await.expect("first");
    assert_eq!((status, content(&body).as_str()), (200, "first"));

    // A chunked upload, in two chunks.
    let body = chat("echo: chunked");
    let (a, b) = body.split_at(10);
    let chunked = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: gw\r\ncontent-type: application/json\r\n\
         transfer-encoding: chunked\r\n\r\n{:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
        a.len(),
        b.len()
    );
    conn.write_all(chunked.as_bytes()).await.expect("write");
    let (status, _, body) = response(&mut conn, &mut buf).await.expect("chunked");
    assert_eq!((status, content(&body).as_str()), (200, "chunked"));

    conn.write_all(post(&chat("echo: after"), "").as_bytes())
        .await
        .expect("write");
    let (status, _, body) = response(&mut conn, &mut buf).await.expect("after");
    assert_eq!((status, content(&body).as_str()), (200, "after"));
}

/// `Expect: 100-continue` (curl sends it for bodies over 1 KB) gets its interim response.
#[tokio::test]
async fn expect_continue_gets_100_before_the_body_is_sent() {
    let h = common::start(GROUP_YAML).await;
    let mut conn = connect(&h).await;
    let body = chat("echo: expected");
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: gw\r\ncontent-type: application/json\r\n\
         expect: 100-continue\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).await.expect("write");
    let mut buf = Vec::new();
    let (status, _, _) = response(&mut conn, &mut buf).await.expect("interim");
    assert_eq!(status, 100);
    conn.write_all(body.as_bytes()).await.expect("write");
    let (status, _, body) = response(&mut conn, &mut buf).await.expect("final");
    assert_eq!((status, content(&body).as_str()), (200, "expected"));
}

#[tokio::test]
async fn a_malformed_head_gets_400_and_the_connection_closes() {
    let h = common::start(GROUP_YAML).await;
    let mut conn = connect(&h).await;
    conn.write_all(b"GET /health/live HTTP/1.1\r\nbad name: x\r\n\r\n")
        .await
        .expect("write");
    let mut buf = Vec::new();
    let (status, _, _) = response(&mut conn, &mut buf).await.expect("a response");
    assert_eq!(status, 400);
    assert!(response(&mut conn, &mut buf).await.is_none());
}

/// `Connection: close` and HTTP/1.0 get their answer, and then the connection ends.
#[tokio::test]
async fn close_and_http_1_0_end_the_connection_after_the_answer() {
    let h = common::start(GROUP_YAML).await;
    for raw in [
        post(&chat("echo: bye"), "connection: close\r\n"),
        post(&chat("echo: bye"), "").replacen("HTTP/1.1", "HTTP/1.0", 1),
    ] {
        let mut conn = connect(&h).await;
        conn.write_all(raw.as_bytes()).await.expect("write");
        let mut buf = Vec::new();
        let (status, _, body) = response(&mut conn, &mut buf).await.expect("a response");
        assert_eq!((status, content(&body).as_str()), (200, "bye"), "{raw}");
        assert!(response(&mut conn, &mut buf).await.is_none(), "{raw}");
    }
}

/// `HEAD` gets no body: the next response on the connection starts right after the head.
#[tokio::test]
async fn head_requests_get_no_body() {
    let h = common::start(GROUP_YAML).await;
    let mut conn = connect(&h).await;
    conn.write_all(b"HEAD /v1/models HTTP/1.1\r\nhost: gw\r\n\r\n")
        .await
        .expect("write");
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    while !String::from_utf8_lossy(&buf).contains("\r\n\r\n") {
        let n = conn.read(&mut chunk).await.expect("read");
        assert!(n > 0, "closed");
        buf.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&buf).to_ascii_lowercase();
    assert!(text.starts_with("http/1.1 200 ok\r\n"), "{text}");
    assert!(text.ends_with("\r\n\r\n"), "a body followed: {text}");
    conn.write_all(post(&chat("echo: next"), "").as_bytes())
        .await
        .expect("write");
    buf.clear();
    let (status, _, body) = response(&mut conn, &mut buf).await.expect("next");
    assert_eq!((status, content(&body).as_str()), (200, "next"));
}

/// A client that closes its connection while the provider has not answered cancels the
/// request: the upstream call is released at once, not when the provider gives up.
#[tokio::test]
async fn a_client_that_leaves_before_the_answer_cancels_the_request() {
    let h = common::start(GROUP_YAML).await;
    let mut conn = connect(&h).await;
    conn.write_all(post(&chat("[[sim:hang]] never answered"), "").as_bytes())
        .await
        .expect("write");
    let n = in_flight_settles(&h, 1).await;
    assert_eq!(n, 1, "the request never reached the provider");
    drop(conn);
    let n = in_flight_settles(&h, 0).await;
    assert_eq!(n, 0, "the request was not cancelled when its client left");
}

/// The response without what differs between two identical requests: the clock's headers,
/// request ids, and the simulator's completion ids (a counter).
fn normalized(resp: (u16, String, String)) -> (u16, Vec<String>, String) {
    let (status, head, body) = resp;
    let mut headers: Vec<String> = head
        .lines()
        .skip(1)
        .filter(|l| {
            ![
                "date:",
                "x-request-id:",
                "x-switchyard-upstream-latency-ms:",
                "x-switchyard-overhead-us:",
            ]
            .iter()
            .any(|p| l.starts_with(p))
        })
        .map(str::to_owned)
        .collect();
    headers.sort();
    let mut out = String::with_capacity(body.len());
    let mut rest = body.as_str();
    while let Some(at) = rest.find("-sim") {
        out.push_str(&rest[..at + 4]);
        rest = rest[at + 4..].trim_start_matches(|c: char| c.is_ascii_digit());
        out.push('N');
    }
    out.push_str(rest);
    (status, headers, out)
}

/// The loop answers as hyper does: the same requests on a connection the loop serves and on
/// one that hyper serves (from a first request the loop declines) get the same status,
/// headers and body, but for what differs between any two requests.
#[tokio::test]
async fn the_loop_answers_as_hyper_does() {
    let h = common::start(GROUP_YAML).await;
    let mut ours = connect(&h).await;
    let mut hypers = connect(&h).await;
    let mut ours_buf = Vec::new();
    let mut hypers_buf = Vec::new();
    // A chunked upload: declined by the loop, so hyper serves this connection from here on.
    hypers
        .write_all(b"POST /v1/route/explain HTTP/1.1\r\nhost: gw\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n")
        .await
        .expect("write");
    let (status, _, _) = response(&mut hypers, &mut hypers_buf)
        .await
        .expect("hyper's first answer");
    assert_eq!(status, 400);
    let stream = chat_body("chat", user("echo: a b c"), json!({"stream": true})).to_string();
    let unknown = chat_body("no-such-model", user("hi"), json!({})).to_string();
    let requests = [
        post(&chat("echo: same"), ""),
        post(&stream, ""),
        post(&unknown, ""),
        post("{not json", ""),
        post("", ""),
        "GET /v1/models HTTP/1.1\r\nhost: gw\r\n\r\n".to_owned(),
        "GET /health/ready HTTP/1.1\r\nhost: gw\r\n\r\n".to_owned(),
        "GET /nope HTTP/1.1\r\nhost: gw\r\n\r\n".to_owned(),
        "DELETE /v1/chat/completions HTTP/1.1\r\nhost: gw\r\n\r\n".to_owned(),
        "POST /v1/chat/completions?x=1 HTTP/1.1\r\nhost: gw\r\ncontent-length: 2\r\n\r\n{}"
            .to_owned(),
    ];
    for raw in &requests {
        ours.write_all(raw.as_bytes()).await.expect("write");
        hypers.write_all(raw.as_bytes()).await.expect("write");
        let a = response(&mut ours, &mut ours_buf)
            .await
            .expect("the loop's answer");
        let b = response(&mut hypers, &mut hypers_buf)
            .await
            .expect("hyper's answer");
        assert_eq!(normalized(a), normalized(b), "answers to {raw:?} differ");
    }
}
