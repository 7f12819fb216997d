//! Routing: which group serves a request (rules), in which order its deployments are tried
//! (strategies), and the prompt features both read.

pub mod features;
pub mod rules;
pub mod strategy;
