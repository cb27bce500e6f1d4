import type { TableRef } from '../../kernel/types';
import { ident, tableName } from '../../pg/ident';

/** `COPY t (cols) FROM STDIN` in text format; `table` is a TableRef or a temp table's bare name. */
export function copyFromStdinSql(table: TableRef | string, columns: readonly string[]): string {
  const t = typeof table === 'string' ? ident(table) : tableName(table);
  return `COPY ${t} (${columns.map(ident).join(', ')}) FROM STDIN`;
}
