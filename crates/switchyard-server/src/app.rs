//! The router and its layers.
//!
//! Layers, outermost first (a request passes them in this order), applied to every route and
//! fallback as one tower stack, so a request passes one boxed route, not one per layer:
//! 1. [`IdAuthLayer`]: every response carries an `x-request-id`, also those refused before a
//!    handler ran (missing key, body too large, unknown route, panic); and deny by default:
//!    every route except `auth::OPEN_ROUTES` needs the master key when one is set.
//! 2. `CatchPanicLayer`: a bug becomes a 500 in the OpenAI error shape, never a dropped
//!    connection.
//! 3. `DefaultBodyLimit`: bodies over `server.body_limit` are refused while being read (413 in
//!    our shape, via the body extractors).
//!
//! Everything else (routing, limits, attempts, accounting) is plain async code in the engine,
//! called by thin handlers. Unknown routes and wrong methods get our error shape too.

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;

use crate::edge::IdAuthLayer;
use crate::error::{ApiError, ErrorKind};
use crate::routes::{admin, chat, embeddings, explain, health, messages, models};
use crate::state::AppState;

/// Builds the application.
pub fn app(state: AppState) -> Router {
    let routes = Router::new()
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
        .fallback(not_found);
    layered(routes, state)
}

/// `routes` (fallbacks included) inside the edge layers, outermost first: request id and
/// master key, panic catcher, body limit.
fn layered(routes: Router<AppState>, state: AppState) -> Router {
    routes
        .layer((
            IdAuthLayer::new(state.master_key.clone()),
            CatchPanicLayer::custom(panic_response),
            DefaultBodyLimit::max(state.body_limit),
        ))
        .with_state(state)
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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use axum::Router;
    use tower::ServiceExt;

    use super::layered;
    use crate::state::AppState;

    fn state(yaml: &str) -> AppState {
        let config = switchyard_config::load_str(yaml, &HashMap::new()).expect("config");
        AppState::new(switchyard_core::Engine::new(config).expect("engine"))
    }

    async fn boom() -> &'static str {
        panic!("boom")
    }

    async fn call(app: Router, req: Request<Body>) -> (StatusCode, String, serde_json::Value) {
        let resp = app.oneshot(req).await.expect("infallible");
        let status = resp.status();
        let id = resp
            .headers()
            .get(crate::headers::REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .expect("body");
        let body = serde_json::from_slice(&bytes).expect("JSON body");
        (status, id, body)
    }

    /// A panicking handler is a 500 in the OpenAI shape, with a request id: the client's when
    /// it sent a sane one, else a new one.
    #[tokio::test]
    async fn panic_is_500_with_request_id() {
        let app = layered(Router::new().route("/boom", get(boom)), state(""));
        let req = Request::get("/boom")
            .header("x-request-id", "client-panic-1")
            .body(Body::empty())
            .expect("request");
        let (status, id, body) = call(app.clone(), req).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
        assert_eq!(body["error"]["type"], "internal_error", "{body}");
        assert_eq!(id, "client-panic-1");

        let req = Request::get("/boom").body(Body::empty()).expect("request");
        let (status, id, _) = call(app, req).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(id.starts_with("req_"), "{id}");
    }

    /// With a master key, a panicking route is reached only with the key; the refusal and the
    /// panic both carry the request id.
    #[tokio::test]
    async fn keyed_panic_route_needs_the_key() {
        let app = layered(
            Router::new().route("/boom", get(boom)),
            state("server:\n  master_key: k\n"),
        );
        let req = Request::get("/boom")
            .header("x-request-id", "no-key")
            .body(Body::empty())
            .expect("request");
        let (status, id, body) = call(app.clone(), req).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(body["error"]["code"], "invalid_api_key", "{body}");
        assert_eq!(id, "no-key");

        let req = Request::get("/boom")
            .header("authorization", "Bearer k")
            .body(Body::empty())
            .expect("request");
        let (status, id, _) = call(app, req).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(id.starts_with("req_"), "{id}");
    }
}
