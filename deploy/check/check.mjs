// deploy/check's validator; run through check.sh, which renders the overlays.
//
//   node check.mjs --root REPO --contract contract.json --hpa-out DIR
//        [--runtime-packages FILE] [--dockerfile deploy/Dockerfile]
//        NAME=RENDERED.yaml ...
//
// Validates every rendered object against its API schema (unknown fields
// included), checks the manifests against each other and against tide's
// contract, checks the Dockerfile, and writes each HorizontalPodAutoscaler to
// --hpa-out as <overlay>--<name>.yaml for `tide hpa validate`. Prints one line
// per problem; exits 1 if there is any, 2 on bad usage.

import { readFileSync, writeFileSync, existsSync } from "node:fs";
import path from "node:path";
import { loadAll, dump } from "js-yaml";
import { validateObject } from "./lib/schema.mjs";
import * as m from "./lib/manifest_checks.mjs";
import { checkDockerfile } from "./lib/dockerfile_checks.mjs";
import { collectQueries, promtoolAvailable, runPromqlTests } from "./lib/promql_tests.mjs";
import { sidecarDashboards, checkDashboard, exportedMetrics, runDashboardTests, kDashboardLabel } from "./lib/grafana_checks.mjs";
import { platformOf, checkPlatformRender, platformWorkloads, checkAcrossPlatformRenders } from "./lib/platform_checks.mjs";

function parseArgs(argv) {
  const opts = { renders: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const flag = /^--(root|contract|hpa-out|runtime-packages|dockerfile)$/.exec(a);
    if (flag) opts[flag[1]] = argv[++i];
    else if (/^[^=]+=.+$/.test(a)) opts.renders.push({ name: a.split("=")[0], file: a.slice(a.indexOf("=") + 1) });
    else throw new Error(`unknown argument ${a}`);
  }
  if (!opts.root || !opts.contract) throw new Error("--root and --contract are required");
  return opts;
}

// What each overlay is for, by its name: it must render that.
function checkOverlayPurpose(name, objects) {
  const count = (kind) => objects.filter((o) => o.kind === kind).length;
  const problems = [];
  if (count("Deployment") !== 1) problems.push(`renders ${count("Deployment")} Deployments, expected 1`);
  if (name.startsWith("hpa-") && count("HorizontalPodAutoscaler") !== 1) problems.push("an hpa-* overlay must render one HorizontalPodAutoscaler");
  if (name.startsWith("keda") && count("ScaledObject") !== 1) problems.push("a keda* overlay must render one ScaledObject");
  if (name === "servicemonitor" && count("ServiceMonitor") !== 1) problems.push("must render a ServiceMonitor");
  if (name.startsWith("grafana") && !objects.some((o) => o.kind === "ConfigMap" && o.metadata?.labels?.[kDashboardLabel] === "1")) {
    problems.push(`a grafana* overlay must render a ConfigMap labelled ${kDashboardLabel}: "1"`);
  }
  // One autoscaler per Deployment: two would fight over its replica count.
  const targets = objects.filter((o) => o.kind === "HorizontalPodAutoscaler" || o.kind === "ScaledObject")
    .map((o) => o.spec?.scaleTargetRef?.name);
  for (const t of new Set(targets)) {
    if (targets.filter((x) => x === t).length > 1) problems.push(`more than one autoscaler targets ${t}`);
  }
  // The models come from a ConfigMap or are baked into a *-models image.
  for (const dep of objects.filter((o) => o.kind === "Deployment")) {
    const tide = dep.spec?.template?.spec?.containers?.find((c) => c.name === "tide");
    const mountsModel = (tide?.volumeMounts ?? []).some((v) => v.mountPath?.startsWith("/models/"));
    if (!mountsModel && !/-models$/.test(tide?.image ?? "")) {
      problems.push(`Deployment/${dep.metadata?.name} mounts no model and its image ${tide?.image} is not a *-models image`);
    }
  }
  return problems;
}

