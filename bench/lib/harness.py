#!/usr/bin/env python3
"""Switchyard benchmark harness: runs every scenario in bench/scenarios/ and writes the report.

Called by bench/run.sh (which builds the binary and finds the load driver); see
docs/benchmarks.md "How to rerun". Standard library only.

Each scenario directory holds `gateway.yaml` (the gateway config) and `profile.env` (the load
profile, KEY=VALUE lines). For every scenario the simulator and the gateway are started fresh,
pinned with taskset (gateway on CPU 0; simulator and load driver on CPU 1), and the same load
is run direct-to-simulator and through the gateway in the same run.
"""

import argparse
import contextlib
import datetime
import json
import os
import platform
import re
import resource
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(ROOT, "bench")
# The simulator's test certificates (SIM_TLS=1 scenarios); never use them outside tests.
TLS_DIR = os.path.join(ROOT, "crates", "switchyard-sim", "testdata", "tls")
WORK = os.path.join(BENCH, "results")
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024

GW_CPU = os.environ.get("BENCH_GATEWAY_CPU", "0")
LOAD_CPU = os.environ.get("BENCH_LOAD_CPU", "1")
SIM_ADDR = os.environ.get("BENCH_SIM_ADDR", "127.0.0.1:14010")
GW_ADDR = os.environ.get("BENCH_GATEWAY_ADDR", "127.0.0.1:14000")
PEER_ADDR = os.environ.get("BENCH_PEER_ADDR", "127.0.0.1:14002")
HAPROXY_ADDR = os.environ.get("BENCH_HAPROXY_ADDR", "127.0.0.1:14003")
NGINX_ADDR = os.environ.get("BENCH_NGINX_ADDR", "127.0.0.1:14004")
RELAY_ADDR = os.environ.get("BENCH_RELAY_ADDR", "127.0.0.1:14005")

COMMANDS = []  # every command run, in order, for the report
CURRENT = {"scenario": ""}


def log(msg):
    sys.stderr.write(f"[bench {time.strftime('%H:%M:%S')}] {msg}\n")
    sys.stderr.flush()


def git_short():
    return subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()


def rel(path):
    return os.path.relpath(path, ROOT) if path.startswith(ROOT) else path


def cmdline(argv):
    return " ".join(shlex.quote(rel(a)) if a.startswith(ROOT) else shlex.quote(a) for a in argv)


# ---------------------------------------------------------------- /proc accounting

