/**
 * Prometheus metrics, fed ONLY by CoreEmitter events: the core never imports prom-client.
 * Label values are bounded by construction: pipeline, topic, table, partition number, op, error
 * class, operation name, batch run outcome, batch warning kind. Never keys, offsets, cursors or
 * messages (each would be a new time series).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type Metric } from 'prom-client';
import type { CoreEmitter, CoreEvents } from '../kernel/events';

export interface Metrics {
  readonly registry: Registry;
  /**
   * `nilus_ready` follows `ready` (1 while it is true), read at every scrape: the same answer
   * /readyz gives then, so readiness can be alerted on.
   */
  readiness(ready: () => boolean): void;
  /** Stops listening to the emitter (the registry keeps its values). */
  close(): void;
}

const FLUSH_SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const BATCH_EVENTS_BUCKETS = [1, 10, 50, 100, 500, 1000, 5000, 10000, 50000, 100000];
const LATENCY_SECONDS_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];

/** Error class label: our classes or a short identifier; anything else collapses to 'other'. */
function errorClassLabel(s: string): string {
  return /^[A-Za-z][A-Za-z0-9_]{0,39}$/.test(s) ? s : 'other';
}

export function createMetrics(emitter: CoreEmitter, labels: { pipeline: string }, register?: Registry): Metrics {
  const registry = register ?? new Registry();
  const m = defineMetrics(registry);
  const pipeline = labels.pipeline;
  /** Per target table, the newest source commit time (ms) applied: `nilus_table_lag_seconds` is now minus it, at each scrape. */
  const lastApplied = new Map<string, number>();
  collectors(m.tableLag).set(pipeline, (now) => {
    for (const [table, ts] of lastApplied) m.tableLag.set({ pipeline, table }, Math.max(0, (now - ts) / 1000));
  });

  const listeners: { [K in keyof CoreEvents]?: (...args: CoreEvents[K]) => void } = {
    consumed: (e) => m.consumed.inc({ pipeline, topic: e.topic, op: e.op }, e.count),
    flushed: (e) => {
      m.flushes.inc({ pipeline });
      m.flushDuration.observe({ pipeline }, e.durationSeconds);
      m.batchEvents.observe({ pipeline }, e.events);
      for (const t of e.tables) {
        const add = (op: string, n: number) => {
          if (n > 0) m.rowsApplied.inc({ pipeline, table: t.table, op }, n);
        };
        add('upsert', t.upserts);
        add('delete', t.deletes);
        add('append', t.appends);
        add('truncate', t.truncates);
        if (t.unresolved) m.unresolvedPlaceholders.inc({ pipeline, table: t.table }, t.unresolved);
        for (const [kind, n] of Object.entries(t.schemaChanges ?? {})) m.schemaChanges.inc({ pipeline, table: t.table, kind }, n);
      }
      for (const t of e.tables) if (t.sourceTsMs !== undefined) lastApplied.set(t.table, Math.max(t.sourceTsMs, lastApplied.get(t.table) ?? -Infinity));
      for (const ts of e.sourceTsMs) {
        // Clock skew between the source database and this host can make the difference negative.
        m.latency.observe({ pipeline }, Math.max(0, (e.commitTsMs - ts) / 1000));
      }
    },
    buffered: (e) => {
      m.bufferedBytes.set({ pipeline }, e.bytes);
      m.bufferedEvents.set({ pipeline }, e.events);
    },
    heapCollected: () => m.heapCollections.inc({ pipeline }),
    lag: (e) => m.lag.set({ pipeline, topic: e.topic, partition: String(e.partition) }, e.lag),
    deadLettered: (e) => m.deadLettered.inc({ pipeline, topic: e.topic }),
    offsetGap: (e) => {
      const where = { pipeline, topic: e.topic, partition: String(e.partition) };
      m.offsetGaps.inc(where);
      m.offsetGapEvents.inc(where, e.skipped);
    },
    retry: (e) => m.retries.inc({ pipeline, operation: e.operation }),
    error: (e) => m.errors.inc({ pipeline, class: errorClassLabel(e.errorClass) }),
    batchStarted: () => m.batchRunRows.set({ pipeline }, 0),
    batchProgress: (e) => m.batchRunRows.set({ pipeline }, e.rows),
    batchWarning: (e) => m.batchWarnings.inc({ pipeline, kind: e.kind }, e.count),
    batchFinished: (e) => {
      m.batchRuns.inc({ pipeline, outcome: e.outcome });
      // A skipped run never ran: the last run's gauges keep describing the one that did.
      if (e.outcome === 'skipped') return;
      m.batchRunRows.set({ pipeline }, 0);
      m.batchLastRows.set({ pipeline }, e.rows);
      m.batchLastDuration.set({ pipeline }, e.durationSeconds);
      m.batchLastTimestamp.set({ pipeline }, Date.now() / 1000);
      if (e.outcome === 'success') {
        m.batchLastSuccess.set({ pipeline }, 1);
        m.batchRowsTotal.inc({ pipeline }, e.rows);
      } else if (e.outcome === 'failed') {
        m.batchLastSuccess.set({ pipeline }, 0);
      }
    },
    batchScheduled: (e) => {
      if (e.nextRunAt) m.batchNextRun.set({ pipeline }, e.nextRunAt.getTime() / 1000);
      else m.batchNextRun.remove({ pipeline });
    },
    sourceSlot: (e) => {
      if (e.retainedBytes !== undefined) m.slotRetainedWal.set({ pipeline, slot: e.slot }, e.retainedBytes);
      else m.slotRetainedWal.remove({ pipeline, slot: e.slot });
    },
    sourceConnector: (e) => {
      m.sourceConnectorUp.set({ pipeline }, e.healthy ? 1 : 0);
      if (e.newlyFailed > 0) m.sourceConnectorFailures.inc({ pipeline }, e.newlyFailed);
    },
  };

  const on = emitter.on.bind(emitter) as (name: string, fn: (...a: unknown[]) => void) => void;
  const off = emitter.off.bind(emitter) as (name: string, fn: (...a: unknown[]) => void) => void;
  for (const [name, fn] of Object.entries(listeners)) on(name, fn as (...a: unknown[]) => void);
  return {
    registry,
    readiness: (ready) => void readinessFns(m.ready).set(pipeline, ready),
    close() {
      collectors(m.tableLag).delete(pipeline);
      for (const [name, fn] of Object.entries(listeners)) off(name, fn as (...a: unknown[]) => void);
    },
  };
}

