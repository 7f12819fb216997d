//! The client's request as the engine sees it: raw bytes plus the few fields routing needs,
//! the canonical form parsed only when formats cross, and per-deployment body preparation.

use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use switchyard_config::ParamPolicy;
use switchyard_providers::{openai as oai, Dialect};
use switchyard_types::openai::ChatRequest;
use switchyard_types::peek::Members;

use crate::deployment::Deployment;
use crate::error::EngineError;

/// Which API the client called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ingress {
    /// `POST /v1/chat/completions`.
    OpenAi,
    /// `POST /v1/messages`.
    Anthropic,
}

impl Ingress {
    /// The dialect of this ingress.
    pub fn dialect(self) -> Dialect {
        match self {
            Self::OpenAi => Dialect::OpenAi,
            Self::Anthropic => Dialect::Anthropic,
        }
    }
}

/// Per-request overrides, from headers.
#[derive(Debug, Clone, Default)]
pub struct RequestOptions {
    /// Overall deadline override (`x-switchyard-timeout`).
    pub total_timeout: Option<Duration>,
    /// First-byte deadline override (`x-switchyard-first-byte-timeout`).
    pub first_byte_timeout: Option<Duration>,
    /// Unsupported-parameter policy override (`x-switchyard-unsupported-params`).
    pub param_policy: Option<ParamPolicy>,
    /// Client tags/metadata for routing rules (`x-switchyard-tags`, `x-switchyard-metadata`).
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// When the gateway had the request: the total deadline counts from here (from the
    /// engine's start when `None`), and the engine reuses the reading rather than take its own.
    pub received: Option<tokio::time::Instant>,
}

/// A chat request.
#[derive(Debug)]
pub struct ChatInput {
    /// Ingress API.
    pub ingress: Ingress,
    /// Body exactly as received.
    pub body: Bytes,
    /// Requested model.
    pub model: String,
    /// Streamed?
    pub stream: bool,
    /// OpenAI ingress: the client asked for a usage chunk.
    pub include_usage: bool,
    /// Header overrides.
    pub options: RequestOptions,
    /// Top-level members of `body`, parsed once.
    members: Members,
    canonical: OnceLock<Result<ChatRequest, EngineError>>,
}

/// Rough token estimate of a body: bytes / 4.
pub fn estimate_tokens(bytes: usize) -> u64 {
    (bytes as u64).div_ceil(4)
}

/// Stream request bodies up to this size are copied out of the connection's read buffer.
const DETACH_BODY_BELOW: usize = 16 * 1024;

impl ChatInput {
    /// Reads the routing fields of a body; the rest stays unparsed.
    pub fn parse(
        ingress: Ingress,
        body: Bytes,
        options: RequestOptions,
    ) -> Result<Self, EngineError> {
        let top = Members::parse(&body).map_err(|e| {
            EngineError::invalid(
                format!("request body is not a valid JSON object: {e}"),
                None,
            )
        })?;
        let model: String = match top.field::<String>(&body, "model") {
            Ok(Some(m)) if !m.is_empty() => m,
            Ok(_) => {
                return Err(EngineError::invalid(
                    "you must provide a model parameter",
                    Some("model"),
                ))
            }
            Err(_) => {
                return Err(EngineError::invalid(
                    "`model` must be a string",
                    Some("model"),
                ))
            }
        };
        let stream = top
            .field::<bool>(&body, "stream")
            .map_err(|_| EngineError::invalid("`stream` must be a boolean", Some("stream")))?
            .unwrap_or(false);
        let include_usage = match top.get(&body, "stream_options") {
            Some(raw) => {
                let v: serde_json::Value = serde_json::from_slice(raw).unwrap_or_default();
                v.get("include_usage")
                    .and_then(serde_json::Value::as_bool)
                    .unwrap_or(false)
            }
            None => false,
        };
        let has_messages = top.has(&body, "messages");
        if !has_messages {
            return Err(EngineError::invalid(
                "`messages` is required",
                Some("messages"),
            ));
        }
        // A small body is usually a slice of the server connection's 8 KiB read buffer; a
        // stream keeps its request for its whole life (mid-stream recovery), which would pin
        // that buffer and make the connection allocate another. Copy it out instead.
        let body = if stream && body.len() <= DETACH_BODY_BELOW {
            Bytes::copy_from_slice(&body)
        } else {
            body
        };
        Ok(Self {
            ingress,
            members: top,
            body,
            model,
            stream,
            include_usage,
            options,
            canonical: OnceLock::new(),
        })
    }

