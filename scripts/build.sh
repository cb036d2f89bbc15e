#!/usr/bin/env bash
# Configures and builds tide (Release with debug info) into build/ with -j2.
#   scripts/build.sh [extra cmake -D options...]
# BUILD_DIR overrides the build folder. Builds serialise on a lock so that two
# builds never fight over the machine's two cores.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
jobs="${JOBS:-2}"
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
if [ ! -f "$build/CMakeCache.txt" ] || [ $# -gt 0 ]; then
  cmake -S "$root" -B "$build" "${generator[@]}" "$@" >/dev/null
fi
flock /tmp/tide-build.lock cmake --build "$build" -j "$jobs"
