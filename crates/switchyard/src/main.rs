//! The `switchyard` binary: `serve`, `check` and `sim`.

mod cli;
mod demo;
mod output;
mod serve;
mod telemetry;

use clap::Parser;

/// mimalloc: the request path allocates many short-lived buffers; glibc malloc/free were a
/// quarter of the gateway's instructions per request (docs/benchmarks.md).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            output::error(&format!("cannot start the async runtime: {e}"));
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            output::error(&format!("{e:#}"));
            std::process::ExitCode::FAILURE
        }
    }
}
