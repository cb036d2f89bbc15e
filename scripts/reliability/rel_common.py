"""Shared helpers for the reliability scripts (python3 standard library only).

Starts the real `tide serve` on port 0 and reads its ports from the
"listening" line, scrapes /metrics, reads a process's RSS from /proc, and runs
`tide load` with --json. Every script prints its figures and writes them as
JSON to --out (default: a temporary directory).
"""

import json
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TIDE = os.environ.get("TIDE", os.path.join(ROOT, "build", "apps", "tide", "tide"))


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def simulated_config(name, compute_ms, per_item_ms=0, mode="sleep", max_batch=0, queue=64,
                     instances=1):
    """A simulated model's config.pbtxt: FP32 INPUT0/OUTPUT0 of dims [16]."""
    batching = (f"dynamic_batching {{ max_queue_delay_microseconds: 0 "
                f"default_queue_policy {{ max_queue_size: {queue} }} }}")
    return f'''name: "{name}"
backend: "simulated"
max_batch_size: {max_batch}
input [ {{ name: "INPUT0" data_type: TYPE_FP32 dims: [ 16 ] }} ]
output [ {{ name: "OUTPUT0" data_type: TYPE_FP32 dims: [ 16 ] }} ]
instance_group [ {{ count: {instances} kind: KIND_CPU }} ]
{batching}
parameters [ {{ key: "compute_ms" value {{ string_value: "{compute_ms}" }} }},
             {{ key: "per_item_ms" value {{ string_value: "{per_item_ms}" }} }},
             {{ key: "mode" value {{ string_value: "{mode}" }} }} ]
'''


def make_repo(models):
    """A temporary model repository: {name: config text}."""
    path = tempfile.mkdtemp(prefix="tide-rel-repo-")
    for name, config in models.items():
        os.makedirs(os.path.join(path, name, "1"))
        with open(os.path.join(path, name, "config.pbtxt"), "w") as f:
            f.write(config)
    return path


class Serve:
    """`tide serve` as a child process on port 0 (HTTP and metrics; gRPC off)."""

    def __init__(self, repo, extra=(), nofile=None, grpc=False):
        args = [TIDE, "serve", "--model-repository", repo, "--http-port", "0",
                "--grpc-port", "0" if grpc else "-1", "--metrics-port", "0",
                "--host", "127.0.0.1", *extra]
        self.log_path = tempfile.mktemp(prefix="tide-rel-serve-", suffix=".log")
        self._err = open(self.log_path, "w")

        def limits():
            if nofile:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self._err,
                                     preexec_fn=limits, text=True)
        self.http_port = self.metrics_port = self.grpc_port = 0
        deadline = time.time() + 120
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("tide serve exited before listening: " + self.log())
            if '"listening"' in line:
                info = json.loads(line)
                self.http_port = info.get("http_port", 0)
                self.metrics_port = info.get("metrics_port", 0)
                self.grpc_port = info.get("grpc_port", 0)
                break
        # Keep draining stdout so the child never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()
        self.wait_ready()

    def wait_ready(self, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/v2/health/ready",
                                            timeout=2) as r:
                    if r.status == 200:
                        return
            except Exception:
                pass
            time.sleep(0.1)
        raise RuntimeError("tide serve not ready: " + self.log())

    @property
    def pid(self):
        return self.proc.pid

    def log(self):
        self._err.flush()
        with open(self.log_path) as f:
            return f.read()[-4000:]

    def metrics_text(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics",
                                    timeout=10) as r:
            return r.read().decode()

    def metric(self, name, **labels):
        """Sum of the samples of `name` whose labels include `labels` (0 if none)."""
        total = 0.0
        for line in self.metrics_text().splitlines():
            if line.startswith("#") or not line.startswith(name):
                continue
            m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)$', line)
            if not m or m.group(1) != name:
                continue
            got = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
            if all(got.get(k) == v for k, v in labels.items()):
                total += float(m.group(4))
        return total

    def memory(self):
        """(VmRSS, VmHWM) in MiB from /proc."""
        out = {}
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    out[key] = int(value.split()[0]) / 1024
        return out.get("VmRSS", 0), out.get("VmHWM", 0)

    def fds(self):
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self._err.close()


def tide_load(args, out_dir, name, timeout=600):
    """Runs `tide load args... --json`, returns the parsed report (and the exit code)."""
    path = os.path.join(out_dir, name + ".json")
    cmd = [TIDE, "load", *args, "--json", path]
    log("$", " ".join(cmd))
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=timeout)
    if not os.path.exists(path):
        raise RuntimeError(f"tide load failed ({r.returncode}): {r.stdout[-3000:]}")
    with open(path) as f:
        return json.load(f), r.returncode


def start_load(args, out_dir, name):
    """`tide load` in the background; finish with finish_load()."""
    path = os.path.join(out_dir, name + ".json")
    cmd = [TIDE, "load", *args, "--json", path]
    log("$", " ".join(cmd), "&")
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), path


def finish_load(started, timeout=600):
    proc, path = started
    proc.wait(timeout)
    with open(path) as f:
        return json.load(f)


def lat(level, key="latency"):
    h = level[key]
    return {"count": h["count"], "p50_ms": round(h["p50_ms"], 3), "p99_ms": round(h["p99_ms"], 3),
            "max_ms": round(h["max_ms"], 3)}


def out_dir(arg):
    path = arg or tempfile.mkdtemp(prefix="tide-rel-out-")
    os.makedirs(path, exist_ok=True)
    return path


def write_result(path, name, result):
    with open(os.path.join(path, name + ".json"), "w") as f:
        json.dump(result, f, indent=2)
    print(json.dumps(result, indent=2))


def raise_nofile(n=65536):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(n, hard), hard))
