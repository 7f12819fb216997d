#!/usr/bin/env python3
"""Self and inclusive instruction counts per function from a callgrind dump, and the two costs
an instruction count hides: atomic read-modify-writes and clock reads.

callgrind_annotate 3.19 attributes almost everything to `clone` on these Rust dumps (heavy
inlining: fi=/fe= switches), so this reads the format directly: cost lines count as the
current function's self cost; the cost line after `calls=` is the callee's inclusive cost,
added to the caller's inclusive figure.

Callgrind counts a `lock`-prefixed instruction as one instruction, but on this kind of CPU it
costs 15-20 cycles and drains the store buffer (`lock xadd` in a loop: ~5 ns here, against
0.3 ns for a plain add), and a `clock_gettime` through the vDSO is a handful of instructions
that take ~19 ns on a VM's clock source. With a dump made with `--dump-instr=yes` and the
binary, `hidden_costs` counts both per request: every executed `lock`-prefixed instruction
and `xchg` with memory (found with `objdump -d`), and calls to glibc's `clock_gettime` (every
`Instant::now` and `SystemTime::now`, tokio's included).

    cgtop.py callgrind.out.N [--top 40] [--requests N] [--binary PATH]
"""
import re
import shutil
import subprocess
import sys
from collections import defaultdict

# glibc's exported `clock_gettime` (which calls into the vDSO): std's `Timespec::now` calls
# it, or the call is inlined into its callers in a profile-guided build.
CLOCK = "clock_gettime@"


class Names:
    """Callgrind's compressed names: `(12) name` defines id 12, a later `(12)` refers to it."""

    REF = re.compile(r"^\((\d+)\)(?:\s+(.*))?$")

    def __init__(self):
        self.names = {}

    def __call__(self, v):
        m = self.REF.match(v.strip())
        if not m:
            return v.strip()
        if m.group(2):
            self.names[m.group(1)] = m.group(2)
        return self.names.get(m.group(1), v)


def parse(path):
    self_c, incl_c = defaultdict(int), defaultdict(int)
    cur, after_calls, totals = None, False, None
    at = 1  # index of the cost on a cost line: after the positions (`instr line` or `line`)
    fname = Names()

    with open(path, errors="replace") as f:
        for line in f:
            c = line[:1]
            if c.isdigit() or c in "+-*":
                parts = line.split()
                cost = int(parts[at]) if len(parts) > at else 0
                if after_calls:
                    incl_c[cur] += cost
                    after_calls = False
                else:
                    self_c[cur] += cost
                    incl_c[cur] += cost
            elif line.startswith("fn="):
                cur = fname(line[3:])
            elif line.startswith("cfn="):
                fname(line[4:])
            elif line.startswith("calls="):
                after_calls = True
            elif line.startswith(("summary:", "totals:")):
                totals = int(line.split()[1])
            elif line.startswith("positions:"):
                at = len(line.split()) - 1
    return self_c, incl_c, totals or sum(self_c.values())


def locked_addresses(binary):
    """Addresses of the binary's `lock`-prefixed instructions and `xchg`s with memory."""
    if not shutil.which("objdump"):
        return None
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", binary],
                         capture_output=True, text=True, check=False).stdout
    pat = re.compile(r"^\s+([0-9a-f]+):\s+(?:lock |xchg\s+\S*\()")
    return {int(m.group(1), 16) for m in map(pat.match, out.splitlines()) if m}


def hidden_costs(path, binary):
    """(atomic read-modify-writes, clock reads, atomics per function) executed in the dump,
    or None when the dump has no instruction addresses or objdump is missing."""
    locked = locked_addresses(binary)
    if not locked:
        return None
    per_fn = defaultdict(int)
    cur, cfn, after_calls, positions = None, None, False, None
    pos = [0, 0]
    clock_calls = 0
    fname = Names()

    with open(path, errors="replace") as f:
        for line in f:
            c = line[:1]
            if c.isdigit() or c in "+-*":
                if positions is None:
                    return None
                parts = line.split()
                for k in range(positions):
                    t = parts[k]
                    if t == "*":
                        continue
                    if t[0] in "+-":
                        pos[k] += int(t, 0) if t[0] == "+" else -int(t[1:], 0)
                    else:
                        pos[k] = int(t, 0)
                if after_calls:
                    after_calls = False
                    continue
                if pos[0] in locked:
                    per_fn[cur] += int(parts[positions]) if len(parts) > positions else 0
            elif line.startswith("fn="):
                cur = fname(line[3:])
            elif line.startswith("cfn="):
                cfn = fname(line[4:])
            elif line.startswith("calls="):
                after_calls = True
                if cfn and cfn.startswith(CLOCK):
                    clock_calls += int(line.split("=")[1].split()[0])
            elif line.startswith("positions:"):
                kinds = line.split()[1:]
                positions = len(kinds) if kinds and kinds[0] == "instr" else None
    return sum(per_fn.values()), clock_calls, per_fn


def short(name, n=170):
    name = re.sub(r"::\{\{closure\}\}", "::{closure}", name)
    return name if len(name) <= n else name[: n - 1] + "…"


def report(path, top=40, requests=None, binary=None):
    self_c, incl_c, total = parse(path)
    out = [f"total instructions: {total:,}" + (f"; per request: {total / requests:,.0f}" if requests else "")]
    per = (lambda v: f"{v / requests:>9,.0f}/req") if requests else (lambda v: "")
    out.append("\n### self (exclusive), top functions\n")
    for fn, v in sorted(self_c.items(), key=lambda kv: -kv[1])[:top]:
        out.append(f"{v * 100 / total:6.2f}% {per(v)}  {short(fn)}")
    out.append("\n### inclusive, top functions from Switchyard's own crates\n")
    ours = [(fn, v) for fn, v in incl_c.items() if "switchyard" in fn]
    for fn, v in sorted(ours, key=lambda kv: -kv[1])[:top]:
        out.append(f"{min(v * 100 / total, 100):6.2f}% {per(v)}  {short(fn)}")
    hidden = hidden_costs(path, binary) if binary else None
    if hidden and requests:
        atomics, clocks, per_fn = hidden
        out.append("\n### atomic read-modify-writes (`lock`-prefixed, `xchg` with memory), by function\n")
        out.append(f"per request: {atomics / requests:.1f} atomic RMWs, {clocks / requests:.1f} clock reads "
                   "(`clock_gettime`)\n")
        for fn, v in sorted(per_fn.items(), key=lambda kv: -kv[1])[:top]:
            out.append(f"{v / requests:8.2f}/req  {short(fn)}")
    return "\n".join(out)


if __name__ == "__main__":
    args = sys.argv[1:]
    top = int(args[args.index("--top") + 1]) if "--top" in args else 40
    req = int(args[args.index("--requests") + 1]) if "--requests" in args else None
    binary = args[args.index("--binary") + 1] if "--binary" in args else None
    print(report(args[0], top, req, binary))
