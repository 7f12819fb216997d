//! The application: the edge (request id, master key, panics; see [`crate::edge`]) in front
//! of the hot routes, called directly, and of axum's router for every other route.
//!
//! Everything else (routing, limits, attempts, accounting) is plain async code in the engine,
//! called by thin handlers. Unknown routes and wrong methods get our error shape too. Request
//! bodies are capped by `server.body_limit` where they are read (`crate::extract`).

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;

use crate::edge::App;
use crate::error::{ApiError, ErrorKind};
use crate::routes::{admin, embeddings, explain, health, models};
use crate::state::AppState;

/// Builds the application.
pub fn app(state: AppState) -> App {
    App::new(state.clone(), routes().with_state(state))
}

/// Every route but the hot ones. `POST /v1/chat/completions` and `POST /v1/messages` never
/// reach this router (the edge calls their handlers directly); their other methods do, and
/// get 405.
fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/chat/completions", any(method_not_allowed))
        .route("/v1/messages", any(method_not_allowed))
        .route(
            "/v1/embeddings",
            post(|State(s): State<AppState>, req: Request| async move {
                embeddings::embeddings(&s, req).await
            })
            .fallback(method_not_allowed),
        )
        .route("/v1/models", get(models::list))
        .route("/v1/models/{*id}", get(models::get))
        .route(
            "/v1/route/explain",
            post(|State(s): State<AppState>, req: Request| async move {
                explain::explain(&s, req).await
            }),
        )
        .route("/admin/v1/deployments", get(admin::deployments))
        .route("/health/live", get(health::live))
        .route("/health/ready", get(health::ready))
        .fallback(not_found)
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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use axum::Router;
    use tower::ServiceExt;

    use crate::edge::App;
    use crate::state::AppState;

    fn state(yaml: &str) -> AppState {
        let config = switchyard_config::load_str(yaml, &HashMap::new()).expect("config");
        AppState::new(switchyard_core::Engine::new(config).expect("engine"))
    }

    async fn boom() -> &'static str {
        panic!("boom")
    }

    async fn call(app: App, req: Request<Body>) -> (StatusCode, String, serde_json::Value) {
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
        let st = state("");
        let app = App::new(
            st.clone(),
            Router::new().route("/boom", get(boom)).with_state(st),
        );
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
        let st = state("server:\n  master_key: k\n");
        let app = App::new(
            st.clone(),
            Router::new().route("/boom", get(boom)).with_state(st),
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
