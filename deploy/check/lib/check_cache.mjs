// A cache for deploy/check's slow steps, for runs that check many near-copies
// of the same manifests (broken_test.sh): `kubectl kustomize` renders, keyed
// by everything a kustomization can read (render_keys.mjs), and promtool runs
// that passed, keyed by their input files. On only where DEPLOY_CHECK_CACHE
// names a folder; a plain check.sh run computes everything.

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";

// `promtool test rules test.yaml` in `dir` (which holds test.yaml and the
// rule files), skipped when the same files passed before. Throws as
// execFileSync does when promtool fails; failures are never cached.
export function promtoolTestRules(dir, files = ["rules.yaml", "test.yaml"]) {
  const cache = process.env.DEPLOY_CHECK_CACHE;
  let mark = null;
  if (cache) {
    const h = createHash("sha256");
    for (const f of files) h.update(f).update("\0").update(readFileSync(path.join(dir, f))).update("\0");
    mark = path.join(cache, `promtool-${h.digest("hex")}.ok`);
    if (existsSync(mark)) return "";
  }
  const out = execFileSync("promtool", ["test", "rules", "test.yaml"], { cwd: dir, encoding: "utf8", stdio: "pipe" });
  if (mark) {
    writeFileSync(`${mark}.${process.pid}`, "");
    renameSync(`${mark}.${process.pid}`, mark);
  }
  return out;
}
