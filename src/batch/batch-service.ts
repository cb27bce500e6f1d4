/**
 * A batch pipeline as a service: PostgreSQL start-up retried like the CDC core's, then either one
 * run (no spec.schedule: the process exits with its outcome) or runs on the schedule until stopped.
 * Every run is retried whole on transient failures (it is one transaction, so a retry starts
 * clean) and reports its outcome as a `batchFinished` event. A stop aborts a run in progress:
 * its transaction rolls back and the next start loads the same rows again.
 */
import type { Pool } from '../pg/pool';
import type { PipelineConfig, SourceDatabase } from '../config/types';
import type { CoreEmitter } from '../kernel/events';
import { reportedRetry, RetryAbortedError } from '../kernel/retry';
import { createBatchStateTable, batchStateTable } from '../sink/batch-cursor';
import type { Logger } from '../observe/logger';
import { PgTableSource } from '../tables/pg-table';
import { MysqlTableSource } from '../tables/mysql-table';
import type { TableSource } from '../tables/table-source';
import { runBatch } from './batch-run';
import { Scheduler } from './schedule';
import { PgSink } from '../sink/pg-sink';

export interface BatchService {
  readonly done: Promise<void>;
  /** The PostgreSQL sink (closed by the caller once `done` settles). */
  readonly sink: PgSink;
  stop(): Promise<void>;
}

export function createTableSource(db: SourceDatabase, opts: { tinyint1AsBoolean: boolean; onZeroDate?: (table: string, column: string) => void }): TableSource {
  return db.kind === 'postgresql' ? new PgTableSource(db.pg) : new MysqlTableSource(db.mysql, opts);
}

export function startBatchService(cfg: PipelineConfig, emitter: CoreEmitter, log: Logger, watch: (pool: Pool) => void): BatchService {
  const sink = new PgSink(cfg.sink.pg, cfg.sink.options, { watch, log: (msg, fields) => log.info(fields ?? {}, msg), warn: (msg, fields) => log.warn(fields ?? {}, msg) });
  // MySQL zero dates written as NULL in the run, per table and column (a batchWarning each at the end)
  const zeroDates = new Map<string, { table: string; column: string; count: number }>();
  const source = createTableSource(cfg.batch!.db, {
    tinyint1AsBoolean: cfg.batch!.tinyint1AsBoolean,
    onZeroDate: (table, column) => {
      const k = JSON.stringify([table, column]);
      const w = zeroDates.get(k) ?? { table, column, count: 0 };
      w.count++;
      zeroDates.set(k, w);
    },
  });
  const stopping = new AbortController();
  let scheduler: Scheduler | undefined;
  let release: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (release = resolve));

  const runOnce = async (signal: AbortSignal, trigger: 'once' | 'schedule'): Promise<void> => {
    const started = Date.now();
    zeroDates.clear();
    try {
      await reportedRetry(emitter, cfg.errors.retry, 'start-up', () => sink.open(), { signal, system: 'postgresql' });
      emitter.emit('state', { pgConnected: true });
      const result = await reportedRetry(emitter, cfg.errors.retry, 'batch run', () => runBatch(cfg, { pool: sink.pool!, applier: sink.applier, source, emitter, log, signal, trigger }), { signal });
      for (const w of zeroDates.values()) emitter.emit('batchWarning', { kind: 'zero_date', ...w });
      emitter.emit('batchFinished', { outcome: 'success', rows: result.rows, durationSeconds: (Date.now() - started) / 1000, cursor: result.cursor ?? null });
    } catch (err) {
      const aborted = signal.aborted || err instanceof RetryAbortedError;
      emitter.emit('batchFinished', { outcome: aborted ? 'aborted' : 'failed', rows: 0, durationSeconds: (Date.now() - started) / 1000, error: err as Error });
      if (!aborted) throw err;
    }
  };

  const done = (async () => {
    try {
      await reportedRetry(emitter, cfg.errors.retry, 'start-up', () => sink.open(), { signal: stopping.signal, system: 'postgresql' });
      emitter.emit('state', { pgConnected: true });
      if (cfg.sink.options.strategy !== 'replace' && cfg.batch!.incrementalKey !== undefined) await createBatchStateTable(sink.pool!, batchStateTable(cfg.sink.options), { autoCreate: cfg.sink.options.autoCreate });
      if (!cfg.schedule) {
        await runOnce(stopping.signal, 'once');
        return;
      }
      scheduler = new Scheduler(cfg.schedule, (signal, trigger) => runOnce(signal, trigger).catch((err: Error) => log.error({ err }, `batch run failed: ${err.message}`)), { emitter, log });
      scheduler.start();
      const next = scheduler.nextRunAt();
      log.info({ crons: cfg.schedule.crons, timezone: cfg.schedule.timezone, next: next?.toISOString() }, 'scheduled: waiting for the next run');
      await stopped;
    } catch (err) {
      if (err instanceof RetryAbortedError) return;
      throw err;
    } finally {
      await scheduler?.stop();
      await source.close().catch(() => undefined);
    }
  })();

  return {
    done,
    sink,
    stop: async () => {
      stopping.abort(new Error('shutting down'));
      release();
      await scheduler?.stop();
      await done.catch(() => undefined);
    },
  };
}
