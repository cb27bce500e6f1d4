import type { TableRef } from '../../kernel/types';
import { tableName } from '../../pg/ident';

/** A batch pipeline's stored cursor, rows loaded and when a run last moved it (Unix ms): $1 pipeline, $2 source table. */
export function selectBatchStatusSql(t: TableRef): string {
  return (
    `SELECT cursor_column, cursor_value, rows_loaded::text AS rows_loaded, extract(epoch FROM updated_at) * 1000 AS updated_ms ` +
    `FROM ${tableName(t)} WHERE pipeline = $1 AND source_table = $2`
  );
}
