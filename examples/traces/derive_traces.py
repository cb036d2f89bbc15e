#!/usr/bin/env python3
"""Derive per-second / per-minute / per-window arrival series and summary
statistics from raw request-arrival traces (tide's examples/traces/).

Standard library only. Deterministic: re-running it rewrites the same files.

Usage (from anywhere):
    python3 examples/traces/derive_traces.py [--traces DIR] [--out DIR] \
        [--servegen-repo /path/to/ServeGen/checkout]

--traces is the folder holding the raw traces in the layout below; it
defaults to this script's folder. Of the raw files, the repository ships only
azure_llm_2023/AzureLLMInferenceTrace_code.csv; the others (listed in
examples/traces/README.md, with where to get them) are not shipped, and a
source whose raw file is absent is skipped with a note on stderr:

    azure_llm_2023/AzureLLMInferenceTrace_{code,conv}.csv
    mooncake_fast25/conversation_trace.jsonl
    servegen_alibaba/raw/<category>/<model>/chunk-*-trace.csv
    azure_functions_2019_sample/1000_inv.csv
    web_per_second/nasa_http_1995/workload.tbz2

--servegen-repo is optional: when given, the aggregate 10-minute series are
also derived for the ServeGen categories language/m-large and language/m-mid
straight from a checkout (or extracted tree) of github.com/alibaba/ServeGen
(we used the fork azaj01/ServeGen at bdf86140c29c7fadb6317ee77b437e56d35fcf41)
that contains data/<category>/<model>/chunk-*-trace.csv.

Outputs go to --out (default <traces>/derived/). The summary statistics are
printed to stdout and merged into <out>/summary.json: entries for the sources
derived in this run are replaced, the others are kept.
"""
import argparse
import bz2
import csv
import datetime as dt
import io
import json
import math
import os
import subprocess
import sys
import tarfile
from collections import Counter, defaultdict


def rate_stats(counts_per_sec, first_ts=None, last_ts=None):
    """counts_per_sec: list of per-second counts (dense, index 0 = first second)."""
    n = sum(counts_per_sec)
    secs = len(counts_per_sec)
    per_min = [sum(counts_per_sec[i:i + 60]) for i in range(0, secs, 60)]
    # A trailing partial minute would under-state the rate; only full minutes
    # count towards the per-minute peak.
    full_min = per_min[:secs // 60] if secs >= 60 else per_min
    return {
        "requests": n,
        "seconds_covered": secs,
        "mean_rps": round(n / secs, 4) if secs else None,
        "peak_1s_rps": max(counts_per_sec) if secs else None,
        "peak_1min_rps": round(max(full_min) / 60.0, 4) if full_min else None,
        "p99_1s_rps": percentile(counts_per_sec, 99),
        "zero_seconds_fraction": round(sum(1 for c in counts_per_sec if c == 0) / secs, 4) if secs else None,
    }


def percentile(values, p):
    if not values:
        return None
    s = sorted(values)
    k = (len(s) - 1) * p / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    if lo == hi:
        return s[int(k)]
    return round(s[lo] + (s[hi] - s[lo]) * (k - lo), 4)


def bin_per_second(ts_seconds):
    """ts_seconds: sorted list of float arrival times (any origin)."""
    t0 = math.floor(ts_seconds[0])
    last = math.floor(ts_seconds[-1])
    counts = [0] * (last - t0 + 1)
    for t in ts_seconds:
        counts[math.floor(t) - t0] += 1
    return t0, counts


def write_per_second(path, counts):
    """Interval CSV in the project's trace format: start_s,count (1 s bins)."""
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["start_s", "count"])
        for i, c in enumerate(counts):
            w.writerow([i, c])


def write_requests(path, ts, inp, outp):
    """Per-request CSV in the project's trace format: timestamp_s relative to
    the first request, plus token counts."""
    t0 = ts[0]
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["timestamp_s", "input_tokens", "output_tokens"])
        for t, i, o in zip(ts, inp, outp):
            w.writerow([f"{t - t0:.6f}", i, o])


