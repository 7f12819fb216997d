//! Anthropic Messages API wire types: request, response, stream events and error body.
//!
//! Field names follow Anthropic's published API (`POST /v1/messages`, version `2023-06-01`).
//! Objects carry an `extra` map so unmodelled and future fields survive a round trip, and block
//! and event enums keep unknown `type`s verbatim in an `Other` variant instead of failing.

mod block;
mod error_body;
mod request;
mod request_json;
mod response;
mod stream;

pub use block::*;
pub use error_body::*;
pub use request::*;
pub use response::*;
pub use stream::*;

/// A JSON object of fields this module does not model.
pub type Extra = serde_json::Map<String, serde_json::Value>;
