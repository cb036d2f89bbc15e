#!/usr/bin/env bash
# Builds deploy/Dockerfile for real with Debian's podman (no registry, no
# Docker daemon) or, with --engine docker, Docker's BuildKit, and runs the
# image the way deploy/k8s runs it:
#  1. installs podman (or docker.io), runc and debootstrap if missing (apt);
#  2. makes the Dockerfile's base image, debian:bookworm-slim, with
#     `debootstrap --variant=minbase bookworm` from this machine's Debian
#     mirror, trimmed as Debian's slim images are (no docs, man pages, locales)
#     and imported under that tag (`podman import`, `docker import`; reused
#     when it exists);
#  3. `podman build --network host` (or `DOCKER_BUILDKIT=1 docker build
#     --network host`) of the image (tide:0.1.0), the baked-model
#     variant (--build-arg TIDE_MODELS=examples: tide:0.1.0-models) and,
#     unless --no-sim, the variant without the TorchScript backend
#     (--build-arg TIDE_WITH_TORCH=OFF: tide:0.1.0-sim), under nice -n 19;
#  4. runs each with a read-only root filesystem, all capabilities dropped and
#     no new privileges (as the Deployment's securityContext), tide:0.1.0 with
#     the model repository mounted read-only in the kubelet's ConfigMap-volume
#     layout (symlinks through ..data), and checks: readiness, a V2 inference
#     per model, /metrics, the user (id: 10001), that / is not writable, and
#     SIGTERM draining (a request in flight at SIGTERM is answered; exit 0);
#  5. reports each image's size and the build times.
# One CHECK line per check (ok or FAIL); exits 1 if any failed.
#
#   deploy/check/image.sh [--engine podman|docker] [--jobs N] [--no-sim] [--keep] [--context DIR]
#
# --engine docker: a running Docker daemon (dockerd) builds and runs the
#   images; its client is $DOCKER (default docker), which must support
#   DOCKER_BUILDKIT=1 (Debian's docker.io does; Docker 23 and later need the
#   buildx plugin). Default: podman, which needs no daemon.
# --jobs N: the compile's parallelism inside the build (default 2).
# --context DIR: build DIR (a tide checkout or export, e.g. `git archive HEAD`
#   unpacked) instead of this checkout.
# --keep: leave the containers (stopped) for inspection.
# Environment: TIDE_IMAGE_WORK (default /var/tmp/tide-image) holds the base
# root filesystem and build logs (build-ENGINE-TAG.log); PODMAN_STORAGE_DRIVER, e.g. vfs where
# overlay does not work; TIDE_IMAGE_ULIMITS, podman run's --ulimit flags
# (default: nofile 16384, nproc 8192). Needs root (or sudo) for apt, debootstrap and podman.
# Takes long: the build compiles tide inside the container.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
jobs=2
engine=podman
sim=1
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --jobs) jobs="${2:?--jobs needs a number}"; shift 2 ;;
    --engine) engine="${2:?--engine needs podman or docker}"; shift 2 ;;
    --no-sim) sim=0; shift ;;
    --keep) keep=1; shift ;;
    --context) root="$(cd "${2:?--context needs a folder}" && pwd)"; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "image.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
done
case "$engine" in
  podman|docker) ;;
  *) echo "image.sh: --engine is podman or docker, not $engine" >&2; exit 2 ;;
esac
work="${TIDE_IMAGE_WORK:-/var/tmp/tide-image}"
tag=tide:0.1.0
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
say() { echo "== $(date -u +%H:%M:%S) $*"; }
status=0
check() {  # check NAME COMMAND...: one CHECK line
  local name="$1"; shift
  local out
  if out="$("$@" 2>&1)"; then
    echo "CHECK ok    $name${out:+: $out}"
  else
    echo "CHECK FAIL  $name: $out"
    status=1
  fi
}
# The engine's command line. podman on cgroup v1 machines: the cgroupfs
# manager (no systemd session) and runc.
if [ "$engine" = podman ]; then
  cli=(podman --cgroup-manager=cgroupfs --runtime=runc
       ${PODMAN_STORAGE_DRIVER:+--storage-driver="$PODMAN_STORAGE_DRIVER"})
else
  cli=("${DOCKER:-docker}")
fi
pm() { $sudo "${cli[@]}" "$@"; }

# 1. Tools.
missing=()
for p in $([ "$engine" = podman ] && echo podman || echo docker.io) runc debootstrap curl python3; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ "$engine" = docker ]; then
  server="$(pm version --format '{{.Server.Version}}' 2>/dev/null)" || {
    echo "image.sh: no Docker daemon answers ${cli[*]}: start it (systemctl start docker, or dockerd & where there is no systemd)" >&2
    exit 1
  }
  say "docker client $(pm version --format '{{.Client.Version}}'), daemon $server, $(runc --version | head -1)"
