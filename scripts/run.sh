#!/usr/bin/env bash
# Installs every dependency, builds tide and runs its main job: `tide up
# --demo`, the autoscaled fleet on this machine. `tide serve` replicas of
# examples/models sit behind a router on :8000, scaled by the HPA that deploy/
# ships (deploy/k8s/overlays/hpa-cpu/hpa.yaml: CPU 50 % of a 1-core request)
# with the shortened timings of examples/hpa/demo-timings.yaml. Built-in
# traffic (warm-up, ramp, spike, fall, quiet: ~4 minutes) drives the simulated
# model; then the report (timeline.csv, events.jsonl, report.svg) is written to
# REPORT_DIR (./tide-up-report) and the fleet keeps serving until Ctrl-C, which
# drains and stops every replica. Ports: HTTP_PORT (8000), METRICS_PORT (8002).
# Extra arguments go to `tide up`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
"$root/scripts/install-deps.sh"
# Only what the main job needs: the tide binary (and its backend plugins).
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" "${generator[@]}" >/dev/null
fi
flock /tmp/tide-build.lock cmake --build "$build" -j "${JOBS:-2}" --target tide
http="${HTTP_PORT:-8000}"
metrics="${METRICS_PORT:-8002}"
report="${REPORT_DIR:-$PWD/tide-up-report}"
cat <<MSG

tide up --demo is starting: the router on http://localhost:$http, fleet metrics on :$metrics.
While it runs, try:

  curl -X POST localhost:$http/v2/models/simulated/infer -d '{"inputs":[
    {"name":"INPUT0","datatype":"FP32","shape":[1,16],"data":[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]}]}'
  curl -s localhost:$metrics/metrics | grep ^tide_fleet

The report lands in $report when the demo's traffic ends. Ctrl-C drains and stops.

MSG
exec "$build/apps/tide/tide" up --demo --model-repository "$root/examples/models" \
  --hpa "$root/deploy/k8s/overlays/hpa-cpu/hpa.yaml" \
  --timings "$root/examples/hpa/demo-timings.yaml" --cpu-request 1 \
  --port "$http" --metrics-port "$metrics" --report "$report" "$@"
