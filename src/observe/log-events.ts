/**
 * Logs what the core reports, the same way metrics observe it: by subscribing to CoreEmitter.
 * Flushes are sampled (one info line per interval); retries and dead letters are warnings with
 * their position; errors are logged with their class. Batch runs: one line when a run starts,
 * one per progress event (the runner already emits at most one per progress interval), one when
 * it ends (a warning when it failed), and a warning per batchWarning.
 */
import type { CoreEmitter, CoreEvents } from '../kernel/events';
import { childLogger, flushLogSampler, type Logger } from './logger';

/** What each batchWarning kind means, in a log line. */
const WARNING_TEXT: Record<CoreEvents['batchWarning'][0]['kind'], string> = {
  zero_date: 'MySQL zero date(s) written as NULL',
};

export interface LogEventsOptions {
  /** At most one flush info line per this many ms (Observability.flushLogIntervalMs). */
  readonly flushLogIntervalMs: number;
  readonly now?: () => number;
}

export interface LogSubscription {
  /** Logs the flushes aggregated since the last line, then stops listening. */
  close(): void;
}

export function attachLogging(emitter: CoreEmitter, logger: Logger, opts: LogEventsOptions): LogSubscription {
  const sampler = flushLogSampler(opts.flushLogIntervalMs, opts.now);
  const logSummary = (s: ReturnType<typeof sampler.drain>) => {
    if (!s) return;
    logger.info(
      {
        flushes: s.flushes,
        events: s.events,
        rows: s.rows,
        avgFlushSeconds: round(s.durationSeconds / s.flushes),
        maxFlushSeconds: round(s.maxDurationSeconds),
        windowMs: s.windowMs,
      },
      s.flushes === 1 ? 'flushed 1 batch' : `flushed ${s.flushes} batches`,
    );
  };

  const onFlushed = (e: CoreEvents['flushed'][0]) => {
    let rows = 0;
    for (const t of e.tables) {
      rows += t.upserts + t.deletes + t.appends;
      if (t.unresolved) {
        logger.warn(
          { table: t.table, rows: t.unresolved, keys: t.unresolvedKeys },
          `${t.table}: ${t.unresolved} row(s) inserted without unchanged-TOAST values that could not be recovered ` +
            '(a primary-key change whose old row was already gone from the target, or a create without the __debezium.oldkey header); ' +
            'those columns hold their default (NULL) until the source row is updated: re-snapshot the table to repair them',
        );
      }
    }
    logSummary(sampler.offer({ events: e.events, rows, durationSeconds: e.durationSeconds }));
  };
  const onRetry = (e: CoreEvents['retry'][0]) => {
    logger.warn({ operation: e.operation, attempt: e.attempt, delayMs: e.delayMs, err: e.error }, `retrying ${e.operation}`);
  };
  const onDeadLettered = (e: CoreEvents['deadLettered'][0]) => {
    childLogger(logger, { topic: e.topic, partition: e.partition }).warn(
      { offset: e.offset, reason: e.reason },
      'event dead-lettered',
    );
  };
  const onError = (e: CoreEvents['error'][0]) => {
    logger.error({ errorClass: e.errorClass, err: e.error }, e.error.message);
  };
  const onBatchStarted = (e: CoreEvents['batchStarted'][0]) => {
    logger.info({ source: e.source, target: e.target, strategy: e.strategy, trigger: e.trigger }, `batch run started: ${e.source} → ${e.target} (${e.strategy})`);
  };
  const onBatchProgress = (e: CoreEvents['batchProgress'][0]) => {
    const rate = Math.round(e.rowsPerSecond);
    const fields: Record<string, number> = { rows: e.rows, seconds: round(e.elapsedSeconds), rowsPerSecond: rate };
    let msg = `batch run: ${e.rows} rows in ${Math.round(e.elapsedSeconds)} s (${rate} rows/s)`;
    if (e.totalRows !== undefined && e.totalRows > 0) {
      // totalRows is an estimate (table statistics): never claim more than 100 %.
      const percent = Math.min(100, Math.round((e.rows / e.totalRows) * 1000) / 10);
      fields.totalRows = e.totalRows;
      fields.percent = percent;
      msg += `, ${percent}% of ~${e.totalRows}`;
      const eta = e.etaSeconds ?? (e.rowsPerSecond > 0 ? Math.max(0, e.totalRows - e.rows) / e.rowsPerSecond : undefined);
      if (eta !== undefined) {
        fields.etaSeconds = Math.round(eta);
        msg += `, about ${Math.round(eta)} s left`;
      }
    }
    logger.info(fields, msg);
  };
  const onBatchWarning = (e: CoreEvents['batchWarning'][0]) => {
    logger.warn({ kind: e.kind, table: e.table, column: e.column, count: e.count }, `batch run: ${e.count} ${WARNING_TEXT[e.kind]} in ${e.table}.${e.column}`);
  };
  const onBatchFinished = (e: CoreEvents['batchFinished'][0]) => {
    // The scheduler logs a skipped run itself, with the start time of the run that is in the way.
    if (e.outcome === 'skipped') return;
    const rate = e.durationSeconds > 0 ? Math.round(e.rows / e.durationSeconds) : 0;
    const fields = {
      outcome: e.outcome,
      rows: e.rows,
      seconds: round(e.durationSeconds),
      rowsPerSecond: rate,
      ...(e.cursor !== undefined ? { cursor: e.cursor } : {}),
    };
    const summary = `${e.rows} rows in ${round(e.durationSeconds)} s (${rate} rows/s)`;
    if (e.outcome === 'failed') {
      const message = e.error?.message ?? 'unknown error';
      logger.warn({ ...fields, ...(e.error ? { err: e.error } : {}) }, `batch run failed after ${summary}, nothing committed: ${message}`);
    } else if (e.outcome === 'aborted') {
      logger.info(fields, `batch run aborted after ${summary}, nothing committed`);
    } else {
      logger.info(fields, `batch run committed: ${summary}`);
    }
  };

  emitter.on('flushed', onFlushed);
  emitter.on('retry', onRetry);
  emitter.on('deadLettered', onDeadLettered);
  emitter.on('error', onError);
  emitter.on('batchStarted', onBatchStarted);
  emitter.on('batchProgress', onBatchProgress);
  emitter.on('batchWarning', onBatchWarning);
  emitter.on('batchFinished', onBatchFinished);
  return {
    close() {
      emitter.off('flushed', onFlushed);
      emitter.off('retry', onRetry);
      emitter.off('deadLettered', onDeadLettered);
      emitter.off('error', onError);
      emitter.off('batchStarted', onBatchStarted);
      emitter.off('batchProgress', onBatchProgress);
      emitter.off('batchWarning', onBatchWarning);
      emitter.off('batchFinished', onBatchFinished);
      logSummary(sampler.drain());
    },
  };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
