//! The engine: resolve the model (rules, groups, `provider/model`), walk the candidates with
//! retries, fallbacks and hedging under one deadline, and hand back a complete body or a live
//! stream in the client's format, with a record of who served it.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use bytes::Bytes;
use futures_util::stream::BoxStream;
use rand::Rng;
use switchyard_config::Config;
use switchyard_providers::{ErrorClass, Fault, UpstreamError};
use switchyard_types::openai::Usage;
use tokio::time::{sleep_until, Instant};

use crate::attempt::{attempt, Deadlines, Started};
use crate::budget::RetryBucket;
use crate::deployment::Deployment;
use crate::error::EngineError;
use crate::live::LiveStream;
use crate::report::{AttemptRecord, Served};
use crate::request::{prepare, ChatInput, Ingress, Prepared};
use crate::route::features;
use crate::route::rules::{Needs, RuleInput, RuleMatch};
use crate::route::strategy::{rank, RankInput};
use crate::snapshot::{Group, Snapshot, StateRegistry};
use crate::transport::Transport;
use crate::views::{AnReplyView, OaReplyView};

/// Output tokens assumed for cost and TPM estimates when the request sets no cap.
pub const DEFAULT_OUTPUT_ESTIMATE: u64 = 512;

/// The body of a successful reply.
pub enum ReplyBody {
    /// A complete JSON body in the client's format.
    Complete(Bytes),
    /// SSE bytes in the client's format.
    Stream(BoxStream<'static, Bytes>),
}

/// A successful reply.
pub struct ChatReply {
    /// Who served it and what it took.
    pub served: Served,
    /// The body.
    pub body: ReplyBody,
    /// Usage (non-streaming; streams report theirs when they end).
    pub usage: Option<Usage>,
}

pub(crate) struct Inner {
    pub(crate) snapshot: ArcSwap<Snapshot>,
    pub(crate) retry: RetryBucket,
}

/// The routing and attempt engine. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
}

/// A group chosen for a request, and the rule that chose it.
#[derive(Debug, Clone)]
pub struct Routed {
    /// The group.
    pub group: Arc<Group>,
    /// The rule, if one matched.
    pub rule: Option<RuleMatch>,
}

impl Engine {
    /// Builds the engine for `config`.
    pub fn new(config: Config) -> Result<Self, String> {
        let transport = Arc::new(Transport::with_proxy(crate::proxy::Proxy::new(
            &config.proxy,
        )));
        let states = Arc::new(StateRegistry::default());
        let budget = config.routing.retry_budget;
        let snap = Snapshot::build(config, transport, states)?;
        Ok(Self {
            inner: Arc::new(Inner {
                snapshot: ArcSwap::from_pointee(snap),
                retry: RetryBucket::new(budget),
            }),
        })
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.inner.snapshot.load_full()
    }

    /// Picks the group: the first matching rule's model, else the requested model.
    pub fn route(&self, snap: &Snapshot, input: &ChatInput) -> Result<Routed, EngineError> {
        if !snap.rules.is_empty() {
            let rin = rule_input(input, snap.rules.needs())?;
            if let Some(m) = snap.rules.evaluate(&rin) {
                let group = snap.resolve(&m.model)?;
                return Ok(Routed {
                    group,
                    rule: Some(m),
                });
            }
        }
        Ok(Routed {
            group: snap.resolve(&input.model)?,
            rule: None,
        })
    }

