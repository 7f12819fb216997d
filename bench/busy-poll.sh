#!/usr/bin/env bash
# Busy polling (`server.busy_poll`) against none, same binary, same moment: two gateways on
# CPU 0 (one sleeping as usual, one with `busy_poll: ${WINDOW_US}us`), the simulator and the
# load drivers on CPU 1, as in bench/run.sh. In ROUNDS rounds (default 4), alternating so that
# this VM's drift hits both alike: c=1 non-streaming latency (oha) and a 50-event stream's time
# to the first event (sydrive `ttfb`), each direct to the simulator first. Also the gateway's
# CPU while idle after the rounds (the window closes: it should be ~0).
#
#   bench/busy-poll.sh              WINDOW_US=1000 ROUNDS=4 SECONDS_EACH=5
#
# Prints markdown rows. Needs target/release/switchyard (or BIN=path) and oha.
set -euo pipefail
cd "$(dirname "$0")/.."
OHA=${OHA:-$(command -v oha || echo "$HOME/.cargo/bin/oha")}
BIN=${BIN:-target/release/switchyard}
SECS=${SECONDS_EACH:-5}
ROUNDS=${ROUNDS:-4}
WINDOW_US=${WINDOW_US:-1000}

sed 's/{{MODEL}}/gpt-4o-mini/' bench/bodies/chat.json > /tmp/bp-direct.json
sed 's/{{MODEL}}/bench/' bench/bodies/chat.json > /tmp/bp-gw.json
sed 's/{{MODEL}}/gpt-4o-mini/' bench/bodies/chat-stream-50-directive.json > /tmp/bp-stream-direct.json
sed 's/{{MODEL}}/bench/' bench/bodies/chat-stream-50-directive.json > /tmp/bp-stream-gw.json
sed 's/${BENCH_SIM:-127.0.0.1:14010}/127.0.0.1:16010/g' bench/scenarios/chat-c1/gateway.yaml > /tmp/bp-gw.yaml
sed "s/listen: \"127.0.0.1:14000\"/listen: \"127.0.0.1:14000\", busy_poll: ${WINDOW_US}us/" /tmp/bp-gw.yaml > /tmp/bp-gw-busy.yaml
grep -q busy_poll /tmp/bp-gw-busy.yaml

PIDS=()
cleanup() { kill "${PIDS[@]}" 2>/dev/null || true; }
trap cleanup EXIT
taskset -c 1 "$BIN" sim --listen 127.0.0.1:16010 >/dev/null 2>&1 & PIDS+=($!)
taskset -c 0 "$BIN" serve --config /tmp/bp-gw.yaml --listen 127.0.0.1:16000 >/dev/null 2>&1 & PIDS+=($!)
taskset -c 0 "$BIN" serve --config /tmp/bp-gw-busy.yaml --listen 127.0.0.1:16001 >/dev/null 2>&1 & BUSY=$!
PIDS+=("$BUSY")
sleep 1

steal_of() { awk '/^cpu / { print $9 / 100 }' /proc/stat; }

latency() { # label url body
    local s0 s1
    s0=$(steal_of)
    taskset -c 1 "$OHA" --no-tui --output-format json -c 1 -z "${SECS}s" -m POST -T application/json \
        -H 'Authorization: Bearer sk-bench' -D "$3" "$2" 2>/dev/null >/tmp/bp-oha.json
    s1=$(steal_of)
    python3 -c "
import json, sys
d = json.load(open('/tmp/bp-oha.json')); p = d['latencyPercentiles']
print('| %s | %.0f µs | %.0f µs | %.2f |' % ('$1', p['p50'] * 1e6, p['p99'] * 1e6, ($s1 - $s0) / $SECS))"
}

first_event() { # label url body
    taskset -c 1 python3 bench/driver/sydrive.py ttfb --url "$2" --body "$3" \
        --header 'Authorization: Bearer sk-bench' --duration "$SECS" --warmup 1 |
        python3 -c "import json,sys; d=json.load(sys.stdin); f=d['first_event']; print('| $1 | %.0f µs | %.0f µs |' % (f['p50_us'], f['p99_us']))"
}

echo "busy_poll window ${WINDOW_US} µs, ${ROUNDS} rounds of ${SECS} s per row, $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD)"
echo
echo "| c=1 chat | p50 | p99 | steal (CPU-s/s) |"
echo "| --- | ---: | ---: | ---: |"
for r in $(seq "$ROUNDS"); do
    latency "direct (round $r)" http://127.0.0.1:16010/v1/chat/completions /tmp/bp-direct.json
    latency "gateway" http://127.0.0.1:16000/v1/chat/completions /tmp/bp-gw.json
    latency "gateway, busy_poll" http://127.0.0.1:16001/v1/chat/completions /tmp/bp-gw.json
done
echo
echo "| stream-50 first event | p50 | p99 |"
echo "| --- | ---: | ---: |"
for r in $(seq "$ROUNDS"); do
    first_event "direct (round $r)" http://127.0.0.1:16010/v1/chat/completions /tmp/bp-stream-direct.json
    first_event "gateway" http://127.0.0.1:16000/v1/chat/completions /tmp/bp-stream-gw.json
    first_event "gateway, busy_poll" http://127.0.0.1:16001/v1/chat/completions /tmp/bp-stream-gw.json
done
echo
c0=$(awk '{ print ($14 + $15) / 100 }' "/proc/$BUSY/stat")
sleep 3
c1=$(awk '{ print ($14 + $15) / 100 }' "/proc/$BUSY/stat")
echo "busy-polling gateway's CPU while idle afterwards: $(python3 -c "print(round(($c1 - $c0) / 3, 3))") CPU-s/s"
