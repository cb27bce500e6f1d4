/**
 * sslmode and the troubleshooting rows against real PostgreSQL 15 clusters, with libpq (psql)
 * as the referee for what each sslmode must do.
 */
import type { PgConnection, SslMode } from '../../../src/config/types';
import { connectPg, createPool } from '../../../src/pg/pool';
import { makeCerts, psqlOutcome, silentServer, startCluster, freePort, type Certs, type Cluster } from './clusters';

const ALICE_PW = 'Al1ce-S3cret-pw';
const BOB_PW = 'B0b-S3cret-pw';
const messages: string[] = [];

let certs: Certs;
let tlsCluster: Cluster;
let plainCluster: Cluster;

beforeAll(async () => {
  certs = makeCerts();
  // alice may connect with or without TLS; bob only over TLS (hostssl), like a managed PG enforcing TLS.
  tlsCluster = await startCluster({
    certs,
    hba: ['hostssl all bob 127.0.0.0/8 scram-sha-256', 'host all alice 127.0.0.0/8 scram-sha-256'],
  });
  plainCluster = await startCluster({ hba: ['host all alice 127.0.0.0/8 scram-sha-256'] });
  for (const c of [tlsCluster, plainCluster]) {
    await c.sql(`CREATE USER alice PASSWORD '${ALICE_PW}'; CREATE USER bob PASSWORD '${BOB_PW}'`);
  }
  await tlsCluster.sql('CREATE DATABASE locked');
  await tlsCluster.sql('REVOKE CONNECT ON DATABASE locked FROM PUBLIC');
}, 120_000);

afterAll(() => {
  tlsCluster?.stop();
  plainCluster?.stop();
});

function conn(cluster: Cluster, user: 'alice' | 'bob', sslmode: SslMode | undefined, extra: Partial<PgConnection> = {}): PgConnection {
  return {
    host: '127.0.0.1',
    port: cluster.port,
    database: 'postgres',
    username: user,
    password: user === 'alice' ? ALICE_PW : BOB_PW,
    sslmode,
    connectTimeoutMs: 5000,
    ...extra,
  };
}

async function ours(c: PgConnection): Promise<string> {
  try {
    const client = await connectPg(c);
    const r = await client.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
    await client.end();
    return r.rows[0].ssl ? 'tls' : 'plain';
  } catch (e) {
    messages.push((e as Error).message);
    return `error: ${(e as Error).message}`;
  }
}

function libpq(c: PgConnection): string {
  const info = [`host=${c.host}`, `port=${c.port}`, `dbname=${c.database}`, `user=${c.username}`, `sslmode=${c.sslmode ?? 'prefer'}`];
  if (c.sslrootcert) info.push(`sslrootcert=${c.sslrootcert}`);
  return psqlOutcome(info.join(' '), c.password);
}

const kind = (o: string): string => (o.startsWith('error') ? 'error' : o);

type Case = [string, () => PgConnection, 'tls' | 'plain' | 'error'];
const cases: Case[] = [
  ['TLS server, disable → plain', () => conn(tlsCluster, 'alice', 'disable'), 'plain'],
  ['TLS server, allow → plain first', () => conn(tlsCluster, 'alice', 'allow'), 'plain'],
  ['TLS server, prefer → TLS', () => conn(tlsCluster, 'alice', 'prefer'), 'tls'],
  ['TLS server, unset sslmode = prefer → TLS', () => conn(tlsCluster, 'alice', undefined), 'tls'],
  ['TLS server, require → TLS without checks', () => conn(tlsCluster, 'alice', 'require'), 'tls'],
  ['TLS server, require + wrong sslrootcert → checked like verify-ca, fails', () => conn(tlsCluster, 'alice', 'require', { sslrootcert: certs.otherCa }), 'error'],
  ['TLS server, verify-ca with the CA → TLS', () => conn(tlsCluster, 'alice', 'verify-ca', { sslrootcert: certs.ca }), 'tls'],
  ['TLS server, verify-ca with another CA → fails', () => conn(tlsCluster, 'alice', 'verify-ca', { sslrootcert: certs.otherCa }), 'error'],
  ['TLS server, verify-ca by an address the cert does not name → TLS', () => conn(tlsCluster, 'alice', 'verify-ca', { sslrootcert: certs.ca, host: '127.0.0.2' }), 'tls'],
  ['TLS server, verify-full with the CA → TLS', () => conn(tlsCluster, 'alice', 'verify-full', { sslrootcert: certs.ca }), 'tls'],
  ['TLS server, verify-full by an address the cert does not name → fails', () => conn(tlsCluster, 'alice', 'verify-full', { sslrootcert: certs.ca, host: '127.0.0.2' }), 'error'],
  ['hostssl-only user, disable → refused', () => conn(tlsCluster, 'bob', 'disable'), 'error'],
  ['hostssl-only user, allow → plain refused, then TLS', () => conn(tlsCluster, 'bob', 'allow'), 'tls'],
  ['hostssl-only user, prefer → TLS', () => conn(tlsCluster, 'bob', 'prefer'), 'tls'],
  ['server without TLS, disable → plain', () => conn(plainCluster, 'alice', 'disable'), 'plain'],
  ['server without TLS, allow → plain', () => conn(plainCluster, 'alice', 'allow'), 'plain'],
  ['server without TLS, prefer → falls back to plain', () => conn(plainCluster, 'alice', 'prefer'), 'plain'],
  ['server without TLS, require → fails', () => conn(plainCluster, 'alice', 'require'), 'error'],
  ['server without TLS, verify-full → fails', () => conn(plainCluster, 'alice', 'verify-full', { sslrootcert: certs.ca }), 'error'],
];

