#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) into build-fuzz/ and
# runs each in turn on its checked-in seed corpus (fuzz/corpus/<name>/, read
# only) plus a work corpus that persists between runs
# (build-fuzz/corpus/<name>/), with fuzz/<name>.dict when there is one.
#   scripts/fuzz.sh --minutes N [--targets a,b]   long campaign: N minutes each
#   scripts/fuzz.sh --seconds N [--targets a,b]   short pass (CI: 15 s each)
#   scripts/fuzz.sh N                             same as --seconds N
#   scripts/fuzz.sh --runs N [--targets a,b]      until N executions each
#     (e.g. --runs 10000000: the 10 M executions per target of a campaign);
#     with --seconds/--minutes too, whichever comes first
#   --workers N                                   N processes per target on
#     the same work corpus (each runs --runs/--seconds on its own; the
#     executions are summed): a long campaign on a machine with N idle cores
#   --summary FILE                                the summary's file (default
#     build-fuzz/fuzz-summary.txt), so that two campaigns on disjoint
#     targets can run side by side
# Targets are listed once, in fuzz/targets.txt. Prints the executions and the
# crashes of each target (also written to build-fuzz/fuzz-summary.txt; a
# slow-unit-* file, libFuzzer's note of an input over 10 s, is not counted); a
# crashing input is kept as build-fuzz/crashes/<name>/crash-*. Exits non-zero
# when any target crashed, leaked, timed out or ran out of memory.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds=20
runs=0
only=""
summary=""
time_given=0
workers=1
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) seconds=$(($2 * 60)); time_given=1; shift 2 ;;
    --seconds) seconds="$2"; time_given=1; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --summary) summary="$2"; shift 2 ;;
    --workers) workers="$2"; shift 2; [[ "$workers" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz: --workers takes a count of 1 or more" >&2; exit 2; } ;;
    --targets) only="$2"; shift 2 ;;
    [0-9]*) seconds="$1"; time_given=1; shift ;;
    *) echo "usage: scripts/fuzz.sh --minutes N | --seconds N | --runs N [--targets a,b] [--workers N] [--summary FILE]" >&2; exit 2 ;;
  esac
done
# --runs alone: no time limit (libFuzzer's -max_total_time=0).
[ "$runs" -gt 0 ] && [ "$time_given" = 0 ] && seconds=0
build="${FUZZ_BUILD_DIR:-$root/build-fuzz}"
if [ ! -f "$build/CMakeCache.txt" ]; then
  CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DTIDE_FUZZ=ON -DTIDE_BUILD_TESTS=OFF \
    -DTIDE_BUILD_BENCH=OFF -DTIDE_WITH_TORCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
names=()
while read -r name _; do
  case "$name" in "" | \#*) continue ;; esac
  if [ -z "$only" ] || [[ ",$only," == *",$name,"* ]] || [[ ",$only," == *",${name}_fuzz,"* ]]; then
    names+=("$name")
  fi
done <"$root/fuzz/targets.txt"
if [ ${#names[@]} -eq 0 ]; then
  echo "fuzz: no target matches '$only' (see fuzz/targets.txt)" >&2
  exit 2
fi
# Its own build folder, built under nice (no build lock): other builds on the
# machine keep priority. JOBS=1 on a shared 2-core machine.
# FUZZ_NO_BUILD=1 runs the binaries already built.
if [ "${FUZZ_NO_BUILD:-0}" != 1 ]; then
  nice -n 19 cmake --build "$build" -j "${JOBS:-2}" --target "${names[@]/%/_fuzz}"
fi

summary="${summary:-$build/fuzz-summary.txt}"
printf "%-18s %8s %14s %10s %8s %12s %8s\n" target seconds executions exec/s cpu_s exec/cpu_s \
  crashes | tee "$summary"
status=0
for name in "${names[@]}"; do
  work="$build/corpus/$name"
  crashes="$build/crashes/$name"
  mkdir -p "$work" "$crashes"
  dict=()
  [ -f "$root/fuzz/$name.dict" ] && dict=(-dict="$root/fuzz/$name.dict")
  log="$build/fuzz-$name.log"
  before=$(find "$crashes" -type f ! -name 'slow-unit-*' | wc -l)
  start=$(date +%s)
  # One libFuzzer process per worker, all on the same work corpus (libFuzzer
  # reloads it, so what one finds the others use); worker w > 1 logs to
  # fuzz-<name>.<w>.log.
  run_worker() {
    local wlog="$1"
    # CPU seconds (user + sys) besides wall seconds: on a shared machine the
    # rate per CPU second is the one to extrapolate from.
    TIMEFORMAT="%U %S"
    { time {
      rc=0
      nice -n "${FUZZ_NICE:-19}" "$build/fuzz/${name}_fuzz" -max_total_time="$seconds" -runs="${runs/#0/-1}" \
        -max_len="${FUZZ_MAX_LEN:-4096}" -timeout="${FUZZ_TIMEOUT:-30}" -print_final_stats=1 \
        -artifact_prefix="$crashes/" "${dict[@]}" "$work" "$root/fuzz/corpus/$name" >"$wlog" 2>&1 ||
        rc=$?
      echo "$rc" >"$wlog.rc"
    }; } 2>"$wlog.cpu"
  }
  logs=("$log")
  for ((w = 2; w <= workers; w++)); do logs+=("$build/fuzz-$name.$w.log"); done
  for wlog in "${logs[@]}"; do run_worker "$wlog" & done
  wait
  rc=0 cpu=0 execs=0
  for wlog in "${logs[@]}"; do
    wrc=$(cat "$wlog.rc")
    [ "$wrc" -ne 0 ] && rc="$wrc"
    cpu=$((cpu + $(awk '{printf "%d", $1 + $2 + 0.5}' "$wlog.cpu")))
    n=$(grep -E "^stat::number_of_executed_units" "$wlog" | awk '{print $2}' | tail -1)
    if [ -z "$n" ]; then  # a crash ends the run before the final stats
      n=$(grep -oE "^#[0-9]+" "$wlog" | tail -1 | tr -d '#')
    fi
    execs=$((execs + ${n:-0}))
  done
  took=$(($(date +%s) - start))
  found=$(($(find "$crashes" -type f ! -name 'slow-unit-*' | wc -l) - before))
  [ "$rc" -ne 0 ] && [ "$found" -eq 0 ] && found=1
  printf "%-18s %8d %14d %10d %8d %12d %8d\n" "$name" "$took" "$execs" \
    "$((execs / (took > 0 ? took : 1)))" "$cpu" "$((execs / (cpu > 0 ? cpu : 1)))" "$found" |
    tee -a "$summary"
  if [ "$rc" -ne 0 ]; then
    echo "fuzz: ${name}_fuzz FAILED (rc $rc; log ${logs[*]}; inputs in $crashes/)"
    grep -h -E -A25 "ERROR: |runtime error|==ERROR|deadly signal|Test unit written" "${logs[@]}" | head -50
    status=1
  fi
done
exit $status
