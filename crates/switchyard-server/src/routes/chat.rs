//! `POST /v1/chat/completions`. The edge gives every response its `x-request-id`.

use std::future::Future;

use axum::body::Bytes;
use axum::http::Request;
use axum::response::{IntoResponse, Response};
use switchyard_core::{ChatInput, Ingress};
use tokio::time::Instant;

use crate::error::ApiError;
use crate::extract::{read_body, BoxError};
use crate::options;
use crate::routes::reply::chat_response;
use crate::state::AppState;

/// Chat completions, streaming or not, in the OpenAI format.
///
/// Not an `async fn`: the request is taken apart before the future exists, so the future
/// holds the headers and the body, not the whole `Request` (an `async fn` keeps its
/// arguments in its state for its whole life).
pub(crate) fn chat_completions<B>(
    state: AppState,
    req: Request<B>,
) -> impl Future<Output = Response>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let headers = parts.headers;
    async move {
        let result = async {
            let body = read_body(&headers, body, state.body_limit).await?;
            let mut opts = options::from_headers(&headers)?;
            opts.received = Some(started);
            let input = ChatInput::parse(Ingress::OpenAi, body, opts)?;
            // Not boxed on its own: the edge boxes the whole request's future once, before it is
            // first polled, so nothing moves the engine's large future after that (a box of its
            // own was one more allocation and copy, ~300 instructions).
            let reply = state.engine.chat(input).await?;
            Ok::<_, ApiError>(chat_response(reply, started))
        }
        .await;
        result.unwrap_or_else(IntoResponse::into_response)
    }
}
