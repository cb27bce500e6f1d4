/**
 * Batch runs (MySQL/MariaDB table → PostgreSQL): `nilus-pg run <manifest> --connections <file>` as
 * a child process, as users run it, timed from spawn to exit 0 — and the limit, COPY of the same
 * rows into PostgreSQL without nilus-pg. Every target is checked against the source's digest.
 *
 *  batch-copy-limit      COPY … FROM STDIN of the dumped rows into an empty table (the shape
 *                        `replace` creates: no key), BEGIN … COMMIT timed; again into a table
 *                        with the primary key (the shape `merge` creates), shown beside it
 *  batch-replace         incremental_strategy replace into a fresh schema (the table is created)
 *  batch-merge           incremental_strategy merge into a fresh schema (every row an insert)
 *  batch-merge-existing  merge once more into the full target of batch-merge: every row an
 *                        upsert of an existing key (fills the target first, untimed, when
 *                        batch-merge did not run or failed); every row unchanged
 *  batch-merge-changed   the same into the target batch-merge-existing left, after every source
 *                        row changed in one column (UPDATE in MariaDB, untimed; undone after)
 */
import { spawn } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import {
  compareBatchDigest, createSourceTable, dropSourceTable, dumpCopyText, mysqlAddress, PG_COLUMNS, shiftQuantity, sourceDigest, targetDigest,
  type BatchDigest, type SourceFacts,
} from '../batch';
import { since, snapshot, statFields, CLOCK_TICKS } from '../machine-cpu';
import { rate, sleep, type RunResult } from '../result';
import { quoteIdent, TARGET_URL, withPg } from '../stack';
import { freePort, memorySampler, procStats, type MemorySample } from '../worker';
import { freshSchema, memoryExtra } from './nilus';

export type BatchRunName = 'batch-replace' | 'batch-merge' | 'batch-merge-existing' | 'batch-merge-changed';
export const isBatchRun = (name: string): boolean => name.startsWith('batch-');

const TABLE = 'orders';

/** The source table, its dump and digest: made once per bench before the first batch run, dropped at the end. */
export class BatchSource {
  private facts?: SourceFacts;
  private digest?: BatchDigest;
  private dir?: string;
  /** Schema of a full merge target, kept for the next merge run (batch-merge-existing, batch-merge-changed). */
  mergedSchema?: string;

  constructor(
    /** MySQL table name (in the stack's database nilus_source). */
    readonly table: string,
    readonly rows: number,
  ) {}

  async prepare(log: (s: string) => void): Promise<Record<string, number | string>> {
    log(`generating ${this.rows} rows in MySQL table ${mysqlAddress().database}.${this.table}`);
    this.facts = await createSourceTable(this.table, this.rows);
    this.digest = await sourceDigest(this.table);
    if (this.digest.rows !== String(this.rows)) throw new Error(`batch source: ${this.digest.rows} rows generated, expected ${this.rows}`);
    this.dir = mkdtempSync(join(tmpdir(), 'nilus-bench-batch-'));
    const t0 = Date.now();
    const d = await dumpCopyText(this.table, this.copyFile);
    const dumpSeconds = (Date.now() - t0) / 1000;
    if (d.rows !== this.rows) throw new Error(`batch source: ${d.rows} rows dumped, expected ${this.rows}`);
    log(`batch source ready: generated in ${this.facts.generateSeconds.toFixed(1)} s, dumped (COPY text, ${(d.bytes / 2 ** 20).toFixed(0)} MiB) in ${dumpSeconds.toFixed(1)} s (not timed)`);
    return {
      'batch source': `${this.facts.table} on MariaDB ${this.facts.server.replace(/-.*/, '')}`,
      'batch rows': this.rows,
      'batch InnoDB MiB': Math.round(this.facts.storedBytes / 2 ** 20),
      'batch COPY text MiB': Math.round(d.bytes / 2 ** 20),
      'batch bytes/row (COPY text)': Math.round(d.bytes / this.rows),
      'batch generate seconds': Math.round(this.facts.generateSeconds * 10) / 10,
    };
  }

