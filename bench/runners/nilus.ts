import { DEFAULTS } from '../../src/config/defaults';
/**
 * nilus-pg runs: merge (with schemas / schemaless), append, and merge into a pre-filled target.
 * Each run gets a fresh schema in the target database, starts the worker from offset 0 and times
 * spawn → every record's offset stored in nilus_offsets (written in the same transaction as the
 * rows, so "stored" means "applied").
 */
import type { Client } from 'pg';
import { compareDigest, expectedDigest, tableDigest, type Flavour, type TableDigest } from '../check';
import { rate, sleep, type RunResult } from '../result';
import { quoteIdent, TARGET_URL, withPg } from '../stack';
import { flushStats, freePort, memorySampler, procStats, startWorker, type MemorySample, type ProcStats, type WorkerManifest } from '../worker';
import type { Workload } from '../workload';
import { since, snapshot, type CpuSplit } from '../machine-cpu';

export interface Topics {
  /** topic.prefix of the schema+payload topic and of the schemaless one. */
  typedPrefix: string;
  rawPrefix: string;
}

export async function freshSchema(c: Client, name: string): Promise<void> {
  await c.query(`DROP SCHEMA IF EXISTS ${quoteIdent(name)} CASCADE`);
  await c.query(`CREATE SCHEMA ${quoteIdent(name)}`);
}

async function storedOffsets(c: Client, schema: string): Promise<number> {
  try {
    const r = await c.query<{ n: string }>(`SELECT coalesce(sum(next_offset), 0)::bigint AS n FROM ${quoteIdent(schema)}.nilus_offsets`);
    return Number(r.rows[0]!.n);
  } catch (err) {
    if (/does not exist/.test(String(err))) return 0; // created by the worker at start-up
    throw err;
  }
}

interface Timed {
  seconds: number;
  /** From the first stored offset to the last: start-up and the first flush excluded. */
  steadySeconds: number;
  firstStored: number;
  stats: ProcStats;
  cpu: CpuSplit;
  /** Flushes committed and their mean size in events, read at the end (empty when unreadable). */
  flushes: { flushes?: number; eventsPerFlush?: number; rowsWritten?: number };
  /** The worker's /metrics at its highest sampled RSS (every 500 ms). */
  memory?: MemorySample;
}

/** The memory sample as run details: what made up the RSS when it was highest. */
export function memoryExtra(m: MemorySample | undefined): Record<string, number> {
  if (!m) return {};
  const r = (x: number) => Math.round(x);
  return { sampledRssMiB: r(m.rssMiB), heapTotalMiB: r(m.heapTotalMiB), heapUsedMiB: r(m.heapUsedMiB), externalMiB: r(m.externalMiB), bufferedMiB: r(m.bufferedMiB) };
}

/** Starts the worker and waits until `records` offsets are stored; stops it after reading /proc. */
export async function runWorkerUntil(c: Client, m: WorkerManifest, schema: string, records: number, nodeArgs: string[] = [], timeoutMs = 3_600_000): Promise<Timed> {
  const port = await freePort();
  const t0 = process.hrtime.bigint();
  const cpu0 = snapshot();
  const w = startWorker({ ...m, httpPort: port }, nodeArgs);
  const sampler = memorySampler(port);
  const elapsed = () => Number(process.hrtime.bigint() - t0) / 1e9;
  let firstAt = 0;
  let firstStored = 0;
  try {
    for (;;) {
      if (w.child.exitCode !== null) throw new Error(`worker exited ${w.child.exitCode} early; its output:\n${w.output().slice(-3000)}`);
      const n = await storedOffsets(c, schema);
      if (n > 0 && firstAt === 0) {
        firstAt = elapsed();
        firstStored = n;
      }
      if (n >= records) break;
      if (elapsed() * 1000 > timeoutMs) throw new Error(`only ${n} of ${records} offsets stored after ${timeoutMs} ms`);
      await sleep(100);
    }
    const seconds = elapsed();
    const cpu = since(cpu0);
    const stats = procStats(w.child.pid!);
    const memory = sampler.stop();
    const flushes = await flushStats(port);
    const code = await w.stop();
    if (code !== 0) throw new Error(`worker exited ${code} on SIGTERM; its output:\n${w.output().slice(-3000)}`);
    return { seconds, steadySeconds: seconds - firstAt, firstStored, stats, cpu, flushes: flushes ?? {}, ...(memory ? { memory } : {}) };
  } finally {
    sampler.stop();
    await w.stop(5000);
  }
}

export interface MergeOptions {
  name: string;
  schema: string;
  prefix: string;
  flavour: Flavour;
  workload: Workload;
  /** Rows to pre-fill (ids above the workload's), 0 = empty target. */
  prefill?: number;
  nodeArgs?: string[];
  /** Sink options beyond the defaults (e.g. memory_budget_bytes from --memory-budget). */
  options?: Record<string, unknown>;
  /** Another source table than public.orders, with its own digests (merge-wide). */
  table?: { name: string; expected: () => TableDigest; actual: (c: Client) => Promise<TableDigest> };
}

/** memoryBudgetMiB in a run's details: the budget the worker ran with. */
export function budgetExtra(options: Record<string, unknown> | undefined): Record<string, number> {
  const b = options?.memory_budget_bytes;
  return { memoryBudgetMiB: (typeof b === 'number' ? b : DEFAULTS.buffer.memoryBudgetBytes) / 2 ** 20 };
}

