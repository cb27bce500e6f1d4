#!/usr/bin/env node
/**
 * Validates Kubernetes objects (multi-document YAML on stdin, e.g. `kubectl kustomize DIR`) against
 * the Kubernetes OpenAPI schemas as the kubernetes-models packages carry them (and the Prometheus
 * Operator's for ServiceMonitor). Prints one JSON line per object, {apiVersion, kind, name, error?};
 * exits 1 when an object is invalid or of a kind it has no schema for.
 *   kubectl kustomize deploy/kubernetes/base | node scripts/validate-k8s.mjs
 */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

/** apiVersion → the module that holds its models (core v1 has no group). */
function moduleOf(apiVersion, kind) {
  if (apiVersion.startsWith('monitoring.coreos.com/')) return `@kubernetes-models/prometheus-operator/${apiVersion}/${kind}`;
  return `kubernetes-models/${apiVersion}/${kind}`;
}

/**
 * kustomize (v5) writes a long Secret value as base64 wrapped over several lines; the API server
 * decodes it with Go's base64, which skips line breaks, while the schema's "byte" format does not.
 */
function unwrapped(doc) {
  if (doc.kind !== 'Secret' || doc.data === null || typeof doc.data !== 'object') return doc;
  return { ...doc, data: Object.fromEntries(Object.entries(doc.data).map(([k, v]) => [k, typeof v === 'string' ? v.replace(/[\r\n]/g, '') : v])) };
}

const docs = parseAllDocuments(readFileSync(0, 'utf8')).map((d) => d.toJS()).filter((d) => d !== null);
let failed = docs.length === 0;
if (docs.length === 0) console.log(JSON.stringify({ error: 'no object on stdin' }));
for (const doc of docs) {
  const { apiVersion, kind } = doc;
  const line = { apiVersion, kind, name: doc.metadata?.name };
  try {
    if (typeof apiVersion !== 'string' || typeof kind !== 'string') throw new Error('apiVersion and kind are required');
    let mod;
    try {
      mod = await import(moduleOf(apiVersion, kind));
    } catch (e) {
      throw new Error(`no schema for ${apiVersion} ${kind} (${e.code ?? e.message})`);
    }
    const Model = mod[kind];
    if (typeof Model !== 'function') throw new Error(`no schema for ${apiVersion} ${kind}`);
    new Model(unwrapped(doc)).validate();
  } catch (e) {
    line.error = e.message;
    failed = true;
  }
  console.log(JSON.stringify(line));
}
process.exitCode = failed ? 1 : 0;
