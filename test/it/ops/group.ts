/**
 * Shared by the consumer-group operations tests (stall, failover, offsets, start-up outage):
 * what Kafka and PostgreSQL each say about a group's offsets, liveness checks on worker
 * processes that fail with the worker's own output, and a TCP proxy that can be started late
 * (a dependency that is unreachable when the worker starts and appears afterwards).
 */
import { writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { testKafka } from '../../helpers/kafka';
import { sleep, until } from './support';
import type { RunningWorker } from './worker';

/** partition → offset, as decimal strings compared as numbers. */
export type OffsetsByPartition = Record<number, number>;

/** The group's committed offsets in Kafka for one topic (-1 where none is committed). */
export async function kafkaCommitted(groupId: string, topic: string): Promise<OffsetsByPartition> {
  const admin = testKafka('nilus-test-offsets').admin();
  await admin.connect();
  try {
    const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const out: OffsetsByPartition = {};
    for (const p of t?.partitions ?? []) out[p.partition] = Number(p.offset);
    return out;
  } finally {
    await admin.disconnect();
  }
}

/** Per-partition high watermarks (the next offset a produce gets). */
export async function highWatermarks(topic: string): Promise<OffsetsByPartition> {
  const admin = testKafka('nilus-test-offsets').admin();
  await admin.connect();
  try {
    const out: OffsetsByPartition = {};
    for (const p of await admin.fetchTopicOffsets(topic)) out[p.partition] = Number(p.high);
    return out;
  } finally {
    await admin.disconnect();
  }
}

/** The members Kafka's coordinator lists for the group right now, and the group state. */
export async function groupMembers(groupId: string): Promise<{ state: string; members: string[] }> {
  const admin = testKafka('nilus-test-offsets').admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([groupId]);
    const g = groups[0];
    return { state: g?.state ?? 'Unknown', members: (g?.members ?? []).map((m) => `${m.clientId}/${m.memberId}`) };
  } finally {
    await admin.disconnect();
  }
}

/** nilus_offsets' next_offset per partition for one group and topic. */
export async function storedOffsets(pool: Pool, schema: string, groupId: string, topic: string): Promise<OffsetsByPartition> {
  const r = await pool.query<{ partition: number; next: string }>(
    `SELECT partition, next_offset::text AS next FROM "${schema}".nilus_offsets WHERE group_id = $1 AND topic = $2 ORDER BY partition`,
    [groupId, topic],
  );
  const out: OffsetsByPartition = {};
  for (const row of r.rows) out[row.partition] = Number(row.next);
  return out;
}

/** Sum of nilus_offsets' next_offset for a group (0 while the table or row does not exist). */
export async function storedTotal(pool: Pool, schema: string, groupId: string): Promise<number> {
  try {
    const r = await pool.query<{ n: string }>(`SELECT coalesce(sum(next_offset), 0)::bigint AS n FROM "${schema}".nilus_offsets WHERE group_id = $1`, [groupId]);
    return Number(r.rows[0]?.n ?? 0);
  } catch (err) {
    if (/does not exist/.test(String(err))) return 0;
    throw err;
  }
}

/** The exit code if the worker has exited by now, else undefined. */
export async function exitedWith(w: RunningWorker): Promise<number | undefined> {
  return Promise.race([w.code, sleep(20).then(() => undefined)]);
}

/** Fails, with the tail of the worker's output, when it is no longer running. */
export async function expectRunning(w: RunningWorker, label: string, when: string): Promise<void> {
  const code = await exitedWith(w);
  if (code !== undefined) {
    throw new Error(`${label} exited with code ${code} ${when}; it must keep running. Its output (tail):\n${w.output().slice(-4000)}`);
  }
}

/**
 * Runs `body`; on failure the whole output of every worker goes to a file and the error message
 * carries each worker's tail, so a red test says what the workers did.
 */
export async function withWorkerOutput<T>(name: string, workers: () => RunningWorker[], body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    const ws = workers();
    const file = join(tmpdir(), `${name}-workers.log`);
    writeFileSync(file, ws.map((w, i) => `--- worker ${i + 1} ---\n${w.output()}`).join('\n'));
    const tails = ws.map((w, i) => `--- worker ${i + 1} (tail) ---\n${w.output().slice(-2500)}`).join('\n');
    const e = err as Error;
    e.message = `${e.message}\n(full worker output: ${file})\n${tails}`;
    throw e;
  }
}

/** SIGTERMs every worker still running, one after the other; returns their exit codes. */
export async function stopAll(workers: RunningWorker[]): Promise<number[]> {
  const codes: number[] = [];
  for (const w of workers) {
    if ((await exitedWith(w)) === undefined) w.child.kill('SIGTERM');
    const code = await Promise.race([w.code, sleep(60_000).then(() => undefined)]);
    if (code === undefined) {
      w.child.kill('SIGKILL');
      codes.push(await w.code);
    } else codes.push(code);
  }
  return codes;
}

/**
 * A TCP proxy on 127.0.0.1:`port` forwarding every connection to `target`. Not listening until
 * start(); stop() closes the listener and every open connection.
 */
export class TcpProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  connections = 0;

  constructor(readonly port: number, private readonly target: { host: string; port: number }) {}

  async start(): Promise<void> {
    const server = createServer((client) => {
      this.connections++;
      const upstream = connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
      }
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/**
 * Polls `probe` like until(), but fails at once, with the worker's output, when one of `workers`
 * exits meanwhile (a worker that stops on start-up is a failure to report, not to wait out).
 */
export function untilWhileRunning<T>(workers: RunningWorker[], what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000, everyMs = 200): Promise<T> {
  return until(what, probe, timeoutMs, everyMs, async () => {
    for (const [i, w] of workers.entries()) await expectRunning(w, `worker ${i + 1}`, `while waiting for ${what}`);
  });
}

/** The worker's HTTP port (its "serving …" log line), failing at once if the worker exits first. */
export function portOf(w: RunningWorker, timeoutMs = 30_000): Promise<number> {
  return untilWhileRunning([w], 'the worker to log its HTTP port', async () => {
    const m = /"port":(\d+),"msg":"serving/.exec(w.output());
    return m ? Number(m[1]) : undefined;
  }, timeoutMs, 100);
}
