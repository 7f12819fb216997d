#!/usr/bin/env bash
# The floor under issue 5's latency and CPU targets in this harness's pinning: a byte relay
# (no HTTP parsing, no routing, nothing but read/write) placed where the gateway sits (CPU 0)
# pays the same two extra loopback hops, the same cross-CPU wake-ups and the same kernel TCP
# work as any proxy. Whatever the gateway adds beyond the relay is its own cost. Two relays:
# socat (simple, poll(2), a process per connection) and HAProxy in TCP mode (epoll, one
# thread: the efficient one, so the tighter CPU floor). And two HTTP proxies for comparison,
# the closest things to what the gateway does without routing: HAProxy in HTTP mode (parses and
# rewrites HTTP/1.1 on both sides, reuses keep-alive connections to the simulator) and nginx as
# a reverse proxy configured the way LLM traffic is usually put behind it (one worker, upstream
# keep-alive, `proxy_buffering off` so that SSE flows, no access log).
#
#   bench/relay-floor.sh            the three paths, CPUs as they are (idle cores sleep)
#   bench/relay-floor.sh --awake    the same with a nice-19 busy loop on each CPU, so that no
#                                   core drops into an idle state between requests: shows how
#                                   much of the added latency is waking an idle vCPU
#   bench/relay-floor.sh --cpu      CPU per request at c=64 only: HAProxy (both modes), nginx
#                                   and switchyard alternating, ROUNDS times (default 5), each
#                                   split into user space and kernel, with direct's (the
#                                   simulator's CPU) first in each round and every path's latency
#                                   p50 / p99 at c=64 and the hypervisor's steal while each row
#                                   ran, so that a noisy VM's drift hits all alike and shows
#   bench/relay-floor.sh --streams  time to the first event only, for a one-chunk reply and for
#                                   the 50-event burst of the `stream-50` scenario (the target's
#                                   figure), ROUNDS times (default 3); with BIN2=path a second
#                                   switchyard build runs beside the first (port 15001), so that
#                                   two builds are compared in one run
#   HALT_POLL_NS=200000 bench/relay-floor.sh [mode]
#                                   any mode with the guest kernel's halt polling set to that
#                                   window (Linux's default is 200000; this harness's VM boots
#                                   with 0) for the run and put back afterwards (root, and the
#                                   haltpoll cpuidle driver of a KVM guest)
#   SIM_ARGS=--minimal bench/relay-floor.sh --cpu
#                                   the same over the minimal mock (`switchyard sim --minimal`,
#                                   one canned reply, nothing parsed): the issue's own setup, in
#                                   which every path's core, not the upstream's, is the
#                                   bottleneck (not for --streams: the mock does not stream);
#                                   SIM_BIN=path runs the simulator from another build than BIN
#
# Reports, for direct / socat / HAProxy (both modes) / nginx / switchyard: c=1 latency (oha), time to the first SSE event of a
# stream (sydrive ttfb), and at c=64 throughput and CPU per request (socat: the parent's and
# its forked children's utime+stime; HAProxy and switchyard: their own). Needs
# target/release/switchyard (or BIN=path), oha, socat, haproxy and nginx (the last three from
# Debian's packages, installed if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v socat >/dev/null || scripts/apt-install.sh socat
command -v haproxy >/dev/null || scripts/apt-install.sh haproxy
command -v nginx >/dev/null || scripts/apt-install.sh nginx-light
OHA=${OHA:-$(command -v oha || echo "$HOME/.cargo/bin/oha")}
BIN=${BIN:-target/release/switchyard}
SIM_BIN=${SIM_BIN:-$BIN}
SIM_ARGS=${SIM_ARGS:-}
SECS=${SECONDS_EACH:-8}
AWAKE=0
CPU_ONLY=0
[[ "${1:-}" == "--awake" ]] && AWAKE=1
[[ "${1:-}" == "--cpu" ]] && CPU_ONLY=1
STREAMS_ONLY=0
[[ "${1:-}" == "--streams" ]] && STREAMS_ONLY=1

