#!/usr/bin/env python3
"""Summarises a callgrind dump of N requests (bench/callgrind_request_path.sh).

  callgrind_summary.py DUMP REQUESTS [--top K] [--json]

Prints instructions (Ir) and system calls per request, the self cost per
request grouped by where the code lives (tide's own code in the tide binary,
Boost.Beast inlined into it, libc, libstdc++, abseil, simdjson, other), the
inclusive cost of the request path's stages (tide functions named below), and
the K functions with the largest self cost. With --json, one JSON line with the
per-request totals and groups instead.

The callgrind format is read directly (name compression, relative positions,
calls= lines whose next cost line is a call's inclusive cost).
"""
import json
import re
import sys
from collections import defaultdict

# Stages of the request path: (label, regular expression on the function's
# name). Inclusive cost per request; a stage's callees are part of it.
STAGES = [
    ("HTTP I/O thread loop (Transport::Run)", r"^tide::http::\(anonymous namespace\)::Transport::Run\("),
    ("  Beast request parser (basic_parser::put)", r"^boost::beast::http::basic_parser<true>::put\("),
    ("  route match (MatchRoute)", r"^tide::http::MatchRoute\("),
    ("  V2 JSON decode (DecodeInferRequest)", r"^tide::http::DecodeInferRequest\("),
    ("  admission (InferenceService::Infer)", r"^tide::core::InferenceService::Infer\("),
    ("    validation (ValidateRequest)", r"^tide::core::ValidateRequest\("),
    ("    enqueue (DynamicBatcher::Enqueue)", r"^tide::batching::DynamicBatcher::Enqueue\("),
    ("worker thread loop (DynamicBatcher::WorkerLoop)", r"^tide::batching::DynamicBatcher::WorkerLoop\("),
    ("  backend Execute (simulated add_sub)", r"::SimulatedInstance::Execute\("),
    ("  BuildResponse", r"^tide::core::BuildResponse\("),
    ("  V2 JSON encode (EncodeInferResponse)", r"^tide::http::EncodeInferResponse\("),
    ("  response head (SerializeResponseHead)", r"^tide::http::SerializeResponseHead"),
    ("  write to the socket (Transport::Respond)", r"^tide::http::\(anonymous namespace\)::Transport::Respond\("),
]


def group_of(obj, fn):
    base = obj.rsplit("/", 1)[-1]
    if base == "tide":
        if "boost::" in fn:
            return "Boost.Beast/Asio (inlined in tide)"
        if fn.startswith("simdjson::") or "simdjson::" in fn.split("(")[0]:
            return "simdjson (inlined in tide)"
        return "tide (own code, incl. inlined std/absl)"
    if base.startswith("libc.so") or base.startswith("ld-linux"):
        return "libc (malloc, memcpy, syscalls)"
    if base.startswith("libstdc++"):
        return "libstdc++ (operator new/delete, ...)"
    if base.startswith("libabsl_"):
        return "abseil (Mutex, StrCat, Status, time)"
    if base.startswith("libsimdjson"):
        return "simdjson (library)"
    return "other: " + base


def parse(path):
    names = {"ob": {}, "fl": {}, "fn": {}}
    self_cost = defaultdict(lambda: [0, 0])  # (obj, fn) -> [Ir, sysCount]
    calls_out = defaultdict(lambda: [0, 0])  # (caller fn, callee fn) -> inclusive of the calls
    events = []
    summary = None
    ob = fn = cfn = None
    after_calls = False
    ref = re.compile(r"^\((\d+)\)(?: (.*))?$")

    def name(kind, value):
        m = ref.match(value)
        if not m:
            return value
        if m.group(2) is not None:
            names[kind][m.group(1)] = m.group(2)
        return names[kind].get(m.group(1), value)

    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line[0] == "#":
                continue
            c = line[0]
            if c.isdigit() or c in "+-*":
                parts = line.split()
                costs = [int(x) for x in parts[1:3]] + [0, 0]
                if after_calls:
                    calls_out[(fn, cfn)][0] += costs[0]
                    calls_out[(fn, cfn)][1] += costs[1]
                    after_calls = False
                else:
                    sc = self_cost[(ob, fn)]
                    sc[0] += costs[0]
                    sc[1] += costs[1]
                continue
            key, _, value = line.partition("=")
            if key == "ob":
                ob = name("ob", value)
            elif key == "cob":
                name("ob", value)
            elif key in ("fl", "fi", "fe", "cfi", "cfl"):
                name("fl", value)
            elif key == "fn":
                fn = name("fn", value)
            elif key == "cfn":
                cfn = name("fn", value)
            elif key == "calls":
                after_calls = True
            elif line.startswith("events:"):
                events = line.split()[1:]
            elif line.startswith("summary:"):
                summary = [int(x) for x in line.split()[1:]]
    return events, summary, self_cost, calls_out


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        sys.exit(__doc__)
    path, n = args[0], int(args[1])
    top = int(args[args.index("--top") + 1]) if "--top" in args else 15
    events, summary, self_cost, calls_out = parse(path)
    ir_total = summary[0]
    sys_total = summary[events.index("sysCount")] if "sysCount" in events else 0
    groups = defaultdict(int)
    per_fn = defaultdict(int)
    for (obj, fn), (ir, _) in self_cost.items():
        groups[group_of(obj or "", fn or "")] += ir
        per_fn[fn] += ir
    self_by_fn = defaultdict(int)
    for (obj, fn), (ir, _) in self_cost.items():
        self_by_fn[fn] += ir
    incl = defaultdict(int)
    for (caller, callee), (ir, _) in calls_out.items():
        if caller != callee:
            incl[caller] += ir
    for fn, ir in self_by_fn.items():
        incl[fn] += ir
    if "--json" in args:
        print(json.dumps({"requests": n, "ir_per_request": round(ir_total / n),
                          "syscalls_per_request": round(sys_total / n, 2),
                          "groups": {g: round(v / n) for g, v in sorted(groups.items(), key=lambda kv: -kv[1])}},
                         separators=(",", ":")))
        return
    print(f"instructions per request: {ir_total / n:,.0f} Ir   system calls per request: {sys_total / n:.2f}")
    print("self cost per request, by where the code lives:")
    for g, v in sorted(groups.items(), key=lambda kv: -kv[1]):
        print(f"  {v / n:9,.0f} Ir  {100 * v / ir_total:5.1f} %  {g}")
    print("stages (inclusive, per request):")
    for label, pattern in STAGES:
        rx = re.compile(pattern)
        v = sum(ir for fn, ir in incl.items() if fn and rx.search(fn))
        print(f"  {v / n:9,.0f} Ir  {label}")
    print(f"top {top} functions by self cost (per request):")
    for fn, v in sorted(per_fn.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {v / n:9,.0f} Ir  {(fn or '?')[:150]}")


if __name__ == "__main__":
    main()
