// Checks tide's Grafana dashboard (deploy/grafana/tide.json) as the rendered
// ConfigMap carries it to Grafana's sidecar:
//  - the dashboard model: schemaVersion of a current Grafana, panel types
//    Grafana knows, unique panel ids, a gridPos on the 24-column grid, every
//    panel, target and query variable on the datasource variable, every
//    template variable an expression uses defined;
//  - every metric an expression reads is one tide exports
//    (src/metrics/metric_names.h, contract.json) or one of the few foreign
//    metrics below;
//  - every panel expression (template variables replaced by concrete values)
//    and every query variable's series is evaluated by `promtool test rules`
//    on a synthetic cluster, each against its exact expected samples.

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { dump } from "js-yaml";
import { promtoolTestRules } from "./check_cache.mjs";
import { metricNames, isTideSeries } from "./promql.mjs";

export const kDashboardLabel = "grafana_dashboard";

// Grafana 9.0 (schemaVersion 36) made datasource references {type, uid}
// objects, which the checks below require; 41 is Grafana 11's.
const kSchemaVersions = { min: 36, max: 41 };

const kPanelTypes = new Set([
  "alertlist", "annolist", "barchart", "bargauge", "candlestick", "canvas", "dashlist", "datagrid",
  "flamegraph", "gauge", "geomap", "heatmap", "histogram", "logs", "news", "nodeGraph", "piechart",
  "row", "stat", "state-timeline", "status-history", "table", "text", "timeseries", "traces", "trend",
  "xychart",
]);
const kVariableTypes = new Set(["adhoc", "constant", "custom", "datasource", "interval", "query", "textbox"]);
const kBuiltinVariables = new Set([
  "__rate_interval", "__interval", "__interval_ms", "__range", "__range_s", "__range_ms", "__dashboard",
  "__from", "__to", "__name", "__org", "__user", "__all",
]);

// Metrics the dashboard reads that tide's servers do not export.
export const kForeignMetrics = {
  kube_pod_container_resource_requests: "kube-state-metrics: the CPU request the CPU panels compare against",
  kube_horizontalpodautoscaler_status_desired_replicas: "kube-state-metrics: the HPA panel",
  kube_horizontalpodautoscaler_status_current_replicas: "kube-state-metrics: the HPA panel",
  tide_gpu_utilization_ratio: "per-pod GPU utilization, where a GPU backend exports it (src/fleet/scrape_source.h)",
  DCGM_FI_DEV_GPU_UTIL: "NVIDIA dcgm-exporter's GPU utilization in percent, where there are GPUs",
};

// What the template variables stand for in the synthetic cluster.
const kVariableValues = { namespace: "default", model: "simulated", hpa: "tide", __rate_interval: "1m", __interval: "15s", __range: "1h" };

