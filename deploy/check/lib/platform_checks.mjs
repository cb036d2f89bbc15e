// Checks of deploy/kserve and deploy/seldon renders (named kserve-* and
// seldon-* by check.sh): tide's container in KServe's ServingRuntimes and in
// Seldon Core 2's ServerConfig against tide serve's contract (flags, ports,
// probes, the model path each platform fills), and each InferenceService,
// Model and autoscaler against the runtime and the Deployment the platform
// makes. Each function returns a list of problem strings; empty means fine.

import { isDeepStrictEqual } from "node:util";
import { parseFlags } from "./manifest_checks.mjs";

const id = (o) => `${o.kind}/${o.metadata?.name}`;

// What each platform gives tide (from its source at the pinned release in
// schemas/*/README.md): KServe's storage initializer fills /mnt/models
// (constants.DefaultModelLocalMountPath) and sends HTTP to 8080
// (InferenceServiceDefaultHttpPort); its Triton runtime serves gRPC on 9000.
// Seldon's agent copies models into /mnt/agent/models and reaches the server
// on SELDON_SERVER_HTTP_PORT/GRPC_PORT.
export const kKServe = {
  container: "kserve-container",
  modelRepository: "/mnt/models",
  httpPort: 8080,
  grpcPort: 9000,
  protocols: ["v2", "grpc-v2"],
  formats: ["tide-simulated", "pytorch", "triton"],
  modes: { Knative: "Knative", Serverless: "Knative", Standard: "Standard", RawDeployment: "Standard" },
};
export const kSeldon = { container: "tide", modelRepository: "/mnt/agent/models" };

export function platformOf(renderName) {
  return /^(kserve|seldon)-/.exec(renderName)?.[1] ?? null;
}

// tide's container anywhere: flags known to tide serve, the model path and
// ports the platform uses, probes on tide's health paths, drain timing,
// non-root and read-only.
function checkTideContainer(c, where, want, contract, grace) {
  const problems = [];
  const flags = parseFlags(c.args ?? []);
  for (const flag of flags.keys()) {
    if (!contract.serve.flags.includes(flag)) problems.push(`${where}: tide serve has no flag ${flag}`);
  }
  if (c.command) problems.push(`${where}: do not override the image's entrypoint (${contract.serve.entrypoint.join(" ")})`);
  if (flags.get("--model-repository") !== want.modelRepository) {
    problems.push(`${where}: --model-repository is ${flags.get("--model-repository")}, the platform puts models in ${want.modelRepository}`);
  }
  for (const [flag, port] of Object.entries(want.ports)) {
    if (Number(flags.get(flag)) !== port) problems.push(`${where}: ${flag} is ${flags.get(flag)}, the platform uses ${port}`);
  }
  const ports = new Map((c.ports ?? []).map((p) => [p.name, p.containerPort]));
  for (const [kind, probe] of [["ready", c.readinessProbe], ["live", c.livenessProbe]]) {
    const name = kind === "ready" ? "readinessProbe" : "livenessProbe";
    if (!probe?.httpGet) { problems.push(`${where}: ${name} must be an httpGet probe`); continue; }
    const path = probe.httpGet.path;
    if (path !== contract.probes[kind] && path !== contract.probes.live) {
      problems.push(`${where}: ${name} path is ${path}, tide serves ${contract.probes[kind]}`);
    }
    const port = typeof probe.httpGet.port === "string" ? ports.get(probe.httpGet.port) : probe.httpGet.port;
    if (port !== want.probePort) problems.push(`${where}: ${name} port ${probe.httpGet.port} is not tide's HTTP port ${want.probePort} here`);
  }
  const seconds = (flag) => Number(flags.has(flag) ? flags.get(flag) : contract.serve.defaults[flag]);
  const needed = seconds("--drain-delay") + seconds("--shutdown-timeout");
  if (grace !== undefined && !(grace > needed)) {
    problems.push(`${where}: terminationGracePeriodSeconds ${grace} must exceed --drain-delay + --shutdown-timeout = ${needed} s`);
  }
  if (c.securityContext?.readOnlyRootFilesystem !== true) problems.push(`${where}: readOnlyRootFilesystem must be true`);
  for (const kind of ["requests", "limits"]) {
    if (!c.resources?.[kind]?.memory) problems.push(`${where}: resources.${kind}.memory is not set`);
  }
  return problems;
}

