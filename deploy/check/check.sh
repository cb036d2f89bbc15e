#!/usr/bin/env bash
# Checks tide's Kubernetes deployment, offline, in seconds:
#  - every kustomization (base and each overlay) renders with `kubectl kustomize`;
#    so does each folder of deploy/kserve and deploy/seldon (tide as a KServe
#    ServingRuntime with InferenceService examples, and as a Seldon Core 2
#    Server with Model examples; rendered as kserve-<folder>, seldon-<folder>);
#  - every rendered object validates against its API schema (Kubernetes, KEDA,
#    Prometheus Operator; KServe's and Seldon's CRD schemas from schemas/, see
#    schemas/README.md), unknown fields included;
#  - the manifests agree with each other and with contract.json (ports, probe
#    paths, flags, drain timing, metric names in Prometheus Adapter rules and
#    KEDA queries, the model ConfigMap against examples/models);
#  - the PromQL of the adapter rules (as the adapter expands them for each
#    HPA) and of the KEDA triggers parses and, on a synthetic busy and idle
#    cluster, gives the values an HPA needs (promtool test rules);
#  - Grafana dashboards (ConfigMaps labelled grafana_dashboard: "1", i.e.
#    deploy/grafana/tide.json) against Grafana's dashboard model, and each of
#    their queries on a synthetic cluster against its exact expected values
#    (promtool test rules; lib/grafana_checks.mjs);
#  - deploy/Dockerfile agrees with scripts/install-deps.sh, scripts/build.sh
#    and what the build produces;
#  - given the tide binary: its runtime packages are runtime libraries of
#    install-deps.sh's packages, `tide serve --help` knows every flag the
#    manifests use, and every HPA passes `tide hpa validate` (once it exists),
#    including the HPA KEDA creates for each ScaledObject.
#
#   deploy/check/check.sh [--k8s-dir DIR] [--kserve-dir DIR] [--seldon-dir DIR]
#                         [--dockerfile FILE] [TIDE_BINARY]
#
# --k8s-dir, --kserve-dir, --seldon-dir and --dockerfile check other copies of
# deploy/k8s, deploy/kserve, deploy/seldon and deploy/Dockerfile
# (broken_test.sh breaks copies on purpose).
# Prints one PROBLEM line per problem; exits 1 if there is any.
#
# DEPLOY_CHECK_CACHE=DIR keeps renders (keyed by every file a kustomization
# can read: render_keys.mjs) and promtool runs that passed (keyed by their
# inputs) in DIR, for runs over many near-copies (broken_test.sh). Use a
# fresh DIR per run: the keys do not cover the kubectl and promtool versions.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
k8s="$root/deploy/k8s"
kserve="$root/deploy/kserve"
seldon="$root/deploy/seldon"
dockerfile="$root/deploy/Dockerfile"
tide=""
while [ $# -gt 0 ]; do
  case "$1" in
    --k8s-dir) k8s="$(cd "${2:?--k8s-dir needs a folder}" && pwd)"; shift 2 ;;
    --kserve-dir) kserve="$(cd "${2:?--kserve-dir needs a folder}" && pwd)"; shift 2 ;;
    --seldon-dir) seldon="$(cd "${2:?--seldon-dir needs a folder}" && pwd)"; shift 2 ;;
    --dockerfile) dockerfile="${2:?--dockerfile needs a file}"; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    -*) echo "check.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
    *) tide="$1"; shift ;;
  esac
done

fail() { echo "deploy check: $*" >&2; exit 1; }
# kubectl (with kustomize >= v3.7, for components) is not in Debian 12: the
# machines tide is developed and tested on ship it; elsewhere the check is
# skipped (exit 77, ctest's SKIP_RETURN_CODE) with a message, not failed.
if ! command -v kubectl >/dev/null; then
  echo "deploy check: SKIPPED: kubectl not found; it renders the overlays (kubectl kustomize >= v3.7)." \
       "Install kubectl from the Kubernetes or Google Cloud packages (Debian 12's kubernetes-client 1.20" \
       "has a kustomize too old for components)." >&2
  exit 77
fi
command -v node >/dev/null || fail "node not found; install Node.js >= 18 (scripts/install-deps.sh does)"
[ -d "$here/node_modules/kubernetes-models" ] || fail "deploy/check/node_modules is missing; run scripts/install-deps.sh (it runs npm ci there)"
if [ -n "$tide" ]; then
  [ -x "$tide" ] || fail "tide binary '$tide' is not an executable"
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/render" "$tmp/hpa"
status=0
problem() { echo "PROBLEM $*"; status=1; }
oneline() { tr '\n' ' ' | sed -e 's/[[:space:]]*$//'; }  # a tool's message on one line

