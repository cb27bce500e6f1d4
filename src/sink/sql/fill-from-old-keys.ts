import type { TableRef } from '../../kernel/types';
import { ident, tableName } from '../../pg/ident';
import { STAGE_CARRY, STAGE_FROM, STAGE_MASK } from '../metadata';

/**
 * Moved rows (a create after a primary-key change, marked in STAGE_CARRY) take each placeholder
 * column listed in their mask from the target's row under the old key (the STAGE_FROM<j>
 * columns); a filled row has every column, so its mask and carry mark are cleared.
 * `maskedColumns` are the staging data columns some mask names, by their index in the mask.
 */
export function fillFromOldKeysSql(p: {
  readonly staging: string;
  readonly target: TableRef;
  readonly keyColumns: readonly string[];
  readonly maskedColumns: readonly { readonly index: number; readonly name: string }[];
}): string {
  const mask = `s.${ident(STAGE_MASK)}`;
  const sets = p.maskedColumns.map(({ index, name }) => {
    const c = ident(name);
    return `${c} = CASE WHEN strpos(',' || ${mask} || ',', ',${index},') > 0 THEN t.${c} ELSE s.${c} END`;
  });
  const join = p.keyColumns.map((k, j) => `t.${ident(k)} = s.${ident(STAGE_FROM + j)}`).join(' AND ');
  return (
    `UPDATE ${ident(p.staging)} AS s SET ${sets.join(', ')}, ${ident(STAGE_MASK)} = NULL, ${ident(STAGE_CARRY)} = false ` +
    `FROM ${tableName(p.target)} AS t WHERE s.${ident(STAGE_CARRY)} AND ${join}`
  );
}

/** The distinct unavailable-column masks left in staging (NULL: a row with every column). */
export function stagedMasksSql(staging: string): string {
  return `SELECT DISTINCT ${ident(STAGE_MASK)} AS m FROM ${ident(staging)}`;
}
