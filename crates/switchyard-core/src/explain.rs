//! `POST /v1/route/explain`: the routing decision for a request, computed by the same code
//! the real path runs, without calling any provider.

use serde::Serialize;
use tokio::time::Instant;

use crate::engine::{rule_input, Engine, DEFAULT_OUTPUT_ESTIMATE};
use crate::error::EngineError;
use crate::request::ChatInput;
use crate::route::features::PromptFeatures;
use crate::route::strategy::{rank, RankInput, Scored};

/// A routing explanation.
#[derive(Debug, Serialize)]
pub struct Explanation {
    /// Model the client asked for.
    pub requested_model: String,
    /// Rules in order with their results.
    pub rules: Vec<RuleTrace>,
    /// The rule that matched.
    pub matched_rule: Option<String>,
    /// Group that would serve.
    pub group: String,
    /// Its strategy.
    pub strategy: &'static str,
    /// Prompt features the rules saw.
    pub features: Option<PromptFeatures>,
    /// Candidate deployments in the order they would be tried.
    pub candidates: Vec<Scored>,
    /// Fallback groups with their candidates, in order.
    pub fallbacks: Vec<FallbackTrace>,
    /// Attempts allowed in the group.
    pub max_attempts: u32,
    /// Hedging delay, ms.
    pub hedge_after_ms: Option<f64>,
}

/// One rule's result.
#[derive(Debug, Serialize)]
pub struct RuleTrace {
    /// Name.
    pub name: String,
    /// Expression.
    pub when: String,
    /// `true`, `false`, or the evaluation error.
    pub result: String,
}

/// A fallback and its ranked candidates.
#[derive(Debug, Serialize)]
pub struct FallbackTrace {
    /// Target model.
    pub model: String,
    /// Error classes that trigger it.
    pub on: Vec<&'static str>,
    /// Its candidates.
    pub candidates: Vec<Scored>,
}

impl Engine {
    /// Explains how `input` would be routed.
    pub fn explain(&self, input: &ChatInput) -> Result<Explanation, EngineError> {
        let snap = self.snapshot();
        let (rules, features) = if snap.rules.is_empty() {
            (Vec::new(), None)
        } else {
            let rin = rule_input(input, crate::route::rules::Needs::ALL)?;
            let traces = snap
                .rules
                .trace(&rin)
                .into_iter()
                .map(|(name, when, r)| RuleTrace {
                    name,
                    when,
                    result: match r {
                        Ok(b) => b.to_string(),
                        Err(e) => format!("error: {e}"),
                    },
                })
                .collect();
            (traces, rin.prompt)
        };
        let routed = self.route(&snap, input)?;
        let now = Instant::now();
        let rank_input = RankInput {
            tokens: input.estimated_tokens(),
            output_tokens: input.output_cap().unwrap_or(DEFAULT_OUTPUT_ESTIMATE),
            stream: input.stream,
            explore: false,
            describe: true,
        };
        let candidates = rank(&routed.group, rank_input, now)
            .into_iter()
            .map(|(_, s)| s)
            .collect();
        let mut fallbacks = Vec::new();
        for f in &routed.group.fallbacks {
            let cands = match snap.resolve(&f.model) {
                Ok(g) => rank(&g, rank_input, now)
                    .into_iter()
                    .map(|(_, s)| s)
                    .collect(),
                Err(_) => Vec::new(),
            };
            fallbacks.push(FallbackTrace {
                model: f.model.clone(),
                on: f.on.iter().map(|c| c.as_str()).collect(),
                candidates: cands,
            });
        }
        Ok(Explanation {
            requested_model: input.model.clone(),
            rules,
            matched_rule: routed.rule.map(|r| r.name),
            group: routed.group.name.clone(),
            strategy: routed.group.strategy.as_str(),
            features,
            candidates,
            fallbacks,
            max_attempts: routed.group.retry.attempts,
            hedge_after_ms: routed.group.hedge.map(|h| h.after.as_secs_f64() * 1000.0),
        })
    }

    /// Live state of every configured deployment, for the admin API.
    pub fn deployment_states(&self) -> Vec<serde_json::Value> {
        let snap = self.snapshot();
        let now = Instant::now();
        let mut out = Vec::new();
        let mut groups: Vec<_> = snap.groups.values().collect();
        groups.sort_by(|a, b| a.name.cmp(&b.name));
        for g in groups {
            for d in &g.deployments {
                out.push(serde_json::json!({
                    "group": g.name,
                    "deployment": d.cfg.id,
                    "provider": d.cfg.provider,
                    "model": d.cfg.model,
                    "state": d.state.view(now),
                }));
            }
        }
        out
    }
}
