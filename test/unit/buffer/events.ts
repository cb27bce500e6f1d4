/** Event factories for the buffer tests (plain data, no I/O). */
import type { ChangeEvent, ColumnSpec, Op, Row, SourceInfo, TableRef } from '../../../src/kernel/types';

export const TARGET: TableRef = { schema: 'analytics', table: 'orders' };

export function col(name: string, pgType = 'text'): ColumnSpec {
  return { name, pgType, optional: true, connectType: 'string' };
}

/** One shared column list, as the decoder shares one per schema. */
export const COLS: readonly ColumnSpec[] = [col('id'), col('name'), col('note')];

let offset = 0;

export interface EventOpts {
  key?: Row | null;
  before?: Row | null;
  after?: Row | null;
  columns?: readonly ColumnSpec[];
  bytes?: number;
  source?: SourceInfo;
  keyColumns?: readonly string[];
  movedFrom?: Row;
  moving?: boolean;
}

export function ev(op: Op, o: EventOpts = {}): ChangeEvent {
  offset += 1;
  return {
    pos: { topic: 'p.analytics.orders', partition: 0, offset: String(offset) },
    table: { schema: 'public', table: 'orders' },
    op,
    key: o.key ?? null,
    keyColumns: o.keyColumns ?? ['id'],
    before: o.before ?? null,
    after: o.after ?? null,
    columns: o.columns ?? COLS,
    source: o.source ?? { lsn: BigInt(offset), tsMs: 1_700_000_000_000 + offset },
    bytes: o.bytes ?? 100,
    ...(o.movedFrom ? { movedFrom: o.movedFrom } : {}),
    ...(o.moving ? { moving: true } : {}),
  };
}

export const create = (after: Row, o: EventOpts = {}): ChangeEvent => ev('c', { ...o, after });
export const update = (after: Row, o: EventOpts = {}): ChangeEvent => ev('u', { ...o, after });
export const del = (before: Row, o: EventOpts = {}): ChangeEvent => ev('d', { ...o, before });
export const truncate = (o: EventOpts = {}): ChangeEvent => ev('t', { columns: [], ...o });
