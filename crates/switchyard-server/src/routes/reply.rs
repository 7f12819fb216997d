//! Turning an engine reply into an HTTP response: JSON or SSE body plus transparency headers.

use std::convert::Infallible;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use futures_util::StreamExt;
use switchyard_core::{ChatReply, ReplyBody};
use tokio::time::Instant;

use crate::headers;

/// Builds the response for a successful chat reply.
pub(crate) fn chat_response(reply: ChatReply, started: Instant) -> Response {
    let ChatReply { served, body, .. } = reply;
    let (body, content_type) = match body {
        ReplyBody::Complete(bytes) => (Body::from(bytes), "application/json"),
        ReplyBody::Stream(stream) => (
            Body::from_stream(stream.map(Ok::<_, Infallible>)),
            "text/event-stream",
        ),
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = StatusCode::OK;
    let h = resp.headers_mut();
    // Sized once, exactly: growing 4 → 8 → 16 rehashes twice, and hyper keeps this map for the
    // connection's life (it parses the next request into it), so spare room costs ~100 bytes
    // per entry for as long as a stream stays open.
    let stream = content_type == "text/event-stream";
    // Content type, the request id the edge adds (`edge::stamp`), the stream's two; the
    // transparency headers travel beside the map (`headers::Transparency`).
    let count = 2 + usize::from(stream) * 2;
    h.reserve(count);
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    if stream {
        h.insert(
            http::header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        );
        h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    }
    debug_assert_eq!(h.len() + 1, count, "the map's size is out of step");
    resp.extensions_mut()
        .insert(headers::Transparency { served, started });
    resp
}
