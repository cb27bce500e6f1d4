import type { TableRef } from '../../kernel/types';
import { tableName } from '../../pg/ident';

/**
 * The group's stored offsets with when each was stored and the source time of the last change
 * applied up to it, both as Unix ms: $1 group. `source_ts` is read through to_jsonb so an offsets
 * table from before that column (not yet started by this version) still answers, with NULL.
 */
export function selectOffsetsStatusSql(t: TableRef): string {
  return (
    `SELECT topic, partition, next_offset::text AS next, extract(epoch FROM updated_at) * 1000 AS updated_ms, ` +
    `extract(epoch FROM (to_jsonb(o) ->> 'source_ts')::timestamptz) * 1000 AS source_ms ` +
    `FROM ${tableName(t)} AS o WHERE group_id = $1 ORDER BY topic, partition`
  );
}