function checkRuntime(rt, contract) {
  const problems = [];
  const containers = rt.spec.containers ?? [];
  const c = containers.find((x) => x.name === kKServe.container);
  if (!c) return [`${id(rt)}: no container named ${kKServe.container} (KServe merges the predictor into it)`];
  const want = {
    modelRepository: kKServe.modelRepository,
    ports: { "--http-port": kKServe.httpPort, "--grpc-port": kKServe.grpcPort },
    probePort: kKServe.httpPort,
  };
  problems.push(...checkTideContainer(c, `${id(rt)} container ${c.name}`, want, contract));
  // Knative routes one port, chosen by the InferenceService.
  if ((c.ports ?? []).length) problems.push(`${id(rt)}: declare no container ports in the runtime (an InferenceService adding h2c would make two, which Knative refuses)`);
  const metricsPort = parseFlags(c.args ?? []).get("--metrics-port") ?? String(contract.ports.metrics);
  if (rt.spec.annotations?.["prometheus.kserve.io/port"] !== String(metricsPort)) {
    problems.push(`${id(rt)}: annotation prometheus.kserve.io/port is ${rt.spec.annotations?.["prometheus.kserve.io/port"]}, tide's metrics are on ${metricsPort}`);
  }
  if (rt.spec.annotations?.["prometheus.kserve.io/path"] !== contract.metricsPath) {
    problems.push(`${id(rt)}: annotation prometheus.kserve.io/path must be ${contract.metricsPath}`);
  }
  for (const p of kKServe.protocols) {
    if (!(rt.spec.protocolVersions ?? []).includes(p)) problems.push(`${id(rt)}: protocolVersions must include ${p}`);
  }
  const formats = (rt.spec.supportedModelFormats ?? []).map((f) => f.name);
  for (const f of kKServe.formats) if (!formats.includes(f)) problems.push(`${id(rt)}: supportedModelFormats must include ${f}`);
  return problems;
}

function checkInferenceService(isvc, objects, runtimes) {
  const problems = [];
  const ann = isvc.metadata.annotations ?? {};
  const mode = kKServe.modes[ann["serving.kserve.io/deploymentMode"] ?? "Knative"];
  if (!mode) problems.push(`${id(isvc)}: deploymentMode ${ann["serving.kserve.io/deploymentMode"]} is not one of ${Object.keys(kKServe.modes).join(", ")}`);
  const model = isvc.spec.predictor?.model;
  if (!model) return [...problems, `${id(isvc)}: predictor.model is required (tide runs as a ServingRuntime)`];
  const rt = runtimes.get(model.runtime);
  if (!rt) return [...problems, `${id(isvc)}: runtime ${model.runtime} is not a tide ServingRuntime rendered here`];
  if (!(rt.spec.supportedModelFormats ?? []).some((f) => f.name === model.modelFormat?.name && (!model.modelFormat.version || !f.version || f.version === model.modelFormat.version))) {
    problems.push(`${id(isvc)}: runtime ${model.runtime} does not support model format ${model.modelFormat?.name} ${model.modelFormat?.version ?? ""}`.trimEnd());
  }
  if (model.protocolVersion && !(rt.spec.protocolVersions ?? []).includes(model.protocolVersion)) {
    problems.push(`${id(isvc)}: runtime ${model.runtime} does not speak ${model.protocolVersion}`);
  }
  if (!model.storageUri && !model.storage) problems.push(`${id(isvc)}: storageUri is required (it becomes ${kKServe.modelRepository})`);
  const ports = model.ports ?? [];
  for (const p of ports) {
    const grpc = /grpc|h2c/.test(p.name ?? "");
    const want = grpc ? kKServe.grpcPort : kKServe.httpPort;
    if (p.containerPort !== want) problems.push(`${id(isvc)}: port ${p.name} ${p.containerPort}: tide's ${grpc ? "gRPC" : "HTTP"} port in the runtime is ${want}`);
  }
  if (mode === "Knative" && ports.length > 1) problems.push(`${id(isvc)}: Knative routes one container port, ${ports.length} are declared`);
  if (model.protocolVersion === "grpc-v2" && mode === "Knative" && !ports.some((p) => p.name === "h2c")) {
    problems.push(`${id(isvc)}: grpc-v2 under Knative needs port h2c ${kKServe.grpcPort}`);
  }
  const autoscaler = ann["serving.kserve.io/autoscalerClass"];
  const deployment = `${isvc.metadata.name}-predictor`;
  const external = objects.filter((o) => (o.kind === "HorizontalPodAutoscaler" || o.kind === "ScaledObject") && o.spec?.scaleTargetRef?.name === deployment);
  if (mode === "Knative") {
    if (ann["autoscaling.knative.dev/class"] && ann["autoscaling.knative.dev/class"] !== "kpa.autoscaling.knative.dev") {
      problems.push(`${id(isvc)}: under Knative use the KPA (autoscaling.knative.dev/class: kpa.autoscaling.knative.dev)`);
    }
    if (external.length) problems.push(`${id(isvc)}: Knative scales ${deployment} itself; remove ${external.map(id).join(", ")}`);
  } else if (mode === "Standard") {
    if (external.length && autoscaler !== "external") {
      problems.push(`${id(isvc)}: ${external.map(id).join(", ")} targets ${deployment}: set serving.kserve.io/autoscalerClass: external, or KServe's own HPA fights it`);
    }
    if (autoscaler === "external" && external.length !== 1) {
      problems.push(`${id(isvc)}: autoscalerClass external needs one HPA or ScaledObject for Deployment ${deployment} (found ${external.length})`);
    }
    if (Object.keys(ann).some((k) => k.startsWith("autoscaling.knative.dev/"))) {
      problems.push(`${id(isvc)}: autoscaling.knative.dev annotations do nothing in Standard mode`);
    }
  }
  return problems;
}

