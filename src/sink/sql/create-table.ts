import type { TableRef } from '../../kernel/types';
import { ident, tableName } from '../../pg/ident';

export interface NewColumn {
  readonly name: string;
  /** PostgreSQL type text from the event schema or our metadata constants. */
  readonly type: string;
  /** SQL default expression from our own constants only (never from event data). */
  readonly defaultSql?: string;
  readonly notNull?: boolean;
}

export function columnDef(c: NewColumn): string {
  let d = `${ident(c.name)} ${c.type}`;
  if (c.notNull) d += ' NOT NULL';
  if (c.defaultSql) d += ` DEFAULT ${c.defaultSql}`;
  return d;
}

/** IF NOT EXISTS: a concurrent replica may have created it between our look and our lock. */
export function createTableSql(t: TableRef, columns: readonly NewColumn[], primaryKey: readonly string[]): string {
  const defs = columns.map(columnDef);
  if (primaryKey.length > 0) defs.push(`PRIMARY KEY (${primaryKey.map(ident).join(', ')})`);
  return `CREATE TABLE IF NOT EXISTS ${tableName(t)} (${defs.join(', ')})`;
}
