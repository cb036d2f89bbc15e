// Checks a running `tide serve` against contract.json: the probe paths
// answer, an inference on the contract's model succeeds, and /metrics
// exports every metric the manifests and adapter rules name, with its type
// and labels. Used by server_contract.mjs (CLI) and its self-test.

// Prometheus text format 0.0.4 -> { types: Map(name -> type), samples: [{name, labels, value}] }
export function parseExposition(text) {
  const types = new Map();
  const samples = [];
  for (const line of text.split("\n")) {
    if (line.startsWith("# TYPE ")) {
      const [, , name, type] = line.split(/\s+/);
      types.set(name, type);
      continue;
    }
    if (line.startsWith("#") || line.trim() === "") continue;
    const m = /^([A-Za-z_:][A-Za-z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    for (const l of (m[3] ?? "").matchAll(/([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    samples.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return { types, samples };
}

// The V2 inference request for one model of the contract: zeros of the
// declared shape.
export function inferRequest(spec) {
  const count = spec.shape.reduce((a, b) => a * b, 1);
  return { inputs: [{ name: spec.input, datatype: spec.datatype, shape: spec.shape, data: new Array(count).fill(0) }] };
}

async function get(url, init) {
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(5000) });
    return { status: res.status, text: await res.text() };
  } catch (e) {
    return { status: 0, text: String(e.cause?.message ?? e.message) };
  }
}

// Returns a list of problems; empty when the server honours the contract.
export async function checkServer({ http, metrics, model, contract }) {
  const problems = [];
  // Both health paths answer on the HTTP port and on the metrics port.
  for (const [what, path] of Object.entries(contract.probes)) {
    for (const [port, base] of [["HTTP", http], ["metrics", metrics]]) {
      const r = await get(`${base}${path}`);
      if (r.status !== 200) problems.push(`${what} probe GET ${path} on the ${port} port: HTTP ${r.status} ${r.text.slice(0, 200)}`.trim());
    }
  }
  if (model) {
    const spec = contract.models[model]?.request;
    if (!spec) {
      problems.push(`contract.json has no request for model ${model}`);
    } else {
      const r = await get(`${http}/v2/models/${model}/infer`, {
        method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(inferRequest(spec)),
      });
      let outputs = [];
      try { outputs = JSON.parse(r.text).outputs ?? []; } catch { /* reported below */ }
      if (r.status !== 200) problems.push(`POST /v2/models/${model}/infer: HTTP ${r.status} ${r.text.slice(0, 200)}`.trim());
      else if (!outputs.some((o) => o.name === spec.output)) problems.push(`POST /v2/models/${model}/infer: no output ${spec.output}`);
    }
  }
  const r = await get(`${metrics}${contract.metricsPath}`);
  if (r.status !== 200) {
    problems.push(`GET ${contract.metricsPath} on the metrics port: HTTP ${r.status}`);
    return problems;
  }
  const { types, samples } = parseExposition(r.text);
  // Device metrics (tide_gpu_*) exist only where NVML or a simulated GPU model
  // is there to read: absent is fine, a wrong type is not.
  const deviceMetrics = new Set(contract.deviceMetrics ?? []);
  for (const [name, type] of Object.entries(contract.metrics)) {
    if (!types.has(name)) {
      if (!deviceMetrics.has(name)) problems.push(`/metrics has no ${name} (# TYPE line)`);
    } else if (types.get(name) !== type) problems.push(`/metrics: ${name} is a ${types.get(name)}, the contract says ${type}`);
  }
  // Labels: every sample of a per-model metric (tide_inference_*, tide_model_*)
  // carries model and version; server-wide ones (tide_http_*, and
  // tide_model_control_*: the repository API, not one model) carry neither.
  for (const s of samples.filter((x) => /^tide_(inference|model)_/.test(x.name) && !x.name.startsWith("tide_model_control_"))) {
    for (const label of contract.metricLabels) {
      if (!(label in s.labels)) { problems.push(`/metrics: ${s.name} sample without label ${label}`); break; }
    }
  }
  if (model) {
    // What the HPAs select on (model=<model>) and the adapter rules read.
    const of = (name) => samples.filter((s) => s.name === name && s.labels.model === model);
    if (of("tide_inference_queue_depth").length === 0) problems.push(`/metrics: no tide_inference_queue_depth{model="${model}"}`);
    if (!of("tide_inference_request_duration_seconds_bucket").some((s) => "le" in s.labels)) {
      problems.push(`/metrics: no tide_inference_request_duration_seconds_bucket{model="${model}",le=...}`);
    }
    const ok = of("tide_inference_requests_total").filter((s) => s.labels.outcome === "success");
    if (!ok.some((s) => s.value >= 1)) problems.push(`/metrics: tide_inference_requests_total{model="${model}",outcome="success"} did not count the inference`);
    if (!of("tide_model_ready").some((s) => s.value === 1)) problems.push(`/metrics: tide_model_ready{model="${model}"} is not 1`);
  }
  return problems;
}
