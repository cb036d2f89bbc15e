#!/usr/bin/env bash
# tide load vs wrk against the same fixed-response nginx on 127.0.0.1.
#
#   bench/load_vs_wrk.sh [--connections N] [--threads N] [--duration S] [--runs N] [--tide PATH]
#
# Starts Debian's nginx (/usr/sbin/nginx) with its own config in a temp dir, on
# a free port, `daemon off`, one worker; runs wrk and `tide load --http-get /`
# alternately RUNS times with the same connections, threads and duration;
# prints every run, the medians and the ratio tide/wrk; stops nginx at the end.
# PIN=0 disables pinning nginx and the client to separate CPUs. The issue's
# bar: ratio >= 0.90. Exit status 0 whatever the ratio (it is a
# measurement); 2 if something could not run.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=bench/lib/nginx.sh
. "$root/bench/lib/nginx.sh"
connections=64
threads=1
duration=5
runs=3
tide="${TIDE:-$root/build/apps/tide/tide}"
while [ $# -gt 0 ]; do
  case "$1" in
    --connections) connections="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --tide) tide="$2"; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "load_vs_wrk.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
for bin in /usr/sbin/nginx wrk python3 "$tide"; do
  command -v "$bin" >/dev/null 2>&1 || { echo "load_vs_wrk.sh: missing $bin" >&2; exit 2; }
done

dir="$(mktemp -d /tmp/tide-load-vs-wrk.XXXXXX)"
nginx_pid=""
cleanup() {
  if [ -n "$nginx_pid" ]; then kill "$nginx_pid" 2>/dev/null || true; wait "$nginx_pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT

port="$(free_port)"
# With two or more CPUs, nginx gets CPU 0 and the client (wrk or tide) CPU 1,
# the same for both, so that neither competes with the server for a core.
server_pin=()
client_pin=()
if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ] && [ "${PIN:-1}" = 1 ]; then
  server_pin=(taskset -c 0)
  client_pin=(taskset -c 1)
fi
nginx_start "$dir" "$port" "  server {
    listen 127.0.0.1:$port;
    location / { default_type text/plain; return 200 \"hello, tide\\n\"; }
  }" "${server_pin[@]}" || exit 2
url="http://127.0.0.1:$port"
echo "nginx on $url (pid $nginx_pid); $connections connections, $threads thread(s), ${duration}s x $runs runs each${client_pin:+; nginx on CPU 0, clients on CPU 1 (PIN=0 to disable)}"

wrk_rates=()
tide_rates=()
run_wrk() {
  "${client_pin[@]}" wrk -t"$threads" -c"$connections" -d"${duration}s" "$url/" | awk '/^Requests\/sec:/ {print $2}'
}
run_tide() {
  "${client_pin[@]}" "$tide" load --url "$url" --http-get / --concurrency "$connections" --threads "$threads" \
    --duration "$duration" --csv "$dir/tide.csv" > "$dir/tide.txt"
  awk -F, 'NR==2 {print $8 " " $7}' "$dir/tide.csv"
}
for i in $(seq "$runs"); do
  # Alternate which goes first, so neither always gets the warmer machine.
  if [ $((i % 2)) = 1 ]; then w="$(run_wrk)"; tf="$(run_tide)"; else tf="$(run_tide)"; w="$(run_wrk)"; fi
  t="${tf% *}"
  failed="${tf#* }"
  printf 'run %d: wrk %10.0f req/s   tide load %10.0f req/s (failed %s)\n' "$i" "$w" "$t" "$failed"
  wrk_rates+=("$w")
  tide_rates+=("$t")
done
python3 - "${wrk_rates[*]}" "${tide_rates[*]}" <<'PY'
import statistics, sys
w = [float(x) for x in sys.argv[1].split()]
t = [float(x) for x in sys.argv[2].split()]
mw, mt = statistics.median(w), statistics.median(t)
pairs = sorted(b / a for a, b in zip(w, t))
print(f"median: wrk {mw:.0f} req/s, tide load {mt:.0f} req/s, ratio tide/wrk {mt / mw:.3f}"
      f" (median of per-run ratios {statistics.median(pairs):.3f})")
PY
