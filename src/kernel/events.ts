/**
 * What the core tells observers (metrics, logs). The core emits; src/observe subscribes.
 * The core never imports prom-client.
 */
import { EventEmitter } from 'node:events';
import type { FlushedTable, Op } from './types';

export interface CoreEvents {
  /** Records taken from Kafka and decoded, per topic/partition and op. */
  consumed: [{ topic: string; partition: number; op: Op | 'tombstone'; count: number }];
  /** A flush committed in PostgreSQL. */
  flushed: [{
    durationSeconds: number;
    events: number;
    tables: readonly FlushedTable[];
    /** Source commit times (ms) of the events applied, for end-to-end latency. May be sampled. */
    sourceTsMs: number[];
    commitTsMs: number;
  }];
  /** Bytes currently held in buffers. */
  buffered: [{ bytes: number; events: number }];
  /** Per-partition lag: high watermark − committed offset. */
  lag: [{ topic: string; partition: number; lag: number }];
  deadLettered: [{ topic: string; partition: number; offset: string; reason: string }];
  /**
   * A partition's stored offset was gone from Kafka and on_offset_gap: skip went on from the log
   * start (src/kernel/offset-gap.ts): `deleted` by retention ([stored, low) lost, `skipped` offsets),
   * or `recreated` (stored above the high watermark: the topic was re-created; `skipped` is 0).
   */
  offsetGap: [{ topic: string; partition: number; kind: 'deleted' | 'recreated'; stored: string; low: string; high: string; skipped: number }];
  retry: [{ operation: string; attempt: number; delayMs: number; error: Error }];
  error: [{ errorClass: string; error: Error }];
  /** A batch run began (scheduled or not). */
  batchStarted: [{ source: string; target: string; strategy: string; trigger: 'once' | 'schedule' }];
  /** Rows copied so far in the running batch run (at most one per progress interval). */
  batchProgress: [{ rows: number; elapsedSeconds: number; rowsPerSecond: number; totalRows?: number; etaSeconds?: number }];
  /** Values a batch run changed on the way, e.g. MySQL zero dates written as NULL. */
  batchWarning: [{ kind: 'zero_date'; table: string; column: string; count: number }];
  /**
   * A batch run ended: committed (success), rolled back on an error (failed), stopped by a
   * shutdown or a Replace (aborted), or not started because another run was in progress (skipped).
   */
  batchFinished: [{ outcome: 'success' | 'failed' | 'aborted' | 'skipped'; rows: number; durationSeconds: number; cursor?: string | null; error?: Error }];
  /** Readiness inputs. */
  state: [{ kafkaConnected?: boolean; pgConnected?: boolean; assigned?: number; idle?: boolean; loopTickMs?: number }];
  /** A scheduled batch pipeline's next run time changed: null when none is due (stopped, or no cron fires again). */
  batchScheduled: [{ nextRunAt: Date | null }];
  /**
   * A managed source connector's state at each status poll (src/managed/connector.ts): `healthy`
   * is false while the connector or a task is FAILED, paused, stopped, missing or unreachable;
   * `newlyFailed` counts the connector/tasks that turned FAILED since the previous poll.
   */
  sourceConnector: [{ connector: string; state: string; tasks: { id: number; state: string }[]; healthy: boolean; newlyFailed: number }];
  /**
   * A managed PostgreSQL source's replication slot at each poll (src/managed/slot-watch.ts):
   * `retainedBytes` is the WAL it keeps (absent on a standby or before the slot was first used).
   */
  sourceSlot: [{ slot: string; exists: boolean; active?: boolean; retainedBytes?: number }];
  /** The worker asked V8 for a full collection: its heap was above the ceiling (src/service/heap-guard.ts). */
  heapCollected: [{ usedBeforeBytes: number; usedAfterBytes: number; ms: number }];
}

export class CoreEmitter extends EventEmitter<CoreEvents> {}
