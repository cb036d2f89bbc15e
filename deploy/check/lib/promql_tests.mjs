// Runs the PromQL that the manifests send to Prometheus (Prometheus Adapter
// metricsQuery templates as the adapter expands them for each HPA, KEDA
// trigger queries) through `promtool test rules` against a small synthetic
// cluster: every query must parse, and the known ones must give the values
// an HPA needs (per-pod queue depth, a p99 that is 0 rather than NaN when
// idle, one sample for KEDA).

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { dump } from "js-yaml";
import { promtoolTestRules } from "./check_cache.mjs";

const kNamespace = "default";
const kPods = ["tide-a", "tide-b"];

// Two scenarios of the same two pods: "busy" (queues, 100 requests per 15 s
// per pod, all between 50 and 100 ms) and "idle" (nothing queued, no requests).
function inputSeries(busy) {
  const s = (name, labels, values) => ({
    series: `${name}{${Object.entries({ namespace: kNamespace, ...labels }).map(([k, v]) => `${k}="${v}"`).join(",")}}`,
    values,
  });
  const series = [
    s("tide_inference_queue_depth", { pod: "tide-a", model: "simulated", version: "1" }, busy ? "3x20" : "0x20"),
    s("tide_inference_queue_depth", { pod: "tide-a", model: "other", version: "1" }, busy ? "2x20" : "0x20"),
    s("tide_inference_queue_depth", { pod: "tide-b", model: "simulated", version: "1" }, busy ? "5x20" : "0x20"),
  ];
  for (const pod of kPods) {
    const bucket = (le, values) => s("tide_inference_request_duration_seconds_bucket",
      { pod, model: "simulated", version: "1", le }, values);
    series.push(bucket("0.05", "7x20"), bucket("0.1", busy ? "7+100x20" : "7x20"), bucket("+Inf", busy ? "7+100x20" : "7x20"));
  }
  // GPUs: tide-a holds two (busy 50 % and 70 %), tide-b one (90 %), as tide
  // exports them (0..1) and as dcgm-exporter does (percent, scraped from its
  // own pod in another namespace, the GPU's pod in exported_* labels).
  const gpus = [["tide-a", "0", 0.5], ["tide-a", "1", 0.7], ["tide-b", "0", 0.9]];
  for (const [pod, gpu, util] of gpus) {
    series.push(s("tide_gpu_utilization_ratio", { pod, gpu, uuid: `GPU-${pod}-${gpu}` }, busy ? `${util}x20` : "0x20"));
    series.push(s("DCGM_FI_DEV_GPU_UTIL", { namespace: "gpu-operator", pod: "dcgm-exporter-x", exported_namespace: kNamespace,
      exported_pod: pod, gpu, UUID: `GPU-${pod}-${gpu}` }, busy ? `${Math.round(util * 100)}x20` : "0x20"));
  }
  return series;
}

// What the known queries must return, by scenario. Keyed by the exposed
// metric name and the HPA's metric selector, or by a KEDA query's text.
const kExpectations = new Map([
  ['pods tide_inference_queue_depth {"model":"simulated"}', {
    busy: [{ labels: '{pod="tide-a"}', value: 3 }, { labels: '{pod="tide-b"}', value: 5 }],
    idle: [{ labels: '{pod="tide-a"}', value: 0 }, { labels: '{pod="tide-b"}', value: 0 }],
  }],
  ['external tide_inference_request_duration_seconds_p99 {"model":"simulated"}', {
    // 0.05 + (0.1 - 0.05) * 0.99: the quantile interpolated in its bucket.
    busy: [{ labels: "{}", value: 0.0995 }],
    idle: [{ labels: "{}", value: 0 }],
  }],
  // A pod's GPU utilization is the mean over its GPUs.
  ['pods tide_gpu_utilization_ratio {}', {
    busy: [{ labels: '{pod="tide-a"}', value: 0.6 }, { labels: '{pod="tide-b"}', value: 0.9 }],
    idle: [{ labels: '{pod="tide-a"}', value: 0 }, { labels: '{pod="tide-b"}', value: 0 }],
  }],
  ['pods DCGM_FI_DEV_GPU_UTIL {}', {
    busy: [{ labels: '{exported_pod="tide-a"}', value: 60 }, { labels: '{exported_pod="tide-b"}', value: 90 }],
    idle: [{ labels: '{exported_pod="tide-a"}', value: 0 }, { labels: '{exported_pod="tide-b"}', value: 0 }],
  }],
  // KEDA divides by the replica count: 1.5 / 2 pods = 0.75 per replica.
  ['keda sum(avg by (pod) (tide_gpu_utilization_ratio{namespace="default"}))', {
    busy: [{ labels: "{}", value: 1.5 }],
    idle: [{ labels: "{}", value: 0 }],
  }],
  ['keda sum(tide_inference_queue_depth{namespace="default",model="simulated"})', {
    busy: [{ labels: "{}", value: 8 }],
    idle: [{ labels: "{}", value: 0 }],
  }],
]);

