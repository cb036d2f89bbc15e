// Checks that rendered manifests agree with each other and with tide's
// contract (contract.json): ports, probe paths, flags, drain timing, metric
// names in adapter rules and KEDA queries, references between objects.
// Each function returns a list of problem strings; empty means fine.

import { load } from "js-yaml";
import { metricNames, isTideSeries } from "./promql.mjs";

const id = (o) => `${o.kind}/${o.metadata?.name}`;

// "--flag=value" or "--flag value" -> Map(flag -> value|true).
export function parseFlags(args) {
  const flags = new Map();
  for (let i = 0; i < args.length; i++) {
    const a = String(args[i]);
    if (!a.startsWith("--")) continue;
    const eq = a.indexOf("=");
    if (eq > 0) flags.set(a.slice(0, eq), a.slice(eq + 1));
    else if (i + 1 < args.length && !String(args[i + 1]).startsWith("--")) flags.set(a, String(args[++i]));
    else flags.set(a, true);
  }
  return flags;
}

function labelsMatch(selector, labels) {
  return Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);
}

// Liveness is probed on the metrics port, which a flood of connections or a
// full queue on the inference port cannot starve; readiness on the HTTP port,
// where the traffic it gates arrives.
function checkProbe(probe, what, kind, portNames, contract) {
  const wantPath = contract.probes[kind];
  const wantPortName = contract.probePorts[kind];
  if (!probe) return [`${what} is missing`];
  // Kubernetes' native gRPC probe (grpc: {port}) asks tide's grpc.health.v1
  // service, which answers SERVING exactly when /v2/health/ready is 200: a
  // readiness signal only (as liveness it would restart a pod still loading).
  if (probe.grpc) {
    const grpcPortName = contract.grpcProbePorts?.[kind];
    if (!grpcPortName) return [`${what} must not be a gRPC probe: tide's grpc.health.v1 reports readiness; use httpGet ${wantPath}`];
    const problems = [];
    if (probe.grpc.port !== contract.ports[grpcPortName]) {
      problems.push(`${what} gRPC port ${probe.grpc.port} is not tide's ${grpcPortName} port ${contract.ports[grpcPortName]}`);
    }
    if (!["", "inference.GRPCInferenceService"].includes(probe.grpc.service ?? "")) {
      problems.push(`${what} gRPC service ${JSON.stringify(probe.grpc.service)}: tide's health service knows "" and inference.GRPCInferenceService only (others NOT_FOUND)`);
    }
    return problems;
  }
  const get = probe.httpGet;
  if (!get) return [`${what} must be an httpGet probe on ${wantPath}`];
  const problems = [];
  if (get.path !== wantPath) problems.push(`${what} path is ${get.path}, tide serves ${wantPath}`);
  const port = typeof get.port === "string" ? portNames.get(get.port) : get.port;
  if (port !== contract.ports[wantPortName]) {
    problems.push(`${what} port ${get.port} is not tide's ${wantPortName} port ${contract.ports[wantPortName]}`);
  }
  return problems;
}

