#!/usr/bin/env bash
# Proves that check.sh catches broken manifests: copies deploy/k8s,
# deploy/grafana, deploy/kserve, deploy/seldon and deploy/Dockerfile into a
# temporary folder, breaks one
# thing per case, runs the same check.sh on the copy and expects it to fail
# with the case's message. The intact copy must pass first, so each failure is
# the case's own.
#   deploy/check/broken_test.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
command -v kubectl >/dev/null || { echo "broken_test: SKIPPED: kubectl not found (see check.sh)" >&2; exit 77; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# Renders and passed promtool runs are shared between the copies: a case
# re-renders only the kustomizations that read the file it broke.
export DEPLOY_CHECK_CACHE="$tmp/cache"

# file (below the copy) | perl -0 substitution | expected PROBLEM text
cases=(
  # Wrong types and missing required fields (API schemas).
  'k8s/overlays/hpa-cpu/hpa.yaml|s/maxReplicas: 10/maxReplicas: "ten"/|hpa-cpu: HorizontalPodAutoscaler/tide: schema: data/spec/maxReplicas must be integer'
  'k8s/overlays/hpa-queue-depth/hpa.yaml|s/  scaleTargetRef:\n(    .*\n)+//|hpa-queue-depth: HorizontalPodAutoscaler/tide: schema: data/spec must have required property scaleTargetRef'
  'k8s/base/deployment.yaml|s/containerPort: 8001/containerPort: "8001"/|base: Deployment/tide: schema: data/spec/template/spec/containers/0/ports/1/containerPort must be integer'
  'k8s/overlays/keda/scaledobject.yaml|s/minReplicaCount: 1/minReplicaCount: one/|keda: ScaledObject/tide: schema: data/spec/minReplicaCount must be integer'
  'k8s/components/servicemonitor/servicemonitor.yaml|s/interval: 15s/interval: 15/|servicemonitor: ServiceMonitor/tide: schema: data/spec/endpoints/0/interval must be string'
  # Unknown (misspelt) fields, which the API server would silently drop.
  'k8s/base/deployment.yaml|s/terminationGracePeriodSeconds:/terminationGracePeriodSecond:/|base: Deployment/tide: schema: unknown field /spec/template/spec/terminationGracePeriodSecond'
  'k8s/overlays/hpa-cpu/hpa.yaml|s/stabilizationWindowSeconds: 300/stabilisationWindowSeconds: 300/|hpa-cpu: HorizontalPodAutoscaler/tide: schema: unknown field /spec/behavior/scaleDown/stabilisationWindowSeconds'
  'k8s/overlays/keda/scaledobject.yaml|s/metricType: AverageValue/metricTipe: AverageValue/|keda: ScaledObject/tide: schema: unknown field /spec/triggers/0/metricTipe'
  # Rendering.
  'k8s/overlays/hpa-p99/kustomization.yaml|s/  - hpa.yaml/  - hpa.yaml\n  - missing.yaml/|hpa-p99: kubectl kustomize failed'
  'k8s/overlays/hpa-cpu/kustomization.yaml|s/^resources:/resourcez:/m|hpa-cpu: kubectl kustomize failed: '
  # The contract with tide serve.
  'k8s/base/deployment.yaml|s/path: \/v2\/health\/live/path: \/healthz/|base: Deployment/tide container tide: livenessProbe path is /healthz, tide serves /v2/health/live'
  'k8s/base/deployment.yaml|s/path: \/v2\/health\/live\n              port: metrics/path: \/v2\/health\/live\n              port: http/|base: Deployment/tide container tide: livenessProbe port http is not tide'"'"'s metrics port 8002'
  'k8s/base/deployment.yaml|s/terminationGracePeriodSeconds: 45/terminationGracePeriodSeconds: 30/|base: Deployment/tide: terminationGracePeriodSeconds 30 must exceed --drain-delay + --shutdown-timeout = 35 s'
  'k8s/base/deployment.yaml|s/--metrics-port=8002/--metrics-port=9090/|base: Deployment/tide container tide: --metrics-port=9090 but the metrics port is 8002'
  'k8s/base/deployment.yaml|s/--log-format=json/--log-fmt=json/|base: Deployment/tide container tide: tide serve has no flag --log-fmt'
  'k8s/base/deployment.yaml|s/prometheus.io\/port: "8002"/prometheus.io\/port: "8000"/|base: Deployment/tide: pod annotation prometheus.io/port is 8000, metrics are on 8002'
  'k8s/base/deployment.yaml|s/readOnlyRootFilesystem: true/readOnlyRootFilesystem: false/|base: Deployment/tide container tide: readOnlyRootFilesystem must be true'
  'k8s/base/service.yaml|s/port: 8002/port: 9090/|base: Service/tide: needs port metrics=8002 (has 9090)'
  'k8s/components/servicemonitor/servicemonitor.yaml|s/- port: metrics/- port: http/|servicemonitor: ServiceMonitor/tide: endpoints[0].port http is not the Service'"'"'s metrics port'
  'k8s/base/pdb.yaml|s/component: server\n\z/component: sever\n/|base: PodDisruptionBudget/tide: selector matches no rendered Deployment'"'"'s pods'
  'k8s/components/servicemonitor/kustomization.yaml|s/value: "false"/value: "true"/|servicemonitor: Deployment/tide: pod annotation prometheus.io/scrape must be "false" where a ServiceMonitor scrapes the pods'
  'k8s/base/pdb.yaml|s/maxUnavailable: 1/maxUnavailable: [1]/|base: PodDisruptionBudget/tide: schema: data/spec/maxUnavailable'
  # Model repository from the ConfigMap.
  'k8s/base/models/simulated/config.pbtxt|s/"40"/"60"/|ConfigMap/tide-model-simulated-'
  'k8s/base/deployment.yaml|s/path: 1\/.keep/path: v1\/.keep/|base: Deployment/tide: model simulated mounted from ConfigMap/tide-model-simulated-'
  # Metric names: adapter rules, HPA metrics, KEDA queries.
  'k8s/components/prometheus-adapter-rules/config.yaml|s/seriesQuery: .tide_inference_queue_depth/seriesQuery: '"'"'tide_queue_depth/|hpa-queue-depth: ConfigMap/tide-prometheus-adapter-rules: rules[0]: tide_queue_depth is not a metric tide exports'
  'k8s/components/prometheus-adapter-rules/config.yaml|s/rate\(<<.Series>>/rate(tide_inference_request_duration_bucket/|hpa-p99: ConfigMap/tide-prometheus-adapter-rules: externalRules[0]: metricsQuery reads tide_inference_request_duration_bucket, which tide does not export'
  'k8s/overlays/hpa-queue-depth/hpa.yaml|s/name: tide_inference_queue_depth/name: tide_queue/|hpa-queue-depth: HorizontalPodAutoscaler/tide: metrics[0]: no Prometheus Adapter rule here serves Pods metric tide_queue'
  'k8s/overlays/hpa-p99/hpa.yaml|s/name: tide_inference_request_duration_seconds_p99/name: tide_p99/|hpa-p99: HorizontalPodAutoscaler/tide: metrics[0]: no Prometheus Adapter externalRule here serves tide_p99'
  'k8s/overlays/keda/scaledobject.yaml|s/sum\(tide_inference_queue_depth/sum(tide_queue_depth/|keda: ScaledObject/tide: triggers[0]: query reads tide_queue_depth, which tide does not export'
  'k8s/overlays/keda/scaledobject.yaml|s/minReplicaCount: 1/minReplicaCount: 0/|keda: ScaledObject/tide: minReplicaCount 0 with only tide'"'"'s own metrics'
  'k8s/overlays/keda/scaledobject.yaml|s/        activationThreshold: "0.5"\n//|keda: ScaledObject/tide: triggers[0]: set metadata.activationThreshold'
  'k8s/overlays/keda/scaledobject.yaml|s/ignoreNullValues:/ignoreNullValue:/|keda: ScaledObject/tide: triggers[0]: unknown prometheus trigger metadata ignoreNullValue'
  # GPU utilization: the adapter's rules (tide's gauge, dcgm-exporter's) and KEDA.
  'k8s/overlays/hpa-gpu/hpa.yaml|s/name: tide_gpu_utilization_ratio/name: tide_gpu_util/|hpa-gpu: HorizontalPodAutoscaler/tide: metrics[0]: no Prometheus Adapter rule here serves Pods metric tide_gpu_util'
  'k8s/components/prometheus-adapter-rules/config.yaml|s/(DCGM_FI_DEV_GPU_UTIL\$"\n.*\n    metricsQuery: .)avg/${1}sum/|hpa-gpu-dcgm: PromQL of HPA tide Pods DCGM_FI_DEV_GPU_UTIL (adapter metricsQuery) gives the wrong values'
  'k8s/components/prometheus-adapter-rules/config.yaml|s/DCGM_FI_DEV_GPU_UTIL\{exported_namespace/DCGM_FI_DEV_GPU_UTILIZATION{exported_namespace/|hpa-gpu-dcgm: ConfigMap/tide-prometheus-adapter-rules: rules[2]: DCGM_FI_DEV_GPU_UTILIZATION is not a metric tide exports'
  'k8s/overlays/keda-gpu/scaledobject.yaml|s/threshold: "0.7"/threshold: "70%"/|keda-gpu: ScaledObject/tide: triggers[0]: metadata.threshold is not a number'
  'k8s/components/prometheus-adapter-rules/config.yaml|s/metricsQuery: .sum/metricQuery: '"'"'sum/|hpa-queue-depth: ConfigMap/tide-prometheus-adapter-rules: rules[0]: unknown rule field metricQuery'
  'k8s/components/prometheus-adapter-rules/config.yaml|s/externalRules:/externalrules:/|hpa-p99: ConfigMap/tide-prometheus-adapter-rules: config.yaml: unknown Prometheus Adapter field externalrules'
  'k8s/components/prometheus-adapter-rules/config.yaml|s/    metricsQuery: .histogram/    metricsQuery: [histogram/|hpa-p99: ConfigMap/tide-prometheus-adapter-rules: config.yaml is not YAML'
  # The PromQL itself, run by promtool on a synthetic busy and idle cluster.
  'k8s/components/prometheus-adapter-rules/config.yaml|s/ > 0 or vector\(0\)//|hpa-p99: PromQL of HPA tide External tide_inference_request_duration_seconds_p99 (adapter metricsQuery) gives the wrong values: exp: {} 0E+00; got: {} NaN'
  'k8s/components/prometheus-adapter-rules/config.yaml|s/sum by \(le\)/sum by (le, pod)/|hpa-p99: PromQL of HPA tide External tide_inference_request_duration_seconds_p99 (adapter metricsQuery) gives the wrong values'
  'k8s/components/prometheus-adapter-rules/config.yaml|s/sum by \(<<.GroupBy>>\)/sum by (namespace)/|hpa-queue-depth: PromQL of HPA tide Pods tide_inference_queue_depth (adapter metricsQuery) gives the wrong values'
  'k8s/overlays/keda/scaledobject.yaml|s/model="simulated"}\)/model="simulated"}/|keda: PromQL of ScaledObject tide triggers[0] query does not parse: 1:70: parse error: unclosed left parenthesis'
  # Overlays: one autoscaler per Deployment, models from somewhere.
  'k8s/overlays/hpa-cpu/hpa.yaml|s/\A(.*?\n)(  name: tide\n)(.*)\z/$1$2$3---\n$1  name: tide-again\n$3/s|hpa-cpu: more than one autoscaler targets tide'
  'k8s/overlays/baked-model/kustomization.yaml|s/newTag: "0.1.0-models"/newTag: "0.1.0"/|baked-model: Deployment/tide mounts no model and its image tide:0.1.0 is not a *-models image'
  # The gRPC probe variant: readiness only, on tide's gRPC port, service "".
  'k8s/overlays/grpc-probes/kustomization.yaml|s/port: 8001\n          periodSeconds: 2\n          timeoutSeconds: 2\n          failureThreshold: 2/port: 8000\n          periodSeconds: 2\n          timeoutSeconds: 2\n          failureThreshold: 2/|grpc-probes: Deployment/tide container tide: readinessProbe gRPC port 8000 is not tide'"'"'s grpc port 8001'
  'k8s/overlays/grpc-probes/kustomization.yaml|s/path: \/spec\/template\/spec\/containers\/0\/startupProbe/path: \/spec\/template\/spec\/containers\/0\/livenessProbe/|grpc-probes: Deployment/tide container tide: livenessProbe must not be a gRPC probe'
  # KServe: its CRD schemas (schemas/kserve-*), the runtime against tide
  # serve and KServe, the InferenceServices against the runtime and modes.
  'kserve/isvc-simulated-knative/inferenceservice.yaml|s/containerConcurrency: 72/containerConcurrency: "72"/|kserve-isvc-simulated-knative: InferenceService/tide-simulated: schema: data/spec/predictor/containerConcurrency must be integer'
  'kserve/isvc-triton-knative-grpc/inferenceservice.yaml|s/storageUri:/storageURI:/|kserve-isvc-triton-knative-grpc: InferenceService/tide-simple: schema: unknown field /spec/predictor/model/storageURI'
  'kserve/runtime/clusterservingruntime.yaml|s/--http-port=8080/--http-port=8000/|kserve-runtime: ClusterServingRuntime/tide container kserve-container: --http-port is 8000, the platform uses 8080'
  'kserve/runtime/clusterservingruntime.yaml|s/--model-repository=\/mnt\/models/--model-repository=\/models/|kserve-runtime: ClusterServingRuntime/tide container kserve-container: --model-repository is /models, the platform puts models in /mnt/models'
  'kserve/runtime-namespaced/servingruntime.yaml|s/memory: 512Mi/memory: 1Gi/|kserve-runtime-namespaced: ServingRuntime/tide'"'"'s spec differs from kserve-runtime'"'"'s ClusterServingRuntime/tide'
  'kserve/isvc-simulated-knative/inferenceservice.yaml|s/modelFormat:\n        name: tide-simulated/modelFormat:\n        name: simulated/|kserve-isvc-simulated-knative: InferenceService/tide-simulated: runtime tide does not support model format simulated 1'
  'kserve/isvc-triton-knative-grpc/inferenceservice.yaml|s/containerPort: 9000/containerPort: 8001/|kserve-isvc-triton-knative-grpc: InferenceService/tide-simple: port h2c 8001: tide'"'"'s gRPC port in the runtime is 9000'
  'kserve/isvc-simulated-standard-hpa/inferenceservice.yaml|s/    serving.kserve.io\/autoscalerClass: external\n//|kserve-isvc-simulated-standard-hpa: InferenceService/tide-simulated: HorizontalPodAutoscaler/tide targets tide-simulated-predictor: set serving.kserve.io/autoscalerClass: external'
  'kserve/isvc-torchscript-standard-keda/kustomization.yaml|s/value: tide-mlp-predictor/value: tide-mlp/|kserve-isvc-torchscript-standard-keda: ScaledObject/tide: scaleTargetRef Deployment/tide-mlp is not rendered here'
  # Seldon Core 2: its CRD schemas (schemas/seldon-core-*), tide in the
  # ServerConfig against the agent, Models against the Server.
  'seldon/server/server.yaml|s/replicas: 1/replicas: "1"/|seldon-server: Server/tide: schema: data/spec/replicas must be integer'
  'seldon/server/serverconfig.yaml|s/--http-port=9000/--http-port=8000/|seldon-server: ServerConfig/tide container tide: --http-port is 8000, the platform uses 9000'
  'seldon/models/models.yaml|s/    - pytorch/    - onnx/|seldon-models: Model/mlp: requirement onnx is not a capability of Server tide'
  'seldon/server/serverconfig.yaml|s/ *- --model-control-trust-loopback\n//|seldon-server: ServerConfig/tide container tide: --model-control-trust-loopback is missing'
  'seldon/server/serverconfig.yaml|s/- --model-control-mode=explicit/- --model-control-mode=none/|seldon-server: ServerConfig/tide container tide: --model-control-mode is none, must be explicit'
  # The Dockerfile against the scripts and the build.
  'Dockerfile|s/USER 10001:10001/USER root/|Dockerfile: USER must be 10001 (numeric, non-root), is root'
  'Dockerfile|s/RUN scripts\/install-deps.sh --build-only/RUN scripts\/install-deps.sh --no-npm/|Dockerfile: the build stage must run scripts/install-deps.sh --build-only'
  'Dockerfile|s/ -DTIDE_BUILD_TESTS=OFF//|Dockerfile: the build stage must configure with -DTIDE_BUILD_TESTS=OFF'
  'Dockerfile|s/FROM build AS models/FROM models-\$\{TIDE_MODELS\} AS models/|Dockerfile: FROM models-${TIDE_MODELS}: a stage chosen by a build arg breaks podman build'
  'Dockerfile|s/for m in examples\/models\/\*\//for m in examples\/model\/*\//|Dockerfile: a models stage must copy examples/models into /models when TIDE_MODELS=examples'
  'Dockerfile|s/COPY --from=models \/models/COPY --from=build \/models/|Dockerfile: the runtime stage must COPY --from=models /models'
  'Dockerfile|s/--from=build \/src\/build\/apps\/tide\/tide/--from=build \/src\/build\/tide/|Dockerfile: COPY --from=build /src/build/tide: the build puts tide at /src/build/apps/tide/tide'
  'Dockerfile|s/--no-install-recommends \\/--no-install-recommends libgrpc++-dev \\/|Dockerfile: the runtime stage installs build tools or -dev packages'
  'Dockerfile|s/\A/# syntax=docker\/dockerfile:1\n/|Dockerfile: # syntax=docker/dockerfile:1: BuildKit fetches that frontend from a registry'
  'Dockerfile|s/EXPOSE 8000 8001 8002/EXPOSE 8000 8001/|Dockerfile: EXPOSE 8000 8001, tide listens on 8000 8001 8002'
  'Dockerfile|s/FROM debian:bookworm-slim AS runtime/FROM debian:bullseye-slim AS runtime/|Dockerfile: FROM debian:bullseye-slim: every stage starts from debian:bookworm-slim'
  # The Grafana dashboard: its PromQL on the synthetic cluster, and Grafana's model.
  'grafana/tide.json|s/outcome!=\\"success\\"/outcome=\\"failure\\"/|grafana-dashboard: ConfigMap/tide-grafana-dashboard: tide.json: panel 3 "Error ratio" target A: PromQL gives the wrong values: exp: {} 1E-01; got: {} 5E-02'
  'grafana/tide.json|s/"type": "stat"/"type": "singlestat"/|grafana-dashboard: ConfigMap/tide-grafana-dashboard: tide.json: panel 2 "Requests per second": unknown panel type "singlestat"'
  'grafana/tide.json|s/"uid": "\$\{datasource\}"/"uid": "prometheus"/|tide.json: variable namespace: datasource must be {type: prometheus, uid: ${datasource}}'
  'grafana/tide.json|s/namespace=\\"\$namespace\\", container=\\"tide\\", resource/namespace=\\"\$cluster\\", container=\\"tide\\", resource/|panel 14 "CPU per pod against its request" target B: uses template variable $cluster, which the dashboard does not define'
  'grafana/kustomization.yaml|s/        grafana_dashboard: "1"/        grafana_dashboard: "true"/|grafana-dashboard: a grafana* overlay must render a ConfigMap labelled grafana_dashboard: "1"'
)

fresh_copy() {  # $1: the copy's folder
  rm -rf "$1"
  mkdir -p "$1"
  cp -r "$root/deploy/k8s" "$1/k8s"
  cp -r "$root/deploy/grafana" "$1/grafana"  # components/grafana-dashboard's ../../../grafana
  cp -r "$root/deploy/kserve" "$1/kserve"    # its isvc-* reuse ../../k8s/overlays/*
  cp -r "$root/deploy/seldon" "$1/seldon"
  cp "$root/deploy/Dockerfile" "$1/Dockerfile"
}
run_check() {  # $1: the copy's folder, $2: output file, then check.sh's arguments
  local dir="$1" out="$2"
  shift 2
  "$here/check.sh" --k8s-dir "$dir/k8s" --kserve-dir "$dir/kserve" --seldon-dir "$dir/seldon" \
    --dockerfile "$dir/Dockerfile" "$@" >"$out" 2>&1
}
# One case in its own copy; its verdict goes to $tmp/case.N.result.
run_case() {
  local n="$1" file edit expected before
  IFS='|' read -r file edit expected <<<"${cases[$n]}"
  local dir="$tmp/case.$n" out="$tmp/case.$n.out" result="$tmp/case.$n.result"
  fresh_copy "$dir"
  before="$(md5sum <"$dir/$file")"
  perl -0pi -e "$edit" "$dir/$file"
  if [ "$before" = "$(md5sum <"$dir/$file")" ]; then
    echo "FAIL: '$edit' changed nothing in $file (update this case)" >"$result"
  elif run_check "$dir" "$out"; then
    echo "FAIL: $file with '$edit' passed the check" >"$result"
  elif ! grep -qF -- "$expected" "$out"; then
    { echo "FAIL: $file with '$edit': expected a problem containing: $expected"; sed 's/^/  got: /' "$out"; } >"$result"
  else
    echo "ok: $file: $(grep -F -- "$expected" "$out" | head -n1)" >"$result"
  fi
  rm -rf "$dir"
}

fresh_copy "$tmp/intact"
if ! run_check "$tmp/intact" "$tmp/out"; then
  echo "FAIL: the intact copy does not pass:"; cat "$tmp/out"; exit 1
fi
# Two cases at a time (check.sh is mostly single-threaded node and kubectl).
for n in "${!cases[@]}"; do
  [ "$(jobs -rp | wc -l)" -ge 2 ] && wait -n
  run_case "$n" &
done
wait
failures=0
for n in "${!cases[@]}"; do
  cat "$tmp/case.$n.result"
  grep -q '^FAIL' "$tmp/case.$n.result" && failures=$((failures + 1))
done

# The binary's checks are wired in: a stand-in tide whose `serve --help`
# lacks one flag the contract names and whose `hpa validate` rejects the CPU
# HPA and the HPA KEDA would create for keda-scale-to-zero.
mkdir -p "$tmp/bin"
cat >"$tmp/bin/tide" <<'FAKE'
#!/usr/bin/env bash
case "$*" in
  "--help") printf 'Usage: tide SUBCOMMAND\nSubcommands:\n  serve  Serve models\n  hpa  HPA tools\n' ;;
  "serve --help") printf 'Usage: tide serve [OPTIONS]\nOptions:\n'
    for f in --model-repository --host --http-port --grpc-port --metrics-port --http-threads --drain-delay \
             --shutdown-timeout --max-queue-size --strict-readiness --exit-on-error --log-format --log-level \
             --model-control-mode --model-control-trust-loopback; do
      printf '  %s X   flag\n' "$f"
    done ;;
  "hpa --help") printf 'Usage: tide hpa SUBCOMMAND\nSubcommands:\n  validate  Validate an HPA\n' ;;
  "hpa validate "*)
    if grep -q averageUtilization "$3"; then echo "stand-in: CPU HPA rejected"; exit 1; fi
    if grep -q s1-prometheus "$3"; then echo "stand-in: second KEDA trigger rejected"; exit 1; fi ;;
  *) exit 1 ;;
