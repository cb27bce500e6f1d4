import type { TableRef } from '../../kernel/types';
import { ident, tableName } from '../../pg/ident';

/**
 * Widens one column (src/sink/schema/widen.ts decides which changes are widenings). `type` has
 * passed assertSafeType. Every widening nilus applies has an implicit cast, so no USING clause.
 */
export function alterColumnTypeSql(t: TableRef, column: string, type: string): string {
  return `ALTER TABLE ${tableName(t)} ALTER COLUMN ${ident(column)} TYPE ${type}`;
}
