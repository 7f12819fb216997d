//! `POST /v1/route/explain`: how a request would be routed, without calling any provider.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use switchyard_core::{ChatInput, Ingress};

use crate::error::ApiError;
use crate::extract::{Body, WithHeaders};
use crate::options;
use crate::state::AppState;

/// Explains a chat request's routing.
pub(crate) async fn explain(
    State(state): State<AppState>,
    WithHeaders(headers, Body(body)): WithHeaders<Body>,
) -> Response {
    let result = (|| {
        let opts = options::from_headers(&headers)?;
        let input = ChatInput::parse(Ingress::OpenAi, body, opts)?;
        Ok::<_, ApiError>(state.engine.explain(&input)?)
    })();
    match result {
        Ok(e) => Json(e).into_response(),
        Err(e) => e.into_response(),
    }
}
