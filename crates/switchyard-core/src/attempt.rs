//! One attempt against one deployment: send under the first-byte deadline, classify failures,
//! and for streams read up to the first meaningful event before committing (failover stays
//! invisible to the client until then).

use std::future::{poll_fn, Future};
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use switchyard_providers::{Dialect, ErrorClass, UpstreamError};
use switchyard_types::sse::{SseEvent, SseParser};
use tokio::time::{timeout_at, Instant};

use crate::deployment::Deployment;
use crate::pipe::{ClientEncoder, PipeMode, StreamPipe};
use crate::request::{ChatInput, Ingress, Prepared};
use crate::transport::{read_body_capped, UpstreamBody, UpstreamCall};

/// Largest upstream body accepted (non-streaming).
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;
/// Largest error body read.
pub const MAX_ERROR_BYTES: usize = 64 * 1024;

/// Deadlines of one attempt, and when it began.
#[derive(Debug, Clone, Copy)]
pub struct Deadlines {
    /// When the attempt began (its caller's clock reading, so one attempt reads the clock once).
    pub start: Instant,
    /// The request's overall deadline.
    pub total: Instant,
    /// First byte (head, and first stream event) deadline of this attempt.
    pub first_byte: Instant,
    /// Longest silence between stream events.
    pub idle: Duration,
}

impl Deadlines {
    /// Deadlines for an attempt on `dep` starting at `now`.
    pub fn for_attempt(
        dep: &Deployment,
        total: Instant,
        first_byte_override: Option<Duration>,
        now: Instant,
    ) -> Self {
        let fb = first_byte_override.unwrap_or(dep.cfg.timeouts.first_byte);
        Self {
            start: now,
            total,
            first_byte: (now + fb).min(total),
            idle: dep.cfg.timeouts.idle,
        }
    }
}

/// A committed upstream stream: the response, the parser and pipe, and the client bytes
/// produced up to and including the first meaningful event.
pub struct StartedStream {
    /// The upstream response (its body is the rest of the stream).
    pub body: UpstreamBody,
    /// Parser holding any partial event.
    pub parser: SseParser,
    /// Events already parsed but not yet processed.
    pub pending: std::collections::VecDeque<SseEvent>,
    /// The pipe.
    pub pipe: StreamPipe,
    /// Client bytes ready to send.
    pub ready: Vec<Bytes>,
    /// Time to first meaningful event.
    pub ttft: Duration,
}

/// A successful attempt.
pub enum Started {
    /// Whole upstream body (non-streaming).
    Complete {
        /// Upstream body.
        body: Bytes,
    },
    /// A stream with its first event in hand.
    Stream(Box<StartedStream>),
}

fn timed_out(what: &str, provider: &str) -> UpstreamError {
    UpstreamError::new(
        ErrorClass::Timeout,
        format!("{provider} did not answer within the {what} deadline"),
    )
}

/// Runs one attempt.
pub async fn attempt(
    input: &ChatInput,
    dep: &Deployment,
    prepared: &Prepared,
    deadlines: Deadlines,
    pipe_slot: &mut Option<StreamPipe>,
) -> Result<Started, UpstreamError> {
    let provider = &dep.provider;
    let url = if input.stream {
        &dep.stream_url
    } else {
        &dep.chat_url
    };
    let call = UpstreamCall {
        client: &dep.client,
        url,
        host: dep.host.as_ref(),
        body: &prepared.body,
        auth: &provider.auth,
        static_headers: provider.adapter.static_headers(),
    };
    let started = deadlines.start;
    let response = timeout_at(deadlines.first_byte, call.send())
        .await
        .map_err(|_| timed_out("first-byte", &provider.config.name))??;
    let status = response.status;
    if !(200..300).contains(&status) {
        let body = timeout_at(
            deadlines.total,
            read_body_capped_lossy(response.body, MAX_ERROR_BYTES),
        )
        .await
        .unwrap_or_default();
        return Err(provider
            .adapter
            .classify_error(status, &response.headers, &body));
    }
    if !input.stream {
        // A reply's body usually arrives with its head: read what is there first, and set a
        // timer (a timer-wheel entry, the runtime handle's refcount) only if more must come.
        let mut read = std::pin::pin!(read_body_capped(response.body, MAX_RESPONSE_BYTES));
        let body = match poll_fn(|cx| Poll::Ready(read.as_mut().poll(cx))).await {
            Poll::Ready(body) => body?,
            Poll::Pending => timeout_at(deadlines.total, read)
                .await
                .map_err(|_| timed_out("total", &provider.config.name))??,
        };
        return Ok(Started::Complete { body });
    }
    let provided = pipe_slot.is_some();
    let pipe = match pipe_slot.take() {
        Some(p) => p,
        None => StreamPipe::new(pipe_mode(input, dep, prepared)),
    };
    let mut stream = StartedStream {
        body: response.body,
        parser: SseParser::new(),
        pending: std::collections::VecDeque::new(),
        pipe,
        ready: Vec::new(),
        ttft: Duration::ZERO,
    };
    match peek_first(&mut stream, deadlines, &provider.config.name).await {
        Ok(()) => {
            stream.ttft = started.elapsed();
            Ok(Started::Stream(Box::new(stream)))
        }
        Err(e) => {
            if provided {
                // Nothing meaningful went through the pipe: hand it back for the next try.
                *pipe_slot = Some(stream.pipe);
            }
            Err(e)
        }
    }
}

