#!/usr/bin/env python3
"""Small load driver for the two figures `oha` cannot produce.

* `ttfb`: time to the first SSE event of a streamed reply (and to the response headers),
  measured per request on a keep-alive connection. `oha` only reports whole-response
  latency, so it cannot say how much the gateway adds before the first token.
* `seq`: sequential non-streaming requests that also record the gateway's own
  `x-switchyard-overhead-us` header (oha does not expose response headers).
* `open-streams`: opens N concurrent streams against a slow upstream, waits until every
  one has delivered its first event, then samples RSS / VmHWM / open fds of the given
  pids while all N are held open, then closes them and samples again. `oha` keeps
  issuing requests and never tells us when all N are established, so it cannot take
  a memory snapshot "with exactly N streams open".

Standard library only (asyncio + raw HTTP/1.1, TLS for https:// in open-streams), so it
runs anywhere python3 does.
Prints one JSON object on stdout.
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import time


def build_request(host: str, path: str, body: bytes, headers: list) -> bytes:
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {host}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
    ]
    lines += headers
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def read_head(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    hdrs = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            hdrs[k.strip().lower()] = v.strip()
    return status, hdrs


async def read_body(reader, hdrs, on_first=None):
    """Reads a whole body (chunked or content-length). Calls on_first() at the first
    body byte that belongs to an event (the first non-empty chunk)."""
    if "content-length" in hdrs:
        n = int(hdrs["content-length"])
        data = await reader.readexactly(n) if n else b""
        if on_first and data:
            on_first()
        return data
    if "chunked" not in hdrs.get("transfer-encoding", ""):
        raise RuntimeError(f"unsupported framing: {hdrs}")
    out = bytearray()
    first = True
    while True:
        line = await reader.readuntil(b"\r\n")
        size = int(line.split(b";")[0].strip(), 16)
        if size == 0:
            await reader.readuntil(b"\r\n")  # end of trailers
            return bytes(out)
        chunk = await reader.readexactly(size)
        await reader.readexactly(2)
        if first and on_first:
            first = False
            on_first()
        out += chunk


def pct(values, p):
    if not values:
        return None
    s = sorted(values)
    k = min(len(s) - 1, max(0, int(round(p / 100.0 * (len(s) - 1)))))
    return s[k]


def summary(values_s):
    us = [v * 1e6 for v in values_s]
    if not us:
        return {"n": 0}
    return {
        "n": len(us),
        "mean_us": statistics.fmean(us),
        "p50_us": pct(us, 50),
        "p90_us": pct(us, 90),
        "p99_us": pct(us, 99),
        "max_us": max(us),
    }


async def sequential(args, body, stream: bool):
    """One keep-alive connection, requests back to back (concurrency 1)."""
    host, port = args.host, args.port
    req = build_request(f"{host}:{port}", args.path, body, args.header)
    reader, writer = await asyncio.open_connection(host, port)
    head_t, first_t, total_t, overhead = [], [], [], []
    errors = 0
    deadline_warm = time.perf_counter() + args.warmup
    deadline = deadline_warm + args.duration
    done = 0
    while True:
        now = time.perf_counter()
        if now >= deadline or (args.requests and done >= args.requests):
            break
        measuring = now >= deadline_warm
        t0 = time.perf_counter()
        writer.write(req)
        await writer.drain()
        status, hdrs = await read_head(reader)
        t_head = time.perf_counter()
        marks = []
        await read_body(reader, hdrs, lambda: marks.append(time.perf_counter()))
        t_end = time.perf_counter()
        if status != 200:
            errors += 1
            continue
        if hdrs.get("connection", "").lower() == "close":
            writer.close()
            reader, writer = await asyncio.open_connection(host, port)
        if not measuring:
            continue
        done += 1
        head_t.append(t_head - t0)
        total_t.append(t_end - t0)
        if marks:
            first_t.append(marks[0] - t0)
        if "x-switchyard-overhead-us" in hdrs:
            overhead.append(float(hdrs["x-switchyard-overhead-us"]) / 1e6)
    writer.close()
    out = {
        "mode": "ttfb" if stream else "seq",
        "requests": done,
        "errors": errors,
        "headers": summary(head_t),
        "total": summary(total_t),
    }
    if stream:
        out["first_event"] = summary(first_t)
    if overhead:
        out["self_reported_overhead"] = summary(overhead)
    return out


def proc_sample(pid: int):
    s = {"pid": pid, "t": time.perf_counter()}
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        s["cpu_s"] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    k, v = line.split(":", 1)
                    s[k] = int(v.split()[0])  # kB
        s["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
        s["threads"] = len(os.listdir(f"/proc/{pid}/task"))
    except OSError as e:
        s["error"] = str(e)
    return s


async def open_streams(args, body):
    host, port = args.host, args.port
    req = build_request(f"{host}:{port}", args.path, body, args.header)
    conns = []
    failures = []
    first_times = []
    sem = asyncio.Semaphore(args.connect_parallelism)

    async def one():
        async with sem:
            t0 = time.perf_counter()
            try:
                reader, writer = await asyncio.open_connection(host, port, ssl=args.ssl)
                writer.write(req)
                await writer.drain()
                status, hdrs = await read_head(reader)
                if status != 200:
                    failures.append(f"status {status}")
                    writer.close()
                    return
                # Wait for the first body chunk: the stream is established end to end.
                line = await reader.readuntil(b"\r\n")
                size = int(line.split(b";")[0].strip(), 16)
                if size:
                    await reader.readexactly(size + 2)
                first_times.append(time.perf_counter() - t0)
                conns.append((reader, writer))
            except Exception as e:  # noqa: BLE001 - report every failure kind
                failures.append(type(e).__name__ + ": " + str(e)[:80])

    before = [proc_sample(p) for p in args.pid]
    t_start = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(args.streams)))
    t_open = time.perf_counter() - t_start
    await asyncio.sleep(0.5)
    held_start = [proc_sample(p) for p in args.pid]
    await asyncio.sleep(args.hold)
    held = [proc_sample(p) for p in args.pid]
    # Drain whatever arrived meanwhile so the sockets are healthy, then close all.
    for reader, writer in conns:
        writer.close()
    await asyncio.sleep(args.settle)
    after = [proc_sample(p) for p in args.pid]
    return {
        "mode": "open-streams",
        "streams_requested": args.streams,
        "streams_open": len(conns),
        "failures": len(failures),
        "failure_kinds": sorted(set(failures))[:5],
        "open_seconds": t_open,
        "first_event": summary(first_times),
        "before": before,
        "held_start": held_start,
        "held": held,
        "after_close": after,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["ttfb", "seq", "open-streams"])
    ap.add_argument("--url", required=True, help="http://127.0.0.1:PORT/path")
    ap.add_argument("--body", required=True, help="JSON body file")
    ap.add_argument("--header", action="append", default=[], help="extra 'Name: value' header")
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--requests", type=int, default=0, help="stop after N measured requests")
    ap.add_argument("--streams", type=int, default=1000)
    ap.add_argument("--connect-parallelism", type=int, default=200)
    ap.add_argument("--hold", type=float, default=2.0)
    ap.add_argument("--settle", type=float, default=2.0)
    ap.add_argument("--pid", type=int, action="append", default=[], help="process to sample (open-streams)")
    ap.add_argument("--cafile", help="CA to trust for https:// URLs (open-streams)")
    args = ap.parse_args()
    scheme, rest = args.url.split("://", 1)
    hostport, _, path = rest.partition("/")
    args.host, _, port = hostport.partition(":")
    args.port = int(port or (443 if scheme == "https" else 80))
    args.ssl = None
    if scheme == "https":
        import ssl
        if args.mode != "open-streams":
            ap.error("https:// is supported by open-streams only")
        args.ssl = ssl.create_default_context(cafile=args.cafile)
        args.ssl.set_alpn_protocols(["http/1.1"])
    args.path = "/" + path
    with open(args.body, "rb") as f:
        body = f.read()
    if args.mode == "open-streams":
        res = asyncio.run(open_streams(args, body))
    else:
        res = asyncio.run(sequential(args, body, stream=args.mode == "ttfb"))
    json.dump(res, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
