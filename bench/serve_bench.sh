#!/usr/bin/env bash
# Serving benchmark for the `mlp` example (TorchScript, dynamic batching):
#   1. the in-process limit: libtorch forward() at batch 1..32 with the
#      model's thread settings (bench/torch_forward_bench.cc);
#   2. `tide serve` over HTTP at concurrency 1, 8 and 64, with binary tensors
#      and with JSON (bench/http_load.cc: one epoll thread, keep-alive).
# Both run on this machine in the same invocation, and alternate: before
# every served window the in-process limit is measured again (batch 1, 2, 4,
# 8, 16, 32), and that window's overhead and latency gap are computed against
# it, so a slow minute of the (shared, virtual) machine hits both sides of a
# comparison. Each point prints the median over its windows. The load driver shares the machine's cores
# with the server: each line reports its share ("client_cores") next to the
# server's ("server_cores"). Pin them with PIN_SERVER / PIN_LOAD, e.g.
#   PIN_SERVER="taskset -c 0" PIN_LOAD="taskset -c 1" bench/serve_bench.sh
# Environment: BUILD_DIR (default build/), DURATION (s per window, default 5),
# REPEAT (windows per point, default 3; medians are reported), CONCURRENCY
# (default "1 8 64"), MODES (default "binary json"), HTTP_THREADS (default 1),
# QUEUE_DELAY_US (overrides the config's max_queue_delay_microseconds),
# SPIN_US (overrides the config's TIDE_WORKER_SPIN_MICROSECONDS), SERVE_ARGS
# (more `tide serve` flags), FIXED=0 (skip the fixed-response baseline),
# WINDOWS_OUT (a file to append every window's line to), GEMV=false (the
# model's TIDE_SINGLE_ROW_GEMV parameter, and the in-process limit likewise:
# single-row products through the general GEMM path; default true).
#
# 3. The fixed-response limit: Debian's nginx answering every request with a
#    fixed body of the size of tide's binary response, one worker process,
#    driven by the same http_load at the same concurrencies: the CPU any
#    HTTP/1.1 server spends per request on this machine (mostly the kernel's
#    loopback TCP), measured in the same run.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=bench/lib/nginx.sh
. "$root/bench/lib/nginx.sh"
build="${BUILD_DIR:-$root/build}"
duration="${DURATION:-5}"
repeat="${REPEAT:-3}"
concurrency="${CONCURRENCY:-1 8 64}"
modes="${MODES:-binary json}"
http_threads="${HTTP_THREADS:-1}"
flock /tmp/tide-build.lock ninja -C "$build" -j2 tide http_load torch_forward_bench tide_models >/dev/null

work="$(mktemp -d)"
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$work/repo"
cp -r "$root/examples/models/mlp" "$work/repo/"
if [ -n "${QUEUE_DELAY_US:-}" ]; then
  sed -i "s/max_queue_delay_microseconds: [0-9]*/max_queue_delay_microseconds: $QUEUE_DELAY_US/" \
    "$work/repo/mlp/config.pbtxt"
fi
if [ -n "${SPIN_US:-}" ]; then
  sed -i "/TIDE_WORKER_SPIN_MICROSECONDS/s/string_value: \"[0-9]*\"/string_value: \"$SPIN_US\"/" \
    "$work/repo/mlp/config.pbtxt"
fi
gemv_flag=1
if [ -n "${GEMV:-}" ]; then
  sed -i "s/^parameters \[/parameters [\n  { key: \"TIDE_SINGLE_ROW_GEMV\" value { string_value: \"$GEMV\" } },/" \
    "$work/repo/mlp/config.pbtxt"
  if [ "$GEMV" = false ]; then gemv_flag=0; fi
fi
echo "mlp: $(grep -o 'max_queue_delay_microseconds: [0-9]*' "$work/repo/mlp/config.pbtxt"), worker spin $(sed -n 's/.*TIDE_WORKER_SPIN_MICROSECONDS.*string_value: "\([0-9]*\)".*/\1/p' "$work/repo/mlp/config.pbtxt") us, $(nproc) cores"

${PIN_SERVER:-} "$build/apps/tide/tide" serve --model-repository "$work/repo" --host 127.0.0.1 --http-port 0 \
  --metrics-port 0 --http-threads "$http_threads" --drain-delay 0 ${SERVE_ARGS:-} >"$work/serve.out" 2>"$work/serve.log" &
