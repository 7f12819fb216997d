//! `GET /v1/models` and `GET /v1/models/{id}`.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::error::ApiError;
use crate::state::AppState;

/// Every model the gateway can name: configured groups, then `provider/model` ids.
pub(crate) async fn list(State(state): State<AppState>) -> Response {
    let snap = state.engine.snapshot();
    let data: Vec<serde_json::Value> = snap
        .model_ids()
        .into_iter()
        .map(|(id, owner)| json!({"id": id, "object": "model", "created": 0, "owned_by": owner}))
        .collect();
    Json(json!({"object": "list", "data": data})).into_response()
}

/// One model, if the gateway can serve it.
pub(crate) async fn get(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let snap = state.engine.snapshot();
    match snap.resolve(&id) {
        Ok(g) => {
            let owner = if g.configured {
                "switchyard".to_owned()
            } else {
                g.deployments
                    .first()
                    .map(|d| d.cfg.provider.clone())
                    .unwrap_or_default()
            };
            Json(json!({"id": id, "object": "model", "created": 0, "owned_by": owner}))
                .into_response()
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}