describe('sslmode behaves as libpq', () => {
  it.each(cases)('%s', async (_name, make, expected) => {
    const c = make();
    const mine = await ours(c);
    expect(kind(libpq(c))).toBe(expected); // the referee agrees with the expectation…
    expect(kind(mine)).toBe(expected); // …and so do we
  });
});

describe('troubleshooting rows', () => {
  it('wrong password', async () => {
    const out = await ours({ ...conn(tlsCluster, 'alice', 'prefer'), password: 'not-the-Password-9' });
    expect(out).toMatch(/password authentication failed for user "alice": re-check the credentials and confirm the user still exists with the same password/);
    expect(out).not.toContain('not-the-Password-9');
  });

  it('timeout: a server that accepts and never answers', async () => {
    const silent = await silentServer();
    try {
      const started = Date.now();
      const out = await ours({ ...conn(tlsCluster, 'alice', 'prefer'), port: silent.port, connectTimeoutMs: 700 });
      expect(Date.now() - started).toBeLessThan(5000);
      expect(out).toBe(`error: connection to server at "127.0.0.1", port ${silent.port} failed: timeout expired — verify the runtime egress IP is allowlisted on the database side and the host/port are reachable`);
    } finally {
      await silent.close();
    }
  });

  it('unreachable port', async () => {
    const port = await freePort();
    const out = await ours({ ...conn(tlsCluster, 'alice', 'disable'), port });
    expect(out).toMatch(new RegExp(`connection to server at "127.0.0.1", port ${port} failed: Connection refused .*host/port are reachable`));
  });

  it('server requires TLS, client disabled it', async () => {
    const out = await ours(conn(tlsCluster, 'bob', 'disable'));
    expect(out).toMatch(/no pg_hba\.conf entry for host "127\.0\.0\.1", user "bob", database "postgres".*SSL off.*set sslmode=require \(or verify-full with a CA bundle\) in the URI/);
  });

  it('client requires TLS, server has none', async () => {
    const out = await ours(conn(plainCluster, 'alice', 'require'));
    expect(out).toMatch(/The server does not support SSL connections, but sslmode=require requires TLS .*set sslmode=require \(or verify-full with a CA bundle\) in the URI/);
  });

  it('certificate not signed by sslrootcert', async () => {
    const out = await ours(conn(tlsCluster, 'alice', 'verify-full', { sslrootcert: certs.otherCa }));
    expect(out).toMatch(/TLS certificate check failed .* point sslrootcert at the CA bundle/);
  });

  it('missing database', async () => {
    expect(await ours(conn(tlsCluster, 'alice', 'prefer', { database: 'nope' }))).toMatch(/database "nope" does not exist — check the database name/);
  });

  it('CONNECT privilege missing', async () => {
    expect(await ours(conn(tlsCluster, 'alice', 'prefer', { database: 'locked' }))).toMatch(/permission denied for database "locked".*GRANT CONNECT ON DATABASE "locked" TO "alice"/);
  });

  it('never shows a password in any message', () => {
    expect(messages.length).toBeGreaterThan(8);
    for (const m of messages) {
      expect(m).not.toContain(ALICE_PW);
      expect(m).not.toContain(BOB_PW);
    }
  });
});

describe('createPool', () => {
  it('decides the mode once and uses it for every connection', async () => {
    const viaTls = await createPool(conn(tlsCluster, 'bob', 'allow'), 2);
    const plain = await createPool(conn(plainCluster, 'alice', 'prefer'), 2);
    try {
      const q = 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()';
      const a = await Promise.all([viaTls.query(q), viaTls.query(q)]);
      expect(a.map((r) => r.rows[0].ssl)).toEqual([true, true]);
      expect((await plain.query(q)).rows[0].ssl).toBe(false);
    } finally {
      await viaTls.end();
      await plain.end();
    }
  });

  it('fails with the explained error when the probe fails', async () => {
    await expect(createPool({ ...conn(tlsCluster, 'alice', 'prefer'), password: 'nope-nope-1' })).rejects.toThrow(/password authentication failed for user "alice"/);
  });
});
