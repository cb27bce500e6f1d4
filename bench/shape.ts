/**
 * Checks the benchmark's generated envelopes against real Debezium output
 * (test/fixtures/debezium-real/): envelope and payload key sets, the source block's fields, the
 * schema of the source struct, and each column's Connect type / logical name / parameters.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EventFactory, orderRow, ordersTable } from '../test/fixtures/factory';

type Json = Record<string, unknown>;
const REAL = join(__dirname, '../test/fixtures/debezium-real');
const load = (f: string): Json => JSON.parse(readFileSync(join(REAL, f), 'utf8')) as Json;

function keyDiff(what: string, real: object, ours: object, out: string[]): void {
  const a = new Set(Object.keys(real));
  const b = new Set(Object.keys(ours));
  const missing = [...a].filter((k) => !b.has(k));
  const extra = [...b].filter((k) => !a.has(k));
  if (missing.length) out.push(`${what}: missing ${missing.join(', ')}`);
  if (extra.length) out.push(`${what}: extra ${extra.join(', ')}`);
}

const fields = (s: Json): Json[] => (s.fields as Json[]) ?? [];
const byField = (s: Json, name: string): Json => fields(s).find((f) => f.field === name) ?? {};

/** A field schema without its name/optionality: what a decoder keys its conversion on. */
function typeOf(f: Json): string {
  const { field: _f, optional: _o, default: _d, ...rest } = f;
  return JSON.stringify(Object.keys(rest).sort().map((k) => [k, rest[k]]));
}

export function shapeCheck(): string[] {
  const out: string[] = [];
  const f = new EventFactory(ordersTable('shape'), true, { realSource: true });
  const realU = load('items-03-u.value.json');
  const realKey = load('items-03-u.key.json');
  const ours = JSON.parse(f.update(orderRow(1, 0), orderRow(1, 1))[0]!.value!) as Json;
  const ourKey = JSON.parse(f.key(orderRow(1, 0))) as Json;
  keyDiff('value envelope', realU, ours, out);
  keyDiff('key envelope', realKey, ourKey, out);
  keyDiff('key schema', realKey.schema as Json, ourKey.schema as Json, out);
  const rp = realU.payload as Json;
  const op = ours.payload as Json;
  keyDiff('payload', rp, op, out);
  keyDiff('payload.source', rp.source as Json, op.source as Json, out);
  const rs = realU.schema as Json;
  const os = ours.schema as Json;
  keyDiff('value schema', rs, os, out);
  for (const name of ['before', 'after', 'source', 'transaction', 'op', 'ts_ms', 'ts_us', 'ts_ns']) {
    const r = byField(rs, name);
    const o = byField(os, name);
    if (!o.field) { out.push(`value schema: no field ${name}`); continue; }
    if (r.type !== o.type || r.optional !== o.optional) out.push(`value schema field ${name}: real ${r.type}/${r.optional}, ours ${o.type}/${o.optional}`);
    keyDiff(`value schema field ${name}`, r, o, out);
  }
  const rSrc = byField(rs, 'source');
  const oSrc = byField(os, 'source');
  for (const sf of fields(rSrc)) {
    const o = byField(oSrc, sf.field as string);
    if (!o.field) out.push(`source schema: missing field ${sf.field as string}`);
    else if (typeOf(sf) !== typeOf(o) || sf.optional !== o.optional) out.push(`source schema field ${sf.field as string}: real ${JSON.stringify(sf)}, ours ${JSON.stringify(o)}`);
  }
  // Column types: each of ours must look exactly like a real column of the same logical type.
  const wide = byField(load('wide-01-c.value.json').schema as Json, 'after');
  const realTypes = new Set(fields(wide).map(typeOf));
  for (const col of fields(byField(os, 'after'))) {
    if (!realTypes.has(typeOf(col))) out.push(`column ${col.field as string}: ${typeOf(col)} matches no real column schema`);
  }
  return out;
}

