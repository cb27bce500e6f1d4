import type { TableRef } from '../../kernel/types';
import { tableName } from '../../pg/ident';
import { columnDef, type NewColumn } from './create-table';

/** One ALTER for all new columns; IF NOT EXISTS: a concurrent replica may have added them first. */
export function addColumnsSql(t: TableRef, columns: readonly NewColumn[]): string {
  return `ALTER TABLE ${tableName(t)} ${columns.map((c) => `ADD COLUMN IF NOT EXISTS ${columnDef(c)}`).join(', ')}`;
}
