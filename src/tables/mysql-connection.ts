/**
 * Connections to a MySQL/MariaDB source, for the table reader (./mysql-table.ts), verify's digests
 * and `check`: the one place that opens them. TLS follows MySQL's --ssl-mode:
 *   disabled         plain
 *   preferred        TLS (unverified) when the server offers it, else plain. mysql2 cannot fall back
 *                    inside one handshake, so a server without TLS costs a second connection attempt;
 *                    a server that offers TLS but fails the TLS handshake fails, as with MySQL's client.
 *   required         TLS, certificate not checked
 *   verify_ca        TLS, chain checked against sslCa (Node's public CAs without it), host name not
 *   verify_identity  TLS, chain and host name (or IP address) checked
 */
import { readFile } from 'node:fs/promises';
import { checkServerIdentity, type TLSSocket } from 'node:tls';
import { createConnection, type Connection, type ConnectionOptions, type QueryError, type SslOptions } from 'mysql2';
import type { MysqlConnection } from '../config/types';
import { ConfigError } from '../kernel/errors';

export type { Connection, QueryError } from 'mysql2';

async function sslOptions(conn: MysqlConnection): Promise<SslOptions | undefined> {
  if (conn.sslMode === 'disabled') return undefined;
  if (conn.sslMode === 'preferred' || conn.sslMode === 'required') return { rejectUnauthorized: false };
  let ca: string | undefined;
  if (conn.sslCa) {
    try {
      ca = await readFile(conn.sslCa, 'utf8');
    } catch (e) {
      throw new ConfigError([{ path: 'ssl-ca', message: `cannot read the CA bundle ${conn.sslCa}: ${(e as Error).message}` }]);
    }
  }
  return { rejectUnauthorized: true, verifyIdentity: conn.sslMode === 'verify_identity', ...(ca ? { ca } : {}) };
}

/**
 * mysql2 checks the host name only when the host is a name: for an IP address it gives Node no
 * server name, and Node then checks the certificate against "localhost". For verify_identity the
 * certificate is checked here against the host as configured (IP SANs for an address), once TLS is
 * up and before mysql2 sends the credentials. Fails closed if mysql2 ever stops calling startTLS.
 */
function checkIdentityBeforeCredentials(c: Connection, host: string): () => boolean {
  const conn = c as unknown as { startTLS?: (onSecure: (err?: Error) => void) => void; stream: TLSSocket };
  const startTLS = conn.startTLS;
  if (typeof startTLS !== 'function') throw new Error('mysql2 has no startTLS: cannot verify the server identity');
  let checked = false;
  conn.startTLS = (onSecure) =>
    startTLS.call(conn, (err) => {
      if (err) return onSecure(err);
      const mismatch = checkServerIdentity(host, conn.stream.getPeerCertificate());
      checked = mismatch === undefined;
      onSecure(mismatch);
    });
  return () => checked;
}

function connectOnce(options: ConnectionOptions, verifyHost?: string): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const c = createConnection(options);
    // A fatal error with no command running is emitted on the connection; the reader sees it on its next query.
    c.on('error', () => undefined);
    let identityChecked: (() => boolean) | undefined;
    try {
      if (verifyHost !== undefined) identityChecked = checkIdentityBeforeCredentials(c, verifyHost);
    } catch (e) {
      c.destroy();
      return reject(e);
    }
    c.connect((err) => {
      if (!err && identityChecked && !identityChecked()) err = Object.assign(new Error('the server identity was not verified'), { code: 'HANDSHAKE_SSL_ERROR' }) as QueryError;
      if (!err) return resolve(c);
      c.destroy();
      reject(err);
    });
  });
}

/** Runs one statement; rows as objects (information_schema) unless asked otherwise. */
export function run<T>(c: Connection, sql: string, values: unknown[] = [], extra: { rowsAsArray?: boolean; typeCast?: false } = {}): Promise<T[]> {
  return new Promise((resolve, reject) => {
    c.query({ sql, values, ...extra }, (err: QueryError | null, rows: unknown) => (err ? reject(err) : resolve(rows as T[])));
  });
}

/** A connection to the source as configured (TLS as its ssl-mode says). */
export async function connectMysql(conn: MysqlConnection): Promise<Connection> {
  const ssl = await sslOptions(conn);
  const base: ConnectionOptions = {
    host: conn.host,
    port: conn.port,
    user: conn.username,
    password: conn.password,
    database: conn.database,
    connectTimeout: conn.connectTimeoutMs,
    charset: 'UTF8MB4_UNICODE_CI',
    // Rows are read unconverted (typeCast: false); these keep information_schema numbers exact too.
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: true,
    decimalNumbers: false,
    multipleStatements: false,
  };
  if (!ssl) return connectOnce(base);
  try {
    return await connectOnce({ ...base, ssl }, conn.sslMode === 'verify_identity' ? conn.host : undefined);
  } catch (e) {
    if (conn.sslMode === 'preferred' && (e as { code?: string }).code === 'HANDSHAKE_NO_SSL_SUPPORT') return connectOnce(base);
    throw e;
  }
}
