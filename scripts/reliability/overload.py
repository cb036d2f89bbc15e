#!/usr/bin/env python3
"""Overload: 3x capacity for 60 s on a model, then recovery.

  scripts/reliability/overload.py --model simulated [--seconds 60] [--factor 3] [--out DIR]
  scripts/reliability/overload.py --model mlp       (needs the TorchScript build)

1. Capacity: a short closed-loop sweep (tide load --concurrency 1:64:x2, 3 s per
   level); capacity = the best throughput.
2. Overload: open loop (Poisson) at factor x capacity for --seconds, serving
   examples/models/<model> with its own queue bound. RSS is sampled every
   second (and VmHWM, the kernel's peak, read at the end); a python sampler
   sends bursts of 8 requests on fresh connections every 0.5 s meanwhile and
   records every status and whether each 503 carries Retry-After.
3. Recovery: the overload's sending stops at --seconds; tide load returns
   when the last request in flight is answered (drain_s: the queue draining).
   Then requests on fresh connections one after another until one is
   answered 200 within 2x the p50 (+5 ms) of a calm run at 0.5x capacity
   (recovery_s). recovery_from_drop_s = drain_s + recovery_s.
Figures: max RSS, share of requests answered 503, share of 503s with
Retry-After, p99 of a rejection (tide load's answered_error_service_time:
from the send to the 503), p99 of accepted requests, recovery time.
"""

import argparse
import http.client
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rel_common as rc  # noqa: E402


