//! `POST /v1/messages`: the Anthropic Messages API, so the official Anthropic SDK reaches any
//! model. Errors come back in Anthropic's shape, which that SDK parses.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use switchyard_core::{ChatInput, Ingress};
use tokio::time::Instant;

use crate::error::ApiError;
use crate::extract::{AnthropicBody, WithHeaders};
use crate::options;
use crate::routes::chat::{request_id, with_request_id};
use crate::routes::reply::chat_response;
use crate::state::AppState;

/// Anthropic-format messages.
pub(crate) async fn messages(
    State(state): State<AppState>,
    WithHeaders(headers, AnthropicBody(body)): WithHeaders<AnthropicBody>,
) -> Response {
    let started = Instant::now();
    let request_id = request_id(&headers);
    let result = async {
        let opts = options::from_headers(&headers)?;
        let input = ChatInput::parse(Ingress::Anthropic, body, opts)?;
        if !input.stream {
            // Validate the whole request up front, as Anthropic does (max_tokens, roles...).
            input.canonical()?;
        }
        // Boxed, as in chat.rs: keeps the handler's future small for axum's moves.
        let reply = Box::pin(state.engine.chat(input)).await?;
        Ok::<_, ApiError>(chat_response(reply, &request_id, started))
    }
    .await;
    match result {
        Ok(r) => r,
        Err(e) => with_request_id(e.anthropic().into_response(), &request_id),
    }
}
