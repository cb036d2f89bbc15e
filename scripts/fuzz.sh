#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) into build-fuzz/ and
# runs each for SECONDS (default 20) on its seed corpus in fuzz/corpus/.
#   scripts/fuzz.sh [SECONDS]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-20}"
build="${FUZZ_BUILD_DIR:-$root/build-fuzz}"
if [ ! -f "$build/CMakeCache.txt" ]; then
  CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DTIDE_FUZZ=ON -DTIDE_BUILD_TESTS=OFF \
    -DTIDE_BUILD_BENCH=OFF -DTIDE_WITH_TORCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
targets=(v2_codec_fuzz model_config_fuzz router_fuzz http_transport_fuzz prometheus_parser_fuzz
  http_response_fuzz)
flock /tmp/tide-build.lock cmake --build "$build" -j "${JOBS:-2}" --target "${targets[@]}"
status=0
for t in "${targets[@]}"; do
  name="${t%_fuzz}"
  work="$(mktemp -d)"
  cp "$root/fuzz/corpus/$name/"* "$work/"
  echo "fuzz: $t for ${seconds}s"
  if ! "$build/fuzz/$t" -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 "$work" \
      >"$work.log" 2>&1; then
    echo "fuzz: $t FAILED"; tail -40 "$work.log"; status=1
  else
    grep -E "^stat::number_of_executed_units" "$work.log" | sed "s/^/  $t /"
  fi
  rm -rf "$work" "$work.log"
done
exit $status