sed 's/{{MODEL}}/gpt-4o-mini/' bench/bodies/chat.json > /tmp/relay-direct.json
sed 's/{{MODEL}}/bench/' bench/bodies/chat.json > /tmp/relay-gw.json
sed 's/{{MODEL}}/gpt-4o-mini/' bench/bodies/chat-stream-1.json > /tmp/relay-stream-direct.json
sed 's/{{MODEL}}/bench/' bench/bodies/chat-stream-1.json > /tmp/relay-stream-gw.json
sed 's/{{MODEL}}/gpt-4o-mini/' bench/bodies/chat-stream-50-directive.json > /tmp/relay-stream50-direct.json
sed 's/{{MODEL}}/bench/' bench/bodies/chat-stream-50-directive.json > /tmp/relay-stream50-gw.json
sed 's/${BENCH_SIM:-127.0.0.1:14010}/127.0.0.1:15010/g' bench/scenarios/chat-c1/gateway.yaml > /tmp/relay-gw.yaml

PIDS=()
HALT_POLL=/sys/module/haltpoll/parameters/guest_halt_poll_ns
HALT_POLL_WAS=
cleanup() {
    kill "${PIDS[@]}" 2>/dev/null || true
    [[ -z "$HALT_POLL_WAS" ]] || echo "$HALT_POLL_WAS" > "$HALT_POLL"
}
trap cleanup EXIT
if [[ -n "${HALT_POLL_NS:-}" ]]; then
    HALT_POLL_WAS=$(cat "$HALT_POLL")
    echo "$HALT_POLL_NS" > "$HALT_POLL"
fi
if [[ $AWAKE == 1 ]]; then
    taskset -c 0 nice -n 19 sh -c 'while :; do :; done' & PIDS+=($!)
    taskset -c 1 nice -n 19 sh -c 'while :; do :; done' & PIDS+=($!)
fi
# shellcheck disable=SC2086 # SIM_ARGS is a list of flags
taskset -c 1 "$SIM_BIN" sim --listen 127.0.0.1:15010 $SIM_ARGS >/dev/null 2>&1 & SIM=$!
PIDS+=("$SIM")
taskset -c 0 "$BIN" serve --config /tmp/relay-gw.yaml --listen 127.0.0.1:15000 >/dev/null 2>&1 & GW=$!
PIDS+=("$GW")
if [[ -n "${BIN2:-}" ]]; then
    taskset -c 0 "$BIN2" serve --config /tmp/relay-gw.yaml --listen 127.0.0.1:15001 >/dev/null 2>&1 & PIDS+=($!)
fi
sleep 1

cat > /tmp/relay-haproxy.cfg <<'CFG'
global
    nbthread 1
    maxconn 4000
defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s
listen relay
    bind 127.0.0.1:15030
    server sim 127.0.0.1:15010
listen http
    bind 127.0.0.1:15040
    mode http
    timeout http-keep-alive 60s
    http-reuse always
    server sim 127.0.0.1:15010
CFG
taskset -c 0 haproxy -f /tmp/relay-haproxy.cfg -db >/dev/null 2>&1 & HAP=$!
PIDS+=("$HAP")

# nginx without a master process, so that the one process measured is the one that works.
mkdir -p /tmp/relay-nginx
cat > /tmp/relay-nginx/nginx.conf <<'CFG'
daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile 16384;
pid /tmp/relay-nginx/nginx.pid;
error_log /tmp/relay-nginx/error.log warn;
events { worker_connections 8192; }
http {
    access_log off;
    client_body_temp_path /tmp/relay-nginx/body;
    proxy_temp_path /tmp/relay-nginx/proxy;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
    upstream sim {
        server 127.0.0.1:15010;
        keepalive 256;
        keepalive_requests 1000000;
    }
    server {
        listen 127.0.0.1:15050;
        location / {
            proxy_pass http://sim;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
        }
    }
}
CFG
taskset -c 0 nginx -c /tmp/relay-nginx/nginx.conf -p /tmp/relay-nginx >/dev/null 2>&1 & NGX=$!
PIDS+=("$NGX")

start_socat() {
    taskset -c 0 socat TCP-LISTEN:15020,fork,reuseaddr,nodelay TCP:127.0.0.1:15010,nodelay &
    SOC=$!
    sleep 0.3
}

oha_json() { # url body concurrency seconds
    taskset -c 1 "$OHA" --no-tui --output-format json -c "$3" -z "$4s" -m POST -T application/json \
        -H 'Authorization: Bearer sk-bench' -D "$2" "$1" 2>/dev/null
}

# CPU seconds of a pid as "user kernel" (utime, stime; with the children's when $2 = children).
cpu_of() {
    awk -v kids="${2:-}" '{ u = $14; k = $15; if (kids == "children") { u += $16; k += $17 }; print u / 100, k / 100 }' "/proc/$1/stat"
}

