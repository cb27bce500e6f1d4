import type { TableRef } from '../../kernel/types';
import { tableName } from '../../pg/ident';

/** $1 group, $2 topics (text[]) or NULL for all. */
export function selectOffsetsSql(t: TableRef): string {
  return (
    `SELECT topic, partition, next_offset::text AS next FROM ${tableName(t)} ` +
    `WHERE group_id = $1 AND ($2::text[] IS NULL OR topic = ANY ($2::text[])) ORDER BY topic, partition`
  );
}