// The Deployments KServe makes for Standard-mode InferenceServices, for the
// autoscaler checks' scaleTargetRef (`<name>-predictor`).
export function platformWorkloads(objects) {
  return objects.filter((o) => o.kind === "InferenceService")
    .filter((o) => kKServe.modes[o.metadata.annotations?.["serving.kserve.io/deploymentMode"] ?? "Knative"] === "Standard")
    .map((o) => ({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: `${o.metadata.name}-predictor` } }));
}

function checkServerConfig(sc, contract) {
  const containers = sc.spec.podSpec?.containers ?? [];
  const c = containers.find((x) => x.name === kSeldon.container);
  if (!c) return [`${id(sc)}: no container named ${kSeldon.container}`];
  const agent = containers.find((x) => x.name === "agent");
  if (!agent) return [`${id(sc)}: no container named agent (Seldon's agent loads the models and proxies to the server)`];
  const env = new Map((agent.env ?? []).map((e) => [e.name, e.value]));
  const want = {
    modelRepository: kSeldon.modelRepository,
    ports: { "--http-port": Number(env.get("SELDON_SERVER_HTTP_PORT")), "--grpc-port": Number(env.get("SELDON_SERVER_GRPC_PORT")) },
    probePort: Number(env.get("SELDON_SERVER_HTTP_PORT")),
  };
  const where = `${id(sc)} container ${c.name}`;
  const problems = checkTideContainer(c, where, want, contract, sc.spec.podSpec.terminationGracePeriodSeconds ?? 30);
  // The agent starts tide on an empty folder and loads each Model with
  // RepositoryModelLoad over gRPC from 127.0.0.1, without a token (Seldon's
  // modelserver_controlplane/oip/v2.go); Triton's ServerConfig runs it with
  // --model-control-mode=explicit.
  const flags = parseFlags(c.args ?? []);
  const mode = flags.get("--model-control-mode") ?? "none";
  if (mode !== "explicit") {
    problems.push(`${where}: --model-control-mode is ${mode}, must be explicit (Seldon's agent loads each Model into an empty server, as into Triton)`);
  }
  const trust = flags.get("--model-control-trust-loopback");
  if (trust !== true && trust !== "true") {
    problems.push(`${where}: --model-control-trust-loopback is missing (Seldon's agent loads over gRPC from 127.0.0.1 without a token; tide would refuse it UNAUTHENTICATED)`);
  }
  if (env.get("SELDON_SERVER_TYPE") !== "triton") problems.push(`${id(sc)}: agent SELDON_SERVER_TYPE must be triton (tide reads Triton's repository layout)`);
  const mounts = (x) => new Map((x.volumeMounts ?? []).map((m) => [m.mountPath, m.name]));
  const agentVolume = mounts(agent).get("/mnt/agent");
  if (!agentVolume || mounts(c).get("/mnt/agent") !== agentVolume) {
    problems.push(`${where}: must mount the agent's /mnt/agent volume (${agentVolume}), where the agent puts the models`);
  }
  if (!(sc.spec.volumeClaimTemplates ?? []).some((v) => v.metadata?.name === agentVolume || v.name === agentVolume) &&
      !(sc.spec.podSpec.volumes ?? []).some((v) => v.name === agentVolume)) {
    problems.push(`${id(sc)}: volume ${agentVolume} is neither a volume nor a volumeClaimTemplate`);
  }
  const memoryFrom = (agent.env ?? []).find((e) => e.name === "MEMORY_REQUEST")?.valueFrom?.resourceFieldRef?.containerName;
  if (memoryFrom !== kSeldon.container) problems.push(`${id(sc)}: agent MEMORY_REQUEST must come from container ${kSeldon.container}'s requests.memory`);
  return problems;
}

