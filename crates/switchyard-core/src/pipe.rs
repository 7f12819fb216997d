//! Per-event stream processing: upstream SSE events in, client SSE bytes out, with a tap that
//! keeps what the gateway must know (text so far, tool calls started, finish, usage).
//!
//! Same-format streams forward each event's raw bytes; only a small borrowed view is parsed to
//! feed the tap. Crossed formats decode to canonical chunks and encode into the client's
//! format. A truncated upstream stream is never turned into a successful completion.

use bytes::Bytes;
use switchyard_providers::anthropic::ingress::AnthropicStreamEncoder;
use switchyard_providers::{ErrorClass, StreamDecoder, UpstreamError};
use switchyard_types::openai::{ChatChunk, Delta, ErrorBody, ErrorEnvelope, FinishReason, Usage};
use switchyard_types::sse::{self, SseEvent};

use crate::views::{AnEventView, AnUsage, OaChunkView};

/// Where the client's bytes come from.
pub enum PipeMode {
    /// OpenAI client, OpenAI-dialect upstream: raw events forwarded.
    PassOpenAi {
        /// We injected `include_usage`: drop the usage-only chunk the client did not ask for.
        strip_usage_chunk: bool,
    },
    /// Anthropic client, Anthropic upstream: raw events forwarded.
    PassAnthropic,
    /// Formats cross: decode to canonical, encode for the client.
    Translate {
        /// Upstream decoder.
        decoder: Box<dyn StreamDecoder>,
        /// Client encoder.
        encoder: ClientEncoder,
    },
}

/// Encodes canonical chunks in the client's format.
pub enum ClientEncoder {
    /// OpenAI chunks.
    OpenAi {
        /// Forward usage chunks.
        include_usage: bool,
        /// Identity to impose on continuation chunks (id, model, created).
        identity: Option<(String, String, u64)>,
    },
    /// Anthropic events.
    Anthropic(Box<AnthropicStreamEncoder>),
}

/// What the gateway learned from the stream so far.
#[derive(Debug, Default, Clone)]
pub struct Tap {
    /// Text sent to the client.
    pub text: String,
    /// Reasoning text sent.
    pub reasoning: String,
    /// A tool call has started (continuation impossible).
    pub tool_started: bool,
    /// Finish reason seen.
    pub finish: Option<FinishReason>,
    /// Usage seen.
    pub usage: Option<Usage>,
    /// The stream reached its proper end.
    pub complete: bool,
    /// Something the client can see has been produced.
    pub started: bool,
    /// First chunk's identity (id, model, created) for continuation.
    pub identity: Option<(String, String, u64)>,
}

impl Tap {
    /// Records one choice delta: text and reasoning sent, a tool call started, a finish.
    fn observe(
        &mut self,
        text: Option<&str>,
        reasoning: Option<&str>,
        tool_call: bool,
        finish: Option<FinishReason>,
    ) {
        if let Some(t) = text {
            self.text.push_str(t);
            self.started |= !t.is_empty();
        }
        if let Some(r) = reasoning {
            self.reasoning.push_str(r);
            self.started |= !r.is_empty();
        }
        if tool_call {
            self.tool_started = true;
            self.started = true;
        }
        if finish.is_some() {
            self.finish = finish;
            self.started = true;
        }
    }
}

/// One stream's processing state.
pub struct StreamPipe {
    mode: PipeMode,
    /// What was learned.
    pub tap: Tap,
    /// OpenAI client: the terminator has been written.
    done_written: bool,
    /// Suppress role-only chunks (continuations).
    continuation: bool,
}

impl StreamPipe {
    /// A pipe in `mode`.
    pub fn new(mode: PipeMode) -> Self {
        Self {
            mode,
            tap: Tap::default(),
            done_written: false,
            continuation: false,
        }
    }

    /// A pipe that continues an earlier stream: role chunks are suppressed, and OpenAI chunks
    /// carry the earlier stream's identity.
    pub fn continuation(decoder: Box<dyn StreamDecoder>, encoder: ClientEncoder, tap: Tap) -> Self {
        Self {
            mode: PipeMode::Translate { decoder, encoder },
            tap: Tap {
                complete: false,
                finish: None,
                ..tap
            },
            done_written: false,
            continuation: true,
        }
    }

