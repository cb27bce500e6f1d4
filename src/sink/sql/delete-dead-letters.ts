import type { TableRef } from '../../kernel/types';
import { ident, tableName } from '../../pg/ident';

/** Removes dead letters by id ($1 bigint[] as decimal strings) and returns the ids it removed. */
export function deleteDeadLettersSql(t: TableRef): string {
  return `DELETE FROM ${tableName(t)} WHERE ${ident('id')} = ANY($1::bigint[]) RETURNING ${ident('id')}::text AS id`;
}
