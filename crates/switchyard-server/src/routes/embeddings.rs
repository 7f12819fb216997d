//! `POST /v1/embeddings`.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use tokio::time::Instant;

use crate::error::ApiError;
use crate::extract::read_body;
use crate::headers;
use crate::state::AppState;

/// Embeddings in the OpenAI format, from any provider that has them.
pub(crate) async fn embeddings(state: &AppState, req: Request) -> Response {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let body = match read_body(&parts.headers, body, state.body_limit).await {
        Ok(body) => body,
        Err(e) => return e.into_response(),
    };
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
            resp
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}
