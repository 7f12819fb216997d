//! `POST /v1/messages`: the Anthropic Messages API, so the official Anthropic SDK reaches any
//! model. Errors come back in Anthropic's shape, which that SDK parses.

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

/// Anthropic-format messages. Not an `async fn`, for the reason given in `chat.rs`.
pub(crate) fn messages<B>(state: AppState, req: Request<B>) -> impl Future<Output = Response>
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
            let input = ChatInput::parse(Ingress::Anthropic, body, opts)?;
            if !input.stream {
                // Validate the whole request up front, as Anthropic does (max_tokens, roles...).
                input.canonical()?;
            }
            // Not boxed on its own, as in chat.rs.
            let reply = state.engine.chat(input).await?;
            Ok::<_, ApiError>(chat_response(reply, started))
        }
        .await;
        result.unwrap_or_else(|e| e.anthropic().into_response())
    }
}
