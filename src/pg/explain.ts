/**
 * Connection failures → troubleshooting-grade messages: the symptom as PostgreSQL/libpq words
 * it, then what to do (the seed page's troubleshooting table). The password is never part of a
 * message: none of the texts below use it, and anything quoted from the driver is scrubbed.
 */
import { FatalError, type NilusError, RetriableError } from '../kernel/errors';
import type { PgConnection } from '../config/types';
import { classifySqlState } from '../kernel/classify';

const SEED = {
  auth: 're-check the credentials and confirm the user still exists with the same password',
  network: 'verify the runtime egress IP is allowlisted on the database side and the host/port are reachable',
  ssl: 'set sslmode=require (or verify-full with a CA bundle) in the URI',
} as const;

interface PgLikeError {
  code?: string;
  message?: string;
  errno?: number;
  /** Set on errors the server sent (ERROR, FATAL): their code is a SQLSTATE. */
  severity?: string;
}

function scrub(text: string, conn: PgConnection): string {
  if (!conn.password) return text;
  let out = text.split(conn.password).join('****');
  const enc = encodeURIComponent(conn.password);
  if (enc !== conn.password) out = out.split(enc).join('****');
  return out;
}

/** The `connection to server at "h", port p failed:` prefix libpq uses. */
export function serverAt(conn: PgConnection): string {
  return `connection to server at "${conn.host}", port ${conn.port} failed`;
}

export function explainPgError(err: unknown, conn: PgConnection): NilusError {
  const e = (err ?? {}) as PgLikeError;
  const raw = scrub(String(e.message ?? err), conn);
  const at = serverAt(conn);
  const mode = conn.sslmode ?? 'prefer';
  const fatal = (m: string): NilusError => new FatalError(scrub(m, conn), { cause: err });
  const retry = (m: string): NilusError => new RetriableError(scrub(m, conn), { cause: err });

  if (e.code === '28P01') return fatal(`${at}: password authentication failed for user "${conn.username}": ${SEED.auth}`);
  if (e.code === '28000' && /no pg_hba\.conf entry/.test(raw) && /no encryption|SSL off/.test(raw)) {
    return fatal(`${at}: ${raw} (SSL off) — the server accepts only TLS connections (pg_hba.conf hostssl) but sslmode=${mode} did not use TLS: ${SEED.ssl}`);
  }
  if (e.code === '28000') return fatal(`${at}: ${raw} — the server refuses this user/database/address combination: ask the DBA for a pg_hba.conf entry, or ${SEED.auth}`);
  if (e.code === '3D000') return fatal(`${at}: database "${conn.database}" does not exist — check the database name in the URI or connections file (names are case-sensitive)`);
  if (e.code === '42501' && /database/i.test(raw)) {
    return fatal(`${at}: ${raw} — the user needs CONNECT on the target database: GRANT CONNECT ON DATABASE "${conn.database}" TO "${conn.username}"`);
  }
  if (e.code === '53300') {
    return retry(`${at}: ${raw} — the server's max_connections, or the CONNECTION LIMIT of user "${conn.username}" or database "${conn.database}", is reached; retrying with backoff. Free connections or raise the limit (the sink of one worker holds up to 4)`);
  }
  if (e.code === '57P03') return retry(`${at}: ${raw} — the server is starting up or recovering; retrying with backoff`);
  if (typeof e.code === 'string' && typeof e.severity === 'string' && classifySqlState(e.code) === 'retriable') {
    return retry(`${at}: ${raw} (SQLSTATE ${e.code}, transient); retrying with backoff`);
  }
  if (/does not support SSL/i.test(raw)) {
    return fatal(`${at}: The server does not support SSL connections, but sslmode=${mode} requires TLS — sslmode must match what the server offers: enable ssl on the server and ${SEED.ssl}, or use sslmode=prefer/disable for a server without TLS`);
  }
  if (/certificate|self[- ]signed|unable to verify|altnames|Hostname\/IP does not match/i.test(raw)) {
    return fatal(`${at}: TLS certificate check failed (${raw}) with sslmode=${mode} — point sslrootcert at the CA bundle that signed the server certificate; verify-full also needs the host name to match the certificate`);
  }
  if (/SSL connection has been closed unexpectedly|SSL SYSCALL|EPROTO|wrong version number/i.test(raw)) {
    return retry(`${at}: SSL connection has been closed unexpectedly (${raw}) — sslmode does not match what the server requires: ${SEED.ssl}`);
  }
  if (/timeout/i.test(raw) || e.code === 'ETIMEDOUT') {
    return retry(`${at}: timeout expired — ${SEED.network}`);
  }
  if (e.code === 'ECONNREFUSED') return retry(`${at}: Connection refused — is the server running there? ${SEED.network}`);
  if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') return retry(`could not translate host name "${conn.host}" to address — check the host in the URI or connections file`);
  if (e.code === 'EHOSTUNREACH' || e.code === 'ENETUNREACH' || e.code === 'ECONNRESET') return retry(`${at}: ${raw} — ${SEED.network}`);
  return fatal(`${at}: ${raw}`);
}