function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`check.mjs: ${e.message}`);
    process.exit(2);
  }
  const contract = JSON.parse(readFileSync(opts.contract, "utf8"));
  const readModelConfig = (model) => {
    const f = path.join(opts.root, contract.models[model].config);
    return existsSync(f) ? readFileSync(f, "utf8") : null;
  };
  const problems = [];
  const notes = [];
  const havePromtool = promtoolAvailable();
  const tideMetrics = { ...exportedMetrics(opts.root), ...contract.metrics };
  let objectCount = 0;
  const platformRenders = [];  // deploy/kserve and deploy/seldon, checked across renders below
  for (const { name, file } of opts.renders) {
    const report = (p) => problems.push(`${name}: ${p}`);
    let objects;
    try {
      objects = loadAll(readFileSync(file, "utf8")).filter((o) => o !== null && o !== undefined);
    } catch (e) {
      report(`rendered output is not YAML: ${e.message.split("\n")[0]}`);
      continue;
    }
    objectCount += objects.length;
    const valid = [];
    for (const o of objects) {
      const where = `${o?.kind}/${o?.metadata?.name}`;
      const schemaProblems = validateObject(o);
      schemaProblems.forEach((p) => report(`${where}: ${p}`));
      if (schemaProblems.length === 0) valid.push(o);
    }
    // deploy/kserve and deploy/seldon renders (kserve-*, seldon-*): the
    // platform makes tide's Deployment; the autoscalers target that one.
    const platform = platformOf(name);
    if (platform) platformRenders.push({ name, objects });
    (platform ? checkPlatformRender(platform, name, objects, contract, valid) : checkOverlayPurpose(name, objects)).forEach(report);
    const targets = platform ? [...objects, ...platformWorkloads(valid)] : objects;
    // Cross-object checks only on objects whose shape is known to be right.
    const served = { pods: new Map(), external: new Map() };
    for (const cm of valid.filter((o) => o.kind === "ConfigMap")) {
      const adapter = m.adapterConfig(cm);
      if (!adapter) continue;
      if (adapter.error) { report(`ConfigMap/${cm.metadata.name}: ${adapter.error}`); continue; }
      const r = m.checkAdapterRules(cm, adapter.config, contract);
      r.problems.forEach(report);
      r.served.pods.forEach((rule, x) => served.pods.set(x, rule));
      r.served.external.forEach((rule, x) => served.external.set(x, rule));
    }
    // Grafana dashboards: the model, the metrics, and every query's values.
    for (const cm of valid.filter((o) => o.kind === "ConfigMap")) {
      for (const d of sidecarDashboards(cm)) {
        const where = `ConfigMap/${cm.metadata.name}: ${d.key}`;
        if (d.error) { report(`ConfigMap/${cm.metadata.name}: ${d.error}`); continue; }
        const r = checkDashboard(d.dashboard, tideMetrics);
        r.problems.forEach((p) => report(`${where}: ${p}`));
        if (!havePromtool) report(`${where}: promtool not found: the dashboard's PromQL is unchecked (Debian package prometheus)`);
        else runDashboardTests(r.queries).forEach((p) => report(`${where}: ${p}`));
      }
    }
    for (const o of valid) {
      if (o.kind === "Deployment") {
        m.checkDeployment(o, objects, contract).forEach(report);
        m.checkModelMounts(o, objects, contract, readModelConfig).forEach(report);
      } else if (o.kind === "Service") {
        m.checkService(o, objects, contract).forEach(report);
      } else if (o.kind === "HorizontalPodAutoscaler") {
        m.checkHpa(o, targets, served).forEach(report);
        if (opts["hpa-out"]) writeFileSync(path.join(opts["hpa-out"], `${name}--${o.metadata.name}.yaml`), dump(o));
      } else if (o.kind === "ScaledObject") {
        m.checkScaledObject(o, targets, contract).forEach(report);
        const hpa = m.kedaHpa(o);
        validateObject(hpa).forEach((p) => report(`${o.kind}/${o.metadata.name}: the HPA KEDA creates from it: ${p}`));
        if (opts["hpa-out"]) writeFileSync(path.join(opts["hpa-out"], `${name}--${hpa.metadata.name}.yaml`), dump(hpa));
      } else if (o.kind === "PodDisruptionBudget") {
        m.checkPodDisruptionBudget(o, objects).forEach(report);
      } else if (o.kind === "ServiceMonitor") {
        m.checkServiceMonitor(o, objects, contract).forEach(report);
      }
    }
    const queries = collectQueries(valid, served);
    if (queries.length && !havePromtool) {
      report("promtool not found: the PromQL of adapter rules and KEDA queries is unchecked (Debian package prometheus; scripts/install-deps.sh installs it)");
    } else if (queries.length) {
      const r = runPromqlTests(queries);
      r.problems.forEach(report);
      r.unchecked.forEach((q) => notes.push(`NOTE ${name}: ${q}: no expected values known, only parsed`));
    }
  }
  checkAcrossPlatformRenders(platformRenders).forEach((p) => problems.push(p));
  if (opts.dockerfile) {
    const runtimePackages = opts["runtime-packages"]
      ? readFileSync(opts["runtime-packages"], "utf8").split("\n").filter(Boolean) : null;
    checkDockerfile({ root: opts.root, dockerfile: opts.dockerfile, contract, runtimePackages }).forEach((p) => problems.push(p));
  }
  for (const p of problems) console.log(`PROBLEM ${p}`);
  for (const n of notes) console.log(n);
  console.log(`deploy check: ${opts.renders.length} renders, ${objectCount} objects, ${problems.length} problems`);
  process.exit(problems.length ? 1 : 0);
}

main();
