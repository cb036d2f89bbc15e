// A stand-in for `tide serve` that honours contract.json, for the checks'
// own tests: the HTTP API on one 127.0.0.1 port and /metrics on another.
import http from "node:http";
import { readFileSync } from "node:fs";

export const contract = JSON.parse(readFileSync(new URL("../contract.json", import.meta.url), "utf8"));

// The /metrics page a correct server exports after one successful inference.
export function goodMetrics() {
  const lines = [];
  for (const [name, type] of Object.entries(contract.metrics)) {
    lines.push(`# HELP ${name} test`, `# TYPE ${name} ${type}`);
    const labels = name.startsWith("tide_") ? 'model="simulated",version="1"' : "";
    const wrap = (extra) => `{${[labels, extra].filter(Boolean).join(",")}}`;
    if (type === "histogram") {
      lines.push(`${name}_bucket${wrap('le="0.1"')} 1`, `${name}_bucket${wrap('le="+Inf"')} 1`,
                 `${name}_sum${wrap("")} 0.05`, `${name}_count${wrap("")} 1`);
    } else if (name === "tide_inference_requests_total") {
      lines.push(`${name}${wrap('outcome="success"')} 1`, `${name}${wrap('outcome="failure"')} 0`);
    } else if (labels) {
      lines.push(`${name}${wrap("")} 1`);
    } else {
      lines.push(`${name} 1`);
    }
  }
  return lines.join("\n") + "\n";
}

// Starts the stand-in; `page` holds the responses (tests break them).
// Returns { http, metrics, close } with the two base URLs.
export async function startFakeTide(page = {}) {
  const p = { metrics: goodMetrics(), live: 200, ready: 200, infer: 200, ...page };
  const api = http.createServer((req, res) => {
    const send = (status, body) => { res.writeHead(status); res.end(body); };
    if (req.url === "/v2/health/live") return send(p.live, "");
    if (req.url === "/v2/health/ready") return send(p.ready, "");
    if (req.url === "/v2/models/simulated/infer" && req.method === "POST") {
      let body = "";
      req.on("data", (c) => { body += c; });
      req.on("end", () => {
        const input = JSON.parse(body).inputs[0];
        const ok = input.name === "INPUT0" && input.data.length === 16;
        send(ok ? p.infer : 400, JSON.stringify({ outputs: [{ name: "OUTPUT0", shape: [1, 16], datatype: "FP32", data: input.data }] }));
      });
      return undefined;
    }
    return send(404, '{"error":"not found"}');
  });
  // tide serves the health paths on its metrics port too (liveness is probed there).
  const metrics = http.createServer((req, res) => {
    if (req.url === "/v2/health/live") { res.writeHead(p.metricsLive ?? p.live); return res.end(""); }
    if (req.url === "/v2/health/ready") { res.writeHead(p.ready); return res.end(""); }
    res.writeHead(req.url === "/metrics" ? 200 : 404);
    res.end(req.url === "/metrics" ? p.metrics : "");
  });
  const listen = (s) => new Promise((resolve) => s.listen(0, "127.0.0.1", () => resolve(s.address().port)));
  const [apiPort, metricsPort] = [await listen(api), await listen(metrics)];
  return {
    http: `http://127.0.0.1:${apiPort}`,
    metrics: `http://127.0.0.1:${metricsPort}`,
    ports: { http: apiPort, metrics: metricsPort },
    close: () => { api.close(); metrics.close(); },
  };
}