// The adapter's template expansion for one HPA metric.
function expand(query, { series, matchers, groupBy }) {
  return query.replaceAll("<<.Series>>", series).replaceAll("<<.LabelMatchers>>", matchers)
    .replaceAll("<<.GroupBy>>", groupBy).replaceAll("<<.GroupBySlice>>", JSON.stringify(groupBy ? [groupBy] : []));
}

function selectorMatchers(selector) {
  return Object.entries(selector?.matchLabels ?? {}).map(([k, v]) => `${k}="${v}"`);
}

// The queries of one render: [{what, expr, key}].
export function collectQueries(objects, served) {
  const queries = [];
  for (const hpa of objects.filter((o) => o.kind === "HorizontalPodAutoscaler")) {
    for (const m of hpa.spec?.metrics ?? []) {
      const kind = m.type === "Pods" ? "pods" : m.type === "External" ? "external" : null;
      const source = kind && m[kind];
      const rule = source && served[kind].get(source.metric?.name);
      if (!rule || typeof rule.metricsQuery !== "string") continue;
      const series = /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(rule.seriesQuery)?.[0] ?? "";
      // The series' labels the rule maps to namespace and pod (dcgm-exporter's
      // are exported_namespace and exported_pod).
      const label = (resource) => Object.entries(rule.resources?.overrides ?? {})
        .find(([, o]) => o?.resource === resource)?.[0] ?? resource;
      const matchers = [`${label("namespace")}="${kNamespace}"`];
      if (kind === "pods") matchers.push(`${label("pod")}=~"${kPods.join("|")}"`);
      matchers.push(...selectorMatchers(source.metric.selector));
      queries.push({
        what: `HPA ${hpa.metadata.name} ${m.type} ${source.metric.name} (adapter metricsQuery)`,
        expr: expand(rule.metricsQuery, { series, matchers: matchers.join(","), groupBy: kind === "pods" ? label("pod") : "" }),
        key: `${kind} ${source.metric.name} ${JSON.stringify(source.metric.selector?.matchLabels ?? {})}`,
      });
    }
  }
  for (const so of objects.filter((o) => o.kind === "ScaledObject")) {
    for (const [i, t] of (so.spec?.triggers ?? []).entries()) {
      if (t.type !== "prometheus" || typeof t.metadata?.query !== "string") continue;
      queries.push({ what: `ScaledObject ${so.metadata.name} triggers[${i}] query`, expr: t.metadata.query, key: `keda ${t.metadata.query}` });
    }
  }
  return queries;
}

export function promtoolAvailable() {
  try {
    execFileSync("promtool", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

// Returns { problems, unchecked }: unchecked lists queries only parsed (no
// expectation known for them).
export function runPromqlTests(queries) {
  if (queries.length === 0) return { problems: [], unchecked: [] };
  const dir = mkdtempSync(path.join(os.tmpdir(), "deploy-promql-"));
  try {
    // Every query as a recording rule: promtool parses them all.
    const rules = { groups: [{ name: "deploy_check", rules: queries.map((q, i) => ({ record: `deploy_check:query_${i}`, expr: q.expr })) }] };
    writeFileSync(path.join(dir, "rules.yaml"), dump(rules));
    const tests = ["busy", "idle"].map((scenario) => ({
      interval: "15s",
      input_series: inputSeries(scenario === "busy"),
      promql_expr_test: queries.filter((q) => kExpectations.has(q.key)).map((q) => ({
        expr: q.expr, eval_time: "4m", exp_samples: kExpectations.get(q.key)[scenario],
      })),
    }));
    writeFileSync(path.join(dir, "test.yaml"), dump({ rule_files: ["rules.yaml"], evaluation_interval: "15s", tests }));
    const problems = [];
    try {
      promtoolTestRules(dir);
    } catch (e) {
      // promtool names a rule that does not parse by its record name, and a
      // failed expectation by its (JSON-quoted) expression.
      const out = [...new Set(`${e.stdout ?? ""}${e.stderr ?? ""}`.split("\n").map((l) => l.trim()))]
        .filter((l) => l && !/^(Unit Testing|FAILED:?)/.test(l));
      queries.forEach((q, i) => {
        const parse = out.find((l) => l.includes(`"deploy_check:query_${i}"`));
        const at = out.findIndex((l) => l.includes(JSON.stringify(q.expr)));
        if (parse) problems.push(`PromQL of ${q.what} does not parse: ${parse.replace(/^.*could not parse expression: /, "")}`);
        else if (at >= 0) problems.push(`PromQL of ${q.what} gives the wrong values: ${out.slice(at + 1, at + 3).join("; ")} (${q.expr})`);
      });
      if (problems.length === 0) problems.push(`PromQL (promtool test rules): ${out.join(" | ").slice(0, 1500)}`);
    }
    return { problems, unchecked: queries.filter((q) => !kExpectations.has(q.key)).map((q) => q.what) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
