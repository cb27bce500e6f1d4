/**
 * Transaction-scoped advisory lock serialising DDL on one table across replicas.
 * Two-key form: a fixed class id so our locks never collide with an application's own
 * single-key locks, plus hashtext of the quoted table name ($1).
 */
export const ADVISORY_CLASS = 0x6e696c; // 'nil'

export function advisoryXactLockSql(): string {
  return `SELECT pg_advisory_xact_lock(${ADVISORY_CLASS}, hashtext($1))`;
}