# Render every kustomization at once (kubectl takes ~0.1 s each).
cache="${DEPLOY_CHECK_CACHE:-}"
declare -A keys=()
if [ -n "$cache" ]; then
  mkdir -p "$cache"
  while IFS=$'\t' read -r dir key; do keys["$dir"]="$key"; done < <(
    node "$here/render_keys.mjs" "$k8s/base" "$k8s"/overlays/* "$kserve"/* "$seldon"/*)
fi
# Renders $1 into $2.yaml / $2.err / $2.rc; a render that succeeded is kept in
# the cache under its key ($3) and taken from there next time.
render() {
  local dir="$1" out="$2" key="${3:-}"
  if [ -n "$key" ] && [ -f "$cache/render-$key.yaml" ]; then
    cp "$cache/render-$key.yaml" "$out.yaml"; : >"$out.err"; echo 0 >"$out.rc"; return
  fi
  kubectl kustomize "$dir" >"$out.yaml" 2>"$out.err" && echo 0 >"$out.rc" || { echo $? >"$out.rc"; return; }
  if [ -n "$key" ]; then
    cp "$out.yaml" "$cache/render-$key.yaml.$BASHPID" && mv "$cache/render-$key.yaml.$BASHPID" "$cache/render-$key.yaml"
  fi
}
names=()
for dir in "$k8s/base" "$k8s"/overlays/* "$kserve"/* "$seldon"/*; do
  [ -d "$dir" ] || continue
  name="$(basename "$dir")"
  case "$dir" in
    "$kserve"/*) name="kserve-$name" ;;
    "$seldon"/*) name="seldon-$name" ;;
  esac
  names+=("$name")
  if [ -f "$dir/kustomization.yaml" ]; then
    render "$dir" "$tmp/render/$name" "${keys[$dir]:-}" &
  else
    echo "no kustomization.yaml in $dir" >"$tmp/render/$name.err"; echo 1 >"$tmp/render/$name.rc"
  fi
done
wait
renders=()
for name in "${names[@]}"; do
  if [ "$(cat "$tmp/render/$name.rc")" != 0 ]; then
    problem "$name: kubectl kustomize failed: $(oneline <"$tmp/render/$name.err")"
  else
    renders+=("$name=$tmp/render/$name.yaml")
  fi
done
[ ${#renders[@]} -gt 1 ] || problem "nothing rendered under $k8s (expected base and overlays/*)"

extra=()
if [ -n "$tide" ]; then
  plugins=()
  for so in "$(dirname "$tide")"/backends/*.so; do [ -f "$so" ] && plugins+=("$so"); done
  if "$root/deploy/runtime-packages.sh" "$tide" "${plugins[@]}" >"$tmp/runtime-packages.txt" 2>"$tmp/rp.err"; then
    extra+=(--runtime-packages "$tmp/runtime-packages.txt")
  else
    problem "deploy/runtime-packages.sh $tide: $(oneline <"$tmp/rp.err")"
  fi
fi
node "$here/check.mjs" --root "$root" --contract "$here/contract.json" --hpa-out "$tmp/hpa" \
  --dockerfile "$dockerfile" "${extra[@]}" "${renders[@]}" || status=1

# Whether the binary has subcommand "$@" (e.g. hpa validate): it is listed
# under "Subcommands:" in its parent's --help (CLI11 answers --help with the
# nearest existing parent's help, so `X --help` exiting 0 proves nothing).
has_subcommand() {
  local last="${!#}"
  "$tide" "${@:1:$#-1}" --help 2>/dev/null | sed -n '/^Subcommands:/,$p' | grep -qE "^ +$last( |$)"
}

if [ -n "$tide" ]; then
  # The flags the manifests pass must exist in the real `tide serve`.
  if has_subcommand serve && "$tide" serve --help >"$tmp/serve-help.txt" 2>&1; then
    for flag in $(node -e 'console.log(require(process.argv[1]).serve.flags.join(" "))' "$here/contract.json"); do
      grep -q -- "$flag\b" "$tmp/serve-help.txt" || problem "contract.json: tide serve --help does not list $flag"
    done
  else
    echo "NOTE: '$tide' has no 'serve' yet: serve flags not checked against the binary"
  fi
  # Every HPA through tide's own parser and validator (the same code that
  # runs them in `tide up`).
  if has_subcommand hpa validate; then
    for f in "$tmp"/hpa/*.yaml; do
      [ -e "$f" ] || continue
      out="$("$tide" hpa validate "$f" 2>&1)" || problem "$(basename "$f" .yaml): tide hpa validate: $(oneline <<<"$out")"
    done
  else
    echo "NOTE: '$tide' has no 'hpa validate' yet: HPAs not checked by tide"
  fi
  has_subcommand sim \
    || echo "NOTE: '$tide' has no 'sim' yet: the HPA targets are not yet replayed against traces"
else
  echo "NOTE: no tide binary given: runtime packages, serve flags and 'tide hpa validate' not checked"
fi
[ $status = 0 ] && echo "deploy check: OK"
exit $status
