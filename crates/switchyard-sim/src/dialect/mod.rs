//! Per-dialect request parsing and response rendering, plus what they share: the request
//! context, fault resolution and response builders.

pub(crate) mod anthropic;
pub(crate) mod gemini;
pub(crate) mod openai;

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::Bytes;

use crate::error::SimError;
use crate::fault::{Directives, Fault};
use crate::route::{Dialect, Route};
use crate::sse::{self, Cut, Kind, Pace};
use crate::state::{wait_closed, ModelEntry, SimState};

/// Everything a dialect handler needs about the request being served.
pub(crate) struct Ctx<'a> {
    pub(crate) state: &'a SimState,
    pub(crate) entry: &'a ModelEntry,
    pub(crate) route: Route<'a>,
    pub(crate) query: Option<&'a str>,
    pub(crate) req_headers: &'a HeaderMap,
    /// Directives from the `x-sim-fault` header.
    pub(crate) directives: Directives,
    /// Response headers prepared so far (request id, rate limits).
    pub(crate) headers: HeaderMap,
    /// Per-request counter, the source of deterministic ids.
    pub(crate) seq: u64,
}

/// What to do with a request after fault resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    Normal,
    Status(u16, Option<u64>),
    Hang,
    Drop(usize),
    Stall(usize),
    Malformed,
    MidError(usize),
}

impl Ctx<'_> {
    /// Resolves the fault (header, then message text, then scenario) and the extra latency.
    pub(crate) fn decide(&self, text: &Directives) -> (Action, Duration) {
        let mut latency = self
            .directives
            .latency
            .or(text.latency)
            .unwrap_or(Duration::ZERO);
        let fault = self
            .directives
            .fault
            .clone()
            .or_else(|| text.fault.clone())
            .or_else(|| self.entry.next_scenario_fault());
        let action = match fault {
            None | Some(Fault::Ok) => Action::Normal,
            Some(Fault::Latency(extra)) => {
                latency += extra;
                Action::Normal
            }
            Some(Fault::Status {
                code,
                retry_after_secs,
            }) => Action::Status(code, retry_after_secs),
            Some(Fault::Hang) => Action::Hang,
            Some(Fault::DropAfter(n)) => Action::Drop(n),
            Some(Fault::StallAfter(n)) => Action::Stall(n),
            Some(Fault::Malformed) => Action::Malformed,
            Some(Fault::MidStreamError(n)) => Action::MidError(n),
        };
        (action, latency)
    }

    /// Pacing of a stream given the extra latency from directives.
    pub(crate) fn pace(&self, extra: Duration) -> Pace {
        let config = self.state.config();
        Pace {
            first: config.first_byte_latency + extra,
            interval: config.chunk_interval,
        }
    }

    /// Waits before a non-stream response.
    pub(crate) async fn delay(&self, extra: Duration) {
        let total = self.state.config().first_byte_latency + extra;
        if !total.is_zero() {
            tokio::time::sleep(total).await;
        }
    }

    /// Never answers until shutdown, then aborts the connection.
    pub(crate) async fn hang(&self) -> Response {
        wait_closed(self.state.closing()).await;
        self.raw(StatusCode::OK, "application/json", aborted_body(self))
    }

    /// A response carrying the prepared headers.
    pub(crate) fn raw(
        &self,
        status: StatusCode,
        content_type: &'static str,
        body: Body,
    ) -> Response {
        let mut response = Response::new(body);
        *response.status_mut() = status;
        *response.headers_mut() = self.headers.clone();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        response
    }

    pub(crate) fn json(&self, body: Vec<u8>) -> Response {
        self.raw(StatusCode::OK, "application/json", Body::from(body))
    }

    /// An SSE response playing `frames`.
    pub(crate) fn sse(&self, frames: Vec<(Kind, Bytes)>, cut: Cut, pace: Pace) -> Response {
        let mut response = self.raw(
            StatusCode::OK,
            "text/event-stream",
            sse::body(frames, cut, pace, self.state.closing()),
        );
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        response
    }

    /// Non-stream response under a fault that cuts the body.
    pub(crate) fn cut_json(&self, action: &Action, garbage: &'static [u8]) -> Option<Response> {
        let body = match action {
            Action::Drop(_) => aborted_body(self),
            Action::Stall(_) => sse::body(
                Vec::new(),
                Cut::Stall(0),
                Pace::default(),
                self.state.closing(),
            ),
            Action::Malformed => Body::from(Bytes::from_static(garbage)),
            _ => return None,
        };
        Some(self.raw(StatusCode::OK, "application/json", body))
    }

    pub(crate) fn error(&self, err: &SimError) -> Response {
        error_response(self.route.dialect, err, self.headers.clone(), self.seq)
    }
}

/// Maps a stream fault to a cut, given the dialect's in-stream error and garbage frames.
pub(crate) fn stream_cut(action: &Action, error_frame: Bytes, garbage: &'static [u8]) -> Cut {
    match action {
        Action::Drop(n) => Cut::Drop(*n),
        Action::Stall(n) => Cut::Stall(*n),
        Action::MidError(n) => Cut::Error(*n, error_frame),
        Action::Malformed => Cut::Error(0, Bytes::from_static(garbage)),
        Action::Normal | Action::Status(..) | Action::Hang => Cut::None,
    }
}

fn aborted_body(ctx: &Ctx<'_>) -> Body {
    sse::body(
        Vec::new(),
        Cut::Drop(0),
        Pace::default(),
        ctx.state.closing(),
    )
}

/// Renders an error in the dialect's shape with its status-specific headers.
pub(crate) fn error_response(
    dialect: Dialect,
    err: &SimError,
    mut headers: HeaderMap,
    seq: u64,
) -> Response {
    let body = match dialect {
        Dialect::OpenAi(flavor) => openai::error_body(flavor, err),
        Dialect::Anthropic => anthropic::error_body(err, seq),
        Dialect::Gemini => gemini::error_body(err),
    };
    // Gemini carries its delay in the body (`RetryInfo`), not in headers.
    if let (Some(secs), false) = (err.retry_after, dialect == Dialect::Gemini) {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        if matches!(dialect, Dialect::OpenAi(_)) {
            headers.insert(
                HeaderName::from_static("retry-after-ms"),
                HeaderValue::from(secs * 1000),
            );
        }
    }
    if err.status == 429 {
        match dialect {
            Dialect::OpenAi(_) => {
                headers.insert(
                    HeaderName::from_static("x-ratelimit-remaining-requests"),
                    HeaderValue::from(0),
                );
            }
            Dialect::Anthropic => {
                headers.insert(
                    HeaderName::from_static("anthropic-ratelimit-requests-remaining"),
                    HeaderValue::from(0),
                );
            }
            Dialect::Gemini => {}
        }
    }
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let mut response = Response::new(Body::from(body));
    *response.status_mut() =
        StatusCode::from_u16(err.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    *response.headers_mut() = headers;
    response
}

/// JSON-encodes a string (with quotes).
pub(crate) fn quoted(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}
