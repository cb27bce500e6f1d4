/**
 * Throwaway PostgreSQL 15 clusters for the connection tests: initdb into a temp dir as the
 * `postgres` OS user, a random free port, password (scram) auth over TCP, a Unix socket in the
 * data dir for setup. Certificates are made with the openssl CLI: a CA and a server
 * certificate for 127.0.0.1/localhost, plus an unrelated CA for the "wrong CA" cases.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export const BIN = '/usr/lib/postgresql/15/bin';

export interface Cluster {
  readonly dir: string;
  readonly port: number;
  sql(text: string): Promise<void>;
  /** Stops the server at once (pg_ctl -m immediate), keeping its data; stop() still removes it. */
  halt(): void;
  stop(): void;
}

export interface Certs {
  readonly dir: string;
  readonly ca: string;
  readonly otherCa: string;
  readonly serverCert: string;
  readonly serverKey: string;
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** A TCP server that accepts connections and never says a word: what a blackholed path looks like. */
export async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<import('node:net').Socket>();
  const srv: Server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return {
    port: (srv.address() as { port: number }).port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        srv.close(() => r());
      }),
  };
}

export function asPostgres(cmd: string, args: string[]): string {
  return execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
}

export function makeCerts(): Certs {
  const dir = mkdtempSync(join(tmpdir(), 'nilus-certs-'));
  const ca = (name: string): void => {
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${name}`], dir);
  };
  ca('ca');
  ca('other-ca');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost'], dir);
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'san.ext'], dir);
  return { dir, ca: join(dir, 'ca.crt'), otherCa: join(dir, 'other-ca.crt'), serverCert: join(dir, 'server.crt'), serverKey: join(dir, 'server.key') };
}

export interface ClusterOptions {
  /** Serve TLS with these certificates. */
  readonly certs?: Certs;
  /** pg_hba.conf lines for TCP (a `local all postgres trust` line is always first). */
  readonly hba: readonly string[];
  /** More postgresql.conf settings. */
  readonly conf?: readonly string[];
}

export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), 'nilus-pg-'));
  chownSync(dir, Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })), Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })));
  const data = join(dir, 'data');
  asPostgres(`${BIN}/initdb`, ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync']);
  const port = await freePort();
  const conf = [
    `port = ${port}`,
    // 127.0.0.2 lets a test reach the server by an address its certificate does not name.
    `listen_addresses = '127.0.0.1,127.0.0.2'`,
    `unix_socket_directories = '${dir}'`,
    `password_encryption = 'scram-sha-256'`,
    'fsync = off',
    ...(opts.conf ?? []),
  ];
  if (opts.certs) {
    const own = (src: string, name: string): string => {
      const dst = join(data, name);
      execFileSync('cp', [src, dst]);
      execFileSync('chown', ['postgres:postgres', dst]);
      chmodSync(dst, 0o600);
      return dst;
    };
    conf.push('ssl = on', `ssl_cert_file = '${own(opts.certs.serverCert, 'server.crt')}'`, `ssl_key_file = '${own(opts.certs.serverKey, 'server.key')}'`);
  }
  writeFileSync(join(data, 'postgresql.auto.conf'), conf.join('\n') + '\n');
  writeFileSync(join(data, 'pg_hba.conf'), ['local all postgres trust', ...opts.hba].join('\n') + '\n');
  asPostgres(`${BIN}/pg_ctl`, ['-D', data, '-l', join(dir, 'log'), '-w', 'start']);
  return running(dir, port);
}

/** The handle of a server running from `dir`/data on `port` (its socket in `dir`). */
export function running(dir: string, port: number): Cluster {
  const data = join(dir, 'data');
  let up = true;
  const halt = (): void => {
    if (!up) return;
    up = false;
    asPostgres(`${BIN}/pg_ctl`, ['-D', data, '-m', 'immediate', '-w', 'stop']);
  };
  return {
    dir,
    port,
    halt,
    async sql(text) {
      const c = new pg.Client({ host: dir, port, user: 'postgres', database: 'postgres' });
      await c.connect();
      try {
        await c.query(text);
      } finally {
        await c.end();
      }
    },
    stop() {
      try {
        halt();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** What libpq itself does: 'tls', 'plain', or the error text psql printed. */
export function psqlOutcome(conninfo: string, password: string): string {
  try {
    const out = execFileSync('psql', [conninfo, '-Atc', 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()'], {
      encoding: 'utf8',
      env: { ...process.env, PGPASSWORD: password, PGCONNECT_TIMEOUT: '5' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return out.trim() === 't' ? 'tls' : 'plain';
  } catch (e) {
    return `error: ${String((e as { stderr?: string }).stderr ?? e)}`;
  }
}
