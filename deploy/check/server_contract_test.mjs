// Self-test of lib/server_contract.mjs against a stand-in for `tide serve` on
// 127.0.0.1 (port 0): the checker must accept a server that honours
// contract.json and name each way a server can break it.
//   node --test deploy/check/server_contract_test.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkServer, parseExposition } from "./lib/server_contract.mjs";
import { contract, goodMetrics, startFakeTide } from "./testing/fake_tide.mjs";

// A stand-in server whose responses `breakIt` edits.
async function withServer(breakIt, fn) {
  const page = { metrics: goodMetrics() };
  breakIt(page);
  const server = await startFakeTide(page);
  try {
    return await fn(server);
  } finally {
    server.close();
  }
}

const check = (breakIt) => withServer(breakIt, (s) => checkServer({ http: s.http, metrics: s.metrics, model: "simulated", contract }));

test("parses names, types, labels and values", () => {
  const { types, samples } = parseExposition('# TYPE a_total counter\na_total{model="m",le="0.5"} 3\nb 1.5\n');
  assert.equal(types.get("a_total"), "counter");
  assert.deepEqual(samples, [{ name: "a_total", labels: { model: "m", le: "0.5" }, value: 3 },
                             { name: "b", labels: {}, value: 1.5 }]);
});

test("a server that honours the contract passes", async () => {
  assert.deepEqual(await check(() => {}), []);
});

test("a server without a GPU passes: device metrics may be absent", async () => {
  const noGpu = (p) => { p.metrics = p.metrics.replace(/^.*tide_gpu_.*$/gm, ""); };
  assert.deepEqual(await check(noGpu), []);
});

const cases = [
  ["readiness probe fails", (p) => { p.ready = 503; },
   ["ready probe GET /v2/health/ready on the HTTP port: HTTP 503", "ready probe GET /v2/health/ready on the metrics port: HTTP 503"]],
  ["liveness probe missing", (p) => { p.live = 404; },
   ["live probe GET /v2/health/live on the HTTP port: HTTP 404", "live probe GET /v2/health/live on the metrics port: HTTP 404"]],
  ["liveness missing on the metrics port", (p) => { p.metricsLive = 404; },
   "live probe GET /v2/health/live on the metrics port: HTTP 404"],
  ["inference fails", (p) => { p.infer = 500; }, 'POST /v2/models/simulated/infer: HTTP 500 {"outputs":[{"name":"OUTPUT0","shape":[1,16],"datatype":"FP32","data":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}]}'],
  ["a metric is missing", (p) => { p.metrics = p.metrics.replace(/^.*tide_inference_queue_depth.*$/gm, ""); },
   ["/metrics has no tide_inference_queue_depth (# TYPE line)", '/metrics: no tide_inference_queue_depth{model="simulated"}']],
  ["a metric has the wrong type", (p) => { p.metrics = p.metrics.replace("# TYPE tide_model_memory_bytes gauge", "# TYPE tide_model_memory_bytes counter"); },
   "/metrics: tide_model_memory_bytes is a counter, the contract says gauge"],
  ["a sample lacks the version label", (p) => { p.metrics = p.metrics.replace('tide_inference_in_flight{model="simulated",version="1"}', 'tide_inference_in_flight{model="simulated"}'); },
   "/metrics: tide_inference_in_flight sample without label version"],
  ["a GPU metric has the wrong type", (p) => { p.metrics = p.metrics.replace("# TYPE tide_gpu_utilization_ratio gauge", "# TYPE tide_gpu_utilization_ratio counter"); },
   "/metrics: tide_gpu_utilization_ratio is a counter, the contract says gauge"],
  ["a per-model metric without model, next to the server-wide model control counter",
   (p) => { p.metrics += '# TYPE tide_model_control_requests_total counter\ntide_model_control_requests_total{action="load",result="ok"} 0\n'
                        + 'tide_model_ready{version="1"} 1\n'; },
   "/metrics: tide_model_ready sample without label model"],
  ["the inference is not counted", (p) => { p.metrics = p.metrics.replace(/(tide_inference_requests_total\{[^}]*outcome="success"\}) 1/, "$1 0"); },
   '/metrics: tide_inference_requests_total{model="simulated",outcome="success"} did not count the inference'],
];
for (const [name, breakIt, expected] of cases) {
  test(`catches: ${name}`, async () => {
    const problems = await check(breakIt);
    assert.deepEqual(problems, Array.isArray(expected) ? expected : [expected]);
  });
}
