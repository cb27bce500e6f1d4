/**
 * The one place identifiers become SQL. Every schema, table and column name goes through
 * `ident()`, so names with upper case, spaces, quotes or semicolons stay names and cannot
 * inject SQL. Names are used exactly as given (case preserved): folding to lower case, when
 * wanted, happens in config, never here.
 */
import type { TableRef } from '../kernel/types';

export function ident(name: string): string {
  if (name.length === 0) throw new TypeError('empty SQL identifier');
  if (name.includes('\u0000')) throw new TypeError('SQL identifier contains a NUL byte');
  return '"' + name.replace(/"/g, '""') + '"';
}

export function tableName(t: TableRef): string {
  return `${ident(t.schema)}.${ident(t.table)}`;
}

/** A SQL string literal (for catalog look-ups by name); values otherwise travel as parameters. */
export function literal(s: string): string {
  if (s.includes('\u0000')) throw new TypeError('SQL literal contains a NUL byte');
  return "'" + s.replace(/'/g, "''") + "'";
}