export function checkDeployment(dep, objects, contract) {
  const problems = [];
  const pod = dep.spec.template;
  const containers = pod.spec.containers;
  const tide = containers.find((c) => c.name === "tide");
  if (!tide) return [`${id(dep)}: no container named tide`];
  const where = `${id(dep)} container tide`;
  const portNames = new Map((tide.ports ?? []).map((p) => [p.name, p.containerPort]));
  for (const [name, number] of Object.entries(contract.ports)) {
    if (portNames.get(name) !== number) {
      problems.push(`${where}: needs containerPort ${name}=${number} (has ${name}=${portNames.get(name)})`);
    }
  }
  // Flags: known to tide serve, ports as in the contract, drain timing.
  const flags = parseFlags(tide.args ?? []);
  for (const flag of flags.keys()) {
    if (!contract.serve.flags.includes(flag)) problems.push(`${where}: tide serve has no flag ${flag}`);
  }
  if (!flags.has("--model-repository")) problems.push(`${where}: --model-repository is required`);
  for (const [name, flag] of Object.entries(contract.portFlags)) {
    if (flags.has(flag) && Number(flags.get(flag)) !== contract.ports[name]) {
      problems.push(`${where}: ${flag}=${flags.get(flag)} but the ${name} port is ${contract.ports[name]}`);
    }
  }
  if (tide.command) problems.push(`${where}: do not override the image's entrypoint (${contract.serve.entrypoint.join(" ")})`);
  const seconds = (flag) => Number(flags.has(flag) ? flags.get(flag) : contract.serve.defaults[flag]);
  const needed = seconds("--drain-delay") + seconds("--shutdown-timeout");
  const grace = pod.spec.terminationGracePeriodSeconds ?? 30;
  if (!(grace > needed)) {
    problems.push(`${id(dep)}: terminationGracePeriodSeconds ${grace} must exceed --drain-delay + ` +
                  `--shutdown-timeout = ${needed} s, or the kubelet kills requests tide is finishing`);
  }
  problems.push(...checkProbe(tide.readinessProbe, `${where}: readinessProbe`, "ready", portNames, contract));
  problems.push(...checkProbe(tide.livenessProbe, `${where}: livenessProbe`, "live", portNames, contract));
  problems.push(...checkProbe(tide.startupProbe, `${where}: startupProbe`, "ready", portNames, contract));
  // Scrape annotations, for Prometheus' kubernetes-pods job; off where a
  // ServiceMonitor scrapes the pods (twice-scraped pods would double every
  // sum the adapter rules take).
  const ann = pod.metadata?.annotations ?? {};
  const monitored = objects.some((o) => o.kind === "ServiceMonitor");
  const scrape = monitored ? "false" : "true";
  if (ann["prometheus.io/scrape"] !== scrape) {
    problems.push(`${id(dep)}: pod annotation prometheus.io/scrape must be "${scrape}"` +
                  (monitored ? " where a ServiceMonitor scrapes the pods" : ""));
  }
  if (ann["prometheus.io/port"] !== String(contract.ports.metrics)) {
    problems.push(`${id(dep)}: pod annotation prometheus.io/port is ${ann["prometheus.io/port"]}, metrics are on ${contract.ports.metrics}`);
  }
  if ((ann["prometheus.io/path"] ?? "/metrics") !== contract.metricsPath) {
    problems.push(`${id(dep)}: pod annotation prometheus.io/path must be ${contract.metricsPath}`);
  }
  // Security: non-root, read-only root filesystem, as the image's user.
  const podSec = pod.spec.securityContext ?? {};
  const sec = tide.securityContext ?? {};
  if (!(sec.runAsNonRoot ?? podSec.runAsNonRoot)) problems.push(`${where}: runAsNonRoot must be true`);
  const uid = sec.runAsUser ?? podSec.runAsUser;
  if (uid !== undefined && uid !== contract.image.user) {
    problems.push(`${where}: runAsUser ${uid} differs from the image's user ${contract.image.user}`);
  }
  if (sec.readOnlyRootFilesystem !== true) problems.push(`${where}: readOnlyRootFilesystem must be true`);
  for (const kind of ["requests", "limits"]) {
    for (const r of ["cpu", "memory"]) {
      if (!tide.resources?.[kind]?.[r]) problems.push(`${where}: resources.${kind}.${r} is not set`);
    }
  }
  problems.push(...checkVolumes(dep, tide, objects));
  return problems;
}

function checkVolumes(dep, tide, objects) {
  const problems = [];
  const volumes = new Map((dep.spec.template.spec.volumes ?? []).map((v) => [v.name, v]));
  for (const m of tide.volumeMounts ?? []) {
    if (!volumes.has(m.name)) problems.push(`${id(dep)}: volumeMount ${m.mountPath} names no volume ${m.name}`);
  }
  for (const v of volumes.values()) {
    if (!v.configMap) continue;
    const cm = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === v.configMap.name);
    if (!cm) {
      problems.push(`${id(dep)}: volume ${v.name} uses ConfigMap ${v.configMap.name}, which is not rendered`);
      continue;
    }
    for (const item of v.configMap.items ?? []) {
      if (!(item.key in (cm.data ?? {}))) {
        problems.push(`${id(dep)}: volume ${v.name} item ${item.key} is not a key of ${id(cm)}`);
      }
    }
  }
  return problems;
}

