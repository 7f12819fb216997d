//! Route handlers, one module per API surface.

pub(crate) mod admin;
pub(crate) mod chat;
pub(crate) mod embeddings;
pub(crate) mod explain;
pub(crate) mod health;
pub(crate) mod messages;
pub(crate) mod models;
pub(crate) mod reply;
