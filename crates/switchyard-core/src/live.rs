//! A committed stream: forwards the upstream's events in the client's format, enforces the
//! idle and total deadlines, and when the upstream breaks or stalls after text reached the
//! client, continues the answer from another deployment and splices it into the same stream
//! (mid-stream recovery). Where continuation is impossible (a tool call half sent, an
//! Anthropic-to-Anthropic byte stream, no candidate left) the stream ends with an error event:
//! a truncated stream is never presented as a complete one.
//!
//! Dropping the stream (client disconnect) drops the upstream response, which cancels the
//! upstream request; the in-flight guard and the usage record are released in `Drop`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::stream::BoxStream;
use switchyard_providers::{ErrorClass, UpstreamError};
use switchyard_types::openai::{Content, Message, Role};
use tokio::time::{timeout_at, Instant};

use crate::attempt::{attempt, Deadlines, Started, StartedStream};
use crate::deployment::{Deployment, InFlight};
use crate::engine::Inner;
use crate::pipe::StreamPipe;
use crate::request::{prepare_canonical, ChatInput};
use crate::route::strategy::{rank, RankInput};
use crate::snapshot::{Group, Snapshot};

/// Longest quiet gap before a keep-alive comment: half the idle deadline, at most 15 s.
fn keep_alive_interval(idle: std::time::Duration) -> std::time::Duration {
    (idle / 2).min(std::time::Duration::from_secs(15))
}

/// Client bytes gathered into one frame before it is handed on (see `translate_pending`).
const FRAME_BYTES: usize = 16 * 1024;

/// Events queued behind the first frame from which that frame is sent on its own, before the
/// rest are translated (see `next`). A short reply's tail (finish, usage, terminator) is
/// fewer and goes out in the same write as the first token.
const SPLIT_FIRST_AFTER: usize = 4;

/// How many times one stream may be continued from another deployment.
pub const MAX_RECOVERIES: u32 = 2;

/// A live stream.
pub struct LiveStream {
    _inner: Arc<Inner>,
    snap: Arc<Snapshot>,
    input: Arc<ChatInput>,
    group: Arc<Group>,
    dep: Arc<Deployment>,
    cur: Option<StartedStream>,
    inflight: Option<InFlight>,
    ready: VecDeque<Bytes>,
    deadline: Instant,
    started_at: Instant,
    /// Last time upstream bytes arrived (the idle deadline counts from here).
    last_data: Instant,
    /// Last keep-alive comment sent.
    last_keep_alive: Instant,
    /// Time to the current upstream's first event (before `started_at`).
    ttft: Duration,
    tried: Vec<String>,
    recoveries: u32,
    finished: bool,
    /// An event failed; handled after the bytes before it have gone out.
    deferred: Option<UpstreamError>,
    /// The first frame has been handed on.
    first_sent: bool,
    /// Yield once before translating more, so that the frame just handed on is written now.
    flush_next: bool,
}

