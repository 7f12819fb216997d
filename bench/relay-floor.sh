#!/usr/bin/env bash
# The floor of "added latency at concurrency 1" in this harness's pinning: a byte relay
# (socat, no HTTP parsing at all) placed where the gateway sits (CPU 0) adds the same two
# loopback hops and cross-CPU wake-ups as any proxy. Whatever the gateway adds beyond this is
# its own cost. Usage: bench/relay-floor.sh  (needs target/release/switchyard, oha, socat).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v socat >/dev/null || apt-get install -y -qq socat >/dev/null
OHA=${OHA:-$(command -v oha || echo "$HOME/.cargo/bin/oha")}
BIN=target/release/switchyard
sed 's/{{MODEL}}/gpt-4o-mini/' bench/bodies/chat.json > /tmp/relay-direct.json
sed 's/{{MODEL}}/bench/' bench/bodies/chat.json > /tmp/relay-gw.json
sed 's/${BENCH_SIM:-127.0.0.1:14010}/127.0.0.1:15010/g' bench/scenarios/chat-c1/gateway.yaml > /tmp/relay-gw.yaml
taskset -c 1 "$BIN" sim --listen 127.0.0.1:15010 >/dev/null 2>&1 & SIM=$!
taskset -c 0 socat TCP-LISTEN:15020,fork,reuseaddr,nodelay TCP:127.0.0.1:15010,nodelay & SOC=$!
taskset -c 0 "$BIN" serve --config /tmp/relay-gw.yaml --listen 127.0.0.1:15000 >/dev/null 2>&1 & GW=$!
trap 'kill $SIM $SOC $GW 2>/dev/null || true' EXIT
sleep 1
run() {
    taskset -c 1 "$OHA" --no-tui --output-format json -c 1 -z "${SECONDS_EACH:-8}s" -m POST -T application/json \
        -H 'Authorization: Bearer sk-bench' -D "$2" "$1" 2>/dev/null |
        python3 -c "import json,sys; d=json.load(sys.stdin); p=d['latencyPercentiles']; print('| $3 | %.0f/s | %.0f µs | %.0f µs |' % (d['summary']['requestsPerSec'], p['p50']*1e6, p['p99']*1e6))"
}
echo "| path (c=1) | req/s | p50 | p99 |"
echo "| --- | ---: | ---: | ---: |"
run http://127.0.0.1:15010/v1/chat/completions /tmp/relay-direct.json "direct to simulator"
run http://127.0.0.1:15020/v1/chat/completions /tmp/relay-direct.json "through socat (byte relay)"
run http://127.0.0.1:15000/v1/chat/completions /tmp/relay-gw.json "through switchyard"
