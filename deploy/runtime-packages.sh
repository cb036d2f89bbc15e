#!/usr/bin/env bash
# Prints, one per line, the Debian packages that hold the shared libraries a
# binary links against (directly or through other libraries): what the
# runtime image must install. Used by deploy/Dockerfile at image build time
# and by deploy/check/check.sh on the locally built binary.
#   deploy/runtime-packages.sh build/apps/tide/tide
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: runtime-packages.sh BINARY [PLUGIN.so ...]" >&2; exit 2; }
for bin in "$@"; do
  [ -f "$bin" ] || { echo "runtime-packages.sh: no file '$bin'" >&2; exit 2; }
done
libs="$(ldd "$@")" || { echo "runtime-packages.sh: ldd failed on '$*'" >&2; exit 2; }
if grep -q 'not found' <<<"$libs"; then
  echo "runtime-packages.sh: unresolved libraries:" >&2
  grep 'not found' <<<"$libs" >&2
  exit 1
fi
# "libfoo.so.1 => /lib/x86_64-linux-gnu/libfoo.so.1 (0x...)" and the loader line
# "/lib64/ld-linux-x86-64.so.2 (0x...)". dpkg knows each file under one
# spelling only (/lib or /usr/lib on a merged-/usr system), so try both.
# (With several files, ldd heads each list with "FILE:"; those lines are skipped.)
paths="$(awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// && $1 !~ /:$/ {print $1}' <<<"$libs" | sort -u)"
[ -n "$paths" ] || exit 0  # statically linked
# Every name dpkg may have recorded for each library: "library<TAB>spelling".
pairs="$(while read -r p; do
  real="$(readlink -f "$p")"
  printf '%s\n' "$p" "$real" "/usr$p" "/usr$real" "${p#/usr}" "${real#/usr}" | sort -u | sed "s|^|$p\t|"
done <<<"$paths")"
# One dpkg query for all spellings (dpkg -S reads its whole database per
# call). Its lines look like "libc6:amd64: /lib/x86_64-linux-gnu/libc.so.6".
owners="$(cut -f2 <<<"$pairs" | sort -u | xargs dpkg -S 2>/dev/null | grep -v '^diversion' \
  | sed -E 's/^([^:, ]+)[^ ]* (.*)$/\1\t\2/' || true)"
# Join: each library's owner, or an error naming the libraries nobody owns.
awk -F'\t' '
  FNR == NR { owner[$2] = $1; next }
  { libs[$1] = 1; if ($2 in owner) found[$1] = owner[$2] }
  END {
    bad = 0
    for (l in libs) {
      if (l in found) print found[l]
      else { print "runtime-packages.sh: no Debian package owns " l > "/dev/stderr"; bad = 1 }
    }
    exit bad
  }' <(printf '%s\n' "$owners") <(printf '%s\n' "$pairs") | sort -u