  get copyFile(): string {
    if (!this.dir) throw new Error('batch source not prepared');
    return join(this.dir, 'rows.copy');
  }

  /** Every row changed in one column (quantity + by; -by undoes it), and the digest taken again. */
  async shift(by: number): Promise<void> {
    await shiftQuantity(this.table, by);
    this.digest = await sourceDigest(this.table);
  }

  get expected(): BatchDigest {
    if (!this.digest) throw new Error('batch source not prepared');
    return this.digest;
  }

  async cleanup(): Promise<void> {
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    // A full merge target no later run merged into.
    const kept = this.mergedSchema;
    this.mergedSchema = undefined;
    if (kept) await withPg(TARGET_URL, (c) => c.query(`DROP SCHEMA IF EXISTS ${quoteIdent(kept)} CASCADE`));
    await dropSourceTable(this.table);
  }
}

/** The connections file entry users write for a MySQL source (docs/manifest.md). */
function connectionsText(): string {
  const a = mysqlAddress();
  return JSON.stringify({
    connections: {
      // The stack's MariaDB has no TLS (have_ssl DISABLED): say so instead of the default `preferred`'s retry.
      'mysql-source': { type: 'mysql', host: a.host, port: a.port, database: a.database, username: a.user, password: a.password, 'ssl-mode': 'disabled' },
    },
  }, null, 2);
}

function manifestText(name: string, sourceTable: string, dest: string, strategy: 'replace' | 'merge', httpPort: number, options?: Record<string, unknown>): string {
  return JSON.stringify({
    name,
    version: 'v1alpha',
    type: 'nilus',
    spec: {
      type: 'batch',
      compute: 'bench',
      source: { address: 'dataos://mysql-source', options: { source_table: sourceTable } },
      sink: { address: TARGET_URL, options: { dest_table: dest, incremental_strategy: strategy, http_port: httpPort, log_level: 'warn', ...options } },
    },
  }, null, 2);
}

/** CPU seconds of this process's reaped children (cutime + cstime): the worker's once it exited. */
function reapedChildrenCpu(): number {
  const f = statFields(process.pid) ?? [];
  return (Number(f[13]) + Number(f[14])) / CLOCK_TICKS;
}

function mysqlTicks(): number {
  const pidFile = resolve(__dirname, '../../.stack/mariadb/mariadbd.pid');
  if (!existsSync(pidFile)) return NaN;
  const f = statFields(readFileSync(pidFile, 'utf8').trim());
  return f ? Number(f[11]) + Number(f[12]) : NaN;
}

/** --memory-budget / --sink-option / --worker-node-args: as for every nilus-pg worker run. */
export interface Tuning {
  options?: Record<string, unknown>;
  nodeArgs?: string[];
}

interface WorkerRun {
  seconds: number;
  peakRssMiB: number;
  cpuSeconds: number;
  memory?: MemorySample;
  extra: Record<string, number>;
}

const live = new Set<import('node:child_process').ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/**
 * `node bin/nilus-pg.js run <manifest> --connections <file>` until it exits by itself; 0 or a throw.
 * Peak RSS: VmHWM of /proc/<pid>/status read every 100 ms (a high-water mark, so only a peak in
 * the last 100 ms before exit could be missed). CPU: the worker's utime + stime, exact, from this
 * process's reaped-children counters once it exited.
 */
