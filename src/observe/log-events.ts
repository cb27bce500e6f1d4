/**
 * Logs what the core reports, the same way metrics observe it: by subscribing to CoreEmitter.
 * Flushes are sampled (one info line per interval); retries and dead letters are warnings with
 * their position; errors are logged with their class.
 */
import type { CoreEmitter, CoreEvents } from '../core/events';
import { childLogger, flushLogSampler, type Logger } from './logger';

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
    for (const t of e.tables) rows += t.upserts + t.deletes + t.appends;
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

  emitter.on('flushed', onFlushed);
  emitter.on('retry', onRetry);
  emitter.on('deadLettered', onDeadLettered);
  emitter.on('error', onError);
  return {
    close() {
      emitter.off('flushed', onFlushed);
      emitter.off('retry', onRetry);
      emitter.off('deadLettered', onDeadLettered);
      emitter.off('error', onError);
      logSummary(sampler.drain());
    },
  };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