    /// Whether another upstream's output can be spliced into this stream.
    pub fn can_continue(&self) -> bool {
        !matches!(self.mode, PipeMode::PassAnthropic)
    }

    /// Takes the client encoder back (to hand it to a continuation).
    pub fn into_encoder(self) -> Option<ClientEncoder> {
        match self.mode {
            PipeMode::Translate { encoder, .. } => Some(encoder),
            PipeMode::PassOpenAi { strip_usage_chunk } => Some(ClientEncoder::OpenAi {
                include_usage: !strip_usage_chunk,
                identity: self.tap.identity.clone(),
            }),
            PipeMode::PassAnthropic => None,
        }
    }

    /// Processes one upstream event, appending the client bytes it yields to `out` (no
    /// allocation per event on the same-format paths, which yield at most one).
    pub fn on_event(
        &mut self,
        ev: &SseEvent,
        out: &mut impl Extend<Bytes>,
    ) -> Result<(), UpstreamError> {
        match &mut self.mode {
            PipeMode::PassOpenAi { strip_usage_chunk } => {
                let strip = *strip_usage_chunk;
                out.extend(pass_openai(
                    &mut self.tap,
                    ev,
                    strip,
                    &mut self.done_written,
                )?);
            }
            PipeMode::PassAnthropic => out.extend(pass_anthropic(&mut self.tap, ev)?),
            PipeMode::Translate { decoder, encoder } => {
                let chunks = decoder.feed(ev)?;
                out.extend(encode_chunks(
                    &mut self.tap,
                    encoder,
                    chunks,
                    self.continuation,
                ));
            }
        }
        Ok(())
    }

    /// The upstream closed the stream: trailing bytes, or `Err` when it was truncated.
    pub fn on_eof(&mut self) -> Result<Vec<Bytes>, UpstreamError> {
        match &mut self.mode {
            PipeMode::PassOpenAi { .. } => {
                if self.tap.complete || self.tap.finish.is_some() {
                    let mut out = Vec::new();
                    if !self.done_written {
                        out.push(Bytes::from_static(sse::DONE_EVENT));
                        self.done_written = true;
                    }
                    self.tap.complete = true;
                    Ok(out)
                } else {
                    Err(UpstreamError::truncated())
                }
            }
            PipeMode::PassAnthropic => {
                if self.tap.complete {
                    Ok(Vec::new())
                } else {
                    Err(UpstreamError::truncated())
                }
            }
            PipeMode::Translate { decoder, encoder } => {
                let chunks = decoder.finish()?;
                let mut out = encode_chunks(&mut self.tap, encoder, chunks, self.continuation);
                self.tap.complete = true;
                match encoder {
                    ClientEncoder::OpenAi { .. } => out.push(Bytes::from_static(sse::DONE_EVENT)),
                    ClientEncoder::Anthropic(enc) => out.extend(enc.finish()),
                }
                Ok(out)
            }
        }
    }

    /// The final error event in the client's format; the stream ends after it.
    pub fn error_event(&mut self, err: &UpstreamError, provider: &str) -> Bytes {
        let message = format!("upstream {provider} failed mid-stream: {}", err.message);
        let is_anthropic = matches!(
            &self.mode,
            PipeMode::PassAnthropic
                | PipeMode::Translate {
                    encoder: ClientEncoder::Anthropic(_),
                    ..
                }
        );
        if is_anthropic {
            let kind = match err.class {
                ErrorClass::RateLimited => "rate_limit_error",
                ErrorClass::Overloaded => "overloaded_error",
                _ => "api_error",
            };
            if let PipeMode::Translate {
                encoder: ClientEncoder::Anthropic(enc),
                ..
            } = &mut self.mode
            {
                return enc.error(kind, &message);
            }
            let body = switchyard_providers::anthropic::ingress::error_body(kind, &message);
            return sse::named_event("error", &body);
        }
        openai_error_event(err, &message)
    }
}

