#!/usr/bin/env bash
# Profile-guided release build of switchyard. An instrumented build serves about two minutes of
# traffic against the simulator: the benchmark's own scenarios (same-format and cross-format
# chat, streams, the full feature path with virtual keys, limits and the ledger, large bodies,
# HTTP/2 upstreams) and then, in demo mode, a mix of every API surface (chat and messages
# ingress, each provider family's wire format, streams, tools, embeddings, model listing,
# refused requests), so that no path the gateway serves is left cold. LLVM merges what it
# counted and a second build inlines and lays out the code by those counts.
#
#   scripts/pgo-build.sh               both builds and the training run
#   scripts/pgo-build.sh --train-only  reuse the instrumented build when it exists
#
# Result: target/pgo/release/switchyard (`cargo build --release` stays the plain build).
# Measured gain and method: docs/benchmarks.md, "Profile-guided build". Needs llvm-profdata of
# the LLVM major version rustc is built on (Debian's package llvm-NN, installed if missing),
# oha (`cargo install oha --locked`) and two CPUs. Each build has a target directory of its own
# (target/pgo-gen, target/pgo): different RUSTFLAGS would otherwise rebuild target/release.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
say() { printf '[pgo %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

LLVM=$(rustc -vV | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p')
PROFDATA=$(command -v "llvm-profdata-$LLVM" || echo "/usr/lib/llvm-$LLVM/bin/llvm-profdata")
if [[ ! -x $PROFDATA ]]; then
    say "installing llvm-$LLVM (llvm-profdata matching rustc's LLVM $LLVM)"
    scripts/apt-install.sh "llvm-$LLVM"
fi
OHA=${OHA:-$(command -v oha || echo "$HOME/.cargo/bin/oha")}
[[ -x $OHA ]] || { say "oha missing: cargo install oha --locked"; exit 1; }

DATA=$ROOT/target/pgo-data
GEN=$ROOT/target/pgo-gen/release/switchyard
if [[ "${1:-}" != --train-only || ! -x $GEN ]]; then
    say "instrumented build (RUSTFLAGS=-Cprofile-generate, CARGO_TARGET_DIR=target/pgo-gen)"
    RUSTFLAGS="-Cprofile-generate=$DATA" CARGO_TARGET_DIR=$ROOT/target/pgo-gen \
        cargo build --release -p switchyard
fi
rm -rf "$DATA"

say "training 1/2: the benchmark's scenarios (quick), instrumented gateway and simulator"
python3 bench/lib/harness.py --bin "$GEN" --driver "$OHA" --driver-kind oha --quick --no-profile \
    --only chat-c1,chat-c64,cross-format,stream-50,full-path-c64,large-body,chat-c64-h2 >/dev/null

say "training 2/2: every API surface in demo mode (built-in simulator in the same process)"
ADDR=127.0.0.1:14190
SWITCHYARD_LOG=warn "$GEN" serve --listen "$ADDR" >"$ROOT/target/pgo-demo.log" 2>&1 &
DEMO=$!
trap 'kill $DEMO 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://$ADDR/v1/models" >/dev/null && break; sleep 0.1; done
msgs='"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Name a train."}]'
tools='"tools":[{"type":"function","function":{"name":"lookup","description":"Looks up a train","parameters":{"type":"object","properties":{"id":{"type":"string"}},"required":["id"]}}}]'
an_msgs='"max_tokens":64,"system":"Be brief.","messages":[{"role":"user","content":[{"type":"text","text":"Name a train."}]}]'
BODIES=()
for model in openai/gpt-4o-mini anthropic/claude-sonnet-4-5 gemini/gemini-2.5-flash \
    deepseek/deepseek-chat mistral/mistral-small-latest; do
    BODIES+=("/v1/chat/completions|{\"model\":\"$model\",$msgs,\"max_tokens\":64}")
    BODIES+=("/v1/chat/completions|{\"model\":\"$model\",$msgs,\"stream\":true,\"stream_options\":{\"include_usage\":true}}")
    BODIES+=("/v1/chat/completions|{\"model\":\"$model\",$msgs,$tools,\"tool_choice\":\"auto\"}")
    BODIES+=("/v1/messages|{\"model\":\"$model\",$an_msgs}")
    BODIES+=("/v1/messages|{\"model\":\"$model\",$an_msgs,\"stream\":true}")
done
BODIES+=("/v1/embeddings|{\"model\":\"openai/text-embedding-3-small\",\"input\":[\"a train\",\"a yard\"]}")
BODIES+=("/v1/embeddings|{\"model\":\"gemini/gemini-embedding-001\",\"input\":\"a switch\"}")
BODIES+=("/v1/chat/completions|{\"model\":\"no-such/model\",$msgs}")
BODIES+=("/v1/chat/completions|{\"model\":\"openai/gpt-4o-mini\",\"messages\":[}")
BODIES+=("/v1/messages|{\"model\":\"anthropic/claude-sonnet-4-5\"}")
for entry in "${BODIES[@]}"; do
    printf '%s' "${entry#*|}" >"$ROOT/target/pgo-body.json"
    "$OHA" --no-tui -c 4 -z 1s -m POST -T application/json -D "$ROOT/target/pgo-body.json" \
        "http://$ADDR${entry%%|*}" >/dev/null
done
"$OHA" --no-tui -c 4 -z 1s "http://$ADDR/v1/models" >/dev/null
kill -TERM $DEMO && wait $DEMO || true
trap - EXIT

ls "$DATA"/*.profraw >/dev/null 2>&1 || { say "no profile written (did the processes exit cleanly?)"; exit 1; }
"$PROFDATA" merge -o "$DATA/merged.profdata" "$DATA"/*.profraw
say "profile: $(du -h "$DATA/merged.profdata" | cut -f1)"

say "optimised build (RUSTFLAGS=-Cprofile-use, CARGO_TARGET_DIR=target/pgo)"
RUSTFLAGS="-Cprofile-use=$DATA/merged.profdata" CARGO_TARGET_DIR=$ROOT/target/pgo \
    cargo build --release -p switchyard
say "built target/pgo/release/switchyard"
