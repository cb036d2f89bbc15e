#!/usr/bin/env bash
# Instructions per request on `tide serve`'s gRPC ModelInfer path (raw
# contents), counted by callgrind, beside the HTTP binary path in the same
# server: what bench/callgrind_request_path.sh does for HTTP, with the same
# model (`simple`'s config on the simulated backend, no compute; libtorch
# cannot run under valgrind here). The client is Python grpcio (sync stub, one
# call after the other, one channel), outside valgrind; after WARMUP calls the
# counters are zeroed, N calls are made, and the counters dumped. Every answer
# is checked (OK, and the last answer's values).
#
#   bench/callgrind_grpc_path.sh [--requests N] [--top K]
#
# BUILD_DIR (default build/), NO_BUILD=1 skips building tide; TIDE_ARGS adds
# arguments to `tide serve` (e.g. TIDE_ARGS="--max-connection-age 0").
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
requests=1000
warmup=200
top=15
while [ $# -gt 0 ]; do
  case "$1" in
    --requests) requests="$2"; shift 2 ;;
    --top) top="$2"; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "callgrind_grpc_path.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
for bin in valgrind callgrind_control python3 protoc; do
  command -v "$bin" >/dev/null 2>&1 || { echo "callgrind_grpc_path.sh: missing $bin" >&2; exit 2; }
done
"${PYTHON:-/usr/bin/python3}" -c 'import grpc' 2>/dev/null || { echo "callgrind_grpc_path.sh: needs python3-grpcio" >&2; exit 2; }
if [ -z "${NO_BUILD:-}" ]; then
  flock /tmp/tide-build.lock cmake --build "$build" -j2 --target tide >/dev/null
fi
tide="$build/apps/tide/tide"
work="$(mktemp -d /tmp/tide-callgrind-grpc.XXXXXX)"
vpid=""
cleanup() {
  if [ -n "$vpid" ]; then kill "$vpid" 2>/dev/null || true; wait "$vpid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/repo/simple/1" "$work/py"
sed -e 's/^platform: .*/backend: "simulated"/' \
  -e 's/^parameters \[.*/parameters [ { key: "compute_ms" value { string_value: "0" } }, { key: "output" value { string_value: "add_sub" } } ]/' \
  "$root/examples/models/simple/config.pbtxt" > "$work/repo/simple/config.pbtxt"
grep -q 'backend: "simulated"' "$work/repo/simple/config.pbtxt" || { echo "config rewrite failed" >&2; exit 2; }
protoc --proto_path="$root/src/frontends/grpc" --proto_path="$root/src/core" --python_out="$work/py" \
  grpc_service.proto model_config.proto

cat > "$work/client.py" <<'PY'
import struct, sys
sys.path.insert(0, sys.argv[3])
import grpc
import grpc_service_pb2 as pb
port, n = int(sys.argv[1]), int(sys.argv[2])
req = pb.ModelInferRequest(model_name="simple")
for name in ("INPUT0", "INPUT1"):
    t = req.inputs.add(name=name, datatype="INT32", shape=[1, 16])
req.raw_input_contents.append(struct.pack("<16i", *range(16)))
req.raw_input_contents.append(struct.pack("<16i", *([1] * 16)))
body = req.SerializeToString()
ch = grpc.insecure_channel(f"127.0.0.1:{port}")
call = ch.unary_unary("/inference.GRPCInferenceService/ModelInfer")
for i in range(n):
    out = call(body, timeout=60)
resp = pb.ModelInferResponse.FromString(out)
got0 = list(struct.unpack("<16i", resp.raw_output_contents[0]))
got1 = list(struct.unpack("<16i", resp.raw_output_contents[1]))
if got0 != list(range(1, 17)) or got1 != list(range(-1, 15)):
    sys.exit(f"wrong values: {got0} {got1}")
PY

nice -n 19 valgrind --tool=callgrind --collect-systime=yes --collect-atstart=yes \
  --callgrind-out-file="$work/cg.out" "$tide" serve --model-repository "$work/repo" \
  --host 127.0.0.1 --http-port 0 --grpc-port 0 --metrics-port 0 --http-threads 1 --drain-delay 0 \
  --log-level warn ${TIDE_ARGS:-} >"$work/serve.out" 2>"$work/serve.log" &
vpid=$!
for _ in $(seq 900); do grep -q listening "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/.*"grpc_port":\([0-9]*\).*/\1/p' "$work/serve.out")
if [ -z "$port" ]; then echo "tide serve did not start under valgrind:" >&2; tail -20 "$work/serve.log" >&2; exit 2; fi
"${PYTHON:-/usr/bin/python3}" "$work/client.py" "$port" "$warmup" "$work/py"
callgrind_control -z "$vpid" >/dev/null 2>&1
"${PYTHON:-/usr/bin/python3}" "$work/client.py" "$port" "$requests" "$work/py"
callgrind_control -d "$vpid" >/dev/null 2>&1
dump="$work/cg.out.1"
for _ in $(seq 100); do [ -s "$dump" ] && break; sleep 0.1; done
echo "== grpc raw: $requests ModelInfer calls of simple on one channel, after $warmup of warm-up"
python3 "$root/bench/callgrind_summary.py" "$dump" "$requests" --top "$top"
[ -n "${KEEP_DUMPS:-}" ] && cp "$dump" "$KEEP_DUMPS.grpc"
exit 0