// A render of deploy/kserve or deploy/seldon: what each is for, and every
// object of it against the others.
export function checkPlatformRender(platform, name, objects, contract, valid) {
  const problems = [];
  const count = (kind) => objects.filter((o) => o.kind === kind).length;
  if (count("Deployment")) problems.push(`renders ${count("Deployment")} Deployments: ${platform} makes tide's workload itself`);
  if (platform === "kserve") {
    const runtimes = new Map(valid.filter((o) => o.kind === "ServingRuntime" || o.kind === "ClusterServingRuntime").map((o) => [o.metadata.name, o]));
    if (!runtimes.size) problems.push("renders no ServingRuntime or ClusterServingRuntime (an isvc-* example includes ../runtime-namespaced)");
    for (const rt of runtimes.values()) problems.push(...checkRuntime(rt, contract));
    for (const isvc of valid.filter((o) => o.kind === "InferenceService")) problems.push(...checkInferenceService(isvc, objects, runtimes));
  } else {
    const configs = new Map(valid.filter((o) => o.kind === "ServerConfig").map((o) => [o.metadata.name, o]));
    for (const sc of configs.values()) problems.push(...checkServerConfig(sc, contract));
    for (const s of valid.filter((o) => o.kind === "Server")) {
      if (!configs.has(s.spec.serverConfig)) problems.push(`${id(s)}: serverConfig ${s.spec.serverConfig} is not rendered here`);
    }
  }
  return problems;
}

// Across renders: every tide runtime has the same spec (the namespaced one is
// a copy of the cluster one); every Seldon Model's requirements are
// capabilities of the Server it names.
export function checkAcrossPlatformRenders(renders) {
  const problems = [];
  const all = renders.flatMap(({ name, objects }) => objects.map((o) => ({ name, o })));
  const runtimes = all.filter(({ o }) => (o?.kind === "ServingRuntime" || o?.kind === "ClusterServingRuntime") && o.metadata?.name === "tide");
  const reference = runtimes.find(({ o }) => o.kind === "ClusterServingRuntime") ?? runtimes[0];
  for (const r of runtimes.filter((x) => x !== reference)) {
    if (!isDeepStrictEqual(r.o.spec, reference.o.spec)) {
      problems.push(`${r.name}: ${id(r.o)}'s spec differs from ${reference.name}'s ${id(reference.o)}: keep the namespaced runtime a copy of the cluster one`);
    }
  }
  const capabilities = new Map();
  for (const { o } of all.filter(({ o }) => o?.kind === "ServerConfig")) {
    const agent = (o.spec?.podSpec?.containers ?? []).find((c) => c.name === "agent");
    const env = (agent?.env ?? []).find((e) => e.name === "SELDON_SERVER_CAPABILITIES")?.value ?? "";
    capabilities.set(o.metadata.name, env.split(",").map((s) => s.trim()).filter(Boolean));
  }
  const servers = new Map(all.filter(({ o }) => o?.kind === "Server").map(({ o }) => [o.metadata.name, o]));
  for (const { name, o } of all.filter(({ o }) => o?.kind === "Model")) {
    const server = servers.get(o.spec?.server);
    if (!server) { problems.push(`${name}: ${id(o)}: server ${o.spec?.server} is not a Server in deploy/seldon`); continue; }
    const caps = [...(capabilities.get(server.spec.serverConfig) ?? []), ...(server.spec.capabilities ?? []), ...(server.spec.extraCapabilities ?? [])];
    for (const req of o.spec.requirements ?? []) {
      if (!caps.includes(req)) problems.push(`${name}: ${id(o)}: requirement ${req} is not a capability of Server ${server.metadata.name} (${caps.join(",")})`);
    }
  }
  return problems;
}
