// Extracts the openAPIV3Schema of a CustomResourceDefinition, as the API
// server validates it, into deploy/check's schema test data:
//
//   git -C KSERVE show v0.20.0:config/crd/full/serving.kserve.io_servingruntimes.yaml \
//     | node extract.mjs --repo kserve/kserve --tag v0.20.0 --commit SHA \
//         --path config/crd/full/serving.kserve.io_servingruntimes.yaml \
//         --license Apache-2.0 >kserve-v0.20.0/servingruntimes.json.gz
//
// Reads the CRD's YAML on stdin; writes gzip'd JSON {group, version, kind,
// source: {repo, tag, commit, path, sha256 of the YAML, license}, schema} for
// every served version (one file may hold several), with every `description`
// removed (they are ~70 % of the bytes and validate nothing). The output is
// deterministic: re-running it on the same YAML gives the same JSON (its
// sha256 is in each schemas/*/README.md).

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { loadAll } from "js-yaml";

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];
for (const k of ["repo", "tag", "commit", "path", "license"]) {
  if (!args[k]) {
    console.error(`extract.mjs: --${k} is required`);
    process.exit(2);
  }
}
const yaml = readFileSync(0);
const strip = (s) => {
  if (Array.isArray(s)) return s.map(strip);
  if (s === null || typeof s !== "object") return s;
  const out = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === "description" && typeof v === "string") continue;
    out[k] = k === "properties" ? Object.fromEntries(Object.entries(v).map(([p, ps]) => [p, strip(ps)])) : strip(v);
  }
  return out;
};
const crds = loadAll(yaml.toString("utf8")).filter((d) => d?.kind === "CustomResourceDefinition");
if (crds.length !== 1) {
  console.error(`extract.mjs: expected one CustomResourceDefinition on stdin, got ${crds.length}`);
  process.exit(1);
}
const crd = crds[0];
const out = {
  group: crd.spec.group,
  kind: crd.spec.names.kind,
  scope: crd.spec.scope,
  source: {
    repo: `https://github.com/${args.repo}`,
    tag: args.tag,
    commit: args.commit,
    path: args.path,
    sha256: createHash("sha256").update(yaml).digest("hex"),
    license: args.license,
  },
  versions: Object.fromEntries(crd.spec.versions.filter((v) => v.served).map((v) => [v.name, strip(v.schema.openAPIV3Schema)])),
};
const json = JSON.stringify(out);
process.stderr.write(`${out.kind}: ${Object.keys(out.versions).join(", ")}; json sha256 ${createHash("sha256").update(json).digest("hex")}\n`);
process.stdout.write(gzipSync(Buffer.from(json), { level: 9 }));
