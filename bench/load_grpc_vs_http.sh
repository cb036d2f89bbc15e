#!/bin/sh
# tide load over HTTP and over gRPC (typed and raw contents) against the same
# tide serve on `simple`, closed loop c=1 and c=64, 5 s each (1 s warm-up):
# throughput, p50/p99, and the client's own CPU (is the client the bottleneck?).
# Usage: bench/load_grpc_vs_http.sh [OUT_DIR]   (TIDE=path/to/tide to override;
#   MODEL=mlp for another model, HTTP_ARGS=--binary for binary tensors over HTTP,
#   REPO=dir for another model repository, LOAD_ARGS="--threads 1" added to
#   every tide load)
T=${TIDE:-build/apps/tide/tide}
MODEL=${MODEL:-simple}
OUT=${1:-/tmp/grpc-vs-http}; mkdir -p $OUT
$T serve --model-repository ${REPO:-examples/models} --host 127.0.0.1 --http-port 18000 --grpc-port 18001 --metrics-port 18002 2>$OUT/serve.log >/dev/null &
S=$!
for i in $(seq 1 100); do curl -sf http://127.0.0.1:18000/v2/health/ready >/dev/null && break; sleep 0.2; done
for c in 1 64; do
  $T load --url http://127.0.0.1:18000 --metrics-url http://127.0.0.1:18002 --model $MODEL $HTTP_ARGS --concurrency $c --duration 5 --warmup 1 $LOAD_ARGS --json $OUT/http-c$c.json >/dev/null
  for k in typed raw; do
    $T load --protocol grpc --grpc-contents $k --url 127.0.0.1:18001 --metrics-url http://127.0.0.1:18002 --model $MODEL --concurrency $c --duration 5 --warmup 1 $LOAD_ARGS --json $OUT/grpc-$k-c$c.json >/dev/null
  done
done
kill $S; wait $S
python3 - $OUT <<'PY'
import json, sys, glob, os
for f in sorted(glob.glob(sys.argv[1] + "/*-c*.json")):
    l = json.load(open(f))["levels"][0]
    print(f"{os.path.basename(f)[:-5]:16} {l['throughput_rps']:9.0f} req/s  p50 {l['latency']['p50_ms']:.3f} ms  p99 {l['latency']['p99_ms']:.3f} ms  "
          f"failed {l['failed']}  client {l['client']['cores_used']:.2f} cores = {1e6*l['client']['cores_used']/max(l['throughput_rps'],1e-9):.1f} us/request, worker busy {100*l['client']['max_worker_busy']:.0f} %  "
          f"server cpu {l['server']['cpu_s'] if l['server'] else None}")
PY
