//! `POST /v1/route/explain`: how a request would be routed, without calling any provider.

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use axum::Json;
use switchyard_core::{ChatInput, Ingress};

use crate::error::ApiError;
use crate::extract::read_body;
use crate::options;
use crate::state::AppState;

/// Explains a chat request's routing.
pub(crate) async fn explain(state: &AppState, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let headers = parts.headers;
    let result = async {
        let body = read_body(&headers, body, state.body_limit).await?;
        let opts = options::from_headers(&headers)?;
        let input = ChatInput::parse(Ingress::OpenAi, body, opts)?;
        Ok::<_, ApiError>(state.engine.explain(&input)?)
    }
    .await;
    match result {
        Ok(e) => Json(e).into_response(),
        Err(e) => e.into_response(),
    }
}
