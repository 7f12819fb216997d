//! Shared state handed to every handler: cheap to clone.

use std::sync::Arc;

use switchyard_config::Secret;
use switchyard_core::Engine;

/// Application state.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The engine.
    pub engine: Engine,
    /// Gateway master key; `None` means open (the binary then binds loopback only).
    pub master_key: Option<Arc<Secret>>,
    /// Largest request body in bytes.
    pub body_limit: usize,
}

impl AppState {
    /// State for `engine` with the config's edge settings.
    pub fn new(engine: Engine) -> Self {
        let snap = engine.snapshot();
        let server = &snap.config.server;
        Self {
            master_key: server.master_key.clone().map(Arc::new),
            body_limit: server.body_limit,
            engine,
        }
    }
}
