#!/usr/bin/env bash
# `mlp` at one connection: tide against Node.js + onnxruntime-node serving the
# same weights, same harness, same run (issue 17's goal: tide's c=1 p50 <=
# Node's, with the environment's OPENBLAS_CORETYPE as set and with it unset).
#
#   bench/mlp_vs_node_onnx.sh [--duration S] [--repeat R] [--concurrency C]
#                             [--clients "wrk http_load"]
#
# Servers, all started once and running for the whole script:
#   tide-env    `tide serve` with only examples/models/mlp (as
#               bench/serve_bench.sh), the environment as it is;
#   tide-unset  the same under `env -u OPENBLAS_CORETYPE` (tide serve then
#               picks the kernels itself: common/blas_env.h; its log says which);
#   node        bench/node_onnx/server.js: Node's http module + onnxruntime-node
#               (pinned in bench/node_onnx/package.json), one intra-op and one
#               inter-op thread, on an ONNX copy of mlp/1/model.pt written into
#               the build folder by bench/node_onnx/make_mlp_onnx.py (Gemm+Relu
#               x2, Gemm; same float32 weights, read from the .pt zip without
#               torch). onnxruntime computes with its own MLAS kernels, chosen
#               by CPU features: OPENBLAS_CORETYPE does not reach it.
# First each server answers examples/models/mlp/sample_request.json; the
# outputs must agree within 1e-4. Then every repeat runs one window per server
# and client (the servers' order rotates from repeat to repeat): wrk (one
# thread, --latency, a POST of the sample) and bench/http_load (one epoll
# thread; also the server's CPU time per request). JSON bodies throughout.
# Prints every window, then per client the medians of p50/p99/req/s over the
# repeats, and the median (and range) of the per-repeat ratios tide p50 / node
# p50 (<= 1 meets the goal at c=1) and tide req/s / node req/s (issue 17 keeps
# >= 4 at c=64: --concurrency 64). Nothing is pinned.
# Exit status 0 whatever the ratios (a measurement); 2 if something could not run.
# Environment: BUILD_DIR (default build/), NO_BUILD=1 (use the built binaries).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
duration=3
repeat=5
concurrency=1
clients="wrk http_load"
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration="$2"; shift 2 ;;
    --repeat) repeat="$2"; shift 2 ;;
    --concurrency) concurrency="$2"; shift 2 ;;
    --clients) clients="$2"; shift 2 ;;
    -h|--help) sed -n '2,32p' "$0"; exit 0 ;;
    *) echo "mlp_vs_node_onnx.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
for bin in node npm curl python3 /usr/bin/python3; do
  command -v "$bin" >/dev/null 2>&1 || { echo "mlp_vs_node_onnx.sh: missing $bin" >&2; exit 2; }
done
/usr/bin/python3 -c 'import onnx, numpy' 2>/dev/null ||
  { echo "mlp_vs_node_onnx.sh: Debian's python3-onnx is missing (scripts/install-deps.sh)" >&2; exit 2; }
case " $clients " in *" wrk "*) command -v wrk >/dev/null || { echo "missing wrk" >&2; exit 2; } ;; esac
if [ -z "${NO_BUILD:-}" ]; then
  flock /tmp/tide-build.lock cmake --build "$build" -j2 --target tide http_load tide_models >/dev/null
fi
node_dir="$root/bench/node_onnx"
if [ ! -d "$node_dir/node_modules/onnxruntime-node" ]; then
  echo "installing onnxruntime-node into bench/node_onnx/node_modules (npm ci)" >&2
  # --ignore-scripts: the package ships its CPU binaries; its install script
  # only fetches GPU ones.
  (cd "$node_dir" && npm ci --ignore-scripts --silent --no-audit --no-fund >/dev/null)
fi
mkdir -p "$build/bench/node_onnx"
onnx_model="$build/bench/node_onnx/mlp.onnx"
/usr/bin/python3 "$node_dir/make_mlp_onnx.py" "$root/examples/models/mlp/1/model.pt" "$onnx_model"

work="$(mktemp -d /tmp/tide-mlp-node.XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

