import type { TableRef } from '../../kernel/types';
import { tableName } from '../../pg/ident';

/**
 * One statement for every partition of the flush: $1 group, $2 topics, $3 partitions, $4 next offsets,
 * $5 source commit times in ms (float8[], NULL where unknown: the stored one is kept).
 * Overwrites unconditionally: an operator who resets the group backwards must be obeyed.
 */
export function upsertOffsetsSql(t: TableRef): string {
  return (
    `INSERT INTO ${tableName(t)} AS o (group_id, topic, partition, next_offset, updated_at, source_ts) ` +
    `SELECT $1, u.topic, u.partition, u.next_offset, now(), to_timestamp(u.source_ms / 1000.0) ` +
    `FROM unnest($2::text[], $3::int[], $4::bigint[], $5::float8[]) AS u(topic, partition, next_offset, source_ms) ` +
    `ON CONFLICT (group_id, topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset, updated_at = EXCLUDED.updated_at, ` +
    `source_ts = COALESCE(EXCLUDED.source_ts, o.source_ts)`
  );
}
