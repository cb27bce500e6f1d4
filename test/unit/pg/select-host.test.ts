/**
 * libpq's host selection rules: the pure verdicts (session-attrs.ts) and the order selectHost tries
 * hosts in, with servers described by their facts (the real servers are in
 * test/it/pg/multi-host.it.ts).
 */
import { FatalError, RetriableError } from '../../../src/kernel/errors';
import type { PgConnection, TargetSessionAttrs } from '../../../src/config/types';
import { needs, passes, refusal } from '../../../src/pg/session-attrs';
import { needsSelection, selectHost } from '../../../src/pg/select-host';

describe('target_session_attrs verdicts', () => {
  const primary = { transactionReadOnly: false, inRecovery: false };
  const standby = { transactionReadOnly: true, inRecovery: true };
  const readOnlyPrimary = { transactionReadOnly: true, inRecovery: false };

  it('read-write and read-only follow SHOW transaction_read_only', () => {
    expect(refusal('read-write', primary)).toBeUndefined();
    expect(refusal('read-write', standby)).toMatch(/read-only/);
    expect(refusal('read-write', readOnlyPrimary)).toMatch(/read-only/);
    expect(refusal('read-only', readOnlyPrimary)).toBeUndefined();
    expect(refusal('read-only', primary)).toMatch(/not read-only/);
  });

  it('primary and standby follow pg_is_in_recovery(), not default_transaction_read_only', () => {
    expect(refusal('primary', readOnlyPrimary)).toBeUndefined();
    expect(refusal('primary', standby)).toMatch(/hot standby/);
    expect(refusal('standby', standby)).toBeUndefined();
    expect(refusal('standby', primary)).toMatch(/not in hot standby/);
  });

  it('any accepts every server and asks nothing', () => {
    expect(refusal('any', {})).toBeUndefined();
    expect(needs('any')).toEqual({ readOnly: false, recovery: false });
    expect(needs('read-write')).toEqual({ readOnly: true, recovery: false });
    expect(needs('standby')).toEqual({ readOnly: false, recovery: true });
  });

  it('prefer-standby is a standby pass, then an any pass', () => {
    expect(passes('prefer-standby')).toEqual(['standby', 'any']);
    expect(passes(undefined)).toEqual(['any']);
    expect(passes('primary')).toEqual(['primary']);
  });
});

type Server = { down: true } | { fatal: true } | { readOnly: boolean; recovery: boolean };

/** Servers by host name; connectOne fails or hands out a client answering libpq's two questions. */
function world(servers: Record<string, Server>) {
  const tried: string[] = [];
  const ended: string[] = [];
  const connectOne = async (one: PgConnection) => {
    tried.push(one.host);
    const s = servers[one.host]!;
    if ('down' in s) throw new RetriableError(`connection to server at "${one.host}", port ${one.port} failed: Connection refused`);
    if ('fatal' in s) throw new FatalError(`connection to server at "${one.host}", port ${one.port} failed: password authentication failed`);
    const client = {
      async query(sql: string) {
        if (/transaction_read_only/.test(sql)) return { rows: [{ transaction_read_only: s.readOnly ? 'on' : 'off' }] };
        if (/pg_is_in_recovery/.test(sql)) return { rows: [{ in_recovery: s.recovery }] };
        throw new Error(`unexpected ${sql}`);
      },
      async end() {
        ended.push(one.host);
      },
    };
    return { client: client as never as { query: never; end(): Promise<void> }, name: one.host };
  };
  return { tried, ended, connectOne };
}

function conn(hosts: string[], attrs?: TargetSessionAttrs): PgConnection {
  return {
    host: hosts[0]!,
    port: 5432,
    hosts: hosts.map((host) => ({ host, port: 5432 })),
    database: 'd',
    username: 'u',
    password: '',
    connectTimeoutMs: 1000,
    ...(attrs ? { targetSessionAttrs: attrs } : {}),
  };
}

const P: Server = { readOnly: false, recovery: false };
const S: Server = { readOnly: true, recovery: true };

describe('selectHost', () => {
  it('tries hosts in order and takes the first acceptable one, ending the refused', async () => {
    const w = world({ a: { down: true }, b: S, c: P, d: P });
    const got = await selectHost(conn(['a', 'b', 'c', 'd'], 'read-write'), w.connectOne);
    expect(got.name).toBe('c');
    expect(got.host).toEqual({ host: 'c', port: 5432 });
    expect(w.tried).toEqual(['a', 'b', 'c']);
    expect(w.ended).toEqual(['b']);
  });

  it('any takes the first reachable host', async () => {
    const w = world({ a: { down: true }, b: S, c: P });
    expect((await selectHost(conn(['a', 'b', 'c']), w.connectOne)).name).toBe('b');
  });

  it('prefer-standby takes a standby anywhere in the list, else the first reachable in a second pass', async () => {
    const w1 = world({ a: P, b: S });
    expect((await selectHost(conn(['a', 'b'], 'prefer-standby'), w1.connectOne)).name).toBe('b');
    const w2 = world({ a: { down: true }, b: P, c: P });
    const got = await selectHost(conn(['a', 'b', 'c'], 'prefer-standby'), w2.connectOne);
    expect(got.name).toBe('b');
    expect(got.pass).toBe('any');
    expect(w2.tried).toEqual(['a', 'b', 'c', 'a', 'b']);
  });

  it('no acceptable host: a retriable error naming each host tried and why', async () => {
    const w = world({ a: { down: true }, b: S });
    const err = await selectHost(conn(['a', 'b'], 'read-write'), w.connectOne).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetriableError);
    expect((err as Error).message).toMatch(/^none of the 2 servers accepted the connection \(target_session_attrs=read-write\): /);
    expect((err as Error).message).toContain('connection to server at "a", port 5432 failed: Connection refused');
    expect((err as Error).message).toContain('server at "b", port 5432 is not acceptable: session is read-only (SHOW transaction_read_only = on)');
  });

  it('an error the server itself answered (authentication) stops the search, as in libpq', async () => {
    const w = world({ a: { fatal: true }, b: P });
    await expect(selectHost(conn(['a', 'b']), w.connectOne)).rejects.toThrow(/password authentication failed/);
    expect(w.tried).toEqual(['a']);
  });

  it('selection is needed for several hosts or a target_session_attrs other than any', () => {
    const one: PgConnection = { host: 'a', port: 1, database: 'd', username: 'u', password: '', connectTimeoutMs: 1 };
    expect(needsSelection(one)).toBe(false);
    expect(needsSelection({ ...one, targetSessionAttrs: 'any' })).toBe(false);
    expect(needsSelection({ ...one, targetSessionAttrs: 'primary' })).toBe(true);
    expect(needsSelection(conn(['a', 'b']))).toBe(true);
  });
});