// The synthetic cluster, at 15 s per sample: namespace default runs tide-a
// and tide-b serving model simulated (tide-a also serves model other) and a
// pod db-0 that is not tide; namespace staging runs tide-z. Counters grow
// linearly, so every rate over a minute is exact.
function inputSeries() {
  const s = (name, labels, values) => ({
    series: `${name}{${Object.entries({ namespace: "default", ...labels }).map(([k, v]) => `${k}="${v}"`).join(",")}}`,
    values,
  });
  const sim = (pod, extra = {}) => ({ pod, model: "simulated", version: "1", ...extra });
  const series = [
    // Requests: 1.6 + 0.2 + 0.2 + 2 = 4/s for simulated, 0.4/s of them errors.
    s("tide_inference_requests_total", sim("tide-a", { outcome: "success" }), "0+24x20"),
    s("tide_inference_requests_total", sim("tide-a", { outcome: "failure" }), "0+3x20"),
    s("tide_inference_requests_total", sim("tide-a", { outcome: "rejected" }), "0+3x20"),
    s("tide_inference_requests_total", sim("tide-b", { outcome: "success" }), "0+30x20"),
    s("tide_inference_requests_total", { pod: "tide-a", model: "other", version: "1", outcome: "success" }, "0+150x20"),
    s("tide_inference_requests_total", sim("tide-z", { namespace: "staging", outcome: "success" }), "0+300x20"),
    s("tide_inference_failures_total", sim("tide-a", { reason: "deadline_exceeded" }), "0+3x20"),
    s("tide_inference_failures_total", sim("tide-a", { reason: "unavailable" }), "0+3x20"),
    s("tide_inference_failures_total", { pod: "tide-a", model: "other", version: "1", reason: "invalid_argument" }, "0+15x20"),
    // Queues: 3 + 5 waiting for simulated; 2 for other, 7 in staging.
    s("tide_inference_queue_depth", sim("tide-a"), "3x20"),
    s("tide_inference_queue_depth", sim("tide-b"), "5x20"),
    s("tide_inference_queue_depth", { pod: "tide-a", model: "other", version: "1" }, "2x20"),
    s("tide_inference_queue_depth", sim("tide-z", { namespace: "staging" }), "7x20"),
    // Batches: 8 rows/s in 2 batches/s for simulated (mean 4); other: 1.
    s("tide_inference_count_total", sim("tide-a"), "0+60x20"),
    s("tide_inference_count_total", sim("tide-b"), "0+60x20"),
    s("tide_inference_executions_total", sim("tide-a"), "0+15x20"),
    s("tide_inference_executions_total", sim("tide-b"), "0+15x20"),
    s("tide_inference_count_total", { pod: "tide-a", model: "other", version: "1" }, "0+15x20"),
    s("tide_inference_executions_total", { pod: "tide-a", model: "other", version: "1" }, "0+15x20"),
    // CPU: tide-a 0.2 and tide-b 0.4 cores of 0.5 requested; db-0 is not tide.
    s("process_cpu_seconds_total", { pod: "tide-a" }, "0+3x20"),
    s("process_cpu_seconds_total", { pod: "tide-b" }, "0+6x20"),
    s("process_cpu_seconds_total", { pod: "db-0" }, "0+15x20"),
    s("kube_pod_container_resource_requests", { pod: "tide-a", container: "tide", resource: "cpu", unit: "core" }, "0.5x20"),
    s("kube_pod_container_resource_requests", { pod: "tide-a", container: "tide", resource: "memory", unit: "byte" }, "1073741824x20"),
    s("kube_pod_container_resource_requests", { pod: "tide-b", container: "tide", resource: "cpu", unit: "core" }, "0.5x20"),
    s("kube_pod_container_resource_requests", { pod: "db-0", container: "db", resource: "cpu", unit: "core" }, "2x20"),
    // HPAs: tide wants 4, has 3; another one is not tide's.
    s("kube_horizontalpodautoscaler_status_desired_replicas", { horizontalpodautoscaler: "tide" }, "4x20"),
    s("kube_horizontalpodautoscaler_status_current_replicas", { horizontalpodautoscaler: "tide" }, "3x20"),
    s("kube_horizontalpodautoscaler_status_desired_replicas", { horizontalpodautoscaler: "other" }, "9x20"),
    s("kube_horizontalpodautoscaler_status_current_replicas", { horizontalpodautoscaler: "other" }, "9x20"),
    // GPUs: tide's ratio per pod, dcgm-exporter's percent per container.
    s("tide_gpu_utilization_ratio", { pod: "tide-a" }, "0.25x20"),
    s("tide_gpu_utilization_ratio", { pod: "tide-b" }, "0.75x20"),
    s("DCGM_FI_DEV_GPU_UTIL", { pod: "tide-a", container: "tide", gpu: "0" }, "60x20"),
    s("DCGM_FI_DEV_GPU_UTIL", { pod: "db-0", container: "db", gpu: "1" }, "90x20"),
  ];
  // Durations of simulated, per pod: 20 per 15 s up to 50 ms, 80 more up to
  // 100 ms; model other answers everything within 50 ms.
  for (const [pod, model, upTo50ms] of [["tide-a", "simulated", 20], ["tide-b", "simulated", 20], ["tide-a", "other", 100]]) {
    for (const [le, n] of [["0.05", upTo50ms], ["0.1", 100], ["0.25", 100], ["+Inf", 100]]) {
      series.push(s("tide_inference_request_duration_seconds_bucket", { pod, model, version: "1", le }, `0+${n}x20`));
    }
  }
  return series;
}

