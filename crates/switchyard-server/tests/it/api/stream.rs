//! Streaming chat for every family, and stream robustness: client disconnects, upstream
//! failures after the stream started, idle timeouts.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use switchyard_sim::SimConfig;

use super::{
    assert_served_by, chat_body, in_flight, in_flight_settles, per_family, user, Family,
    OpenAiStream, GROUP_YAML,
};
use crate::common;

per_family!(
    stream_text,
    stream_include_usage,
    streams_reuse_upstream_connections,
    a_burst_leaves_in_few_chunks
);

/// Text streams arrive as OpenAI chunks whose deltas join to the reply, end with a finish
/// reason and `data: [DONE]`, and carry no usage-only chunk the client did not ask for.
async fn stream_text(f: Family) {
    let h = f.start().await;
    let resp = h
        .post(
            "/v1/chat/completions",
            chat_body(
                &f.id(),
                user("echo: one two three four five six seven eight nine ten"),
                json!({"stream": true}),
            ),
        )
        .await;
    assert_served_by(resp.headers(), f.provider, f.model);
    let s = OpenAiStream::read(resp).await;
    assert!(s.done, "no [DONE]: {:?}", s.data);
    assert_eq!(
        s.text(),
        "one two three four five six seven eight nine ten",
        "{:?}",
        s.data
    );
    assert_eq!(s.finish_reason().as_deref(), Some("stop"), "{:?}", s.data);
    for c in &s.chunks {
        assert_eq!(c["object"], "chat.completion.chunk", "{c}");
    }
    assert!(
        s.usage_only_chunks().is_empty(),
        "usage chunk without include_usage: {:?}",
        s.data
    );
    // The first chunk that says anything says it as the assistant.
    let role = s
        .chunks
        .iter()
        .find_map(|c| c["choices"][0]["delta"]["role"].as_str());
    assert_eq!(role, Some("assistant"), "{:?}", s.data);
}

/// A stream that ended leaves its upstream connection reusable: consecutive streams (and a
/// request after them) share one connection to the provider instead of opening one each.
async fn streams_reuse_upstream_connections(f: Family) {
    let h = f.start().await;
    for _ in 0..3 {
        let resp = h
            .post(
                "/v1/chat/completions",
                chat_body(
                    &f.id(),
                    user("echo: one two three"),
                    json!({"stream": true}),
                ),
            )
            .await;
        let s = OpenAiStream::read(resp).await;
        assert!(s.done, "{:?}", s.data);
        // The rest of the upstream body may still be on its way to the pool.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let resp = h
        .post(
            "/v1/chat/completions",
            chat_body(&f.id(), user("hi"), json!({})),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        h.sim.connection_count(),
        1,
        "one upstream connection for all"
    );
}

/// Sends `body` to the chat route over a raw connection and returns the sizes of the HTTP
/// chunks of the (chunked) response, and the body they carry. Chunk sizes are the frames the
/// gateway wrote, whatever a client library would merge or split.
async fn raw_chunks(addr: std::net::SocketAddr, body: &Value) -> (Vec<usize>, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = body.to_string();
    let mut conn = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: gw\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).await.expect("write");
    conn.write_all(body.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    conn.read_to_end(&mut raw).await.expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of head");
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("transfer-encoding: chunked"), "{head}");
    let (mut rest, mut sizes, mut text) = (&raw[split + 4..], Vec::new(), String::new());
    loop {
        let eol = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size line");
        let line = std::str::from_utf8(&rest[..eol]).expect("size line");
        let size = usize::from_str_radix(line.split(';').next().unwrap_or(line).trim(), 16)
            .expect("hex chunk size");
        rest = &rest[eol + 2..];
        if size == 0 {
            break;
        }
        text.push_str(&String::from_utf8_lossy(&rest[..size]));
        sizes.push(size);
        rest = &rest[size + 2..];
    }
    (sizes, text)
}

