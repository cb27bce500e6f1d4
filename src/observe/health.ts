/**
 * Liveness and readiness, from the core's `state` events and the batch run events.
 *  - live: the main loop ticked within `stuckAfterMs` (a wedged loop should be restarted);
 *  - ready: connected to Kafka and PostgreSQL and holding at least one partition, or
 *    intentionally idle (e.g. more replicas than partitions: healthy, just nothing to do).
 *    Batch pipelines: connected to PostgreSQL, and the last batch run that succeeded or failed
 *    did not fail (a failure makes the pipeline unready until a run succeeds; a run in progress,
 *    an aborted or a skipped run change nothing).
 */
import type { CoreEmitter, CoreEvents } from '../kernel/events';
import { scrubSecrets } from './logger';

/**
 * What readiness waits for. 'last_run': the last batch run failed and none has succeeded since.
 * 'source_connector': a managed Debezium connector (or one of its tasks) is not running.
 */
export type Requirement = 'kafka' | 'postgresql' | 'assignment' | 'loop' | 'last_run' | 'source_connector';

export interface BatchRunSummary {
  readonly outcome: 'success' | 'failed' | 'aborted';
  readonly rows: number;
  readonly durationSeconds: number;
  /** ISO 8601. */
  readonly finishedAt: string;
  readonly cursor?: string | null;
  /** The error message of a failed run (secrets scrubbed, first 500 characters). */
  readonly error?: string;
}

/** Batch pipelines only: present once a batch event has been seen. */
export interface BatchHealth {
  /** Runs started and not yet finished. */
  readonly running: number;
  /** The last run that ran (skipped ones excluded). */
  readonly lastRun?: BatchRunSummary;
  /** The failed run that keeps the pipeline unready; absent once a run has succeeded since. */
  readonly lastFailure?: BatchRunSummary;
  /** When the next scheduled run is due, ISO 8601; absent when not scheduled or none is due. */
  readonly nextRunAt?: string;
}

export interface HealthState {
  readonly live: boolean;
  /** Why not live, when not. */
  readonly liveReason?: string;
  readonly ready: boolean;
  /** What readiness is waiting for; empty when ready. */
  readonly missing: readonly Requirement[];
  readonly kafkaConnected: boolean;
  readonly pgConnected: boolean;
  readonly assigned: number;
  readonly idle: boolean;
  /** ms since the last loop tick, or null before the first one. */
  readonly sinceLastTickMs: number | null;
  readonly batch?: BatchHealth;
  /** Managed source connectors only: the last status poll. */
  readonly sourceConnector?: { readonly name: string; readonly state: string; readonly tasks: readonly { readonly id: number; readonly state: string }[]; readonly healthy: boolean };
}

export interface HealthTrackerOptions {
  /** Not live when the loop has not ticked for this long. Also the start-up grace period. */
  readonly stuckAfterMs: number;
  /** Batch pipelines have no Kafka: set false so readiness does not wait for it. */
  readonly requireKafka?: boolean;
  /**
   * Liveness follows the main loop's ticks (`state.loopTickMs`). Default true. A batch pipeline
   * has no such loop (a scheduled one idles between runs): set false, or it turns not live
   * `stuckAfterMs` after start.
   */
  readonly requireLoop?: boolean;
  /** A managed source connector: not ready until a status poll finds it (and every task) healthy. */
  readonly requireSourceConnector?: boolean;
  readonly now?: () => number;
}

export interface HealthTracker {
  health(): HealthState;
  close(): void;
}

