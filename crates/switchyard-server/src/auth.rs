//! Gateway authentication, deny by default: every route needs the master key (when one is
//! set) except the short list in [`OPEN_ROUTES`].

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::{ApiError, ErrorKind};
use crate::state::AppState;

/// Routes served without a key.
pub(crate) const OPEN_ROUTES: &[&str] = &["/health/live", "/health/ready"];

/// The key a client presented: `Authorization: Bearer`, `x-api-key` (Anthropic SDK) or
/// `api-key` (Azure SDK).
fn presented(headers: &HeaderMap) -> Option<&str> {
    if let Some(v) = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let v = v.trim();
        return Some(
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
                .unwrap_or(v)
                .trim(),
        );
    }
    headers
        .get("x-api-key")
        .or_else(|| headers.get("api-key"))
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// Constant-time comparison, so the key cannot be guessed byte by byte from timings.
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Middleware enforcing the master key.
pub(crate) async fn require_key(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let Some(master) = &state.master_key else {
        return next.run(req).await;
    };
    if OPEN_ROUTES.contains(&req.uri().path()) {
        return next.run(req).await;
    }
    let anthropic = req.uri().path() == "/v1/messages";
    match presented(req.headers()) {
        Some(k) if same(k.as_bytes(), master.expose().as_bytes()) => next.run(req).await,
        found => {
            let msg = if found.is_some() {
                "invalid gateway API key"
            } else {
                "missing gateway API key: send `Authorization: Bearer <key>`"
            };
            let err = ApiError::new(ErrorKind::Unauthorized, msg);
            if anthropic { err.anthropic() } else { err }.into_response()
        }
    }
}