    /// The canonical (OpenAI) form, parsed on first use.
    pub fn canonical(&self) -> Result<&ChatRequest, EngineError> {
        let parsed = self.canonical.get_or_init(|| match self.ingress {
            Ingress::OpenAi => ChatRequest::from_json(&self.body)
                .map_err(|e| EngineError::invalid(format!("invalid chat request: {e}"), None)),
            Ingress::Anthropic => {
                switchyard_providers::anthropic::ingress::request_to_canonical(&self.body)
                    .map_err(EngineError::from)
            }
        });
        match parsed {
            Ok(r) => Ok(r),
            Err(e) => Err(clone_invalid(e)),
        }
    }

    /// The request's output cap (`max_completion_tokens`, `max_tokens`), read without parsing
    /// the whole body.
    pub fn output_cap(&self) -> Option<u64> {
        let field = |k: &str| self.members.field::<u64>(&self.body, k).ok().flatten();
        field("max_completion_tokens").or_else(|| field("max_tokens"))
    }

    /// A top-level field of the body, parsed on its own (`None` when absent, null or not a `T`).
    pub fn top_field<'s, T: serde::Deserialize<'s>>(&'s self, key: &str) -> Option<T> {
        self.members.field::<T>(&self.body, key).ok().flatten()
    }

    /// A top-level member's raw JSON, if present.
    pub fn top_raw(&self, key: &str) -> Option<&[u8]> {
        self.members.get(&self.body, key)
    }

    /// The canonical request if it has been parsed already (and parsed without error).
    pub fn canonical_parsed(&self) -> Option<&ChatRequest> {
        self.canonical.get().and_then(|r| r.as_ref().ok())
    }

    /// Estimated prompt tokens.
    pub fn estimated_tokens(&self) -> u64 {
        estimate_tokens(self.body.len())
    }
}

fn clone_invalid(e: &EngineError) -> EngineError {
    match e {
        EngineError::InvalidRequest { message, param } => EngineError::InvalidRequest {
            message: message.clone(),
            param: param.clone(),
        },
        EngineError::UnsupportedParam { param, provider } => EngineError::UnsupportedParam {
            param: param.clone(),
            provider: provider.clone(),
        },
        other => EngineError::invalid(other.to_string(), None),
    }
}

/// A body ready for one deployment.
#[derive(Debug)]
pub struct Prepared {
    /// The body.
    pub body: Bytes,
    /// Same dialect both sides: forward responses without translation.
    pub passthrough: bool,
    /// We asked the upstream for stream usage the client did not ask for.
    pub injected_usage: bool,
    /// Parameters dropped.
    pub dropped: Vec<String>,
}

/// Builds the upstream body of `input` for `dep`.
pub fn prepare(
    input: &ChatInput,
    dep: &Deployment,
    policy: ParamPolicy,
) -> Result<Prepared, EngineError> {
    let provider = &dep.provider;
    let dialect = provider.adapter.dialect();
    if dialect == input.ingress.dialect() {
        if let Some(p) = prepare_passthrough(input, dep, policy)? {
            return Ok(p);
        }
    }
    prepare_canonical(input, input.canonical()?, dep, policy)
}

/// Builds the translated upstream body from a canonical request (the client's, or a
/// continuation built from it).
pub fn prepare_canonical(
    input: &ChatInput,
    canonical: &ChatRequest,
    dep: &Deployment,
    policy: ParamPolicy,
) -> Result<Prepared, EngineError> {
    let provider = &dep.provider;
    let dialect = provider.adapter.dialect();
    let quirks = &provider.config.spec.quirks;
    let mut unsupported: Vec<String> = match dialect {
        Dialect::OpenAi => {
            let mut u: Vec<String> = oai::unsupported_params(canonical, quirks)
                .into_iter()
                .map(str::to_owned)
                .collect();
            for extra in &provider.config.extra_unsupported {
                if canonical.extra.contains_key(extra) && !u.contains(extra) {
                    u.push(extra.clone());
                }
            }
            // Reasoning parameters on a model known not to reason (e.g. Anthropic `thinking`
            // arriving at gpt-4o through /v1/messages) would be a 400 upstream.
            let known_non_reasoning =
                crate::pricing::lookup(provider.config.spec.name, &dep.cfg.model)
                    .is_some_and(|m| !m.reasoning);
            if canonical.reasoning_effort.is_some() && known_non_reasoning {
                u.push("reasoning_effort".to_owned());
            }
            u
        }
        Dialect::Anthropic | Dialect::Gemini => cross_format_unsupported(canonical, dialect)
            .into_iter()
            .map(str::to_owned)
            .collect(),
    };
    unsupported.dedup();
    if let Some(first) = unsupported.first() {
        if policy == ParamPolicy::Reject {
            return Err(EngineError::UnsupportedParam {
                param: first.clone(),
                provider: provider.config.name.clone(),
            });
        }
    }
    let dropped = unsupported;
    let mut req = canonical.clone();
    for p in &dropped {
        req.remove_param(p);
    }
    if dialect == Dialect::OpenAi {
        // Anthropic-only fields that /v1/messages carries in the extras for Anthropic upstreams.
        req.extra.remove("thinking");
    }
    req.stream = Some(input.stream);
    let mut injected_usage = false;
    if input.stream && dialect == Dialect::OpenAi && quirks.stream_usage {
        let opts = req.stream_options.get_or_insert_with(Default::default);
        if opts.include_usage != Some(true) {
            opts.include_usage = Some(true);
            injected_usage = !input.include_usage;
        }
    }
    let body = provider.adapter.encode_chat(&req, &dep.target())?;
    Ok(Prepared {
        body: Bytes::from(body),
        passthrough: false,
        injected_usage,
        dropped,
    })
}

