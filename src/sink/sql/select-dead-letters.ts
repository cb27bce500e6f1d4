import type { TableRef } from '../../kernel/types';
import { ident, tableName } from '../../pg/ident';

/**
 * The dead letters of a table, oldest position first (topic, partition, offset, then id).
 * Parameters: $1 timestamptz or null (only letters written at or after it), $2 text[] or null
 * (only letters of these topics). `id`, `kafka_offset` and `created_at` come back as text.
 */
export function selectDeadLettersSql(t: TableRef): string {
  const c = (n: string): string => ident(n);
  return `SELECT ${c('id')}::text AS id, ${c('topic')}, ${c('partition')}, ${c('kafka_offset')}::text AS kafka_offset, ${c('reason')}, ${c('error_class')},
 to_char(${c('created_at')} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at, octet_length(${c('value')}) AS value_bytes
 FROM ${tableName(t)}
 WHERE ($1::timestamptz IS NULL OR ${c('created_at')} >= $1::timestamptz) AND ($2::text[] IS NULL OR ${c('topic')} = ANY($2::text[]))
 ORDER BY ${c('topic')}, ${c('partition')}, ${c('kafka_offset')}, ${c('id')}`;
}
