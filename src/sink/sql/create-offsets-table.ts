import type { TableRef } from '../../kernel/types';
import { tableName } from '../../pg/ident';

/** Name of the offsets table, created in the state schema. */
export const OFFSETS_TABLE = 'nilus_offsets';

/**
 * Columns: the next offset to consume per group and topic-partition; `updated_at`, when a flush
 * last stored it; `source_ts`, the newest source commit time (source.ts_ms) among the changes
 * applied up to it (NULL until a change carrying one is applied; added to older tables at start-up).
 */
export function createOffsetsTableSql(t: TableRef): string {
  return (
    `CREATE TABLE IF NOT EXISTS ${tableName(t)} (group_id text NOT NULL, topic text NOT NULL, ` +
    `partition int NOT NULL, next_offset bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(), source_ts timestamptz, ` +
    `PRIMARY KEY (group_id, topic, partition))`
  );
}
