// Prints "<folder>\t<key>" for each kustomization folder given: a SHA-256 over
// every file its render can read (check.sh's render cache, DEPLOY_CHECK_CACHE).
// The key is empty (not cached) where a kustomization.yaml in the way does not
// parse here: kustomize may still read it, and we could not follow it.
//
//   node render_keys.mjs FOLDER...
//
// A folder's inputs: every file under it, and, for each string in its
// kustomization.yaml that names an existing path (resources, components,
// patches, generator files; "key=path" too), that file, or that folder's own
// inputs. Reading more than kustomize does only costs cache hits; an edit to
// any file read changes the key. Paths are hashed relative to the folder, so
// copies of the tree elsewhere share keys; node_modules is never followed.

import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { load } from "js-yaml";

function filesUnder(dir, out) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === "node_modules") continue;
    const p = path.join(dir, e.name);
    const st = statSync(p, { throwIfNoEntry: false });  // symbolic links followed, as kustomize does
    if (!st) continue;
    if (st.isDirectory()) filesUnder(p, out);
    else if (st.isFile()) out.add(p);
  }
}

function strings(v, out) {
  if (typeof v === "string") out.push(v);
  else if (Array.isArray(v)) v.forEach((x) => strings(x, out));
  else if (v && typeof v === "object") Object.values(v).forEach((x) => strings(x, out));
}

function inputs(dir, files, seen) {
  if (seen.has(dir) || dir.split(path.sep).includes("node_modules")) return;
  seen.add(dir);
  filesUnder(dir, files);
  const k = ["kustomization.yaml", "kustomization.yml", "Kustomization"].map((n) => path.join(dir, n)).find(existsSync);
  if (!k) return;
  const doc = load(readFileSync(k, "utf8"));  // throws: no key for this folder
  const refs = [];
  strings(doc, refs);
  for (const r of refs) {
    for (const ref of [r, r.slice(r.indexOf("=") + 1)]) {
      if (!ref || ref.includes("\n")) continue;
      const p = path.resolve(dir, ref);
      if (!existsSync(p)) continue;
      if (statSync(p).isDirectory()) inputs(p, files, seen);
      else files.add(p);
    }
  }
}

for (const folder of process.argv.slice(2)) {
  const dir = path.resolve(folder);
  const files = new Set();
  try {
    inputs(dir, files, new Set());
  } catch {
    console.log(`${folder}\t`);
    continue;
  }
  const h = createHash("sha256");
  for (const f of [...files].sort()) h.update(path.relative(dir, f)).update("\0").update(readFileSync(f)).update("\0");
  console.log(`${folder}\t${h.digest("hex")}`);
}
