import type { TableRef } from '../../kernel/types';
import { ident, tableName } from '../../pg/ident';

/** Dead letters held, per source topic. */
export function countDeadLettersSql(t: TableRef): string {
  return `SELECT ${ident('topic')} AS topic, count(*)::text AS n FROM ${tableName(t)} GROUP BY ${ident('topic')} ORDER BY 1`;
}