// A ConfigMap mounted as a model folder must give Triton's layout:
// config.pbtxt (whose name matches the folder) and a numeric version folder.
export function checkModelMounts(dep, objects, contract, readModelConfig) {
  const problems = [];
  const tide = dep.spec.template.spec.containers.find((c) => c.name === "tide");
  if (!tide) return problems;
  const repo = parseFlags(tide.args ?? []).get("--model-repository");
  for (const m of tide.volumeMounts ?? []) {
    if (typeof repo !== "string" || !m.mountPath.startsWith(`${repo.replace(/\/$/, "")}/`)) continue;
    const model = m.mountPath.slice(repo.replace(/\/$/, "").length + 1);
    const v = (dep.spec.template.spec.volumes ?? []).find((x) => x.name === m.name);
    if (!v?.configMap) continue;
    const cm = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === v.configMap.name);
    if (!cm) continue;
    const items = v.configMap.items ?? Object.keys(cm.data ?? {}).map((k) => ({ key: k, path: k }));
    const config = items.find((i) => i.path === "config.pbtxt");
    if (!config) {
      problems.push(`${id(dep)}: model ${model} mounted from ${id(cm)} has no config.pbtxt`);
      continue;
    }
    if (!items.some((i) => /^[0-9]+\//.test(i.path))) {
      problems.push(`${id(dep)}: model ${model} mounted from ${id(cm)} has no version folder (e.g. 1/.keep)`);
    }
    const text = cm.data[config.key] ?? "";
    const name = /(^|\n)\s*name\s*:\s*"([^"]*)"/.exec(text)?.[2];
    if (name !== model) problems.push(`${id(cm)}: config.pbtxt names model ${name}, mounted as folder ${model}`);
    const expected = contract.models?.[model] && readModelConfig(model);
    if (expected !== undefined && expected !== null && pbtxtTokens(expected) !== pbtxtTokens(text)) {
      problems.push(`${id(cm)}: config.pbtxt differs from ${contract.models[model].config} ` +
                    `(copy it to ${contract.models[model].manifestCopy})`);
    }
  }
  return problems;
}

