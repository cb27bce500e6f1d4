import type { TableRef } from '../../kernel/types';
import { tableName } from '../../pg/ident';

/** Name of the offsets table, created in the state schema. */
export const OFFSETS_TABLE = 'nilus_offsets';

export function createOffsetsTableSql(t: TableRef): string {
  return (
    `CREATE TABLE IF NOT EXISTS ${tableName(t)} (group_id text NOT NULL, topic text NOT NULL, ` +
    `partition int NOT NULL, next_offset bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(), ` +
    `PRIMARY KEY (group_id, topic, partition))`
  );
}
