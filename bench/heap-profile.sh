#!/usr/bin/env bash
# Where the memory of open streams goes: runs the gateway under heaptrack with N streams held
# open against a slow simulator, stops it with SIGKILL while they are open (so everything live
# at that moment shows as "leaked"), and prints the live heap per stream by allocation site.
#
#   bench/heap-profile.sh [N] [gateway.yaml]     default 1000 streams, open-streams-1000's config
#   HEAP_TLS=1 bench/heap-profile.sh 1000 bench/scenarios/open-streams-5000-tls-h1/gateway.yaml
#                                                the simulator serves TLS (its test certificates)
#
# heaptrack hooks malloc, so the gateway is built with the system allocator
# (`--no-default-features`, no mimalloc) into target/heap-profile/. The live heap is larger
# than the RSS increase the harness reports: an allocation counts in full here, while RSS only
# counts the pages written (an 8 KiB buffer holding one small SSE event costs one 4 KiB page).
# Needs heaptrack (Debian package `heaptrack`, installed if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000}
CONFIG=${2:-bench/scenarios/open-streams-1000/gateway.yaml}
command -v heaptrack >/dev/null || scripts/apt-install.sh heaptrack
cargo build --release -p switchyard --no-default-features --target-dir target/heap-profile -q
BIN=target/heap-profile/release/switchyard
OUT=bench/results/heaptrack
mkdir -p bench/results
rm -f "$OUT".*
sed 's/{{MODEL}}/bench/' bench/bodies/chat-stream-slow.json > bench/results/heap-body.json

TLS_DIR=crates/switchyard-sim/testdata/tls
SIM_TLS_ARGS=()
[[ "${HEAP_TLS:-0}" == 1 ]] && SIM_TLS_ARGS=(--tls-cert "$TLS_DIR/server.pem" --tls-key "$TLS_DIR/server.key")
taskset -c 1 "$BIN" sim --listen 127.0.0.1:14010 --chunk-interval-ms 1000 --chunks 60 --words 120 \
    "${SIM_TLS_ARGS[@]}" >/dev/null 2>&1 &
SIM=$!
trap 'kill -9 $SIM 2>/dev/null || true' EXIT
sleep 0.5
BENCH_SIM=127.0.0.1:14010 BENCH_TLS_DIR="$TLS_DIR" taskset -c 0 heaptrack -o "$OUT" "$BIN" serve --config "$CONFIG" \
    --listen 127.0.0.1:14000 >/dev/null 2>&1 &
for _ in $(seq 50); do
    GW=$(pgrep -f "^$BIN serve" | tail -1 || true)
    [[ -n "$GW" ]] && (exec 3<>/dev/tcp/127.0.0.1/14000) 2>/dev/null && break
    sleep 0.2
done
taskset -c 1 python3 bench/driver/sydrive.py open-streams --url http://127.0.0.1:14000/v1/chat/completions \
    --body bench/results/heap-body.json --streams "$N" --hold 10 --pid "$GW" > bench/results/heap-driver.json &
DRV=$!
# Wait until every stream is open, then kill the gateway while they are held.
for _ in $(seq 100); do
    # One fd per client stream (HTTP/2 upstreams share connections; HTTP/1.1 adds one more each).
    [[ $(ls /proc/"$GW"/fd 2>/dev/null | wc -l) -ge $((N + 10)) ]] && break
    sleep 0.2
done
sleep 2
echo "gateway RSS with $N streams open under heaptrack: $(awk '/VmRSS/ {print $2, $3}' /proc/"$GW"/status)"
kill -9 "$GW"
wait "$DRV" 2>/dev/null || true
sleep 2
heaptrack_print -f "$OUT".zst --print-peaks 0 --print-allocators 0 --print-temporary 0 --print-leaks 0 \
    --print-flamegraph bench/results/heap-live.txt --flamegraph-cost-type leaked >/dev/null 2>&1
python3 - "$N" <<'EOF'
import collections, re, sys
n = int(sys.argv[1])
rows = []
for line in open("bench/results/heap-live.txt"):
    stack, _, cost = line.rstrip().rpartition(" ")
    rows.append((stack.split(";"), int(cost)))
total = sum(c for _, c in rows)
print(f"live heap: {total / n / 1000:.1f} KB per stream ({total / 1e6:.1f} MB for {n} streams)\n")
keep = re.compile(r"(hyper|switchyard|tokio::sync|chan\.rs|block\.rs|core\.rs|io\.rs|conn\.rs|dispatch|client\.rs|http1\.rs|live\.rs|engine\.rs|sse\.rs|pipe\.rs|h2|h1pool|rustls|tls|transport)")
noise = re.compile(r"(raw_vec|alloc\.rs|__rust|_rdl|GlobalAlloc|unix\.rs|^alloc$|finish_grow|grow_|reserve|with_capacity|boxed\.rs|box_new)")
sites = collections.Counter()
for frames, cost in rows:
    chain = [f for f in reversed(frames) if keep.search(f) and not noise.search(f)][:5]
    sites[" <- ".join(f[:60] for f in chain)] += cost
print("| KB per stream | allocation site (innermost first) |\n| ---: | --- |")
for site, cost in sites.most_common(15):
    print(f"| {cost / n / 1000:.2f} | `{site}` |")
EOF
