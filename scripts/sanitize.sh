#!/usr/bin/env bash
# Builds tide with sanitizers in its own build folder and runs its tests there.
#   scripts/sanitize.sh asan [--build-only|--test-only] [ctest args...]
#       ASan + UBSan (-DTIDE_SANITIZE=address,undefined) into build-asan/,
#       then the whole ctest suite.
#   scripts/sanitize.sh tsan [--build-only|--test-only] [gtest args...]
#       TSan (-DTIDE_SANITIZE=thread) into build-tsan/, then the test binaries
#       of tide's concurrent parts (TSAN_TESTS below).
# Both builds use -DTIDE_WITH_TORCH=OFF: the Debian libtorch is not built with
# sanitizers (its allocator and OpenMP runtime give ASan/TSan reports that are
# not tide's, and a TSan process cannot load an uninstrumented OpenMP safely),
# so the TorchScript backend and its tests are left out of these builds; the
# normal build and CI cover them.
# The build runs under `nice -n 19` with JOBS (default 1) jobs, outside the
# build lock, so other builds on the machine keep priority. Times of the build
# and of the test run are printed separately. Exit status: non-zero when the
# build fails or any test fails or a sanitizer reports.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
kind="${1:-}"
shift || true
mode=all
case "${1:-}" in
  --build-only) mode=build; shift ;;
  --test-only) mode=test; shift ;;
esac

# The concurrent parts under TSan: request queue and dynamic batcher
# (batching_test), the HTTP transport and V2 router (http_test), the HTTP
# client connections (http_client_test), the fleet's router (router_test), the
# autoscaler controller (autoscaler_test) and the fleet's replica supervisor
# (replica_supervisor_test), plus the inference service that feeds the
# batcher (core_test).
TSAN_TESTS=(core_test batching_test http_test http_client_test router_test autoscaler_test
  replica_supervisor_test)

case "$kind" in
  asan)
    build="${SANITIZE_BUILD_DIR:-$root/build-asan}"
    sanitize="address,undefined"
    # halt_on_error: the first report fails the test. detect_leaks: LSan at
    # exit. UBSan: print the stack and stop at the first report.
    export ASAN_OPTIONS="${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1:check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=1}"
    export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
    export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$root/scripts/sanitize/lsan.supp:print_suppressions=0}"
    ;;
  tsan)
    build="${SANITIZE_BUILD_DIR:-$root/build-tsan}"
    sanitize="thread"
    export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$root/scripts/sanitize/tsan.supp}"
    ;;
  *)
    echo "usage: scripts/sanitize.sh asan|tsan [--build-only|--test-only] [args...]" >&2
    exit 2
    ;;
esac

if [ "$mode" != test ]; then
  generator=()
  command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
  if [ ! -f "$build/CMakeCache.txt" ]; then
    # -O1: the usual sanitizer trade-off (readable stacks, tests not too slow).
    cmake -S "$root" -B "$build" "${generator[@]}" -DTIDE_SANITIZE="$sanitize" \
      -DTIDE_WITH_TORCH=OFF -DTIDE_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" >/dev/null
  fi
  targets=()
  if [ "$kind" = tsan ]; then
    targets=(--target "${TSAN_TESTS[@]}")
  fi
  # `time`: wall time and the CPU time of the compilers (user + sys), the
  # better measure on a machine shared with other builds.
  TIMEFORMAT="sanitize $kind: build: %R s wall, %U s user + %S s sys CPU"
  time nice -n 19 cmake --build "$build" -j "${JOBS:-1}" "${targets[@]}"
fi
[ "$mode" = build ] && exit 0

status=0
run_tests() {
  if [ "$kind" = asan ]; then
    (cd "$build" && nice -n 19 ctest -j "${CTEST_JOBS:-2}" --output-on-failure --timeout 900 "$@") ||
      status=$?
  else
    for t in "${TSAN_TESTS[@]}"; do
      bin="$(find "$build/src" "$build/tests" -name "$t" -type f -perm -u+x | head -1)"
      echo "tsan: $t"
      if ! (cd "$build" && nice -n 19 "$bin" "$@" >"$build/$t.tsan.log" 2>&1); then
        echo "tsan: $t FAILED (log: $build/$t.tsan.log)"
        grep -E -A30 "WARNING: ThreadSanitizer|\[  FAILED  \]" "$build/$t.tsan.log" | head -80
        status=1
      else
        grep -E "^\[  PASSED  \]" "$build/$t.tsan.log" | sed "s/^/  $t /"
      fi
    done
  fi
}
TIMEFORMAT="sanitize $kind: tests: %R s wall, %U s user + %S s sys CPU"
time run_tests "$@"
echo "sanitize $kind: status $status"
exit $status