def infer_once(port, model, probe, timeout=30):
    """(status, Retry-After header, seconds) of one request on a fresh connection."""
    body = json.dumps({"inputs": [{"name": probe["input"], "shape": probe["shape"],
                                   "datatype": "FP32", "data": [0.0] * probe["elements"]}]})
    t = time.time()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("POST", f"/v2/models/{model}/infer", body, {"Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        return r.status, r.getheader("Retry-After"), time.time() - t
    finally:
        c.close()


def sample_retry_after(port, model, stop, out):
    """Bursts of 8 requests at once, every 0.5 s: records every status."""
    def one():
        try:
            status, retry_after, _ = infer_once(port, model, out)
            out["statuses"][str(status)] = out["statuses"].get(str(status), 0) + 1
            if status == 503:
                out["rejected"] += 1
                if retry_after:
                    out["with_retry_after"] += 1
        except Exception as e:  # counted, not fatal: the figure says how many
            out["errors"] += 1
            out["last_error"] = str(e)
    while not stop.is_set():
        burst = [threading.Thread(target=one) for _ in range(8)]
        for t in burst:
            t.start()
        for t in burst:
            t.join()
        time.sleep(0.5)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="simulated")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--factor", type=float, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out")
    a = ap.parse_args()
    out = rc.out_dir(a.out)
    rc.raise_nofile()
    serve = rc.Serve(os.path.join(rc.ROOT, "examples", "models"),
                     extra=["--drain-delay", "0"])
    try:
        url = f"http://127.0.0.1:{serve.http_port}"
        murl = f"http://127.0.0.1:{serve.metrics_port}/metrics"
        base = ["--url", url, "--metrics-url", murl, "--model", a.model, "--input-data", "random",
                "--threads", str(a.threads)]
        sweep, _ = rc.tide_load(base + ["--concurrency", "1:64:x2", "--duration", "3"], out,
                                f"{a.model}-capacity")
        capacity = max(l["throughput_rps"] for l in sweep["levels"])
        rc.log(f"capacity of {a.model}: {capacity:.1f} req/s")
        calm_rate = 0.5 * capacity
        calm, _ = rc.tide_load(base + ["--rate", f"{calm_rate:.2f}", "--duration", "5"], out,
                               f"{a.model}-calm")
        calm_p99 = calm["levels"][0]["latency"]["p99_ms"]

        rss = []
        stop = threading.Event()

        def sample_rss():
            while not stop.is_set():
                rss.append(serve.memory()[0])
                time.sleep(1)

        meta = json.loads(rc.urllib.request.urlopen(f"{url}/v2/models/{a.model}").read())
        shape = list(meta["inputs"][0]["shape"])
        if shape and shape[0] == -1:  # the batch dim: one row
            shape[0] = 1
        elements = 1
        for d in shape:
            elements *= d
        probe = {"input": meta["inputs"][0]["name"], "shape": shape, "elements": elements,
                 "statuses": {}, "rejected": 0, "with_retry_after": 0, "errors": 0}
        threads = [threading.Thread(target=sample_rss, daemon=True),
                   threading.Thread(target=sample_retry_after,
                                    args=(serve.http_port, a.model, stop, probe), daemon=True)]
        rss_before = serve.memory()[0]
        for t in threads:
            t.start()
        over_rate = a.factor * capacity
        # At most 1000 connections, under the server's --max-connections (1024):
        # the overload meets the model's queue bound, not the connection cap.
        over, _ = rc.tide_load(base + ["--rate", f"{over_rate:.2f}", "--duration",
                                       str(a.seconds), "--max-connections", "1000",
                                       "--timeout", "30"], out, f"{a.model}-overload")
        t_drop = time.time()
        stop.set()
        queue_at_drop = serve.metric("tide_inference_queue_depth", model=a.model)
        # Recovery: from the end of the overload until a fresh request is
        # answered 200 as fast as in the calm run (p50 x 2, + 5 ms).
        calm_p50_s = calm["levels"][0]["latency"]["p50_ms"] / 1e3
        recovery_s, probes = None, []
        while time.time() - t_drop < 120:
            status, _, took = infer_once(serve.http_port, a.model, probe)
            probes.append((round(time.time() - t_drop, 3), status, round(took * 1e3, 1)))
            if status == 200 and took <= 2 * calm_p50_s + 0.005:
                recovery_s = round(time.time() - t_drop, 3)
                break
            time.sleep(0.05)
        for t in threads:
            t.join()
        _, hwm = serve.memory()
        lv = over["levels"][0]
        sent = lv["sent"]
        rejected = lv["errors"].get("http_503", 0)
        result = {
            "model": a.model,
            "machine": f"{os.cpu_count()} CPUs (shared; other builds may run)",
            "capacity_rps": round(capacity, 1),
            "offered_rps": round(over_rate, 1),
            "seconds": a.seconds,
            "sent": sent,
            "ok": lv["ok"],
            "errors": lv["errors"],
            "share_503": round(rejected / sent, 4) if sent else None,
            "throughput_rps": round(lv["throughput_rps"], 1),
            "accepted_latency": rc.lat(lv),
            "rejection_service_time": rc.lat(lv, "answered_error_service_time"),
            "retry_after_probe": probe,
            "rss_mib_before": round(rss_before, 1),
            "rss_mib_max_sampled": round(max(rss), 1) if rss else None,
            "rss_mib_peak_vmhwm": round(hwm, 1),
            "calm_rate_rps": round(calm_rate, 1),
            "calm_p50_ms": round(calm_p50_s * 1e3, 3),
            "calm_p99_ms": round(calm_p99, 3),
            "queue_depth_at_drop": queue_at_drop,
            # tide load's open loop stops sending at --seconds and returns when
            # the last request in flight is answered: the queue's drain.
            "drain_s": round(lv["client"]["wall_s"] - a.seconds, 3),
            "recovery_s": recovery_s,
            "recovery_from_drop_s": (round(lv["client"]["wall_s"] - a.seconds + recovery_s, 3)
                                     if recovery_s is not None else None),
            "recovery_probes": probes[:5] + probes[-3:],
            "server_rejected_metric": serve.metric("tide_inference_requests_total",
                                                   model=a.model, outcome="rejected"),
        }
        rc.write_result(out, f"overload-{a.model}", result)
    finally:
        serve.stop()


if __name__ == "__main__":
    main()
