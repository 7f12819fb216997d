//! Ordering a group's deployments best-first. The attempt loop walks the order for retries;
//! `/v1/route/explain` shows it with the scores behind it.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use rand::Rng;
use serde::Serialize;
use switchyard_config::Strategy;
use tokio::time::Instant;

use crate::deployment::{Availability, Deployment};
use crate::snapshot::Group;

/// Share of least-latency decisions that explore a random healthy deployment, so a recovered
/// or never-measured deployment gets traffic again.
pub const EXPLORATION: f64 = 0.05;

/// What the ranking knew about one deployment.
#[derive(Debug, Clone, Serialize)]
pub struct Scored {
    /// Deployment id.
    pub deployment: String,
    /// Provider name.
    pub provider: String,
    /// Upstream model.
    pub model: String,
    /// Health at ranking time: `ready`, `cooling_down` or `probe`.
    pub health: &'static str,
    /// Strategy score (lower is better); meaning depends on the strategy.
    pub score: f64,
    /// Moving-average latency, ms.
    pub latency_ms: Option<f64>,
    /// Estimated cost of this request, USD.
    pub estimated_cost_usd: Option<f64>,
    /// Requests in flight.
    pub in_flight: u32,
    /// RPM/TPM utilisation, 0..1.
    pub utilization: f64,
    /// Whether the provider-account limits admit one more request now.
    pub within_limits: bool,
    /// Why it sits where it does.
    pub reason: String,
}

/// Request facts the strategies use.
#[derive(Debug, Clone, Copy)]
pub struct RankInput {
    /// Estimated prompt tokens.
    pub tokens: u64,
    /// Expected output tokens (the request's cap, else a default).
    pub output_tokens: u64,
    /// Streamed (least-latency uses time to first token).
    pub stream: bool,
    /// Allow random exploration (off for explanations).
    pub explore: bool,
    /// Fill the descriptive fields of [`Scored`] (ids, reasons). Off on the request path,
    /// where only the order matters and string work would be wasted.
    pub describe: bool,
}

/// Ranks `group`'s deployments: those due a probe (cooldown over) first, then healthy ones
/// within limits, each in strategy order; then cooling-down or over-limit ones, which the
/// attempt loop skips.
/// The deployments are borrowed from the group: cloning each `Arc` would cost two atomic
/// read-modify-writes per deployment and request.
pub fn rank(group: &Group, input: RankInput, now: Instant) -> Vec<(&Arc<Deployment>, Scored)> {
    let mut rng = rand::rng();
    let deps = &group.deployments;
    let mut scored: Vec<(&Arc<Deployment>, Scored)> = deps
        .iter()
        .map(|d| {
            let health = d.state.availability(now);
            let (within, utilization) =
                d.state
                    .usage_window(d.cfg.rpm, d.cfg.tpm, input.tokens, now);
            let text = |t: &str| {
                if input.describe {
                    t.to_owned()
                } else {
                    String::new()
                }
            };
            let s = Scored {
                deployment: text(&d.cfg.id),
                provider: text(&d.cfg.provider),
                model: text(&d.cfg.model),
                health: match health {
                    Availability::Ready => "ready",
                    Availability::CoolingDown => "cooling_down",
                    Availability::Probe => "probe",
                },
                score: 0.0,
                latency_ms: d.state.latency_ms(input.stream),
                estimated_cost_usd: d.estimate_cost(input.tokens, input.output_tokens),
                in_flight: d.state.in_flight(),
                utilization,
                within_limits: within,
                reason: String::new(),
            };
            (d, s)
        })
        .collect();

    let n = scored.len();
    match group.strategy {
        Strategy::Ordered => {
            for (i, (_, s)) in scored.iter_mut().enumerate() {
                s.score = i as f64;
                if input.describe {
                    s.reason = format!("position {} in the list", i + 1);
                }
            }
        }
        Strategy::RoundRobin => {
            let start = group.cursor.fetch_add(1, Ordering::Relaxed);
            for (i, (_, s)) in scored.iter_mut().enumerate() {
                s.score = ((i + n - start % n.max(1)) % n.max(1)) as f64;
                if input.describe {
                    s.reason = "round robin turn".to_owned();
                }
            }
        }
        Strategy::Weighted => {
            // Efraimidis–Spirakis: key = u^(1/w); sorting by -key draws a weighted order.
            for (d, s) in &mut scored {
                let w = d.cfg.weight;
                let key = if w <= 0.0 {
                    0.0
                } else {
                    rng.random::<f64>().powf(1.0 / w)
                };
                s.score = -key;
                if input.describe {
                    s.reason = format!("weight {w}");
                }
            }
        }
        Strategy::LeastLatency => {
            for (_, s) in &mut scored {
                // Never measured: try it first, so every deployment gets a sample.
                s.score = s.latency_ms.unwrap_or(0.0);
                if input.describe {
                    s.reason = match s.latency_ms {
                        Some(ms) => format!(
                            "{} {ms:.1} ms",
                            if input.stream { "ttft" } else { "latency" }
                        ),
                        None => "no latency sample yet: explore".to_owned(),
                    };
                }
            }
            if input.explore && n > 1 && rng.random::<f64>() < EXPLORATION {
                let pick = rng.random_range(0..n);
                scored[pick].1.score = -1.0;
                scored[pick].1.reason.push_str(" (exploration pick)");
            }
        }
        Strategy::LowestCost => {
            for (_, s) in &mut scored {
                s.score = s.estimated_cost_usd.unwrap_or(f64::MAX);
                if input.describe {
                    s.reason = match s.estimated_cost_usd {
                        Some(c) => format!("estimated ${c:.6}"),
                        None => "no price known: ranked last".to_owned(),
                    };
                }
            }
        }
        Strategy::LeastBusy => {
            for (_, s) in &mut scored {
                s.score = f64::from(s.in_flight);
                if input.describe {
                    s.reason = format!("{} in flight", s.in_flight);
                }
            }
        }
        Strategy::UsageAware => {
            for (_, s) in &mut scored {
                s.score = s.utilization;
                if input.describe {
                    s.reason = format!("{:.0}% of its RPM/TPM used", s.utilization * 100.0);
                }
            }
        }
    }
    // A deployment whose cooldown is over comes first: the next request is its one probe
    // (`try_acquire` lets a single request through). Ranked behind healthy peers it would
    // never be probed, and so never leave its cooldown, while they stay healthy.
    let tier = |s: &Scored| -> u8 {
        match (s.health, s.within_limits) {
            ("probe", true) => 0,
            ("ready", true) => 1,
            _ => 2,
        }
    };
    scored.sort_by(|a, b| {
        tier(&a.1)
            .cmp(&tier(&b.1))
            .then(a.1.score.total_cmp(&b.1.score))
    });
    for (_, s) in scored.iter_mut().filter(|_| input.describe) {
        match tier(s) {
            0 => s.reason.push_str("; cooldown over: next request probes it"),
            2 if s.health == "cooling_down" => s.reason.push_str("; cooling down: skipped"),
            2 => s
                .reason
                .push_str("; at its provider RPM/TPM limit: skipped"),
            _ => {}
        }
    }
    scored
}