/** Per `nilus_ready` gauge (one per registry), each pipeline's readiness, read at every scrape. */
const readinessOf = new WeakMap<Gauge, Map<string, () => boolean>>();

function readinessFns(g: Gauge): Map<string, () => boolean> {
  let fns = readinessOf.get(g);
  if (!fns) {
    const all = new Map<string, () => boolean>();
    fns = all;
    readinessOf.set(g, all);
    Object.assign(g, {
      collect(): void {
        for (const [pipeline, ready] of all) g.set({ pipeline }, ready() ? 1 : 0);
      },
    });
  }
  return fns;
}

/** Per gauge computed at scrape time (one per registry), each pipeline's update, given the time. */
const collectorsOf = new WeakMap<Gauge, Map<string, (nowMs: number) => void>>();

function collectors(g: Gauge): Map<string, (nowMs: number) => void> {
  let fns = collectorsOf.get(g);
  if (!fns) {
    const all = new Map<string, (nowMs: number) => void>();
    fns = all;
    collectorsOf.set(g, all);
    Object.assign(g, {
      collect(): void {
        const now = Date.now();
        for (const fn of all.values()) fn(now);
      },
    });
  }
  return fns;
}

function defineMetrics(registry: Registry) {
  // Several pipelines in one process may share a registry: reuse a metric already registered.
  if (!registry.getSingleMetric('process_cpu_user_seconds_total')) collectDefaultMetrics({ register: registry });
  const reuse = <T extends Metric>(name: string, make: () => T): T => (registry.getSingleMetric(name) as T | undefined) ?? make();
  const registers = [registry];
  const counter = (name: string, help: string, labelNames: string[]) =>
    reuse(name, () => new Counter({ name, help, labelNames, registers }));
  const gauge = (name: string, help: string, labelNames: string[]) =>
    reuse(name, () => new Gauge({ name, help, labelNames, registers }));
  const histogram = (name: string, help: string, labelNames: string[], buckets: number[]) =>
    reuse(name, () => new Histogram({ name, help, labelNames, buckets, registers }));

  return {
    consumed: counter('nilus_events_consumed_total', 'Kafka records consumed and decoded, by topic and Debezium op.', ['pipeline', 'topic', 'op']),
    rowsApplied: counter('nilus_rows_applied_total', 'Rows applied to PostgreSQL, by destination table and op (upsert, delete, append, truncate).', ['pipeline', 'table', 'op']),
    unresolvedPlaceholders: counter(
      'nilus_unavailable_unresolved_total',
      'Rows inserted with unchanged-TOAST columns whose value neither the buffer nor the row under the old key (primary-key change) could supply; those columns got their default (NULL).',
      ['pipeline', 'table'],
    ),
    schemaChanges: counter(
      'nilus_schema_changes_total',
      'Column type changes applied to a target in committed flushes, by kind: widen (ALTER COLUMN … TYPE to a wider type), variant (a <col>__v_<type> column added under schema_change: variant).',
      ['pipeline', 'table', 'kind'],
    ),
    flushes: counter('nilus_flushes_total', 'Flushes committed in PostgreSQL.', ['pipeline']),
    flushDuration: histogram('nilus_flush_duration_seconds', 'Time from flush start to PostgreSQL commit.', ['pipeline'], FLUSH_SECONDS_BUCKETS),
    batchEvents: histogram('nilus_batch_events', 'Events per committed flush.', ['pipeline'], BATCH_EVENTS_BUCKETS),
    lag: gauge('nilus_consumer_lag', 'Records behind the high watermark, per partition: end offset minus the offset stored in PostgreSQL, read after each flush and every 10 s from Kafka.', ['pipeline', 'topic', 'partition']),
    tableLag: gauge(
      'nilus_table_lag_seconds',
      'Seconds from the source commit time (source.ts_ms) of the newest change applied to a target table until now, by table; computed at each scrape, so it grows while nothing new is applied (an idle source too: alert on it together with nilus_consumer_lag > 0).',
      ['pipeline', 'table'],
    ),
    latency: histogram('nilus_end_to_end_latency_seconds', 'PostgreSQL commit time minus source commit time (source.ts_ms).', ['pipeline'], LATENCY_SECONDS_BUCKETS),
    deadLettered: counter('nilus_dead_lettered_total', 'Events sent to the dead-letter sink, by source topic.', ['pipeline', 'topic']),
    offsetGaps: counter(
      'nilus_offset_gaps_total',
      'Times a partition resumed past events Kafka no longer held (its stored offset below the log-start offset, or above the high watermark of a re-created topic), with on_offset_gap: skip; by topic and partition.',
      ['pipeline', 'topic', 'partition'],
    ),
    offsetGapEvents: counter(
      'nilus_offset_gap_events_total',
      'Offsets skipped by those gaps (log-start offset minus stored offset; 0 for a re-created topic, whose lost events cannot be counted), by topic and partition.',
      ['pipeline', 'topic', 'partition'],
    ),
    errors: counter('nilus_errors_total', 'Errors that stopped a CDC pipeline, by class: the error\'s class name, e.g. DataError, FatalError, RetriesExhaustedError (other when it is not a plain identifier).', ['pipeline', 'class']),
    retries: counter('nilus_retries_total', 'Retries after a retriable error, by operation.', ['pipeline', 'operation']),
    bufferedBytes: gauge('nilus_buffered_bytes', 'Record bytes (key and payload, a JsonConverter schema not counted) held in buffers, not yet committed.', ['pipeline']),
    bufferedEvents: gauge('nilus_buffered_events', 'Events held in buffers, not yet committed.', ['pipeline']),
    heapCollections: counter('nilus_heap_collections_total', 'Full V8 garbage collections the worker asked for because its heap was above memory_budget_bytes + 32 MiB.', ['pipeline']),
    // Batch pipelines. (nilus_batch_events above is the CDC flush size, kept under its old name.)
    batchRuns: counter('nilus_batch_runs_total', 'Batch runs ended, by outcome (success, failed, aborted, skipped).', ['pipeline', 'outcome']),
    batchLastRows: gauge('nilus_batch_last_run_rows', 'Rows copied by the last batch run that ran (skipped runs excluded).', ['pipeline']),
    batchLastDuration: gauge('nilus_batch_last_run_duration_seconds', 'Duration of the last batch run that ran (skipped runs excluded).', ['pipeline']),
    batchLastSuccess: gauge('nilus_batch_last_run_success', '1 when the last batch run that succeeded or failed succeeded, 0 when it failed (aborted and skipped runs leave it).', ['pipeline']),
    batchLastTimestamp: gauge('nilus_batch_last_run_timestamp_seconds', 'Unix time the last batch run that ran ended (skipped runs excluded).', ['pipeline']),
    batchRunRows: gauge('nilus_batch_run_rows', 'Rows copied so far by the batch run in progress; 0 between runs.', ['pipeline']),
    batchRowsTotal: counter('nilus_batch_rows_total', 'Rows committed by successful batch runs.', ['pipeline']),
    batchWarnings: counter('nilus_batch_warnings_total', 'Values batch runs changed on the way (e.g. MySQL zero dates written as NULL), by kind.', ['pipeline', 'kind']),
    batchNextRun: gauge('nilus_batch_next_run_timestamp_seconds', 'Unix time the next scheduled batch run is due; absent when none is.', ['pipeline']),
    ready: gauge('nilus_ready', '1 while the pipeline is ready (/readyz 200), 0 while not (/readyz 503, its body says what is missing); read at each scrape.', ['pipeline']),
    // Managed source connectors (src/managed/connector.ts).
    sourceConnectorUp: gauge('nilus_source_connector_up', '1 while the managed Debezium connector and all its tasks run, 0 while one is FAILED, paused, stopped, missing or Kafka Connect does not answer.', ['pipeline']),
    slotRetainedWal: gauge('nilus_source_slot_retained_wal_bytes', 'WAL a managed PostgreSQL source keeps for the replication slot (current WAL position minus restart_lsn), polled from pg_replication_slots; by slot.', ['pipeline', 'slot']),
    sourceConnectorFailures: counter('nilus_source_connector_task_failures_total', 'Times the managed Debezium connector or one of its tasks was seen turning FAILED.', ['pipeline']),
  };
}