server=$!
for _ in $(seq 100); do grep -q listening "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
http_port=$(sed -n 's/.*"http_port":\([0-9]*\).*/\1/p' "$work/serve.out")
metrics_port=$(sed -n 's/.*"metrics_port":\([0-9]*\).*/\1/p' "$work/serve.out")
grep "loaded model 'mlp'" "$work/serve.log" | sed 's/^.*loaded/loaded/'
# The in-process limit runs with the OpenBLAS kernels the server chose
# (tide serve sets OPENBLAS_CORETYPE when unset: common/blas_env.h).
coretype=$(sed -n 's/.*OPENBLAS_CORETYPE=\([A-Za-z0-9]*\).*/\1/p' "$work/serve.log" | head -1)
[ -n "$coretype" ] && export OPENBLAS_CORETYPE="$coretype"
echo "OpenBLAS kernels: ${OPENBLAS_CORETYPE:-as OpenBLAS detects them}"
echo "== in-process: libtorch forward() of mlp, 1 intra-op thread (${PIN_SERVER:-unpinned})"
${PIN_SERVER:-} "$build/bench/torch_forward_bench" "$work/repo/mlp/1/model.pt" --shape 784 --threads 1 --gemv "$gemv_flag" \
  --max-batch 32 --out "$work/forward.tsv" --model-dir "$work/repo/mlp" |
  awk 'NR<=2 || $1==1 || $1==8 || $1==16 || $1==32'
echo "== in-process, batch 1 after 300 us asleep between calls (what a lone request meets when the worker sleeps)"
${PIN_SERVER:-} "$build/bench/torch_forward_bench" "$work/repo/mlp/1/model.pt" --shape 784 --threads 1 --gemv "$gemv_flag" \
  --max-batch 1 --gap-us 300 2>/dev/null | awk '$1==1'

# Request bodies: the first row of the generator's fixture, as JSON (the
# sample request) and as a binary tensor; the output comes back the same way.
cp "$root/examples/models/mlp/sample_request.json" "$work/body.json"
header='{"inputs":[{"name":"INPUT__0","datatype":"FP32","shape":[1,784],"parameters":{"binary_data_size":3136}}],"outputs":[{"name":"OUTPUT__0","parameters":{"binary_data":true}}]}'
printf '%s' "$header" > "$work/body.bin"
head -c 3136 "$build/model_fixtures/mlp/input.bin" >> "$work/body.bin"


# Medians, per field, of the JSON lines on stdin (one per window).
median_lines() {
  python3 -c '
import json, statistics, sys
rows = [json.loads(l) for l in sys.stdin if l.startswith("{")]
out = {"label": rows[0]["label"], "windows": len(rows)}
for k, v in rows[0].items():
    if isinstance(v, (int, float)) and k not in ("window", "median_of"):
        out[k] = round(statistics.median(r[k] for r in rows), 1)
out["p50_minus_inproc_b1_us"] = round(statistics.median(r["p50_us"] - r["inproc_b1_p50_us"] for r in rows), 1)
print(json.dumps(out, separators=(",", ":")))'
}

echo "== served, each window right after its own in-process measurement; medians of $repeat windows"
for mode in $modes; do
  for c in $concurrency; do
    args=(--body "$work/body.json")
    [ "$mode" = binary ] && args=(--body "$work/body.bin" --header-length "${#header}")
    : > "$work/windows.jsonl"
    for r in $(seq "$repeat"); do
      ${PIN_SERVER:-} "$build/bench/torch_forward_bench" "$work/repo/mlp/1/model.pt" --shape 784 --threads 1 --gemv "$gemv_flag" \
        --batches 1,2,4,8,16,32 --min-time 0.15 --out "$work/forward_now.tsv" >/dev/null 2>&1
      ${PIN_LOAD:-} "$build/bench/http_load" --port "$http_port" --metrics-port "$metrics_port" --server-pid "$server" \
        --model mlp "${args[@]}" --concurrency "$c" --warmup 0.5 --duration "$duration" --repeat 1 \
        --forward-table "$work/forward_now.tsv" --label "$mode c=$c" | tail -1 >> "$work/windows.jsonl"
    done
    [ -n "${WINDOWS_OUT:-}" ] && cat "$work/windows.jsonl" >> "$WINDOWS_OUT"
    median_lines < "$work/windows.jsonl"
  done
done
kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true
server=""

if [ "${FIXED:-1}" = 1 ] && [ -x /usr/sbin/nginx ]; then
  echo "== fixed-response limit: nginx, one worker, a fixed 200 of the binary response's size"
  # tide's binary mlp response: its JSON header plus 10 FP32 values.
  fixed_body=$(printf '{"model_name":"mlp","model_version":"1","outputs":[{"name":"OUTPUT__0","datatype":"FP32","shape":[1,10],"parameters":{"binary_data_size":40}}]}%040d' 0)
  nport=$(free_port)
  # shellcheck disable=SC2086  # PIN_SERVER is a command line, split on purpose
  nginx_start "$work/nginx" "$nport" "  server {
    listen 127.0.0.1:$nport;
    location / { default_type application/octet-stream; return 200 '$fixed_body'; }
  }" ${PIN_SERVER:-} || exit 2
  server=$nginx_pid
  for c in $concurrency; do
    ${PIN_LOAD:-} "$build/bench/http_load" --port "$nport" --metrics-port 0 --server-pid "$server" \
      --model mlp --body "$work/body.bin" --header-length "${#header}" --concurrency "$c" --warmup 1 \
      --duration "$duration" --repeat "$repeat" --label "nginx fixed c=$c" | grep "\"window\"" | median_lines
  done
fi
