import type { TableRef } from '../../kernel/types';
import { tableName } from '../../pg/ident';

/** The marked messages of dead-letter topic $1 (`p`, `o` as text). */
export function selectReplayedLettersSql(t: TableRef): string {
  return `SELECT dlq_partition AS p, dlq_offset::text AS o FROM ${tableName(t)} WHERE dlq_topic = $1`;
}
