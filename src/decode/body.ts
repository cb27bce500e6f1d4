/**
 * The value of one record as a Body (table, op, before/after rows, columns, source position), by
 * its shape: a Debezium envelope, an ExtractNewRecordState-flattened row (`__deleted`, `__op`), or
 * a MongoDB envelope (documents as extended-JSON strings). Part of the Decoder (./decoder.ts).
 */
import type { ColumnSpec, Op, Row, SourceInfo, SourceTable } from '../kernel/types';
import { ConvertError } from './codecs/registry';
import type { CompiledRow, CompiledValue } from './schema';
import { decodeRow } from './schema';
import { inferRow, type ShapeCache } from './infer';
import { mongoRow, parseDocument } from './mongo';
import { flatSourceInfo, sourceInfo, tableFromFlat, tableFromSource } from './source';

const OPS: ReadonlySet<string> = new Set(['c', 'r', 'u', 'd', 't']);
const NO_COLUMNS: readonly ColumnSpec[] = Object.freeze([]);

export type Payload = Record<string, unknown>;

export interface Body {
  readonly table: SourceTable | undefined;
  readonly op: Op;
  readonly before: Row | null;
  readonly after: Row | null;
  readonly columns: readonly ColumnSpec[];
  readonly source: SourceInfo;
  /** MongoDB envelope: the key is `{"id": "<extended JSON>"}`. */
  readonly mongo?: boolean;
}

export class Bodies {
  constructor(
    private readonly placeholder: string,
    private readonly shapes: ShapeCache,
    private readonly mongoMode: 'flatten' | 'jsonb',
  ) {}

  dispatch(p: Payload, compiled: CompiledValue | undefined, exact: boolean): Body {
    if (compiled !== undefined) {
      if (compiled.kind === 'mongo') return this.mongoEnvelope(p, exact);
      if (compiled.kind === 'envelope') return this.envelope(p, compiled.row!);
      return this.flat(p, compiled.row!);
    }
    const isEnvelope = 'op' in p || ('source' in p && ('after' in p || 'before' in p));
    if (!isEnvelope) return this.flat(p, null);
    const connector = p.source !== null && typeof p.source === 'object' ? (p.source as Payload).connector : undefined;
    if (typeof p.after === 'string' || typeof p.before === 'string' || connector === 'mongodb') return this.mongoEnvelope(p, exact);
    return this.envelope(p, null);
  }

  private op(p: Payload): Op {
    const op = p.op;
    if (op === undefined || op === null) throw new ConvertError('Debezium envelope has no "op"; expected one of c, r, u, d, t');
    if (typeof op !== 'string' || !OPS.has(op)) throw new ConvertError(`unknown op ${JSON.stringify(op)}; expected one of c, r, u, d, t`);
    return op as Op;
  }

  private row(p: Payload, field: 'before' | 'after', row: CompiledRow | null): { row: Row; columns: readonly ColumnSpec[] } | null {
    const v = p[field];
    if (v === null || v === undefined) return null;
    if (row !== null) return { row: decodeRow(row, v, this.placeholder, field), columns: row.columns };
    if (typeof v !== 'object' || Array.isArray(v)) throw new ConvertError(`"${field}" is not an object`);
    return inferRow(v as Payload, this.shapes, this.placeholder, false);
  }

  private envelope(p: Payload, compiled: CompiledRow | null): Body {
    const op = this.op(p);
    const source = sourceInfo(p.source, p.ts_ms);
    const table = tableFromSource(p.source);
    if (op === 't') return { table, op, before: null, after: null, columns: compiled?.columns ?? NO_COLUMNS, source };
    const after = op === 'd' ? null : this.row(p, 'after', compiled);
    const before = this.row(p, 'before', compiled);
    if (op !== 'd' && after === null) throw new ConvertError(`op "${op}" without "after"; expected the new row`);
    const columns = compiled?.columns ?? (after ?? before)?.columns ?? NO_COLUMNS;
    return { table, op, before: before?.row ?? null, after: after?.row ?? null, columns, source };
  }

  private flat(p: Payload, compiled: CompiledRow | null): Body {
    const deleted = p.__deleted === 'true' || p.__deleted === true;
    let op: Op = deleted ? 'd' : 'c';
    if (p.__op !== undefined && p.__op !== null) op = this.op({ op: p.__op });
    const r = compiled !== null
      ? { row: decodeRow(compiled, p, this.placeholder, 'value'), columns: compiled.columns }
      : inferRow(p, this.shapes, this.placeholder, true);
    const source = flatSourceInfo(p);
    const table = tableFromFlat(p);
    if (op === 't') return { table, op, before: null, after: null, columns: r.columns, source };
    // delete.handling.mode=rewrite: the row carries the deleted row's last values.
    if (op === 'd') return { table, op, before: r.row, after: null, columns: r.columns, source };
    return { table, op, before: null, after: r.row, columns: r.columns, source };
  }

  private mongoEnvelope(p: Payload, exact: boolean): Body {
    const op = this.op(p);
    const source = sourceInfo(p.source, p.ts_ms);
    const table = tableFromSource(p.source);
    if (op === 't') return { table, op, before: null, after: null, columns: NO_COLUMNS, source, mongo: true };
    const doc = (f: 'before' | 'after') =>
      p[f] === null || p[f] === undefined ? null : mongoRow(parseDocument(p[f], f, exact), this.mongoMode, this.shapes, this.placeholder);
    const before = doc('before');
    if (op === 'd') return { table, op, before: before?.row ?? null, after: null, columns: before?.columns ?? NO_COLUMNS, source, mongo: true };
    const after = doc('after');
    if (after === null) {
      throw new ConvertError(
        `MongoDB op "${op}" without a full document in "after"; configure the connector with capture.mode=change_streams_update_full`,
      );
    }
    return { table, op, before: before?.row ?? null, after: after.row, columns: after.columns, source, mongo: true };
  }
}
