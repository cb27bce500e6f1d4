/**
 * One source table against its target table, each side read in one snapshot of its own database
 * and compared by ./compare.ts: what `nilus-pg verify` does per table, for batch (./run.ts) and
 * CDC (./cdc.ts) pipelines alike.
 */
import { ConfigError } from '../kernel/errors';
import type { PipelineConfig } from '../config/types';
import type { TableRef } from '../kernel/types';
import { ColumnPolicy, keyRefusal, type ColumnRules } from '../kernel/column-policy';
import type { CdcCanon, CdcColumnType, CompareMode, DigestPlan, DigestReader, DigestSource, KnownLoss } from './digest';
import { PgDigestSource } from './pg-digest';
import { DELETED_AT } from '../sink/metadata';
import { MysqlDigestSource } from './mysql-digest';
import { compareTables, type ComparePlans, type CompareOptions, type Verdict } from './compare';

/** A CDC pipeline reading a Kafka the user's own connector writes: there is no source database to read. */
export const KAFKA_SOURCE_NOT_VERIFIABLE =
  'verify compares the source database with the target, and this CDC pipeline\'s address is a Kafka (its connector is run by you, so nilus-pg does not know the database): ' +
  'to verify it, make the source managed — set spec.source.address to the source database (dataos://NAME of a postgresql connection with kafka, or postgresql://… with spec.source.options.kafka); see docs/manifest.md, "Managed sources"';

export interface TableReport {
  readonly source: string;
  readonly target: string;
  readonly ok: boolean;
  readonly line: string;
  readonly verdict?: Verdict;
  /** CDC only: source values Debezium cannot carry exactly (reported, not counted as differences). */
  readonly knownLosses?: readonly KnownLoss[];
}

export interface VerifyOptions {
  compare?: Partial<CompareOptions>;
  now?: () => number;
  /** CDC: how long differences may take to settle (lag drained, re-checked), ms. */
  settleTimeoutMs?: number;
  /** CDC: the same differences with no new message in the topics for this long are reported, ms. */
  settleQuietMs?: number;
  /** CDC: polling interval while waiting for the lag to drain, ms. */
  pollMs?: number;
}

export const name = (t: TableRef): string => `${t.schema}.${t.table}`;

export function digestSources(cfg: PipelineConfig): { source: DigestSource; target: DigestSource } {
  const b = cfg.batch;
  if (cfg.mode !== 'batch' || !b) throw new ConfigError([{ path: 'spec.source.address', message: KAFKA_SOURCE_NOT_VERIFIABLE }]);
  const source = b.db.kind === 'postgresql' ? new PgDigestSource(b.db.pg) : new MysqlDigestSource(b.db.mysql, { tinyint1AsBoolean: b.tinyint1AsBoolean });
  return { source, target: new PgDigestSource(cfg.sink.pg) };
}

/** Opens both sides, runs `f`, closes both (whatever happens). */
export async function withReaders<T>(source: DigestSource, target: DigestSource, f: (s: DigestReader, t: DigestReader) => Promise<T>): Promise<T> {
  const [s, t] = await Promise.allSettled([source.open(), target.open()]);
  const readers = [s, t].flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  try {
    if (s.status === 'rejected') throw s.reason;
    if (t.status === 'rejected') throw t.reason;
    return await f(s.value, t.value);
  } finally {
    await Promise.all(readers.map((r: DigestReader) => r.close().catch(() => undefined)));
  }
}

/** One table to compare. */
export interface TableJob {
  readonly srcTable: TableRef;
  readonly dstTable: TableRef;
  /** Declared primary_key (else the source table's). */
  readonly primaryKey?: readonly string[];
  readonly canon: DigestPlan['canon'];
  /** canon 'debezium': the connector's modes. */
  readonly cdc?: Pick<CdcCanon, 'intervalString' | 'binaryMode'>;
  /** The source, for messages. */
  readonly display: string;
  /** The manifest field naming the source table, for messages. */
  readonly sourcePath: string;
  /** spec.sink.options.columns: excluded and masked columns are not compared (what lands of them is not the source's value). */
  readonly columns?: ColumnRules;
}

/** A table compared: its report, and what a re-check of its differing buckets needs. */
export interface TableCheck {
  readonly report: TableReport;
  readonly plans?: ComparePlans;
  readonly absent: readonly string[];
  readonly knownLosses: readonly KnownLoss[];
}

