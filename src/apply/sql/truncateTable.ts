import type { TableRef } from '../../core/types';
import { tableName } from './ident';

/** Transactional in PostgreSQL: rolled back with the flush if anything later fails. */
export function truncateTableSql(t: TableRef): string {
  return `TRUNCATE TABLE ${tableName(t)}`;
}
