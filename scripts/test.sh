#!/usr/bin/env bash
# Installs every dependency, builds tide and runs all its tests.
# This is the README's test command and what .ci/run calls.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
build="${BUILD_DIR:-$root/build}"
(cd "$build" && ctest -j2 --output-on-failure --timeout 600 "$@")
# A short fuzzing pass over the untrusted-input parsers (FUZZ_SECONDS=0 skips).
if [ "${FUZZ_SECONDS:-15}" != 0 ]; then
  "$root/scripts/fuzz.sh" --seconds "${FUZZ_SECONDS:-15}"
fi
