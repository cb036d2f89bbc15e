#!/usr/bin/env bash
# Serving benchmark for the `mlp` example (TorchScript, dynamic batching):
#   1. the in-process limit: libtorch forward() at batch 1..32 with the
#      model's thread settings (bench/torch_forward_bench.cc);
#   2. `tide serve` over HTTP at concurrency 1, 8 and 64, with binary tensors
#      and with JSON (bench/http_load.cc: one epoll thread, keep-alive).
# Both run on this machine in the same invocation, so the ratios between them
# hold even on a noisy machine. The load driver shares the machine's cores
# with the server: each line reports its share ("client_cores") next to the
# server's ("server_cores"). Pin them with PIN_SERVER / PIN_LOAD, e.g.
#   PIN_SERVER="taskset -c 0" PIN_LOAD="taskset -c 1" bench/serve_bench.sh
# Environment: BUILD_DIR (default build/), DURATION (s per window, default 5),
# REPEAT (windows per point, default 3; medians are reported), CONCURRENCY
# (default "1 8 64"), MODES (default "binary json"), HTTP_THREADS (default 1),
# QUEUE_DELAY_US (overrides the config's max_queue_delay_microseconds).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
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
echo "mlp: $(grep -o 'max_queue_delay_microseconds: [0-9]*' "$work/repo/mlp/config.pbtxt"), $(nproc) cores"

echo "== in-process: libtorch forward() of mlp, 1 intra-op thread (${PIN_SERVER:-unpinned})"
${PIN_SERVER:-} "$build/bench/torch_forward_bench" "$work/repo/mlp/1/model.pt" --shape 784 --threads 1 \
  --max-batch 32 --out "$work/forward.tsv" --model-dir "$work/repo/mlp" |
  awk 'NR<=2 || $1==1 || $1==8 || $1==16 || $1==32'

# Request bodies: the first row of the generator's fixture, as JSON (the
# sample request) and as a binary tensor; the output comes back the same way.
cp "$root/examples/models/mlp/sample_request.json" "$work/body.json"
header='{"inputs":[{"name":"INPUT__0","datatype":"FP32","shape":[1,784],"parameters":{"binary_data_size":3136}}],"outputs":[{"name":"OUTPUT__0","parameters":{"binary_data":true}}]}'
printf '%s' "$header" > "$work/body.bin"
head -c 3136 "$build/model_fixtures/mlp/input.bin" >> "$work/body.bin"

${PIN_SERVER:-} "$build/apps/tide/tide" serve --model-repository "$work/repo" --host 127.0.0.1 --http-port 0 \
  --metrics-port 0 --http-threads "$http_threads" --drain-delay 0 ${SERVE_ARGS:-} >"$work/serve.out" 2>"$work/serve.log" &
server=$!
for _ in $(seq 100); do grep -q listening "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
http_port=$(sed -n 's/.*"http_port":\([0-9]*\).*/\1/p' "$work/serve.out")
metrics_port=$(sed -n 's/.*"metrics_port":\([0-9]*\).*/\1/p' "$work/serve.out")
grep "loaded model 'mlp'" "$work/serve.log" | sed 's/^.*loaded/loaded/'

for mode in $modes; do
  for c in $concurrency; do
    args=(--body "$work/body.json")
    [ "$mode" = binary ] && args=(--body "$work/body.bin" --header-length "${#header}")
    ${PIN_LOAD:-} "$build/bench/http_load" --port "$http_port" --metrics-port "$metrics_port" --server-pid "$server" \
      --model mlp "${args[@]}" --concurrency "$c" --warmup 1 --duration "$duration" --repeat "$repeat" \
      --forward-table "$work/forward.tsv" --label "$mode c=$c" | tail -1
  done
done
