#!/usr/bin/env bash
# Formats tide's C++ sources with clang-format (.clang-format at the root).
#   scripts/format.sh          # rewrite files in place
#   scripts/format.sh --check  # list files that are not formatted; exit 1 if any
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
mapfile -t files < <(git ls-files '*.cc' '*.h' | grep -vE '^(build|node_modules)/')
if [ "${1:-}" = "--check" ]; then
  bad=0
  for f in "${files[@]}"; do
    if ! clang-format --style=file "$f" | cmp -s - "$f"; then
      echo "not formatted: $f"
      bad=1
    fi
  done
  [ $bad = 0 ] && echo "all ${#files[@]} files formatted"
  exit $bad
fi
clang-format --style=file -i "${files[@]}"