    /// Serves a chat request.
    ///
    /// Routing and the deadline are settled when this is called, and the request moves
    /// behind a reference count then: the returned future holds the `Arc`, not the request
    /// (an `async fn` keeps its arguments in its state for its whole life, which made this
    /// future 1.5 KB larger, allocated and copied with every request's future).
    pub fn chat(
        &self,
        input: ChatInput,
    ) -> impl Future<Output = Result<ChatReply, EngineError>> + Send + '_ {
        let begun = self.begin(input);
        async move {
            let Begun {
                snap,
                group,
                input,
                deadline,
                began,
                rule,
            } = begun?;
            let mut run = Run {
                engine: self,
                snap: &snap,
                input: &input,
                deadline,
                clock: Some(began),
                failed: Vec::new(),
                upstream_total: Duration::ZERO,
                rule,
            };
            run.execute(group).await
        }
    }

    /// What a chat request is before its first attempt: routed, with its deadline.
    fn begin(&self, input: ChatInput) -> Result<Begun, EngineError> {
        let snap = self.snapshot();
        let routed = self.route(&snap, &input)?;
        self.inner.retry.deposit();
        let total = input.options.total_timeout.unwrap_or_else(|| {
            routed
                .group
                .deployments
                .first()
                .map_or(snap.config.timeouts.total, |d| d.cfg.timeouts.total)
        });
        let began = input.options.received.unwrap_or_else(Instant::now);
        Ok(Begun {
            deadline: began + total,
            began,
            rule: routed.rule.map(|r| r.name),
            group: routed.group,
            input: Arc::new(input),
            snap,
        })
    }
}

/// A routed chat request (see [`Engine::chat`]).
struct Begun {
    snap: Arc<Snapshot>,
    group: Arc<Group>,
    input: Arc<ChatInput>,
    deadline: Instant,
    /// The clock reading the deadline was set from.
    began: Instant,
    rule: Option<String>,
}

/// Rule input for a request: only what `needs` says the rules read is computed (the prompt
/// features need the whole body parsed; metadata is read from the top level alone).
pub fn rule_input(input: &ChatInput, needs: Needs) -> Result<RuleInput<'_>, EngineError> {
    let mut metadata = serde_json::Map::new();
    let mut tags = Vec::new();
    if needs.metadata {
        if let Some(serde_json::Value::Object(m)) = input.top_field::<serde_json::Value>("metadata")
        {
            metadata.extend(m);
        }
        metadata.extend(input.options.metadata.clone());
        tags = metadata
            .get("tags")
            .and_then(|t| t.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
    }
    let prompt = if needs.prompt {
        // An OpenAI body not parsed yet: the features read `messages` and `tools` alone,
        // borrowing their texts. Anything they cannot read goes the canonical way, which
        // also reports what is wrong with it.
        let light = match (input.ingress, input.canonical_parsed()) {
            (Ingress::OpenAi, None) => input.top_raw("messages").and_then(|m| {
                features::extract_from_members(m, input.top_raw("tools"), needs.features)
            }),
            _ => None,
        };
        let mut f = match light {
            Some(f) => f,
            None => features::extract_with(input.canonical()?, needs.features),
        };
        if !needs.texts {
            f.last_user_text = String::new();
            f.system_text = String::new();
        }
        Some(f)
    } else {
        None
    };
    Ok(RuleInput {
        model: &input.model,
        stream: input.stream,
        metadata: serde_json::Value::Object(metadata),
        tags,
        key: serde_json::json!({}),
        prompt,
        budget_spent_ratio: 0.0,
        prompt_fields: needs.prompt_fields,
    })
}

/// The tokens an attempt reserves in its deployment's usage window (prompt estimate plus the
/// output cap or [`DEFAULT_OUTPUT_ESTIMATE`]), replaced by the real count once usage is known.
pub(crate) fn reserved_tokens(input: &ChatInput) -> u64 {
    input.estimated_tokens() + input.output_cap().unwrap_or(DEFAULT_OUTPUT_ESTIMATE)
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

struct Run<'a> {
    engine: &'a Engine,
    snap: &'a Arc<Snapshot>,
    input: &'a Arc<ChatInput>,
    deadline: Instant,
    /// A clock reading not used yet: the first group's ranking takes the one the deadline was
    /// set from (nothing has waited in between) instead of reading the clock again.
    clock: Option<Instant>,
    failed: Vec<AttemptRecord>,
    upstream_total: Duration,
    rule: Option<String>,
}

enum Outcome {
    Done(Box<ChatReply>),
    Failed(UpstreamError),
}

