import type { TableRef } from '../../core/types';
import { ident, tableName } from './ident';

/**
 * Reads a whole table as COPY text. The SELECT form also works for partitioned tables and views,
 * which `COPY table TO` refuses.
 */
export function copyTableOutSql(t: TableRef, columns: readonly string[]): string {
  return `COPY (SELECT ${columns.map(ident).join(', ')} FROM ${tableName(t)}) TO STDOUT`;
}
