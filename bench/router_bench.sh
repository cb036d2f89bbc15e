#!/usr/bin/env bash
# The router of `tide up` against nginx, in front of the same replica, in the
# same run: one `tide serve` with the `simple` example model (TorchScript),
# then, alternating window by window,
#   (a) tide's router (bench/router_bench.cc: fleet::Router alone in a
#       process, --threads ROUTER_THREADS) forwarding to it, and
#   (b) Debian's nginx, `proxy_pass` to an upstream block with a keep-alive
#       pool (`keepalive 128`, HTTP/1.1), one process (master_process off,
#       the usual event loop),
# each loaded by bench/http_load (one epoll thread, closed loop, keep-alive)
# at CONCURRENCY. A direct window (no proxy) is run too, for scale. Prints
# one line per window, the medians, the router/nginx throughput ratio and
# the router's CPU per request (µs, from /proc/PID/stat of its process;
# nginx's the same way). The goal is a ratio ≥ 0.8.
# Environment: BUILD_DIR (default build/), DURATION (s per window, default
# 5), REPEAT (windows per side, default 3), CONCURRENCY (default 64),
# ROUTER_THREADS (default 2: tide up's), NGINX_WORKERS is always 1.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=bench/lib/nginx.sh
. "$root/bench/lib/nginx.sh"
build="${BUILD_DIR:-$root/build}"
duration="${DURATION:-5}"
repeat="${REPEAT:-3}"
c="${CONCURRENCY:-64}"
router_threads="${ROUTER_THREADS:-2}"
[ "${SKIP_BUILD:-0}" = 1 ] ||
  flock /tmp/tide-build.lock cmake --build "$build" -j2 --target tide http_load router_bench >/dev/null

work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
wait_line() { for _ in $(seq 200); do grep -q listening "$1" 2>/dev/null && return 0; sleep 0.05; done; return 1; }

mkdir -p "$work/repo"
cp -r "$root/examples/models/simple" "$work/repo/"
cp "$root/examples/models/simple/sample_request.json" "$work/body.json"

"$build/apps/tide/tide" serve --model-repository "$work/repo" --host 127.0.0.1 --http-port 0 \
  --metrics-port 0 --drain-delay 0 >"$work/serve.out" 2>"$work/serve.log" &
serve=$!
pids+=("$serve")
wait_line "$work/serve.out"
replica=$(sed -n 's/.*"http_port":\([0-9]*\).*/\1/p' "$work/serve.out")
metrics_port=$(sed -n 's/.*"metrics_port":\([0-9]*\).*/\1/p' "$work/serve.out")

"$build/bench/router_bench" --replica "$replica" --threads "$router_threads" >"$work/router.out" &
router=$!
pids+=("$router")
wait_line "$work/router.out"
router_port=$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$work/router.out")

nport=$(free_port)
nginx_start "$work/nginx" "$nport" "  upstream replica {
    server 127.0.0.1:$replica;
    keepalive 128;
    keepalive_requests 100000000;
  }
  server {
    listen 127.0.0.1:$nport;
    location / {
      proxy_pass http://replica;
      proxy_http_version 1.1;
      proxy_set_header Connection \"\";
      proxy_buffering on;
    }
  }" || exit 2
nginx=$nginx_pid
pids+=("$nginx")

echo "simple (TorchScript) on tide serve :$replica; router :$router_port ($router_threads threads); nginx :$nport; c=$c; $(nproc) cores"
load() {  # port pid label
  "$build/bench/http_load" --port "$1" --metrics-port 0 --server-pid "$2" --model simple \
    --body "$work/body.json" --concurrency "$c" --warmup 1 --duration "$duration" --repeat 1 \
    --label "$3" | grep '"window"'
}
: > "$work/windows.jsonl"
load "$replica" "$serve" direct | tee -a "$work/windows.jsonl"
for r in $(seq "$repeat"); do
  load "$router_port" "$router" router | tee -a "$work/windows.jsonl"
  load "$nport" "$nginx" nginx | tee -a "$work/windows.jsonl"
done
python3 - "$work/windows.jsonl" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
med = {}
for label in ("direct", "router", "nginx"):
    rs = [r for r in rows if r["label"] == label]
    med[label] = {k: statistics.median(r[k] for r in rs)
                  for k in ("rps", "p50_us", "p99_us", "server_cpu_us_per_req", "errors")}
    m = med[label]
    print(f"{label:7s} median of {len(rs)}: {m['rps']:.0f} req/s, p50 {m['p50_us']:.0f} us, "
          f"p99 {m['p99_us']:.0f} us, errors {m['errors']:.0f}"
          + ("" if label == "direct" else f", proxy CPU {m['server_cpu_us_per_req']:.1f} us/req"))
ratio = med["router"]["rps"] / med["nginx"]["rps"]
print(json.dumps({"router_rps": round(med["router"]["rps"]), "nginx_rps": round(med["nginx"]["rps"]),
                  "ratio_router_over_nginx": round(ratio, 3),
                  "router_cpu_us_per_req": round(med["router"]["server_cpu_us_per_req"], 1),
                  "nginx_cpu_us_per_req": round(med["nginx"]["server_cpu_us_per_req"], 1),
                  "goal_ratio": 0.8, "met": ratio >= 0.8}))
PY
