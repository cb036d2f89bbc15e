#!/usr/bin/env bash
# Instructions per request on `tide serve`'s request path, counted by
# callgrind (deterministic, unlike timing on a shared VM): the regression
# check for the serving overhead (docs/performance.md).
#
#   bench/callgrind_request_path.sh [--requests N] [--modes "json binary json64"] [--top K]
#
# Runs the real `tide` binary under `valgrind --tool=callgrind` with one model,
# `simple`'s config (two INT32 [1,16] inputs, two outputs) served by the
# simulated backend with no compute (output add_sub: OUTPUT0 = a+b, OUTPUT1 =
# a-b, what Triton's simple computes). libtorch cannot run under valgrind 3.19
# here (libhwy, which Debian's libtorch pulls in, executes RDTSCP in a
# constructor), and forward() is not serving overhead anyway: everything else
# is the same code as a served `simple` request — epoll loop, Beast parser,
# routing, V2 JSON decode, validation, admission, the batcher's queue and
# worker, BuildResponse, the V2 encoder, the response head and the write.
#
# For each mode (json: examples/models/simple/sample_request.json on one
# connection, request after request; binary: the same tensors with the binary
# tensor extension and binary outputs; json64: JSON on 64 connections, in
# rounds of one request per connection, so requests queue as under load), the
# keep-alive client sends WARMUP requests, the counters are zeroed
# (callgrind_control -z), N requests are sent one after the other, and the
# counters are dumped (callgrind_control -d): start-up and shutdown are
# outside the dump. Every response is checked (status 200, and the last body's
# values). Printed per mode: instructions and system calls per request, the
# self cost split by where the code lives, the stages' inclusive cost, and the
# top functions (bench/callgrind_summary.py).
#
# Exit status 1 when a mode's instructions per request exceed its budget
# (BUDGET_JSON, BUDGET_BINARY, BUDGET_JSON64 below, or the environment's), 2
# when something could not run. Runs agree within 0.5 % (valgrind serialises
# the threads; what varies is how often a thread finds a lock or the queue
# busy). Takes about 20 s. BUILD_DIR (default build/) picks the build;
# NO_BUILD=1 skips building tide; KEEP_DUMPS=PREFIX keeps each mode's dump;
# TIDE_ARGS adds arguments to `tide serve`. Under valgrind an execution takes
# far longer than natively, so inline execution (docs/life-of-a-request.md)
# is off with the default --inline-execute-max-us; TIDE_ARGS="--inline-execute-max-us 100000"
# counts the inline path.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
requests=2000
warmup=300
modes="json binary json64"
top=12
# Budgets in instructions per request, ~3 % over the figures of 2026-12-07
# (json 39,839, binary 39,847, json64 41,118; docs/performance.md).
BUDGET_JSON="${BUDGET_JSON:-38000}"
BUDGET_BINARY="${BUDGET_BINARY:-37600}"
BUDGET_JSON64="${BUDGET_JSON64:-39600}"
while [ $# -gt 0 ]; do
  case "$1" in
    --requests) requests="$2"; shift 2 ;;
    --modes) modes="$2"; shift 2 ;;
    --top) top="$2"; shift 2 ;;
    -h|--help) sed -n '2,39p' "$0"; exit 0 ;;
    *) echo "callgrind_request_path.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
for bin in valgrind callgrind_control python3; do
  command -v "$bin" >/dev/null 2>&1 || { echo "callgrind_request_path.sh: missing $bin" >&2; exit 2; }
done
if [ -z "${NO_BUILD:-}" ]; then
  flock /tmp/tide-build.lock cmake --build "$build" -j2 --target tide >/dev/null
fi
tide="$build/apps/tide/tide"

