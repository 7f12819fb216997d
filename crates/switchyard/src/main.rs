//! The `switchyard` binary: `serve`, `check` and `sim`.

mod cli;
mod demo;
mod host;
mod output;
mod serve;
mod telemetry;

use clap::Parser;

/// mimalloc: the request path allocates many short-lived buffers; glibc malloc/free were a
/// quarter of the gateway's instructions per request (docs/benchmarks.md).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Worker threads: `TOKIO_WORKER_THREADS` when set, else the CPUs this process may use
/// (affinity mask and cgroup quota). With one, tokio's current-thread scheduler: a
/// work-stealing pool of one has nothing to steal, and its parking and wake-up machinery cost
/// ~30 µs of latency per request at concurrency 1 and several times the p99 under saturation
/// in `bench/` (docs/benchmarks.md).
fn runtime_builder() -> tokio::runtime::Builder {
    let workers = std::env::var("TOKIO_WORKER_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .or_else(|| std::thread::available_parallelism().ok().map(usize::from))
        .unwrap_or(1);
    if workers <= 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    }
}

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match runtime_builder().enable_all().build() {
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
