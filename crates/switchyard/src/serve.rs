//! `switchyard serve`: load config (or the environment, or demo mode), refuse unsafe binds,
//! build the engine and serve until SIGINT/SIGTERM.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{bail, Context};

use crate::demo;

/// Runs the gateway.
pub(crate) async fn serve(
    config_path: Option<PathBuf>,
    listen: Option<SocketAddr>,
    env: HashMap<String, String>,
) -> anyhow::Result<()> {
    let mut sim = None;
    let config = match &config_path {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            switchyard_config::load_str(&text, &env)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        }
        None if demo::no_provider_keys(&env) => {
            let handle = switchyard_sim::start(
                SocketAddr::from(([127, 0, 0, 1], 0)),
                switchyard_sim::SimConfig::default(),
            )
            .await
            .context("cannot start the built-in simulator")?;
            let demo_env = demo::demo_env(&handle.base_url(), &env);
            tracing::warn!(
                simulator = %handle.base_url(),
                "DEMO MODE: no provider key and no config file found, so every provider is served by the built-in \
                 simulator. Answers are synthetic. Set OPENAI_API_KEY, ANTHROPIC_API_KEY, ... or pass --config to use real providers."
            );
            sim = Some(handle);
            switchyard_config::from_env(&demo_env)?
        }
        None => switchyard_config::from_env(&env)?,
    };
    let addr = listen.unwrap_or(config.server.listen);
    if config.server.master_key.is_none() {
        if !addr.ip().is_loopback() {
            bail!(
                "refusing to listen on {addr} without a master key: set SWITCHYARD_MASTER_KEY (or server.master_key) \
                 or listen on 127.0.0.1"
            );
        }
        tracing::warn!("no master key set: serving loopback only, without authentication");
    }
    if let Some(hint) = crate::host::idle_hint(config.server.busy_poll.is_some()) {
        tracing::info!("{hint}");
    }
    let providers: Vec<String> = config.providers.iter().map(|p| p.name.clone()).collect();
    let models = config.models.len();
    let engine = switchyard_core::Engine::new(config).map_err(|e| anyhow::anyhow!(e))?;
    let state = switchyard_server::AppState::new(engine);
    let app = switchyard_server::app(state);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    tracing::info!(
        address = %format!("http://{addr}"),
        providers = %providers.join(","),
        models,
        "switchyard listening; OpenAI base_url = http://{addr}/v1"
    );
    switchyard_server::serve(listener, app, shutdown_signal()).await;
    if let Some(s) = sim {
        s.shutdown().await;
    }
    tracing::info!("switchyard stopped");
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
