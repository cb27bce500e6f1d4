import type { TableRef } from '../../kernel/types';
import { ident, tableName } from '../../pg/ident';
import { STAGE_CARRY } from '../metadata';

/**
 * Placeholder rows (marked in STAGE_CARRY) whose key the target does not hold: how many, and up
 * to five of their keys as text (`n`, `keys`).
 */
export function countUnresolvedSql(staging: string, target: TableRef, keyColumns: readonly string[]): string {
  const keyText =
    keyColumns.length === 1 ? `s.${ident(keyColumns[0]!)}::text` : `ROW(${keyColumns.map((k) => `s.${ident(k)}`).join(', ')})::text`;
  const match = keyColumns.map((k) => `t.${ident(k)} = s.${ident(k)}`).join(' AND ');
  return (
    `SELECT count(*)::int AS n, (array_agg(${keyText}))[1:5] AS keys FROM ${ident(staging)} AS s ` +
    `WHERE s.${ident(STAGE_CARRY)} AND NOT EXISTS (SELECT 1 FROM ${tableName(target)} AS t WHERE ${match})`
  );
}