async function runBatchWorker(name: string, sourceTable: string, dest: string, strategy: 'replace' | 'merge', tuning: Tuning = {}, timeoutMs = 3_600_000): Promise<WorkerRun> {
  const dir = mkdtempSync(join(tmpdir(), 'nilus-bench-'));
  const manifest = join(dir, 'manifest.yaml');
  const connections = join(dir, 'connections.yaml');
  const port = await freePort();
  writeFileSync(manifest, manifestText(name, sourceTable, dest, strategy, port, tuning.options));
  writeFileSync(connections, connectionsText());
  const bin = resolve(__dirname, '../../bin/nilus-pg.js');
  const cpu0 = snapshot();
  const my0 = mysqlTicks();
  const reaped0 = reapedChildrenCpu();
  const t0 = process.hrtime.bigint();
  const child = spawn(process.execPath, [...(tuning.nodeArgs ?? []), bin, 'run', manifest, '--connections', connections], { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
  live.add(child);
  let out = '';
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<number | null>((r) => {
    child.on('exit', (code) => r(code));
    child.on('error', (err) => {
      out += `spawn failed: ${err.message}`;
      r(null);
    });
  });
  const sampler = memorySampler(port);
  let peakRssMiB = NaN;
  let polledCpu = 0;
  const poll = setInterval(() => {
    try {
      const s = procStats(child.pid!);
      if (Number.isFinite(s.peakRssMiB)) peakRssMiB = Number.isFinite(peakRssMiB) ? Math.max(peakRssMiB, s.peakRssMiB) : s.peakRssMiB;
      if (Number.isFinite(s.cpuSeconds)) polledCpu = s.cpuSeconds;
    } catch {
      // exited between two polls
    }
  }, 100);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  try {
    const code = await exited;
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    live.delete(child);
    // The exit event comes after the reap: the counters hold the worker's CPU now.
    const cpuSeconds = reapedChildrenCpu() - reaped0;
    const cpu = since(cpu0);
    const my1 = mysqlTicks();
    const memory = sampler.stop();
    // One line (it lands in a markdown table cell): the end of the output, where the error is.
    if (code !== 0) throw new Error(`nilus-pg run exited ${code} after ${seconds.toFixed(1)} s; the end of its output: ${out.slice(-1500).replace(/\s+/g, ' ').replace(/\|/g, '\\|').slice(-400)}`);
    const extra: Record<string, number> = { machineBusyPct: cpu.machineBusyPct, pgCpuSeconds: cpu.pgCpuSeconds };
    if (Number.isFinite(my0) && Number.isFinite(my1)) extra.mysqlCpuSeconds = Math.round(((my1 - my0) / CLOCK_TICKS) * 10) / 10;
    return { seconds, peakRssMiB, cpuSeconds: Math.max(cpuSeconds, polledCpu), ...(memory ? { memory } : {}), extra };
  } finally {
    clearInterval(poll);
    clearTimeout(timer);
    sampler.stop();
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    live.delete(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Without the figures a batch worker does not have (bufferedMiB: the CDC buffer's). */
const finite = (o: Record<string, number>): Record<string, number> => Object.fromEntries(Object.entries(o).filter(([, v]) => Number.isFinite(v)));

async function checkTarget(c: Client, src: BatchSource, schema: string): Promise<{ ok: boolean; detail: string }> {
  return compareBatchDigest(src.expected, await targetDigest(c, schema, TABLE));
}

export interface BatchRunOptions extends Tuning {
  name: BatchRunName;
  schema: string;
  source: BatchSource;
}

/** batch-replace / batch-merge / batch-merge-existing. */
export async function batchWorkerRun(o: BatchRunOptions): Promise<RunResult> {
  const strategy = o.name === 'batch-replace' ? 'replace' : 'merge';
  const src = o.source;
  const sourceTable = `${mysqlAddress().database}.${src.table}`;
  return withPg(TARGET_URL, async (c) => {
    const notes: string[] = [];
    let schema = o.schema;
    const intoFull = o.name === 'batch-merge-existing' || o.name === 'batch-merge-changed';
    if (intoFull) {
      if (src.mergedSchema) {
        schema = src.mergedSchema;
        src.mergedSchema = undefined;
        notes.push(`into the target the previous merge run left (${src.rows} rows): every row an upsert of an existing key`);
      } else {
        await freshSchema(c, schema);
        const t = Date.now();
        await runBatchWorker(schema, sourceTable, `${schema}.${TABLE}`, 'merge', o);
        const first = await checkTarget(c, src, schema);
        if (!first.ok) throw new Error(`the untimed first merge (filling the target) is wrong: ${first.detail}`);
        notes.push(`target filled first by an untimed merge (${((Date.now() - t) / 1000).toFixed(1)} s): every row an upsert of an existing key`);
      }
      await c.query(`VACUUM ANALYZE ${quoteIdent(schema)}.${quoteIdent(TABLE)}`);
      await c.query('CHECKPOINT');
    } else {
      await freshSchema(c, schema);
    }
    const changed = o.name === 'batch-merge-changed';
    if (changed) {
      const t = Date.now();
      await src.shift(1);
      notes.push(`every source row changed first (quantity + 1, UPDATE in MariaDB, ${((Date.now() - t) / 1000).toFixed(1)} s, not timed; undone after)`);
    }
    let r: Awaited<ReturnType<typeof runBatchWorker>>;
    let v: { ok: boolean; detail: string };
    try {
      r = await runBatchWorker(schema, sourceTable, `${schema}.${TABLE}`, strategy, o);
      v = await checkTarget(c, src, schema);
    } finally {
      if (changed) await src.shift(-1);
    }
    // The next merge run merges into this full target.
    if ((o.name === 'batch-merge' || o.name === 'batch-merge-existing') && v.ok) src.mergedSchema = schema;
    else await c.query(`DROP SCHEMA ${quoteIdent(schema)} CASCADE`);
    return {
      name: o.name, ok: v.ok, check: v.detail, events: src.rows, seconds: r.seconds, eventsPerSec: rate(src.rows, r.seconds),
      peakRssMiB: r.peakRssMiB, cpuSeconds: r.cpuSeconds, extra: { ...r.extra, ...finite(memoryExtra(r.memory)) }, notes,
    };
  });
}

/** COPY of the dumped file into `schema.table`, BEGIN … COMMIT; seconds. */
async function timedCopy(c: Client, schema: string, table: string, file: string): Promise<number> {
  const t0 = process.hrtime.bigint();
  await c.query('BEGIN');
  try {
    await pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), c.query(copyFrom(`COPY ${quoteIdent(schema)}.${quoteIdent(table)} FROM STDIN`)));
    await c.query('COMMIT');
  } catch (e) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/**
 * The limit: the same rows (dumped from MySQL once, not timed) COPY'd into PostgreSQL through
 * pg-copy-streams, BEGIN … COMMIT, into an empty table of the shape `replace` creates (no key).
 * Then once more into an empty table with the primary key (the shape `merge` creates): pkRowsPerSec.
 */
export async function batchCopyLimitRun(schema: string, src: BatchSource): Promise<RunResult> {
  return withPg(TARGET_URL, async (c) => {
    await freshSchema(c, schema);
    const s = quoteIdent(schema);
    await c.query(`CREATE TABLE ${s}.${quoteIdent(TABLE)} ${PG_COLUMNS}`);
    await c.query(`CREATE TABLE ${s}.orders_pk ${PG_COLUMNS.replace('id bigint,', 'id bigint PRIMARY KEY,')}`);
    const cpu0 = snapshot();
    const seconds = await timedCopy(c, schema, TABLE, src.copyFile);
    const cpu = since(cpu0);
    const v = await checkTarget(c, src, schema);
    await c.query('CHECKPOINT');
    await sleep(1000);
    const pkSeconds = await timedCopy(c, schema, 'orders_pk', src.copyFile);
    const pk = compareBatchDigest(src.expected, await targetDigest(c, schema, 'orders_pk'));
    await c.query(`DROP SCHEMA ${s} CASCADE`);
    const ok = v.ok && pk.ok;
    return {
      name: 'batch-copy-limit', ok, check: ok ? v.detail : [v.ok ? '' : `no key: ${v.detail}`, pk.ok ? '' : `with key: ${pk.detail}`].filter(Boolean).join('; '),
      events: src.rows, seconds, eventsPerSec: rate(src.rows, seconds),
      extra: { pkRowsPerSec: rate(src.rows, pkSeconds), pkSeconds: Math.round(pkSeconds * 100) / 100, machineBusyPct: cpu.machineBusyPct, pgCpuSeconds: cpu.pgCpuSeconds },
      notes: ['COPY … FROM STDIN (pg-copy-streams) of the rows dumped from MySQL once in COPY text format (not timed), BEGIN … COMMIT timed, into an empty table of the shape replace creates (no key); pkRowsPerSec: the same into an empty table with a primary key (the shape merge creates)'],
    };
  });
}
