#!/usr/bin/env bash
# A/B of two gateway binaries on a noisy machine: runs the harness's scenarios with each binary
# in turn, ROUNDS times alternating, and prints one line per run (gateway CPU per request split
# into user space and kernel, throughput against direct, the simulator's own CPU per request
# direct as a gauge of the machine's speed at that moment, the gateway's CPU over the
# simulator's in the same run, and the p99 latency the gateway adds). The simulator runs at the
# same time as the gateway, so the quotient cancels most of a VM's drift, which here moves every
# figure by up to 2x within minutes. Alternating spreads the rest of the drift over both
# binaries; compare medians, not single runs. The last column is the hypervisor's steal during
# the gateway's run (CPU-seconds per second): a run with much of it ran on a slower machine.
# The simulator runs from SIM_BIN (default: BASE_BIN) in every run, so that it stays the fixed
# reference even when the two builds differ in more than the gateway (a PGO build optimises the
# simulator's code too).
#
#   bench/ab.sh BASE_BIN NEW_BIN [SCENARIOS] [ROUNDS]
#   e.g. bench/ab.sh /tmp/sy-base target/release/switchyard chat-c64,cross-format 5
#
# Build the base with `git worktree add /tmp/base <rev>` and, there,
# `CARGO_TARGET_DIR=/tmp/base-target cargo build --release` into a target directory of its own
# (`cp -a target /tmp/base-target` first keeps the dependencies built). Never this tree's
# `target/`: cargo records a workspace crate's sources relative to the crate, so a build from
# another checkout there replaces this tree's binary, and cargo then takes it for fresh.
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=${1:?base binary}
NEW=${2:?new binary}
SCENARIOS=${3:-chat-c64}
ROUNDS=${4:-5}
OHA=${OHA:-$(command -v oha || echo "$HOME/.cargo/bin/oha")}
printf '%-6s %-5s %-16s %9s %8s %8s %7s %9s %9s %10s %6s\n' round bin scenario "cpu/req" user kernel ratio "sim cpu" "gw/sim" "p99 added" steal
for round in $(seq "$ROUNDS"); do
    for which in base new; do
        bin=$BASE
        [[ $which == new ]] && bin=$NEW
        python3 bench/lib/harness.py --bin "$bin" --sim-bin "${SIM_BIN:-$BASE}" --driver "$OHA" --driver-kind oha --no-profile \
            --only "$SCENARIOS" >/dev/null 2>&1
        python3 - "$round" "$which" "$SCENARIOS" <<'PY'
import json, sys
d = json.load(open("bench/results/results.json"))
d = d.get("results", d)
for name in sys.argv[3].split(","):
    r = d.get(name, {})
    if "gw_cpu_us_per_req" not in r:
        print(f"{sys.argv[1]:<6} {sys.argv[2]:<5} {name:<16} (no result)")
        continue
    print(f"{sys.argv[1]:<6} {sys.argv[2]:<5} {name:<16} {r['gw_cpu_us_per_req']:7.1f}µs "
          f"{r['gw_user_us_per_req']:6.1f}µs {r['gw_sys_us_per_req']:6.1f}µs "
          f"{r['throughput_ratio']:6.0%} {r['sim_cpu_us_per_req_direct']:7.1f}µs "
          f"{r['gw_cpu_us_per_req'] / r['gateway']['cpu_us_per_req']['sim']:8.3f} "
          f"{r['added_p99_us'] / 1000:8.2f}ms {r['gateway'].get('steal_per_s', float('nan')):6.2f}")
PY
    done
done