esac
FAKE
chmod +x "$tmp/bin/tide"
run_check "$tmp/intact" "$tmp/out" "$tmp/bin/tide" && rc=0 || rc=$?
expected=(
  "PROBLEM contract.json: tide serve --help does not list --max-body-bytes"
  "PROBLEM hpa-cpu--tide: tide hpa validate: stand-in: CPU HPA rejected"
  "PROBLEM keda-scale-to-zero--tide-keda: tide hpa validate: stand-in: second KEDA trigger rejected"
)
# ldd refuses a script: that problem is expected too, and nothing else.
if [ $rc = 1 ] && [ "$(grep '^PROBLEM' "$tmp/out" | grep -v 'runtime-packages.sh' | sort)" = "$(printf '%s\n' "${expected[@]}" | sort)" ]; then
  echo "ok: tide serve --help and tide hpa validate are checked (${#expected[@]} problems found)"
else
  echo "FAIL: the binary's checks did not report exactly: ${expected[*]} (rc=$rc):"; sed 's/^/  got: /' "$tmp/out"
  failures=$((failures + 1))
fi

if [ $failures -gt 0 ]; then
  echo "broken_test: $failures of $(( ${#cases[@]} + 1 )) cases FAILED"; exit 1
fi
echo "broken_test: all $(( ${#cases[@]} + 1 )) broken copies caught"