/// Events that reach the gateway together leave together: a reply the provider sends in one
/// burst comes out in a few HTTP chunks (about one per upstream read, plus the first token's
/// own), not one chunk (and one client wake-up) per event.
async fn a_burst_leaves_in_few_chunks(f: Family) {
    let h = f.start().await;
    let words = "w ".repeat(40);
    let body = chat_body(
        &f.id(),
        user(&format!("echo: {words}")),
        json!({"stream": true}),
    );
    let (frames, text) = raw_chunks(h.addr, &body).await;
    let events = text.matches("data: ").count();
    assert!(text.trim_end().ends_with("data: [DONE]"), "{text}");
    assert!(events >= 8, "{events} events: {text}");
    // The first token may leave alone, ahead of the burst behind it (see the next test).
    assert!(
        (frames.len() - 1) * 3 <= events,
        "{} chunks for {events} events: {frames:?}",
        frames.len()
    );
}

/// A large burst still leaves in frames of about 16 KiB, so its first bytes do not wait for
/// the whole burst to be read and translated.
#[tokio::test]
async fn a_large_burst_leaves_in_bounded_frames() {
    let h = common::start_with(
        "",
        SimConfig {
            chunks: 300,
            words: 6000,
            ..SimConfig::default()
        },
    )
    .await;
    let body = chat_body(
        "gpt-4o-mini",
        user("tell me a long story"),
        json!({"stream": true}),
    );
    let (frames, text) = raw_chunks(h.addr, &body).await;
    let events = text.matches("data: ").count();
    assert!(text.len() > 64 * 1024, "{} bytes", text.len());
    assert!(text.trim_end().ends_with("data: [DONE]"));
    let largest = frames.iter().copied().max().unwrap_or(0);
    assert!(largest <= 20 * 1024, "a {largest}-byte frame: {frames:?}");
    assert!(frames.len() >= 5, "{frames:?}");
    assert!(
        frames.len() * 10 <= events,
        "{} frames for {events} events",
        frames.len()
    );
}

