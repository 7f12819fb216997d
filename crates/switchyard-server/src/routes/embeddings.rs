//! `POST /v1/embeddings`.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use tokio::time::Instant;

use crate::error::ApiError;
use crate::extract::Body;
use crate::headers;
use crate::routes::chat::{request_id, with_request_id};
use crate::state::AppState;

/// Embeddings in the OpenAI format, from any provider that has them.
pub(crate) async fn embeddings(
    State(state): State<AppState>,
    h: HeaderMap,
    Body(body): Body,
) -> Response {
    let started = Instant::now();
    let id = request_id(&h);
    match state.engine.embeddings(body).await {
        Ok(reply) => {
            let mut resp = (
                [(
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                reply.body,
            )
                .into_response();
            headers::served(resp.headers_mut(), &reply.served, started.elapsed());
            with_request_id(resp, &id)
        }
        Err(e) => with_request_id(ApiError::from(e).into_response(), &id),
    }
}