def azure_llm(traces, out, summary):
    d = os.path.join(traces, "azure_llm_2023")
    for name in ("code", "conv"):
        f = os.path.join(d, f"AzureLLMInferenceTrace_{name}.csv")
        if not have(f, f"azure_llm_2023 {name}"):
            continue
        ts, ctx, gen = [], [], []
        with open(f, newline="") as fh:
            for row in csv.DictReader(fh):
                base, frac = row["TIMESTAMP"].split(".")
                t = dt.datetime.strptime(base, "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.timezone.utc)
                ts.append(t.timestamp() + float("0." + frac))
                ctx.append(int(row["ContextTokens"]))
                gen.append(int(row["GeneratedTokens"]))
        order = sorted(range(len(ts)), key=lambda k: ts[k])
        ts = [ts[k] for k in order]
        ctx = [ctx[k] for k in order]
        gen = [gen[k] for k in order]
        t0, counts = bin_per_second(ts)
        write_per_second(os.path.join(out, f"azure_llm_2023_{name}_per_second.csv"), counts)
        write_requests(os.path.join(out, f"azure_llm_2023_{name}_requests.csv"), ts, ctx, gen)
        st = rate_stats(counts)
        st.update({
            "rows": len(ts),
            "first_timestamp": dt.datetime.fromtimestamp(ts[0], dt.timezone.utc).isoformat(),
            "last_timestamp": dt.datetime.fromtimestamp(ts[-1], dt.timezone.utc).isoformat(),
            "span_s": round(ts[-1] - ts[0], 3),
            "mean_context_tokens": round(sum(ctx) / len(ctx), 1),
            "mean_generated_tokens": round(sum(gen) / len(gen), 1),
        })
        summary[f"azure_llm_2023_{name}"] = st


def mooncake(traces, out, summary):
    f = os.path.join(traces, "mooncake_fast25", "conversation_trace.jsonl")
    ts, inp, outp = [], [], []
    with open(f) as fh:
        for line in fh:
            r = json.loads(line)
            ts.append(r["timestamp"] / 1000.0)
            inp.append(r["input_length"])
            outp.append(r["output_length"])
    order = sorted(range(len(ts)), key=lambda k: ts[k])
    ts = [ts[k] for k in order]
    inp = [inp[k] for k in order]
    outp = [outp[k] for k in order]
    t0, counts = bin_per_second(ts)
    write_per_second(os.path.join(out, "mooncake_conversation_per_second.csv"), counts)
    write_requests(os.path.join(out, "mooncake_conversation_requests.csv"), ts, inp, outp)
    st = rate_stats(counts)
    st.update({
        "rows": len(ts),
        "span_s": round(ts[-1] - ts[0], 3),
        "mean_input_tokens": round(sum(inp) / len(inp), 1),
        "mean_output_tokens": round(sum(outp) / len(outp), 1),
    })
    summary["mooncake_conversation"] = st


def servegen_dir(model_dir, label, out, summary):
    """Aggregate per-window client rates of one ServeGen model directory."""
    files = sorted(f for f in os.listdir(model_dir) if f.endswith("-trace.csv"))
    agg = defaultdict(float)
    active = Counter()
    for f in files:
        with open(os.path.join(model_dir, f)) as fh:
            for line in fh:
                ts, rate, cv, pat, a1, a2 = line.strip().split(",")
                ts, rate = int(ts), float(rate)
                agg[ts] += rate
                if pat != "" and rate > 0:
                    active[ts] += 1
    windows = sorted(agg)
    step = windows[1] - windows[0] if len(windows) > 1 else 600
    path = os.path.join(out, f"servegen_{label}_aggregate_{step // 60}min.csv")
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["start_s", "count", "rate_rps", "active_clients"])
        for t in windows:
            # count = expected requests in the window (sum of client rates x window length), rounded
            w.writerow([t, int(round(agg[t] * step)), round(agg[t], 6), active[t]])
    rates = [agg[t] for t in windows]
    summary[f"servegen_{label}"] = {
        "clients": len(files),
        "windows": len(windows),
        "window_s": step,
        "span_s": windows[-1] + step - windows[0],
        "mean_sum_rate_rps": round(sum(rates) / len(rates), 4),
        "peak_window_sum_rate_rps": round(max(rates), 4),
        "min_window_sum_rate_rps": round(min(rates), 4),
        "peak_to_mean": round(max(rates) / (sum(rates) / len(rates)), 3),
    }


