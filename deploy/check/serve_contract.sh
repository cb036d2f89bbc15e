#!/usr/bin/env bash
# Runs the real `tide serve` the way deploy/k8s/base runs it, and checks it
# against contract.json (server_contract.mjs): probes, one inference on the
# simulated model, every metric the manifests and adapter rules name, and a
# clean exit on SIGTERM within --drain-delay + --shutdown-timeout.
#
# The model repository is laid out as the kubelet lays out the ConfigMap
# volume of deploy/k8s/base (mounted at <repo>/simulated): config.pbtxt and
# 1/ are symlinks into a timestamped folder through `..data`, so the server's
# repository scan is tested against exactly what it will see in a pod.
#
#   deploy/check/serve_contract.sh TIDE_BINARY
# Exits 77 (ctest: skipped) while the binary has no `serve` subcommand.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
tide="${1:?usage: serve_contract.sh TIDE_BINARY}"
if ! "$tide" --help 2>/dev/null | sed -n '/^Subcommands:/,$p' | grep -qE '^ +serve( |$)'; then
  echo "SKIP: '$tide' has no 'serve' subcommand yet"
  exit 77
fi
tmp="$(mktemp -d)"
pid=""
cleanup() {
  [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# <repo>/simulated as the kubelet writes a ConfigMap volume with items
# config.pbtxt and 1/.keep.
model="$tmp/models/simulated"
stamp="..2026_01_01_00_00_00.000000001"
mkdir -p "$model/$stamp/1"
cp "$root/deploy/k8s/base/models/simulated/config.pbtxt" "$model/$stamp/config.pbtxt"
: >"$model/$stamp/1/.keep"
ln -s "$stamp" "$model/..data"
ln -s "..data/config.pbtxt" "$model/config.pbtxt"
ln -s "..data/1" "$model/1"

"$tide" serve --model-repository="$tmp/models" --host=127.0.0.1 --http-port=0 --grpc-port=0 --metrics-port=0 \
  --drain-delay=1 --shutdown-timeout=5 >"$tmp/stdout" 2>"$tmp/stderr" &
pid=$!

# Wait (at most 30 s) for {"event":"listening","http_port":N,"metrics_port":N}.
line=""
for _ in $(seq 300); do
  line="$(grep -m1 '"event":"listening"' "$tmp/stdout" || true)"
  [ -n "$line" ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$line" ]; then
  echo "FAIL: tide serve did not print its listening line; stderr:"; tail -n 20 "$tmp/stderr"; exit 1
fi
http_port="$(sed -E 's/.*"http_port":([0-9]+).*/\1/' <<<"$line")"
metrics_port="$(sed -E 's/.*"metrics_port":([0-9]+).*/\1/' <<<"$line")"

# Ready may follow listening by the model's load time (the startup probe's job).
for _ in $(seq 100); do
  node -e 'fetch(process.argv[1]).then(r => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))' \
    "http://127.0.0.1:$http_port/v2/health/ready" && break
  sleep 0.1
done
status=0
node "$here/server_contract.mjs" --http "http://127.0.0.1:$http_port" --metrics "http://127.0.0.1:$metrics_port" \
  --model simulated || status=1

# SIGTERM: drain (1 s), finish, exit 0 well within drain + shutdown timeout.
kill -TERM "$pid"
rc=""
for _ in $(seq 100); do
  if ! kill -0 "$pid" 2>/dev/null; then wait "$pid" && rc=0 || rc=$?; break; fi
  sleep 0.1
done
pid_done="$pid"; pid=""
if [ -z "$rc" ]; then
  echo "PROBLEM tide serve did not exit within 10 s of SIGTERM (--drain-delay=1 --shutdown-timeout=5)"
  kill -KILL "$pid_done" 2>/dev/null || true
  status=1
elif [ "$rc" != 0 ]; then
  echo "PROBLEM tide serve exited $rc after SIGTERM, expected 0; stderr:"; tail -n 20 "$tmp/stderr"
  status=1
fi
[ $status = 0 ] && echo "serve contract: OK"
exit $status
