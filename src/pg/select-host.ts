/**
 * libpq's host selection, the one implementation every connection of nilus-pg goes through
 * (./pool.ts: connectPg and each client of a pool): the hosts of the address are tried in order;
 * a host that cannot be reached (refused, timed out after connect_timeout, unknown name, reset) is
 * passed over for the next; a host that answers but does not suit target_session_attrs
 * (./session-attrs.ts) is closed and passed over the same way; a host that answers with an error
 * of its own (authentication, a missing database, TLS refused) stops the search with that error,
 * as libpq does ("if authentication fails, the remaining hosts in the list are not tried").
 * When no host is acceptable the error names each host tried and why it was refused.
 */
import type { ClientBase } from 'pg';
import { FatalError, NilusError, RetriableError } from '../kernel/errors';
import type { PgConnection, PgHostPort, TargetSessionAttrs } from '../config/types';
import { hostsOf } from './conninfo';
import { needs, passes, refusal, type PassAttrs, type ServerFacts } from './session-attrs';
import { SELECT_IN_RECOVERY, SHOW_TRANSACTION_READ_ONLY } from './session';

/** Whether connecting needs more than node-postgres does: several hosts, or a check of the server. */
export function needsSelection(conn: PgConnection): boolean {
  return hostsOf(conn).length > 1 || (conn.targetSessionAttrs ?? 'any') !== 'any';
}

/** The connection as it is for one of its hosts. */
export function onHost(conn: PgConnection, h: PgHostPort): PgConnection {
  const { hosts: _all, ...rest } = conn;
  return { ...rest, host: h.host, port: h.port };
}

/** Asks a connected server what `attrs` needs to know (libpq's statements, nothing more). */
export async function factsOf(client: Pick<ClientBase, 'query'>, attrs: PassAttrs): Promise<ServerFacts> {
  const need = needs(attrs);
  let transactionReadOnly: boolean | undefined;
  let inRecovery: boolean | undefined;
  if (need.readOnly) {
    const r = await client.query<{ transaction_read_only: string }>(SHOW_TRANSACTION_READ_ONLY);
    transactionReadOnly = r.rows[0]?.transaction_read_only === 'on';
  }
  if (need.recovery) {
    const r = await client.query<{ in_recovery: boolean }>(SELECT_IN_RECOVERY);
    inRecovery = r.rows[0]?.in_recovery === true;
  }
  return { transactionReadOnly, inRecovery };
}

/** A host refused after connecting: why, and the attrs that refused it. */
export function refusedMessage(h: PgHostPort, why: string): string {
  return `server at "${h.host}", port ${h.port} is not acceptable: ${why}`;
}

/** Whether the server itself answered with an error: libpq tries no further host then. */
function stopsTheSearch(err: unknown): boolean {
  if (err instanceof FatalError) return true;
  const cause = (err as { cause?: { severity?: unknown } }).cause;
  return typeof cause?.severity === 'string';
}

/** The error when no host was acceptable: each host tried, and why it was refused. */
export function noHostError(conn: PgConnection, reasons: readonly string[], cause: unknown): NilusError {
  const attrs: TargetSessionAttrs = conn.targetSessionAttrs ?? 'any';
  const n = hostsOf(conn).length;
  const what = n === 1 ? 'the server' : `none of the ${n} servers`;
  const hint =
    attrs === 'any'
      ? 'is any of them running and reachable?'
      : `during a failover this lasts until a standby is promoted; if it persists, check that a server listed is a ${attrs === 'read-write' || attrs === 'primary' ? 'primary' : attrs === 'prefer-standby' ? 'running server' : attrs.replace('-', ' ')}`;
  return new RetriableError(`${what} accepted the connection (target_session_attrs=${attrs}): ${reasons.join('; ')} — retrying with backoff; ${hint}`, { cause });
}

/**
 * Tries the hosts in order, each with `connectOne` (which connects to the one host it is given and
 * throws an explained error), until one is acceptable; returns it connected. Refused clients are ended.
 */
export async function selectHost<C extends Pick<ClientBase, 'query'> & { end(): Promise<void> }, R extends { client: C }>(
  conn: PgConnection,
  connectOne: (one: PgConnection) => Promise<R>,
): Promise<R & { host: PgHostPort; pass: PassAttrs }> {
  const reasons: string[] = [];
  let last: unknown;
  for (const attrs of passes(conn.targetSessionAttrs)) {
    for (const h of hostsOf(conn)) {
      let got: R;
      try {
        got = await connectOne(onHost(conn, h));
      } catch (err) {
        if (stopsTheSearch(err)) throw err;
        last = err;
        reasons.push(err instanceof Error ? err.message : String(err));
        continue;
      }
      let why: string | undefined;
      try {
        why = refusal(attrs, await factsOf(got.client, attrs));
      } catch (err) {
        last = err;
        why = `the check of the session failed: ${err instanceof Error ? err.message : String(err)}`;
      }
      if (why === undefined) return { ...got, host: h, pass: attrs };
      reasons.push(refusedMessage(h, why));
      await got.client.end().catch(() => undefined);
    }
  }
  throw noHostError(conn, reasons, last);
}
