import type { TableRef } from '../../kernel/types';
import { ident, tableName } from '../../pg/ident';
import { ownValueSql, type OwnColumn } from './own-columns';

export interface SoftDeleteSpec {
  readonly target: TableRef;
  readonly staging: string;
  readonly keyColumns: readonly string[];
  /** The mark column, in the target and in staging (the delete's source commit time, NULL when unknown). */
  readonly deletedAt: string;
  /** Further columns to set (metadata), from staging or now(). */
  readonly set: readonly OwnColumn[];
  readonly guard?: { readonly stagingColumn: string; readonly targetColumn: string };
}

/**
 * delete_mode soft: UPDATE … FROM staging instead of DELETE … USING. The row stays, marked with
 * the delete's source commit time (the flush's time when the event has none); with the guard the
 * stored position moves to the delete's, so a stale event cannot bring the row back.
 */
export function softDeleteUsingStagingSql(s: SoftDeleteSpec): string {
  const mark = ident(s.deletedAt);
  const sets = [`${mark} = COALESCE(s.${mark}, now())`, ...s.set.map((c) => `${ident(c.column)} = ${ownValueSql(c)}`)];
  const conds = s.keyColumns.map((k) => `d.${ident(k)} = s.${ident(k)}`);
  if (s.guard) {
    const pos = ident(s.guard.targetColumn);
    sets.push(`${pos} = s.${ident(s.guard.stagingColumn)}`);
    conds.push(`(d.${pos} IS NULL OR d.${pos} <= s.${ident(s.guard.stagingColumn)})`);
  }
  return `UPDATE ${tableName(s.target)} AS d SET ${sets.join(', ')} FROM ${ident(s.staging)} AS s WHERE ${conds.join(' AND ')}`;
}
