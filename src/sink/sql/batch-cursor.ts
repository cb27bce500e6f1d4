import type { TableRef } from '../../kernel/types';
import { tableName } from '../../pg/ident';

/** Name of the batch cursor table, created in the state schema beside nilus_offsets. */
export const BATCH_STATE_TABLE = 'nilus_batch_state';

export function createBatchStateTableSql(t: TableRef): string {
  return (
    `CREATE TABLE IF NOT EXISTS ${tableName(t)} (pipeline text NOT NULL, source_table text NOT NULL, ` +
    `cursor_column text NOT NULL, cursor_value text NOT NULL, rows_loaded bigint NOT NULL, ` +
    `updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (pipeline, source_table))`
  );
}

/** $1 pipeline, $2 source table. */
export function selectBatchStateSql(t: TableRef): string {
  return `SELECT cursor_column, cursor_value FROM ${tableName(t)} WHERE pipeline = $1 AND source_table = $2`;
}

/** First run: $1 pipeline, $2 source, $3 column, $4 value, $5 rows. No row back = another run got there first. */
export function insertBatchStateSql(t: TableRef): string {
  return (
    `INSERT INTO ${tableName(t)} (pipeline, source_table, cursor_column, cursor_value, rows_loaded) ` +
    `VALUES ($1, $2, $3, $4, $5) ON CONFLICT (pipeline, source_table) DO NOTHING RETURNING 1`
  );
}

/** Compare-and-set from $6 (the value the run started from). No row back = another run moved it. */
export function updateBatchStateSql(t: TableRef): string {
  return (
    `UPDATE ${tableName(t)} SET cursor_column = $3, cursor_value = $4, rows_loaded = rows_loaded + $5, updated_at = now() ` +
    `WHERE pipeline = $1 AND source_table = $2 AND cursor_value = $6 RETURNING 1`
  );
}