else
  say "$(pm --version), $(runc --version | head -1)"
fi

# 2. The base image, named as the Dockerfile's FROM.
base="$(awk 'toupper($1) == "FROM" && $2 !~ /^--/ { print $2 }' "$root/deploy/Dockerfile" | grep ':' | sort -u)"
[ "$(wc -l <<<"$base")" = 1 ] || { echo "image.sh: expected one base image in deploy/Dockerfile, found: $base" >&2; exit 1; }
if pm image inspect "$base" >/dev/null 2>&1; then
  say "base image $base exists: reused"
else
  # The Debian mirror apt uses here (deb822 URIs: or one-line deb entries).
  uris="$({ cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null || true; } |
    sed -nE 's/^URIs:[[:space:]]*//p; s/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+).*/\2/p' | tr ' ' '\n')"
  mirror="$(grep -E '/debian/?$' <<<"$uris" | head -1 || true)"
  security="$(grep -E '/debian-security/?$' <<<"$uris" | head -1 || true)"
  [ -n "$mirror" ] || { echo "image.sh: no Debian mirror (…/debian) in /etc/apt/sources.list*" >&2; exit 1; }
  rootfs="$work/rootfs"
  $sudo mkdir -p "$work"
  if [ ! -e "$work/rootfs.done" ]; then
    say "debootstrap --variant=minbase bookworm from $mirror (a few minutes)"
    $sudo rm -rf "$rootfs"
    $sudo nice -n 19 debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
      { tail -n 20 "$work/debootstrap.log"; exit 1; }
    $sudo touch "$work/rootfs.done"
  fi
  say "trimming the root filesystem as debian:bookworm-slim is, and importing it as $base"
  # What Debian's slim images leave out (debuerreotype-slimify), now and for
  # every later install; apt keeps no downloaded packages.
  $sudo tee "$rootfs/etc/dpkg/dpkg.cfg.d/docker" >/dev/null <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
EOF
  $sudo tee "$rootfs/etc/apt/apt.conf.d/docker-clean" >/dev/null <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";
