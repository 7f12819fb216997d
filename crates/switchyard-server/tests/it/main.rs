//! The one integration-test binary: the real server, in-process, against the real simulator
//! over loopback. Each test starts its own simulator and gateway on port 0, so tests run in
//! parallel without shared state.

// Test code: failing loudly is the point (clippy.toml covers `#[test]` fns, not their helpers).
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    unreachable_pub
)]

mod api;
mod common;
mod resilience;