body="$root/examples/models/mlp/sample_request.json"
declare -A port mport pid
start_tide() {  # name env-prefix...
  local name="$1"; shift
  mkdir -p "$work/$name/repo"
  cp -r "$root/examples/models/mlp" "$work/$name/repo/"
  "$@" "$build/apps/tide/tide" serve --model-repository "$work/$name/repo" --host 127.0.0.1 \
    --http-port 0 --grpc-port -1 --metrics-port 0 --http-threads 1 --drain-delay 0 \
    >"$work/$name/serve.out" 2>"$work/$name/serve.log" &
  pid[$name]=$!
  pids+=("$!")
  for _ in $(seq 300); do grep -q listening "$work/$name/serve.out" 2>/dev/null && break; sleep 0.1; done
  port[$name]=$(sed -n 's/.*"http_port":\([0-9]*\).*/\1/p' "$work/$name/serve.out")
  mport[$name]=$(sed -n 's/.*"metrics_port":\([0-9]*\).*/\1/p' "$work/$name/serve.out")
  [ -n "${port[$name]}" ] || { echo "$name did not start:" >&2; tail -5 "$work/$name/serve.log" >&2; exit 2; }
  local kernels
  kernels=$(sed -n 's/.*OPENBLAS_CORETYPE=\([A-Za-z0-9]*\).*/\1/p' "$work/$name/serve.log" | head -1)
  echo "$name: OPENBLAS_CORETYPE ${kernels:-(not logged)} ($(grep -o "loaded model 'mlp'.*" "$work/$name/serve.log" | head -1))"
}
start_tide tide-env env
start_tide tide-unset env -u OPENBLAS_CORETYPE
node "$node_dir/server.js" --model "$onnx_model" --port 0 >"$work/node.out" 2>"$work/node.log" &
pid[node]=$!
pids+=("$!")
for _ in $(seq 300); do grep -q listening "$work/node.out" 2>/dev/null && break; sleep 0.1; done
port[node]=$(sed -n 's/.*"http_port":\([0-9]*\).*/\1/p' "$work/node.out")
mport[node]=0
[ -n "${port[node]}" ] || { echo "node did not start:" >&2; tail -5 "$work/node.log" >&2; exit 2; }
echo "node: $(node --version), $(cat "$work/node.out"), MLAS kernels (OPENBLAS_CORETYPE not used)"

servers="tide-env tide-unset node"
for s in $servers; do
  curl -sf -o "$work/$s.reply.json" -H 'Content-Type: application/json' --data-binary @"$body" \
    "http://127.0.0.1:${port[$s]}/v2/models/mlp/infer" || { echo "$s did not answer the sample" >&2; exit 2; }
done
python3 - "$work/tide-env.reply.json" "$work/tide-unset.reply.json" "$work/node.reply.json" <<'PY' || exit 2
import json, sys
outs = {p: json.load(open(p))["outputs"][0] for p in sys.argv[1:]}
ref = outs[sys.argv[-1]]
for p, o in outs.items():
    assert o["name"] == ref["name"] and o["shape"] == ref["shape"] == [1, 10], (p, o)
    diff = max(abs(a - b) for a, b in zip(o["data"], ref["data"]))
    if diff > 1e-4:
        sys.exit(f"{p}: outputs differ from node's by {diff:.2e} (> 1e-4): {o['data']} vs {ref['data']}")
    print(f"sample answer agrees with node's: max |diff| {diff:.2e} ({p.split('/')[-1]})")
PY

python3 - "$work/post.lua" "$(cat "$body")" <<'PY'
import json, sys
open(sys.argv[1], "w").write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                             "wrk.body = " + json.dumps(sys.argv[2]) + "\n")
PY

# One window: prints {"server":..,"client":..,"rps":..,"p50_us":..,"p99_us":..} on stdout.
window() {  # server client
  local s="$1" client="$2"
  if [ "$client" = http_load ]; then
    "$build/bench/http_load" --port "${port[$s]}" --metrics-port "${mport[$s]}" --server-pid "${pid[$s]}" \
      --model mlp --body "$body" --concurrency "$concurrency" --warmup 0.5 --duration "$duration" \
      --repeat 1 --label "$s" | tail -1 |
      python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); print(json.dumps({"server":sys.argv[1],"client":"http_load","rps":d["rps"],"p50_us":d["p50_us"],"p99_us":d["p99_us"],"server_cpu_us_per_req":d["server_cpu_us_per_req"],"errors":d["errors"]}))' "$s"
  else
    wrk -t1 -c"$concurrency" -d"${duration}s" --latency -s "$work/post.lua" \
      "http://127.0.0.1:${port[$s]}/v2/models/mlp/infer" |
      python3 -c '
