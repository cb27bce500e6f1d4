/**
 * The settings a sink session runs before anything else: the statement, lock and idle bounds
 * (spec.sink.options.statement_timeout_ms / lock_timeout_ms) and the server's TCP keepalive. Sent
 * as SETs after connecting, not as start-up parameters, so PgBouncer accepts them. With
 * src/pg/transaction.ts, the only SQL outside src/sink/sql/ that reaches the target. Also the two
 * questions target_session_attrs asks a server it connected to (libpq's own statements).
 */

/** libpq's read-write/read-only check: `on` when transactions are read-only by default. */
export const SHOW_TRANSACTION_READ_ONLY = 'SHOW transaction_read_only';
/** libpq's primary/standby check: true on a server in recovery (a hot standby). */
export const SELECT_IN_RECOVERY = 'SELECT pg_catalog.pg_is_in_recovery() AS in_recovery';

/** Bounds a session puts on its statements (the sink's: spec.sink.options.statement_timeout_ms, lock_timeout_ms). */
export interface SessionLimits {
  /** Server-side statement_timeout and idle_in_transaction_session_timeout, ms. */
  readonly statementTimeoutMs: number;
  /** Server-side lock_timeout, ms (55P03 when hit: retried). */
  readonly lockTimeoutMs: number;
}

/**
 * The server's side of the same connection (tcp_keepalives_*): a session whose client vanished
 * behind a partition is ended after 30 s idle + 3 unanswered probes 10 s apart, so the
 * transaction and locks it holds do not outlive the partition by long.
 */
const SERVER_KEEPALIVE = { idleS: 30, intervalS: 10, count: 3 } as const;

/** The SETs a new session under `limits` runs before anything else (one round trip). */
export function sessionSetup(limits: SessionLimits): string {
  const ms = (n: number): string => String(Math.max(0, Math.floor(n)));
  return [
    `SET statement_timeout = ${ms(limits.statementTimeoutMs)}`,
    `SET lock_timeout = ${ms(limits.lockTimeoutMs)}`,
    `SET idle_in_transaction_session_timeout = ${ms(limits.statementTimeoutMs)}`,
    `SET tcp_keepalives_idle = ${SERVER_KEEPALIVE.idleS}`,
    `SET tcp_keepalives_interval = ${SERVER_KEEPALIVE.intervalS}`,
    `SET tcp_keepalives_count = ${SERVER_KEEPALIVE.count}`,
  ].join('; ');
}
