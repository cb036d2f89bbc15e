#!/usr/bin/env python3
"""Hostile clients against tide serve's HTTP port, while a normal client runs.

  scripts/reliability/hostile.py [--attack all|slowloris|headers|chunked|idle|noread]
                                 [--seconds 12] [--read-timeout 5] [--out DIR]

The server serves a "fast" simulated model (1 ms sleep, queue 64) with
--read-timeout shortened (default 5 s instead of 30 s, so each case ends in
seconds) and --max-body-bytes 1 MiB (default 64 MiB); the other limits are the
defaults. For each attack: a normal client (tide load, closed loop,
concurrency 4, keep-alive) runs for --seconds; its p50/p99 are compared with a
run without attack, and the metric that counts the attack is read before and
after.

  slowloris  200 connections send a header byte every 0.5 s, never finishing
             -> closed at --read-timeout; tide_http_timeouts_total{kind="read"}
  headers    400 requests with 1 MiB of headers -> 431 at --max-header-bytes;
             tide_http_responses_total{code="431"}
  chunked    8 connections stream a chunked body without end, as fast as they
             can -> 413 at --max-body-bytes; tide_http_responses_total{code="413"}
  idle       3000 connections opened and left idle (reopened when closed)
             -> over --max-connections (1024) + 64 reserved: 503 at once;
             idle ones closed at --read-timeout; tide_http_connections,
             tide_http_responses_total{code="503"}, tide_http_timeouts_total{kind="idle"}
  noread     20 connections pipeline 20000 GETs each and never read
             -> the stalled write is given up after --read-timeout;
             tide_http_timeouts_total{kind="write"}
"""

import argparse
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rel_common as rc  # noqa: E402


def slowloris(port, stop, n=200):
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"POST /v2/models/fast/infer HTTP/1.1\r\nHost: x\r\n")
        socks.append(s)
    while not stop.is_set():
        for i, s in enumerate(socks):
            try:
                s.sendall(b"X")
            except OSError:  # closed by the server: a fresh one takes its place
                s.close()
                try:
                    socks[i] = socket.create_connection(("127.0.0.1", port))
                    socks[i].sendall(b"POST /v2/models/fast/infer HTTP/1.1\r\nHost: x\r\n")
                except OSError:
                    pass
        time.sleep(0.5)
    for s in socks:
        s.close()


def huge_headers(port, stop, n=400):
    line = b"X-Big: " + b"a" * 8000 + b"\r\n"
    statuses = {}
    for _ in range(n):
        if stop.is_set():
            break
        try:
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"GET /v2/health/ready HTTP/1.1\r\nHost: x\r\n")
            for _ in range(128):  # 1 MiB of headers
                s.sendall(line)
        except OSError:
            pass
        try:
            s.settimeout(5)
            head = s.recv(64)
            code = head.split(b" ")[1].decode() if head else "none"
        except (OSError, IndexError):
            code = "none"
        statuses[code] = statuses.get(code, 0) + 1
        s.close()
    return statuses


