//! The request id and the master-key check, in one hand-written tower service.
//!
//! [`IdAuthLayer`] wraps every route (the fallbacks included). For each request it:
//! 1. notes the client's `x-request-id` when it is short and printable (a reference-counted
//!    clone of the header value, no copy);
//! 2. refuses the request with 401 when the master key does not admit it (see
//!    [`crate::auth::refusal`]);
//! 3. otherwise calls the inner service;
//!
//! and gives the response an `x-request-id` when it has none (refusals, 404, 405, 413,
//! panics): the client's, else a new one. Handlers that set their own keep theirs.
//!
//! The future is a plain enum: no boxing, no cloning of the inner service, unlike
//! `axum::middleware::from_fn`.

use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::http::header::Entry;
use axum::http::{HeaderValue, Request};
use axum::response::{IntoResponse, Response};
use pin_project_lite::pin_project;
use switchyard_config::Secret;
use tower::{Layer, Service};

use crate::auth;
use crate::headers::{client_request_id, new_request_id, REQUEST_ID};

/// Layer producing [`IdAuth`].
#[derive(Clone, Debug)]
pub(crate) struct IdAuthLayer {
    master_key: Option<Arc<Secret>>,
}

impl IdAuthLayer {
    /// Checks requests against `master_key`; `None` lets every request through.
    pub(crate) fn new(master_key: Option<Arc<Secret>>) -> Self {
        Self { master_key }
    }
}

impl<S> Layer<S> for IdAuthLayer {
    type Service = IdAuth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        IdAuth {
            inner,
            master_key: self.master_key.clone(),
        }
    }
}

/// Request id on every response, master key on every route but the open ones.
#[derive(Clone, Debug)]
pub(crate) struct IdAuth<S> {
    inner: S,
    master_key: Option<Arc<Secret>>,
}

impl<S, B> Service<Request<B>> for IdAuth<S>
where
    S: Service<Request<B>>,
    S::Response: IntoResponse,
{
    type Response = Response;
    type Error = S::Error;
    type Future = IdAuthFuture<S::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let client_id = client_request_id(req.headers()).cloned();
        if let Some(master) = self.master_key.as_deref() {
            if let Some(refused) = auth::refusal(master, req.uri().path(), req.headers()) {
                return IdAuthFuture::Refused {
                    response: ready(stamp(refused, client_id)),
                };
            }
        }
        IdAuthFuture::Inner {
            future: self.inner.call(req),
            client_id,
        }
    }
}

pin_project! {
    /// Response future of [`IdAuth`].
    #[project = IdAuthFutureProj]
    pub(crate) enum IdAuthFuture<F> {
        /// The inner service is answering.
        Inner {
            #[pin]
            future: F,
            client_id: Option<HeaderValue>,
        },
        /// Refused before the inner service was called.
        Refused {
            response: Ready<Response>,
        },
    }
}

impl<F, R, E> Future for IdAuthFuture<F>
where
    F: Future<Output = Result<R, E>>,
    R: IntoResponse,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            IdAuthFutureProj::Inner { future, client_id } => {
                let response = std::task::ready!(future.poll(cx))?.into_response();
                Poll::Ready(Ok(stamp(response, client_id.take())))
            }
            IdAuthFutureProj::Refused { response } => Pin::new(response).poll(cx).map(Ok),
        }
    }
}

/// Gives `response` an `x-request-id` unless it has one: the client's, else a new one.
fn stamp(mut response: Response, client_id: Option<HeaderValue>) -> Response {
    if let Entry::Vacant(slot) = response.headers_mut().entry(REQUEST_ID) {
        if let Some(id) = client_id.or_else(|| HeaderValue::try_from(new_request_id()).ok()) {
            slot.insert(id);
        }
    }
    response
}
