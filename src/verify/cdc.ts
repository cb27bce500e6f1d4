/**
 * `nilus-pg verify` for a CDC pipeline whose source is managed (its address names the source
 * database): every table the connector captures is compared with its target table, as a batch
 * table is (./run.ts, ./compare.ts), in the 'debezium' canonical form (docs/types.md).
 *
 * While CDC is live a row can differ only because its change is still on its way. So when a
 * first compare finds differences, verify settles them: it reads the end offsets of the
 * pipeline's topics (high watermarks), waits until the pipeline's stored offsets
 * (nilus_offsets) have reached them, and compares again only the buckets that differed; it
 * repeats that (new end offsets each round: a change committed at the source shortly before
 * reaches Kafka only after the connector's own delay) until nothing differs or the settle time
 * runs out. What still differs then is reported, with the lag if it did not drain.
 */
import type { Pool } from '../pg/pool';
import { ConfigError } from '../kernel/errors';
import type { OffsetMark, TableRef } from '../kernel/types';
import type { PipelineConfig } from '../config/types';
import { compileList, resolveDestTable, tableSelected } from '../config/names';
import { createPool } from '../pg/pool';
import { offsetsTable, readOffsets } from '../sink/offsets';
import { createKafka } from '../kafka/client';
import { matchingTopics } from '../kafka/topics';
import { PgDigestSource } from './pg-digest';
import { MysqlDigestSource } from './mysql-digest';
import type { DigestReader, DigestSource } from './digest';
import { COMPARE_DEFAULTS, type CompareOptions, type Verdict } from './compare';
import { describeVerdict, KAFKA_SOURCE_NOT_VERIFIABLE, name, verifyTable, withReaders, type TableCheck, type TableJob, type TableReport, type VerifyOptions } from './table';

export const DEFAULT_SETTLE_TIMEOUT_MS = 120_000;
/** How long the same differences, with no new message in the topics, are waited on before they are reported. */
export const DEFAULT_SETTLE_QUIET_MS = 10_000;

/**
 * The tables the connector captures: the source database's tables selected by the connector's
 * own lists (schema/database and table include/exclude, anchored regexes as Debezium reads them),
 * then by the pipeline's consumer lists (spec.source.cdc, which decide which topics land).
 */
export function capturedTables(
  tables: readonly TableRef[],
  connector: Readonly<Record<string, string>>,
  consumer: { readonly include: readonly RegExp[]; readonly exclude: readonly RegExp[] },
): TableRef[] {
  const list = (k: string) => compileList(connector[k]).regexes;
  const schemaIn = [...list('schema.include.list'), ...list('database.include.list')];
  const schemaOut = [...list('schema.exclude.list'), ...list('database.exclude.list')];
  const tableSel = { include: list('table.include.list'), exclude: list('table.exclude.list') };
  return tables.filter((t) => {
    if (schemaIn.length > 0 && !schemaIn.some((r) => r.test(t.schema))) return false;
    if (schemaOut.some((r) => r.test(t.schema))) return false;
    return tableSelected(tableSel, t) && tableSelected(consumer, t);
  });
}

/** A partition's end offset (high watermark) and log start (low watermark), as Kafka reports them. */
export interface PartitionEnd {
  readonly topic: string;
  readonly partition: number;
  readonly high: string;
  readonly low: string;
}

export interface Lag {
  readonly topic: string;
  readonly partition: number;
  /** Messages between the stored offset and the end offset noted. */
  readonly behind: bigint;
}

/**
 * The partitions whose stored next offset has not reached the end offset noted: the messages
 * the pipeline has still to apply of those it had been sent when the ends were read. A partition
 * without a stored offset counts from its log start.
 */
export function lagBehind(ends: readonly PartitionEnd[], stored: readonly OffsetMark[]): Lag[] {
  const at = new Map(stored.map((m) => [`${m.partition}:${m.topic}`, BigInt(m.next)]));
  const out: Lag[] = [];
  for (const e of ends) {
    const high = BigInt(e.high);
    const low = BigInt(e.low);
    const from = at.get(`${e.partition}:${e.topic}`) ?? low;
    const behind = high - (from > low ? from : low);
    if (behind > 0n) out.push({ topic: e.topic, partition: e.partition, behind });
  }
  return out;
}

export function describeLag(lag: readonly Lag[]): string {
  const total = lag.reduce((n, l) => n + l.behind, 0n);
  const worst = [...lag].sort((a, b) => (b.behind > a.behind ? 1 : b.behind < a.behind ? -1 : 0)).slice(0, 3);
  return `${total} message(s) behind (${worst.map((l) => `${l.topic}[${l.partition}] ${l.behind}`).join(', ')}${lag.length > worst.length ? ', …' : ''})`;
}

/**
 * A re-check's verdict (over the buckets `before` found differing) merged into the whole table's:
 * its differences replace the earlier ones, row totals are corrected by those buckets' rows.
 */
