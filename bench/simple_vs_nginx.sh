#!/usr/bin/env bash
# `simple` over HTTP/JSON against nginx answering with simple's response as a
# fixed reply, at the same concurrency, in the same run (issue 17's goal:
# tide >= 0.75x nginx at c=64).
#
#   bench/simple_vs_nginx.sh [--concurrency C] [--duration S] [--repeat R] [--http-threads N]
#                            [--clients "http_load wrk"]
#
# Starts `tide serve` with only examples/models/simple (libtorch, as shipped)
# and Debian's nginx (one worker, `return 200` with the exact body tide
# returns for the example's sample_request.json, Content-Type
# application/json). Both run for the whole script; windows alternate between
# them (tide first in odd repeats, nginx first in even ones) with each client:
# bench/http_load (one epoll thread; also the server's CPU time per request)
# and wrk (one thread, a POST of the same body). Prints every window, then per
# client the medians and the median of the per-repeat ratios tide/nginx.
# Nothing is pinned: the servers and the client share the machine's cores.
# TIDE_ARGS adds arguments to `tide serve` (e.g. TIDE_ARGS="--inline-execute-max-us 0").
# Exit status 0 whatever the ratio (a measurement); 2 if something could not run.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=bench/lib/nginx.sh
. "$root/bench/lib/nginx.sh"
build="${BUILD_DIR:-$root/build}"
concurrency=64
duration=3
repeat=5
http_threads=1
clients="http_load wrk"
while [ $# -gt 0 ]; do
  case "$1" in
    --concurrency) concurrency="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --repeat) repeat="$2"; shift 2 ;;
    --http-threads) http_threads="$2"; shift 2 ;;
    --clients) clients="$2"; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "simple_vs_nginx.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
for bin in /usr/sbin/nginx python3 curl; do
  command -v "$bin" >/dev/null 2>&1 || { echo "simple_vs_nginx.sh: missing $bin" >&2; exit 2; }
done
case " $clients " in *" wrk "*) command -v wrk >/dev/null || { echo "missing wrk" >&2; exit 2; } ;; esac
if [ -z "${NO_BUILD:-}" ]; then
  flock /tmp/tide-build.lock cmake --build "$build" -j2 --target tide http_load >/dev/null
fi

work="$(mktemp -d /tmp/tide-simple-nginx.XXXXXX)"
tide_pid=""
nginx_pid=""
cleanup() {
  for p in $tide_pid $nginx_pid; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/repo"
cp -r "$root/examples/models/simple" "$work/repo/"
cp "$root/examples/models/simple/sample_request.json" "$work/body.json"
"$build/apps/tide/tide" serve --model-repository "$work/repo" --host 127.0.0.1 --http-port 0 \
  --grpc-port -1 --metrics-port 0 --http-threads "$http_threads" --drain-delay 0 ${TIDE_ARGS:-} \
  >"$work/serve.out" 2>"$work/serve.log" &
tide_pid=$!
for _ in $(seq 300); do grep -q listening "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
tport=$(sed -n 's/.*"http_port":\([0-9]*\).*/\1/p' "$work/serve.out")
mport=$(sed -n 's/.*"metrics_port":\([0-9]*\).*/\1/p' "$work/serve.out")
[ -n "$tport" ] || { echo "tide serve did not start:" >&2; tail -5 "$work/serve.log" >&2; exit 2; }
curl -sf -o "$work/reply.json" -H 'Content-Type: application/json' --data-binary @"$work/body.json" \
  "http://127.0.0.1:$tport/v2/models/simple/infer" || { echo "simple did not answer" >&2; exit 2; }
grep -q "'" "$work/reply.json" && { echo "reply holds a quote nginx's config cannot take" >&2; exit 2; }
echo "tide's reply ($(wc -c <"$work/reply.json") bytes), nginx returns the same: $(cat "$work/reply.json")"

nport=$(free_port)
nginx_start "$work/nginx" "$nport" "  server {
    listen 127.0.0.1:$nport;
    location / { default_type application/json; return 200 '$(cat "$work/reply.json")'; }
  }" || exit 2