work="$(mktemp -d /tmp/tide-callgrind.XXXXXX)"
vpid=""
cleanup() {
  if [ -n "$vpid" ]; then kill "$vpid" 2>/dev/null || true; wait "$vpid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/repo/simple/1"
sed -e 's/^platform: .*/backend: "simulated"/' \
  -e 's/^parameters \[.*/parameters [ { key: "compute_ms" value { string_value: "0" } }, { key: "output" value { string_value: "add_sub" } } ]/' \
  "$root/examples/models/simple/config.pbtxt" > "$work/repo/simple/config.pbtxt"
grep -q 'backend: "simulated"' "$work/repo/simple/config.pbtxt" || { echo "config rewrite failed" >&2; exit 2; }

# The request bodies: JSON as the example's sample; binary with the same values.
cp "$root/examples/models/simple/sample_request.json" "$work/body.json"
python3 - "$work" <<'PY'
import json, struct, sys
work = sys.argv[1]
req = json.load(open(f"{work}/body.json"))
header = {"inputs": [], "outputs": [{"name": "OUTPUT0", "parameters": {"binary_data": True}},
                                     {"name": "OUTPUT1", "parameters": {"binary_data": True}}]}
raw = b""
for t in req["inputs"]:
    data = struct.pack("<16i", *t["data"])
    header["inputs"].append({"name": t["name"], "datatype": "INT32", "shape": t["shape"],
                             "parameters": {"binary_data_size": len(data)}})
    raw += data
h = json.dumps(header, separators=(",", ":")).encode()
open(f"{work}/body.bin", "wb").write(h + raw)
open(f"{work}/body.bin.hlen", "w").write(str(len(h)))
PY

cat > "$work/client.py" <<'PY'
# Sends N requests on CONNS keep-alive connections: each round writes one
# request on every connection, then reads every response (CONNS=1: one after
# the other). Checks every status and the last response's values.
import socket, struct, sys
port, n, body_path, hlen, conns = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
body = open(body_path, "rb").read()
extra = b"" if hlen == "-" else b"Inference-Header-Content-Length: %s\r\n" % hlen.encode()
ctype = b"application/json" if hlen == "-" else b"application/octet-stream"
req = (b"POST /v2/models/simple/infer HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " + ctype +
       b"\r\n" + extra + b"Content-Length: %d\r\n\r\n" % len(body)) + body
socks = []
for _ in range(conns):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    socks.append([s, b""])

def read_one(c, i):
    s, buf = c
    while True:
        h = buf.find(b"\r\n\r\n")
        if h >= 0:
            head = buf[:h].decode("latin-1")
            cl = [int(l.split(":", 1)[1]) for l in head.split("\r\n") if l.lower().startswith("content-length:")]
            if cl and len(buf) >= h + 4 + cl[0]:
                break
        chunk = s.recv(65536)
        if not chunk:
            sys.exit("connection closed")
        buf += chunk
    status = head.split(" ")[1]
    if status != "200":
        sys.exit(f"request {i}: status {status}: {buf[h + 4:h + 4 + cl[0]]!r}")
    c[1] = buf[h + 4 + cl[0]:]
    return buf[h + 4:h + 4 + cl[0]]

sent = 0
while sent < n:
    k = min(conns, n - sent)
    for c in socks[:k]:
        c[0].sendall(req)
    for c in socks[:k]:
        last = read_one(c, sent)
        sent += 1
want0, want1 = list(range(1, 17)), list(range(-1, 15))
if hlen == "-":
    import json
    out = {o["name"]: o["data"] for o in json.loads(last)["outputs"]}
    got0, got1 = out["OUTPUT0"], out["OUTPUT1"]
else:
    got0, got1 = list(struct.unpack("<16i", last[-128:-64])), list(struct.unpack("<16i", last[-64:]))
if got0 != want0 or got1 != want1:
    sys.exit(f"wrong values: {got0} {got1}")
PY

nice -n 19 valgrind --tool=callgrind --collect-systime=yes --collect-atstart=yes \
  --callgrind-out-file="$work/cg.out" "$tide" serve --model-repository "$work/repo" \
  --host 127.0.0.1 --http-port 0 --grpc-port -1 --metrics-port 0 --http-threads 1 --drain-delay 0 \
  --log-level warn ${TIDE_ARGS:-} >"$work/serve.out" 2>"$work/serve.log" &
vpid=$!
for _ in $(seq 600); do grep -q listening "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/.*"http_port":\([0-9]*\).*/\1/p' "$work/serve.out")
if [ -z "$port" ]; then echo "tide serve did not start under valgrind:" >&2; tail -20 "$work/serve.log" >&2; exit 2; fi

status=0
part=0
for mode in $modes; do
  case "$mode" in
    json) body="$work/body.json"; hlen="-"; conns=1; budget="$BUDGET_JSON" ;;
    binary) body="$work/body.bin"; hlen="$(cat "$work/body.bin.hlen")"; conns=1; budget="$BUDGET_BINARY" ;;
    json64) body="$work/body.json"; hlen="-"; conns=64; budget="$BUDGET_JSON64" ;;
    *) echo "unknown mode '$mode'" >&2; exit 2 ;;
  esac
  python3 "$work/client.py" "$port" "$warmup" "$body" "$hlen" "$conns"
  callgrind_control -z "$vpid" >/dev/null 2>&1
  python3 "$work/client.py" "$port" "$requests" "$body" "$hlen" "$conns"
  callgrind_control -d "$vpid" >/dev/null 2>&1
  part=$((part + 1))
  dump="$work/cg.out.$part"
  for _ in $(seq 100); do [ -s "$dump" ] && break; sleep 0.1; done
  echo "== $mode: $requests requests of simple on $conns connection(s), after $warmup of warm-up"
  python3 "$root/bench/callgrind_summary.py" "$dump" "$requests" --top "$top"
  ir=$(python3 "$root/bench/callgrind_summary.py" "$dump" "$requests" --json |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["ir_per_request"])')
  if [ "$ir" -gt "$budget" ]; then
    echo "OVER BUDGET: $mode $ir Ir/request > $budget" >&2
    status=1
  else
    echo "within budget: $mode $ir Ir/request <= $budget"
  fi
  [ -n "${KEEP_DUMPS:-}" ] && cp "$dump" "$KEEP_DUMPS.$mode"
done
exit "$status"