impl Run<'_> {
    async fn execute(&mut self, first: Arc<Group>) -> Result<ChatReply, EngineError> {
        // The fallback queue and the groups already tried are only written once a group has
        // failed: a request its first group serves allocates neither.
        let mut next = Some(Arc::clone(&first));
        let mut queue = std::collections::VecDeque::new();
        let mut tried: Vec<Arc<Group>> = Vec::new();
        let mut last: Option<(UpstreamError, String, String)> = None;
        let mut skipped_all = true;
        while let Some(group) = next.take().or_else(|| queue.pop_front()) {
            if tried.iter().any(|g| g.name == group.name) {
                continue;
            }
            let (outcome, attempted) = self.run_group(&group).await?;
            skipped_all &= !attempted;
            if !matches!(outcome, Some(Outcome::Done(_))) {
                tried.push(Arc::clone(&group));
            }
            match outcome {
                Some(Outcome::Done(reply)) => return Ok(*reply),
                Some(Outcome::Failed(err)) => {
                    let class = err.class;
                    let (dep, provider) = self
                        .failed
                        .last()
                        .map(|r| (r.deployment.clone(), r.provider.clone()))
                        .unwrap_or_default();
                    last = Some((err, provider, dep));
                    if class == ErrorClass::BadRequest {
                        break;
                    }
                    for f in &group.fallbacks {
                        if f.on.contains(&class) {
                            queue.push_back(self.snap.resolve(&f.model)?);
                        }
                    }
                }
                None => {
                    // Nothing was tried (all cooling down or at limits): every fallback may help.
                    for f in &group.fallbacks {
                        queue.push_back(self.snap.resolve(&f.model)?);
                    }
                }
            }
            if Instant::now() >= self.deadline {
                break;
            }
        }
        if let Some((last, provider, deployment)) = last {
            if last.class == ErrorClass::NotFound && !first.configured && self.failed.len() == 1 {
                // The provider does not know a model the client named directly: answer like an
                // unknown model, with the closest names we know, and the provider's own words.
                return Err(EngineError::ModelNotFound {
                    model: self.input.model.clone(),
                    suggestions: self.snap.suggestions(&self.input.model),
                });
            }
            return Err(EngineError::Upstream {
                last: Box::new(last),
                provider,
                deployment,
                attempts: std::mem::take(&mut self.failed),
            });
        }
        let reason = if skipped_all {
            "every deployment is cooling down or at its provider rate limit"
        } else {
            "the request deadline passed"
        };
        Err(EngineError::Unavailable {
            model: first.name.clone(),
            reason: reason.to_owned(),
            attempts: std::mem::take(&mut self.failed),
        })
    }

    /// Tries a group's deployments. Returns the outcome (None when nothing could be tried) and
    /// whether any attempt was made.
    async fn run_group(
        &mut self,
        group: &Arc<Group>,
    ) -> Result<(Option<Outcome>, bool), EngineError> {
        let input = self.input;
        // One clock reading serves ranking, the deadline check and admission until time
        // passes (a backoff, an attempt).
        let mut now = self.clock.take().unwrap_or_else(Instant::now);
        let tokens = input.estimated_tokens();
        let output = input.output_cap().unwrap_or(DEFAULT_OUTPUT_ESTIMATE);
        let mut usable = rank(
            group,
            RankInput {
                tokens,
                output_tokens: output,
                stream: input.stream,
                explore: true,
                describe: false,
            },
            now,
        );
        // Filtered in place: the ranking's own vector is the list of candidates.
        usable.retain(|(_, s)| s.within_limits && s.health != "cooling_down");
        if usable.is_empty() {
            return Ok((None, false));
        }
        let mut last_err: Option<UpstreamError> = None;
        let mut attempts = 0u32;
        let mut idx = 0usize;
        let mut attempted = false;
        let mut guard = 0u32;
        // Deployments found unusable in a row (cooling down, at limits): once every one is,
        // waiting out more backoffs cannot help this request.
        let mut skipped = 0usize;
        while attempts < group.retry.attempts {
            if skipped >= usable.len() {
                break;
            }
            guard += 1;
            if guard > group.retry.attempts * 4 + 8 {
                break;
            }
            if now >= self.deadline {
                break;
            }
            let dep = &usable[idx % usable.len()].0;
            let round = idx / usable.len();
            idx += 1;
            if !self.failed.is_empty() && !self.engine.inner.retry.try_withdraw() {
                tracing::debug!(group = %group.name, "retry budget exhausted");
                break;
            }
            if round > 0 {
                // Same deployment again: back off with full jitter, honouring Retry-After.
                let exp = group.retry.backoff.saturating_mul(1u32 << round.min(16));
                let cap = exp.min(group.retry.max_backoff);
                let jitter = cap.mul_f64(rand::rng().random::<f64>());
                let wait = last_err
                    .as_ref()
                    .and_then(|e| e.retry_after)
                    .map_or(jitter, |ra| ra.max(jitter));
                let until = now + wait;
                if until >= self.deadline {
                    break;
                }
                sleep_until(until).await;
                now = Instant::now();
            }
            if !dep.state.try_acquire(now) {
                skipped += 1;
                continue;
            }
            // Reserves `reserved_tokens(input)`, settled against the reply's usage.
            if !dep
                .state
                .try_admit(dep.cfg.rpm, dep.cfg.tpm, tokens + output, now)
            {
                skipped += 1;
                continue;
            }
            skipped = 0;
            attempts += 1;
            attempted = true;
            let hedge_with = if attempts == 1 && group.hedge.is_some() {
                usable
                    .get(idx % usable.len())
                    .map(|(d, _)| d)
                    .filter(|d| d.cfg.id != dep.cfg.id)
                    .copied()
            } else {
                None
            };
            let result = match (group.hedge, hedge_with) {
                (Some(h), Some(second)) => {
                    Box::pin(self.hedged(group, dep, second, h.after)).await?
                }
                _ => self.one(group, dep, false).await?,
            };
            match result {
                Outcome::Done(reply) => return Ok((Some(Outcome::Done(reply)), true)),
                Outcome::Failed(err) => {
                    now = Instant::now();
                    let class = err.class;
                    let stop = class.fault() == Fault::Client || !class.retryable();
                    last_err = Some(err);
                    if stop {
                        break;
                    }
                }
            }
        }
        Ok((last_err.map(Outcome::Failed), attempted))
    }

    /// One attempt on `dep`, recording its outcome.
    async fn one(
        &mut self,
        group: &Arc<Group>,
        dep: &Arc<Deployment>,
        hedged: bool,
    ) -> Result<Outcome, EngineError> {
        let input = self.input;
        let prepared = prepare(
            input,
            dep,
            input.options.param_policy.unwrap_or(group.param_policy),
        )?;
        let inflight = dep.state.start();
        let t = Instant::now();
        let deadlines =
            Deadlines::for_attempt(dep, self.deadline, input.options.first_byte_timeout, t);
        let res = attempt(input, dep, &prepared, deadlines, &mut None).await;
        let elapsed = t.elapsed();
        self.upstream_total += elapsed;
        match res {
            Ok(started) => self.finish(group, dep, &prepared, started, elapsed, inflight, hedged),
            Err(err) => {
                self.record_failure(group, dep, &err, elapsed);
                Ok(Outcome::Failed(err))
            }
        }
    }

    /// Races `primary` against `secondary`, started when the primary has not answered
    /// within `after`. The loser is dropped (its request cancelled) and not recorded as a
    /// failure nor billed.
    async fn hedged(
        &mut self,
        group: &Arc<Group>,
        primary: &Arc<Deployment>,
        secondary: &Arc<Deployment>,
        after: Duration,
    ) -> Result<Outcome, EngineError> {
        let input = self.input;
        let policy = input.options.param_policy.unwrap_or(group.param_policy);
        let p_prep = prepare(input, primary, policy)?;
        let p_inflight = primary.state.start();
        let t = Instant::now();
        let p_dead =
            Deadlines::for_attempt(primary, self.deadline, input.options.first_byte_timeout, t);
        let mut p_slot = None;
        let p_fut = attempt(input, primary, &p_prep, p_dead, &mut p_slot);
        tokio::pin!(p_fut);
        tokio::select! {
            res = &mut p_fut => {
                let elapsed = t.elapsed();
                self.upstream_total += elapsed;
                return match res {
                    Ok(started) => self.finish(group, primary, &p_prep, started, elapsed, p_inflight, false),
                    Err(err) => {
                        self.record_failure(group, primary, &err, elapsed);
                        Ok(Outcome::Failed(err))
                    }
                };
            }
            () = tokio::time::sleep(after) => {}
        }
        if !secondary.state.try_acquire(Instant::now()) {
            let res = p_fut.await;
            let elapsed = t.elapsed();
            self.upstream_total += elapsed;
            return match res {
                Ok(started) => {
                    self.finish(group, primary, &p_prep, started, elapsed, p_inflight, false)
                }
                Err(err) => {
                    self.record_failure(group, primary, &err, elapsed);
                    Ok(Outcome::Failed(err))
                }
            };
        }
        tracing::debug!(primary = %primary.cfg.id, secondary = %secondary.cfg.id, "hedging");
        let s_prep = prepare(input, secondary, policy)?;
        let s_inflight = secondary.state.start();
        let ts = Instant::now();
        let s_dead = Deadlines::for_attempt(
            secondary,
            self.deadline,
            input.options.first_byte_timeout,
            ts,
        );
        let mut s_slot = None;
        let s_fut = attempt(input, secondary, &s_prep, s_dead, &mut s_slot);
        tokio::pin!(s_fut);
        let mut p_done: Option<UpstreamError> = None;
        let mut s_done: Option<UpstreamError> = None;
        loop {
            tokio::select! {
                res = &mut p_fut, if p_done.is_none() => match res {
                    Ok(started) => {
                        let elapsed = t.elapsed();
                        self.upstream_total += elapsed;
                        return self.finish(group, primary, &p_prep, started, elapsed, p_inflight, false);
                    }
                    Err(err) => {
                        self.record_failure(group, primary, &err, t.elapsed());
                        p_done = Some(err);
                    }
                },
                res = &mut s_fut, if s_done.is_none() => match res {
                    Ok(started) => {
                        let elapsed = ts.elapsed();
                        self.upstream_total += t.elapsed();
                        return self.finish(group, secondary, &s_prep, started, elapsed, s_inflight, true);
                    }
                    Err(err) => {
                        self.record_failure(group, secondary, &err, ts.elapsed());
                        s_done = Some(err);
                    }
                },
            }
            if let (Some(_), Some(e)) = (&p_done, &s_done) {
                self.upstream_total += t.elapsed();
                return Ok(Outcome::Failed(e.clone()));
            }
        }
    }

    fn record_failure(
        &mut self,
        group: &Group,
        dep: &Deployment,
        err: &UpstreamError,
        elapsed: Duration,
    ) {
        if err.class == ErrorClass::Auth {
            // An operator must act; the provider's message is left out (it may quote the key).
            tracing::error!(
                deployment = %dep.cfg.id,
                status = ?err.status,
                code = ?err.provider_code,
                "provider rejected the gateway's credential"
            );
        }
        dep.state.record_failure(
            err.class,
            err.retry_after,
            elapsed,
            &group.cooldown,
            Instant::now(),
        );
        tracing::debug!(deployment = %dep.cfg.id, class = err.class.as_str(), status = ?err.status, "attempt failed");
        self.failed.push(AttemptRecord {
            deployment: dep.cfg.id.clone(),
            provider: dep.cfg.provider.clone(),
            class: err.class,
            status: err.status,
            elapsed,
        });
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "one call site per attempt kind; a struct would only rename them"
    )]
    fn finish(
        &mut self,
        group: &Arc<Group>,
        dep: &Arc<Deployment>,
        prepared: &Prepared,
        started: Started,
        elapsed: Duration,
        inflight: crate::deployment::InFlight,
        hedged: bool,
    ) -> Result<Outcome, EngineError> {
        let served = |failed: Vec<AttemptRecord>| Served {
            group: Arc::clone(group),
            deployment: Arc::clone(dep),
            rule: self.rule.clone(),
            failed,
            upstream_latency: elapsed,
            upstream_total: self.upstream_total,
            dropped_params: prepared.dropped.clone(),
            hedged,
        };
        match started {
            Started::Complete { body } => match complete_body(self.input, dep, prepared, body) {
                Ok((body, usage)) => {
                    dep.state.record_success(elapsed, None);
                    if let Some(u) = &usage {
                        dep.state.settle_tokens(
                            dep.cfg.rpm,
                            dep.cfg.tpm,
                            || reserved_tokens(self.input),
                            u.total_tokens,
                        );
                    }
                    drop(inflight);
                    let served = served(std::mem::take(&mut self.failed));
                    Ok(Outcome::Done(Box::new(ChatReply {
                        served,
                        body: ReplyBody::Complete(body),
                        usage,
                    })))
                }
                Err(err) => {
                    drop(inflight);
                    self.record_failure(group, dep, &err, elapsed);
                    Ok(Outcome::Failed(err))
                }
            },
            Started::Stream(stream) => {
                let served = served(std::mem::take(&mut self.failed));
                let live = LiveStream::new(
                    Arc::clone(&self.engine.inner),
                    Arc::clone(self.snap),
                    Arc::clone(self.input),
                    Arc::clone(group),
                    Arc::clone(dep),
                    *stream,
                    inflight,
                    self.deadline,
                );
                Ok(Outcome::Done(Box::new(ChatReply {
                    served,
                    body: ReplyBody::Stream(live.into_stream()),
                    usage: None,
                })))
            }
        }
    }
}

