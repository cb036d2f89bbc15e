#!/usr/bin/env bash
# Installs every dependency tide needs from Debian 12's packages (and, for the
# Kubernetes manifest checks, the npm registry). Idempotent: when everything is
# already present it prints nothing and exits 0.
#
#   scripts/install-deps.sh            # build, run and test dependencies
#   scripts/install-deps.sh --no-npm   # skip the npm packages (deploy checks)
#   scripts/install-deps.sh --build-only [--no-torch]
#       # only what building tide needs (no test, benchmark, fuzzing or
#       # formatting tools, Prometheus or npm): deploy/Dockerfile's build stage;
#       # --no-torch also skips libtorch (for -DTIDE_WITH_TORCH=OFF)
set -euo pipefail

want_npm=1
build_only=0
want_torch=1
for arg in "$@"; do
  case "$arg" in
    --no-npm) want_npm=0 ;;
    --build-only) build_only=1; want_npm=0 ;;
    --no-torch) want_torch=0 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "install-deps.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

# Build toolchain and libraries (see docs/dependencies.md for why each).
packages=(
  build-essential cmake ninja-build pkg-config git curl ca-certificates
  libabsl-dev                                   # Status/StatusOr, Mutex, annotations
  libboost-dev                                  # Beast/Asio (header-only)
  libprotobuf-dev protobuf-compiler             # config.pbtxt, V2 gRPC messages
  libgrpc++-dev protobuf-compiler-grpc          # gRPC frontend
  libsimdjson-dev nlohmann-json3-dev            # request parsing / config & reports
  zlib1g-dev                                    # gzip/deflate request bodies
  libcli11-dev libspdlog-dev libfmt-dev libyaml-cpp-dev
)
torch_packages=(
  libtorch-dev libopenblas0-openmp              # TorchScript backend + an optimised BLAS
)
# Tests, benchmarks, fuzzing, formatting: not needed to build tide itself.
test_packages=(
  libgtest-dev libgmock-dev libbenchmark-dev    # tests and benchmarks
  clang libclang-rt-14-dev clang-format         # fuzzing (libFuzzer, ASan/UBSan), formatting
  wrk nginx-light                               # benchmarks: reference client and server
  chromium                                      # dashboard tests (headless, loopback only)
  python3-grpcio python3-protobuf               # protocol tests with clients tide did not write
  python3-onnx                                  # bench/mlp_vs_node_onnx.sh: mlp's ONNX copy
)
[ $want_torch = 0 ] || packages+=("${torch_packages[@]}")
[ $build_only = 1 ] || packages+=("${test_packages[@]}")
# Node.js runs the Kubernetes manifest schema checks; any node >= 18 will do,
# so an existing one (e.g. from NodeSource) is kept.
if [ $want_npm = 1 ]; then
  command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# Prometheus is used by integration tests of the Prometheus metric source and
# the adapter rules; its recommends (node exporter etc.) are not wanted.
prom_missing=0
[ $build_only = 1 ] ||
  dpkg-query -W -f='${Status}' prometheus 2>/dev/null | grep -q 'install ok installed' || prom_missing=1

if [ ${#missing[@]} -gt 0 ] || [ $prom_missing = 1 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "install-deps: installing ${missing[*]} $([ $prom_missing = 1 ] && echo prometheus)" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  if [ ${#missing[@]} -gt 0 ]; then
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  if [ $prom_missing = 1 ]; then
    $sudo apt-get install -y -qq --no-install-recommends prometheus >/dev/null
    # The package starts a system service; tide's tests start their own.
    ($sudo systemctl disable --now prometheus >/dev/null 2>&1 || $sudo service prometheus stop >/dev/null 2>&1 || true)
  fi
fi

if [ $want_npm = 1 ]; then
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  if [ -f "$here/deploy/check/package.json" ] && [ ! -d "$here/deploy/check/node_modules/kubernetes-models" ]; then
    echo "install-deps: npm packages for deploy/check" >&2
    (cd "$here/deploy/check" && npm ci --silent --no-audit --no-fund >/dev/null)
  fi
fi
