/**
 * MongoDB connector events: `after`/`before` are extended-JSON strings, the key is
 * `{"id": "<extended JSON of _id>"}`. Documents become rows either flattened (top-level fields →
 * columns, nested values → jsonb) or as `_id` + one jsonb column `doc`.
 */
import type { ColumnSpec, PgValue, Row } from '../kernel/types';
import { setColumn, UNAVAILABLE } from '../kernel/types';
import { ConvertError } from './codecs/registry';
import { convertTimestampMs } from './codecs/time';
import { parseJson } from './json';
import type { ShapeCache } from './infer';
import { inferValue, plainJson } from './infer';

interface Typed {
  readonly pgType: string;
  readonly connectType: string;
}
const T = (pgType: string, connectType: string): Typed => ({ pgType, connectType });
const OID = T('text', 'string');
const INT64 = T('bigint', 'int64');
const INT32 = T('integer', 'int32');
const DOUBLE = T('double precision', 'float64');
const DECIMAL = T('numeric', 'string');
const DATE = T('timestamptz', 'int64');
const BINARY = T('bytea', 'bytes');
const JSONB = T('jsonb', 'struct');

function unmark(s: string): string {
  return s.charCodeAt(0) === 0 ? s.slice(1) : s;
}

function dateMs(d: unknown): number | string {
  if (typeof d === 'number') return d;
  if (typeof d === 'string') return unmark(d);
  if (d !== null && typeof d === 'object' && typeof (d as { $numberLong?: unknown }).$numberLong === 'string') {
    return unmark((d as { $numberLong: string }).$numberLong);
  }
  throw new ConvertError(`unreadable $date ${JSON.stringify(d)}`);
}

/** UTC timestamptz text; ISO strings ($date in relaxed mode) pass through. */
function dateText(d: unknown): string {
  const ms = dateMs(d);
  if (typeof ms === 'string' && !/^-?\d+$/.test(ms)) return ms;
  const t = convertTimestampMs(ms) as string;
  return t.endsWith(' BC') ? t.slice(0, -3) + '+00 BC' : t + '+00';
}

function binaryBase64(o: Record<string, unknown>): string | undefined {
  const b = o.$binary;
  if (typeof b === 'string') return b;
  if (b !== null && typeof b === 'object' && typeof (b as { base64?: unknown }).base64 === 'string') {
    return (b as { base64: string }).base64;
  }
  return undefined;
}

/** One extended-JSON value → its column type and PostgreSQL text. */
export function mongoValue(v: unknown): [Typed, PgValue] {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    if (Array.isArray(v)) return [JSONB, plainJson(relaxed(v))];
    const [t, pg] = inferValue(v);
    return [t.pgType === 'numeric' && typeof v === 'number' ? DOUBLE : t, pg];
  }
  const o = v as Record<string, unknown>;
  if (typeof o.$oid === 'string') return [OID, o.$oid];
  if (typeof o.$numberLong === 'string') return [INT64, unmark(o.$numberLong)];
  if (typeof o.$numberInt === 'string') return [INT32, o.$numberInt];
  if (typeof o.$numberDouble === 'string') return [DOUBLE, o.$numberDouble];
  if (typeof o.$numberDecimal === 'string') return [DECIMAL, o.$numberDecimal];
  if ('$date' in o) return [DATE, dateText(o.$date)];
  const b64 = binaryBase64(o);
  if (b64 !== undefined) return [BINARY, '\\x' + Buffer.from(b64, 'base64').toString('hex')];
  return [JSONB, plainJson(relaxed(v))];
}

/** Extended JSON → plain JSON for jsonb: ObjectIds as strings, dates as ISO, numbers as numbers. */
export function relaxed(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(relaxed);
  const o = v as Record<string, unknown>;
  if (typeof o.$oid === 'string') return o.$oid;
  if (typeof o.$numberLong === 'string') return o.$numberLong.charCodeAt(0) === 0 ? o.$numberLong : '\u0000' + o.$numberLong;
  if (typeof o.$numberInt === 'string') return Number(o.$numberInt);
  if (typeof o.$numberDouble === 'string') {
    const n = Number(o.$numberDouble);
    return Number.isFinite(n) ? n : o.$numberDouble;
  }
  if (typeof o.$numberDecimal === 'string') return o.$numberDecimal;
  if ('$date' in o) return dateText(o.$date).replace(' ', 'T').replace(/\+00$/, 'Z');
  const b64 = binaryBase64(o);
  if (b64 !== undefined) return b64;
  const out: Record<string, unknown> = {};
  for (const k in o) out[k] = relaxed(o[k]);
  return out;
}

export function parseDocument(s: unknown, what: string, exact: boolean): Record<string, unknown> {
  if (typeof s !== 'string') throw new ConvertError(`MongoDB "${what}" should be an extended-JSON string, got ${typeof s}`);
  let doc: unknown;
  try {
    doc = parseJson(s, exact);
  } catch (e) {
    throw new ConvertError(`MongoDB "${what}" is not valid extended JSON: ${(e as Error).message}`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new ConvertError(`MongoDB "${what}" is not a document`);
  return doc as Record<string, unknown>;
}

export interface MongoRow {
  readonly row: Row;
  readonly columns: readonly ColumnSpec[];
}

/** A document → row. `_id` always comes first and is the key column. */
export function mongoRow(doc: Record<string, unknown>, mode: 'flatten' | 'jsonb', shapes: ShapeCache, placeholder: string): MongoRow {
  if (!('_id' in doc)) throw new ConvertError('MongoDB document has no "_id"');
  const [idType, idText] = mongoValue(doc._id);
  if (mode === 'jsonb') {
    return { row: { _id: idText, doc: plainJson(relaxed(doc)) }, columns: shapes.columns(['_id', 'doc'], [idType, JSONB]) };
  }
  const row: Row = { _id: idText };
  const names = ['_id'];
  const types: Typed[] = [idType];
  for (const k in doc) {
    if (k === '_id') continue;
    const v = doc[k];
    if (v === placeholder) {
      setColumn(row, k, UNAVAILABLE);
      types.push(T('text', 'string'));
    } else {
      const [t, pg] = mongoValue(v);
      setColumn(row, k, pg);
      types.push(t);
    }
    names.push(k);
  }
  return { row, columns: shapes.columns(names, types) };
}

/** Key `{"id": "<extended JSON>"}` → `{ _id: text }` with its column. */
export function mongoKey(keyPayload: unknown, shapes: ShapeCache, exact: boolean): MongoRow | null {
  if (keyPayload === null || typeof keyPayload !== 'object') return null;
  const id = (keyPayload as { id?: unknown }).id;
  if (id === undefined || id === null) return null;
  let parsed: unknown = id;
  if (typeof id === 'string') {
    try {
      parsed = parseJson(id, exact);
    } catch {
      parsed = id; // a plain string _id sent without extended-JSON quoting
    }
  }
  const [t, text] = mongoValue(parsed);
  return { row: { _id: text }, columns: shapes.columns(['_id'], [t]) };
}

/**
 * A MongoDB key (`{"id": …}`) on a flattened document (ExtractNewDocumentState) whose rows carry
 * `_id`: the key column is `_id`.
 */
export function isMongoStyleKey(key: Record<string, unknown>, columns: readonly ColumnSpec[]): boolean {
  if (!('id' in key) || Object.keys(key).length !== 1) return false;
  let hasUnderscoreId = false;
  for (const c of columns) {
    if (c.name === 'id') return false;
    if (c.name === '_id') hasUnderscoreId = true;
  }
  return hasUnderscoreId;
}
