//! The router and its layers.
//!
//! Layers, outermost first (a request passes them in this order):
//! 1. `CatchPanicLayer`: a bug becomes a 500 in the OpenAI error shape, never a dropped
//!    connection.
//! 2. `DefaultBodyLimit`: bodies over `server.body_limit` are refused while being read (413 in
//!    our shape, via the body extractors).
//! 3. `require_key`: deny by default; every route except `auth::OPEN_ROUTES` needs the master
//!    key when one is set.
//!
//! Outside them all, `ensure_request_id` gives every response an `x-request-id`.
//!
//! Everything else (routing, limits, attempts, accounting) is plain async code in the engine,
//! called by thin handlers. Unknown routes and wrong methods get our error shape too.

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;

use crate::auth::require_key;
use crate::error::{ApiError, ErrorKind};
use crate::routes::{admin, chat, embeddings, explain, health, messages, models};
use crate::state::AppState;

/// Builds the application.
pub fn app(state: AppState) -> Router {
    let limit = state.body_limit;
    Router::new()
        .route(
            "/v1/chat/completions",
            post(chat::chat_completions).fallback(method_not_allowed),
        )
        .route(
            "/v1/messages",
            post(messages::messages).fallback(method_not_allowed),
        )
        .route(
            "/v1/embeddings",
            post(embeddings::embeddings).fallback(method_not_allowed),
        )
        .route("/v1/models", get(models::list))
        .route("/v1/models/{*id}", get(models::get))
        .route("/v1/route/explain", post(explain::explain))
        .route("/admin/v1/deployments", get(admin::deployments))
        .route("/health/live", get(health::live))
        .route("/health/ready", get(health::ready))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), require_key))
        .layer(DefaultBodyLimit::max(limit))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(middleware::from_fn(ensure_request_id))
        .with_state(state)
}

/// Every response carries `x-request-id`, also those refused before a handler ran (missing
/// key, body too large, unknown route, panic). Handlers set their own; this fills the gap.
async fn ensure_request_id(req: axum::extract::Request, next: middleware::Next) -> Response {
    let id = crate::routes::chat::request_id(req.headers());
    let resp = next.run(req).await;
    if resp.headers().contains_key(crate::headers::REQUEST_ID) {
        resp
    } else {
        crate::routes::chat::with_request_id(resp, &id)
    }
}

async fn not_found() -> Response {
    ApiError::new(
        ErrorKind::NotFound,
        "no such route; see GET /v1/models and the docs",
    )
    .into_response()
}

async fn method_not_allowed() -> Response {
    ApiError::new(
        ErrorKind::MethodNotAllowed,
        "method not allowed on this route",
    )
    .into_response()
}

fn panic_response(payload: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    tracing::error!(panic = %what, "request handler panicked; returned 500");
    let mut r = ApiError::new(
        ErrorKind::Internal,
        "internal error: the gateway hit a bug; it has been logged",
    )
    .into_response();
    *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    r
}
