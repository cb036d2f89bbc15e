#!/usr/bin/env bash
# Prints, one per line, the Debian packages that hold the shared libraries a
# binary links against (directly or through other libraries): what the
# runtime image must install. Used by deploy/Dockerfile at image build time
# and by deploy/check/check.sh on the locally built binary.
#   deploy/runtime-packages.sh build/apps/tide/tide
set -euo pipefail
bin="${1:?usage: runtime-packages.sh BINARY}"
[ -f "$bin" ] || { echo "runtime-packages.sh: no file '$bin'" >&2; exit 2; }
libs="$(ldd "$bin")" || { echo "runtime-packages.sh: ldd failed on '$bin'" >&2; exit 2; }
if grep -q 'not found' <<<"$libs"; then
  echo "runtime-packages.sh: unresolved libraries:" >&2
  grep 'not found' <<<"$libs" >&2
  exit 1
fi
# "libfoo.so.1 => /lib/x86_64-linux-gnu/libfoo.so.1 (0x...)" and the loader line
# "/lib64/ld-linux-x86-64.so.2 (0x...)". dpkg knows each file under one
# spelling only (/lib or /usr/lib on a merged-/usr system), so try both.
paths="$(awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' <<<"$libs" | sort -u)"
[ -n "$paths" ] || exit 0  # statically linked
spellings() {  # every name dpkg may have recorded for library path $1
  local real; real="$(readlink -f "$1")"
  printf '%s\n' "$1" "$real" "/usr$1" "/usr$real" "${1#/usr}" "${real#/usr}" | sort -u
}
candidates="$(while read -r p; do spellings "$p"; done <<<"$paths" | sort -u)"
# One dpkg query for all of them (dpkg -S reads its whole database per call).
# Lines look like "libc6:amd64: /lib/x86_64-linux-gnu/libc.so.6".
owners="$(xargs dpkg -S <<<"$candidates" 2>/dev/null | grep -v '^diversion' \
  | sed -E 's/^([^:, ]+)[^ ]* (.*)$/\1 \2/' || true)"
while read -r p; do
  owner=""
  while read -r c; do
    owner="$(awk -v f="$c" '$2 == f {print $1; exit}' <<<"$owners")"
    [ -n "$owner" ] && break
  done < <(spellings "$p")
  [ -n "$owner" ] || { echo "runtime-packages.sh: no Debian package owns $p" >&2; exit 1; }
  echo "$owner"
done <<<"$paths" | sort -u