latency_row() { # label url body
    oha_json "$2" "$3" 1 "$SECS" |
        python3 -c "import json,sys; d=json.load(sys.stdin); p=d['latencyPercentiles']; print('| $1 | %.0f/s | %.0f µs | %.0f µs |' % (d['summary']['requestsPerSec'], p['p50']*1e6, p['p99']*1e6))"
}

ttfb_row() { # label url body
    taskset -c 1 python3 bench/driver/sydrive.py ttfb --url "$2" --body "$3" \
        --header 'Authorization: Bearer sk-bench' --duration "$SECS" --warmup 1 |
        python3 -c "import json,sys; d=json.load(sys.stdin); f=d['first_event']; print('| $1 | %.0f µs | %.0f µs |' % (f['p50_us'], f['p99_us']))"
}

# The hypervisor's steal so far, in seconds (all CPUs): time the vCPUs wanted to run and did not.
steal_of() { awk '/^cpu / { print $9 / 100 }' /proc/stat; }

cpu_row() { # label url body pid [children]
    oha_json "$2" "$3" 64 2 >/dev/null
    local before after out s0 s1 t0 t1
    before=$(cpu_of "$4" "${5:-}")
    s0=$(steal_of) t0=$(date +%s.%N)
    out=$(oha_json "$2" "$3" 64 "$SECS")
    s1=$(steal_of) t1=$(date +%s.%N)
    sleep 0.5 # socat's children exit and are reaped once oha closes its connections
    after=$(cpu_of "$4" "${5:-}")
    python3 -c "
import json, sys
d = json.loads(sys.argv[1]); ok = d['statusCodeDistribution'].get('200', 0)
(u0, k0), (u1, k1) = ([float(x) for x in a.split()] for a in sys.argv[2:4])
per = lambda t: t / ok * 1e6 if ok else float('nan')
p = d['latencyPercentiles']
steal = (float(sys.argv[5]) - float(sys.argv[4])) / max(float(sys.argv[7]) - float(sys.argv[6]), 1e-9)
print('| $1 | %.0f/s | %.1f µs | %.1f µs | %.1f µs | %.2f ms / %.2f ms | %.2f |' % (d['summary']['requestsPerSec'], per(u1 - u0 + k1 - k0), per(u1 - u0), per(k1 - k0), p['p50'] * 1e3, p['p99'] * 1e3, steal))
" "$out" "$before" "$after" "$s0" "$s1" "$t0" "$t1"
}

if [[ $CPU_ONLY == 1 ]]; then
    echo "CPU per request at c=64, $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short=12 HEAD), ${ROUNDS:-5} rounds alternating${SIM_ARGS:+, simulator \`sim $SIM_ARGS\`}, guest_halt_poll_ns=$(cat "$HALT_POLL" 2>/dev/null || echo n/a)"
    echo
    echo "| path (c=64) | req/s | CPU per request | user | kernel | latency p50 / p99 | steal |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    for _ in $(seq "${ROUNDS:-5}"); do
        cpu_row "direct (CPU: the simulator)" http://127.0.0.1:15010/v1/chat/completions /tmp/relay-direct.json "$SIM"
        cpu_row "HAProxy (TCP mode, one thread)" http://127.0.0.1:15030/v1/chat/completions /tmp/relay-direct.json "$HAP"
        cpu_row "HAProxy (HTTP mode, one thread)" http://127.0.0.1:15040/v1/chat/completions /tmp/relay-direct.json "$HAP"
        cpu_row "nginx (one worker)" http://127.0.0.1:15050/v1/chat/completions /tmp/relay-direct.json "$NGX"
        cpu_row "switchyard" http://127.0.0.1:15000/v1/chat/completions /tmp/relay-gw.json "$GW"
    done
    exit 0
fi