/// An upstream that answers every request with `events` (and then `data: [DONE]`) in a single
/// write, closing the connection after it: the whole reply reaches the gateway in one read.
async fn one_write_upstream(events: usize) -> std::net::SocketAddr {
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let chunk = |delta: &str, finish: &str| {
        format!(
            "data: {{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-x\",\"choices\":[{{\"index\":0,\"delta\":{delta},\"finish_reason\":{finish}}}]}}\n\n"
        )
    };
    let mut reply = String::from(
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n",
    );
    reply.push_str(&chunk(r#"{"role":"assistant","content":""}"#, "null"));
    for i in 0..events {
        reply.push_str(&chunk(&format!(r#"{{"content":"w{i} "}}"#), "null"));
    }
    reply.push_str(&chunk("{}", r#""stop""#));
    reply.push_str("data: [DONE]\n\n");
    // The gateway's first read of a new upstream connection takes 2 KiB.
    assert!(reply.len() < 2048, "{} bytes", reply.len());
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let reply = reply.clone();
            tokio::spawn(async move {
                if common::read_small_request(&mut conn).await {
                    let _ = conn.write_all(reply.as_bytes()).await;
                }
            });
        }
    });
    addr
}

/// The first token does not wait for a burst behind it: when the provider sends a whole
/// reply at once, the first HTTP chunk carries the events up to the first token and goes out
/// before the rest are translated; a short reply's tail (finish, terminator) stays with it in
/// one chunk.
#[tokio::test]
async fn the_first_token_does_not_wait_for_the_burst_behind_it() {
    for (events, first_alone) in [(10, true), (1, false)] {
        let upstream = one_write_upstream(events).await;
        let yaml = format!(
            "version: 1\nproviders:\n  - {{ name: burst, kind: openai, base_url: \"http://{upstream}/v1\", api_key: sk-x }}\nmodels:\n  - {{ name: burst, deployments: [burst/gpt-x] }}\n"
        );
        let h = common::start_with(&yaml, SimConfig::default()).await;
        let body = chat_body("burst", user("hello"), json!({"stream": true}));
        let (frames, text) = raw_chunks(h.addr, &body).await;
        assert!(text.trim_end().ends_with("data: [DONE]"), "{text}");
        assert_eq!(text.matches("\"content\":\"w").count(), events, "{text}");
        let first = &text[..frames[0]];
        if first_alone {
            assert_eq!(
                first.matches("data: ").count(),
                2,
                "the first chunk should be the role chunk and the first token: {frames:?} {first}"
            );
            assert!(first.contains("\"w0 \""), "{first}");
            assert!(frames.len() >= 2, "{frames:?}");
        } else {
            assert_eq!(frames.len(), 1, "{frames:?}: {text}");
        }
    }
}

/// With `stream_options.include_usage` the client gets the usage (for the OpenAI family, in
/// the final `choices: []` chunk), with consistent totals.
async fn stream_include_usage(f: Family) {
    let h = f.start().await;
    let resp = h
        .post(
            "/v1/chat/completions",
            chat_body(
                &f.id(),
                user("echo: counting my tokens"),
                json!({"stream": true, "stream_options": {"include_usage": true}}),
            ),
        )
        .await;
    let s = OpenAiStream::read(resp).await;
    assert!(s.done, "{:?}", s.data);
    assert_eq!(s.text(), "counting my tokens");
    let usage = s.usage_chunks();
    let last = usage
        .last()
        .unwrap_or_else(|| panic!("no usage: {:?}", s.data));
    let u = &last["usage"];
    let (p, c) = (
        u["prompt_tokens"].as_u64().expect("prompt_tokens"),
        u["completion_tokens"].as_u64().expect("completion_tokens"),
    );
    assert!(p > 0, "{u}");
    assert_eq!(c, 3, "{u}");
    assert_eq!(u["total_tokens"].as_u64(), Some(p + c), "{u}");
    // The usage comes last: nothing but [DONE] after it.
    assert!(
        std::ptr::eq(*last, s.chunks.last().expect("chunks")),
        "usage not in the last chunk: {:?}",
        s.data
    );
}

/// A client that goes away mid-stream releases the deployment (in-flight back to 0) and the
/// gateway keeps serving.
#[tokio::test]
async fn client_disconnect_releases_the_upstream() {
    let h = common::start_with(
        GROUP_YAML,
        SimConfig {
            chunk_interval: Duration::from_millis(30),
            ..SimConfig::default()
        },
    )
    .await;
    let mut resp = h
        .post(
            "/v1/chat/completions",
            chat_body(
                "chat",
                user("[[sim:chunks=50]] talk slowly"),
                json!({"stream": true}),
            ),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let first = resp.chunk().await.expect("read").expect("a first chunk");
    assert!(!first.is_empty());
    assert_eq!(in_flight(&h).await, 1, "the stream should be in flight");
    drop(resp);
    let n = in_flight_settles(&h, 0).await;
    assert_eq!(n, 0, "in-flight did not return to 0 after the client left");
    let live = h
        .client
        .get(h.url("/health/live"))
        .send()
        .await
        .expect("live");
    assert_eq!(live.status(), StatusCode::OK);
    let again = h
        .post(
            "/v1/chat/completions",
            chat_body("chat", user("echo: still here"), json!({})),
        )
        .await;
    let (status, _, body) = super::json_of(again).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["choices"][0]["message"]["content"], "still here");
}

/// Asserts a stream that broke after it started: content went out, then an error event in
/// the OpenAI shape, and no `[DONE]` (a truncated answer must not look complete).
fn assert_ends_with_error(s: &OpenAiStream, expect_type: &str) {
    assert!(!s.done, "a broken stream ended with [DONE]: {:?}", s.data);
    assert!(
        !s.text().is_empty(),
        "no content before the failure: {:?}",
        s.data
    );
    let last = s.chunks.last().expect("chunks");
    let e = super::openai_error(last);
    assert_eq!(e["type"], expect_type, "{last}");
    assert!(
        s.finish_reason().is_none(),
        "a broken stream reported a finish reason: {:?}",
        s.data
    );
    assert_eq!(
        s.chunks.iter().filter(|c| c.get("error").is_some()).count(),
        1,
        "{:?}",
        s.data
    );
}

async fn broken_stream(family: Family, directive: &str) -> OpenAiStream {
    let h = family.start().await;
    let resp = h
        .post(
            "/v1/chat/completions",
            chat_body(
                &family.id(),
                user(&format!("{directive} tell me something")),
                json!({"stream": true}),
            ),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let s = OpenAiStream::read(resp).await;
    assert_eq!(
        h.sim.request_count(family.model),
        1,
        "no alternative to try"
    );
    s
}

#[tokio::test]
async fn mid_stream_error_event_openai() {
    let s = broken_stream(Family::OPENAI, "[[sim:mid_stream_error=2]]").await;
    assert_ends_with_error(&s, "upstream_error");
}

#[tokio::test]
async fn mid_stream_error_event_anthropic() {
    let s = broken_stream(Family::ANTHROPIC, "[[sim:mid_stream_error=2]]").await;
    assert_ends_with_error(&s, "upstream_error");
}

#[tokio::test]
async fn mid_stream_error_event_gemini() {
    let s = broken_stream(Family::GEMINI, "[[sim:mid_stream_error=2]]").await;
    assert_ends_with_error(&s, "upstream_error");
}

#[tokio::test]
async fn mid_stream_error_event_openrouter() {
    let s = broken_stream(Family::OPENROUTER, "[[sim:mid_stream_error=2]]").await;
    assert_ends_with_error(&s, "upstream_error");
}

#[tokio::test]
async fn dropped_connection_ends_with_error_openai() {
    let s = broken_stream(Family::OPENAI, "[[sim:drop_after=2]]").await;
    assert_ends_with_error(&s, "upstream_error");
}

#[tokio::test]
async fn dropped_connection_ends_with_error_anthropic() {
    let s = broken_stream(Family::ANTHROPIC, "[[sim:drop_after=2]]").await;
    assert_ends_with_error(&s, "upstream_error");
}

#[tokio::test]
async fn dropped_connection_ends_with_error_gemini() {
    let s = broken_stream(Family::GEMINI, "[[sim:drop_after=2]]").await;
    assert_ends_with_error(&s, "upstream_error");
}

/// A stream that goes silent longer than the provider's idle timeout ends with a timeout
/// error event, promptly.
#[tokio::test]
async fn idle_timeout_ends_stream_with_error() {
    let h = common::start(
        r#"
providers:
  - name: openai
    kind: openai
    base_url: ${SIM}/v1
    api_key: sk-test
    timeouts:
      idle: 300ms
"#,
    )
    .await;
    let t = tokio::time::Instant::now();
    let resp = h
        .post(
            "/v1/chat/completions",
            chat_body(
                "openai/gpt-4o-mini",
                user("[[sim:stall_after=2]] go"),
                json!({"stream": true}),
            ),
        )
        .await;
    let s = tokio::time::timeout(Duration::from_secs(5), OpenAiStream::read(resp))
        .await
        .expect("the stalled stream was never ended");
    assert_ends_with_error(&s, "timeout_error");
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
}

/// While the upstream is quiet (but within its idle deadline), the client gets SSE keep-alive
/// comments, so its own idle timers do not fire first; the stream still ends with an error.
#[tokio::test]
async fn quiet_upstream_gets_keep_alive_comments() {
    let h = common::start(
        r#"
providers:
  - name: openai
    kind: openai
    base_url: ${SIM}/v1
    api_key: sk-test
    timeouts:
      idle: 800ms
"#,
    )
    .await;
    let resp = h
        .post(
            "/v1/chat/completions",
            chat_body(
                "openai/gpt-4o-mini",
                user("[[sim:stall_after=2]] go"),
                json!({"stream": true}),
            ),
        )
        .await;
    let text = tokio::time::timeout(Duration::from_secs(5), resp.text())
        .await
        .expect("the stalled stream was never ended")
        .expect("body");
    assert!(
        text.contains("\n: keep-alive\n\n") || text.starts_with(": keep-alive"),
        "{text}"
    );
    assert!(text.contains("timeout_error"), "{text}");
    assert!(!text.contains("[DONE]"), "{text}");
}
