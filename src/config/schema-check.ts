/**
 * JSON Schema validation (ajv) of a parsed YAML document, turning ajv's errors into
 * ConfigProblems with the manifest path, the YAML line:column and a plain-English message.
 * The schema files under schema/ are the only source of structural rules.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfigProblem } from '../kernel/errors';
import { closest } from './hints';
import { problemAt, type PathSeg, type YamlSource } from './yaml-source';

const compiled = new Map<string, ValidateFunction>();

/** schema/<name>.schema.json; the path works from src/config (ts-jest) and dist/config (build). */
export function loadSchema(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(__dirname, '..', '..', 'schema', `${name}.schema.json`), 'utf8'));
}

function validator(name: string): ValidateFunction {
  let v = compiled.get(name);
  if (!v) {
    // strict:false lets the schema carry documentation keywords (x-default-text, x-hint).
    const ajv = new Ajv({ allErrors: true, verbose: true, strict: false });
    v = ajv.compile(loadSchema(name));
    compiled.set(name, v);
  }
  return v;
}

function pointerToPath(ptr: string): PathSeg[] {
  if (ptr === '') return [];
  return ptr
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function describe(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'a mapping' : JSON.stringify(v);
}

function messageFor(e: ErrorObject): { path: PathSeg[]; message: string; key: boolean } {
  const path = pointerToPath(e.instancePath);
  const p = e.params as Record<string, unknown>;
  const hint = (e.parentSchema as { 'x-hint'?: string } | undefined)?.['x-hint'];
  switch (e.keyword) {
    case 'additionalProperties': {
      const extra = String(p.additionalProperty);
      const known = Object.keys((e.parentSchema as { properties?: object }).properties ?? {});
      const guess = closest(extra, known);
      const tail = guess ? `; did you mean "${guess}"?` : `; known keys: ${known.join(', ')}`;
      return { path: [...path, extra], message: `unknown key "${extra}"${tail}`, key: true };
    }
    case 'required':
      return { path, message: `missing required key "${String(p.missingProperty)}"`, key: false };
    case 'enum':
      return { path, message: `must be one of ${(p.allowedValues as unknown[]).map((x) => JSON.stringify(x)).join(', ')} (got ${describe(e.data)})`, key: false };
    case 'const':
      return { path, message: `must be ${JSON.stringify(p.allowedValue)} (got ${describe(e.data)})`, key: false };
    case 'type':
      return { path, message: `must be ${String(p.type) === 'object' ? 'a mapping' : `of type ${String(p.type)}`} (got ${describe(e.data)})`, key: false };
    case 'pattern':
      return { path, message: hint ?? `must match ${String(p.pattern)} (got ${describe(e.data)})`, key: false };
    case 'oneOf':
    case 'anyOf':
      return { path, message: hint ?? `has the wrong shape (got ${describe(e.data)})`, key: false };
    default:
      return { path, message: `${e.message ?? 'is invalid'}${hint ? ` — ${hint}` : ''}`, key: false };
  }
}

export function schemaProblems(schemaName: string, src: YamlSource): ConfigProblem[] {
  const v = validator(schemaName);
  if (v(src.value)) return [];
  const errors = v.errors ?? [];
  // A oneOf failure already speaks for its branches; their own errors would only confuse.
  const oneOfPaths = errors.filter((e) => e.keyword === 'oneOf').map((e) => e.instancePath);
  const out: ConfigProblem[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    // "must match then schema" repeats the error found inside the branch.
    if (e.keyword === 'if') continue;
    if (e.keyword !== 'oneOf' && oneOfPaths.some((op) => e.instancePath === op || e.instancePath.startsWith(op + '/') || e.schemaPath.includes('/oneOf/'))) continue;
    const m = messageFor(e);
    const pr = problemAt(src, m.path, m.message, m.key);
    const id = `${pr.path}|${pr.message}`;
    if (!seen.has(id)) {
      seen.add(id);
      out.push(pr);
    }
  }
  return out;
}
