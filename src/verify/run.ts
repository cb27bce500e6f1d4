/**
 * `nilus-pg verify`: each source table against its target table (./table.ts). Batch pipelines here
 * (one table); CDC pipelines with a managed source in ./cdc.ts (every captured table, re-checked
 * once the lag has drained). Returns one line per table.
 */
import type { PipelineConfig } from '../config/types';
import { resolveDestTable } from '../config';
import { COMPARE_DEFAULTS } from './compare';
import { verifyCdcPipeline } from './cdc';
import { digestSources, verifyTable, withReaders, type TableReport, type VerifyOptions } from './table';

export { KAFKA_SOURCE_NOT_VERIFIABLE, type TableReport } from './table';

export async function verifyPipeline(cfg: PipelineConfig, opts: VerifyOptions = {}): Promise<TableReport[]> {
  if (cfg.mode === 'cdc') {
    return verifyCdcPipeline(cfg, opts);
  }
  const now = opts.now ?? Date.now;
  const started = now();
  const { source, target } = digestSources(cfg);
  const srcTable = cfg.batch!.sourceTable;
  const dstTable = resolveDestTable(cfg.sink.options.destTable, srcTable);
  const o = { ...COMPARE_DEFAULTS, ...opts.compare };
  const canon = cfg.batch!.db.kind === 'postgresql' ? 'postgresql' : 'mysql';
  const check = await withReaders(source, target, (s, t) => verifyTable(s, t, { srcTable, dstTable, primaryKey: cfg.sink.options.primaryKey, canon, display: source.display, sourcePath: 'spec.source.options.source_table', ...(cfg.sink.options.columns ? { columns: cfg.sink.options.columns } : {}) }, o));
  const seconds = ((now() - started) / 1000).toFixed(2);
  return [{ ...check.report, line: `${check.report.line}; ${seconds} s` }];
}