// Expected samples, by panel title and refId (or "variable NAME"). The
// quantiles interpolate within the (50 ms, 100 ms] bucket that holds 80% of
// the requests: p50 = 0.05 + 0.05 * (0.5 - 0.2) / 0.8, p99 likewise.
const kExpected = new Map([
  ["Requests per second A", [{ labels: "{}", value: 4 }]],
  ["Error ratio A", [{ labels: "{}", value: 0.1 }]],
  ["p99 latency A", [{ labels: "{}", value: 0.099375 }]],
  ["Requests waiting A", [{ labels: "{}", value: 8 }]],
  ["Request rate by model and outcome A", [
    { labels: '{model="simulated",outcome="success"}', value: 3.6 },
    { labels: '{model="simulated",outcome="failure"}', value: 0.2 },
    { labels: '{model="simulated",outcome="rejected"}', value: 0.2 },
  ]],
  ["Errors by model and reason A", [
    { labels: '{model="simulated",reason="deadline_exceeded"}', value: 0.2 },
    { labels: '{model="simulated",reason="unavailable"}', value: 0.2 },
  ]],
  ["Latency p50 / p99 by model A", [{ labels: '{model="simulated"}', value: 0.06875 }]],
  ["Latency p50 / p99 by model B", [{ labels: '{model="simulated"}', value: 0.099375 }]],
  ["Mean batch size by model A", [{ labels: '{model="simulated"}', value: 4 }]],
  ["Queue depth per pod A", [{ labels: '{pod="tide-a"}', value: 3 }, { labels: '{pod="tide-b"}', value: 5 }]],
  ["HPA desired / current replicas A", [{ labels: '{horizontalpodautoscaler="tide"}', value: 4 }]],
  ["HPA desired / current replicas B", [{ labels: '{horizontalpodautoscaler="tide"}', value: 3 }]],
  ["CPU per pod against its request A", [{ labels: '{pod="tide-a"}', value: 0.2 }, { labels: '{pod="tide-b"}', value: 0.4 }]],
  ["CPU per pod against its request B", [{ labels: '{pod="tide-a"}', value: 0.5 }, { labels: '{pod="tide-b"}', value: 0.5 }]],
  ["CPU utilization per pod A", [{ labels: '{pod="tide-a"}', value: 0.4 }, { labels: '{pod="tide-b"}', value: 0.8 }]],
  ["GPU utilization per pod A", [{ labels: '{pod="tide-a"}', value: 0.25 }, { labels: '{pod="tide-b"}', value: 0.75 }]],
  ["GPU utilization per pod B", [{ labels: '{pod="tide-a"}', value: 0.6 }]],
  ["variable namespace", [{ labels: '{namespace="default"}', value: 1 }, { labels: '{namespace="staging"}', value: 1 }]],
  ["variable model", [{ labels: '{model="simulated"}', value: 1 }, { labels: '{model="other"}', value: 1 }]],
  ["variable hpa", [{ labels: '{horizontalpodautoscaler="tide"}', value: 1 }, { labels: '{horizontalpodautoscaler="other"}', value: 1 }]],
]);

// The dashboards a ConfigMap carries to Grafana's sidecar: [{key, dashboard}
// or {key, error}]; none unless it has the sidecar's label.
export function sidecarDashboards(cm) {
  if (cm?.metadata?.labels?.[kDashboardLabel] !== "1") return [];
  return Object.entries(cm.data ?? {}).filter(([key]) => key.endsWith(".json")).map(([key, text]) => {
    try {
      return { key, dashboard: JSON.parse(text) };
    } catch (e) {
      return { key, error: `${key} is not JSON: ${e.message}` };
    }
  });
}

// tide's metric names and types from src/metrics/metric_names.h.
export function exportedMetrics(root) {
  const file = path.join(root, "src/metrics/metric_names.h");
  if (!existsSync(file)) return {};
  const text = readFileSync(file, "utf8");
  const byConstant = new Map([...text.matchAll(/constexpr char (k\w+)\[\]\s*=\s*"([^"]+)"/g)].map((m) => [m[1], m[2]]));
  const types = {};
  for (const m of text.matchAll(/\{\s*(k\w+)\s*,\s*"(\w+)"\s*\}/g)) {
    if (byConstant.has(m[1])) types[byConstant.get(m[1])] = m[2];
  }
  return types;
}

// Template variables an expression refers to: $x, ${x}, ${x:fmt}, [[x]].
function variableRefs(text) {
  return [...String(text).matchAll(/\$\{(\w+)(?::[^}]*)?\}|\$(\w+)|\[\[(\w+)(?::[^\]]*)?\]\]/g)].map((m) => m[1] ?? m[2] ?? m[3]);
}

