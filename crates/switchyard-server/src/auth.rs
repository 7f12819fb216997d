//! Gateway authentication, deny by default: every route needs the master key (when one is
//! set) except the short list in [`OPEN_ROUTES`]. Enforced by [`crate::edge::App`].

use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use switchyard_config::Secret;

use crate::error::{ApiError, ErrorKind};

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

/// The 401 for a request `master` does not admit, or `None` to let it through. Routes in
/// [`OPEN_ROUTES`] need no key; `/v1/messages` is refused in the Anthropic error shape.
pub(crate) fn refusal(master: &Secret, path: &str, headers: &HeaderMap) -> Option<Response> {
    if OPEN_ROUTES.contains(&path) {
        return None;
    }
    let msg = match presented(headers) {
        Some(k) if same(k.as_bytes(), master.expose().as_bytes()) => return None,
        Some(_) => "invalid gateway API key",
        None => "missing gateway API key: send `Authorization: Bearer <key>`",
    };
    let err = ApiError::new(ErrorKind::Unauthorized, msg);
    let err = if path == "/v1/messages" {
        err.anthropic()
    } else {
        err
    };
    Some(err.into_response())
}
