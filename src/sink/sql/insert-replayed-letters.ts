import type { TableRef } from '../../kernel/types';
import { tableName } from '../../pg/ident';

/** Marks dead-letter topic messages: $1 topic, $2 int[] partitions, $3 bigint[] offsets (text), $4 text[] outcomes. */
export function insertReplayedLettersSql(t: TableRef): string {
  return `INSERT INTO ${tableName(t)} (dlq_topic, dlq_partition, dlq_offset, outcome) SELECT $1, p, o, x FROM unnest($2::int[], $3::bigint[], $4::text[]) AS u(p, o, x)`;
}