/// `data: {"error": {...}}` in the OpenAI shape.
pub fn openai_error_event(err: &UpstreamError, message: &str) -> Bytes {
    let env = ErrorEnvelope {
        error: ErrorBody {
            message: message.to_owned(),
            kind: if err.class == ErrorClass::Timeout {
                "timeout_error"
            } else {
                "upstream_error"
            }
            .to_owned(),
            code: Some(err.class.as_str().to_owned()),
            param: None,
        },
    };
    let json = serde_json::to_vec(&env).unwrap_or_default();
    sse::data_event(&json)
}

fn pass_openai(
    tap: &mut Tap,
    ev: &SseEvent,
    strip_usage_chunk: bool,
    done_written: &mut bool,
) -> Result<Option<Bytes>, UpstreamError> {
    if ev.is_empty() {
        // Comments/keep-alives pass through: they keep client-side idle timers happy.
        return Ok((ev.raw.first() == Some(&b':')).then(|| ev.raw.clone()));
    }
    if ev.is_done() {
        tap.complete = true;
        *done_written = true;
        return Ok(Some(ev.raw.clone()));
    }
    let mut view = OaChunkView::default();
    view.read_into(&ev.data, tap.identity.is_none())
        .map_err(|e| {
            UpstreamError::new(
                ErrorClass::Malformed,
                format!("malformed stream chunk: {e}"),
            )
        })?;
    if let Some(err) = view.error {
        let msg = err
            .get("message")
            .and_then(|m| m.as_str())
            .unwrap_or("upstream stream error");
        return Err(UpstreamError::new(ErrorClass::StreamBroken, msg));
    }
    if view.choices.is_empty() && view.usage.is_none() {
        // Nothing an OpenAI client can use (Azure's leading `prompt_filter_results` chunk,
        // with empty id and model): not forwarded, and not taken as the stream's identity.
        return Ok(None);
    }
    if tap.identity.is_none() {
        if let (Some(id), Some(model)) = (&view.id, &view.model) {
            tap.identity = Some((id.to_string(), model.to_string(), view.created.unwrap_or(0)));
        }
    }
    for c in &view.choices {
        match &c.delta {
            Some(d) => tap.observe(
                d.content.as_deref(),
                d.reasoning_content.as_deref().or(d.reasoning.as_deref()),
                d.tool_calls,
                c.finish_reason,
            ),
            None => tap.observe(None, None, false, c.finish_reason),
        }
    }
    if let Some(u) = view.usage {
        if let Some(u) = Usage::read_lenient(u) {
            tap.usage = Some(u);
        }
        if strip_usage_chunk && view.choices.is_empty() {
            return Ok(None);
        }
    }
    Ok(Some(ev.raw.clone()))
}

fn pass_anthropic(tap: &mut Tap, ev: &SseEvent) -> Result<Option<Bytes>, UpstreamError> {
    if ev.is_empty() {
        return Ok(Some(ev.raw.clone()));
    }
    let view = AnEventView::read(&ev.data).map_err(|e| {
        UpstreamError::new(
            ErrorClass::Malformed,
            format!("malformed stream event: {e}"),
        )
    })?;
    match view.kind.as_ref() {
        "message_start" => {
            if let Some(u) = view.message_usage {
                merge_anthropic_usage(tap, u);
            }
        }
        "content_block_start" if view.block_kind.as_deref() == Some("tool_use") => {
            tap.tool_started = true;
            tap.started = true;
        }
        "content_block_delta" => {
            if let Some(d) = &view.delta {
                if let Some(t) = &d.text {
                    tap.text.push_str(t);
                }
                if let Some(t) = &d.thinking {
                    tap.reasoning.push_str(t);
                }
            }
            tap.started = true;
        }
        "message_delta" => {
            if let Some(u) = view.usage {
                merge_anthropic_usage(tap, u);
            }
            if let Some(reason) = view.delta.as_ref().and_then(|d| d.stop_reason.as_deref()) {
                tap.finish = Some(match reason {
                    "max_tokens" => FinishReason::Length,
                    "tool_use" => FinishReason::ToolCalls,
                    "refusal" => FinishReason::ContentFilter,
                    _ => FinishReason::Stop,
                });
            }
            tap.started = true;
        }
        "message_stop" => tap.complete = true,
        "error" => {
            let err = view.error.unwrap_or_default();
            let kind = err.get("type").and_then(|t| t.as_str()).unwrap_or("");
            let msg = err
                .get("message")
                .and_then(|t| t.as_str())
                .unwrap_or("upstream stream error");
            let class = match kind {
                "overloaded_error" => ErrorClass::Overloaded,
                "rate_limit_error" => ErrorClass::RateLimited,
                _ => ErrorClass::StreamBroken,
            };
            return Err(UpstreamError::new(class, msg));
        }
        _ => {}
    }
    Ok(Some(ev.raw.clone()))
}