/// Turns a successful upstream body into the client's body, reading usage on the way.
fn complete_body(
    input: &ChatInput,
    dep: &Deployment,
    prepared: &Prepared,
    body: Bytes,
) -> Result<(Bytes, Option<Usage>), UpstreamError> {
    let malformed = |e: String| {
        UpstreamError::new(
            ErrorClass::Malformed,
            format!("malformed response from {}: {e}", dep.cfg.provider),
        )
    };
    if prepared.passthrough {
        let usage = match input.ingress {
            Ingress::OpenAi => {
                let view = OaReplyView::read(&body).map_err(|e| malformed(e.to_string()))?;
                if !view.choices {
                    return Err(malformed("no `choices`".to_owned()));
                }
                view.usage
            }
            Ingress::Anthropic => {
                let view = AnReplyView::read(&body).map_err(|e| malformed(e.to_string()))?;
                if !view.content {
                    return Err(malformed("no `content`".to_owned()));
                }
                view.usage.filter(|u| !u.odd).map(|u| {
                    Usage::new(
                        u.input_tokens.unwrap_or(0)
                            + u.cache_read_input_tokens.unwrap_or(0)
                            + u.cache_creation_input_tokens.unwrap_or(0),
                        u.output_tokens.unwrap_or(0),
                    )
                })
            }
        };
        return Ok((body, usage));
    }
    let mut resp = dep
        .provider
        .adapter
        .decode_chat(&body)
        .map_err(|e| malformed(e.to_string()))?;
    if resp.created == 0 {
        resp.created = unix_now();
    }
    if resp.model.is_empty() {
        resp.model.clone_from(&dep.cfg.model);
    }
    let usage = resp.usage.clone();
    let out = match input.ingress {
        Ingress::OpenAi => resp.to_json().map_err(|e| malformed(e.to_string()))?,
        Ingress::Anthropic => {
            switchyard_providers::anthropic::ingress::response_from_canonical(&resp, &dep.cfg.model)
        }
    };
    Ok((Bytes::from(out), usage))
}
