import type { TableRef } from '../../kernel/types';
import { ident, tableName } from '../../pg/ident';

export interface DeleteSpec {
  readonly target: TableRef;
  readonly staging: string;
  readonly keyColumns: readonly string[];
  readonly guard?: { readonly stagingColumn: string; readonly targetColumn: string };
}

/**
 * DELETE … USING staging. Keys compare with plain `=`: primary-key columns are NOT NULL, so
 * IS NOT DISTINCT FROM would only cost the planner the index.
 */
export function deleteUsingStagingSql(s: DeleteSpec): string {
  const conds = s.keyColumns.map((k) => `d.${ident(k)} = s.${ident(k)}`);
  if (s.guard) {
    const pos = `d.${ident(s.guard.targetColumn)}`;
    conds.push(`(${pos} IS NULL OR ${pos} <= s.${ident(s.guard.stagingColumn)})`);
  }
  return `DELETE FROM ${tableName(s.target)} AS d USING ${ident(s.staging)} AS s WHERE ${conds.join(' AND ')}`;
}