/// Same-format fast path: top-level rewrite, values byte for byte. `None` when the request
/// needs a change deeper than the top level (then the translated path runs).
fn prepare_passthrough(
    input: &ChatInput,
    dep: &Deployment,
    policy: ParamPolicy,
) -> Result<Option<Prepared>, EngineError> {
    let provider = &dep.provider;
    let quirks = &provider.config.spec.quirks;
    let top = &input.members;
    let raw = &input.body[..];
    if input.ingress == Ingress::Anthropic {
        let body = top.rewrite(raw, Some(&dep.cfg.model), &[], &[]);
        return Ok(Some(Prepared {
            body: Bytes::from(body),
            passthrough: true,
            injected_usage: false,
            dropped: Vec::new(),
        }));
    }
    if quirks.developer_as_system && memchr::memmem::find(&input.body, b"\"developer\"").is_some() {
        return Ok(None);
    }
    if quirks.no_message_name
        && top
            .get(raw, "messages")
            .is_some_and(|m| memchr::memmem::find(m, b"\"name\"").is_some())
    {
        // Possibly a `messages[].name` the provider rejects: the translated path drops it.
        return Ok(None);
    }
    let mut dropped: Vec<&str> = top.keys(raw).filter(|k| provider.unsupported(k)).collect();
    if !quirks.supports_n {
        let n: Option<u64> = top.field(raw, "n").unwrap_or(None);
        if n.is_some_and(|n| n > 1) && !dropped.contains(&"n") {
            dropped.push("n");
        }
    }
    if let Some(first) = dropped.first() {
        if policy == ParamPolicy::Reject {
            return Err(EngineError::UnsupportedParam {
                param: (*first).to_owned(),
                provider: provider.config.name.clone(),
            });
        }
    }
    let mut drop_keys: Vec<&str> = dropped.clone();
    let mut add: Vec<(&str, &str)> = Vec::new();
    let max_completion = top
        .get(raw, "max_completion_tokens")
        .and_then(|v| std::str::from_utf8(v).ok());
    if quirks.legacy_max_tokens {
        if let Some(v) = max_completion {
            drop_keys.push("max_completion_tokens");
            add.push(("max_tokens", v));
        }
    }
    let mut injected_usage = false;
    if input.stream && quirks.stream_usage && !input.include_usage {
        add.push(("stream_options", r#"{"include_usage":true}"#));
        injected_usage = true;
    }
    if !quirks.stream_usage && top.has(raw, "stream_options") {
        drop_keys.push("stream_options");
    }
    let body = top.rewrite(raw, Some(&dep.cfg.model), &drop_keys, &add);
    Ok(Some(Prepared {
        body: Bytes::from(body),
        passthrough: true,
        injected_usage,
        dropped: dropped.into_iter().map(str::to_owned).collect(),
    }))
}

/// Parameters of `req` that an Anthropic or Gemini upstream cannot honour. The adapters map
/// everything else; these are dropped (and reported) or refused by the parameter policy.
pub fn cross_format_unsupported(req: &ChatRequest, dialect: Dialect) -> Vec<&'static str> {
    let mut out = Vec::new();
    let extra = |k: &str| req.extra.get(k).is_some_and(|v| !v.is_null());
    match dialect {
        Dialect::Anthropic => {
            if req.n.is_some_and(|n| n > 1) {
                out.push("n");
            }
            if req.seed.is_some() {
                out.push("seed");
            }
            if req.presence_penalty.is_some() {
                out.push("presence_penalty");
            }
            if req.frequency_penalty.is_some() {
                out.push("frequency_penalty");
            }
            for k in ["logit_bias", "logprobs", "top_logprobs"] {
                if extra(k) {
                    out.push(k);
                }
            }
        }
        Dialect::Gemini => {
            if req.parallel_tool_calls == Some(false) {
                out.push("parallel_tool_calls");
            }
            for k in ["logit_bias", "logprobs", "top_logprobs"] {
                if extra(k) {
                    out.push(k);
                }
            }
        }
        Dialect::OpenAi => {}
    }
    out
}
