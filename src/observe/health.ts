/**
 * Liveness and readiness, from the core's `state` events.
 *  - live: the main loop ticked within `stuckAfterMs` (a wedged loop should be restarted);
 *  - ready: connected to Kafka and PostgreSQL and holding at least one partition, or
 *    intentionally idle (e.g. more replicas than partitions: healthy, just nothing to do).
 */
import type { CoreEmitter, CoreEvents } from '../core/events';

export type Requirement = 'kafka' | 'postgresql' | 'assignment' | 'loop';

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
}

export interface HealthTrackerOptions {
  /** Not live when the loop has not ticked for this long. Also the start-up grace period. */
  readonly stuckAfterMs: number;
  /** Batch pipelines have no Kafka: set false so readiness does not wait for it. */
  readonly requireKafka?: boolean;
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

  return {
    health(): HealthState {
      const t = now();
      const since = s.loopTickMs === undefined ? null : Math.max(0, t - s.loopTickMs);
      let liveReason: string | undefined;
      if (since === null) {
        // Grace period: connecting and the first assignment can take a while after start.
        if (t - startedAt > opts.stuckAfterMs) liveReason = `main loop has not ticked since start ${t - startedAt} ms ago`;
      } else if (since > opts.stuckAfterMs) {
        liveReason = `main loop last ticked ${since} ms ago (limit ${opts.stuckAfterMs} ms)`;
      }
      const missing: Requirement[] = [];
      if (requireKafka && !s.kafkaConnected) missing.push('kafka');
      if (!s.pgConnected) missing.push('postgresql');
      if (requireKafka && s.assigned <= 0 && !s.idle) missing.push('assignment');
      if (liveReason !== undefined) missing.push('loop');
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
      };
    },
    close() {
      emitter.off('state', onState);
    },
  };
}
