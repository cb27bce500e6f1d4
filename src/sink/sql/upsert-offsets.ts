import type { TableRef } from '../../kernel/types';
import { tableName } from '../../pg/ident';

/**
 * One statement for every partition of the flush: $1 group, $2 topics, $3 partitions, $4 next offsets.
 * Overwrites unconditionally: an operator who resets the group backwards must be obeyed.
 */
export function upsertOffsetsSql(t: TableRef): string {
  return (
    `INSERT INTO ${tableName(t)} (group_id, topic, partition, next_offset, updated_at) ` +
    `SELECT $1, u.topic, u.partition, u.next_offset, now() ` +
    `FROM unnest($2::text[], $3::int[], $4::bigint[]) AS u(topic, partition, next_offset) ` +
    `ON CONFLICT (group_id, topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset, updated_at = EXCLUDED.updated_at`
  );
}
