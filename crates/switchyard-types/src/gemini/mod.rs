//! Google Gemini (Generative Language API, `v1beta`) wire types: `generateContent` requests and
//! responses, `batchEmbedContents`, and the Google RPC error body.
//!
//! Field names are lowerCamelCase on the wire. Every object a provider may extend carries an
//! `extra` map so unknown fields survive a decode/encode round trip. Token counts are parsed
//! leniently (numbers or numeric strings) because some proxies re-encode int64 as strings, as the
//! proto3 JSON mapping allows.

mod embeddings;
mod error_body;
mod request;
mod response;

pub use embeddings::*;
pub use error_body::*;
pub use request::*;
pub use response::*;

/// A JSON object of fields this crate does not model.
pub type Extra = serde_json::Map<String, serde_json::Value>;