def endless_chunked(port, stop, n=8):
    def one():
        chunk = b"10000\r\n" + b"a" * 0x10000 + b"\r\n"
        while not stop.is_set():
            try:
                s = socket.create_connection(("127.0.0.1", port))
                s.sendall(b"POST /v2/models/fast/infer HTTP/1.1\r\nHost: x\r\n"
                          b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
                while not stop.is_set():
                    s.sendall(chunk)
            except OSError:
                pass
            finally:
                s.close()
    ts = [threading.Thread(target=one, daemon=True) for _ in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def idle(port, stop, n=3000):
    socks = []
    for _ in range(n):
        try:
            socks.append(socket.create_connection(("127.0.0.1", port)))
        except OSError:
            break
    while not stop.is_set():
        time.sleep(0.5)
        for i, s in enumerate(socks):  # reopen what the server closed
            s.setblocking(False)
            try:
                if s.recv(4096) == b"":
                    raise OSError
            except BlockingIOError:
                continue
            except OSError:
                pass
            s.close()
            try:
                socks[i] = socket.create_connection(("127.0.0.1", port))
            except OSError:
                pass
    for s in socks:
        s.close()


def noread(port, stop, n=20, gets=20000):
    socks = []
    req = b"GET /v2/models/fast HTTP/1.1\r\nHost: x\r\n\r\n" * gets
    for _ in range(n):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(("127.0.0.1", port))
        s.setblocking(False)
        socks.append([s, 0])
    while not stop.is_set():
        for e in socks:
            s, sent = e
            if sent < len(req):
                try:
                    e[1] += s.send(req[sent:sent + 65536])
                except (BlockingIOError, OSError):
                    pass
        time.sleep(0.05)
    for s, _ in socks:
        s.close()


ATTACKS = {
    "slowloris": (slowloris, [("tide_http_timeouts_total", {"kind": "read"})]),
    "headers": (huge_headers, [("tide_http_responses_total", {"code": "431"})]),
    "chunked": (endless_chunked, [("tide_http_responses_total", {"code": "413"})]),
    "idle": (idle, [("tide_http_responses_total", {"code": "503"}),
                    ("tide_http_timeouts_total", {"kind": "idle"})]),
    "noread": (noread, [("tide_http_timeouts_total", {"kind": "write"})]),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--attack", default="all")
    ap.add_argument("--seconds", type=float, default=12)
    ap.add_argument("--read-timeout", type=float, default=5)
    ap.add_argument("--out")
    a = ap.parse_args()
    out = rc.out_dir(a.out)
    rc.raise_nofile()
    repo = rc.make_repo({"fast": rc.simulated_config("fast", 1)})
    serve = rc.Serve(repo, extra=["--read-timeout", str(a.read_timeout), "--max-body-bytes",
                                  str(1 << 20), "--drain-delay", "0"])
    names = list(ATTACKS) if a.attack == "all" else a.attack.split(",")
    result = {"limits": {"read_timeout_s": a.read_timeout, "read_timeout_default_s": 30,
                         "max_body_bytes": 1 << 20, "max_body_bytes_default": 64 << 20,
                         "max_header_bytes": 16 << 10, "max_connections": 1024,
                         "reserved_connections": 64},
              "machine": f"{os.cpu_count()} CPUs (shared; other builds may run)"}
    try:
        load = ["--url", f"http://127.0.0.1:{serve.http_port}", "--metrics-url", "none",
                "--model", "fast", "--concurrency", "4", "--duration", str(a.seconds),
                "--timeout", "10"]
        base, _ = rc.tide_load(load, out, "hostile-baseline")
        result["baseline"] = rc.lat(base["levels"][0], "latency")
        result["baseline"]["errors"] = base["levels"][0]["errors"]
        for name in names:
            fn, metrics = ATTACKS[name]
            key = lambda m, l: m + "{" + ",".join(f'{k}="{v}"' for k, v in l.items()) + "}"
            before = {key(m, l): serve.metric(m, **l) for m, l in metrics}
            rss0 = serve.memory()[0]
            started = rc.start_load(load, out, f"hostile-{name}")
            time.sleep(0.5)  # the normal client's connections are open first
            stop = threading.Event()
            ret = {}
            t = threading.Thread(target=lambda: ret.update(r=fn(serve.http_port, stop)),
                                 daemon=True)
            t.start()
            peak_conns = 0
            t_end = time.time() + a.seconds - 0.5
            rss_max = rss0
            while time.time() < t_end:
                peak_conns = max(peak_conns, serve.metric("tide_http_connections"))
                rss_max = max(rss_max, serve.memory()[0])
                time.sleep(0.5)
            report = rc.finish_load(started)
            time.sleep(a.read_timeout + 2)  # the attack goes on until its deadlines fire
            stop.set()
            t.join(30)
            time.sleep(1)
            after = {key(m, l): serve.metric(m, **l) for m, l in metrics}
            lv = report["levels"][0]
            result[name] = {
                "normal_client": dict(rc.lat(lv, "latency"), errors=lv["errors"]),
                "counted": {k: after[k] - before[k] for k in after},
                "peak_connections": peak_conns,
                "rss_mib_before": round(rss0, 1),
                "rss_mib_max": round(rss_max, 1),
                "alive": serve.proc.poll() is None,
            }
            if ret.get("r") is not None:
                result[name]["client_saw"] = ret["r"]
            rc.log(name, result[name])
        result["rss_mib_peak_vmhwm"] = round(serve.memory()[1], 1)
        rc.write_result(out, "hostile", result)
    finally:
        serve.stop()


if __name__ == "__main__":
    main()