export function mergeRecheck(before: Verdict, recheck: Verdict): Verdict {
  return {
    ...recheck,
    sourceRows: before.sourceRows - before.differingRows.source + recheck.sourceRows,
    targetRows: before.targetRows - before.differingRows.target + recheck.targetRows,
    chunks: before.chunks + recheck.chunks,
    bisected: before.bisected + recheck.bisected,
    fetched: before.fetched + recheck.fetched,
  };
}

function sourceDigest(cfg: PipelineConfig): DigestSource {
  const m = cfg.cdc?.managed;
  if (!m) throw new ConfigError([{ path: 'spec.source.address', message: KAFKA_SOURCE_NOT_VERIFIABLE }]);
  // MySQL/MariaDB: the batch MySQL digest, tinyint(1) as boolean as the managed connector's converter sends it
  return m.kind === 'mysql' ? new MysqlDigestSource(m.db, { tinyint1AsBoolean: true }) : new PgDigestSource(m.db);
}

interface Pending {
  readonly job: TableJob;
  check: TableCheck;
  /** Still differing after the last compare. */
  open: boolean;
  rechecks: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Compares a table's differing buckets again (the whole table when it had no verdict: a target missing). */
async function recheck(p: Pending, s: DigestReader, t: DigestReader, o: CompareOptions, round: number): Promise<void> {
  const v = p.check.report.verdict;
  const again = await verifyTable(s, t, p.job, o, v ? v.differingBuckets : undefined);
  const merged = v && again.report.verdict ? mergeRecheck(v, again.report.verdict) : again.report.verdict;
  const losses = p.check.knownLosses.length > 0 || !v ? p.check.knownLosses : again.knownLosses;
  const head = `${name(p.job.srcTable)} → ${name(p.job.dstTable)}`;
  const line = merged ? describeVerdict(head, merged, again.absent, losses) : again.report.line;
  p.check = { ...again, knownLosses: losses, report: { ...again.report, ...(merged ? { verdict: merged } : {}), knownLosses: losses, line } };
  p.open = !p.check.report.ok;
  p.rechecks = round;
}

export async function verifyCdcPipeline(cfg: PipelineConfig, opts: VerifyOptions = {}): Promise<TableReport[]> {
  const now = opts.now ?? Date.now;
  const started = now();
  const cdc = cfg.cdc!;
  const source = sourceDigest(cfg);
  const m = cdc.managed!; // sourceDigest refused a pipeline without one
  const target = new PgDigestSource(cfg.sink.pg);
  const o: CompareOptions = { ...COMPARE_DEFAULTS, ...opts.compare };
  const settleMs = opts.settleTimeoutMs ?? DEFAULT_SETTLE_TIMEOUT_MS;
  const canon = m.kind === 'mysql' ? 'mysql' : 'debezium';
  const modes = { intervalString: m.connectorConfig['interval.handling.mode'] === 'string', binaryMode: cdc.binaryHandlingMode };
  const jobOf = (t: TableRef): TableJob => ({
    srcTable: t, dstTable: resolveDestTable(cfg.sink.options.destTable, t), canon, cdc: modes,
    ...(cfg.sink.options.primaryKey ? { primaryKey: cfg.sink.options.primaryKey } : {}),
    display: source.display, sourcePath: 'spec.source.cdc.collection.include.list',
    ...(cfg.sink.options.columns ? { columns: cfg.sink.options.columns } : {}),
  });

  const pending: Pending[] = [];
  const refused: TableReport[] = [];
  await withReaders(source, target, async (s, t) => {
    const tables = capturedTables(await s.tables(), m.connectorConfig, cdc);
    if (tables.length === 0) {
      throw new ConfigError([{
        path: 'spec.source.cdc.collection.include.list',
        message: `no table of ${source.display} is captured by this pipeline (table.include.list ${JSON.stringify(m.connectorConfig['table.include.list'] ?? '')}): name the tables as <schema>.<table> regexes`,
      }]);
    }
    for (const table of tables) {
      const job = jobOf(table);
      try {
        const check = await verifyTable(s, t, job, o);
        pending.push({ job, check, open: !check.report.ok, rechecks: 0 });
      } catch (e) {
        // one table that cannot be compared (no key) does not stop the others
        if (!(e instanceof ConfigError)) throw e;
        refused.push({ source: name(table), target: name(job.dstTable), ok: false, line: `${name(table)} → ${name(job.dstTable)}: NOT VERIFIED: ${e.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}` });
      }
    }
  });

  const notes: string[] = [];
  if (cfg.sink.options.strategy === 'append') {
    notes.push('incremental_strategy is append: the target holds one row per change event, so extra rows (keys held more than once) are expected; verify compares merge targets with their source');
  }
  const firstDiffering = pending.filter((p) => p.open).length;
  if (firstDiffering > 0 && settleMs > 0) {
    // counted from when the differences were found: a large table's first compare may take longer
    const found = now();
    const deadline = found + settleMs;
    const quietMs = opts.settleQuietMs ?? DEFAULT_SETTLE_QUIET_MS;
    const lag = new LagWatch(cfg);
    let drainedNote: string | undefined;
    try {
      let round = 0;
      let before: string | undefined;
      while (pending.some((p) => p.open)) {
        round++;
        let ends: PartitionEnd[];
        let waited: { left: Lag[] };
        try {
          ends = await lag.ends();
          waited = await lag.waitDrained(ends, deadline, opts.pollMs ?? 250, now);
        } catch (e) {
          // without the lag there is no telling what is in flight: report the differences as found
          notes.push(`could not read the pipeline's lag (${(e as Error).message}): the differences below were not re-checked and may be in flight; check spec.source.options.kafka / the kafka connection's brokers, or run verify again`);
          break;
        }
        if (waited.left.length > 0) {
          drainedNote = `the pipeline's lag did not drain within --settle-timeout ${settleMs / 1000} s: ${describeLag(waited.left)}; what still differs may be in flight`;
        }
        await withReaders(source, target, async (s, t) => {
          for (const p of pending.filter((x) => x.open)) await recheck(p, s, t, o, round);
        });
        if (!pending.some((p) => p.open) || waited.left.length > 0 || now() >= deadline) break;
        // Nothing new reached the topics and the same rows still differ: once the connector has
        // had its grace to send what the source committed, they are not in flight
        const state = JSON.stringify([ends, pending.map((p) => {
          const v = p.check.report.verdict;
          return v ? [v.missing, v.extra, v.differing, v.sourceRows, v.targetRows] : p.check.report.line;
        })]);
        if (state === before && now() - found >= quietMs) break;
        before = state;
        await sleep(Math.min(1000, Math.max(0, deadline - now())));
      }
    } finally {
      await lag.close();
    }
    const open = pending.filter((p) => p.open).length;
    const rounds = Math.max(...pending.map((p) => p.rechecks));
    if (rounds > 0) notes.push(`${firstDiffering} table(s) differed at first; their differing buckets were compared again ${rounds} time(s), each after waiting for the pipeline's stored offsets to reach the topics' end offsets` +
      (firstDiffering - open > 0 ? `; ${firstDiffering - open} table(s) then equal (the differences were changes in flight)` : '') +
      (open > 0 ? `; ${open} table(s) still differing after ${((now() - found) / 1000).toFixed(1)} s` : ''));
    if (drainedNote) notes.push(drainedNote);
  }
  const seconds = ((now() - started) / 1000).toFixed(2);
  const reports = [...pending.map((p) => ({ ...p.check.report, line: `${p.check.report.line}${p.rechecks > 0 ? ` [re-checked ${p.rechecks}×]` : ''}` })), ...refused];
  return [...reports.map((r) => ({ ...r, line: `${r.line}; ${seconds} s` })), ...notes.map((n) => ({ source: '', target: '', ok: true, line: `note: ${n}` }))];
}

/** The pipeline's topics' end offsets (Kafka) and its stored offsets (the target's nilus_offsets). */
class LagWatch {
  private pool?: Pool;
  private readonly kafka;
  constructor(private readonly cfg: PipelineConfig) {
    this.kafka = createKafka(cfg.cdc!.kafka, { connectionTimeoutMs: 5000, retries: 2 });
  }

