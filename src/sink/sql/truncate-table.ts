import type { TableRef } from '../../kernel/types';
import { tableName } from '../../pg/ident';

/** Transactional in PostgreSQL: rolled back with the flush if anything later fails. */
export function truncateTableSql(t: TableRef): string {
  return `TRUNCATE TABLE ${tableName(t)}`;
}
