import type { TableRef } from '../../kernel/types';
import { tableName } from '../../pg/ident';

/**
 * Compare-and-set for partitions that already have a row: $1 group, $2 topics, $3 partitions,
 * $4 next offsets, $5 the offsets this flush expects to find, $6 source commit times in ms
 * (float8[], NULL where unknown: the stored one is kept). A row that moved (another consumer
 * of the group applied the partition meanwhile) is not updated and not returned: the caller
 * rolls the whole flush back. Under READ COMMITTED a concurrent writer's row is re-checked after
 * its commit, so two members can never both pass.
 */
export function updateOffsetsFencedSql(t: TableRef): string {
  return (
    `UPDATE ${tableName(t)} AS o SET next_offset = u.next_offset, updated_at = now(), ` +
    `source_ts = COALESCE(to_timestamp(u.source_ms / 1000.0), o.source_ts) ` +
    `FROM unnest($2::text[], $3::int[], $4::bigint[], $5::bigint[], $6::float8[]) AS u(topic, partition, next_offset, expected, source_ms) ` +
    `WHERE o.group_id = $1 AND o.topic = u.topic AND o.partition = u.partition AND o.next_offset = u.expected ` +
    `RETURNING o.topic, o.partition`
  );
}
