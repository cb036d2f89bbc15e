#!/usr/bin/env bash
# What the worker spin (TIDE_WORKER_SPIN_MICROSECONDS) buys and costs, for
# the `mlp` example: `tide serve` with the spin off and on, driven by
# `tide load` in open loop (Poisson arrivals) at a few request rates, binary
# tensors. Per rate: the server's CPU use in cores (from /proc, what a
# CPU-based HorizontalPodAutoscaler would see) and the latency percentiles.
#   bench/spin_tradeoff.sh            # RATES="100 500 1000 2000" SPINS="0 200" DURATION=6
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
rates="${RATES:-100 500 1000 2000}"
spins="${SPINS:-0 200}"
duration="${DURATION:-6}"
flock /tmp/tide-build.lock ninja -C "$build" -j2 tide tide_models >/dev/null
work="$(mktemp -d)"
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
cpu_seconds() {  # utime + stime of a process, in seconds
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) / hz }' "/proc/$1/stat"
}
printf '%-6s %6s %8s %12s %8s %8s %8s\n' spin_us rate req/s server_cores p50_us p99_us errors
for spin in $spins; do
  rm -rf "$work/repo" && mkdir -p "$work/repo" && cp -r "$root/examples/models/mlp" "$work/repo/"
  sed -i "/TIDE_WORKER_SPIN_MICROSECONDS/s/string_value: \"[0-9]*\"/string_value: \"$spin\"/" \
    "$work/repo/mlp/config.pbtxt"
  "$build/apps/tide/tide" serve --model-repository "$work/repo" --host 127.0.0.1 --http-port 0 \
    --grpc-port -1 --metrics-port 0 --drain-delay 0 >"$work/serve.out" 2>"$work/serve.log" &
  server=$!
  for _ in $(seq 100); do grep -q listening "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
  hp=$(sed -n 's/.*"http_port":\([0-9]*\).*/\1/p' "$work/serve.out")
  mp=$(sed -n 's/.*"metrics_port":\([0-9]*\).*/\1/p' "$work/serve.out")
  for rate in $rates; do
    t0=$(date +%s.%N); c0=$(cpu_seconds "$server")
    "$build/apps/tide/tide" load --url "http://127.0.0.1:$hp" --metrics-url "http://127.0.0.1:$mp/metrics" \
      --model mlp --binary --input-data random --rate "$rate" --duration "$duration" \
      --json "$work/load.json" >/dev/null 2>&1
    t1=$(date +%s.%N); c1=$(cpu_seconds "$server")
    python3 - "$work/load.json" "$spin" "$rate" "$(echo "($c1 - $c0) / ($t1 - $t0)" | bc -l)" <<'PY'
import json, sys
lvl = json.load(open(sys.argv[1]))["levels"][0]
lat = lvl["latency"]
print("%-6s %6s %8.0f %12.2f %8.0f %8.0f %8d" % (sys.argv[2], sys.argv[3], lvl["throughput_rps"],
      float(sys.argv[4]), lat["p50_ms"] * 1000, lat["p99_ms"] * 1000, lvl["failed"]))
PY
  done
  kill "$server"; wait "$server" 2>/dev/null || true; server=""
done
