//! OpenAI Chat Completions and Embeddings wire types: the canonical model.
//!
//! Field names and shapes follow OpenAI's published API. Every object that clients may extend
//! carries an `extra` map (`#[serde(flatten)]`) so unknown and future fields survive a
//! round trip through the translated path.

mod chat;
mod chunk;
mod embeddings;
mod error_body;
mod request_fast;
mod response_json;
mod usage;

pub use chat::*;
pub use chunk::*;
pub use embeddings::*;
pub use error_body::*;
pub use usage::*;

/// A JSON object of fields this crate does not model.
pub type Extra = serde_json::Map<String, serde_json::Value>;
