import type { TableRef } from '../../kernel/types';
import { ident, tableName } from '../../pg/ident';
import { ownValueSql, type OwnColumn } from './own-columns';

export interface UpsertSpec {
  readonly target: TableRef;
  readonly staging: string;
  /** Conflict target: the primary-key columns. */
  readonly keyColumns: readonly string[];
  /** Columns to write, keys included, in staging order; unavailable columns already left out. */
  readonly columns: readonly string[];
  /** When set, only staging rows whose mask column equals $1 (or IS NULL when maskValue is null). */
  readonly mask?: { readonly column: string; readonly value: string | null };
  /** Stale-event guard: staging column holding the incoming position, target column holding the stored one. */
  readonly guard?: { readonly stagingColumn: string; readonly targetColumn: string };
  /** Columns nilus fills itself (metadata, the soft-delete mark cleared), on insert and on update; no parameters. */
  readonly own?: readonly OwnColumn[];
  /** Insert the rows whose key is absent, leave present ones alone (ON CONFLICT DO NOTHING). */
  readonly insertOnly?: boolean;
  /**
   * Leave a present row untouched (no new row version, no UPDATE trigger) when every column of it
   * already holds the value the upsert would write: the whole rows compared by their binary images
   * (`*=`, defined for every type, json included). Equal images are equal values; unequal images
   * (numeric 1.0 against 1.00) are written, as without this.
   */
  readonly skipUnchanged?: boolean;
}

const T = ident('_nilus_t');

/**
 * INSERT … SELECT … ON CONFLICT (pk) DO UPDATE SET c = EXCLUDED.c for the non-key columns,
 * DO NOTHING when only keys are written. Returns the text and its parameters.
 */
export function upsertFromStagingSql(s: UpsertSpec): { text: string; values: unknown[] } {
  const keys = new Set(s.keyColumns);
  const insertCols = s.columns.map(ident);
  const selectCols = s.columns.map((c) => `s.${ident(c)}`);
  const setCols = s.columns.filter((c) => !keys.has(c)).map((c) => `${ident(c)} = EXCLUDED.${ident(c)}`);
  if (s.guard) {
    insertCols.push(ident(s.guard.targetColumn));
    selectCols.push(`s.${ident(s.guard.stagingColumn)}`);
    const pos = ident(s.guard.targetColumn);
    setCols.push(`${pos} = EXCLUDED.${pos}`);
  }
  for (const c of s.own ?? []) {
    insertCols.push(ident(c.column));
    selectCols.push(ownValueSql(c));
    setCols.push(`${ident(c.column)} = EXCLUDED.${ident(c.column)}`);
  }
  const values: unknown[] = [];
  let where = '';
  if (s.mask) {
    if (s.mask.value === null) where = ` WHERE s.${ident(s.mask.column)} IS NULL`;
    else {
      values.push(s.mask.value);
      where = ` WHERE s.${ident(s.mask.column)} = $1`;
    }
  }
  let onConflict = `ON CONFLICT (${s.keyColumns.map(ident).join(', ')}) `;
  if (setCols.length === 0 || s.insertOnly) onConflict += 'DO NOTHING';
  else {
    onConflict += `DO UPDATE SET ${setCols.join(', ')}`;
    const conditions: string[] = [];
    if (s.guard) {
      const pos = ident(s.guard.targetColumn);
      // Stored NULL = written before the guard was on (or by someone else): the event wins.
      conditions.push(`${T}.${pos} IS NULL OR ${T}.${pos} <= EXCLUDED.${pos}`);
    }
    // EXCLUDED is the row the INSERT proposed (defaults for columns not written); a column the
    // upsert does not set but whose stored value differs from its default makes the rows unequal,
    // so such a row is written as before: never skipped wrongly, at worst written needlessly.
    if (s.skipUnchanged) conditions.push(`NOT (${T} *= EXCLUDED)`);
    if (conditions.length === 1) onConflict += ` WHERE ${conditions[0]}`;
    else if (conditions.length > 1) onConflict += ` WHERE ${conditions.map((c) => `(${c})`).join(' AND ')}`;
  }
  const text =
    `INSERT INTO ${tableName(s.target)} AS ${T} (${insertCols.join(', ')}) ` +
    `SELECT ${selectCols.join(', ')} FROM ${ident(s.staging)} AS s${where} ${onConflict}`;
  return { text, values };
}