import json, re, sys
t = sys.stdin.read()
def us(pct):
    v, unit = re.search(r"^\s*" + pct + r"%\s+([\d.]+)(us|ms|s)\s*$", t, re.M).groups()
    return round(float(v) * {"us": 1, "ms": 1e3, "s": 1e6}[unit], 1)
rps = float(re.search(r"Requests/sec:\s*([\d.]+)", t).group(1))
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
print(json.dumps({"server": sys.argv[1], "client": "wrk", "rps": round(rps), "p50_us": us("50"),
                  "p99_us": us("99"), "errors": int(bad.group(1)) if bad else 0}))' "$s"
  fi
}

echo "== $repeat repeats, c=$concurrency, ${duration}s windows, JSON bodies; clients: $clients; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
busiest() {  # the busiest processes over the last second (top's second sample), ours included
  top -b -n 2 -d 1 -o %CPU 2>/dev/null | awk '/^top -/{n++} n==2 && $1 ~ /^[0-9]+$/ && $9 > 3 {printf "%s %s%% (nice %s); ", $12, $9, $4}' | head -c 400
}
echo "busiest processes before: $(busiest)"
# Warm-up (not counted): Node's JIT and onnxruntime's first runs, tide's first requests.
for s in $servers; do
  wrk -t1 -c"$concurrency" -d1s -s "$work/post.lua" "http://127.0.0.1:${port[$s]}/v2/models/mlp/infer" >/dev/null 2>&1 ||
    curl -sf -o /dev/null -H "Content-Type: application/json" --data-binary @"$body" "http://127.0.0.1:${port[$s]}/v2/models/mlp/infer"
done
: > "$work/windows.jsonl"
order=(tide-env tide-unset node)
for r in $(seq "$repeat"); do
  for client in $clients; do
    for s in "${order[@]}"; do
      line="$(window "$s" "$client")"
      echo "repeat $r: $line"
      python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d["repeat"]=int(sys.argv[2]); print(json.dumps(d))' \
        "$line" "$r" >> "$work/windows.jsonl"
    done
  done
  order=("${order[@]:1}" "${order[0]}")
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg); busiest processes after: $(busiest)"
python3 - "$work/windows.jsonl" "$concurrency" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
med = statistics.median
for client in sorted({r["client"] for r in rows}):
    by = {s: {r["repeat"]: r for r in rows if r["client"] == client and r["server"] == s}
          for s in ("tide-env", "tide-unset", "node")}
    for s, w in by.items():
        p50 = sorted(r["p50_us"] for r in w.values())
        line = (f"{client} {s:10s}: p50 {med(p50):.0f} us ({p50[0]:.0f}-{p50[-1]:.0f}), "
                f"p99 {med(r['p99_us'] for r in w.values()):.0f} us, "
                f"{med(r['rps'] for r in w.values()):.0f} req/s")
        if client == "http_load":
            line += f", server CPU/request {med(r['server_cpu_us_per_req'] for r in w.values()):.1f} us"
        errors = sum(r["errors"] for r in w.values())
        print(line + (f"; ERRORS {errors}" if errors else ""))
    for s in ("tide-env", "tide-unset"):
        keys = [k for k in by[s] if k in by["node"]]
        p = sorted(by[s][k]["p50_us"] / by["node"][k]["p50_us"] for k in keys)
        q = sorted(by[s][k]["rps"] / by["node"][k]["rps"] for k in keys)
        print(f"{client} {s} / node: p50 ratio median {med(p):.3f} (range {p[0]:.3f}-{p[-1]:.3f}), "
              f"req/s ratio median {med(q):.3f} (range {q[0]:.3f}-{q[-1]:.3f}); "
              + (f"goal (c=1) p50 <= node's: {'met' if med(p) <= 1 else 'not met'}" if sys.argv[2] == "1" else
                 f"goal (c=64) req/s >= 4x node's: {'met' if med(q) >= 4 else 'not met'}" if sys.argv[2] == "64"
                 else "no goal at this concurrency"))
PY
