#!/bin/sh
# gRPC (raw contents) against HTTP (binary tensors) on one tide serve, in
# alternating windows: REPEAT windows of DURATION s per protocol and
# concurrency, then per protocol and concurrency the median and the range of
# throughput, p50, the client's CPU per request and the server's CPU per
# request (from /proc, so the model's compute is included), and the per-window
# gRPC/HTTP throughput ratio and p50 difference.
# Usage: bench/grpc_vs_http_repeat.sh [OUT_DIR]
#   TIDE=path/to/tide  MODEL=mlp  CONCURRENCY="1 64"  REPEAT=5  DURATION=3
#   SERVE_ARGS="--grpc-threads 1" (added to tide serve's arguments)
T=${TIDE:-build/apps/tide/tide}
MODEL=${MODEL:-mlp}
CONCURRENCY=${CONCURRENCY:-1 64}
REPEAT=${REPEAT:-5}
DURATION=${DURATION:-3}
OUT=${1:-/tmp/grpc-vs-http-repeat}; mkdir -p $OUT; rm -f $OUT/w-*.json
$T serve --model-repository examples/models --host 127.0.0.1 --http-port 18040 --grpc-port 18041 \
  --metrics-port 18042 --drain-delay 0 ${SERVE_ARGS:-} 2>$OUT/serve.log >/dev/null &
S=$!
for i in $(seq 1 150); do curl -sf http://127.0.0.1:18040/v2/health/ready >/dev/null && break; sleep 0.2; done
ticks() { awk '{print $14 + $15}' /proc/$S/stat; }
for r in $(seq 1 $REPEAT); do
  for c in $CONCURRENCY; do
    for p in grpc http; do
      if [ $p = grpc ]; then A="--protocol grpc --grpc-contents raw --url 127.0.0.1:18041"
      else A="--url http://127.0.0.1:18040 --binary"; fi
      t0=$(ticks)
      nice -n 19 $T load $A --metrics-url none --model $MODEL --concurrency $c --duration $DURATION \
        --warmup 0.5 --json $OUT/w-$p-c$c-r$r.json >/dev/null 2>&1
      echo "$(($(ticks) - t0))" > $OUT/w-$p-c$c-r$r.ticks
    done
  done
done
kill $S; wait $S
python3 - $OUT "$CONCURRENCY" $REPEAT $DURATION <<'PY'
import json, os, statistics as st, sys
out, cs, rep, dur = sys.argv[1], sys.argv[2].split(), int(sys.argv[3]), float(sys.argv[4])
hz = os.sysconf("SC_CLK_TCK")
def window(p, c, r):
    l = json.load(open(f"{out}/w-{p}-c{c}-r{r}.json"))["levels"][0]
    ticks = int(open(f"{out}/w-{p}-c{c}-r{r}.ticks").read())
    rps = l["throughput_rps"]
    # server ticks cover warm-up + window (+ start/stop): charged to the window's requests
    n = rps * dur + 1e-9
    return dict(rps=rps, p50=l["latency"]["p50_ms"] * 1e3, failed=l["failed"],
                client=l["client"]["cores_used"] / rps * 1e6 if rps else 0,
                server=ticks / hz / n * 1e6)
def fmt(xs, f="{:.0f}"):
    return f"{f.format(st.median(xs))} ({f.format(min(xs))}-{f.format(max(xs))})"
for c in cs:
    w = {p: [window(p, c, r) for r in range(1, rep + 1)] for p in ("grpc", "http")}
    for p in ("grpc", "http"):
        ws = w[p]
        print(f"c={c:<3} {p:4}  {fmt([x['rps'] for x in ws])} req/s  p50 {fmt([x['p50'] for x in ws])} us  "
              f"client {fmt([x['client'] for x in ws], '{:.1f}')} us/req  "
              f"server {fmt([x['server'] for x in ws], '{:.1f}')} us/req  failed {sum(x['failed'] for x in ws)}")
    ratio = [g["rps"] / h["rps"] for g, h in zip(w["grpc"], w["http"])]
    dp50 = [g["p50"] - h["p50"] for g, h in zip(w["grpc"], w["http"])]
    print(f"c={c:<3} grpc/http throughput {fmt(ratio, '{:.2f}')}  p50 grpc-http {fmt(dp50)} us  ({rep} windows)")
PY
