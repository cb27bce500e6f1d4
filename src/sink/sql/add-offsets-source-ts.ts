import type { TableRef } from '../../kernel/types';
import { tableName } from '../../pg/ident';

/**
 * Adds `source_ts` to an offsets table created before it existed. A nullable column without a
 * default: a catalog change only, no rewrite; IF NOT EXISTS, so replicas starting together agree.
 */
export function addOffsetsSourceTsSql(t: TableRef): string {
  return `ALTER TABLE ${tableName(t)} ADD COLUMN IF NOT EXISTS source_ts timestamptz`;
}