impl LiveStream {
    #[expect(
        clippy::too_many_arguments,
        reason = "built in one place from the attempt loop's state"
    )]
    pub(crate) fn new(
        inner: Arc<Inner>,
        snap: Arc<Snapshot>,
        input: Arc<ChatInput>,
        group: Arc<Group>,
        dep: Arc<Deployment>,
        mut stream: StartedStream,
        inflight: InFlight,
        deadline: Instant,
    ) -> Self {
        let ready: VecDeque<Bytes> = std::mem::take(&mut stream.ready).into();
        let tried = vec![dep.cfg.id.clone()];
        let finished = stream.pipe.tap.complete && stream.pending.is_empty();
        if !finished {
            // Held open from here: no need to keep the buffer the response head needed.
            stream.body.settle_for_stream();
        }
        let ttft = stream.ttft;
        let mut live = Self {
            _inner: inner,
            snap,
            input,
            group,
            dep,
            cur: Some(stream),
            inflight: Some(inflight),
            ready,
            deadline,
            started_at: Instant::now(),
            last_data: Instant::now(),
            last_keep_alive: Instant::now(),
            ttft,
            tried,
            recoveries: 0,
            finished: false,
            deferred: None,
            first_sent: false,
            flush_next: false,
        };
        if finished {
            live.complete();
        }
        live
    }

    /// The stream of client bytes.
    pub fn into_stream(self) -> BoxStream<'static, Bytes> {
        Box::pin(futures_util::stream::unfold(self, |mut live| async move {
            live.next().await.map(|b| (b, live))
        }))
    }

    async fn next(&mut self) -> Option<Bytes> {
        if std::mem::take(&mut self.flush_next) {
            // hyper keeps polling a body while it yields data and writes only when it is
            // pending: one pending poll puts the first token on the wire before the burst
            // behind it is translated.
            tokio::task::yield_now().await;
        }
        if !self.first_sent {
            self.first_sent = true;
            let queued = self.cur.as_ref().map_or(0, |c| c.pending.len());
            if !self.ready.is_empty() && queued >= SPLIT_FIRST_AFTER {
                // The attempt stopped at the first meaningful event, and the upstream sent
                // a burst behind it: the client gets its first token now, at the cost of
                // one more write, instead of after the whole burst's translation.
                self.flush_next = true;
                return Some(self.take_ready());
            }
        }
        loop {
            if self.deferred.is_none() {
                if let Err(e) = self.translate_pending() {
                    // Handled once what came before it has gone out, in order.
                    self.deferred = Some(e);
                }
            }
            if !self.ready.is_empty() {
                return Some(self.take_ready());
            }
            if let Some(e) = self.deferred.take() {
                self.fail(e).await;
                continue;
            }
            if self.finished {
                return None;
            }
            let cur = self.cur.as_mut()?;
            let idle = self.dep.cfg.timeouts.idle;
            let idle_deadline = (self.last_data + idle).min(self.deadline);
            // While the upstream is quiet, a comment keeps the client's (and any proxy's) idle
            // timers from firing before ours does.
            let keep_alive_at =
                self.last_data.max(self.last_keep_alive) + keep_alive_interval(idle);
            let wake = idle_deadline.min(keep_alive_at);
            // `chunk()` consumes nothing until it returns data, so waking up early loses nothing.
            match timeout_at(wake, cur.body.chunk()).await {
                Err(_) if Instant::now() < idle_deadline => {
                    self.last_keep_alive = Instant::now();
                    self.ready
                        .push_back(Bytes::from_static(switchyard_types::sse::KEEP_ALIVE));
                }
                Err(_) => {
                    let what = if Instant::now() >= self.deadline {
                        "total"
                    } else {
                        "idle"
                    };
                    let e = UpstreamError::new(
                        ErrorClass::Timeout,
                        format!(
                            "{} stalled: no data within the {what} deadline",
                            self.dep.cfg.provider
                        ),
                    );
                    self.fail(e).await;
                }
                Ok(Err(e)) => self.fail(e).await,
                Ok(Ok(Some(bytes))) => {
                    self.last_data = Instant::now();
                    match cur.parser.feed(&bytes) {
                        Ok(events) => cur.pending.extend(events),
                        Err(e) => {
                            self.fail(UpstreamError::new(ErrorClass::Malformed, e.to_string()))
                                .await;
                        }
                    }
                }
                Ok(Ok(None)) => {
                    if let Some(ev) = cur.parser.finish() {
                        cur.pending.push_back(ev);
                        continue;
                    }
                    match cur.pipe.on_eof() {
                        Ok(out) => {
                            self.ready.extend(out);
                            self.complete();
                        }
                        Err(e) => self.fail(e).await,
                    }
                }
            }
        }
    }

    /// Turns the events already read into client bytes, stopping at the first that fails (its
    /// error is returned; the events after it are never forwarded) or once about
    /// [`FRAME_BYTES`] are ready, so the first bytes of a large burst do not wait for the
    /// whole burst's translation.
    fn translate_pending(&mut self) -> Result<(), UpstreamError> {
        let mut size: usize = self.ready.iter().map(Bytes::len).sum();
        while !self.finished && size < FRAME_BYTES {
            let Some(cur) = self.cur.as_mut() else {
                break;
            };
            let Some(ev) = cur.pending.pop_front() else {
                break;
            };
            let before = self.ready.len();
            cur.pipe.on_event(&ev, &mut self.ready)?;
            size += self.ready.range(before..).map(Bytes::len).sum::<usize>();
            if cur.pipe.tap.complete && cur.pending.is_empty() && is_terminal(&ev) {
                // Terminator seen: finish without waiting for EOF.
                if let Ok(out) = cur.pipe.on_eof() {
                    self.ready.extend(out);
                }
                self.complete();
            }
        }
        Ok(())
    }

    /// Everything ready, as one frame: events that arrived together leave together, in one
    /// chunk and one write, instead of a chunk each (hyper flushes every 16 slices, three per
    /// chunk: a 50-event burst was four `writev`s; the copy costs less than one of them).
    fn take_ready(&mut self) -> Bytes {
        if self.ready.len() == 1 {
            return self.ready.pop_front().unwrap_or_default();
        }
        let len = self.ready.iter().map(Bytes::len).sum();
        let mut all = BytesMut::with_capacity(len);
        for b in self.ready.drain(..) {
            all.extend_from_slice(&b);
        }
        all.freeze()
    }

    fn complete(&mut self) {
        self.finished = true;
        // Least-latency ranks streams by time to first token: feed it, and the whole duration.
        let elapsed = self.ttft + self.started_at.elapsed();
        self.dep.state.record_success(elapsed, Some(self.ttft));
        if let Some(cur) = &mut self.cur {
            // Only the upstream's end of body may be left: let its connection be reused.
            cur.body.release();
            if let Some(u) = &cur.pipe.tap.usage {
                self.dep.state.settle_tokens(
                    self.dep.cfg.rpm,
                    self.dep.cfg.tpm,
                    || crate::engine::reserved_tokens(&self.input),
                    u.total_tokens,
                );
                tracing::debug!(
                    deployment = %self.dep.cfg.id,
                    prompt_tokens = u.prompt_tokens,
                    completion_tokens = u.completion_tokens,
                    "stream complete"
                );
            }
        }
        self.inflight = None;
    }

    /// The upstream failed after the stream started. Boxed: recovery runs a whole attempt,
    /// and inlining that rare path would make every stream's state several KB larger.
    async fn fail(&mut self, err: UpstreamError) {
        Box::pin(self.fail_now(err)).await;
    }

    /// Continues elsewhere, or ends the stream with an error event.
    async fn fail_now(&mut self, err: UpstreamError) {
        self.dep.state.record_failure(
            err.class,
            err.retry_after,
            self.started_at.elapsed(),
            &self.group.cooldown,
            Instant::now(),
        );
        tracing::debug!(deployment = %self.dep.cfg.id, class = err.class.as_str(), "stream failed mid-way");
        let Some(cur) = self.cur.take() else {
            self.finished = true;
            return;
        };
        let can_continue = !cur.pipe.tap.tool_started
            && self.recoveries < MAX_RECOVERIES
            && Instant::now() < self.deadline
            && err.class.retryable();
        let pipe = cur.pipe;
        let pipe = if can_continue && pipe.can_continue() {
            let tap = pipe.tap.clone();
            let Some(encoder) = pipe.into_encoder() else {
                self.finished = true;
                return;
            };
            match self.continue_elsewhere(encoder, tap, &err).await {
                Ok(()) => return,
                Err(p) => p,
            }
        } else {
            pipe
        };
        let mut pipe = pipe;
        let ev = pipe.error_event(&err, &self.dep.cfg.provider);
        self.ready.push_back(ev);
        self.finished = true;
        self.inflight = None;
    }

    /// Re-issues the conversation with the text already sent as a partial assistant turn, on
    /// the next healthy deployment of the group or of its fallbacks. On success the new
    /// upstream feeds the same client encoder; on failure the pipe comes back for the final
    /// error event.
    async fn continue_elsewhere(
        &mut self,
        encoder: crate::pipe::ClientEncoder,
        tap: crate::pipe::Tap,
        err: &UpstreamError,
    ) -> Result<(), StreamPipe> {
        let mut encoder = encoder;
        let Ok(canonical) = self.input.canonical() else {
            return Err(StreamPipe::continuation(
                self.dep.provider.adapter.stream_decoder(),
                encoder,
                tap,
            ));
        };
        let mut req = canonical.clone();
        let partial = tap.text.trim_end().to_owned();
        if !partial.is_empty() {
            let mut m = Message::text(Role::Assistant, partial);
            if !tap.reasoning.is_empty() {
                m.reasoning_content = Some(tap.reasoning.clone());
            }
            req.messages.push(m);
        }
        req.stream = Some(true);
        let policy = self
            .input
            .options
            .param_policy
            .unwrap_or(self.group.param_policy);
        for dep in self.candidates(err.class) {
            let now = Instant::now();
            if now >= self.deadline || !dep.state.try_acquire(now) {
                continue;
            }
            let Ok(prepared) = prepare_canonical(&self.input, &req, &dep, policy) else {
                continue;
            };
            let mut slot = Some(StreamPipe::continuation(
                dep.provider.adapter.stream_decoder(),
                encoder,
                tap.clone(),
            ));
            let inflight = dep.state.start();
            let t = Instant::now();
            let deadlines = Deadlines::for_attempt(
                &dep,
                self.deadline,
                self.input.options.first_byte_timeout,
                t,
            );
            match attempt(&self.input, &dep, &prepared, deadlines, &mut slot).await {
                Ok(Started::Stream(mut s)) => {
                    self.recoveries += 1;
                    self.tried.push(dep.cfg.id.clone());
                    let note = format!(
                        ": switchyard continued the answer from {} after {} failed ({})\n\n",
                        dep.cfg.id,
                        self.dep.cfg.id,
                        err.class.as_str()
                    );
                    self.ready.push_back(Bytes::from(note));
                    self.ready.extend(std::mem::take(&mut s.ready));
                    let done = s.pipe.tap.complete && s.pending.is_empty();
                    self.dep = dep;
                    self.ttft = s.ttft;
                    if !done {
                        s.body.settle_for_stream();
                    }
                    self.cur = Some(*s);
                    self.inflight = Some(inflight);
                    self.started_at = Instant::now();
                    self.last_data = Instant::now();
                    if done {
                        self.complete();
                    }
                    return Ok(());
                }
                Ok(Started::Complete { .. }) => {}
                Err(e) => {
                    dep.state.record_failure(
                        e.class,
                        e.retry_after,
                        t.elapsed(),
                        &self.group.cooldown,
                        Instant::now(),
                    );
                    self.tried.push(dep.cfg.id.clone());
                }
            }
            // attempt() hands the pipe back on failure; should it not, a fresh encoder in the
            // client's format (same identity) still ends the stream correctly.
            encoder = slot.and_then(StreamPipe::into_encoder).unwrap_or_else(|| {
                crate::attempt::client_encoder_with(
                    &self.input,
                    tap.identity.clone(),
                    &self.dep.cfg.model,
                )
            });
        }
        Err(StreamPipe::continuation(
            self.dep.provider.adapter.stream_decoder(),
            encoder,
            tap,
        ))
    }

    /// Continuation candidates: the group's other healthy deployments, then its fallbacks'.
    fn candidates(&self, class: ErrorClass) -> Vec<Arc<Deployment>> {
        let input = RankInput {
            tokens: self.input.estimated_tokens(),
            output_tokens: crate::engine::DEFAULT_OUTPUT_ESTIMATE,
            stream: true,
            explore: false,
            describe: false,
        };
        let now = Instant::now();
        let mut out: Vec<Arc<Deployment>> = Vec::new();
        let push_group = |g: &Group, out: &mut Vec<Arc<Deployment>>| {
            for (d, s) in rank(g, input, now) {
                if s.health != "cooling_down"
                    && s.within_limits
                    && !self.tried.contains(&d.cfg.id)
                    && !out.iter().any(|o| o.cfg.id == d.cfg.id)
                {
                    out.push(Arc::clone(d));
                }
            }
        };
        push_group(&self.group, &mut out);
        for f in &self.group.fallbacks {
            if f.on.contains(&class) {
                if let Ok(g) = self.snap.resolve(&f.model) {
                    push_group(&g, &mut out);
                }
            }
        }
        out
    }
}

fn is_terminal(ev: &switchyard_types::sse::SseEvent) -> bool {
    ev.is_done() || ev.event.as_deref() == Some("message_stop")
}

impl Drop for LiveStream {
    fn drop(&mut self) {
        if !self.finished {
            let usage = self.cur.as_ref().and_then(|c| c.pipe.tap.usage.clone());
            tracing::debug!(
                deployment = %self.dep.cfg.id,
                partial_completion_tokens = usage.as_ref().map_or(0, |u| u.completion_tokens),
                "client disconnected; upstream request cancelled"
            );
        }
    }
}

/// Text of a message, for tests of continuation.
pub fn message_text(m: &Message) -> String {
    m.content
        .as_ref()
        .map(Content::joined_text)
        .unwrap_or_default()
}
