#!/usr/bin/env bash
# Switchyard benchmark: builds the gateway, finds a load driver, runs every scenario in
# bench/scenarios/ (direct to the simulator and through the gateway, same run, pinned with
# taskset) and writes the report to docs/benchmarks.md. See docs/benchmarks.md "How to rerun".
#
#   bench/run.sh [--quick] [--with-litellm] [--with-proxies] [--only a,b] [--no-build] [--no-profile] [--pgo]
#
# --with-proxies also runs a byte relay (HAProxy TCP mode), HAProxy (HTTP mode) and nginx in the gateway's place at c=1 and c=64
# (Debian's packages, installed if missing), and the targets table shows their figures beside
# the gateway's: what any HTTP proxy pays on the same machine in the same run.
#
# --pgo measures the profile-guided build (scripts/pgo-build.sh, target/pgo/release/switchyard)
# as the gateway; the simulator stays the plain release build, the same reference as always.
#
# Benchmarks report; they never fail CI on timing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

QUICK=0 LITELLM=0 PROXIES=0 BUILD=1 PGO=0 PASS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1; PASS+=(--quick) ;;
    --with-litellm) LITELLM=1; PASS+=(--with-litellm) ;;
    --with-proxies) PROXIES=1; PASS+=(--with-proxies) ;;
    --only) PASS+=(--only "$2"); shift ;;
    --only=*) PASS+=(--only "${1#--only=}") ;;
    --no-profile) PASS+=(--no-profile) ;;
    --no-build) BUILD=0 ;;
    --pgo) PGO=1 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
  shift
done

say() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

[ "$(nproc)" -ge 2 ] || { say "need at least 2 CPUs (gateway on one, simulator + load driver on the other)"; exit 1; }
command -v taskset >/dev/null || { say "taskset missing (apt-get install util-linux)"; exit 1; }
command -v python3 >/dev/null || { say "python3 missing (the harness and the stream driver use its stdlib only)"; exit 1; }

START_LOAD="$(cut -d' ' -f1-3 /proc/loadavg)"

# 1. The gateway, release mode, shared target dir.
if [ "$BUILD" = 1 ]; then
  say "cargo build --release -p switchyard"
  cargo build --release -p switchyard
fi
BIN="$ROOT/target/release/switchyard"
[ -x "$BIN" ] || { say "no $BIN (build failed?)"; exit 1; }
if [ "$PGO" = 1 ]; then
  if [ "$BUILD" = 1 ]; then
    say "profile-guided build (scripts/pgo-build.sh)"
    scripts/pgo-build.sh
  fi
  [ -x target/pgo/release/switchyard ] || { say "no target/pgo/release/switchyard (run scripts/pgo-build.sh)"; exit 1; }
  PASS+=(--sim-bin "$BIN" --build-note "profile-guided (scripts/pgo-build.sh)")
  BIN="$ROOT/target/pgo/release/switchyard"
fi

# 2. The load driver: oha (crates.io), else wrk (apt).
DRIVER="" KIND=oha
if command -v oha >/dev/null; then
  DRIVER="$(command -v oha)"
elif [ -x "$HOME/.cargo/bin/oha" ]; then
  DRIVER="$HOME/.cargo/bin/oha"
else
  say "installing oha (cargo install oha --locked; a few minutes on 2 cores)"
  if cargo install oha --locked; then
    DRIVER="$HOME/.cargo/bin/oha"
  else
    say "oha could not be installed; falling back to wrk"
    command -v wrk >/dev/null || scripts/apt-install.sh wrk
    DRIVER="$(command -v wrk)"; KIND=wrk
  fi
fi
say "load driver: $DRIVER ($KIND)"

# 3. Optional tools for instructions/request and profiles (skipped gracefully when missing).
if ! command -v valgrind >/dev/null; then
  say "valgrind missing; trying apt-get install valgrind (instructions/request is skipped if this fails)"
  scripts/apt-install.sh valgrind || true
fi
command -v perf >/dev/null || say "perf missing: no perf profiles (apt-get install linux-perf)"

# 4. Optional peer: LiteLLM's proxy from PyPI into bench/.venv-litellm.
if [ "$LITELLM" = 1 ] && [ ! -x bench/.venv-litellm/bin/litellm ]; then
  say "installing LiteLLM proxy into bench/.venv-litellm"
  python3 -m venv bench/.venv-litellm
  bench/.venv-litellm/bin/pip install --quiet --upgrade pip
  bench/.venv-litellm/bin/pip install --quiet 'litellm[proxy]'
fi

# 4b. Optional peers: HAProxy and nginx from Debian's packages, in the gateway's place.
if [ "$PROXIES" = 1 ]; then
  for pkg in haproxy:haproxy nginx:nginx-light; do
    command -v "${pkg%%:*}" >/dev/null && continue
    say "installing ${pkg#*:} (apt-get)"
    scripts/apt-install.sh "${pkg#*:}" ||
      say "${pkg#*:} could not be installed; its rows are skipped"
  done
fi

# 5. A quiet machine: wait for the 1-minute load average to drop (up to 3 minutes).
MAX_LOAD="${BENCH_MAX_LOAD:-0.8}"
for _ in $(seq 36); do
  awk -v m="$MAX_LOAD" '{ exit !($1 < m) }' /proc/loadavg && break
  say "load average $(cut -d' ' -f1 /proc/loadavg) >= $MAX_LOAD; waiting for other work to finish"
  sleep 5
done
START_LOAD="$(cut -d' ' -f1-3 /proc/loadavg)"
say "starting at load average $START_LOAD"

mkdir -p bench/results bench/profiles
exec python3 bench/lib/harness.py --bin "$BIN" --driver "$DRIVER" --driver-kind "$KIND" \
  --start-load "$START_LOAD" "${PASS[@]}"
