/**
 * libpq's sslmode as a plan of connection attempts (./pool.ts makes them, in order):
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
import { ConfigError } from '../kernel/errors';
import type { PgConnection } from '../config/types';

export type SslSetting = false | ConnectionOptions;

export interface Plan {
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
