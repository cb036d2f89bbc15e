#!/usr/bin/env bash
# Installs every dependency, builds tide and runs its main job: `tide serve`
# on the example model repository, with the curl lines that talk to it.
# Ctrl-C drains and stops the server. Ports: HTTP_PORT (8000), GRPC_PORT (8001),
# METRICS_PORT (8002).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
http="${HTTP_PORT:-8000}"
grpc="${GRPC_PORT:-8001}"
metrics="${METRICS_PORT:-8002}"
cat <<MSG

tide serve is starting on http://localhost:$http (gRPC on :$grpc, metrics on :$metrics). Try:

  curl localhost:$http/v2/health/ready
  curl localhost:$http/v2/models/simple
  curl -X POST localhost:$http/v2/models/simple/infer -d '{"inputs":[
    {"name":"INPUT0","datatype":"INT32","shape":[1,16],"data":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]},
    {"name":"INPUT1","datatype":"INT32","shape":[1,16],"data":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]}]}'
  curl -X POST localhost:$http/v2/models/mlp/infer -d @$root/examples/models/mlp/sample_request.json
  curl -X POST localhost:$http/v2/models/simulated/infer -d '{"inputs":[
    {"name":"INPUT0","datatype":"FP32","shape":[1,16],"data":[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]}]}'
  curl localhost:$http/v2/models/simulated/stats
  curl -s localhost:$metrics/metrics | grep ^tide_inference

Ctrl-C to drain and stop.

MSG
exec "${BUILD_DIR:-$root/build}/apps/tide/tide" serve --model-repository "$root/examples/models" \
  --http-port "$http" --grpc-port "$grpc" --metrics-port "$metrics" --drain-delay 0 "$@"
