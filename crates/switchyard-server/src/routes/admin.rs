//! `/admin/v1`: operator views. Behind the master key like everything else.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::state::AppState;

/// Health, load and cooldown state of every configured deployment.
pub(crate) async fn deployments(State(state): State<AppState>) -> Response {
    Json(json!({"deployments": state.engine.deployment_states()})).into_response()
}
