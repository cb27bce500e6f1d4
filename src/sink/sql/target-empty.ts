import type { TableRef } from '../../kernel/types';
import { tableName } from '../../pg/ident';

/** One row, `empty`: whether the table holds no row visible to the transaction. */
export function tableEmptySql(t: TableRef): string {
  return `SELECT NOT EXISTS (SELECT 1 FROM ${tableName(t)}) AS empty`;
}

/** Readers go on, other writers wait for the transaction's end (and it for theirs). */
export function lockOutWritersSql(t: TableRef): string {
  return `LOCK TABLE ${tableName(t)} IN SHARE ROW EXCLUSIVE MODE`;
}
