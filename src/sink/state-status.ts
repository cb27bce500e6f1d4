/**
 * The target's side of `nilus-pg status`: what nilus-pg's own tables in the target hold — stored
 * offsets with their flush and source times, dead letters per topic, a batch pipeline's cursor.
 * Read-only; a table not created yet reads as empty (the pipeline has stored nothing).
 */
import type { Pool } from 'pg';
import type { TableRef } from '../kernel/types';
import { selectOffsetsStatusSql } from './sql/select-offsets-status';
import { countDeadLettersSql } from './sql/count-dead-letters';
import { selectBatchStatusSql } from './sql/select-batch-status';

export interface StoredPartition {
  readonly topic: string;
  readonly partition: number;
  /** Next offset to consume. */
  readonly next: string;
  /** When a flush last stored it (Unix ms). */
  readonly flushedMs: number;
  /** Source commit time of the newest change applied up to it (Unix ms); undefined when unknown. */
  readonly sourceMs?: number;
}

export interface BatchCursorStatus {
  readonly column: string;
  readonly value: string;
  readonly rowsLoaded: string;
  /** When a run last committed the cursor (Unix ms). */
  readonly updatedMs: number;
}

const UNDEFINED_TABLE = '42P01';

/** Rows of `sql`, or none when the table does not exist yet. */
async function rowsOrNone<R extends object>(pool: Pool, sql: () => string, params: unknown[]): Promise<R[]> {
  try {
    return (await pool.query<R>(sql(), params)).rows;
  } catch (e) {
    if ((e as { code?: string }).code === UNDEFINED_TABLE) return [];
    throw e;
  }
}

export async function readStoredPartitions(pool: Pool, offsets: TableRef, groupId: string): Promise<StoredPartition[]> {
  const rows = await rowsOrNone<{ topic: string; partition: number; next: string; updated_ms: string | number; source_ms: string | number | null }>(
    pool, () => selectOffsetsStatusSql(offsets), [groupId]);
  return rows.map((r) => ({
    topic: r.topic,
    partition: r.partition,
    next: r.next,
    flushedMs: Math.round(Number(r.updated_ms)),
    ...(r.source_ms !== null ? { sourceMs: Math.round(Number(r.source_ms)) } : {}),
  }));
}

/** Dead letters per source topic held in `table`. */
export async function countDeadLetters(pool: Pool, table: TableRef): Promise<Map<string, number>> {
  const rows = await rowsOrNone<{ topic: string; n: string }>(pool, () => countDeadLettersSql(table), []);
  return new Map(rows.map((r) => [r.topic, Number(r.n)]));
}

export async function readBatchCursor(pool: Pool, state: TableRef, pipeline: string, source: string): Promise<BatchCursorStatus | undefined> {
  const rows = await rowsOrNone<{ cursor_column: string; cursor_value: string; rows_loaded: string; updated_ms: string | number }>(
    pool, () => selectBatchStatusSql(state), [pipeline, source]);
  const r = rows[0];
  return r ? { column: r.cursor_column, value: r.cursor_value, rowsLoaded: r.rows_loaded, updatedMs: Math.round(Number(r.updated_ms)) } : undefined;
}
