//! Wire formats and the canonical chat model.
//!
//! The canonical model is OpenAI's Chat Completions format (module [`openai`]): every ingress
//! format is translated into it and every upstream format is produced from it, so two ingress
//! formats times N providers need 2 + N converters instead of 2 × N. Unknown fields are kept in
//! `extra` maps so nothing a client sends is silently lost on the translated path.
//!
//! This crate holds data types and the SSE codec only: no tokio, no HTTP client.

pub mod anthropic;
pub mod error;
pub mod gemini;
pub mod json_string;
pub mod keys;
#[cfg(any(test, feature = "testing"))]
pub mod mutate;
pub mod openai;
pub mod peek;
pub mod scan;
pub mod sse;

pub use error::TranslateError;
