//! Liveness and readiness.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::state::AppState;

/// The process is up.
pub(crate) async fn live() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

/// The gateway can serve: at least one provider is configured.
pub(crate) async fn ready(State(state): State<AppState>) -> Response {
    let snap = state.engine.snapshot();
    let providers: Vec<&str> = snap
        .config
        .providers
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    if providers.is_empty() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "not_ready", "reason": "no provider configured"})),
        )
            .into_response();
    }
    Json(json!({"status": "ready", "providers": providers, "models": snap.config.models.len()}))
        .into_response()
}
