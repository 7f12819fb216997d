//! The engine.
pub mod attempt;
pub mod budget;
pub mod deployment;
pub mod embeddings;
pub mod engine;
pub mod error;
pub mod explain;
pub mod live;
pub mod pipe;
pub mod pricing;
pub mod report;
pub mod request;
pub mod route;
pub mod snapshot;
pub mod transport;

pub use engine::{ChatReply, Engine, ReplyBody};
pub use error::EngineError;
pub use request::{ChatInput, Ingress, RequestOptions};
