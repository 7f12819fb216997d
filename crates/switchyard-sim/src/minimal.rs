//! The minimal mock: one canned OpenAI chat completion for every request, nothing parsed.
//!
//! The full simulator validates each request, plans a reply and renders it through
//! `serde_json::Value`, which costs it three to four times the CPU of a server that only answers
//! (docs/benchmarks.md). The performance issue's reference figures were taken with such a server
//! ("a Rust mock upstream": ~51,000 requests/s and ~10 µs of its CPU per request at concurrency
//! 64 on two cores), so the benchmark harness runs this one beside the simulator: to say how this
//! machine compares with that one, and to measure the gateway where the upstream costs next to
//! nothing and the gateway's own core is the bottleneck.
//!
//! It answers every method and path, reads and discards the request body, and speaks HTTP/1.1
//! only (keep-alive). Not for tests of the gateway's behaviour: it ignores `stream`, the model,
//! the key and every fault directive.

use std::convert::Infallible;
use std::future::Future;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// The canned reply: an OpenAI chat completion with usage, as `gpt-4o-mini` would send it.
pub const MINIMAL_REPLY: &str = concat!(
    r#"{"id":"chatcmpl-mock","object":"chat.completion","created":1764720000,"#,
    r#""model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","#,
    r#""content":"Switchyards sort railcars onto tracks to build trains.","refusal":null},"#,
    r#""logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":24,"#,
    r#""completion_tokens":11,"total_tokens":35},"system_fingerprint":"fp_mock"}"#
);

/// Serves the canned reply on `listener` until `shutdown` resolves; connections still open then
/// end with the runtime.
pub async fn serve_minimal(
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => return Ok(()),
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _)) => {
                // Small replies must not wait for Nagle's algorithm.
                let _ = stream.set_nodelay(true);
                tokio::spawn(connection(stream));
            }
            // Out of file descriptors or a connection reset before accept: keep serving the
            // others; the pause stops a hot loop while descriptors are exhausted.
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(5)).await,
        }
    }
}

async fn connection(stream: tokio::net::TcpStream) {
    let service = hyper::service::service_fn(answer);
    // A client that resets or sends garbage ends only its own connection.
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

async fn answer(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    // Read the body like any server would before answering; a broken body still gets the reply
    // (hyper closes the connection after it).
    let _ = request.into_body().collect().await;
    let mut response = Response::new(Full::new(Bytes::from_static(MINIMAL_REPLY.as_bytes())));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canned_reply_is_a_chat_completion_with_usage() {
        let v: serde_json::Value = serde_json::from_str(MINIMAL_REPLY).expect("valid JSON");
        assert_eq!(v["object"], "chat.completion");
        assert_eq!(v["choices"][0]["message"]["role"], "assistant");
        assert_eq!(v["usage"]["total_tokens"], 35);
    }
}
