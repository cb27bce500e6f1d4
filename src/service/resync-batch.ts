/**
 * `nilus-pg resync` of a batch pipeline: one run, now, that reads every row of the source table
 * (ignoring the stored cursor and the interval bounds) and then stores the cursor the source holds
 * now, so the next scheduled run continues from there. Rows, cursor: one transaction, as any run.
 * merge upserts every row (rows deleted or damaged in the target come back); replace reloads as
 * every run does; append is refused, since it would add every row a second time.
 */
import type { PipelineConfig } from '../config/types';
import { ConfigError } from '../kernel/errors';
import { CoreEmitter } from '../kernel/events';
import { runBatch, type BatchResult } from '../batch/batch-run';
import { createTableSource } from '../batch/batch-service';
import { batchStateTable, createBatchStateTable } from '../sink/batch-cursor';
import { PgSink } from '../sink/pg-sink';
import type { Logger } from '../observe/logger';

export async function resyncBatch(cfg: PipelineConfig, log: Logger, progressTo?: NodeJS.WriteStream): Promise<BatchResult> {
  const batch = cfg.batch;
  if (cfg.mode !== 'batch' || !batch) throw new ConfigError([{ path: 'spec.type', message: 'resyncBatch runs batch pipelines only' }]);
  const strategy = cfg.sink.options.strategy;
  if (strategy === 'append') {
    throw new ConfigError([{ path: 'spec.sink.options.incremental_strategy', message: 'resync of an append pipeline is refused: a full run would add every source row to the target a second time (empty the target first and run nilus-pg run, or use merge)' }]);
  }
  const emitter = new CoreEmitter();
  const detach = progressTo ? (await import('../observe/progress-bar')).attachProgressBar(emitter, progressTo) : undefined;
  const sink = new PgSink(cfg.sink.pg, cfg.sink.options);
  // MySQL zero dates are written as NULL, as in any run: said, per column, at the end.
  const zeroDates = new Map<string, number>();
  const source = createTableSource(batch.db, {
    tinyint1AsBoolean: batch.tinyint1AsBoolean,
    onZeroDate: (table, column) => void zeroDates.set(`${table}.${column}`, (zeroDates.get(`${table}.${column}`) ?? 0) + 1),
  });
  try {
    await sink.open();
    if (strategy === 'merge' && batch.incrementalKey !== undefined) await createBatchStateTable(sink.pool!, batchStateTable(cfg.sink.options), { autoCreate: cfg.sink.options.autoCreate });
    const result = await runBatch(cfg, { pool: sink.pool!, applier: sink.applier, source, emitter, log, trigger: 'once', full: true });
    for (const [column, count] of zeroDates) log.warn({ column, count }, `${count} MySQL zero date(s) in ${column} were written as NULL`);
    return result;
  } finally {
    detach?.();
    await source.close();
    await sink.close();
  }
}
