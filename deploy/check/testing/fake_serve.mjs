// `tide serve` stand-in behind testing/fake-tide (see there).
import { existsSync, statSync } from "node:fs";
import { startFakeTide } from "./fake_tide.mjs";

const repo = process.argv.find((a) => a.startsWith("--model-repository="))?.split("=")[1];
if (!repo || !existsSync(`${repo}/simulated/config.pbtxt`) || !statSync(`${repo}/simulated/1`).isDirectory()) {
  console.error(`fake serve: no simulated model in ${repo}`);
  process.exit(1);
}
const server = await startFakeTide();
console.log(JSON.stringify({ event: "listening", http_port: server.ports.http, metrics_port: server.ports.metrics }));
process.on("SIGTERM", () => { server.close(); process.exit(0); });