  async ends(): Promise<PartitionEnd[]> {
    const cdc = this.cfg.cdc!;
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const topics = matchingTopics(await admin.listTopics(), { prefix: cdc.topicPrefix, include: cdc.include, exclude: cdc.exclude });
      const out: PartitionEnd[] = [];
      for (const topic of topics) {
        for (const p of await admin.fetchTopicOffsets(topic)) out.push({ topic, partition: p.partition, high: p.high, low: p.low });
      }
      return out;
    } finally {
      await admin.disconnect();
    }
  }

  async stored(topics: readonly string[]): Promise<OffsetMark[]> {
    this.pool ??= await createPool(this.cfg.sink.pg, 1);
    try {
      return await readOffsets(this.pool, offsetsTable(this.cfg.sink.options), this.cfg.cdc!.groupId, topics);
    } catch (e) {
      // no offsets table yet: the pipeline has stored nothing
      if ((e as { code?: string }).code === '42P01') return [];
      throw e;
    }
  }

  /** Polls the stored offsets until they reach `ends`, or the deadline; returns what is left. */
  async waitDrained(ends: readonly PartitionEnd[], deadline: number, pollMs: number, now: () => number): Promise<{ left: Lag[] }> {
    const topics = [...new Set(ends.map((e) => e.topic))];
    for (;;) {
      const left = lagBehind(ends, await this.stored(topics));
      if (left.length === 0 || now() >= deadline) return { left };
      await sleep(Math.min(pollMs, Math.max(0, deadline - now())));
    }
  }

  async close(): Promise<void> {
    await this.pool?.end().catch(() => undefined);
  }
}
