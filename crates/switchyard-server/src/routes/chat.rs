//! `POST /v1/chat/completions`.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use switchyard_core::{ChatInput, Ingress};
use tokio::time::Instant;

use crate::error::ApiError;
use crate::extract::{Body, WithHeaders};
use crate::headers::{client_request_id, new_request_id};
use crate::options;
use crate::routes::reply::chat_response;
use crate::state::AppState;

/// Chat completions, streaming or not, in the OpenAI format.
pub(crate) async fn chat_completions(
    State(state): State<AppState>,
    WithHeaders(headers, Body(body)): WithHeaders<Body>,
) -> Response {
    let started = Instant::now();
    let request_id = request_id(&headers);
    let result = async {
        let opts = options::from_headers(&headers)?;
        let input = ChatInput::parse(Ingress::OpenAi, body, opts)?;
        // Boxed: inline, the engine's future would size the handler's, which axum and tower
        // move (copy) several times before the first poll.
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
