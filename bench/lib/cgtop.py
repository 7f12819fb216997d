#!/usr/bin/env python3
"""Self and inclusive instruction counts per function from a callgrind dump.

callgrind_annotate 3.19 attributes almost everything to `clone` on these Rust dumps (heavy
inlining: fi=/fe= switches), so this reads the format directly: cost lines count as the
current function's self cost; the cost line after `calls=` is the callee's inclusive cost,
added to the caller's inclusive figure.

    cgtop.py callgrind.out.N [--top 40] [--requests N]
"""
import re
import sys
from collections import defaultdict


def parse(path):
    names, self_c, incl_c = {}, defaultdict(int), defaultdict(int)
    cur, after_calls, totals = None, False, None
    ref = re.compile(r"^\((\d+)\)(?:\s+(.*))?$")

    def fname(v):
        m = ref.match(v.strip())
        if not m:
            return v.strip()
        if m.group(2):
            names[m.group(1)] = m.group(2)
        return names.get(m.group(1), v)

    with open(path, errors="replace") as f:
        for line in f:
            c = line[:1]
            if c.isdigit() or c in "+-*":
                parts = line.split()
                cost = int(parts[1]) if len(parts) > 1 else 0
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
    return self_c, incl_c, totals or sum(self_c.values())


def short(name, n=170):
    name = re.sub(r"::\{\{closure\}\}", "::{closure}", name)
    return name if len(name) <= n else name[: n - 1] + "…"


def report(path, top=40, requests=None):
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
    return "\n".join(out)


if __name__ == "__main__":
    args = sys.argv[1:]
    top = int(args[args.index("--top") + 1]) if "--top" in args else 40
    req = int(args[args.index("--requests") + 1]) if "--requests" in args else None
    print(report(args[0], top, req))
