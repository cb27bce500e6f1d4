/**
 * `nilus-pg verify` for a batch pipeline: its source table against its target table, each read in
 * one snapshot of its own database, compared by ./compare.ts. Returns one line per table.
 */
import { ConfigError } from '../core/errors';
import type { PipelineConfig } from '../config/types';
import type { TableRef } from '../core/types';
import { resolveDestTable } from '../config';
import type { CompareMode, DigestPlan, DigestReader, DigestSource } from '../source/digest';
import { PgDigestSource } from '../source/pg-digest';
import { MysqlDigestSource } from '../source/mysql-digest';
import { compareTables, COMPARE_DEFAULTS, type CompareOptions, type Verdict } from './compare';

export const CDC_NOT_SUPPORTED =
  'verify supports batch pipelines so far; CDC pipelines need a database source (managed connector, not built yet)';

export interface TableReport {
  readonly source: string;
  readonly target: string;
  readonly ok: boolean;
  readonly line: string;
  readonly verdict?: Verdict;
}

const name = (t: TableRef): string => `${t.schema}.${t.table}`;

export function digestSources(cfg: PipelineConfig): { source: DigestSource; target: DigestSource } {
  const b = cfg.batch;
  if (cfg.mode !== 'batch' || !b) throw new ConfigError([{ path: 'spec.type', message: CDC_NOT_SUPPORTED }]);
  const source = b.db.kind === 'postgresql' ? new PgDigestSource(b.db.pg) : new MysqlDigestSource(b.db.mysql, { tinyint1AsBoolean: b.tinyint1AsBoolean });
  return { source, target: new PgDigestSource(cfg.sink.pg) };
}

export async function verifyPipeline(cfg: PipelineConfig, opts: { compare?: Partial<CompareOptions>; now?: () => number } = {}): Promise<TableReport[]> {
  const now = opts.now ?? Date.now;
  const started = now();
  const { source, target } = digestSources(cfg);
  const srcTable = cfg.batch!.sourceTable;
  const dstTable = resolveDestTable(cfg.sink.options.destTable, srcTable);
  const [s, t] = await Promise.allSettled([source.open(), target.open()]);
  const readers = [s, t].flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  try {
    if (s.status === 'rejected') throw s.reason;
    if (t.status === 'rejected') throw t.reason;
    const report = await verifyTable(cfg, s.value, t.value, srcTable, dstTable, { ...COMPARE_DEFAULTS, ...opts.compare }, source.display);
    const seconds = ((now() - started) / 1000).toFixed(2);
    return [{ ...report, line: `${report.line}; ${seconds} s` }];
  } finally {
    await Promise.all(readers.map((r: DigestReader) => r.close().catch(() => undefined)));
  }
}

async function verifyTable(cfg: PipelineConfig, src: DigestReader, dst: DigestReader, srcTable: TableRef, dstTable: TableRef, o: CompareOptions, display: string): Promise<Omit<TableReport, 'line'> & { line: string }> {
  const head = `${name(srcTable)} → ${name(dstTable)}`;
  const base = { source: name(srcTable), target: name(dstTable) };
  const [si, ti] = await Promise.all([src.describe(srcTable), dst.describe(dstTable)]);
  if (!si) {
    throw new ConfigError([{ path: 'spec.source.options.source_table', message: `source table ${name(srcTable)} does not exist at ${display} (or the user cannot see it)` }]);
  }
  const key = cfg.sink.options.primaryKey ?? si.primaryKey;
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
  if (!ti) return { ...base, ok: false, line: `${head}: DIFFERENT: the target table does not exist` };
  const dstNames = new Set(ti.columns.map((c) => c.name));
  const absent = si.columns.filter((c) => !dstNames.has(c.name)).map((c) => c.name);
  const absentKey = key.filter((k) => !dstNames.has(k));
  if (absentKey.length > 0) return { ...base, ok: false, line: `${head}: DIFFERENT: key column(s) ${absentKey.join(', ')} missing in the target` };
  const columns = si.columns.filter((c) => dstNames.has(c.name)).map((c) => ({ name: c.name, mode: (c.sqlExact ? 'exact' : 'json') as CompareMode }));
  const canon = cfg.batch!.db.kind === 'postgresql' ? 'postgresql' : 'mysql';
  const plan = (table: TableRef): DigestPlan => ({ table, canon, key, columns });
  const estimate = Math.max(si.estimatedRows ?? 0, ti.estimatedRows ?? 0) || undefined;
  const v = await compareTables(src, dst, { source: plan(srcTable), target: plan(dstTable) }, estimate, o);
  return { ...base, ok: v.equal && absent.length === 0, verdict: v, line: describeVerdict(head, v, absent) };
}

/** `a → b: equal, 1000 rows (…)` or `a → b: DIFFERENT: 1 missing [5], … (…)`. */
export function describeVerdict(head: string, v: Verdict, absentColumns: readonly string[] = []): string {
  const stats = `${v.chunks} chunks compared, ${v.bisected} bisected, ${v.fetched} fetched`;
  if (v.equal && absentColumns.length === 0) return `${head}: equal, ${v.sourceRows} rows (${stats})`;
  const parts: string[] = [];
  const kinds = [['missing', v.missing], ['extra', v.extra], ['differing', v.differing]] as const;
  for (const [k, d] of kinds) if (d.count > 0) parts.push(`${d.count} ${k} [${d.samples.join(', ')}${d.count > d.samples.length ? ', …' : ''}]`);
  if (absentColumns.length > 0) parts.push(`column(s) ${absentColumns.join(', ')} missing in the target`);
  return `${head}: DIFFERENT: ${parts.join(', ')}; source ${v.sourceRows} rows, target ${v.targetRows} rows (${stats})`;
}