function substitute(text) {
  return String(text).replace(/\$\{(\w+)(?::[^}]*)?\}|\$(\w+)|\[\[(\w+)(?::[^\]]*)?\]\]/g,
    (all, a, b, c) => kVariableValues[a ?? b ?? c] ?? all);
}

function isDatasourceVariable(ds, dsVariable) {
  return ds !== null && typeof ds === "object" && ds.type === "prometheus" &&
    (ds.uid === `\${${dsVariable}}` || ds.uid === `$${dsVariable}`);
}

// Checks one dashboard. Returns { problems, queries: [{what, key, expr}] }.
export function checkDashboard(dash, metrics) {
  const problems = [];
  const queries = [];
  const problem = (p) => problems.push(p);
  if (typeof dash?.title !== "string" || !dash.title) problem("dashboard has no title");
  if (typeof dash?.uid !== "string" || !/^[A-Za-z0-9_-]{1,40}$/.test(dash.uid)) problem(`uid ${JSON.stringify(dash?.uid)} must be 1-40 letters, digits, - or _`);
  const sv = dash?.schemaVersion;
  if (!Number.isInteger(sv) || sv < kSchemaVersions.min || sv > kSchemaVersions.max) {
    problem(`schemaVersion ${JSON.stringify(sv)} is not that of a current Grafana (${kSchemaVersions.min}..${kSchemaVersions.max})`);
  }
  if ("__inputs" in (dash ?? {}) || JSON.stringify(dash ?? {}).includes("${DS_")) {
    problem("has import-time __inputs/${DS_...} placeholders, which the sidecar does not fill: use the datasource variable");
  }
  const vars = dash?.templating?.list;
  if (!Array.isArray(vars)) problem("templating.list is missing");
  const defined = new Set(kBuiltinVariables);
  const dsVars = [];
  for (const [i, v] of (vars ?? []).entries()) {
    const where = `templating.list[${i}] ${v?.name}`;
    if (typeof v?.name !== "string" || !v.name) { problem(`templating.list[${i}] has no name`); continue; }
    if (defined.has(v.name) && !kBuiltinVariables.has(v.name)) problem(`${where}: defined twice`);
    defined.add(v.name);
    if (!kVariableTypes.has(v.type)) problem(`${where}: unknown variable type ${JSON.stringify(v.type)}`);
    if (v.type === "datasource") {
      if (v.query !== "prometheus") problem(`${where}: a datasource variable for query "prometheus", not ${JSON.stringify(v.query)}`);
      else dsVars.push(v.name);
    }
  }
  if (dsVars.length !== 1) problem(`needs exactly one Prometheus datasource variable, has ${dsVars.length}`);
  const dsVariable = dsVars[0] ?? "datasource";
  const useVariables = (where, text) => {
    for (const ref of variableRefs(text)) {
      if (!defined.has(ref)) problem(`${where}: uses template variable $${ref}, which the dashboard does not define`);
    }
  };
  const useMetrics = (where, expr) => {
    for (const name of metricNames(expr)) {
      if (!isTideSeries(name, metrics) && !(name in kForeignMetrics)) {
        problem(`${where}: reads ${name}, which tide does not export (src/metrics/metric_names.h) and is not a known foreign metric`);
      }
    }
  };
  for (const [i, v] of (vars ?? []).entries()) {
    if (v?.type !== "query") continue;
    const where = `variable ${v.name}`;
    if (!isDatasourceVariable(v.datasource, dsVariable)) problem(`${where}: datasource must be {type: prometheus, uid: \${${dsVariable}}}`);
    const query = typeof v.query === "string" ? v.query : v.query?.query;
    const lv = /^\s*label_values\((.+),\s*(\w+)\s*\)\s*$/.exec(query ?? "");
    if (!lv) { problem(`${where}: query ${JSON.stringify(query)} is not label_values(series, label)`); continue; }
    useVariables(where, query);
    useMetrics(where, lv[1]);
    queries.push({ what: `${where} (${query})`, key: `variable ${v.name}`, expr: `group by (${lv[2]}) (${substitute(lv[1])})` });
  }
  if (!Array.isArray(dash?.panels) || dash.panels.length === 0) problem("has no panels");
  const ids = new Map();
  const titles = new Set();
  const all = (dash?.panels ?? []).flatMap((p) => [p, ...(Array.isArray(p?.panels) ? p.panels : [])]);
  for (const p of all) {
    const where = `panel ${p?.id} "${p?.title}"`;
    if (!Number.isInteger(p?.id)) problem(`${where}: id must be an integer`);
    else if (ids.has(p.id)) problem(`${where}: id ${p.id} is also panel "${ids.get(p.id)}"'s`);
    else ids.set(p.id, p.title);
    if (!kPanelTypes.has(p?.type)) problem(`${where}: unknown panel type ${JSON.stringify(p?.type)}`);
    const g = p?.gridPos;
    if (!g || ![g.x, g.y, g.w, g.h].every(Number.isInteger) || g.x < 0 || g.y < 0 || g.w < 1 || g.h < 1 || g.x + g.w > 24) {
      problem(`${where}: gridPos ${JSON.stringify(g)} must be integers x, y, w, h on the 24-column grid`);
    }
    if (p?.type === "row" || p?.type === "text") continue;
    if (titles.has(p?.title)) problem(`${where}: another panel has the same title`);
    titles.add(p?.title);
    if (!isDatasourceVariable(p?.datasource, dsVariable)) problem(`${where}: datasource must be {type: prometheus, uid: \${${dsVariable}}}, is ${JSON.stringify(p?.datasource)}`);
    if (!Array.isArray(p?.targets) || p.targets.length === 0) { problem(`${where}: has no targets`); continue; }
    const refIds = new Set();
    for (const t of p.targets) {
      const tw = `${where} target ${t?.refId}`;
      if (typeof t?.refId !== "string" || refIds.has(t.refId)) problem(`${tw}: refId must be a unique string`);
      refIds.add(t?.refId);
      if (t?.datasource !== undefined && !isDatasourceVariable(t.datasource, dsVariable)) problem(`${tw}: datasource must be the panel's \${${dsVariable}}`);
      if (typeof t?.expr !== "string" || !t.expr.trim()) { problem(`${tw}: has no expr`); continue; }
      useVariables(tw, t.expr);
      useMetrics(tw, t.expr);
      queries.push({ what: tw, key: `${p.title} ${t.refId}`, expr: substitute(t.expr) });
    }
  }
  return { problems, queries };
}

