//! The HTTP control API under `/_sim/`, for out-of-process users (e2e tests, benchmarks).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, put};
use axum::Router;
use bytes::Bytes;
use serde_json::{json, Value};

use crate::fault::scenario_from_json;
use crate::state::SimState;

pub(crate) fn routes() -> Router<SimState> {
    Router::new()
        .route("/_sim/scenarios/{*model}", put(set_scenario))
        .route("/_sim/scenarios", delete(clear_scenarios))
        .route("/_sim/requests/{*model}", get(requests))
        .route("/_sim/count/{*model}", get(count))
        .route("/_sim/rpm/{*model}", put(set_rpm))
}

fn json_response(status: StatusCode, value: &Value) -> Response {
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

fn bad_request(message: &str) -> Response {
    json_response(StatusCode::BAD_REQUEST, &json!({ "error": message }))
}

async fn set_scenario(
    State(state): State<SimState>,
    Path(model): Path<String>,
    body: Bytes,
) -> Response {
    let parsed = serde_json::from_slice::<Value>(&body).map_err(|e| e.to_string());
    match parsed.and_then(|v| scenario_from_json(&v)) {
        Ok(scenario) => {
            state.set_scenario(&model, scenario);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(message) => bad_request(&message),
    }
}

async fn clear_scenarios(State(state): State<SimState>) -> Response {
    state.clear_scenarios();
    StatusCode::NO_CONTENT.into_response()
}

async fn requests(State(state): State<SimState>, Path(model): Path<String>) -> Response {
    let list: Vec<Value> = state
        .requests(&model)
        .into_iter()
        .map(|r| {
            json!({
                "method": r.method,
                "path": r.path,
                "headers": r.headers,
                "body": String::from_utf8_lossy(&r.body),
            })
        })
        .collect();
    json_response(StatusCode::OK, &Value::Array(list))
}

async fn count(State(state): State<SimState>, Path(model): Path<String>) -> Response {
    let count = state.request_count(&model);
    json_response(StatusCode::OK, &json!({ "model": model, "count": count }))
}

async fn set_rpm(
    State(state): State<SimState>,
    Path(model): Path<String>,
    body: Bytes,
) -> Response {
    let rpm = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("rpm").and_then(Value::as_u64));
    match rpm {
        Some(rpm) => {
            state.set_rpm_limit(&model, rpm);
            StatusCode::NO_CONTENT.into_response()
        }
        None => bad_request("expected {\"rpm\": N}"),
    }
}