/// Reads until the first meaningful event (or a properly terminated empty stream), under the
/// first-byte deadline.
async fn peek_first(
    stream: &mut StartedStream,
    deadlines: Deadlines,
    provider: &str,
) -> Result<(), UpstreamError> {
    loop {
        while let Some(ev) = stream.pending.pop_front() {
            stream.pipe.on_event(&ev, &mut stream.ready)?;
            if stream.pipe.tap.started || stream.pipe.tap.complete {
                return Ok(());
            }
        }
        let chunk = timeout_at(deadlines.first_byte, stream.body.chunk())
            .await
            .map_err(|_| timed_out("first-token", provider))??;
        match chunk {
            Some(bytes) => {
                let events = stream
                    .parser
                    .feed(&bytes)
                    .map_err(|e| UpstreamError::new(ErrorClass::Malformed, e.to_string()))?;
                stream.pending.extend(events);
            }
            None => {
                if let Some(ev) = stream.parser.finish() {
                    stream.pending.push_back(ev);
                    continue;
                }
                let out = stream.pipe.on_eof()?;
                stream.ready.extend(out);
                return Ok(());
            }
        }
    }
}

async fn read_body_capped_lossy(body: UpstreamBody, limit: usize) -> Bytes {
    read_body_capped(body, limit).await.unwrap_or_default()
}

/// How a stream from `dep` is turned into the client's format.
pub fn pipe_mode(input: &ChatInput, dep: &Deployment, prepared: &Prepared) -> PipeMode {
    let dialect = dep.provider.adapter.dialect();
    match (input.ingress, dialect, prepared.passthrough) {
        (Ingress::OpenAi, Dialect::OpenAi, true) => PipeMode::PassOpenAi {
            strip_usage_chunk: prepared.injected_usage,
        },
        (Ingress::Anthropic, Dialect::Anthropic, true) => PipeMode::PassAnthropic,
        _ => PipeMode::Translate {
            decoder: dep.provider.adapter.stream_decoder(),
            encoder: client_encoder(input, &dep.cfg.model),
        },
    }
}

/// A fresh encoder for the client's format.
pub fn client_encoder(input: &ChatInput, model: &str) -> ClientEncoder {
    match input.ingress {
        Ingress::OpenAi => ClientEncoder::OpenAi {
            include_usage: input.include_usage,
            identity: None,
        },
        Ingress::Anthropic => ClientEncoder::Anthropic(Box::new(
            switchyard_providers::anthropic::ingress::AnthropicStreamEncoder::new(model),
        )),
    }
}

/// An encoder for the client's format that continues an earlier stream's identity.
pub fn client_encoder_with(
    input: &ChatInput,
    identity: Option<(String, String, u64)>,
    model: &str,
) -> ClientEncoder {
    match client_encoder(input, model) {
        ClientEncoder::OpenAi { include_usage, .. } => ClientEncoder::OpenAi {
            include_usage,
            identity,
        },
        other @ ClientEncoder::Anthropic(_) => other,
    }
}