def proc_cpu_split(pid):
    """(utime, stime) of the process (all threads, live and exited), seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK


def proc_cpu_s(pid):
    """utime+stime of the process (all threads, live and exited), seconds."""
    return sum(proc_cpu_split(pid))


def proc_mem(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:", "Threads:")):
                k, v = line.split(":", 1)
                out[k] = int(v.split()[0])
    out["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
    return out


def system_busy_s():
    """Busy CPU-seconds of the whole machine, without steal (a VM's vCPU not running at all)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return (sum(v[:7]) - idle) / CLK_TCK


def steal_s():
    """CPU-seconds the hypervisor gave to other guests while this VM's vCPUs wanted to run."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return v[7] / CLK_TCK if len(v) > 7 else 0.0


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def self_cpu_s():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


# ---------------------------------------------------------------- the guest kernel's idle policy

# Linux's haltpoll cpuidle driver (KVM guests): before halting an idle vCPU, which the hypervisor
# then has to run again when a packet arrives, the guest polls for up to this many nanoseconds
# (adaptively). The kernel's default is 200,000; a VM may boot with it at 0, as this harness's
# reference VM does (`haltpoll.guest_halt_poll_ns=0` on its command line).
HALT_POLL = "/sys/module/haltpoll/parameters/guest_halt_poll_ns"


def idle_policy():
    """The cpuidle driver and the guest's halt-poll window, as the report's machine table shows them."""
    def read(path):
        try:
            with open(path) as f:
                return f.read().strip()
        except OSError:
            return None
    driver = read("/sys/devices/system/cpu/cpuidle/current_driver") or "none"
    ns = read(HALT_POLL)
    return driver + (f", guest_halt_poll_ns={ns}" if ns is not None else "")


class Skip(Exception):
    """A scenario this machine cannot run (reported as skipped, not as failed)."""


class HaltPoll:
    """Sets the guest's halt-poll window for one scenario (GUEST_HALT_POLL_NS in its profile) and
    puts the value found back afterwards, also when the scenario fails. Needs root and the haltpoll
    driver; raises Skip otherwise, and the scenario is reported as not run."""

    def __init__(self, ns):
        self.ns, self.old = ns, None

    def __enter__(self):
        try:
            with open(HALT_POLL) as f:
                self.old = f.read().strip()
            with open(HALT_POLL, "w") as f:
                f.write(self.ns)
        except OSError as e:
            self.old = None
            raise Skip(f"setting {HALT_POLL} needs root and Linux's haltpoll cpuidle driver ({e})") from e
        log(f"  guest_halt_poll_ns {self.old} -> {self.ns}")
        return self

    def __exit__(self, *exc):
        if self.old is None:
            return False
        with open(HALT_POLL, "w") as f:
            f.write(self.old)
        log(f"  guest_halt_poll_ns back to {self.old}")
        return False


# ---------------------------------------------------------------- processes

def wait_port(addr, timeout=30.0, proc=None):
    host, port = addr.rsplit(":", 1)
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {addr}")
        try:
            with socket.create_connection((host, int(port)), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {addr} after {timeout}s")


def wait_port_free(addr, timeout=20.0):
    host, port = addr.rsplit(":", 1)
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection((host, int(port)), timeout=0.2):
                pass
        except OSError:
            return
        time.sleep(0.1)
    raise RuntimeError(f"{addr} is still in use (another benchmark running?)")


# Processes started and not yet stopped: a failing scenario stops them, so that the next
# scenario finds its ports free.
LIVE = []


class Proc:
    def __init__(self, name, argv, env=None, log_path=None):
        self.name = name
        self.argv = argv
        COMMANDS.append((CURRENT["scenario"], cmdline(argv)))
        self.log_path = log_path or os.path.join(WORK, f"{name}.log")
        self.logf = open(self.log_path, "ab")
        self.p = subprocess.Popen(argv, stdout=self.logf, stderr=subprocess.STDOUT, env=env,
                                  start_new_session=True)
        self.pid = self.p.pid
        LIVE.append(self)

    def stop(self, timeout=10.0):
        if self in LIVE:
            LIVE.remove(self)
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.logf.close()


def run_capture(argv, timeout=None):
    """Runs a command to completion; returns (stdout, rusage-cpu-seconds)."""
    COMMANDS.append((CURRENT["scenario"], cmdline(argv)))
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.communicate(timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({p.returncode}): {err.decode(errors='replace')[-2000:]}")
    return out.decode(), err.decode()


# ---------------------------------------------------------------- load drivers

class Loader:
    def __init__(self, args):
        self.args = args
        self.tool = args.driver_kind  # oha | wrk
        self.bin = args.driver
        self.python = sys.executable

    def oha(self, url, body_file, headers, concurrency, duration=None, requests=None):
        argv = ["taskset", "-c", LOAD_CPU, self.bin, "--no-tui", "--output-format", "json",
                "-c", str(concurrency), "-m", "POST", "-T", "application/json", "-D", body_file]
        if duration:
            argv += ["-z", f"{duration}s"]
        else:
            argv += ["-n", str(requests)]
        for h in headers:
            argv += ["-H", h]
        argv.append(url)
        out, _ = run_capture(argv, timeout=(duration or 60) + 120)
        j = json.loads(out)
        codes = {str(k): v for k, v in (j.get("statusCodeDistribution") or {}).items()}
        ok = codes.get("200", 0)
        lp = j.get("latencyPercentiles") or {}
        summ = j.get("summary") or {}
        return {
            "cmd": cmdline(argv),
            "ok": ok,
            "codes": codes,
            "errors": j.get("errorDistribution") or {},
            "rps_reported": summ.get("requestsPerSec"),
            "p50_us": (lp.get("p50") or 0) * 1e6,
            "p90_us": (lp.get("p90") or 0) * 1e6,
            "p99_us": (lp.get("p99") or 0) * 1e6,
            "mean_us": (summ.get("average") or 0) * 1e6,
        }

    def wrk(self, url, body_file, headers, concurrency, duration=None, requests=None):
        lua = os.path.join(WORK, "wrk-post.lua")
        with open(body_file) as f:
            body = f.read()
        with open(lua, "w") as f:
            f.write('wrk.method = "POST"\n')
            f.write(f"wrk.body = {json.dumps(body)}\n")
            f.write('wrk.headers["Content-Type"] = "application/json"\n')
            for h in headers:
                k, v = h.split(":", 1)
                f.write(f"wrk.headers[{json.dumps(k.strip())}] = {json.dumps(v.strip())}\n")
            f.write("done = function(summary, latency, requests)\n")
            f.write('  io.write(string.format("JSON {\\"ok\\":%d,\\"errors\\":%d,\\"p50\\":%d,\\"p90\\":%d,'
                    '\\"p99\\":%d,\\"mean\\":%f,\\"duration\\":%d}\\n", summary.requests - summary.errors.status,'
                    ' summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status'
                    ' + summary.errors.timeout, latency:percentile(50), latency:percentile(90),'
                    ' latency:percentile(99), latency.mean, summary.duration))\nend\n')
        dur = duration or 5
        argv = ["taskset", "-c", LOAD_CPU, self.bin, "-t", "1", "-c", str(concurrency),
                "-d", f"{dur}s", "--latency", "-s", lua, url]
        out, _ = run_capture(argv, timeout=dur + 120)
        m = re.search(r"^JSON (\{.*\})$", out, re.M)
        j = json.loads(m.group(1))
        return {
            "cmd": cmdline(argv), "ok": j["ok"], "codes": {"200": j["ok"]}, "errors": {"errors": j["errors"]},
            "rps_reported": j["ok"] / (j["duration"] / 1e6),
            "p50_us": j["p50"], "p90_us": j["p90"], "p99_us": j["p99"], "mean_us": j["mean"],
        }

    def load(self, *a, **kw):
        return self.oha(*a, **kw) if self.tool == "oha" else self.wrk(*a, **kw)

    def drive(self, mode, url, body_file, headers, extra):
        argv = ["taskset", "-c", LOAD_CPU, self.python, os.path.join(BENCH, "driver", "sydrive.py"),
                mode, "--url", url, "--body", body_file]
        for h in headers:
            argv += ["--header", h]
        argv += extra
        out, _ = run_capture(argv, timeout=900)
        res = json.loads(out)
        res["cmd"] = cmdline(argv)
        return res


# ---------------------------------------------------------------- scenarios

def read_profile(path):
    prof = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            k, v = line.split("=", 1)
            v = v.strip()
            if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
                v = v[1:-1]
            prof[k.strip()] = v
    return prof


def headers_of(s):
    return [h.strip() for h in s.split("|") if h.strip()]


def materialise_body(spec, model):
    """Writes the request body for `model` into WORK and returns its path."""
    if spec.startswith("@large:"):
        size = int(spec.split(":", 1)[1])
        words = ("the quick brown fox jumps over the lazy dog near the railway switchyard "
                 "while freight wagons are sorted onto their departure tracks ").split()
        text, i = [], 0
        n = 0
        while n < size:
            w = words[i % len(words)]
            text.append(w)
            n += len(w) + 1
            i += 1
        body = json.dumps({"model": model, "messages": [
            {"role": "user", "content": "Summarise this in one sentence: " + " ".join(text)}],
            "max_tokens": 64})
        name = f"body-large-{size}-{model}.json"
    else:
        with open(os.path.join(BENCH, "bodies", spec)) as f:
            body = f.read().replace("{{MODEL}}", model)
        name = f"body-{os.path.splitext(spec)[0]}-{model}.json"
    path = os.path.join(WORK, name)
    with open(path, "w") as f:
        f.write(body)
    return path


class Stack:
    """The simulator (CPU 1) and optionally the gateway (CPU 0) for one scenario."""

    def __init__(self, args, scen_dir, sim_args, gateway=True, gateway_wrapper=None, tls=False):
        self.args = args
        self.sim = None
        self.gw = None
        wait_port_free(SIM_ADDR)
        sim_argv = ["taskset", "-c", LOAD_CPU, args.sim_bin or args.bin, "sim", "--listen", SIM_ADDR] + shlex.split(sim_args)
        if tls:
            sim_argv += ["--tls-cert", os.path.join(TLS_DIR, "server.pem"),
                         "--tls-key", os.path.join(TLS_DIR, "server.key")]
        env = dict(os.environ, BENCH_SIM=SIM_ADDR, BENCH_TLS_DIR=TLS_DIR,
                   SWITCHYARD_LOG=os.environ.get("SWITCHYARD_LOG", "warn"))
        self.sim = Proc("sim", sim_argv, env=env)
        wait_port(SIM_ADDR, proc=self.sim.p)
        if gateway:
            wait_port_free(GW_ADDR)
            gw_argv = ["taskset", "-c", GW_CPU] + (gateway_wrapper or []) + [
                args.bin, "serve", "--config", os.path.join(scen_dir, "gateway.yaml"), "--listen", GW_ADDR]
            self.gw = Proc("gateway", gw_argv, env=env)
            wait_port(GW_ADDR, timeout=120 if gateway_wrapper else 30, proc=self.gw.p)
            time.sleep(0.3)
            self.idle = proc_mem(self.gw.pid)

    def stop(self):
        for p in (self.gw, self.sim):
            if p:
                p.stop()


def check_ok(url, body_file, headers):
    with open(body_file, "rb") as f:
        data = f.read()
    req = urllib.request.Request(url, data=data, method="POST")
    req.add_header("Content-Type", "application/json")
    for h in headers:
        k, v = h.split(":", 1)
        req.add_header(k.strip(), v.strip())
    with urllib.request.urlopen(req, timeout=10) as r:
        body = r.read()
        if r.status != 200:
            raise RuntimeError(f"{url}: status {r.status}")
        return dict(r.headers), body


def measure(loader, url, body, headers, c, duration, warmup, pids):
    """Warm-up, then one measured load with CPU accounting of `pids` (name -> pid)."""
    if warmup:
        loader.load(url, body, headers, c, duration=warmup)
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    children0 = ch.ru_utime + ch.ru_stime
    split0 = {n: proc_cpu_split(p) for n, p in pids.items()}
    sys0, steal0, self0, t0 = system_busy_s(), steal_s(), self_cpu_s(), time.time()
    res = loader.load(url, body, headers, c, duration=duration)
    wall = time.time() - t0
    sys1, steal1, self1 = system_busy_s(), steal_s(), self_cpu_s()
    split1 = {n: proc_cpu_split(p) for n, p in pids.items()}
    before = {n: sum(v) for n, v in split0.items()}
    after = {n: sum(v) for n, v in split1.items()}
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    res["wall_s"] = wall
    res["rps"] = res["ok"] / duration if duration else None
    res["cpu_s"] = {n: after[n] - before[n] for n in pids}
    res["cpu_us_per_req"] = {n: (after[n] - before[n]) / max(res["ok"], 1) * 1e6 for n in pids}
    # User space and kernel apart: a proxy's kernel share (TCP on loopback) is mostly the floor.
    res["user_us_per_req"] = {n: (split1[n][0] - split0[n][0]) / max(res["ok"], 1) * 1e6 for n in pids}
    res["sys_us_per_req"] = {n: (split1[n][1] - split0[n][1]) / max(res["ok"], 1) * 1e6 for n in pids}
    res["system_busy_s"] = sys1 - sys0
    res["harness_cpu_s"] = self1 - self0
    res["driver_cpu_s"] = children.ru_utime + children.ru_stime - children0
    # CPU used by processes that are not part of the benchmark during the measurement.
    ours = sum(res["cpu_s"].values()) + res["driver_cpu_s"] + res["harness_cpu_s"]
    res["foreign_cpu_per_s"] = max(0.0, res["system_busy_s"] - ours) / max(wall, 1e-9)
    # Stolen by the hypervisor: the machine's other tenants, invisible from inside except here.
    res["steal_per_s"] = (steal1 - steal0) / max(wall, 1e-9)
    return res


def run_load_pair(args, loader, stack, prof, body_d, body_g, c, peer=None, label=""):
    d_url = f"http://{SIM_ADDR}{prof['PATH_DIRECT']}"
    g_url = f"http://{GW_ADDR}{prof['PATH_GATEWAY']}"
    hd, hg = headers_of(prof.get("HEADERS_DIRECT", "")), headers_of(prof.get("HEADERS_GATEWAY", ""))
    out = {}
    for side, url, body, hdrs, pids in (
        ("direct", d_url, body_d, hd, {"sim": stack.sim.pid}),
        ("gateway", g_url, body_g, hg, {"sim": stack.sim.pid, "gateway": stack.gw.pid}),
    ):
        log(f"  {label}{side}: c={c} {args.duration}s")
        r = measure(loader, url, body, hdrs, c, args.duration, args.warmup, pids)
        r["loadavg"] = loadavg()
        out[side] = r
    return out


def release_profile():
    """The workspace's release settings, as Cargo.toml states them (lto, codegen-units)."""
    try:
        text = open(os.path.join(ROOT, "Cargo.toml")).read().split("[profile.release]", 1)[1]
    except (OSError, IndexError):
        return "unknown"
    found = {}
    for line in text.split("\n[", 1)[0].splitlines():
        k, _, v = line.partition("=")
        if k.strip() in ("lto", "codegen-units"):
            found[k.strip()] = v.strip().strip('"')
    return ", ".join(f"{k} = {v}" for k, v in sorted(found.items())) or "defaults"


def load_cell(d, g):
    """'other load d / g', with the hypervisor's steal beside it when it was recorded."""
    cell = f"{d['foreign_cpu_per_s']:.2f} / {g['foreign_cpu_per_s']:.2f}"
    if "steal_per_s" in d and "steal_per_s" in g:
        cell += f"; steal {d['steal_per_s']:.2f} / {g['steal_per_s']:.2f}"
    return cell


def cpu_split(pair):
    """' (u + s)' for a report cell, empty for results recorded before the split existed."""
    if "gw_user_us_per_req" not in pair:
        return ""
    return f" ({pair['gw_user_us_per_req']:.1f} + {pair['gw_sys_us_per_req']:.1f})"


def add_figures(pair):
    d, g = pair["direct"], pair["gateway"]
    pair["added_p50_us"] = g["p50_us"] - d["p50_us"]
    pair["added_p99_us"] = g["p99_us"] - d["p99_us"]
    pair["throughput_ratio"] = (g["rps"] or 0) / max(d["rps"] or 1e-9, 1e-9)
    pair["gw_cpu_us_per_req"] = g["cpu_us_per_req"]["gateway"]
    pair["gw_user_us_per_req"] = g["user_us_per_req"]["gateway"]
    pair["gw_sys_us_per_req"] = g["sys_us_per_req"]["gateway"]
    pair["sim_cpu_us_per_req_direct"] = d["cpu_us_per_req"]["sim"]
    return pair


def perf_profile(args, loader, stack, prof, name, body_g):
    if not shutil.which("perf"):
        return None
    out_data = os.path.join(WORK, f"perf-{name}.data")
    g_url = f"http://{GW_ADDR}{prof['PATH_GATEWAY']}"
    secs = 4 if args.quick else 6
    c = int(prof.get("CONCURRENCY", "64"))
    rec = ["perf", "record", "-F", "999", "-e", "cpu-clock", "--call-graph", "dwarf,16384", "-p", str(stack.gw.pid),
           "-o", out_data, "--", "sleep", str(secs)]
    COMMANDS.append((CURRENT["scenario"], cmdline(rec)))
    p = subprocess.Popen(rec, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        loader.load(g_url, body_g, headers_of(prof.get("HEADERS_GATEWAY", "")), c, duration=secs + 1)
    finally:
        p.wait()
    txt = os.path.join(BENCH, "profiles", f"perf-{name}.txt")
    try:
        flat = subprocess.run(["perf", "report", "-i", out_data, "--stdio", "--no-children", "--sort", "dso,symbol",
                               "-g", "none", "--percent-limit", "0.4"],
                              capture_output=True, text=True, timeout=600).stdout
        incl = subprocess.run(["perf", "report", "-i", out_data, "--stdio", "--children", "--sort", "symbol",
                               "-g", "none", "--percent-limit", "1"],
                              capture_output=True, text=True, timeout=600).stdout
    except subprocess.TimeoutExpired:
        return None
    def clean(text, inclusive=False):
        out = []
        for l in text.splitlines():
            l = re.sub(r"\s+-\s+-\s*$", "", l).rstrip()
            if inclusive and (not re.search(r"switchyard|hyper|reqwest|serde|url::|idna|http::|axum|h2::|tracing|malloc|memmove|memcpy|sys_|tcp_", l)
                              or "tokio::runtime" in l):
                continue
            if l.strip() and not l.startswith("#"):
                out.append(l[:200])
        return out[:70]
    flat_lines, incl_lines = clean(flat), clean(incl, True)
    with open(txt, "w") as f:
        f.write(f"# perf profile of the gateway, scenario {name}, concurrency {c}, {secs}s, cpu-clock 999 Hz\n")
        f.write(f"# {cmdline(rec)}\n# load: {loader.tool} c={c} against {g_url}\n\n")
        f.write("## Self time (top symbols)\n\n")
        f.write("\n".join(flat_lines) + "\n\n## Inclusive time (children, top symbols)\n\n")
        f.write("\n".join(incl_lines) + "\n")
    try:
        os.remove(out_data)
    except OSError:
        pass
    return {"file": rel(txt), "top": flat_lines[:15]}


def scenario_oha(args, loader, name, sdir, prof):
    mode_d, mode_g = prof.get("MODEL_DIRECT"), prof.get("MODEL_GATEWAY")
    body_d = materialise_body(prof.get("BODY_DIRECT", prof.get("BODY", "")), mode_d)
    body_g = materialise_body(prof.get("BODY_GATEWAY", prof.get("BODY", "")), mode_g)
    c = int(prof["CONCURRENCY"])
    stack = Stack(args, sdir, prof.get("SIM_ARGS", ""))
    try:
        check_ok(f"http://{SIM_ADDR}{prof['PATH_DIRECT']}", body_d, headers_of(prof.get("HEADERS_DIRECT", "")))
        hdrs, _ = check_ok(f"http://{GW_ADDR}{prof['PATH_GATEWAY']}", body_g, headers_of(prof.get("HEADERS_GATEWAY", "")))
        res = {"title": prof.get("TITLE", name), "kind": "oha", "concurrency": c, "idle": stack.idle,
               "check_headers": {k: v for k, v in hdrs.items() if k.lower().startswith("x-switchyard")}}
        res.update(add_figures(run_load_pair(args, loader, stack, prof, body_d, body_g, c)))
        res["gateway_mem_after"] = proc_mem(stack.gw.pid)
        if prof.get("SEQ_DRIVER") == "1":
            log("  gateway self-reported overhead (sequential driver)")
            res["seq"] = loader.drive("seq", f"http://{GW_ADDR}{prof['PATH_GATEWAY']}", body_g,
                                      headers_of(prof.get("HEADERS_GATEWAY", "")),
                                      ["--duration", str(min(args.duration, 5)), "--warmup", "0.5"])
        if prof.get("PROFILE") == "1" and args.profile:
            log("  perf profile")
            res["profile"] = perf_profile(args, loader, stack, prof, name, body_g)
    finally:
        stack.stop()
    if args.with_litellm and "litellm" in prof.get("PEERS", ""):
        res["litellm"] = litellm_run(args, loader, prof, body_d, c)
    if args.with_proxies and "proxies" in prof.get("PEERS", ""):
        res["proxies"] = proxies_run(args, loader, prof, body_d, c)
    return res


def scenario_stream(args, loader, name, sdir, prof):
    c = int(prof["CONCURRENCY"])
    md, mg = prof["MODEL_DIRECT"], prof["MODEL_GATEWAY"]
    b50d, b50g = materialise_body(prof["BODY"], md), materialise_body(prof["BODY"], mg)
    b1d, b1g = materialise_body(prof["BODY_SMALL"], md), materialise_body(prof["BODY_SMALL"], mg)
    stack = Stack(args, sdir, prof.get("SIM_ARGS", ""))
    try:
        _, body = check_ok(f"http://{SIM_ADDR}{prof['PATH_DIRECT']}", b50d, headers_of(prof["HEADERS_DIRECT"]))
        events50 = body.count(b"data:")
        _, body1 = check_ok(f"http://{GW_ADDR}{prof['PATH_GATEWAY']}", b1g, headers_of(prof["HEADERS_GATEWAY"]))
        _, body50g = check_ok(f"http://{GW_ADDR}{prof['PATH_GATEWAY']}", b50g, headers_of(prof["HEADERS_GATEWAY"]))
        events1 = body1.count(b"data:")
        res = {"title": prof.get("TITLE", name), "kind": "stream", "concurrency": c, "idle": stack.idle,
               "events_per_stream": events50, "events_per_stream_small": events1,
               "events_per_stream_gateway": body50g.count(b"data:")}
        # TTFB_ONLY=1: time to the first event alone (e.g. with busy polling, whose CPU figures
        # would only count the polling).
        if prof.get("TTFB_ONLY") != "1":
            res["chunks50"] = add_figures(run_load_pair(args, loader, stack, prof, b50d, b50g, c, label="50 chunks "))
            res["chunks1"] = add_figures(run_load_pair(args, loader, stack, prof, b1d, b1g, c, label="1 chunk "))
            delta = events50 - events1
            res["per_chunk_cpu_us_marginal"] = (res["chunks50"]["gw_cpu_us_per_req"] - res["chunks1"]["gw_cpu_us_per_req"]) / max(delta, 1)
            res["per_event_cpu_us_average"] = res["chunks50"]["gw_cpu_us_per_req"] / max(events50, 1)
        ttfb = {}
        for side, addr, body_f, hdr in (("direct", SIM_ADDR, b50d, prof["HEADERS_DIRECT"]),
                                         ("gateway", GW_ADDR, b50g, prof["HEADERS_GATEWAY"])):
            log(f"  ttfb {side}")
            ttfb[side] = loader.drive("ttfb", f"http://{addr}{prof['PATH_' + side.upper()]}", body_f, headers_of(hdr),
                                      ["--duration", str(args.duration), "--warmup", str(args.warmup)])
        res["ttfb"] = ttfb
        res["ttfb_added_p50_us"] = ttfb["gateway"]["first_event"]["p50_us"] - ttfb["direct"]["first_event"]["p50_us"]
        res["ttfb_added_p99_us"] = ttfb["gateway"]["first_event"]["p99_us"] - ttfb["direct"]["first_event"]["p99_us"]
        res["gateway_mem_after"] = proc_mem(stack.gw.pid)
        if prof.get("PROFILE") == "1" and args.profile:
            log("  perf profile")
            res["profile"] = perf_profile(args, loader, stack, prof, name, b50g)
    finally:
        stack.stop()
    return res


def scenario_open_streams(args, loader, name, sdir, prof):
    n = int(prof["STREAMS"])
    hold = float(prof.get("HOLD", "5"))
    bd = materialise_body(prof["BODY"], prof["MODEL_DIRECT"])
    bg = materialise_body(prof["BODY"], prof["MODEL_GATEWAY"])
    res = {"title": prof.get("TITLE", name), "kind": "open-streams", "streams": n, "hold_s": hold}
    interval_ms = 1000
    m = re.search(r"--chunk-interval-ms\s+(\d+)", prof.get("SIM_ARGS", ""))
    if m:
        interval_ms = int(m.group(1))
    res["chunk_interval_ms"] = interval_ms
    tls = prof.get("SIM_TLS") == "1"
    res["sim_tls"] = tls
    for side in ("direct", "gateway"):
        stack = Stack(args, sdir, prof.get("SIM_ARGS", ""), gateway=(side == "gateway"), tls=tls)
        try:
            addr = SIM_ADDR if side == "direct" else GW_ADDR
            pid = stack.sim.pid if side == "direct" else stack.gw.pid
            if side == "gateway":
                res["idle"] = stack.idle
            log(f"  {side}: opening {n} streams")
            cpu0 = proc_cpu_s(pid)
            # Direct to a TLS simulator is HTTPS (HTTP/1.1); clients reach the gateway in cleartext.
            scheme, extra = ("https", ["--cafile", os.path.join(TLS_DIR, "ca.pem")]) if tls and side == "direct" else ("http", [])
            r = loader.drive("open-streams", f"{scheme}://{addr}{prof['PATH_' + side.upper()]}", bd if side == "direct" else bg,
                             headers_of(prof["HEADERS_" + side.upper()]),
                             ["--streams", str(n), "--hold", str(hold), "--pid", str(pid), "--pid", str(stack.sim.pid)] + extra)
            r["cpu_s_total"] = proc_cpu_s(pid) - cpu0
            res[side] = r
        finally:
            stack.stop()
    g = res["gateway"]
    held = g["held"][0]
    res["gw_rss_held_mb"] = held.get("VmRSS", 0) / 1024
    res["gw_hwm_mb"] = g["after_close"][0].get("VmHWM", 0) / 1024
    res["gw_fds_held"] = held.get("fds")
    res["gw_fds_after_close"] = g["after_close"][0].get("fds")
    res["gw_rss_after_close_mb"] = g["after_close"][0].get("VmRSS", 0) / 1024
    res["gw_kb_per_stream"] = (held.get("VmRSS", 0) - g["before"][0].get("VmRSS", 0)) / max(g["streams_open"], 1)
    try:
        events = g["streams_open"] * (g["held"][0]["t"] - g["held_start"][0]["t"]) / (interval_ms / 1000.0)
        res["gw_cpu_us_per_event_held"] = (g["held"][0]["cpu_s"] - g["held_start"][0]["cpu_s"]) / max(events, 1) * 1e6
    except (KeyError, IndexError):
        res["gw_cpu_us_per_event_held"] = None
    d = res["direct"]["held"][0]
    res["sim_rss_held_mb"] = d.get("VmRSS", 0) / 1024
    res["sim_fds_held"] = d.get("fds")
    return res


def callgrind_dump_total(path):
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    return None


def scenario_callgrind(args, loader, name, sdir, prof):
    if not (shutil.which("valgrind") and shutil.which("callgrind_control")):
        return {"title": prof.get("TITLE", name), "kind": "callgrind", "skipped": "valgrind not installed"}
    n = int(prof.get("REQUESTS_QUICK" if args.quick else "REQUESTS", "1000"))
    res = {"title": prof.get("TITLE", name), "kind": "callgrind", "requests": n, "workloads": {}}
    outbase = os.path.join(WORK, "callgrind.out")
    for f in os.listdir(WORK):
        if f.startswith("callgrind.out"):
            os.remove(os.path.join(WORK, f))
    wrapper = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={outbase}.%p", "--dump-instr=yes"]
    stack = Stack(args, sdir, prof.get("SIM_ARGS", ""), gateway_wrapper=wrapper)
    try:
        gpid = stack.gw.pid  # taskset execs valgrind which keeps the pid
        for wl in prof["WORKLOADS"].split():
            label, body_spec, model, path = wl.split(":", 3)
            body = materialise_body(body_spec, model)
            url = f"http://{GW_ADDR}{path}"
            log(f"  callgrind {label}: warm-up, then {n} requests")
            loader.oha(url, body, [], 1, requests=max(50, n // 10))
            run_capture(["callgrind_control", "--zero", str(gpid)], timeout=120)
            r = loader.oha(url, body, [], 1, requests=n)
            before = set(os.listdir(WORK))
            run_capture(["callgrind_control", "--dump=" + label, str(gpid)], timeout=300)
            time.sleep(0.5)
            new = sorted(set(os.listdir(WORK)) - before)
            dumps = [os.path.join(WORK, f) for f in new if f.startswith("callgrind.out")]
            if not dumps:
                res["workloads"][label] = {"error": "no dump produced"}
                continue
            total = callgrind_dump_total(dumps[-1])
            wl_res = {"requests_ok": r["ok"], "instructions": total,
                      "instructions_per_request": total / max(r["ok"], 1) if total else None}
            sys.path.insert(0, os.path.join(BENCH, "lib"))
            import cgtop  # noqa: E402 - local helper
            hidden = cgtop.hidden_costs(dumps[-1], args.bin)
            if hidden:
                wl_res["atomics_per_request"] = hidden[0] / max(r["ok"], 1)
                wl_res["clock_reads_per_request"] = hidden[1] / max(r["ok"], 1)
            # The profile-guided build's counts beside the plain build's, not over them.
            pdir = os.path.join(BENCH, "profiles", "pgo" if args.build_note.startswith("profile-guided") else "")
            os.makedirs(pdir, exist_ok=True)
            txt = os.path.join(pdir, f"callgrind-{label}.txt")
            with open(txt, "w") as f:
                if args.build_note:
                    f.write(f"# {args.build_note} at {git_short()}, gateway {rel(args.bin)}, simulator "
                            f"{rel(args.sim_bin or args.bin)}\n")
                f.write(f"# callgrind, gateway only, {r['ok']} sequential requests ({label}) after a warm-up\n")
                f.write(f"# {cmdline(wrapper)} ... serve; callgrind_control --zero / --dump around the measured requests\n")
                f.write("# generated by bench/lib/cgtop.py (instructions in user space only; syscalls not counted)\n\n")
                f.write(cgtop.report(dumps[-1], 45, max(r["ok"], 1), args.bin) + "\n")
            wl_res["file"] = rel(txt)
            res["workloads"][label] = wl_res
    finally:
        stack.stop()
    return res


def trim_annotate(text, n):
    lines = text.splitlines()
    # Keep the header totals and the first n function lines after the column header.
    out, started, count = [], False, 0
    for l in lines:
        if "file:function" in l:
            started = True
            out.append(l)
            continue
        if started:
            if not l.strip():
                if count:
                    break
                continue
            out.append(l[:220])
            count += 1
            if count >= n:
                break
        elif "PROGRAM TOTALS" in l:
            out.append(l)
    return out


# ---------------------------------------------------------------- LiteLLM peer

def litellm_run(args, loader, prof, body_d, c):
    venv = os.path.join(BENCH, ".venv-litellm")
    exe = os.path.join(venv, "bin", "litellm")
    if not os.path.exists(exe):
        return {"skipped": "LiteLLM venv missing (run.sh --with-litellm installs it)"}
    cfg = os.path.join(WORK, "litellm.yaml")
    with open(cfg, "w") as f:
        f.write("model_list:\n  - model_name: bench\n    litellm_params:\n      model: openai/gpt-4o-mini\n"
                f"      api_base: http://{SIM_ADDR}/v1\n      api_key: sk-bench\n"
                "litellm_settings:\n  drop_params: true\n  telemetry: false\n"
                # Recent LiteLLM refuses to start without a master key; the load sends this one.
                "general_settings:\n  master_key: sk-bench\n")
    stack = Stack(args, None, prof.get("SIM_ARGS", ""), gateway=False)
    host, port = PEER_ADDR.rsplit(":", 1)
    argv = ["taskset", "-c", GW_CPU, exe, "--config", cfg, "--host", host, "--port", port, "--num_workers", "1"]
    env = dict(os.environ, LITELLM_LOG="ERROR", LITELLM_TELEMETRY="False", DISABLE_SCHEMA_UPDATE="true")
    peer = Proc("litellm", argv, env=env)
    try:
        wait_port(PEER_ADDR, timeout=180, proc=peer.p)
        time.sleep(1.0)
        body_g = materialise_body("chat.json", "bench")
        check_ok(f"http://{PEER_ADDR}/v1/chat/completions", body_g, ["Authorization: Bearer sk-bench"])
        idle = tree_mem(peer.pid)
        out = {}
        for side, url, body, hdrs, pids in (
            ("direct", f"http://{SIM_ADDR}/v1/chat/completions", body_d, ["Authorization: Bearer sk-bench"],
             {"sim": stack.sim.pid}),
            ("litellm", f"http://{PEER_ADDR}/v1/chat/completions", body_g, ["Authorization: Bearer sk-bench"],
             {"sim": stack.sim.pid, "litellm": peer.pid}),
        ):
            log(f"  litellm peer {side}: c={c}")
            out[side] = measure(loader, url, body, hdrs, c, args.duration, args.warmup, pids)
        d, g = out["direct"], out["litellm"]
        return {"direct": d, "litellm": g, "idle": idle, "mem_after": tree_mem(peer.pid),
                "added_p50_us": g["p50_us"] - d["p50_us"], "added_p99_us": g["p99_us"] - d["p99_us"],
                "throughput_ratio": (g["rps"] or 0) / max(d["rps"] or 1e-9, 1e-9),
                "cpu_us_per_req": g["cpu_us_per_req"]["litellm"]}
    except Exception as e:  # noqa: BLE001 - optional peer; report and carry on
        return {"skipped": f"LiteLLM run failed: {e}"}
    finally:
        peer.stop()
        stack.stop()


# ---------------------------------------------------------------- HTTP proxies as peers

# The peers measured in the gateway's place (--with-proxies): key, label in the tables, short label.
PEERS = (("relay", "byte relay (HAProxy, TCP mode)", "byte relay"), ("haproxy", "HAProxy (HTTP mode)", "HAProxy HTTP"),
         ("nginx", "nginx", "nginx"))


def proxy_argv(which):
    """HAProxy in TCP mode (a byte relay: no HTTP parsed, one client connection per upstream
    connection) or in HTTP mode, or nginx; one thread / one worker, pinned where the gateway
    sits, forwarding to the simulator over keep-alive connections (config in bench/results/)."""
    sim_host, sim_port = SIM_ADDR.rsplit(":", 1)
    if which in ("relay", "haproxy"):
        # One thread; TCP mode relays bytes, HTTP mode parses and reuses idle upstream connections.
        http = which == "haproxy"
        addr = HAPROXY_ADDR if http else RELAY_ADDR
        cfg = os.path.join(WORK, "haproxy.cfg" if http else "haproxy-tcp.cfg")
        with open(cfg, "w") as f:
            f.write(f"global\n    nbthread 1\n    maxconn 4000\ndefaults\n    mode {'http' if http else 'tcp'}\n"
                    "    timeout connect 5s\n    timeout client 60s\n    timeout server 60s\n"
                    + ("    timeout http-keep-alive 60s\n" if http else "")
                    + f"listen {which}\n    bind {addr}\n" + ("    http-reuse always\n" if http else "")
                    + f"    server sim {SIM_ADDR}\n")
        return ["taskset", "-c", GW_CPU, "haproxy", "-f", cfg, "-db"], addr
    prefix = os.path.join(WORK, "nginx")
    os.makedirs(prefix, exist_ok=True)
    cfg = os.path.join(prefix, "nginx.conf")
    with open(cfg, "w") as f:
        # No master process: the one process measured is the one that works.
        f.write("daemon off;\nmaster_process off;\nworker_processes 1;\nworker_rlimit_nofile 16384;\n"
                f"pid {prefix}/nginx.pid;\nerror_log {prefix}/error.log warn;\n"
                "events { worker_connections 8192; }\nhttp {\n    access_log off;\n"
                f"    client_body_temp_path {prefix}/body;\n    proxy_temp_path {prefix}/proxy;\n"
                "    keepalive_requests 1000000;\n    keepalive_timeout 60s;\n"
                f"    upstream sim {{ server {sim_host}:{sim_port}; keepalive 256; keepalive_requests 1000000; }}\n"
                f"    server {{\n        listen {NGINX_ADDR};\n        location / {{\n"
                "            proxy_pass http://sim;\n            proxy_http_version 1.1;\n"
                "            proxy_set_header Connection \"\";\n            proxy_buffering off;\n        }\n    }\n}\n")
    return ["taskset", "-c", GW_CPU, "nginx", "-c", cfg, "-p", prefix], NGINX_ADDR


def proxies_run(args, loader, prof, body_d, c):
    """A byte relay, HAProxy (HTTP mode) and nginx in the gateway's place, with direct measured
    once more in the same stretch: what any proxy and the leanest HTTP proxies pay on this
    machine, beside the gateway."""
    out = {}
    missing = [t for t in ("haproxy", "nginx") if not shutil.which(t)]
    if missing:
        return {"skipped": f"{' and '.join(missing)} not installed (run.sh --with-proxies installs them)"}
    stack = Stack(args, None, prof.get("SIM_ARGS", ""), gateway=False)
    hd = headers_of(prof.get("HEADERS_DIRECT", ""))
    url_path = prof["PATH_DIRECT"]
    try:
        log(f"  proxies: direct c={c}")
        out["direct"] = measure(loader, f"http://{SIM_ADDR}{url_path}", body_d, hd, c, args.duration, args.warmup,
                                {"sim": stack.sim.pid})
        for which, _, _ in PEERS:
            argv, addr = proxy_argv(which)
            wait_port_free(addr)
            peer = Proc(which, argv)
            try:
                wait_port(addr, proc=peer.p)
                time.sleep(0.3)
                url = f"http://{addr}{url_path}"
                check_ok(url, body_d, hd)
                log(f"  proxies: {which} c={c}")
                r = measure(loader, url, body_d, hd, c, args.duration, args.warmup,
                            {"sim": stack.sim.pid, which: peer.pid})
                d = out["direct"]
                out[which] = {"run": r, "added_p50_us": r["p50_us"] - d["p50_us"],
                              "added_p99_us": r["p99_us"] - d["p99_us"],
                              "throughput_ratio": (r["rps"] or 0) / max(d["rps"] or 1e-9, 1e-9),
                              "cpu_us_per_req": r["cpu_us_per_req"][which],
                              "user_us_per_req": r["user_us_per_req"][which],
                              "sys_us_per_req": r["sys_us_per_req"][which],
                              "rss": proc_mem(peer.pid)}
            except Exception as e:  # noqa: BLE001 - optional peer; report and carry on
                out[which] = {"skipped": f"{which} run failed: {e}"}
            finally:
                peer.stop()
    finally:
        stack.stop()
    return out


def tree_mem(pid):
    m = proc_mem(pid)
    return m


# ---------------------------------------------------------------- report

def fmt_us(v):
    if v is None:
        return "n/a"
    if abs(v) >= 10000:
        return f"{v / 1000:.1f} ms"
    if abs(v) >= 1000:
        return f"{v / 1000:.2f} ms"
    return f"{v:.0f} µs"


def fmt_rate(v):
    return "n/a" if v is None else f"{v:,.0f}/s"


def fmt_mb(kb):
    return "n/a" if kb is None else f"{kb / 1024:.1f} MB"


def machine_info(args):
    info = {}
    info["nproc"] = os.cpu_count()
    with open("/proc/cpuinfo") as f:
        m = re.search(r"model name\s*:\s*(.*)", f.read())
        info["cpu"] = m.group(1).strip() if m else platform.processor()
    with open("/proc/meminfo") as f:
        m = re.search(r"MemTotal:\s*(\d+)", f.read())
        info["mem_gb"] = int(m.group(1)) / 1024 / 1024
    info["kernel"] = platform.release()
    info["commit"] = subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    info["dirty"] = bool(dirty)
    info["rustc"] = subprocess.run(["rustc", "--version"], capture_output=True, text=True, cwd=ROOT).stdout.strip()
    if args.build_note or args.sim_bin:
        info["build"] = (args.build_note or "plain release") + (
            f"; simulator from `{rel(args.sim_bin)}`" if args.sim_bin else "")
    try:
        info["driver"] = subprocess.run([args.driver, "--version"], capture_output=True, text=True).stdout.strip().splitlines()[0]
    except (OSError, IndexError):
        info["driver"] = args.driver_kind
    info["python"] = platform.python_version()
    info["idle"] = idle_policy()
    info["date"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return info


def verdict(value, target, lower_is_better=True, unit="µs", fmt=None):
    if value is None:
        return "not measured", ""
    fmt = fmt or (lambda v: f"{v:.0f} {unit}")
    ok = value <= target if lower_is_better else value >= target
    if ok:
        return "**met**", ""
    if lower_is_better:
        return "**missed**", f"by {fmt(value - target)} ({value / target:.1f}× the target)" if target else ""
    return "**missed**", f"by {fmt(target - value)}"


def ttfb_line(r):
    """The report's time-to-first-event bullet of a stream scenario."""
    t = r["ttfb"]
    return (f"- Time to first event (sydrive `ttfb`, concurrency 1, keep-alive, {t['gateway']['requests']} streams each side): "
            f"direct p50 {fmt_us(t['direct']['first_event']['p50_us'])} / p99 {fmt_us(t['direct']['first_event']['p99_us'])}; "
            f"gateway p50 {fmt_us(t['gateway']['first_event']['p50_us'])} / p99 {fmt_us(t['gateway']['first_event']['p99_us'])}; "
            f"**added p50 {fmt_us(r['ttfb_added_p50_us'])}, p99 {fmt_us(r['ttfb_added_p99_us'])}**. "
            f"Response headers: direct p50 {fmt_us(t['direct']['headers']['p50_us'])}, "
            f"gateway p50 {fmt_us(t['gateway']['headers']['p50_us'])}.")


def build_report(args, info, results, started_load):
    L = []
    w = L.append
    w("## Latest results\n")
    w(f"Run {info['date']} with `bench/run.sh{' --quick' if args.quick else ''}"
      f"{' --with-litellm' if args.with_litellm else ''}{' --with-proxies' if args.with_proxies else ''}` — "
      f"{'**quick run: shorter and a subset; do not quote**' if args.quick else 'full run'}.\n")
    w("| machine | |")
    w("| --- | --- |")
    w(f"| CPUs (nproc) | {info['nproc']} × {info['cpu']} |")
    w(f"| memory | {info['mem_gb']:.1f} GB |")
    w(f"| kernel | {info['kernel']} |")
    if info.get("idle"):
        w(f"| idle vCPUs (cpuidle driver, halt polling) | {info['idle']} |")
    w(f"| commit | `{info['commit'][:12]}`{' (with uncommitted changes)' if info['dirty'] else ''} |")
    w(f"| toolchain | {info['rustc']}; release profile ({release_profile()}) |")
    if info.get("build"):
        w(f"| gateway build | {info['build']} |")
    w(f"| load driver | {info['driver']} (`bench/driver/sydrive.py` on Python {info['python']} for TTFB and open streams) |")
    w(f"| pinning | gateway `taskset -c {GW_CPU}`; simulator and load driver `taskset -c {LOAD_CPU}` |")
    w(f"| durations | {args.duration:g} s measured per side after a {args.warmup:g} s warm-up, same concurrency direct and through the gateway |")
    w(f"| load average at start | {started_load[0]:.2f} / {started_load[1]:.2f} / {started_load[2]:.2f} (1/5/15 min) |")
    w("")
    w("Machine is shared: other processes' CPU during each measurement is shown as *other load* (CPU-seconds per "
      "second of wall time on the whole machine, from /proc/stat minus the benchmark's own processes; interrupt "
      "and softirq time not charged to a process counts here too), and on a VM the hypervisor's *steal* beside it "
      "(CPU-seconds per second the vCPUs wanted to run but other guests had the host's cores). Values above ~0.1 "
      "mean the figure was disturbed.\n")

    # Targets
    T = targets(results)
    w("### Targets (issue 5)\n")
    w("| target | measured | verdict | gap |")
    w("| --- | --- | --- | --- |")
    for t in T:
        w(f"| {t['name']} | {t['measured']} | {t['verdict']} | {t['gap']} |")
    w("")
    mm = results.get("chat-c64-minimal")
    if mm and mm.get("kind") == "oha":
        d = mm["direct"]
        w(f"Calibration: the minimal mock (`switchyard sim --minimal`, one canned completion, nothing parsed) "
          f"served {fmt_rate(d['rps'])} direct at concurrency 64 for {d['cpu_us_per_req']['sim']:.1f} µs of its CPU per "
          f"request ({d['user_us_per_req']['sim']:.1f} user + {d['sys_us_per_req']['sim']:.1f} kernel); the issue's "
          f"reference machine: ~51,000/s and ~10 µs with its Rust mock. The full simulator needs "
          + (f"{results['chat-c64']['sim_cpu_us_per_req_direct']:.1f} µs" if results.get("chat-c64", {}).get("kind") == "oha" else "several times that")
          + " per request in this run, so over it the gateway's core is not saturated at c=64.\n")

    def gw_over_sim(r):
        sim = r["gateway"].get("cpu_us_per_req", {}).get("sim")
        return f"{r['gw_cpu_us_per_req'] / sim:.2f}" if sim else "n/a"

    # Non-streaming table
    chat = [(n, r) for n, r in results.items() if r.get("kind") == "oha"]
    if chat:
        w("### Non-streaming (oha)\n")
        w("Latency is oha's per-request latency; *added* is gateway minus direct. CPU/req is the process's "
          "utime+stime delta over the measured run divided by successful requests; in brackets, user space + "
          "kernel. *gateway / sim* is the gateway's CPU per request over the simulator's in the same run (the "
          "simulator serving the gateway at the same moment): a quotient that cancels most of a VM's drift, for "
          "comparing runs on a noisy machine.\n")
        w("| scenario | c | direct req/s | gateway req/s | ratio | direct p50 / p99 | gateway p50 / p99 | added p50 | added p99 | gateway CPU/req | sim CPU/req (direct) | gateway / sim | gateway peak RSS | other load; steal (d/g) |")
        w("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for n, r in chat:
            d, g = r["direct"], r["gateway"]
            errs = ""
            errs_real = {k: v for k, v in g["errors"].items() if "deadline" not in k}
            if errs_real or set(g["codes"]) - {"200"}:
                errs = f" ⚠ {dict(g['codes'])} {errs_real}"
            w(f"| {n} | {r['concurrency']} | {fmt_rate(d['rps'])} | {fmt_rate(g['rps'])} | {r['throughput_ratio'] * 100:.0f}% | "
              f"{fmt_us(d['p50_us'])} / {fmt_us(d['p99_us'])} | {fmt_us(g['p50_us'])} / {fmt_us(g['p99_us'])} | "
              f"{fmt_us(r['added_p50_us'])} | {fmt_us(r['added_p99_us'])} | {r['gw_cpu_us_per_req']:.1f} µs{cpu_split(r)} | "
              f"{r['sim_cpu_us_per_req_direct']:.1f} µs | {gw_over_sim(r)} | {fmt_mb(r['gateway_mem_after'].get('VmHWM'))} | "
              f"{load_cell(d, g)}{errs} |")
        w("")
        for n, r in chat:
            if "seq" in r:
                s = r["seq"]
                so = s.get("self_reported_overhead", {})
                w(f"`{n}`: the gateway's own `x-switchyard-overhead-us` header over {s['requests']} sequential requests: "
                  f"p50 {fmt_us(so.get('p50_us'))}, p99 {fmt_us(so.get('p99_us'))} (sydrive `seq`; its client-side "
                  f"latency p50 {fmt_us(s['total'].get('p50_us'))}).\n")
        peers = [(n, r["litellm"]) for n, r in chat if "litellm" in r]
        if peers:
            w("#### LiteLLM proxy, same simulator, same loads\n")
            w("| scenario | direct req/s | LiteLLM req/s | ratio | added p50 | added p99 | LiteLLM CPU/req | LiteLLM RSS idle / after |")
            w("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
            for n, p in peers:
                if "skipped" in p:
                    w(f"| {n} | {p['skipped']} | | | | | | |")
                    continue
                w(f"| {n} | {fmt_rate(p['direct']['rps'])} | {fmt_rate(p['litellm']['rps'])} | {p['throughput_ratio'] * 100:.1f}% | "
                  f"{fmt_us(p['added_p50_us'])} | {fmt_us(p['added_p99_us'])} | {p['cpu_us_per_req']:.0f} µs | "
                  f"{fmt_mb(p['idle'].get('VmRSS'))} / {fmt_mb(p['mem_after'].get('VmRSS'))} |")
            w("")

    prox = [(n, r["proxies"]) for n, r in chat if "proxies" in r]
    if prox:
        w("#### HTTP proxies in the gateway's place, same simulator, same loads\n")
        w("HAProxy in TCP mode (a byte relay: nothing parsed, one upstream connection per client connection), "
          "HAProxy in HTTP mode (one thread, `http-reuse always`) and nginx (one worker, upstream keep-alive, "
          "`proxy_buffering off`), pinned where the gateway sits, right after the gateway's measurement, with direct "
          "measured again beside them. The relay is what any proxy pays on this machine (two loopback hops, the "
          "wake-ups); the HTTP proxies parse and forward HTTP/1.1 and nothing more.\n")
        w("| scenario | proxy | direct req/s | proxy req/s | ratio | added p50 | added p99 | proxy CPU/req | proxy RSS | other load; steal (d/p) |")
        w("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for n, p in prox:
            if "skipped" in p:
                w(f"| {n} | {p['skipped']} | | | | | | | | |")
                continue
            for which, lab, _ in PEERS:
                q = p.get(which, {})
                if not q and which == "relay":
                    continue  # runs from before the relay was measured
                if "skipped" in q or not q:
                    w(f"| {n} | {lab}: {q.get('skipped', 'not run')} | | | | | | | | |")
                    continue
                w(f"| {n} | {lab} | {fmt_rate(p['direct']['rps'])} | {fmt_rate(q['run']['rps'])} | "
                  f"{q['throughput_ratio'] * 100:.0f}% | {fmt_us(q['added_p50_us'])} | {fmt_us(q['added_p99_us'])} | "
                  f"{q['cpu_us_per_req']:.1f} µs ({q['user_us_per_req']:.1f} + {q['sys_us_per_req']:.1f}) | "
                  f"{fmt_mb(q['rss'].get('VmRSS'))} | {load_cell(p['direct'], q['run'])} |")
        w("")

    st = [(n, r) for n, r in results.items() if r.get("kind") == "stream"]
    for n, r in st:
        w(f"### Streaming (`{n}`)\n")
        if "chunks50" not in r:
            w(f"{r['title']}: time to the first event only ({r['events_per_stream']} events per reply direct, "
              f"{r['events_per_stream_gateway']} through the gateway).\n")
            w(ttfb_line(r) + "\n")
            continue
        w(f"Replies of {r['events_per_stream']} SSE events (50 content chunks + role, finish, `[DONE]`) and of "
          f"{r['events_per_stream_small']} events (1 content chunk), oha at concurrency {r['concurrency']}. "
          f"Through the gateway the 50-chunk reply had {r['events_per_stream_gateway']} events.\n")
        w("| reply | direct streams/s | gateway streams/s | ratio | added p50 | added p99 | gateway CPU/stream | other load; steal (d/g) |")
        w("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for key, lab in (("chunks50", "50 chunks"), ("chunks1", "1 chunk")):
            p = r[key]
            w(f"| {lab} | {fmt_rate(p['direct']['rps'])} | {fmt_rate(p['gateway']['rps'])} | {p['throughput_ratio'] * 100:.0f}% | "
              f"{fmt_us(p['added_p50_us'])} | {fmt_us(p['added_p99_us'])} | {p['gw_cpu_us_per_req']:.1f} µs | "
              f"{load_cell(p['direct'], p['gateway'])} |")
        w("")
        w(f"- Gateway CPU per forwarded chunk: **{r['per_chunk_cpu_us_marginal']:.2f} µs** marginal "
          f"((CPU/stream at 50 chunks − at 1 chunk) / {r['events_per_stream'] - r['events_per_stream_small']}); "
          f"{r['per_event_cpu_us_average']:.2f} µs averaged over all events of a 50-chunk stream (includes the request).")
        w(ttfb_line(r))
        w("")

    os_ = [(n, r) for n, r in results.items() if r.get("kind") == "open-streams"]
    if os_:
        w("### Concurrent open streams (slow upstream)\n")
        w("sydrive opens N streams (200 connecting at a time), waits until each has delivered its first event, "
          "holds them, samples `/proc/<pid>/status` and `/proc/<pid>/fd`, then closes them all. The simulator "
          "sends one content event per stream per second.\n")
        w("| scenario | open | gateway RSS idle | gateway RSS held | per stream | gateway VmHWM | gateway fds held | fds after close | gateway CPU/event while held | sim RSS / fds held (direct) | first event p50 / p99 (d → g) |")
        w("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for n, r in os_:
            g, d = r["gateway"], r["direct"]
            w(f"| {n} | {g['streams_open']}/{r['streams']}{' ⚠ ' + str(g['failures']) + ' failed' if g['failures'] else ''} | "
              f"{fmt_mb(r['idle'].get('VmRSS'))} | {r['gw_rss_held_mb']:.1f} MB | {r['gw_kb_per_stream']:.1f} KB | {r['gw_hwm_mb']:.1f} MB | "
              f"{r['gw_fds_held']} | {r['gw_fds_after_close']} | {hold_cpu_str(r)} | "
              f"{r['sim_rss_held_mb']:.1f} MB / {r['sim_fds_held']} | "
              f"{fmt_us(d['first_event'].get('p50_us'))} / {fmt_us(d['first_event'].get('p99_us'))} → "
              f"{fmt_us(g['first_event'].get('p50_us'))} / {fmt_us(g['first_event'].get('p99_us'))} |")
        w("")

    cg = [(n, r) for n, r in results.items() if r.get("kind") == "callgrind"]
    for n, r in cg:
        w(f"### {r.get('title') or 'Instructions per request (callgrind)'}\n")
        if r.get("skipped"):
            w(f"Skipped: {r['skipped']}.\n")
            continue
        w(f"Gateway under `valgrind --tool=callgrind` (the simulator native), {r['requests']} sequential requests per "
          "workload after a warm-up, counters zeroed with `callgrind_control --zero` and dumped after. Independent of "
          "machine noise; compare across commits. Beside the count, what it hides: atomic read-modify-writes "
          "(`lock`-prefixed instructions and `xchg` with memory, ~5 ns each here against 0.3 ns for a plain add) and "
          "clock reads (`Instant::now`/`SystemTime::now`, ~19 ns each through this VM's vDSO), both counted as a "
          "few instructions by callgrind (`bench/lib/cgtop.py`).\n")
        w("| workload | instructions / request | atomic RMWs / request | clock reads / request | profile |")
        w("| --- | ---: | ---: | ---: | --- |")
        for lab, wl in r["workloads"].items():
            ipr = wl.get("instructions_per_request")
            at, ck = wl.get("atomics_per_request"), wl.get("clock_reads_per_request")
            hid = f"{at:.1f} | {ck:.1f}" if at is not None else "n/a | n/a"
            w(f"| {lab} | {ipr:,.0f} | {hid} | `{wl.get('file', '')}` |" if ipr
              else f"| {lab} | {wl.get('error', 'n/a')} | | | |")
        w("")

    profs = [(n, r["profile"]) for n, r in results.items() if r.get("profile")]
    if profs:
        w("### Profiles\n")
        w("`perf record -e cpu-clock --call-graph dwarf` of the gateway under load (the VM has no hardware counters); "
          "self-time top list and inclusive list in the files below, callgrind top lists beside them.\n")
        for n, p in profs:
            w(f"- `{n}`: `{p['file']}`")
        w("")

    w("### Commands\n")
    w("Every distinct command the harness ran, per scenario, in order (`<body>` is the scenario's request body, "
      "written to bench/results/; bench/results/commands.txt has the full list):\n")
    by = {}
    for sc, c in COMMANDS:
        c2 = re.sub(r"body-[\w.-]+\.json", "<body>.json", c)
        c2 = re.sub(r"-p \d+", "-p <gateway pid>", c2)
        c2 = re.sub(r"(--pid|--zero|--dump=\S+) \d+", r"\1 <pid>", c2)
        lst = by.setdefault(sc, [])
        if c2 not in lst:
            lst.append(c2)
    for sc, lst in by.items():
        w(f"`{sc}`:\n")
        w("```")
        for c in lst:
            w(c)
        w("```\n")
    return "\n".join(L)


def hold_cpu_str(r):
    v = r.get("gw_cpu_us_per_event_held")
    return "n/a" if v is None else f"{v:.1f} µs"


def beside(T, res, fig):
    """Appends to the last target's gap what the byte relay, HAProxy and nginx measured in the same run."""
    p = (res or {}).get("proxies") or {}
    shown = [f"{lab} {fig(p[k])}" for k, _, lab in PEERS
             if isinstance(p.get(k), dict) and "run" in p[k]]
    if shown:
        gap = T[-1]["gap"]
        T[-1]["gap"] = (gap + "; " if gap else "") + "same run: " + ", ".join(shown)


HP_LABEL = "gateway as by default, guest kernel's halt polling at Linux's default (`guest_halt_poll_ns=200000`)"


def targets(results):
    T = []

    def add(name, value, target, fmt, lower=True, unit="µs", shown=None):
        v, gap = verdict(value, target, lower, unit, fmt)
        T.append({"name": name, "measured": (shown or fmt)(value) if value is not None else "not measured",
                  "verdict": v, "gap": gap})

    c1 = results.get("chat-c1")
    c64 = results.get("chat-c64")
    cross = results.get("cross-format")
    st = results.get("stream-50")
    os5 = results.get("open-streams-5000")
    us = lambda v: fmt_us(v)
    add("added latency, c=1, p50 ≤ 50 µs", c1 and c1["added_p50_us"], 50, us)
    beside(T, c1, lambda q: fmt_us(q["added_p50_us"]))
    add("added latency, c=1, p99 ≤ 150 µs", c1 and c1["added_p99_us"], 150, us)
    beside(T, c1, lambda q: fmt_us(q["added_p99_us"]))
    hp = results.get("chat-c1-halt-poll")
    if hp and hp.get("kind") == "oha":
        add(f"added latency, c=1, p50 ≤ 50 µs, {HP_LABEL}", hp["added_p50_us"], 50, us)
        beside(T, hp, lambda q: fmt_us(q["added_p50_us"]))
        add(f"added latency, c=1, p99 ≤ 150 µs, {HP_LABEL}", hp["added_p99_us"], 150, us)
        beside(T, hp, lambda q: fmt_us(q["added_p99_us"]))
    bp = results.get("chat-c1-busy-poll")
    if bp:
        add("added latency, c=1, p50 ≤ 50 µs, with `server.busy_poll: 1ms`", bp["added_p50_us"], 50, us)
        add("added latency, c=1, p99 ≤ 150 µs, with `server.busy_poll: 1ms`", bp["added_p99_us"], 150, us)
    us1 = lambda v: f"{v:.1f} µs"
    split = lambda r: (lambda v: us1(v) + (f" ({r['gw_user_us_per_req']:.1f} user + {r['gw_sys_us_per_req']:.1f} kernel)"
                                          if r and "gw_user_us_per_req" in r else ""))
    add("gateway CPU per same-format request ≤ 20 µs (c=64)", c64 and c64["gw_cpu_us_per_req"], 20, us1, shown=split(c64))
    beside(T, c64, lambda q: f"{q['cpu_us_per_req']:.1f} µs ({q['user_us_per_req']:.1f} + {q['sys_us_per_req']:.1f})")
    add("gateway CPU per cross-format request ≤ 40 µs (c=64)", cross and cross["gw_cpu_us_per_req"], 40, us1, shown=split(cross))
    v = c64 and c64["throughput_ratio"] * 100
    r, gap = verdict(v, 60, False, "%", lambda x: f"{x:.0f} points")
    T.append({"name": "c=64 throughput through gateway ≥ 60% of direct", "measured": f"{v:.0f}%" if v is not None else "not measured",
              "verdict": r, "gap": gap})
    add("c=64 added p99 ≤ 2 ms", c64 and c64["added_p99_us"], 2000, us)
    beside(T, c64, lambda q: fmt_us(q["added_p99_us"]))
    mm = results.get("chat-c64-minimal")
    if mm and mm.get("kind") == "oha":
        # The issue's own setup: a minimal mock upstream, so the gateway's core is the bottleneck.
        add("gateway CPU per same-format request ≤ 20 µs (c=64, minimal mock upstream)", mm["gw_cpu_us_per_req"], 20,
            us1, shown=split(mm))
        beside(T, mm, lambda q: f"{q['cpu_us_per_req']:.1f} µs ({q['user_us_per_req']:.1f} + {q['sys_us_per_req']:.1f})")
        v = mm["throughput_ratio"] * 100
        r, gap = verdict(v, 60, False, "%", lambda x: f"{x:.0f} points")
        T.append({"name": "c=64 throughput through gateway ≥ 60% of direct, minimal mock upstream",
                  "measured": f"{v:.0f}% ({fmt_rate(mm['gateway']['rps'])} of {fmt_rate(mm['direct']['rps'])})",
                  "verdict": r, "gap": gap})
        beside(T, mm, lambda q: f"{q['throughput_ratio'] * 100:.0f}%")
        add("c=64 added p99 ≤ 2 ms, minimal mock upstream", mm["added_p99_us"], 2000, us)
        beside(T, mm, lambda q: fmt_us(q["added_p99_us"]))
    idle = None
    idles = [r["idle"]["VmRSS"] for r in results.values() if isinstance(r, dict) and r.get("idle", {}).get("VmRSS")]
    if idles:
        idle = max(idles) / 1024
    r, gap = verdict(idle, 20, True, "MB", lambda x: f"{x:.1f} MB")
    T.append({"name": "idle RSS ≤ 20 MB", "measured": f"{idle:.1f} MB (largest of all fresh starts)" if idle else "not measured",
              "verdict": r, "gap": gap})
    for label, res in (("HTTPS upstream, default config (HTTP/2 by ALPN)", results.get("open-streams-5000-tls")),
                       ("HTTPS upstream, provider `http2: false`", results.get("open-streams-5000-tls-h1")),
                       ("cleartext `http://` upstream, default config (HTTP/1.1)", os5),
                       ("cleartext `http://` upstream, provider `http2: true`", results.get("open-streams-5000-h2"))):
        v = res and "gw_rss_held_mb" in res and max(res["gw_rss_held_mb"], res["gw_hwm_mb"])
        r, gap = verdict(v, 150, True, "MB", lambda x: f"{x:.1f} MB")
        T.append({"name": f"RSS with 5,000 open streams ≤ 150 MB, {label}",
                  "measured": f"{v:.1f} MB (peak)" if v else "not measured", "verdict": r, "gap": gap})
    add("stream time to first byte added, p50 ≤ 100 µs", st and st["ttfb_added_p50_us"], 100, us)
    shp = results.get("stream-50-halt-poll")
    if shp and "ttfb_added_p50_us" in shp:
        add(f"stream time to first byte added, p50 ≤ 100 µs, {HP_LABEL}", shp["ttfb_added_p50_us"], 100, us)
    sbp = results.get("stream-50-busy-poll")
    if sbp and "ttfb_added_p50_us" in sbp:
        add("stream time to first byte added, p50 ≤ 100 µs, with `server.busy_poll: 1ms`", sbp["ttfb_added_p50_us"], 100, us)
    add("gateway CPU per forwarded chunk ≤ 3 µs", st and st["per_chunk_cpu_us_marginal"], 3, lambda v: f"{v:.2f} µs")
    return T


def write_docs(report, path):
    head = ("# Benchmarks\n\n"
            "Switchyard's own, rerunnable benchmark (issue 5): the provider simulator as the upstream, `oha` as the load "
            "driver, every gateway figure beside the simulator's own ceiling measured in the same run. Benchmarks "
            "report; they never fail CI on timing.\n\n")
    rerun = HOW_TO_RERUN
    existing = ""
    if os.path.exists(path):
        with open(path) as f:
            existing = f.read()
    m = re.search(r"^## How to rerun\n.*?(?=^## |\Z)", existing, re.S | re.M)
    if m:
        rerun = m.group(0).rstrip() + "\n"
    analysis = ""
    m = re.search(r"^## Analysis\n.*?(?=^## |\Z)", existing, re.S | re.M)
    if m:
        analysis = m.group(0).rstrip() + "\n"
    if existing:
        h = re.match(r"(.*?)(?=^## )", existing, re.S | re.M)
        if h and h.group(1).strip():
            head = h.group(1)
    with open(path, "w") as f:
        f.write(head.rstrip() + "\n\n" + rerun.rstrip() + "\n\n" + report.rstrip() + "\n")
        if analysis:
            # Hand-written analysis survives reruns (it says which run it refers to).
            f.write("\n" + analysis)


HOW_TO_RERUN = """## How to rerun

```sh
bench/run.sh                  # full run (~10 min on 2 cores), rewrites "Latest results" below
bench/run.sh --quick          # ~3 min subset with short durations, report in bench/results/report.md only
bench/run.sh --with-litellm   # also installs LiteLLM's proxy into bench/.venv-litellm and runs the chat scenarios against it
bench/run.sh --with-proxies   # also a byte relay (HAProxy TCP mode), HAProxy (HTTP mode) and nginx in the gateway's place at c=1 and c=64, beside the targets
bench/run.sh --only chat-c1,stream-50   # selected scenarios (report in bench/results/report.md)
```

What it does: builds `switchyard` in release mode (shared `target/`), installs `oha` with `cargo install oha --locked`
if it is not on `PATH` (falls back to `wrk` from apt), then for each directory in `bench/scenarios/` starts a fresh
simulator (`switchyard sim`, `taskset -c 1`) and gateway (`switchyard serve --config bench/scenarios/<name>/gateway.yaml`,
`taskset -c 0`), runs the load profile in `profile.env` directly against the simulator and through the gateway
(the load driver also on CPU 1), and reads the gateway's CPU time (`/proc/<pid>/stat` utime+stime), RSS
(`/proc/<pid>/status` VmRSS/VmHWM) and file descriptors (`/proc/<pid>/fd`). Raw results land in
`bench/results/results.json`; profiles (perf and callgrind top lists, the latter with atomics and clock reads by function) in `bench/profiles/`.
Scenarios whose `profile.env` sets `GUEST_HALT_POLL_NS` (`chat-c1-halt-poll`, `stream-50-halt-poll`) set the guest
kernel's halt-poll window (`/sys/module/haltpoll/parameters/guest_halt_poll_ns`) for their own duration and put the
value found back; without root or on a machine without the `haltpoll` cpuidle driver they are listed as not run.

Two figures need the small stdlib-only driver `bench/driver/sydrive.py`, because `oha` reports only whole-response
latency and keeps issuing requests: time to the first SSE event of a stream, and memory/fds with exactly N streams
established at once. Wait for a quiet machine (the script waits for the 1-minute load average to drop below
`BENCH_MAX_LOAD`, default 0.8, for up to 3 minutes, and reports the load it started at and other processes' CPU
during every measurement). Environment: `BENCH_GATEWAY_CPU` / `BENCH_LOAD_CPU` (0 / 1), `BENCH_SIM_ADDR`,
`BENCH_GATEWAY_ADDR` (127.0.0.1:14010 / :14000).
"""


# ---------------------------------------------------------------- main

KINDS = {"oha": scenario_oha, "stream": scenario_stream, "open-streams": scenario_open_streams,
         "callgrind": scenario_callgrind}
ORDER = ["chat-c1", "chat-c1-halt-poll", "chat-c1-busy-poll", "chat-c16", "chat-c64", "chat-c64-minimal", "chat-c64-h2", "full-path-c64", "chat-c256", "stream-50", "stream-50-halt-poll", "stream-50-busy-poll", "cross-format",
         "large-body", "open-streams-1000", "open-streams-5000", "open-streams-5000-h2", "open-streams-5000-tls",
         "open-streams-5000-tls-h1", "instructions", "instructions-routed"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--driver", required=True)
    # The simulator's binary when it should not be the gateway's (an A/B of two gateway builds,
    # or a PGO build, keeps one simulator build as the fixed reference).
    ap.add_argument("--sim-bin", default="")
    # How the gateway binary was built, for the report (e.g. "profile-guided, scripts/pgo-build.sh").
    ap.add_argument("--build-note", default="")
    ap.add_argument("--driver-kind", choices=["oha", "wrk"], default="oha")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--with-litellm", action="store_true")
    ap.add_argument("--with-proxies", action="store_true")
    ap.add_argument("--only", default="")
    ap.add_argument("--no-profile", dest="profile", action="store_false")
    ap.add_argument("--docs", default=os.path.join(ROOT, "docs", "benchmarks.md"))
    ap.add_argument("--start-load", default="")
    args = ap.parse_args()
    # A terminated run still stops its processes and puts the guest's halt-poll window back.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    args.duration = 3.0 if args.quick else 10.0
    args.warmup = 1.0 if args.quick else 2.0
    os.makedirs(WORK, exist_ok=True)
    os.makedirs(os.path.join(BENCH, "profiles"), exist_ok=True)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    names = [n for n in ORDER if os.path.isdir(os.path.join(BENCH, "scenarios", n))]
    names += sorted(n for n in os.listdir(os.path.join(BENCH, "scenarios")) if n not in names)
    only = [x for x in args.only.split(",") if x]
    results = {}
    start_load = [float(x) for x in args.start_load.split()] if args.start_load else loadavg()
    info = machine_info(args)
    t_all = time.time()
    for n in names:
        sdir = os.path.join(BENCH, "scenarios", n)
        prof = read_profile(os.path.join(sdir, "profile.env"))
        if only and n not in only:
            continue
        if not only and args.quick and prof.get("QUICK", "1") != "1":
            continue
        log(f"scenario {n}: {prof.get('TITLE', '')} (load {loadavg()[0]:.2f})")
        CURRENT["scenario"] = n
        t0 = time.time()
        try:
            ns = prof.get("GUEST_HALT_POLL_NS")
            with HaltPoll(ns) if ns else contextlib.nullcontext():
                results[n] = KINDS[prof.get("KIND", "oha")](args, Loader(args), n, sdir, prof)
        except Skip as e:
            log(f"scenario {n} skipped: {e}")
            results[n] = {"kind": "skipped", "title": prof.get("TITLE", n), "reason": str(e)}
        except Exception as e:  # noqa: BLE001 - one failing scenario must not lose the others
            log(f"scenario {n} FAILED: {e}")
            for p in list(LIVE):
                p.stop(timeout=3.0)
            results[n] = {"kind": "failed", "title": prof.get("TITLE", n), "error": str(e)}
        results[n]["elapsed_s"] = time.time() - t0
        with open(os.path.join(WORK, "results.json"), "w") as f:
            json.dump({"info": info, "results": results}, f, indent=1)
    log(f"all scenarios done in {time.time() - t_all:.0f}s")
    report = build_report(args, info, results, start_load)
    failed = [f"- `{n}` failed: {r['error']}" for n, r in results.items() if r.get("kind") == "failed"]
    if failed:
        report += "\n### Failed scenarios\n\n" + "\n".join(failed) + "\n"
    skipped = [f"- `{n}`: {r['reason']}" for n, r in results.items() if r.get("kind") == "skipped"]
    if skipped:
        report += "\n### Scenarios not run on this machine\n\n" + "\n".join(skipped) + "\n"
    with open(os.path.join(WORK, "commands.txt"), "w") as f:
        f.write("\n".join(f"[{sc}] {c}" for sc, c in COMMANDS) + "\n")
    with open(os.path.join(WORK, "report.md"), "w") as f:
        f.write(report)
    if not args.quick and not only:
        write_docs(report, args.docs)
        log(f"report written to {rel(args.docs)}")
    else:
        log(f"report written to {rel(os.path.join(WORK, 'report.md'))} (docs untouched: quick/partial run)")
    sys.stdout.write(report + "\n")


if __name__ == "__main__":
    main()