EOF
  $sudo find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  $sudo find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
  $sudo rm -rf "$rootfs"/usr/share/{groff,info,linda,locale,man}/* "$rootfs"/usr/share/lintian/overrides/*
  # The same suites as the official image (and as this machine).
  $sudo rm -f "$rootfs/etc/apt/sources.list"
  {
    printf 'Types: deb\nURIs: %s\nSuites: bookworm bookworm-updates\nComponents: main\n' "$mirror"
    printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
    if [ -n "$security" ]; then
      printf '\nTypes: deb\nURIs: %s\nSuites: bookworm-security\nComponents: main\n' "$security"
      printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
    fi
  } | $sudo tee "$rootfs/etc/apt/sources.list.d/debian.sources" >/dev/null
  $sudo rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/var/log/*.log "$rootfs"/var/log/apt/*
  $sudo tar -C "$rootfs" --numeric-owner -c . |
    pm import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'CMD ["bash"]' - "$base" >/dev/null
fi

# 3. The images.
declare -A built_s=()
build() {  # build TAG BUILD-ARGS...
  local t="$1"; shift
  local log="$work/build-$engine-${t//[:\/]/_}.log" start steps cached
  start=$(date +%s)
  say "$engine build${*:+ $*} -t $t (log: $log)"
  # BuildKit, as Docker 23 and later build by default, and with the whole
  # log (--progress plain).
  if ! nice -n 19 $sudo env DOCKER_BUILDKIT=1 "${cli[@]}" build \
       $([ "$engine" = docker ] && echo --progress=plain) --network host \
       -f "$root/deploy/Dockerfile" --build-arg JOBS="$jobs" "$@" -t "$t" "$root" >"$log" 2>&1; then
    tail -n 30 "$log"
    echo "CHECK FAIL  $engine build $* -t $t (see $log)"
    exit 1
  fi
  built_s[$t]=$(( $(date +%s) - start ))
  # (grep -c exits 1 when it counts 0: `|| true`, or set -e ends the script.)
  if [ "$engine" = podman ]; then
    steps=$(grep -c '] STEP ' "$log" || true); cached=$(grep -c '^--> Using cache' "$log" || true)
  else  # BuildKit: '#N [stage i/n] ...' once per step run or cached, '#N CACHED'
    steps=$(grep -E '^#[0-9]+ \[[^]]*[0-9]+/[0-9]+\]' "$log" | awk '{print $1}' | sort -u | wc -l)
    cached=$(grep -cE '^#[0-9]+ CACHED' "$log" || true)
  fi
  echo "CHECK ok    $engine build${*:+ $*} -t $t: $steps steps ($cached cached) in ${built_s[$t]} s"
}
$sudo mkdir -p "$work"
build "$tag"
build "$tag-models" --build-arg TIDE_MODELS=examples

# 4. Run and check (the -sim variant is built after the others are checked).
tmp="$(mktemp -d)"
containers=()
cleanup() {
  for c in "${containers[@]}"; do
    if [ $keep = 1 ]; then pm stop -t 0 "$c" >/dev/null 2>&1 || true; else pm rm -f "$c" >/dev/null 2>&1 || true; fi
  done
  $sudo rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# A model repository laid out as deploy/k8s/base mounts it: each model a
# volume at /models/<model> as the kubelet writes ConfigMap items (every entry
# a symlink through ..data into a timestamped folder). The models are the
# baked image's /models (examples/models with the model.pt files its build
# wrote) plus `slow`, the simulated model sleeping 3 s, for the drain check.
kubelet_repo() {  # kubelet_repo DIR MODEL...
  local dir="$1"; shift
  local stamp="..2026_01_01_00_00_00.000000001" c m e
  mkdir -p "$tmp/baked"
  if [ ! -d "$tmp/baked/simulated" ]; then
    c="$(pm create "$tag-models")"
    pm cp "$c:/models/." "$tmp/baked/" >/dev/null
    pm rm "$c" >/dev/null
    mkdir -p "$tmp/baked/slow/1"
    sed -e 's/^name: "simulated"/name: "slow"/' -e 's/string_value: "cpu"/string_value: "sleep"/' \
        -e 's/"compute_ms" value { string_value: "[0-9]*" }/"compute_ms" value { string_value: "3000" }/' \
        "$tmp/baked/simulated/config.pbtxt" >"$tmp/baked/slow/config.pbtxt"
    cp "$tmp/baked/simulated/sample_request.json" "$tmp/baked/slow/"
  fi
  for m in "$@"; do
    mkdir -p "$dir/$m"
    cp -r "$tmp/baked/$m" "$dir/$m/$stamp"
    ln -s "$stamp" "$dir/$m/..data"
    for e in "$dir/$m/$stamp"/*; do ln -s "..data/$(basename "$e")" "$dir/$m/$(basename "$e")"; done
  done
  chmod -R a+rX "$dir"
}

# POST each model's sample_request.json; the answer must name the model and
# carry every output of its config with shape and data.
infer() {  # infer HTTP_PORT REPO_DIR MODEL
  python3 - "$@" <<'EOF'
import json, re, sys, time, urllib.request
port, repo, model = sys.argv[1:]
body = open(f"{repo}/{model}/sample_request.json", "rb").read()
config = open(f"{repo}/{model}/config.pbtxt").read()
config = re.sub(r"#.*", "", config)
start = re.search(r"^output\s*\[", config, re.M).end()
depth, end = 1, start
while depth:  # the output [ ... ] block, nested brackets included
    depth += {"[": 1, "]": -1}.get(config[end], 0)
    end += 1
want = re.findall(r'\bname:\s*"([^"]+)"', config[start:end])
for _ in range(600):  # the model's own readiness first (at most 60 s)
    try:
        if urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/models/{model}/ready", timeout=5).status == 200: break
    except OSError: pass
    time.sleep(0.1)
req = urllib.request.Request(f"http://127.0.0.1:{port}/v2/models/{model}/infer", body, {"Content-Type": "application/json"})
with urllib.request.urlopen(req, timeout=60) as r:
    answer = json.load(r)
got = {o["name"]: o for o in answer["outputs"]}
assert answer["model_name"] == model, answer["model_name"]
for name in want:
    assert name in got and got[name]["data"], f"output {name} missing in {sorted(got)}"
print(", ".join(f'{n} {got[n]["datatype"]}{got[n]["shape"]}' for n in sorted(got)))
EOF
}
ready() {  # ready HTTP_PORT: /v2/health/ready within 120 s
  for _ in $(seq 600); do
    curl -fsS -o /dev/null "http://127.0.0.1:$1/v2/health/ready" 2>/dev/null && { echo "ready"; return 0; }
    sleep 0.2
  done
  echo "not ready after 120 s"; return 1
}
metrics() {  # metrics METRICS_PORT MODEL...: each model counted a successful request
  local text m
  text="$(curl -fsS "http://127.0.0.1:$1/metrics")" || return 1
  shift
  for m in "$@"; do
    grep -E "^tide_inference_requests_total\{[^}]*model=\"$m\"" <<<"$text" | grep -qE 'outcome="success"\} [1-9]' ||
      { echo "no successful request in tide_inference_requests_total{model=\"$m\"}"; return 1; }
  done
  echo "$(grep -c '^tide_' <<<"$text") tide_ samples"
}
read_only() {  # read_only CONTAINER: / and /models are not writable
  if pm exec "$1" sh -c 'touch /usr/local/bin/x || touch /models/x' 2>/dev/null; then echo "wrote to the image"; return 1; fi
  echo "touch /usr/local/bin/x and /models/x refused"
}
drain() {  # drain CONTAINER HTTP_PORT REPO_DIR: SIGTERM with a 3 s request in flight
  local c="$1" port="$2" repo="$3" code rc
  curl -sS -o "$tmp/drain.out" -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary @"$repo/slow/sample_request.json" "http://127.0.0.1:$port/v2/models/slow/infer" >"$tmp/drain.code" &
  local curl_pid=$!
  sleep 1
  pm kill --signal TERM "$c" >/dev/null
  wait $curl_pid || true
  code="$(cat "$tmp/drain.code")"
  rc="$(timeout 60 $sudo "${cli[@]}" wait "$c")" || rc="(still running 60 s after SIGTERM)"
  [ "$code" = 200 ] && [ "$rc" = 0 ] && { echo "request in flight answered 200, exit code 0"; return 0; }
  echo "request in flight answered $code, exit code $rc"; return 1
}
# run_case NAME IMAGE REPO_DIR|"" MODEL...
run_case() {
  local name="$1" image="$2" repo="$3"; shift 3
  local http grpc met c mount=() m
  http=$(free_port); grpc=$(free_port); met=$(free_port)
  [ -n "$repo" ] && mount=(-v "$repo:/models:ro")
  say "$name: $image${repo:+ with $repo mounted at /models}, ports $http/$grpc/$met"
  # The Deployment's securityContext; host network, so the ports are chosen
  # free here (the image's defaults are 8000/8001/8002).
  # Explicit ulimits: podman's defaults (nofile/nproc 1048576) are refused
  # where root cannot raise its limits (runc: "error setting rlimit").
  pm rm -f "tide-image-check-$name" >/dev/null 2>&1 || true
  c="$(pm run -d --name "tide-image-check-$name" --network host --read-only \
       --cap-drop=ALL --security-opt=no-new-privileges ${TIDE_IMAGE_ULIMITS:---ulimit nofile=16384:16384 --ulimit nproc=8192:8192} \
       "${mount[@]}" "$image" \
       --model-repository=/models --http-port="$http" --grpc-port="$grpc" --metrics-port="$met" \
       --drain-delay=1 --shutdown-timeout=30 --log-format=json)"
  containers+=("$c")
  check "$name: ready" ready "$http"
  local src="${repo:-$tmp/$name-models}"
  if [ -z "$repo" ]; then mkdir -p "$src"; pm cp "$c:/models/." "$src/" >/dev/null; fi
  for m in "$@"; do check "$name: V2 infer $m" infer "$http" "$src" "$m"; done
  check "$name: /metrics" metrics "$met" "$@"
  check "$name: runs as" pm exec "$c" id
  local who; who="$(pm exec "$c" id -u):$(pm exec "$c" id -g)"
  check "$name: non-root user 10001:10001" test "$who" = 10001:10001
  check "$name: read-only root filesystem" read_only "$c"
  if [ -e "$src/slow/config.pbtxt" ]; then check "$name: SIGTERM drains" drain "$c" "$http" "$src"
  else pm stop -t 30 "$c" >/dev/null; fi
  [ $status = 0 ] || pm logs --tail 20 "$c" 2>&1 | sed 's/^/  log: /'
}

kubelet_repo "$tmp/volume" simple mlp cnn simulated slow
run_case configmap "$tag" "$tmp/volume" simple mlp cnn simulated slow
run_case baked "$tag-models" "" simple mlp cnn simulated
if [ $sim = 1 ]; then
  build "$tag-sim" --build-arg TIDE_WITH_TORCH=OFF
  kubelet_repo "$tmp/volume-sim" simulated slow
  run_case sim "$tag-sim" "$tmp/volume-sim" simulated slow
fi

# 5. Sizes.
say "sizes ($engine image inspect .Size; base made by debootstrap, see --help)"
for t in "$base" "$tag" "$tag-models" $([ $sim = 1 ] && echo "$tag-sim"); do
  size="$(pm image inspect --format '{{.Size}}' "$t")"
  printf 'SIZE %-28s %6s MB%s\n' "$t" "$((size / 1000000))" "${built_s[$t]:+  (built in ${built_s[$t]} s)}"
done
[ $status = 0 ] && say "image check: OK" || say "image check: FAILED"
exit $status
