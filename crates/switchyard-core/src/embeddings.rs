//! Embeddings: the same resolution, health and retry rules as chat, without streaming.

use std::sync::Arc;

use bytes::Bytes;
use switchyard_providers::{Dialect, ErrorClass, Fault, UpstreamError};
use switchyard_types::openai::EmbeddingsRequest;
use switchyard_types::peek::Members;
use tokio::time::{timeout_at, Instant};

use crate::attempt::{MAX_ERROR_BYTES, MAX_RESPONSE_BYTES};
use crate::engine::Engine;
use crate::error::EngineError;
use crate::report::{AttemptRecord, Served};
use crate::route::strategy::{rank, RankInput};
use crate::transport::{read_body_capped, UpstreamCall};

/// A successful embeddings reply.
#[derive(Debug)]
pub struct EmbeddingsReply {
    /// Who served it.
    pub served: Served,
    /// OpenAI-format body.
    pub body: Bytes,
}

impl Engine {
    /// Serves `POST /v1/embeddings`.
    pub async fn embeddings(&self, body: Bytes) -> Result<EmbeddingsReply, EngineError> {
        let req: EmbeddingsRequest = serde_json::from_slice(&body)
            .map_err(|e| EngineError::invalid(format!("invalid embeddings request: {e}"), None))?;
        if let Some(texts) = req.input.texts() {
            if texts.is_empty() {
                return Err(EngineError::invalid(
                    "`input` must not be empty",
                    Some("input"),
                ));
            }
        }
        let snap = self.snapshot();
        let group = snap.resolve(&req.model)?;
        let deadline = Instant::now() + snap.config.timeouts.total;
        let ranked = rank(
            &group,
            RankInput {
                tokens: crate::request::estimate_tokens(body.len()),
                output_tokens: 0,
                stream: false,
                explore: true,
                describe: false,
            },
            Instant::now(),
        );
        let mut failed: Vec<AttemptRecord> = Vec::new();
        let mut last: Option<(UpstreamError, String, String)> = None;
        for (dep, score) in ranked.iter().cycle().take(group.retry.attempts as usize) {
            if score.health == "cooling_down" || !dep.state.try_acquire(Instant::now()) {
                continue;
            }
            let Some(url) = &dep.embeddings_url else {
                return Err(EngineError::invalid(
                    format!("provider `{}` has no embeddings endpoint", dep.cfg.provider),
                    Some("model"),
                ));
            };
            let adapter = &dep.provider.adapter;
            let upstream_body = if adapter.dialect() == Dialect::OpenAi {
                let top =
                    Members::parse(&body).map_err(|e| EngineError::invalid(e.to_string(), None))?;
                Bytes::from(top.rewrite(&body, Some(&dep.cfg.model), &[], &[]))
            } else {
                Bytes::from(adapter.encode_embeddings(&req, &dep.target())?)
            };
            let _inflight = dep.state.start();
            let t = Instant::now();
            let call = UpstreamCall {
                client: &dep.client,
                url,
                host: dep.host.as_ref(),
                body: &upstream_body,
                auth: &dep.provider.auth,
                static_headers: adapter.static_headers(),
            };
            let first_byte = (t + dep.cfg.timeouts.first_byte).min(deadline);
            let result: Result<Bytes, UpstreamError> = async {
                let resp = timeout_at(first_byte, call.send()).await.map_err(|_| {
                    UpstreamError::new(
                        ErrorClass::Timeout,
                        format!("{} did not answer in time", dep.cfg.provider),
                    )
                })??;
                let status = resp.status;
                if !(200..300).contains(&status) {
                    let b = read_body_capped(resp.body, MAX_ERROR_BYTES)
                        .await
                        .unwrap_or_default();
                    return Err(adapter.classify_error(status, &resp.headers, &b));
                }
                let raw = timeout_at(deadline, read_body_capped(resp.body, MAX_RESPONSE_BYTES))
                    .await
                    .map_err(|_| {
                        UpstreamError::new(ErrorClass::Timeout, "embeddings body timed out")
                    })??;
                if adapter.dialect() == Dialect::OpenAi {
                    let v: serde_json::Value = serde_json::from_slice(&raw)
                        .map_err(|e| UpstreamError::new(ErrorClass::Malformed, e.to_string()))?;
                    if v.get("data").is_none() {
                        return Err(UpstreamError::new(
                            ErrorClass::Malformed,
                            "embeddings response without `data`",
                        ));
                    }
                    Ok(raw)
                } else {
                    let mut decoded = adapter
                        .decode_embeddings(&raw, &req)
                        .map_err(|e| UpstreamError::new(ErrorClass::Malformed, e.to_string()))?;
                    decoded.model.clone_from(&dep.cfg.model);
                    serde_json::to_vec(&decoded)
                        .map(Bytes::from)
                        .map_err(|e| UpstreamError::new(ErrorClass::Malformed, e.to_string()))
                }
            }
            .await;
            let elapsed = t.elapsed();
            match result {
                Ok(out) => {
                    dep.state.record_success(elapsed, None);
                    return Ok(EmbeddingsReply {
                        served: Served {
                            group: Arc::clone(&group),
                            deployment: Arc::clone(dep),
                            rule: None,
                            failed,
                            upstream_latency: elapsed,
                            upstream_total: elapsed,
                            dropped_params: Vec::new(),
                            hedged: false,
                        },
                        body: out,
                    });
                }
                Err(err) => {
                    dep.state.record_failure(
                        err.class,
                        err.retry_after,
                        elapsed,
                        &group.cooldown,
                        Instant::now(),
                    );
                    failed.push(AttemptRecord {
                        deployment: dep.cfg.id.clone(),
                        provider: dep.cfg.provider.clone(),
                        class: err.class,
                        status: err.status,
                        elapsed,
                    });
                    let stop = err.class.fault() == Fault::Client || !err.class.retryable();
                    last = Some((err, dep.cfg.provider.clone(), dep.cfg.id.clone()));
                    if stop || Instant::now() >= deadline {
                        break;
                    }
                }
            }
        }
        match last {
            Some((last, provider, deployment)) => Err(EngineError::Upstream {
                last: Box::new(last),
                provider,
                deployment,
                attempts: failed,
            }),
            None => Err(EngineError::Unavailable {
                model: group.name.clone(),
                reason: "every deployment is cooling down".to_owned(),
                attempts: failed,
            }),
        }
    }
}
