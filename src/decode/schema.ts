/**
 * Compiled Connect schemas: a row struct becomes column specs plus one converter per field, built
 * once per distinct schema text and shared by every message that carries it.
 */
import type { ColumnSpec, Row } from '../kernel/types';
import { setColumn, UNAVAILABLE } from '../kernel/types';
import type { CodecContext, Convert, FieldSchema } from './codecs/registry';
import { codecFor, ConvertError } from './codecs/registry';
import { sourcePgType } from './codecs/pgtype';

/** JsonConverter's spellings → the Connect type names ColumnSpec documents. */
const CONNECT_TYPE: Record<string, string> = { float: 'float32', double: 'float64' };

export interface CompiledRow {
  readonly columns: readonly ColumnSpec[];
  readonly names: readonly string[];
  readonly converts: readonly Convert[];
  /** A column is named `__proto__` (written with setColumn). */
  readonly protoColumn?: boolean;
  /** A key that carried ROUTER_KEY_FIELD (dropped from the columns): the record was rerouted to a logical table's topic. */
  readonly routed?: boolean;
}

/**
 * The field Debezium's ByLogicalTableRouter adds to the key to keep keys unique across the tables
 * it routes into one topic (`key.enforce.uniqueness`, true by default; `key.field.name`'s default).
 * Never a column: the logical table is keyed by its own primary key.
 */
export const ROUTER_KEY_FIELD = '__dbz__physicalTableIdentifier';

/** What a value schema says about the messages that carry it. */
export interface CompiledValue {
  /** 'envelope': Debezium before/after/source/op; 'mongo': envelope with extended-JSON strings;
   *  'flat': the row itself (ExtractNewRecordState), `__` fields being metadata. */
  readonly kind: 'envelope' | 'mongo' | 'flat';
  /** Row schema (after/before, or the flat row without metadata); null for Mongo. */
  readonly row: CompiledRow | null;
}

/** Metadata added by ExtractNewRecordState (add.fields prefix `__`): never a column. */
export function isMetaField(name: string): boolean {
  return name.charCodeAt(0) === 95 && name.charCodeAt(1) === 95;
}

function asFieldSchema(s: unknown, where: string): FieldSchema {
  if (s === null || typeof s !== 'object' || typeof (s as FieldSchema).type !== 'string') {
    throw new ConvertError(`${where}: expected a Connect schema object with a "type"`);
  }
  return s as FieldSchema;
}

export function compileRow(fields: readonly FieldSchema[], ctx: CodecContext, skipMeta: boolean): CompiledRow {
  const columns: ColumnSpec[] = [];
  const names: string[] = [];
  const converts: Convert[] = [];
  for (const f of fields) {
    if (typeof f.field !== 'string') throw new ConvertError('schema field without a "field" name');
    if (skipMeta && isMetaField(f.field)) continue;
    let codec;
    try {
      codec = codecFor(f, ctx);
    } catch (e) {
      throw new ConvertError(`schema of column "${f.field}": ${(e as Error).message}`);
    }
    columns.push(Object.freeze({
      name: f.field,
      pgType: codec.pgType,
      optional: f.optional !== false,
      ...(f.name !== undefined ? { logical: f.name } : {}),
      ...(sourcePgType(f.parameters) !== undefined ? { sourceType: true } : {}),
      connectType: CONNECT_TYPE[f.type] ?? f.type,
    }));
    names.push(f.field);
    converts.push(codec.convert);
  }
  return { columns: Object.freeze(columns), names, converts, ...(names.includes('__proto__') ? { protoColumn: true } : {}) };
}

function fieldOf(s: FieldSchema, name: string): FieldSchema | undefined {
  return s.fields?.find((f) => f.field === name);
}

export function compileValue(raw: unknown, ctx: CodecContext): CompiledValue {
  const s = asFieldSchema(raw, 'value schema');
  if (s.type !== 'struct' || !Array.isArray(s.fields)) {
    throw new ConvertError(`value schema is "${s.type}"; expected a struct (Debezium envelope or flattened row)`);
  }
  const op = fieldOf(s, 'op');
  const after = fieldOf(s, 'after') ?? fieldOf(s, 'before');
  if (op !== undefined && after !== undefined) {
    if (after.type === 'string') return { kind: 'mongo', row: null };
    if (after.type !== 'struct' || !after.fields) throw new ConvertError('envelope "after" schema is not a struct');
    return { kind: 'envelope', row: compileRow(after.fields, ctx, false) };
  }
  return { kind: 'flat', row: compileRow(s.fields, ctx, true) };
}

/** Key schema → key row compiler; null when the key is not a struct (no usable key columns). */
export function compileKey(raw: unknown, ctx: CodecContext): CompiledRow | null {
  const s = asFieldSchema(raw, 'key schema');
  if (s.type !== 'struct' || !Array.isArray(s.fields)) return null;
  const routed = s.fields.some((f) => f.field === ROUTER_KEY_FIELD);
  if (!routed) return compileRow(s.fields, ctx, false);
  return { ...compileRow(s.fields.filter((f) => f.field !== ROUTER_KEY_FIELD), ctx, false), routed: true };
}

/** Convert one row object with a compiled schema. Missing fields are NULL. */
export function decodeRow(c: CompiledRow, obj: unknown, placeholder: string, what: string): Row {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new ConvertError(`"${what}" is not an object`);
  }
  const src = obj as Record<string, unknown>;
  const row: Row = {};
  const names = c.names;
  const converts = c.converts;
  // A column named __proto__ takes the slower, property-defining write (see setColumn).
  const set = c.protoColumn === true ? setColumn : undefined;
  let i = 0;
  try {
    for (; i < names.length; i++) {
      const name = names[i]!;
      const v = src[name];
      const pg = v === null || v === undefined ? null : v === placeholder ? UNAVAILABLE : converts[i]!(v);
      if (set === undefined) row[name] = pg;
      else set(row, name, pg);
    }
  } catch (e) {
    if (e instanceof ConvertError) {
      throw new ConvertError(`${what}.${names[i]} (${c.columns[i]!.logical ?? c.columns[i]!.connectType}): ${e.message}`);
    }
    throw e;
  }
  return row;
}