curl -sf -X POST -H 'Content-Type: application/json' --data-binary @"$work/body.json" \
  "http://127.0.0.1:$nport/v2/models/simple/infer" | cmp -s - "$work/reply.json" ||
  { echo "nginx does not answer with tide's reply" >&2; exit 2; }

body="$(cat "$work/body.json")"
python3 - "$work/post.lua" "$body" <<'PY'
import json, sys
open(sys.argv[1], "w").write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                             "wrk.body = " + json.dumps(sys.argv[2]) + "\n")
PY

# One window: prints {"server":..,"client":..,"rps":..,...} on stdout.
window() {  # server client
  local server="$1" client="$2" port pid mp
  if [ "$server" = tide ]; then port=$tport; pid=$tide_pid; mp=$mport; else port=$nport; pid=$nginx_pid; mp=0; fi
  if [ "$client" = http_load ]; then
    "$build/bench/http_load" --port "$port" --metrics-port "$mp" --server-pid "$pid" --model simple \
      --body "$work/body.json" --concurrency "$concurrency" --warmup 0.5 --duration "$duration" \
      --repeat 1 --label "$server" | tail -1 |
      python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); print(json.dumps({"server":sys.argv[1],"client":"http_load","rps":d["rps"],"p50_us":d["p50_us"],"p99_us":d["p99_us"],"server_cpu_us_per_req":d["server_cpu_us_per_req"],"client_cores":d["client_cores"],"errors":d["errors"]}))' "$server"
  else
    wrk -t1 -c"$concurrency" -d"${duration}s" -s "$work/post.lua" "http://127.0.0.1:$port/v2/models/simple/infer" |
      python3 -c '
import json, re, sys
t = sys.stdin.read()
rps = float(re.search(r"Requests/sec:\s*([\d.]+)", t).group(1))
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
print(json.dumps({"server": sys.argv[1], "client": "wrk", "rps": round(rps), "errors": int(bad.group(1)) if bad else 0}))' "$server"
  fi
}

echo "== $repeat repeats, c=$concurrency, ${duration}s windows; clients: $clients; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
: > "$work/windows.jsonl"
for r in $(seq "$repeat"); do
  for client in $clients; do
    if [ $((r % 2)) = 1 ]; then order="tide nginx"; else order="nginx tide"; fi
    for server in $order; do
      line="$(window "$server" "$client")"
      echo "repeat $r: $line"
      python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d["repeat"]=int(sys.argv[2]); print(json.dumps(d))' \
        "$line" "$r" >> "$work/windows.jsonl"
    done
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$work/windows.jsonl" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
for client in sorted({r["client"] for r in rows}):
    t = {r["repeat"]: r for r in rows if r["client"] == client and r["server"] == "tide"}
    n = {r["repeat"]: r for r in rows if r["client"] == client and r["server"] == "nginx"}
    ratios = sorted(t[k]["rps"] / n[k]["rps"] for k in t if k in n)
    mt = statistics.median(r["rps"] for r in t.values())
    mn = statistics.median(r["rps"] for r in n.values())
    line = (f"{client}: tide median {mt:.0f} req/s, nginx median {mn:.0f} req/s, ratio of medians "
            f"{mt / mn:.3f}, median of per-repeat ratios {statistics.median(ratios):.3f} "
            f"(range {ratios[0]:.3f}-{ratios[-1]:.3f})")
    if client == "http_load":
        ct = statistics.median(r["server_cpu_us_per_req"] for r in t.values())
        cn = statistics.median(r["server_cpu_us_per_req"] for r in n.values())
        line += f"; server CPU/request: tide {ct:.1f} us, nginx {cn:.1f} us"
    errors = sum(r["errors"] for r in t.values()) + sum(r["errors"] for r in n.values())
    print(line + (f"; ERRORS {errors}" if errors else ""))
PY