// Evaluates every query on the synthetic cluster with promtool; each must
// have its expected samples (a new panel needs its entry in kExpected).
export function runDashboardTests(queries) {
  const problems = [];
  for (const q of queries.filter((x) => !kExpected.has(x.key))) {
    problems.push(`${q.what}: no expected values in deploy/check/lib/grafana_checks.mjs (add its entry to kExpected)`);
  }
  if (queries.length === 0) return problems;
  const dir = mkdtempSync(path.join(os.tmpdir(), "deploy-grafana-"));
  try {
    const rules = { groups: [{ name: "grafana", rules: queries.map((q, i) => ({ record: `grafana:query_${i}`, expr: q.expr })) }] };
    writeFileSync(path.join(dir, "rules.yaml"), dump(rules));
    const tests = [{
      interval: "15s",
      input_series: inputSeries(),
      promql_expr_test: queries.filter((q) => kExpected.has(q.key)).map((q) => ({ expr: q.expr, eval_time: "4m", exp_samples: kExpected.get(q.key) })),
    }];
    writeFileSync(path.join(dir, "test.yaml"), dump({ rule_files: ["rules.yaml"], evaluation_interval: "15s", tests }));
    try {
      promtoolTestRules(dir);
    } catch (e) {
      const out = [...new Set(`${e.stdout ?? ""}${e.stderr ?? ""}`.split("\n").map((l) => l.trim()))]
        .filter((l) => l && !/^(Unit Testing|FAILED:?)/.test(l));
      const before = problems.length;
      queries.forEach((q, i) => {
        const parse = out.find((l) => l.includes(`"grafana:query_${i}"`));
        const at = out.findIndex((l) => l.includes(JSON.stringify(q.expr)));
        if (parse) problems.push(`${q.what}: PromQL does not parse: ${parse.replace(/^.*could not parse expression: /, "")}`);
        else if (at >= 0) problems.push(`${q.what}: PromQL gives the wrong values: ${out.slice(at + 1, at + 3).join("; ")} (${q.expr})`);
      });
      if (problems.length === before) problems.push(`dashboard PromQL (promtool test rules): ${out.join(" | ").slice(0, 1500)}`);
    }
    return problems;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
