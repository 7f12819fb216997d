//! Command-line interface.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::{output, serve, telemetry};

/// Switchyard: one OpenAI-compatible endpoint for every LLM provider.
#[derive(Debug, Parser)]
#[command(name = "switchyard", version, about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the gateway.
    Serve {
        /// YAML config file. Without one, providers come from their standard environment
        /// variables (OPENAI_API_KEY, ANTHROPIC_API_KEY, ...); with none of those either, the
        /// built-in simulator serves every provider (demo mode).
        #[arg(long, short, env = "SWITCHYARD_CONFIG")]
        config: Option<PathBuf>,
        /// Address to listen on (default 127.0.0.1:4000, or the config's `server.listen`).
        #[arg(long, short)]
        listen: Option<SocketAddr>,
        /// Log as JSON lines.
        #[arg(long)]
        log_json: bool,
    },
    /// Validate a config file and exit non-zero on errors.
    Check {
        /// YAML config file.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Run the provider simulator on its own (for benchmarks and your own tests).
    Sim {
        /// Address to listen on.
        #[arg(long, short, default_value = "127.0.0.1:4010")]
        listen: SocketAddr,
        /// Delay before the first byte, ms.
        #[arg(long, default_value_t = 0)]
        latency_ms: u64,
        /// Delay between stream chunks, ms.
        #[arg(long, default_value_t = 0)]
        chunk_interval_ms: u64,
        /// Content chunks per streamed reply.
        #[arg(long, default_value_t = 8)]
        chunks: usize,
        /// Words per reply.
        #[arg(long, default_value_t = 24)]
        words: usize,
        /// Serve HTTPS (ALPN h2 and http/1.1) with this PEM certificate chain, leaf first.
        #[arg(long, value_name = "FILE", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// PEM private key (PKCS#8, SEC1 or PKCS#1) of --tls-cert.
        #[arg(long, value_name = "FILE", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Run the minimal mock instead: one canned OpenAI chat completion for every request,
        /// nothing parsed (the benchmark harness's calibration upstream; docs/benchmarks.md).
        #[arg(long, conflicts_with_all = ["latency_ms", "chunk_interval_ms", "chunks", "words", "tls_cert", "tls_key"])]
        minimal: bool,
    },
}

/// Reads the process environment once, into a map passed down (never read again elsewhere).
pub(crate) fn environment() -> HashMap<String, String> {
    std::env::vars().collect()
}

/// Runs the chosen command.
pub(crate) async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve {
            config,
            listen,
            log_json,
        } => {
            telemetry::init(log_json);
            serve::serve(config, listen, environment()).await
        }
        Command::Check { config } => {
            let text = std::fs::read_to_string(&config)
                .with_context(|| format!("cannot read {}", config.display()))?;
            let cfg = switchyard_config::load_str(&text, &environment())
                .map_err(|e| anyhow::anyhow!("{}: {e}", config.display()))?;
            // Compiles rules exactly as `serve` would.
            switchyard_core::Engine::new(cfg.clone())
                .map_err(|e| anyhow::anyhow!("{}: {e}", config.display()))?;
            output::line(&format!(
                "{}: ok ({} providers, {} models, {} rules)",
                config.display(),
                cfg.providers.len(),
                cfg.models.len(),
                cfg.rules.len()
            ));
            Ok(())
        }
        Command::Sim {
            listen,
            latency_ms,
            chunk_interval_ms,
            chunks,
            words,
            tls_cert,
            tls_key,
            minimal,
        } => {
            telemetry::init(false);
            if minimal {
                let listener = tokio::net::TcpListener::bind(listen)
                    .await
                    .with_context(|| format!("cannot listen on {listen}"))?;
                output::line(&format!(
                    "switchyard sim --minimal: http://{listen}  (one canned chat completion for every request)"
                ));
                return switchyard_sim::serve_minimal(listener, serve::shutdown_signal())
                    .await
                    .context("minimal mock failed");
            }
            let tls = match (tls_cert, tls_key) {
                (Some(cert), Some(key)) => Some(
                    switchyard_sim::SimTls::from_pem_files(&cert, &key)
                        .context("cannot set up TLS for the simulator")?,
                ),
                // clap requires both or neither.
                _ => None,
            };
            let scheme = if tls.is_some() { "https" } else { "http" };
            let config = switchyard_sim::SimConfig {
                first_byte_latency: std::time::Duration::from_millis(latency_ms),
                chunk_interval: std::time::Duration::from_millis(chunk_interval_ms),
                chunks,
                words,
                tls,
                ..Default::default()
            };
            tracing::info!(%listen, scheme, "provider simulator listening");
            output::line(&format!("switchyard sim: {scheme}://{listen}  (OpenAI at /v1, Anthropic at /v1/messages, Gemini at /v1beta)"));
            switchyard_sim::serve(listen, config, serve::shutdown_signal())
                .await
                .context("simulator failed")
        }
    }
}