export async function mergeRun(o: MergeOptions): Promise<RunResult> {
  return withPg(TARGET_URL, async (c) => {
    await freshSchema(c, o.schema);
    const notes: string[] = [];
    const extra: Record<string, string | number> = {};
    if (o.prefill) {
      const t = Date.now();
      await prefillOrders(c, o.schema, o.workload.maxId + 1, o.prefill);
      extra.prefillRows = o.prefill;
      notes.push(`pre-filled ${o.prefill} rows in ${((Date.now() - t) / 1000).toFixed(1)} s (not timed)`);
    }
    const table = o.table?.name ?? 'orders';
    const m: WorkerManifest = {
      name: o.schema, prefix: o.prefix, dest: `${o.schema}.${table}`, strategy: 'merge', include: `public.${table}`,
      ...(o.options ? { options: o.options } : {}),
    };
    Object.assign(extra, budgetExtra(o.options));
    const t = await runWorkerUntil(c, m, o.schema, o.workload.records, o.nodeArgs);
    const events = o.workload.events;
    let verdict = o.table
      ? compareDigest(o.table.expected(), await o.table.actual(c))
      : compareDigest(expectedDigest(o.workload, o.flavour), await tableDigest(c, o.schema, 'orders', o.flavour, o.workload.maxId));
    if (o.prefill) {
      const n = Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${quoteIdent(o.schema)}.orders WHERE id > $1`, [o.workload.maxId])).rows[0]!.n);
      if (n !== o.prefill) verdict = { ok: false, detail: `${verdict.detail}; pre-filled rows: ${n}, expected ${o.prefill}` };
    }
    // Only meaningful when more than one flush happened after start-up.
    if (t.firstStored < o.workload.records && t.steadySeconds > 0) {
      extra.steadyEventsPerSec = rate(Math.round(events * (1 - t.firstStored / o.workload.records)), t.steadySeconds);
    }
    Object.assign(extra, t.flushes, t.cpu, memoryExtra(t.memory));
    await c.query(`DROP SCHEMA ${quoteIdent(o.schema)} CASCADE`);
    return {
      name: o.name, ok: verdict.ok, check: verdict.detail, events, seconds: t.seconds, eventsPerSec: rate(events, t.seconds),
      peakRssMiB: t.stats.peakRssMiB, cpuSeconds: t.stats.cpuSeconds, extra, notes,
    };
  });
}

/**
 * The table nilus-pg itself creates for the orders schema (same column types), filled with
 * generate_series rows whose ids are disjoint from the workload's, primary key added after.
 */
export async function prefillOrders(c: Client, schema: string, firstId: number, rows: number): Promise<void> {
  const t = `${quoteIdent(schema)}.orders`;
  await c.query(`CREATE TABLE ${t} (id bigint NOT NULL, customer_id integer, status text, amount numeric(12,2), note text,
                   created_at timestamp without time zone, updated_at timestamp with time zone)`);
  await c.query(
    `INSERT INTO ${t} SELECT g, g % 50000, (ARRAY['new','paid','shipped','cancelled'])[1 + g % 4], (g % 100000) / 100.0,
            'prefill ' || g, timestamp '2024-01-01' + g * interval '1 second', timestamptz '2024-02-29 12:00:00Z'
       FROM generate_series($1::bigint, $2::bigint) g`,
    [firstId, firstId + rows - 1],
  );
  await c.query(`ALTER TABLE ${t} ADD PRIMARY KEY (id)`);
  await c.query(`VACUUM ANALYZE ${t}`);
}

export async function appendRun(name: string, schema: string, prefix: string, w: Workload, options?: Record<string, unknown>, nodeArgs?: string[]): Promise<RunResult> {
  return withPg(TARGET_URL, async (c) => {
    await freshSchema(c, schema);
    const m: WorkerManifest = { name: schema, prefix, dest: `${schema}.orders_history`, strategy: 'append', ...(options ? { options } : {}) };
    const t = await runWorkerUntil(c, m, schema, w.records, nodeArgs);
    const r = (await c.query<{ n: string; pos: string; c: string; u: string; d: string }>(
      `SELECT count(*) AS n, count(DISTINCT (_nilus_partition, _nilus_offset)) AS pos,
              count(*) FILTER (WHERE _nilus_op = 'c') AS c, count(*) FILTER (WHERE _nilus_op = 'u') AS u,
              count(*) FILTER (WHERE _nilus_op = 'd') AS d
         FROM ${quoteIdent(schema)}.orders_history`,
    )).rows[0]!;
    const got = { n: Number(r.n), pos: Number(r.pos), c: Number(r.c), u: Number(r.u), d: Number(r.d) };
    const ok = got.n === w.events && got.pos === got.n && got.c === w.counts.c && got.u === w.counts.u && got.d === w.counts.d;
    const check = `${got.n} rows (expected ${w.events}), ${got.pos} distinct Kafka positions, c/u/d ${got.c}/${got.u}/${got.d} (expected ${w.counts.c}/${w.counts.u}/${w.counts.d})`;
    await c.query(`DROP SCHEMA ${quoteIdent(schema)} CASCADE`);
    return {
      name, ok, check, events: w.events, seconds: t.seconds, eventsPerSec: rate(w.events, t.seconds), peakRssMiB: t.stats.peakRssMiB,
      cpuSeconds: t.stats.cpuSeconds, extra: { ...budgetExtra(options), ...t.flushes, ...t.cpu, ...memoryExtra(t.memory) },
    };
  });
}
