import type { TableRef } from '../../kernel/types';
import { ident, tableName } from '../../pg/ident';
import { ownValueSql, type OwnColumn } from './own-columns';

export interface MarkLiveSpec {
  readonly target: TableRef;
  /** The mark column; set to $1 (timestamptz; now() when NULL). */
  readonly deletedAt: string;
  /** Further columns to set, from parameters ($2 …) or now(). */
  readonly set: readonly OwnColumn[];
  /** Guard column raised to the parameter's position (never lowered; NULL keeps it). */
  readonly guard?: { readonly column: string; readonly param: number };
  /** Batch merge: only rows whose key is not in this table of the keys the run read. */
  readonly notIn?: { readonly table: string; readonly keyColumns: readonly string[] };
}

/**
 * delete_mode soft: every live row of the target marked deleted: a truncate, or (notIn) the rows
 * a full batch run no longer found at the source. Rows already marked keep their mark.
 */
export function markLiveRowsSql(s: MarkLiveSpec): string {
  const mark = ident(s.deletedAt);
  const sets = [`${mark} = COALESCE($1::timestamptz, now())`, ...s.set.map((c) => `${ident(c.column)} = ${ownValueSql(c)}`)];
  if (s.guard) {
    const pos = ident(s.guard.column);
    sets.push(`${pos} = GREATEST(${pos}, $${Math.trunc(s.guard.param)}::bigint)`);
  }
  let where = `${mark} IS NULL`;
  if (s.notIn) {
    const join = s.notIn.keyColumns.map((k) => `k.${ident(k)} = d.${ident(k)}`).join(' AND ');
    where += ` AND NOT EXISTS (SELECT 1 FROM ${ident(s.notIn.table)} AS k WHERE ${join})`;
  }
  return `UPDATE ${tableName(s.target)} AS d SET ${sets.join(', ')} WHERE ${where}`;
}
