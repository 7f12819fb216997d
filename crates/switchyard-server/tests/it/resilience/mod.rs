//! Routing and resilience tests.
