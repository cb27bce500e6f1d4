/**
 * The one place identifiers become MySQL/MariaDB SQL (as src/pg/ident.ts is for PostgreSQL):
 * every database, table and column name is backquoted, backquotes doubled, so a name stays a name.
 */
import type { TableRef } from '../kernel/types';

/** A backquoted identifier. */
export const bt = (name: string): string => {
  if (name.length === 0) throw new TypeError('empty MySQL identifier');
  return '`' + name.replace(/`/g, '``') + '`';
};

/** `database`.`table`. */
export const qualified = (t: TableRef): string => `${bt(t.schema)}.${bt(t.table)}`;
