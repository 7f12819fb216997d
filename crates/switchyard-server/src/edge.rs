//! The gateway's HTTP service: the edge every request passes, then the hot routes called
//! directly and everything else through axum's router.
//!
//! For each request, [`App`]:
//! 1. notes the client's `x-request-id` when it is short and printable (a reference-counted
//!    clone of the header value, no copy);
//! 2. refuses the request with 401 when the master key does not admit it (deny by default,
//!    see [`crate::auth::refusal`]);
//! 3. dispatches it: `POST /v1/chat/completions` and `POST /v1/messages` straight to their
//!    handlers, anything else to the router (which answers 404 and 405 in our shape);
//! 4. turns a panic anywhere in 3 into a 500 in the OpenAI error shape, never a dropped
//!    connection;
//!
//! and gives every response its `x-request-id`: the client's, else a new one (a handler that
//! sets one keeps it).
//!
//! Why not axum's `Router` for everything: per request it clones its boxed route service,
//! boxes the route's future and the handler's, wraps each in response-mapping futures, and
//! tower's layers add one more future each; on a same-format chat request that is ~4,000
//! instructions and a dozen allocations, 6–7% of the gateway's whole user-space work.
//! Here a request costs one boxed future and one reference count. The edge is written once,
//! and the router's routes pass it too.

use std::any::Any;
use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Bytes;
use axum::http::header::Entry;
use axum::http::{HeaderValue, Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use futures_util::FutureExt;
use tower::ServiceExt;

use crate::auth;
use crate::error::{ApiError, ErrorKind};
use crate::extract::BoxError;
use crate::headers::{self, client_request_id, new_request_id, REQUEST_ID};
use crate::routes::{chat, messages};
use crate::state::AppState;

/// The gateway's HTTP service (a tower service, and a hyper one that the accept loop wraps in
/// `conn_watch::Watched`). Cheap to clone: one reference count.
#[derive(Clone, Debug)]
pub struct App(Arc<Shared>);

#[derive(Debug)]
struct Shared {
    state: AppState,
    /// Every route but the hot ones, with its state; its fallbacks answer 404 and 405.
    router: Router,
}

/// The response future of [`App`].
pub type AppFuture = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

impl App {
    /// The edge and the hot routes in front of `router` (every other route).
    pub(crate) fn new(state: AppState, router: Router) -> Self {
        Self(Arc::new(Shared { state, router }))
    }

    /// The client connection limits of the configuration the gateway started with.
    pub(crate) fn client_limits(&self) -> crate::conn_watch::Limits {
        let snap = self.0.state.engine.snapshot();
        crate::conn_watch::Limits {
            header: snap.config.server.client_header_timeout,
            idle: snap.config.server.client_idle_timeout,
        }
    }

    /// The request body limit.
    pub(crate) fn body_limit(&self) -> usize {
        self.0.state.body_limit
    }

    /// The busy-polling window of the configuration the gateway started with.
    pub(crate) fn busy_poll(&self) -> Option<std::time::Duration> {
        self.0.state.engine.snapshot().config.server.busy_poll
    }

    /// Everything up to the handler's future runs here, before anything is boxed: the boxed
    /// future is then the handler's own (behind the panic guard) and the client's request id,
    /// with no copy of the request kept beside it.
    pub(crate) fn handle<B>(&self, req: Request<B>) -> AppFuture
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        self.dispatch(req, Transparency::AsHeaders)
    }

    /// [`App::handle`] for the connection loop, which writes a response's transparency headers
    /// into its head itself (`headers::write_served`).
    pub(crate) fn handle_raw<B>(&self, req: Request<B>) -> AppFuture
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        self.dispatch(req, Transparency::Raw)
    }

    fn dispatch<B>(&self, req: Request<B>, transparency: Transparency) -> AppFuture
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let client_id = client_request_id(req.headers()).cloned();
        let app = &self.0;
        if let Some(master) = app.state.master_key.as_deref() {
            if let Some(refused) = auth::refusal(master, req.uri().path(), req.headers()) {
                return Box::pin(std::future::ready(Ok(stamp(
                    refused,
                    client_id,
                    transparency,
                ))));
            }
        }
        if req.method() == Method::POST {
            match req.uri().path() {
                "/v1/chat/completions" => {
                    return guarded(
                        chat::chat_completions(app.state.clone(), req),
                        client_id,
                        transparency,
                    )
                }
                "/v1/messages" => {
                    return guarded(
                        messages::messages(app.state.clone(), req),
                        client_id,
                        transparency,
                    )
                }
                _ => {}
            }
        }
        let routed = app
            .router
            .clone()
            .oneshot(req.map(axum::body::Body::new))
            .map(|r| match r {
                Ok(response) => response,
                Err(never) => match never {},
            });
        guarded(routed, client_id, transparency)
    }
}

/// Where a response's transparency headers are written.
#[derive(Debug, Clone, Copy)]
enum Transparency {
    /// Into its header map, here.
    AsHeaders,
    /// Into its head, by the connection loop.
    Raw,
}

/// `handler` boxed behind the panic guard, its response stamped with a request id.
fn guarded<F>(handler: F, client_id: Option<HeaderValue>, transparency: Transparency) -> AppFuture
where
    F: Future<Output = Response> + Send + 'static,
{
    Box::pin(
        AssertUnwindSafe(handler)
            .catch_unwind()
            .map(move |outcome| {
                let response = outcome.unwrap_or_else(panic_response);
                Ok(stamp(response, client_id, transparency))
            }),
    )
}

/// Gives `response` an `x-request-id` unless it has one: the client's, else a new one; and
/// its transparency headers unless the connection loop writes them.
fn stamp(
    mut response: Response,
    client_id: Option<HeaderValue>,
    transparency: Transparency,
) -> Response {
    if let Entry::Vacant(slot) = response.headers_mut().entry(REQUEST_ID) {
        slot.insert(client_id.unwrap_or_else(new_request_id));
    }
    if let Transparency::AsHeaders = transparency {
        headers::materialize(&mut response);
    }
    response
}

fn panic_response(payload: Box<dyn Any + Send + 'static>) -> Response {
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

impl<B> tower::Service<Request<B>> for App
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = AppFuture;

    #[inline]
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        self.handle(req)
    }
}

/// hyper calls a service by reference: no clone of the service per request.
impl<B> hyper::service::Service<Request<B>> for App
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = AppFuture;

    fn call(&self, req: Request<B>) -> Self::Future {
        self.handle(req)
    }
}
