/**
 * Schemaless rows (schemas.enable=false): column types inferred from the JSON values. Column
 * arrays are cached by shape so equal shapes share one `columns` instance.
 */
import type { ColumnSpec, PgValue, Row } from '../kernel/types';
import { setColumn, UNAVAILABLE } from '../kernel/types';
import { checkExact, plainJson } from './codecs/types';

export { plainJson };
import { isMetaField } from './schema';

interface Inferred {
  readonly pgType: string;
  readonly connectType: string;
}

const BIGINT: Inferred = { pgType: 'bigint', connectType: 'int64' };
const NUMERIC: Inferred = { pgType: 'numeric', connectType: 'float64' };
const TEXT: Inferred = { pgType: 'text', connectType: 'string' };
const BOOL: Inferred = { pgType: 'boolean', connectType: 'boolean' };
const JSONB_OBJ: Inferred = { pgType: 'jsonb', connectType: 'struct' };
const JSONB_ARR: Inferred = { pgType: 'jsonb', connectType: 'array' };

export function inferValue(v: unknown): [Inferred, PgValue] {
  switch (typeof v) {
    case 'number':
      if (Number.isSafeInteger(v)) return [BIGINT, String(v)];
      checkExact(v);
      return [NUMERIC, String(v)];
    case 'boolean':
      return [BOOL, v ? 't' : 'f'];
    case 'string':
      if (v.charCodeAt(0) === 0) return [NUMERIC, v.slice(1)];
      return [TEXT, v];
    case 'object':
      if (v === null) return [TEXT, null];
      return [Array.isArray(v) ? JSONB_ARR : JSONB_OBJ, plainJson(v)];
    default:
      return [TEXT, String(v)];
  }
}

export class ShapeCache {
  private readonly shapes = new Map<string, readonly ColumnSpec[]>();

  /** Same names and types in the same order → the same array instance. */
  columns(names: readonly string[], types: readonly Inferred[]): readonly ColumnSpec[] {
    let sig = '';
    for (let i = 0; i < names.length; i++) sig += names[i] + '\u0000' + types[i]!.pgType + '\u0001';
    let cols = this.shapes.get(sig);
    if (cols === undefined) {
      cols = Object.freeze(
        names.map((name, i) => Object.freeze({ name, pgType: types[i]!.pgType, optional: true, connectType: types[i]!.connectType })),
      );
      if (this.shapes.size > 10_000) this.shapes.clear();
      this.shapes.set(sig, cols);
    }
    return cols;
  }
}

export interface InferredRow {
  readonly row: Row;
  readonly columns: readonly ColumnSpec[];
}

/** A plain JSON object → row + columns, dropping `__` metadata when asked. */
export function inferRow(obj: Record<string, unknown>, shapes: ShapeCache, placeholder: string, skipMeta: boolean): InferredRow {
  const row: Row = {};
  const names: string[] = [];
  const types: Inferred[] = [];
  for (const name in obj) {
    if (skipMeta && isMetaField(name)) continue;
    const v = obj[name];
    if (v === placeholder) {
      setColumn(row, name, UNAVAILABLE);
      types.push(TEXT);
    } else {
      const [t, pg] = inferValue(v);
      setColumn(row, name, pg);
      types.push(t);
    }
    names.push(name);
  }
  return { row, columns: shapes.columns(names, types) };
}
