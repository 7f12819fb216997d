//! `POST /v1/chat/completions`.

use axum::body::Bytes;
use axum::http::{HeaderMap, Request};
use axum::response::{IntoResponse, Response};
use switchyard_core::{ChatInput, Ingress};
use tokio::time::Instant;

use crate::error::ApiError;
use crate::extract::{read_body, BoxError};
use crate::headers::{client_request_id, new_request_id};
use crate::options;
use crate::routes::reply::chat_response;
use crate::state::AppState;

/// Chat completions, streaming or not, in the OpenAI format.
pub(crate) async fn chat_completions<B>(state: &AppState, req: Request<B>) -> Response
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let headers = parts.headers;
    let request_id = request_id(&headers);
    let result = async {
        let body = read_body(&headers, body, state.body_limit).await?;
        let opts = options::from_headers(&headers)?;
        let input = ChatInput::parse(Ingress::OpenAi, body, opts)?;
        // Boxed: inline, the engine's future (large, and mostly idle states) would size
        // every request's future.
        let reply = Box::pin(state.engine.chat(input)).await?;
        Ok::<_, ApiError>(chat_response(reply, &request_id, started))
    }
    .await;
    match result {
        Ok(r) => r,
        Err(e) => with_request_id(e.into_response(), &request_id),
    }
}

/// The client's `x-request-id` when it is short and printable, else a new one.
pub(crate) fn request_id(headers: &HeaderMap) -> String {
    client_request_id(headers)
        .and_then(|v| v.to_str().ok())
        .map_or_else(new_request_id, str::to_owned)
}

/// Adds the request id header to any response.
pub(crate) fn with_request_id(mut resp: Response, id: &str) -> Response {
    if let Ok(v) = axum::http::HeaderValue::from_str(id) {
        resp.headers_mut().insert(crate::headers::REQUEST_ID, v);
    }
    resp
}