// config.pbtxt as a token string: comments, layout and optional commas
// do not matter when comparing two copies.
export function pbtxtTokens(text) {
  return String(text).replace(/#[^\n]*/g, " ").match(/"(?:[^"\\]|\\.)*"|[{}[\]:]|[^\s{}[\]:,"]+/g)?.join(" ") ?? "";
}

export function checkService(svc, objects, contract) {
  const problems = [];
  const ports = new Map((svc.spec.ports ?? []).map((p) => [p.name, p]));
  for (const [name, number] of Object.entries(contract.ports)) {
    const p = ports.get(name);
    if (!p || p.port !== number) problems.push(`${id(svc)}: needs port ${name}=${number} (has ${p?.port})`);
    else if (p.targetPort !== undefined && p.targetPort !== name && p.targetPort !== number) {
      problems.push(`${id(svc)}: port ${name} targets ${p.targetPort}, not tide's ${name} port`);
    }
  }
  const deps = objects.filter((o) => o.kind === "Deployment" && labelsMatch(svc.spec.selector, o.spec.template.metadata?.labels));
  if (deps.length === 0) problems.push(`${id(svc)}: selector matches no rendered Deployment's pods`);
  return problems;
}

// Prometheus Adapter configuration carried in a ConfigMap's config.yaml.
export function adapterConfig(cm) {
  const text = cm.data?.["config.yaml"];
  if (typeof text !== "string") return null;
  let config;
  try {
    config = load(text);
  } catch (e) {
    return { error: `config.yaml is not YAML: ${e.message.split("\n")[0]}` };
  }
  if (!config || typeof config !== "object" || !(config.rules || config.externalRules || config.resourceRules)) return null;
  return { config };
}

// The fields the Prometheus Adapter's config file knows (docs/config.md of
// kubernetes-sigs/prometheus-adapter); it ignores others, so typos go unseen.
const kAdapterTop = new Set(["rules", "externalRules", "resourceRules"]);
const kAdapterRule = new Set(["seriesQuery", "seriesFilters", "resources", "name", "metricsQuery"]);
// KEDA's prometheus trigger metadata (a free string map in the CRD schema).
const kKedaPrometheus = new Set([
  "serverAddress", "query", "queryParameters", "threshold", "activationThreshold", "namespace",
  "customHeaders", "ignoreNullValues", "unsafeSsl", "authModes", "timeout", "metricName", "cortexOrgID",
]);

export function checkAdapterRules(cm, config, contract) {
  const problems = [];
  for (const k of Object.keys(config)) {
    if (!kAdapterTop.has(k)) problems.push(`${id(cm)}: config.yaml: unknown Prometheus Adapter field ${k}`);
  }
  // Exposed metric name -> the rule serving it, per metrics API.
  const served = { pods: new Map(), external: new Map() };
  const lists = [["rules", config.rules, served.pods], ["externalRules", config.externalRules, served.external]];
  for (const [listName, rules, out] of lists) {
    if (rules === undefined) continue;
    if (!Array.isArray(rules)) { problems.push(`${id(cm)}: ${listName} must be a list`); continue; }
    rules.forEach((rule, i) => {
      const where = `${id(cm)}: ${listName}[${i}]`;
      for (const k of Object.keys(rule ?? {})) {
        if (!kAdapterRule.has(k)) problems.push(`${where}: unknown rule field ${k}`);
      }
      for (const field of ["seriesQuery", "metricsQuery"]) {
        if (typeof rule?.[field] !== "string") problems.push(`${where}: ${field} must be a string`);
      }
      if (typeof rule?.seriesQuery !== "string") return;
      const series = metricNames(rule.seriesQuery);
      if (series.length !== 1) {
        problems.push(`${where}: seriesQuery should name exactly one metric (has ${series.join(", ") || "none"})`);
        return;
      }
      // dcgm-exporter's GPU series are the one foreign source adapter rules may read.
      const foreign = (name) => name.startsWith("DCGM_") && name in (contract.foreignMetrics ?? {});
      if (!isTideSeries(series[0], contract.metrics) && !foreign(series[0])) {
        problems.push(`${where}: ${series[0]} is not a metric tide exports (see deploy/check/contract.json)`);
      }
      for (const name of metricNames(rule.metricsQuery ?? "")) {
        if (!isTideSeries(name, contract.metrics) && !foreign(name)) problems.push(`${where}: metricsQuery reads ${name}, which tide does not export`);
      }
      if (!/<<\.Series>>/.test(rule.metricsQuery ?? "") || !/<<\.LabelMatchers>>/.test(rule.metricsQuery ?? "")) {
        problems.push(`${where}: metricsQuery must use <<.Series>> and <<.LabelMatchers>>`);
      }
      const overrides = rule.resources?.overrides ?? {};
      const resources = new Set(Object.values(overrides).map((o) => o?.resource));
      if (!resources.has("namespace")) problems.push(`${where}: resources.overrides must map a label to namespace`);
      if (listName === "rules" && !resources.has("pod")) problems.push(`${where}: a Pods metric needs a label mapped to pod`);
      let exposed = series[0];
      if (rule.name) {
        let re;
        try { re = new RegExp(rule.name.matches ?? ".*"); } catch (e) { problems.push(`${where}: name.matches: ${e.message}`); return; }
        const m = re.exec(series[0]);
        if (!m) { problems.push(`${where}: name.matches ${rule.name.matches} does not match ${series[0]}`); return; }
        exposed = rule.name.as ? rule.name.as.replace(/\$\{?(\d+)\}?/g, (_, n) => m[n] ?? "") : (m[1] ?? m[0]);
      }
      out.set(exposed, rule);
    });
  }
  return { problems, served };
}

export function checkHpa(hpa, objects, served) {
  const problems = [];
  const ref = hpa.spec.scaleTargetRef;
  if (!objects.some((o) => o.kind === ref.kind && o.metadata.name === ref.name && o.apiVersion === ref.apiVersion)) {
    problems.push(`${id(hpa)}: scaleTargetRef ${ref.apiVersion} ${ref.kind}/${ref.name} is not rendered here`);
  }
  if ((hpa.spec.minReplicas ?? 1) > hpa.spec.maxReplicas) problems.push(`${id(hpa)}: minReplicas > maxReplicas`);
  for (const [i, m] of (hpa.spec.metrics ?? []).entries()) {
    const where = `${id(hpa)}: metrics[${i}]`;
    if (m.type === "Pods" && !served.pods.has(m.pods?.metric?.name)) {
      problems.push(`${where}: no Prometheus Adapter rule here serves Pods metric ${m.pods?.metric?.name}`);
    }
    if (m.type === "Object" && !served.pods.has(m.object?.metric?.name)) {
      problems.push(`${where}: no Prometheus Adapter rule here serves Object metric ${m.object?.metric?.name}`);
    }
    if (m.type === "External" && !served.external.has(m.external?.metric?.name)) {
      problems.push(`${where}: no Prometheus Adapter externalRule here serves ${m.external?.metric?.name}`);
    }
    if (m.type === "Resource" && m.resource?.target?.type === "Utilization") {
      const dep = objects.find((o) => o.kind === "Deployment" && o.metadata.name === ref.name);
      const missing = dep?.spec.template.spec.containers.filter((c) => !c.resources?.requests?.[m.resource.name]);
      if (missing?.length) problems.push(`${where}: ${m.resource.name} Utilization needs a ${m.resource.name} request on every container`);
    }
  }
  return problems;
}

export function checkScaledObject(so, objects, contract) {
  const problems = [];
  const ref = so.spec.scaleTargetRef;
  if (!objects.some((o) => o.kind === (ref.kind ?? "Deployment") && o.metadata.name === ref.name)) {
    problems.push(`${id(so)}: scaleTargetRef ${ref.kind ?? "Deployment"}/${ref.name} is not rendered here`);
  }
  let wakesFromZero = false;
  for (const [i, t] of so.spec.triggers.entries()) {
    const where = `${id(so)}: triggers[${i}]`;
    if (t.type !== "prometheus") continue;
    const md = t.metadata ?? {};
    for (const k of Object.keys(md)) {
      if (!kKedaPrometheus.has(k)) problems.push(`${where}: unknown prometheus trigger metadata ${k}`);
    }
    for (const field of ["serverAddress", "query", "threshold"]) {
      if (typeof md[field] !== "string" || md[field] === "") problems.push(`${where}: metadata.${field} is required`);
    }
    for (const field of ["threshold", "activationThreshold"]) {
      if (md[field] !== undefined && !Number.isFinite(Number(md[field]))) problems.push(`${where}: metadata.${field} is not a number`);
    }
    if (md.activationThreshold === undefined) problems.push(`${where}: set metadata.activationThreshold`);
    for (const name of metricNames(md.query ?? "")) {
      if (isTideSeries(name, contract.metrics)) continue;
      if (name in (contract.foreignMetrics ?? {})) { wakesFromZero = true; continue; }
      problems.push(`${where}: query reads ${name}, which tide does not export`);
    }
  }
  if ((so.spec.minReplicaCount ?? 0) === 0 && !wakesFromZero) {
    problems.push(`${id(so)}: minReplicaCount 0 with only tide's own metrics: at zero pods there is no ` +
                  `series to wake it; add a trigger on traffic in front of tide`);
  }
  return problems;
}

export function checkPodDisruptionBudget(pdb, objects) {
  const matches = objects.filter((o) => o.kind === "Deployment" &&
    labelsMatch(pdb.spec.selector?.matchLabels, o.spec.template.metadata?.labels));
  return matches.length ? [] : [`${id(pdb)}: selector matches no rendered Deployment's pods`];
}

export function checkServiceMonitor(sm, objects, contract) {
  const problems = [];
  const services = objects.filter((o) => o.kind === "Service" && labelsMatch(sm.spec.selector?.matchLabels, o.metadata.labels));
  if (services.length === 0) problems.push(`${id(sm)}: selector matches no rendered Service`);
  for (const [i, ep] of (sm.spec.endpoints ?? []).entries()) {
    if (!services.every((s) => s.spec.ports.some((p) => p.name === ep.port && p.port === contract.ports.metrics))) {
      problems.push(`${id(sm)}: endpoints[${i}].port ${ep.port} is not the Service's metrics port`);
    }
    if ((ep.path ?? "/metrics") !== contract.metricsPath) problems.push(`${id(sm)}: endpoints[${i}].path must be ${contract.metricsPath}`);
  }
  return problems;
}

// The HorizontalPodAutoscaler KEDA (2.10 and later) creates for a
// ScaledObject: one External metric per trigger, named s<index>-<type> and
// selected by the ScaledObject's name, with the trigger's threshold as the
// target, and the ScaledObject's behavior. Written out beside the plain HPAs
// so that `tide hpa validate` (and later `tide sim`) sees KEDA's policy too.
export function kedaHpa(so) {
  const advanced = so.spec.advanced?.horizontalPodAutoscalerConfig ?? {};
  const ref = so.spec.scaleTargetRef;
  const hpa = {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: { name: advanced.name ?? `keda-hpa-${so.metadata.name}` },
    spec: {
      scaleTargetRef: { apiVersion: ref.apiVersion ?? "apps/v1", kind: ref.kind ?? "Deployment", name: ref.name },
      minReplicas: Math.max(1, so.spec.minReplicaCount ?? 0),
      maxReplicas: so.spec.maxReplicaCount ?? 100,
      metrics: so.spec.triggers.map((t, i) => {
        const type = t.metricType ?? "AverageValue";
        const threshold = String(t.metadata?.threshold ?? "");
        return {
          type: "External",
          external: {
            metric: { name: `s${i}-${t.type}`, selector: { matchLabels: { "scaledobject.keda.sh/name": so.metadata.name } } },
            target: type === "Value" ? { type, value: threshold } : { type: "AverageValue", averageValue: threshold },
          },
        };
      }),
    },
  };
  if (advanced.behavior) hpa.spec.behavior = advanced.behavior;
  return hpa;
}
