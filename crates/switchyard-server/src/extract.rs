//! Body extraction that owns its rejections: an oversized or unreadable body becomes our
//! error shape (413 / 400), never axum's plain-text rejection.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode};

use crate::error::{ApiError, ErrorKind};

/// The raw request body, size-capped by the router's body limit.
#[derive(Debug)]
pub(crate) struct Body(pub(crate) Bytes);

/// Same as [`Body`], rejecting in the Anthropic error shape.
#[derive(Debug)]
pub(crate) struct AnthropicBody(pub(crate) Bytes);

fn reject(r: BytesRejection) -> ApiError {
    if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            ErrorKind::PayloadTooLarge,
            "request body exceeds the gateway's body limit",
        )
    } else {
        ApiError::new(
            ErrorKind::InvalidRequest,
            format!("cannot read request body: {}", r.body_text()),
        )
    }
}

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Bytes::from_request(req, state)
            .await
            .map(Body)
            .map_err(reject)
    }
}

impl<S: Send + Sync> FromRequest<S> for AnthropicBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Bytes::from_request(req, state)
            .await
            .map(AnthropicBody)
            .map_err(|r| reject(r).anthropic())
    }
}

/// The request's headers, moved out of it, and its body extracted as `B`. axum's `HeaderMap`
/// extractor clones the whole map (two allocations and a copy per header on every request);
/// this takes it, and `B` is extracted from what is left (the body limit stays in force).
#[derive(Debug)]
pub(crate) struct WithHeaders<B>(pub(crate) HeaderMap, pub(crate) B);

impl<S, B> FromRequest<S> for WithHeaders<B>
where
    S: Send + Sync,
    B: FromRequest<S>,
{
    type Rejection = B::Rejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let headers = std::mem::take(&mut parts.headers);
        let body = B::from_request(Request::from_parts(parts, body), state).await?;
        Ok(Self(headers, body))
    }
}
