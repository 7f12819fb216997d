//! The one integration-test binary: the real server, in-process, against the real simulator
//! over loopback. Each test starts its own simulator and gateway on port 0, so tests run in
//! parallel without shared state.

mod api;
mod common;
mod resilience;