if [[ $STREAMS_ONLY == 1 ]]; then
    echo "Time to the first stream event, $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short=12 HEAD), ${ROUNDS:-3} rounds${BIN2:+; switchyard = $BIN, switchyard 2 = $BIN2}, guest_halt_poll_ns=$(cat "$HALT_POLL" 2>/dev/null || echo n/a)"
    echo
    echo "| path (stream, time to first event) | p50 | p99 |"
    echo "| --- | ---: | ---: |"
    for _ in $(seq "${ROUNDS:-3}"); do
        for kind in stream stream50; do
            what="one chunk"
            [[ $kind == stream50 ]] && what="50-event burst"
            ttfb_row "direct to simulator, $what" http://127.0.0.1:15010/v1/chat/completions "/tmp/relay-$kind-direct.json"
            ttfb_row "through HAProxy (TCP mode), $what" http://127.0.0.1:15030/v1/chat/completions "/tmp/relay-$kind-direct.json"
            ttfb_row "through HAProxy (HTTP mode), $what" http://127.0.0.1:15040/v1/chat/completions "/tmp/relay-$kind-direct.json"
            ttfb_row "through nginx, $what" http://127.0.0.1:15050/v1/chat/completions "/tmp/relay-$kind-direct.json"
            ttfb_row "through switchyard, $what" http://127.0.0.1:15000/v1/chat/completions "/tmp/relay-$kind-gw.json"
            if [[ -n "${BIN2:-}" ]]; then
                ttfb_row "through switchyard 2, $what" http://127.0.0.1:15001/v1/chat/completions "/tmp/relay-$kind-gw.json"
            fi
        done
    done
    exit 0
fi

echo "Relay floor, $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short=12 HEAD)$([[ $AWAKE == 1 ]] && echo ', CPUs kept awake (nice-19 busy loop on each)'), guest_halt_poll_ns=$(cat "$HALT_POLL" 2>/dev/null || echo n/a)"
echo
echo "| path (c=1) | req/s | p50 | p99 |"
echo "| --- | ---: | ---: | ---: |"
latency_row "direct to simulator" http://127.0.0.1:15010/v1/chat/completions /tmp/relay-direct.json
start_socat
latency_row "through socat (byte relay)" http://127.0.0.1:15020/v1/chat/completions /tmp/relay-direct.json
kill "$SOC"; wait "$SOC" 2>/dev/null || true
latency_row "through HAProxy (TCP mode)" http://127.0.0.1:15030/v1/chat/completions /tmp/relay-direct.json
latency_row "through HAProxy (HTTP mode)" http://127.0.0.1:15040/v1/chat/completions /tmp/relay-direct.json
latency_row "through nginx" http://127.0.0.1:15050/v1/chat/completions /tmp/relay-direct.json
latency_row "through switchyard" http://127.0.0.1:15000/v1/chat/completions /tmp/relay-gw.json
echo
echo "| path (stream, time to first event) | p50 | p99 |"
echo "| --- | ---: | ---: |"
ttfb_row "direct to simulator" http://127.0.0.1:15010/v1/chat/completions /tmp/relay-stream-direct.json
start_socat
ttfb_row "through socat (byte relay)" http://127.0.0.1:15020/v1/chat/completions /tmp/relay-stream-direct.json
kill "$SOC"; wait "$SOC" 2>/dev/null || true
ttfb_row "through HAProxy (TCP mode)" http://127.0.0.1:15030/v1/chat/completions /tmp/relay-stream-direct.json
ttfb_row "through HAProxy (HTTP mode)" http://127.0.0.1:15040/v1/chat/completions /tmp/relay-stream-direct.json
ttfb_row "through nginx" http://127.0.0.1:15050/v1/chat/completions /tmp/relay-stream-direct.json
ttfb_row "through switchyard" http://127.0.0.1:15000/v1/chat/completions /tmp/relay-stream-gw.json
echo
echo "| path (c=64) | req/s | relay CPU per request | user | kernel | latency p50 / p99 | steal |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
cpu_row "direct (CPU: the simulator)" http://127.0.0.1:15010/v1/chat/completions /tmp/relay-direct.json "$SIM"
start_socat
cpu_row "through socat (byte relay; parent + forked children)" http://127.0.0.1:15020/v1/chat/completions /tmp/relay-direct.json "$SOC" children
kill "$SOC"; wait "$SOC" 2>/dev/null || true
cpu_row "through HAProxy (TCP mode, one thread)" http://127.0.0.1:15030/v1/chat/completions /tmp/relay-direct.json "$HAP"
cpu_row "through HAProxy (HTTP mode, one thread)" http://127.0.0.1:15040/v1/chat/completions /tmp/relay-direct.json "$HAP"
cpu_row "through nginx (one worker)" http://127.0.0.1:15050/v1/chat/completions /tmp/relay-direct.json "$NGX"
cpu_row "through switchyard" http://127.0.0.1:15000/v1/chat/completions /tmp/relay-gw.json "$GW"
