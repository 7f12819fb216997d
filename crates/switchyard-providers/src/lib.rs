//! Provider adapters: pure translation between the canonical model and each provider's wire
//! format, error classification, and the catalog of known providers.
//!
//! Adapters never touch sockets, clocks or secrets: they turn a canonical request into bytes
//! plus a URL, and bytes back into canonical responses, chunks and classified errors. The
//! transport (in `switchyard-core`) sends what they produce and injects credentials at the
//! last moment.

pub mod adapter;
pub mod anthropic;
pub mod catalog;
pub mod error;
pub mod gemini;
pub mod openai;

pub use adapter::{Adapter, AuthScheme, Dialect, StreamDecoder};
pub use catalog::{ProviderKind, ProviderSpec, Quirks, ReasoningField};
pub use error::{ErrorClass, Fault, UpstreamError};
