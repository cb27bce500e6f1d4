/** Builders for apply integration tests: sink options, columns, batches, events. */
import type { Pool } from 'pg';
import type { SinkOptions } from '../../../src/config/types';
import { DEFAULTS } from '../../../src/config/defaults';
import type { ChangeEvent, ColumnSpec, Flush, Op, Row, SourceInfo, TableBatch, TableRef } from '../../../src/kernel/types';
import type { HeldRow } from '../../../src/kernel/types';

export function sinkOptions(schema: string, over: Partial<SinkOptions> = {}): SinkOptions {
  return {
    destTable: `${schema}.{table}`,
    strategy: 'merge',
    autoCreate: true,
    autoEvolve: true,
    mongoMode: 'flatten',
    staleGuard: false,
    onOffsetGap: 'stop',
    statementTimeoutMs: DEFAULTS.sink.statementTimeoutMs,
    lockTimeoutMs: DEFAULTS.sink.lockTimeoutMs,
    ...over,
  };
}

/** `cols({ id: 'integer', name: 'text' })` → ColumnSpec[] in that order. */
export function cols(spec: Record<string, string>): ColumnSpec[] {
  return Object.entries(spec).map(([name, pgType]) => ({ name, pgType, optional: true, connectType: 'string' }));
}

export interface MergeParts {
  upserts?: HeldRow[];
  deletes?: Row[];
  truncate?: boolean;
  upsertSource?: SourceInfo[];
  deleteSource?: SourceInfo[];
}

export function mergeBatch(target: TableRef, keyColumns: string[], columns: ColumnSpec[], p: MergeParts): TableBatch {
  const upserts = p.upserts ?? [];
  const deletes = p.deletes ?? [];
  return {
    target,
    strategy: 'merge',
    keyColumns,
    columns,
    truncate: p.truncate ?? false,
    upserts,
    upsertSource: p.upsertSource ?? upserts.map(() => ({})),
    deletes,
    deleteSource: p.deleteSource ?? deletes.map(() => ({})),
    events: [],
  };
}

let offset = 0;
export function event(op: Op, table: TableRef, columns: ColumnSpec[], row: Row | null, source: SourceInfo = {}): ChangeEvent {
  return {
    pos: { topic: `topic.${table.table}`, partition: 0, offset: String(offset++) },
    table: { schema: 'src', table: table.table },
    op,
    key: row && 'id' in row ? { id: row.id! } : null,
    keyColumns: ['id'],
    before: op === 'd' ? row : null,
    after: op === 'd' || op === 't' ? null : row,
    columns,
    source,
    bytes: 100,
  };
}

export function appendBatch(target: TableRef, columns: ColumnSpec[], events: ChangeEvent[]): TableBatch {
  return {
    target,
    strategy: 'append',
    keyColumns: [],
    columns,
    truncate: false,
    upserts: [],
    upsertSource: [],
    deletes: [],
    deleteSource: [],
    events,
  };
}

export function flush(tables: TableBatch[], offsets: Flush['offsets'] = [], groupId = 'g1'): Flush {
  return { groupId, tables, offsets };
}

/** Rows of a query as plain arrays of text, for exact comparisons. */
export async function rows(pool: Pool, sql: string, values: unknown[] = []): Promise<unknown[][]> {
  const res = await pool.query({ text: sql, values, rowMode: 'array' });
  return res.rows as unknown[][];
}