fn merge_anthropic_usage(tap: &mut Tap, u: AnUsage) {
    if u.odd {
        // Unknown usage: what an earlier event reported stands.
        return;
    }
    let cur = tap.usage.get_or_insert_with(Usage::default);
    let cached = u.cache_read_input_tokens.unwrap_or(0);
    let created = u.cache_creation_input_tokens.unwrap_or(0);
    if let Some(i) = u.input_tokens {
        cur.prompt_tokens = i + cached + created;
        if cached > 0 || created > 0 {
            cur.prompt_tokens_details = Some(switchyard_types::openai::PromptTokensDetails {
                cached_tokens: cached,
                cache_creation_tokens: created,
            });
        }
    }
    if let Some(o) = u.output_tokens {
        cur.completion_tokens = o;
    }
    cur.total_tokens = cur.prompt_tokens + cur.completion_tokens;
}

fn encode_chunks(
    tap: &mut Tap,
    encoder: &mut ClientEncoder,
    chunks: Vec<ChatChunk>,
    continuation: bool,
) -> Vec<Bytes> {
    let mut out = Vec::with_capacity(chunks.len());
    for mut chunk in chunks {
        if let Some(u) = &chunk.usage {
            if continuation {
                // Continuation usage adds to what the first upstream reported.
                let prev = tap.usage.clone().unwrap_or_default();
                let mut sum = u.clone();
                sum.prompt_tokens += prev.prompt_tokens;
                sum.completion_tokens += prev.completion_tokens;
                sum.total_tokens = sum.prompt_tokens + sum.completion_tokens;
                chunk.usage = Some(sum.clone());
                tap.usage = Some(sum);
            } else {
                tap.usage = Some(u.clone());
            }
        }
        if tap.identity.is_none() && !continuation {
            let created = if chunk.created == 0 {
                crate::engine::unix_now()
            } else {
                chunk.created
            };
            tap.identity = Some((chunk.id.clone(), chunk.model.clone(), created));
        }
        for c in &mut chunk.choices {
            let d: &mut Delta = &mut c.delta;
            if continuation {
                d.role = None;
            }
            tap.observe(
                d.content.as_deref(),
                d.reasoning_content.as_deref(),
                d.tool_calls.is_some(),
                c.finish_reason,
            );
        }
        if continuation
            && chunk.usage.is_none()
            && chunk.choices.iter().all(|c| {
                c.finish_reason.is_none()
                    && c.delta.content.as_deref().unwrap_or("").is_empty()
                    && c.delta.reasoning_content.is_none()
                    && c.delta.tool_calls.is_none()
            })
        {
            continue;
        }
        match encoder {
            ClientEncoder::OpenAi {
                include_usage,
                identity,
            } => {
                if chunk.created == 0 {
                    chunk.created = tap.identity.as_ref().map_or(0, |i| i.2);
                }
                if let Some((id, model, created)) = identity.as_ref() {
                    chunk.id.clone_from(id);
                    chunk.model.clone_from(model);
                    chunk.created = *created;
                }
                if chunk.usage.is_some() && !*include_usage {
                    if chunk.choices.is_empty() {
                        continue;
                    }
                    chunk.usage = None;
                }
                if let Ok(json) = serde_json::to_vec(&chunk) {
                    out.push(sse::data_event(&json));
                }
            }
            ClientEncoder::Anthropic(enc) => out.extend(enc.encode(&chunk)),
        }
    }
    out
}
