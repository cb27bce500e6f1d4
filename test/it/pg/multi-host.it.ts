/**
 * Multi-host addresses and target_session_attrs against real PostgreSQL 15 servers, with libpq
 * (psql, given the same connection string) as the referee for which server each value selects:
 * a primary, its streaming hot standby, a primary whose transactions are read-only by default,
 * and a port where nothing listens. Then a pool following a promotion: the primary stops, the
 * standby is promoted, and the pool's next connection lands on it.
 */
import { execFileSync } from 'node:child_process';
import type { ConfigProblem } from '../../../src/kernel/errors';
import type { PgConnection } from '../../../src/config/types';
import { parsePgKeywords } from '../../../src/config/pg-address';
import { connectPg, createPool } from '../../../src/pg/pool';
import { freePort, silentServer, startCluster, type Cluster } from './clusters';
import { REPLICATION_HBA, startStandby, type Standby } from './standby';

const HBA = [REPLICATION_HBA, 'host all all 127.0.0.1/32 trust'];

let primary: Cluster;
let standby: Standby;
let readOnlyPrimary: Cluster;
let nothing: number;
/** Accepts TCP and never answers: a host that only connect_timeout gives up on. */
let silent: Awaited<ReturnType<typeof silentServer>>;

beforeAll(async () => {
  primary = await startCluster({ hba: HBA });
  standby = await startStandby(primary);
  readOnlyPrimary = await startCluster({ hba: HBA, conf: ['default_transaction_read_only = on'] });
  nothing = await freePort();
  silent = await silentServer();
}, 120_000);

afterAll(async () => {
  await silent?.close();
  for (const c of [standby, primary, readOnlyPrimary]) {
    try {
      c?.stop();
    } catch {
      // already stopped by the test; its directory is removed all the same
    }
  }
});

function conninfo(ports: number[], attrs: string): string {
  return `host=${ports.map(() => '127.0.0.1').join(',')} port=${ports.join(',')} dbname=postgres user=postgres sslmode=disable connect_timeout=2 target_session_attrs=${attrs}`;
}

function parsed(text: string): PgConnection {
  const problems: ConfigProblem[] = [];
  const c = parsePgKeywords(text, 'spec.sink.address', {}, problems);
  expect(problems).toEqual([]);
  return c!;
}

/** The port of the server libpq connects to, or 'error'. */
function libpqChoice(text: string): number | 'error' {
  try {
    return Number(execFileSync('psql', [text, '-Atc', 'SELECT inet_server_port()'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim());
  } catch {
    return 'error';
  }
}

/** The port of the server nilus-pg connects to, or 'error' with its message. */
async function ourChoice(text: string): Promise<{ port: number | 'error'; message?: string }> {
  try {
    const c = await connectPg(parsed(text));
    try {
      return { port: Number((await c.query<{ p: number }>('SELECT inet_server_port() AS p')).rows[0]!.p) };
    } finally {
      await c.end();
    }
  } catch (e) {
    return { port: 'error', message: (e as Error).message };
  }
}

describe('target_session_attrs selects the server libpq selects', () => {
  const cases: [string, () => number[], string, () => number | 'error'][] = [
    ['any: the first reachable', () => [nothing, standby.port, primary.port], 'any', () => standby.port],
    ['read-write: the primary after a dead port and a standby', () => [nothing, standby.port, primary.port], 'read-write', () => primary.port],
    ['read-write: not a primary read-only by default', () => [readOnlyPrimary.port, primary.port], 'read-write', () => primary.port],
    ['read-only: a primary read-only by default qualifies', () => [primary.port, readOnlyPrimary.port, standby.port], 'read-only', () => readOnlyPrimary.port],
    ['primary: a primary read-only by default is still a primary', () => [standby.port, readOnlyPrimary.port, primary.port], 'primary', () => readOnlyPrimary.port],
    ['standby: the standby after two primaries', () => [primary.port, readOnlyPrimary.port, standby.port], 'standby', () => standby.port],
    ['prefer-standby: the standby though listed last', () => [primary.port, standby.port], 'prefer-standby', () => standby.port],
    ['prefer-standby: no standby, the first reachable', () => [nothing, readOnlyPrimary.port, primary.port], 'prefer-standby', () => readOnlyPrimary.port],
    ['a host that never answers is given up after connect_timeout (2 s), the next one tried', () => [silent.port, primary.port], 'read-write', () => primary.port],
    ['standby: none listed is one', () => [nothing, primary.port], 'standby', () => 'error'],
    ['read-write: only a dead port and a standby', () => [nothing, standby.port], 'read-write', () => 'error'],
  ];
  it.each(cases)('%s', async (_name, ports, attrs, expected) => {
    const text = conninfo(ports(), attrs);
    const ours = await ourChoice(text);
    expect({ ours: ours.port, libpq: libpqChoice(text) }).toEqual({ ours: expected(), libpq: expected() });
  });

  it('no acceptable host: the error names each host tried and why it was refused', async () => {
    const got = await ourChoice(conninfo([nothing, standby.port], 'read-write'));
    expect(got.message).toMatch(/^none of the 2 servers accepted the connection \(target_session_attrs=read-write\): /);
    expect(got.message).toContain(`connection to server at "127.0.0.1", port ${nothing} failed: Connection refused`);
    expect(got.message).toContain(`server at "127.0.0.1", port ${standby.port} is not acceptable: session is read-only (SHOW transaction_read_only = on)`);
  });

  it('a single port applies to every host (URL form carries one per host)', async () => {
    // 127.0.0.2 and 127.0.0.1 both reach the primary (it listens on both): one port for two hosts.
    const text = `host=127.0.0.2,127.0.0.1 port=${primary.port} dbname=postgres user=postgres sslmode=disable target_session_attrs=read-write`;
    expect((await ourChoice(text)).port).toBe(primary.port);
  });
});

describe('a pool follows a promoted standby', () => {
  it('a pool\'s clients reach a host listed after one that never answers', async () => {
    const pool = await createPool(parsed(conninfo([silent.port, primary.port], 'read-write')), 2, { statementTimeoutMs: 5_000, lockTimeoutMs: 1_000 });
    try {
      // Two clients at once: both search past the silent host, each within its own connect_timeout.
      const ports = await Promise.all([0, 1].map(async () => {
        const c = await pool.connect();
        try {
          return (await c.query<{ p: number }>('SELECT inet_server_port() AS p')).rows[0]!.p;
        } finally {
          c.release();
        }
      }));
      expect(ports).toEqual([primary.port, primary.port]);
    } finally {
      await pool.end();
    }
  });

  it('after the primary stops and the standby is promoted, new connections land on the new primary', async () => {
    const pool = await createPool(parsed(conninfo([primary.port, standby.port], 'read-write')), 2, { statementTimeoutMs: 5_000, lockTimeoutMs: 1_000 });
    try {
      expect((await pool.query<{ p: number }>('SELECT inet_server_port() AS p')).rows[0]!.p).toBe(primary.port);
      primary.halt();
      // Until the promotion neither server is acceptable, and the error says why for each.
      const during = await pool.query('SELECT 1').catch((e: Error) => e.message);
      expect(during).toMatch(new RegExp(`Connection terminated|port ${standby.port} is not acceptable`));
      const next = await pool.query('SELECT 1').catch((e: Error) => e.message);
      expect(next).toContain(`port ${standby.port} is not acceptable: session is read-only`);
      standby.promote();
      expect((await pool.query<{ p: number }>('SELECT inet_server_port() AS p')).rows[0]!.p).toBe(standby.port);
    } finally {
      await pool.end();
    }
  });
});
