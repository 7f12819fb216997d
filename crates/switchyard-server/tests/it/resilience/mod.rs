//! Routing and resilience tests, all driven through the simulator's fault injection: retries,
//! fallbacks, cooldowns, strategies, rules, hedging, mid-stream recovery, deadlines, explain.

// clippy.toml allows these in `#[test]` functions only; the helpers they call fail the same way.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed expectation is a failed test"
)]

mod budget;
mod client_errors;
mod cooldown;
mod deadlines;
mod explain;
mod flapping;
mod hedging;
mod midstream;
mod rules;
mod strategies;
pub(crate) mod support;
