import type { TableRef } from '../../kernel/types';
import { tableName } from '../../pg/ident';

/**
 * First offsets of partitions that have no row yet: $1 group, $2 topics, $3 partitions,
 * $4 next offsets, $5 source commit times in ms (float8[], NULL where unknown). A row that appeared meanwhile (another member got there first) is left as is
 * and not returned, which fences this flush.
 */
export function insertOffsetsNewSql(t: TableRef): string {
  return (
    `INSERT INTO ${tableName(t)} (group_id, topic, partition, next_offset, updated_at, source_ts) ` +
    `SELECT $1, u.topic, u.partition, u.next_offset, now(), to_timestamp(u.source_ms / 1000.0) ` +
    `FROM unnest($2::text[], $3::int[], $4::bigint[], $5::float8[]) AS u(topic, partition, next_offset, source_ms) ` +
    `ON CONFLICT (group_id, topic, partition) DO NOTHING RETURNING topic, partition`
  );
}
