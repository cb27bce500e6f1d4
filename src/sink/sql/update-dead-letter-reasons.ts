import type { TableRef } from '../../kernel/types';
import { ident, tableName } from '../../pg/ident';

/**
 * Gives dead letters a new reason ($1 bigint[] ids as decimal strings, $2 text[] reasons, same
 * index) and returns the ids it updated.
 */
export function updateDeadLetterReasonsSql(t: TableRef): string {
  return `UPDATE ${tableName(t)} AS d SET ${ident('reason')} = u.reason FROM unnest($1::bigint[], $2::text[]) AS u(id, reason)
 WHERE d.${ident('id')} = u.id RETURNING d.${ident('id')}::text AS id`;
}