def azure_functions(traces, out, summary):
    f = os.path.join(traces, "azure_functions_2019_sample", "1000_inv.csv")
    with open(f, newline="") as fh:
        r = csv.reader(fh)
        header = next(r)
        minutes = [h for h in header if h.startswith("minute_")]
        first = len(header) - len(minutes)
        tot = [0] * len(minutes)
        act = [0] * len(minutes)
        per_func_total = []
        nfunc = 0
        for row in r:
            nfunc += 1
            vals = [int(v) for v in row[first:]]
            per_func_total.append(sum(vals))
            for i, v in enumerate(vals):
                tot[i] += v
                if v:
                    act[i] += 1
    with open(os.path.join(out, "azure_functions_2019_sample1000_per_minute.csv"), "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["start_s", "count", "functions_invoked"])
        for i, (c, a) in enumerate(zip(tot, act)):
            w.writerow([i * 60, c, a])
    per_func_total.sort(reverse=True)
    n = sum(tot)
    summary["azure_functions_2019_sample1000"] = {
        "functions": nfunc,
        "minutes": len(minutes),
        "invocations": n,
        "mean_rps": round(n / (len(minutes) * 60), 4),
        "peak_1min_rps": round(max(tot) / 60.0, 4),
        "min_1min_rps": round(min(tot) / 60.0, 4),
        "top1_function_share": round(per_func_total[0] / n, 4),
        "top10_functions_share": round(sum(per_func_total[:10]) / n, 4),
        "functions_with_lt_1_call_per_hour": sum(1 for x in per_func_total if x < 24),
    }


def per_second_txt(tbz2_path):
    with tarfile.open(tbz2_path, "r:bz2") as tf:
        member = tf.getmember("workload.txt")
        data = tf.extractfile(member).read().decode()
    return [int(x) for x in data.split()]


def web(traces, out, summary):
    for label, sub in (("nasa_http_1995", "nasa_http_1995"),):
        counts = per_second_txt(os.path.join(traces, "web_per_second", sub, "workload.tbz2"))
        with open(os.path.join(out, f"{label}_per_minute.csv"), "w", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(["start_s", "count"])
            for i in range(0, len(counts), 60):
                w.writerow([i, sum(counts[i:i + 60])])
        st = rate_stats(counts)
        st["days_covered"] = round(len(counts) / 86400.0, 3)
        summary[label] = st


def have(path, what):
    """True when the raw input exists; otherwise says which source is skipped."""
    if os.path.exists(path):
        return True
    print(f"derive_traces: skipping {what}: {path} not found", file=sys.stderr)
    return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--traces", default=os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--out", default=None, help="output folder (default: <traces>/derived)")
    ap.add_argument("--servegen-repo", default=None)
    a = ap.parse_args()
    traces = os.path.abspath(a.traces)
    out = os.path.abspath(a.out) if a.out else os.path.join(traces, "derived")
    os.makedirs(out, exist_ok=True)
    summary = {}
    azure_llm(traces, out, summary)
    if have(os.path.join(traces, "mooncake_fast25", "conversation_trace.jsonl"), "mooncake"):
        mooncake(traces, out, summary)
    sg = os.path.join(traces, "servegen_alibaba", "raw")
    if have(sg, "servegen (raw client files)"):
        for cat in sorted(os.listdir(sg)):
            for model in sorted(os.listdir(os.path.join(sg, cat))):
                servegen_dir(os.path.join(sg, cat, model), f"{cat}_{model}", out, summary)
    if a.servegen_repo:
        for cat, model in (("language", "m-large"), ("language", "m-mid")):
            d = os.path.join(a.servegen_repo, "data", cat, model)
            if os.path.isdir(d):
                servegen_dir(d, f"{cat}_{model}", out, summary)
    if have(os.path.join(traces, "azure_functions_2019_sample", "1000_inv.csv"), "azure functions"):
        azure_functions(traces, out, summary)
    if have(os.path.join(traces, "web_per_second", "nasa_http_1995", "workload.tbz2"), "nasa"):
        web(traces, out, summary)
    summary_path = os.path.join(out, "summary.json")
    merged = {}
    if os.path.exists(summary_path):
        with open(summary_path) as fh:
            merged = json.load(fh)
    merged.update(summary)
    with open(summary_path, "w") as fh:
        json.dump(merged, fh, indent=1, sort_keys=True)
    json.dump(summary, sys.stdout, indent=1, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
