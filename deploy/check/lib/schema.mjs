// Schema validation of rendered Kubernetes objects, offline.
//
// kubernetes-models (and its KEDA and Prometheus Operator packages) compile
// the API's OpenAPI schemas into validate functions that catch wrong types,
// missing required fields and bad enum values, but not unknown fields (a
// misspelt `replica:` is silently dropped by the API server's non-strict
// decoding, so it is exactly the mistake to catch). The validators read
// every property they know of each object, and enumerate the keys of maps;
// so we run them on a proxy that records what they read: a key of a
// non-map object that the validator never read is a field the schema
// does not have.

import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Service } from "kubernetes-models/v1/Service";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { ScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject";
import { TriggerAuthentication } from "@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication";
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";
import { crdKinds, validateCustomResource } from "./crd_schema.mjs";

// Every kind deploy/ may render. Anything else is an error: an object
// nobody can validate must not pass unnoticed.
const kModels = new Map([
  ["v1/ConfigMap", ConfigMap],
  ["v1/Service", Service],
  ["apps/v1/Deployment", Deployment],
  ["policy/v1/PodDisruptionBudget", PodDisruptionBudget],
  ["autoscaling/v2/HorizontalPodAutoscaler", HorizontalPodAutoscaler],
  ["keda.sh/v1alpha1/ScaledObject", ScaledObject],
  ["keda.sh/v1alpha1/TriggerAuthentication", TriggerAuthentication],
  ["monitoring.coreos.com/v1/ServiceMonitor", ServiceMonitor],
]);

export function knownKinds() {
  return [...kModels.keys(), ...crdKinds()];
}

// Wraps `root` so that every object reachable from it records which of its
// keys were read and whether its keys were enumerated.
function recordReads(root) {
  const records = [];
  const proxies = new WeakMap();
  const wrap = (obj, path) => {
    if (obj === null || typeof obj !== "object") return obj;
    if (proxies.has(obj)) return proxies.get(obj);
    const record = { obj, path, read: new Set(), enumerated: false };
    records.push(record);
    const proxy = new Proxy(obj, {
      get(target, key, receiver) {
        if (typeof key === "string") record.read.add(key);
        return wrap(Reflect.get(target, key, receiver), `${path}/${String(key)}`);
      },
      has(target, key) {
        if (typeof key === "string") record.read.add(key);
        return Reflect.has(target, key);
      },
      ownKeys(target) {
        record.enumerated = true;
        return Reflect.ownKeys(target);
      },
    });
    proxies.set(obj, proxy);
    return proxy;
  };
  return { proxy: wrap(root, ""), records };
}

// Returns a list of problems (strings) for one object; empty when it is valid.
export function validateObject(obj) {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) {
    return ["document is not a YAML mapping"];
  }
  const key = `${obj.apiVersion}/${obj.kind}`;
  const Model = kModels.get(key);
  // KServe and Seldon Core: their own CRD schemas (schemas/, lib/crd_schema.mjs).
  const crdProblems = Model ? null : validateCustomResource(obj);
  if (crdProblems) return crdProblems;
  if (!Model) {
    return [`no schema for apiVersion ${JSON.stringify(obj.apiVersion)} kind ${JSON.stringify(obj.kind)} ` +
            `(deploy/check validates: ${knownKinds().join(", ")})`];
  }
  const problems = [];
  const { proxy, records } = recordReads(structuredClone(obj));
  try {
    Model.prototype.validate.call(proxy);
  } catch (e) {
    // "data/spec/replicas must be integer, data/... must have required property 'name'"
    for (const part of String(e.message).split(/, (?=data)/)) problems.push(`schema: ${part}`);
  }
  for (const r of records) {
    if (Array.isArray(r.obj) || r.enumerated) continue;
    for (const k of Object.keys(r.obj)) {
      if (!r.read.has(k)) problems.push(`schema: unknown field ${r.path}/${k}`);
    }
  }
  return problems;
}
