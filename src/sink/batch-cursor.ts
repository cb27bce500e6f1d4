/**
 * The batch cursor: per pipeline and source table, the largest incremental_key value loaded so far
 * (the high-water mark). It is written in the same transaction as the run's rows, compare-and-set
 * against the value the run started from, so a crash never skips or double-loads rows and two
 * overlapping runs cannot both commit the same range.
 */
import type { Pool, PoolClient } from 'pg';
import type { TableRef } from '../kernel/types';
import type { SinkOptions } from '../config/types';
import { FatalError } from '../kernel/errors';
import { BATCH_STATE_TABLE, createBatchStateTableSql, insertBatchStateSql, selectBatchStateSql, updateBatchStateSql } from './sql/batch-cursor';
import { tableName } from '../pg/ident';
import { createStateTable, offsetsTable, type StateTableOptions } from './offsets';

export interface StoredCursor {
  readonly column: string;
  readonly value: string;
}

/** `<state schema>.nilus_batch_state`: the schema that holds nilus_offsets. */
export function batchStateTable(sink: SinkOptions): TableRef {
  return { schema: offsetsTable(sink).schema, table: BATCH_STATE_TABLE };
}

export function createBatchStateTable(pool: Pool, t: TableRef, opts: StateTableOptions): Promise<void> {
  return createStateTable(pool, t, createBatchStateTableSql(t), 'the batch cursor table', opts);
}

export async function readCursor(db: Pool | PoolClient, t: TableRef, pipeline: string, source: string): Promise<StoredCursor | undefined> {
  const res = await db.query<{ cursor_column: string; cursor_value: string }>(selectBatchStateSql(t), [pipeline, source]);
  const r = res.rows[0];
  return r ? { column: r.cursor_column, value: r.cursor_value } : undefined;
}

/**
 * Inside the run's transaction: move the cursor from `from` (undefined = no stored cursor) to
 * `to`. Throws when another run moved it meanwhile; the caller's transaction then rolls back.
 */
export async function writeCursor(
  client: PoolClient,
  t: TableRef,
  pipeline: string,
  source: string,
  from: StoredCursor | undefined,
  to: StoredCursor,
  rows: number,
): Promise<void> {
  const args = [pipeline, source, to.column, to.value, rows];
  const res = from === undefined
    ? await client.query(insertBatchStateSql(t), args)
    : await client.query(updateBatchStateSql(t), [...args, from.value]);
  if (res.rowCount === 0) {
    throw new FatalError(
      `another run of pipeline "${pipeline}" moved the cursor of ${source} in ${tableName(t)} while this run was loading: ` +
        'this run is rolled back (nothing of it is committed) and the next run continues from the stored cursor. ' +
        'Run one instance of a batch pipeline at a time, or use concurrencyPolicy: Forbid',
    );
  }
}
