// Checks a running `tide serve` against contract.json (see lib/server_contract.mjs).
//   node server_contract.mjs --http http://127.0.0.1:8000 --metrics http://127.0.0.1:8002 [--model simulated]
// Prints one PROBLEM line per problem; exits 1 if there is any, 2 on bad usage.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { checkServer } from "./lib/server_contract.mjs";

const args = process.argv.slice(2);
const opts = {};
for (let i = 0; i < args.length; i += 2) {
  if (!/^--(http|metrics|model)$/.test(args[i]) || args[i + 1] === undefined) {
    console.error(`server_contract.mjs: bad argument ${args[i]}`);
    process.exit(2);
  }
  opts[args[i].slice(2)] = args[i + 1];
}
if (!opts.http || !opts.metrics) {
  console.error("server_contract.mjs: --http and --metrics are required");
  process.exit(2);
}
const here = path.dirname(fileURLToPath(import.meta.url));
const contract = JSON.parse(readFileSync(path.join(here, "contract.json"), "utf8"));
const problems = await checkServer({ ...opts, contract });
for (const p of problems) console.log(`PROBLEM ${p}`);
console.log(`server contract: ${problems.length} problems`);
process.exit(problems.length ? 1 : 0);