export async function verifyTable(src: DigestReader, dst: DigestReader, job: TableJob, o: CompareOptions, within?: Verdict['differingBuckets']): Promise<TableCheck> {
  const { srcTable, dstTable } = job;
  const head = `${name(srcTable)} → ${name(dstTable)}`;
  const base = { source: name(srcTable), target: name(dstTable) };
  const [si, ti] = await Promise.all([src.describe(srcTable), dst.describe(dstTable)]);
  if (!si) {
    throw new ConfigError([{ path: job.sourcePath, message: `source table ${name(srcTable)} does not exist at ${job.display} (or the user cannot see it)` }]);
  }
  const key = job.primaryKey ?? si.primaryKey;
  if (key.length === 0) {
    throw new ConfigError([{
      path: 'primary_key',
      message: `verify compares rows by key, and ${name(srcTable)} has no primary key: declare primary_key (spec.source.options.primary_key: <column> or [<col>, …]) naming columns that identify a row`,
    }]);
  }
  const srcNames = new Set(si.columns.map((c) => c.name));
  for (const k of key) {
    if (!srcNames.has(k)) throw new ConfigError([{ path: 'primary_key', message: `primary_key column "${k}" is not a column of ${name(srcTable)}` }]);
  }
  const policy = ColumnPolicy.active(job.columns) ? new ColumnPolicy(job.columns) : undefined;
  const refusal = policy && keyRefusal(policy, key, name(srcTable));
  if (refusal) throw new ConfigError([{ path: 'spec.sink.options.columns', message: refusal }]);
  // Only columns that land as they are: excluded ones are absent by design, masked ones differ by design.
  const compared = policy ? si.columns.filter((c) => policy.fate(c.name).kind === 'keep') : si.columns;
  const none = { absent: [], knownLosses: [] };
  if (!ti) return { ...none, report: { ...base, ok: false, line: `${head}: DIFFERENT: the target table does not exist` } };
  const dstNames = new Set(ti.columns.map((c) => c.name));
  const absent = compared.filter((c) => !dstNames.has(c.name)).map((c) => c.name);
  const absentKey = key.filter((k) => !dstNames.has(k));
  if (absentKey.length > 0) return { ...none, report: { ...base, ok: false, line: `${head}: DIFFERENT: key column(s) ${absentKey.join(', ')} missing in the target` } };
  const columns = compared.filter((c) => dstNames.has(c.name)).map((c) => ({ name: c.name, mode: (c.sqlExact ? 'exact' : 'json') as CompareMode }));
  const types: Record<string, CdcColumnType> = {};
  if (job.canon === 'debezium') for (const c of si.columns) types[c.name] = { type: c.type, base: c.base ?? c.type, builtin: c.builtin ?? false };
  const plan = (table: TableRef, side: 'source' | 'target'): DigestPlan => ({
    table, canon: job.canon, key, columns,
    ...(job.canon === 'debezium' ? { cdc: { side, types, intervalString: job.cdc?.intervalString ?? false, binaryMode: job.cdc?.binaryMode ?? 'bytes' } } : {}),
  });
  // a soft-delete target keeps deleted rows, marked: only its live rows should equal the source
  const live = dstNames.has(DELETED_AT.name) && !srcNames.has(DELETED_AT.name) ? { live: DELETED_AT.name } : {};
  const plans = { source: plan(srcTable, 'source'), target: { ...plan(dstTable, 'target'), ...live } };
  const estimate = Math.max(si.estimatedRows ?? 0, ti.estimatedRows ?? 0) || undefined;
  const v = await compareTables(src, dst, plans, estimate, o, within);
  // after the compare: a reader is one connection, one statement at a time (a re-check counts none)
  const losses = !within && src.knownLosses ? await src.knownLosses(plans.source, o.samples) : [];
  return { plans, absent, knownLosses: losses, report: { ...base, ok: v.equal && absent.length === 0, verdict: v, ...(job.canon === 'debezium' ? { knownLosses: losses } : {}), line: describeVerdict(head, v, absent, losses) } };
}

/** `a → b: equal, 1000 rows (…)` or `a → b: DIFFERENT: 1 missing [5], … (…)`, then known losses. */
export function describeVerdict(head: string, v: Omit<Verdict, 'differingBuckets' | 'differingRows'>, absentColumns: readonly string[] = [], losses: readonly KnownLoss[] = []): string {
  const stats = `${v.chunks} chunks compared, ${v.bisected} bisected, ${v.fetched} fetched`;
  const lossText = losses.length === 0 ? '' : `; known Debezium losses, not counted as differences: ${losses.map((l) => `${l.column}: ${l.rows} row(s) [${l.samples.join(', ')}${l.rows > l.samples.length ? ', …' : ''}] lose ${l.what}`).join('; ')}`;
  if (v.equal && absentColumns.length === 0) return `${head}: equal, ${v.sourceRows} rows (${stats})${lossText}`;
  const parts: string[] = [];
  const kinds = [['missing', v.missing], ['extra', v.extra], ['differing', v.differing]] as const;
  for (const [k, d] of kinds) if (d.count > 0) parts.push(`${d.count} ${k} [${d.samples.join(', ')}${d.count > d.samples.length ? ', …' : ''}]`);
  if (absentColumns.length > 0) parts.push(`column(s) ${absentColumns.join(', ')} missing in the target`);
  return `${head}: DIFFERENT: ${parts.join(', ')}; source ${v.sourceRows} rows, target ${v.targetRows} rows (${stats})${lossText}`;
}
