// Validation against CustomResourceDefinition schemas stored as test data
// (deploy/check/schemas/*/: each CRD's openAPIV3Schema, extracted by
// schemas/extract.mjs from the project's repository at a pinned release; the
// README beside them names the source, tag, commit and licence).
//
// It applies the structural-schema rules the API server applies: types,
// required, enum, patterns, bounds, int-or-string, list-map keys, and unknown
// fields (an object schema with `properties` and neither
// additionalProperties nor x-kubernetes-preserve-unknown-fields prunes any
// other key: the API server drops it silently, so it is reported). Problems
// read like those of lib/schema.mjs: "schema: data/spec/x must be integer",
// "schema: unknown field /spec/x".

import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";

const kSchemaDir = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "schemas");

// "group/version/Kind" -> {schema, source}
let crds = null;
function load() {
  if (crds) return crds;
  crds = new Map();
  for (const dir of readdirSync(kSchemaDir, { withFileTypes: true })) {
    if (!dir.isDirectory()) continue;
    for (const f of readdirSync(path.join(kSchemaDir, dir.name)).filter((n) => n.endsWith(".json.gz"))) {
      const crd = JSON.parse(gunzipSync(readFileSync(path.join(kSchemaDir, dir.name, f))).toString("utf8"));
      for (const [version, schema] of Object.entries(crd.versions)) {
        crds.set(`${crd.group}/${version}/${crd.kind}`, { schema, source: crd.source, scope: crd.scope, file: `${dir.name}/${f}` });
      }
    }
  }
  return crds;
}

export function crdKinds() {
  return [...load().keys()];
}

// The stored CRD for apiVersion + kind, or undefined.
export function crdFor(apiVersion, kind) {
  return load().get(`${apiVersion}/${kind}`);
}

const kMetaFields = new Set(["name", "generateName", "namespace", "labels", "annotations", "finalizers", "ownerReferences"]);

function typeOf(v) {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (Number.isInteger(v)) return "integer";
  return typeof v;
}

function matchesType(v, type) {
  const t = typeOf(v);
  return t === type || (type === "number" && t === "integer");
}

function check(value, schema, where, problems) {
  const data = `data${where}`;
  if (schema["x-kubernetes-int-or-string"]) {
    if (!matchesType(value, "integer") && !matchesType(value, "string")) {
      problems.push(`schema: ${data} must be integer or string`);
      return;
    }
    if (typeof value === "string" && schema.pattern && !new RegExp(schema.pattern, "u").test(value)) {
      problems.push(`schema: ${data} must match pattern "${schema.pattern}"`);
    }
    return;
  }
  if (schema.anyOf && !schema.anyOf.some((s) => { const p = []; check(value, s, where, p); return p.length === 0; })) {
    problems.push(`schema: ${data} must match a schema in anyOf`);
    return;
  }
  if (schema.type && !matchesType(value, schema.type)) {
    problems.push(`schema: ${data} must be ${schema.type}`);
    return;
  }
  if (schema.enum && !schema.enum.some((e) => e === value)) {
    problems.push(`schema: ${data} must be equal to one of the allowed values: ${schema.enum.join(", ")}`);
  }
  if (typeof value === "string") {
    if (schema.pattern && !new RegExp(schema.pattern, "u").test(value)) problems.push(`schema: ${data} must match pattern "${schema.pattern}"`);
    if (schema.maxLength !== undefined && value.length > schema.maxLength) problems.push(`schema: ${data} must NOT have more than ${schema.maxLength} characters`);
    if (schema.minLength !== undefined && value.length < schema.minLength) problems.push(`schema: ${data} must NOT have fewer than ${schema.minLength} characters`);
  }
  if (typeof value === "number") {
    if (schema.format === "int32" && (value > 2147483647 || value < -2147483648)) problems.push(`schema: ${data} must fit in int32`);
    if (schema.minimum !== undefined && value < schema.minimum) problems.push(`schema: ${data} must be >= ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) problems.push(`schema: ${data} must be <= ${schema.maximum}`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) problems.push(`schema: ${data} must NOT have fewer than ${schema.minItems} items`);
    if (schema.items) value.forEach((v, i) => check(v, schema.items, `${where}/${i}`, problems));
    const keys = schema["x-kubernetes-list-map-keys"];
    if (schema["x-kubernetes-list-type"] === "map" && keys) {
      const seen = new Set();
      for (const v of value) {
        const k = JSON.stringify(keys.map((key) => v?.[key]));
        if (seen.has(k)) problems.push(`schema: ${data} has two items with the same ${keys.join(", ")} ${k}`);
        seen.add(k);
      }
    }
    if (schema["x-kubernetes-list-type"] === "set" && new Set(value.map((v) => JSON.stringify(v))).size !== value.length) {
      problems.push(`schema: ${data} must not have duplicate items`);
    }
  }
  if (typeOf(value) === "object") {
    for (const r of schema.required ?? []) {
      if (!(r in value)) problems.push(`schema: ${data} must have required property '${r}'`);
    }
    const props = schema.properties ?? {};
    for (const [k, v] of Object.entries(value)) {
      if (props[k]) check(v, props[k], `${where}/${k}`, problems);
      else if (typeof schema.additionalProperties === "object") check(v, schema.additionalProperties, `${where}/${k}`, problems);
      else if (schema.properties && !schema["x-kubernetes-preserve-unknown-fields"] && schema.additionalProperties !== true) {
        problems.push(`schema: unknown field ${where}/${k}`);
      }
    }
  }
}

// Problems of `obj` against its stored CRD; null when no CRD is stored for it.
export function validateCustomResource(obj) {
  const crd = crdFor(obj.apiVersion, obj.kind);
  if (!crd) return null;
  const problems = [];
  const meta = obj.metadata;
  if (typeOf(meta) !== "object") {
    problems.push("schema: data/metadata must be object");
  } else {
    if (typeof meta.name !== "string" && typeof meta.generateName !== "string") problems.push("schema: data/metadata must have required property 'name'");
    for (const k of Object.keys(meta)) if (!kMetaFields.has(k)) problems.push(`schema: unknown field /metadata/${k}`);
    for (const m of ["labels", "annotations"]) {
      for (const [k, v] of Object.entries(meta[m] ?? {})) if (typeof v !== "string") problems.push(`schema: data/metadata/${m}/${k} must be string`);
    }
    if (crd.scope === "Cluster" && meta.namespace !== undefined) problems.push(`schema: ${obj.kind} is cluster-scoped: metadata.namespace must not be set`);
  }
  const { metadata, ...rest } = obj;
  const schema = { ...crd.schema, properties: { ...crd.schema.properties } };
  delete schema.properties.metadata;
  delete schema.properties.status;
  check(rest, schema, "", problems);
  return problems;
}
