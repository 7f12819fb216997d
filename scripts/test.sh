#!/usr/bin/env bash
# The one test command: the Rust workspace tests, then the end-to-end suite, which drives a
# demo-mode `switchyard` binary with the official `openai` and `anthropic` Python SDKs.
#
#   scripts/test.sh              everything
#   scripts/test.sh --e2e        only the end-to-end suite (still builds the binary)
#   scripts/test.sh --e2e -k anthropic -x    extra arguments go to pytest
#
# Needs cargo and python3 with the venv module (Debian: apt-get install python3-venv).
# Exits non-zero on any failure.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

section() { printf '\n==== %s ====\n' "$*"; }

run_rust=1
if [[ "${1:-}" == "--e2e" ]]; then
    run_rust=0
    shift
fi

if [[ $run_rust == 1 ]]; then
    if cargo nextest --version >/dev/null 2>&1; then
        section "Rust tests (cargo nextest run --workspace)"
        cargo nextest run --workspace
        # nextest does not run doctests.
        section "Rust doctests (cargo test --workspace --doc)"
        cargo test --workspace --doc
    else
        section "Rust tests (cargo test --workspace)"
        cargo test --workspace
    fi
fi

section "Build the gateway binary (cargo build -p switchyard)"
cargo build -p switchyard
# Ask cargo where it put the binary: honours CARGO_TARGET_DIR and .cargo/config target-dir.
target_dir="$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
export SWITCHYARD_BIN="${SWITCHYARD_BIN:-$target_dir/debug/switchyard}"
if [[ ! -x "$SWITCHYARD_BIN" ]]; then
    echo "error: no executable at $SWITCHYARD_BIN after the build" >&2
    exit 1
fi
echo "binary: $SWITCHYARD_BIN"

section "End-to-end test environment (tests/e2e/.venv)"
E2E="$ROOT/tests/e2e"
VENV="$E2E/.venv"
if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
    rm -rf "$VENV"
    if ! python3 -m venv "$VENV"; then
        rm -rf "$VENV"
        echo "error: \`python3 -m venv\` failed. On Debian/Ubuntu: apt-get install python3-venv" >&2
        exit 1
    fi
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$E2E/requirements.txt"
"$VENV/bin/python" -m pip list --disable-pip-version-check 2>/dev/null |
    grep -Ei '^(openai|anthropic|pytest|pytest-asyncio|httpx) ' || true

section "End-to-end tests (pytest tests/e2e)"
cd "$E2E"
"$VENV/bin/python" -m pytest -p no:cacheprovider "$@"
