/**
 * PostgreSQL connections with libpq's sslmode meaning:
 *   disable      plain only
 *   allow        plain first; TLS if the server rejects the plain attempt
 *   prefer       TLS first; plain if the server has no TLS or rejects the TLS attempt (the default)
 *   require      TLS, certificate not checked (with sslrootcert: checked, as libpq does)
 *   verify-ca    TLS, certificate chain checked against sslrootcert, host name not
 *   verify-full  TLS, chain and host name checked
 * Without sslrootcert, verify-* use Node's bundled public CAs (managed services' certificates).
 */
import { readFile } from 'node:fs/promises';
import type { ConnectionOptions } from 'node:tls';
import pg from 'pg';
import { ConfigError } from '../kernel/errors';
import type { PgConnection } from '../config/types';
import { explainPgError } from './explain';

/** The driver's types, for the rooms that pass pools and clients around without using the driver. */
export type { Client, Pool, PoolClient } from 'pg';

type SslSetting = false | ConnectionOptions;

interface Plan {
  readonly attempts: readonly SslSetting[];
}

async function caBundle(conn: PgConnection): Promise<string | undefined> {
  if (!conn.sslrootcert) return undefined;
  try {
    return await readFile(conn.sslrootcert, 'utf8');
  } catch (e) {
    throw new ConfigError([{ path: 'sslrootcert', message: `cannot read the CA bundle ${conn.sslrootcert}: ${(e as Error).message}` }]);
  }
}

export async function sslPlan(conn: PgConnection): Promise<Plan> {
  const ca = await caBundle(conn);
  const noVerify: SslSetting = { rejectUnauthorized: false };
  // verify-ca: the chain must lead to the CA, but the certificate may name any host.
  const verifyCa: SslSetting = { rejectUnauthorized: true, ...(ca ? { ca } : {}), checkServerIdentity: () => undefined };
  // node-postgres passes the host as the TLS server name (when it is not an IP), so Node checks it.
  const verifyFull: SslSetting = { rejectUnauthorized: true, ...(ca ? { ca } : {}) };
  switch (conn.sslmode ?? 'prefer') {
    case 'disable':
      return { attempts: [false] };
    case 'allow':
      return { attempts: [false, noVerify] };
    case 'prefer':
      return { attempts: [noVerify, false] };
    case 'require':
      return { attempts: [ca ? verifyCa : noVerify] };
    case 'verify-ca':
      return { attempts: [verifyCa] };
    case 'verify-full':
      return { attempts: [verifyFull] };
  }
}

function clientConfig(conn: PgConnection, ssl: SslSetting): pg.ClientConfig {
  return {
    host: conn.host,
    port: conn.port,
    database: conn.database,
    user: conn.username,
    password: conn.password,
    ssl,
    connectionTimeoutMillis: conn.connectTimeoutMs,
    application_name: 'nilus-pg',
  };
}

/**
 * Whether the next attempt of the plan is worth making after `err`: libpq moves on when the
 * server answers "no TLS here" or rejects the startup with an error; a network failure would
 * only fail again.
 */
function worthNextAttempt(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  if (/does not support SSL/i.test(String(e.message))) return true;
  return typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) && e.code !== '3D000';
}

async function connectWith(conn: PgConnection): Promise<{ client: pg.Client; ssl: SslSetting }> {
  const plan = await sslPlan(conn);
  let last: unknown;
  for (let i = 0; i < plan.attempts.length; i++) {
    const ssl = plan.attempts[i];
    const client = new pg.Client(clientConfig(conn, ssl));
    try {
      await client.connect();
      return { client, ssl };
    } catch (err) {
      last = err;
      await client.end().catch(() => undefined);
      if (!worthNextAttempt(err)) break;
    }
  }
  throw explainPgError(last, conn);
}

/** One connected client; failures come back as explained NilusErrors (never with the password). */
export async function connectPg(conn: PgConnection): Promise<pg.Client> {
  return (await connectWith(conn)).client;
}

/**
 * A pool whose connections all use the mode a probe connection found working, so allow/prefer
 * negotiate once instead of on every new connection.
 */
export async function createPool(conn: PgConnection, max = 4): Promise<pg.Pool> {
  const { client, ssl } = await connectWith(conn);
  await client.end();
  const pool = new pg.Pool({ ...clientConfig(conn, ssl), max });
  // An idle client losing its connection must not crash the process: the next checkout reconnects
  // (and reports its own error if the server is really gone).
  pool.on('error', () => undefined);
  return pool;
}