export function createHealthTracker(emitter: CoreEmitter, opts: HealthTrackerOptions): HealthTracker {
  if (!(opts.stuckAfterMs > 0)) throw new RangeError(`createHealthTracker: stuckAfterMs must be > 0, got ${opts.stuckAfterMs}`);
  const now = opts.now ?? Date.now;
  const requireKafka = opts.requireKafka ?? true;
  const requireLoop = opts.requireLoop ?? true;
  const startedAt = now();
  const s = { kafkaConnected: false, pgConnected: false, assigned: 0, idle: false, loopTickMs: undefined as number | undefined };

  const onState = (e: CoreEvents['state'][0]) => {
    if (e.kafkaConnected !== undefined) s.kafkaConnected = e.kafkaConnected;
    if (e.pgConnected !== undefined) s.pgConnected = e.pgConnected;
    if (e.assigned !== undefined) s.assigned = e.assigned;
    if (e.idle !== undefined) s.idle = e.idle;
    if (e.loopTickMs !== undefined) s.loopTickMs = e.loopTickMs;
  };
  emitter.on('state', onState);

  let batch: { running: number; lastRun?: BatchRunSummary; lastFailure?: BatchRunSummary; nextRunAt?: string } | undefined;
  const onBatchStarted = () => {
    batch ??= { running: 0 };
    batch.running++;
  };
  const onBatchFinished = (e: CoreEvents['batchFinished'][0]) => {
    batch ??= { running: 0 };
    if (e.outcome === 'skipped') return;
    // A run can fail before it reports its start (e.g. the source table is missing): never below 0.
    batch.running = Math.max(0, batch.running - 1);
    const run: BatchRunSummary = {
      outcome: e.outcome,
      rows: e.rows,
      durationSeconds: e.durationSeconds,
      finishedAt: new Date(now()).toISOString(),
      ...(e.cursor !== undefined ? { cursor: e.cursor } : {}),
      ...(e.outcome === 'failed' && e.error ? { error: scrubSecrets(e.error.message).slice(0, 500) } : {}),
    };
    batch.lastRun = run;
    if (e.outcome === 'failed') batch.lastFailure = run;
    else if (e.outcome === 'success') delete batch.lastFailure;
  };
  const onBatchScheduled = (e: CoreEvents['batchScheduled'][0]) => {
    batch ??= { running: 0 };
    if (e.nextRunAt) batch.nextRunAt = e.nextRunAt.toISOString();
    else delete batch.nextRunAt;
  };
  emitter.on('batchStarted', onBatchStarted);
  emitter.on('batchFinished', onBatchFinished);
  emitter.on('batchScheduled', onBatchScheduled);
  let connector: HealthState['sourceConnector'];
  const onSourceConnector = (e: CoreEvents['sourceConnector'][0]) => {
    connector = { name: e.connector, state: e.state, tasks: e.tasks, healthy: e.healthy };
  };
  emitter.on('sourceConnector', onSourceConnector);

  return {
    health(): HealthState {
      const t = now();
      const since = s.loopTickMs === undefined ? null : Math.max(0, t - s.loopTickMs);
      // Without a loop to watch, the HTTP server answering is all liveness can tell.
      const liveReason = requireLoop ? stuckReason(since, t - startedAt, opts.stuckAfterMs) : undefined;
      const missing: Requirement[] = [];
      if (requireKafka && !s.kafkaConnected) missing.push('kafka');
      if (!s.pgConnected) missing.push('postgresql');
      if (requireKafka && s.assigned <= 0 && !s.idle) missing.push('assignment');
      if (liveReason !== undefined) missing.push('loop');
      if (batch?.lastFailure) missing.push('last_run');
      if ((opts.requireSourceConnector && !connector) || (connector && !connector.healthy)) missing.push('source_connector');
      return {
        live: liveReason === undefined,
        ...(liveReason !== undefined ? { liveReason } : {}),
        ready: missing.length === 0,
        missing,
        kafkaConnected: s.kafkaConnected,
        pgConnected: s.pgConnected,
        assigned: s.assigned,
        idle: s.idle,
        sinceLastTickMs: since,
        ...(batch ? { batch: { ...batch } } : {}),
        ...(connector ? { sourceConnector: connector } : {}),
      };
    },
    close() {
      emitter.off('state', onState);
      emitter.off('batchStarted', onBatchStarted);
      emitter.off('batchFinished', onBatchFinished);
      emitter.off('batchScheduled', onBatchScheduled);
      emitter.off('sourceConnector', onSourceConnector);
    },
  };
}

function stuckReason(sinceTickMs: number | null, sinceStartMs: number, limitMs: number): string | undefined {
  if (sinceTickMs === null) {
    // Grace period: connecting and the first assignment can take a while after start.
    return sinceStartMs > limitMs ? `main loop has not ticked since start ${sinceStartMs} ms ago` : undefined;
  }
  return sinceTickMs > limitMs ? `main loop last ticked ${sinceTickMs} ms ago (limit ${limitMs} ms)` : undefined;
}
