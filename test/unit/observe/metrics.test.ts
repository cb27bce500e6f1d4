import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { CoreEmitter } from '../../../src/kernel/events';
import { DataError, FatalError } from '../../../src/kernel/errors';
import { RetriesExhaustedError } from '../../../src/kernel/retry';
import { createMetrics } from '../../../src/observe/metrics';

function setup() {
  const emitter = new CoreEmitter();
  const metrics = createMetrics(emitter, { pipeline: 'orders-cdc' });
  const text = () => metrics.registry.metrics();
  return { emitter, metrics, text };
}

/** The sample lines of one metric family, without HELP/TYPE. */
async function samples(text: () => Promise<string>, name: string): Promise<string[]> {
  return (await text()).split('\n').filter((l) => l.startsWith(name + '{') || l.startsWith(name + ' '));
}

describe('createMetrics', () => {
  test('consumed events by topic and op', async () => {
    const { emitter, text } = setup();
    emitter.emit('consumed', { topic: 'cdc.retail.orders', partition: 0, op: 'c', count: 3 });
    emitter.emit('consumed', { topic: 'cdc.retail.orders', partition: 1, op: 'c', count: 2 });
    emitter.emit('consumed', { topic: 'cdc.retail.orders', partition: 1, op: 'tombstone', count: 1 });
    expect(await samples(text, 'nilus_events_consumed_total')).toEqual([
      'nilus_events_consumed_total{pipeline="orders-cdc",topic="cdc.retail.orders",op="c"} 5',
      'nilus_events_consumed_total{pipeline="orders-cdc",topic="cdc.retail.orders",op="tombstone"} 1',
    ]);
  });

  test('a flush feeds rows, flushes, duration, batch size and end-to-end latency', async () => {
    const { emitter, text } = setup();
    emitter.emit('flushed', {
      durationSeconds: 0.2,
      events: 120,
      tables: [
        { table: 'analytics.orders', upserts: 100, deletes: 5, appends: 0, truncates: 0 },
        { table: 'analytics.lines', upserts: 0, deletes: 0, appends: 14, truncates: 1 },
      ],
      sourceTsMs: [99_000, 99_700, 101_000],
      commitTsMs: 100_000,
    });
    expect(await samples(text, 'nilus_rows_applied_total')).toEqual([
      'nilus_rows_applied_total{pipeline="orders-cdc",table="analytics.orders",op="upsert"} 100',
      'nilus_rows_applied_total{pipeline="orders-cdc",table="analytics.orders",op="delete"} 5',
      'nilus_rows_applied_total{pipeline="orders-cdc",table="analytics.lines",op="append"} 14',
      'nilus_rows_applied_total{pipeline="orders-cdc",table="analytics.lines",op="truncate"} 1',
    ]);
    expect(await samples(text, 'nilus_flushes_total')).toEqual(['nilus_flushes_total{pipeline="orders-cdc"} 1']);
    const flush = await samples(text, 'nilus_flush_duration_seconds_bucket');
    expect(flush).toContain('nilus_flush_duration_seconds_bucket{le="0.1",pipeline="orders-cdc"} 0');
    expect(flush).toContain('nilus_flush_duration_seconds_bucket{le="0.25",pipeline="orders-cdc"} 1');
    expect(await samples(text, 'nilus_flush_duration_seconds_sum')).toEqual(['nilus_flush_duration_seconds_sum{pipeline="orders-cdc"} 0.2']);
    expect(await samples(text, 'nilus_batch_events_sum')).toEqual(['nilus_batch_events_sum{pipeline="orders-cdc"} 120']);
    expect(await samples(text, 'nilus_batch_events_bucket')).toContain('nilus_batch_events_bucket{le="100",pipeline="orders-cdc"} 0');
    expect(await samples(text, 'nilus_batch_events_bucket')).toContain('nilus_batch_events_bucket{le="500",pipeline="orders-cdc"} 1');
    // 1.0 s, 0.3 s, and −1 s (source clock ahead) clamped to 0.
    expect(await samples(text, 'nilus_end_to_end_latency_seconds_count')).toEqual([
      'nilus_end_to_end_latency_seconds_count{pipeline="orders-cdc"} 3',
    ]);
    expect(await samples(text, 'nilus_end_to_end_latency_seconds_sum')).toEqual([
      'nilus_end_to_end_latency_seconds_sum{pipeline="orders-cdc"} 1.3',
    ]);
    const lat = await samples(text, 'nilus_end_to_end_latency_seconds_bucket');
    expect(lat).toContain('nilus_end_to_end_latency_seconds_bucket{le="0.05",pipeline="orders-cdc"} 1');
    expect(lat).toContain('nilus_end_to_end_latency_seconds_bucket{le="0.5",pipeline="orders-cdc"} 2');
    expect(lat).toContain('nilus_end_to_end_latency_seconds_bucket{le="1",pipeline="orders-cdc"} 3');
  });

  test('gauges hold the last value; lag is per partition', async () => {
    const { emitter, text } = setup();
    emitter.emit('buffered', { bytes: 1000, events: 10 });
    emitter.emit('buffered', { bytes: 250, events: 3 });
    emitter.emit('lag', { topic: 'cdc.s.t', partition: 0, lag: 40 });
    emitter.emit('lag', { topic: 'cdc.s.t', partition: 1, lag: 7 });
    emitter.emit('lag', { topic: 'cdc.s.t', partition: 0, lag: 0 });
    expect(await samples(text, 'nilus_buffered_bytes')).toEqual(['nilus_buffered_bytes{pipeline="orders-cdc"} 250']);
    expect(await samples(text, 'nilus_buffered_events')).toEqual(['nilus_buffered_events{pipeline="orders-cdc"} 3']);
    expect(await samples(text, 'nilus_consumer_lag')).toEqual([
      'nilus_consumer_lag{pipeline="orders-cdc",topic="cdc.s.t",partition="0"} 0',
      'nilus_consumer_lag{pipeline="orders-cdc",topic="cdc.s.t",partition="1"} 7',
    ]);
  });

  test('dead letters by topic, errors by class, retries by operation; no offsets or keys in labels', async () => {
    const { emitter, text } = setup();
    emitter.emit('deadLettered', { topic: 'cdc.s.t', partition: 0, offset: '17', reason: 'bad json' });
    emitter.emit('deadLettered', { topic: 'cdc.s.t', partition: 2, offset: '99', reason: 'constraint' });
    emitter.emit('error', { errorClass: 'data', error: new Error('x') });
    emitter.emit('error', { errorClass: 'retriable', error: new Error('y') });
    emitter.emit('error', { errorClass: 'weird class with spaces {}', error: new Error('z') });
    emitter.emit('retry', { operation: 'flush', attempt: 1, delayMs: 5, error: new Error('e') });
    emitter.emit('retry', { operation: 'flush', attempt: 2, delayMs: 9, error: new Error('e') });
    expect(await samples(text, 'nilus_dead_lettered_total')).toEqual(['nilus_dead_lettered_total{pipeline="orders-cdc",topic="cdc.s.t"} 2']);
    expect(await samples(text, 'nilus_errors_total')).toEqual([
      'nilus_errors_total{pipeline="orders-cdc",class="data"} 1',
      'nilus_errors_total{pipeline="orders-cdc",class="retriable"} 1',
      'nilus_errors_total{pipeline="orders-cdc",class="other"} 1',
    ]);
    expect(await samples(text, 'nilus_retries_total')).toEqual(['nilus_retries_total{pipeline="orders-cdc",operation="flush"} 2']);
    expect(await text()).not.toMatch(/offset="|key="|reason="/);
  });

  test('offset gaps skipped: counted per topic and partition, with the offsets they skipped', async () => {
    const { emitter, text } = setup();
    emitter.emit('offsetGap', { topic: 'cdc.s.t', partition: 1, kind: 'deleted', stored: '10', low: '25', high: '60', skipped: 15 });
    emitter.emit('offsetGap', { topic: 'cdc.s.t', partition: 1, kind: 'deleted', stored: '70', low: '80', high: '90', skipped: 10 });
    emitter.emit('offsetGap', { topic: 'cdc.s.u', partition: 0, kind: 'recreated', stored: '120', low: '0', high: '4', skipped: 0 });
    expect(await samples(text, 'nilus_offset_gaps_total')).toEqual([
      'nilus_offset_gaps_total{pipeline="orders-cdc",topic="cdc.s.t",partition="1"} 2',
      'nilus_offset_gaps_total{pipeline="orders-cdc",topic="cdc.s.u",partition="0"} 1',
    ]);
    expect(await samples(text, 'nilus_offset_gap_events_total')).toEqual([
      'nilus_offset_gap_events_total{pipeline="orders-cdc",topic="cdc.s.t",partition="1"} 25',
      'nilus_offset_gap_events_total{pipeline="orders-cdc",topic="cdc.s.u",partition="0"} 0',
    ]);
    expect(await text()).not.toMatch(/offset="|stored="|low="/);
  });

  test('nilus_errors_total: its help names the class values it has, the class names of the errors that stop a pipeline', async () => {
    const { emitter, text } = setup();
    // as the core reports the error that stopped it (src/engine/lifecycle.ts: errorClass is err.name)
    for (const err of [new DataError('bad row', undefined), new FatalError('gone'), new RetriesExhaustedError('apply', 3, new Error('down'))]) {
      emitter.emit('error', { errorClass: err.name, error: err });
    }
    const classes = (await samples(text, 'nilus_errors_total')).map((l) => /class="([^"]*)"/.exec(l)![1]);
    expect(classes).toEqual(['DataError', 'FatalError', 'RetriesExhaustedError']);
    const help = /^# HELP nilus_errors_total (.*)$/m.exec(await text())![1];
    for (const c of classes) expect(help).toContain(c);
    // not the classification words (retriable, data, fatal): no error carries them as its class
    expect(help).not.toMatch(/\b(retriable|data|fatal)\b/);
  });

  test('batch runs: outcomes counted, last-run gauges from runs that ran, rows of the run in progress', async () => {
    const { emitter, text } = setup();
    const one = async (name: string) => samples(text, name);
    emitter.emit('batchStarted', { source: 'shop.orders', target: 'analytics.orders', strategy: 'replace', trigger: 'schedule' });
    emitter.emit('batchProgress', { rows: 5_000, elapsedSeconds: 2, rowsPerSecond: 2_500 });
    expect(await one('nilus_batch_run_rows')).toEqual(['nilus_batch_run_rows{pipeline="orders-cdc"} 5000']);
    emitter.emit('batchWarning', { kind: 'zero_date', table: 'shop.orders', column: 'shipped_at', count: 3 });
    emitter.emit('batchWarning', { kind: 'zero_date', table: 'shop.orders', column: 'paid_at', count: 2 });
    jest.useFakeTimers({ now: new Date('2030-01-01T00:00:00Z') });
    emitter.emit('batchFinished', { outcome: 'success', rows: 7_000, durationSeconds: 3.5, cursor: '2030-01-01' });
    jest.useRealTimers();
    expect(await one('nilus_batch_runs_total')).toEqual(['nilus_batch_runs_total{pipeline="orders-cdc",outcome="success"} 1']);
    expect(await one('nilus_batch_last_run_rows')).toEqual(['nilus_batch_last_run_rows{pipeline="orders-cdc"} 7000']);
    expect(await one('nilus_batch_last_run_duration_seconds')).toEqual(['nilus_batch_last_run_duration_seconds{pipeline="orders-cdc"} 3.5']);
    expect(await one('nilus_batch_last_run_success')).toEqual(['nilus_batch_last_run_success{pipeline="orders-cdc"} 1']);
    expect(await one('nilus_batch_last_run_timestamp_seconds')).toEqual(['nilus_batch_last_run_timestamp_seconds{pipeline="orders-cdc"} 1893456000']);
    expect(await one('nilus_batch_run_rows')).toEqual(['nilus_batch_run_rows{pipeline="orders-cdc"} 0']);
    expect(await one('nilus_batch_rows_total')).toEqual(['nilus_batch_rows_total{pipeline="orders-cdc"} 7000']);
    expect(await one('nilus_batch_warnings_total')).toEqual(['nilus_batch_warnings_total{pipeline="orders-cdc",kind="zero_date"} 5']);

    // Skipped: counted, nothing else moves. Aborted: last-run gauges move, success does not.
    emitter.emit('batchFinished', { outcome: 'skipped', rows: 0, durationSeconds: 0 });
    emitter.emit('batchStarted', { source: 'shop.orders', target: 'analytics.orders', strategy: 'replace', trigger: 'schedule' });
    emitter.emit('batchProgress', { rows: 100, elapsedSeconds: 1, rowsPerSecond: 100 });
    emitter.emit('batchFinished', { outcome: 'aborted', rows: 100, durationSeconds: 1 });
    expect(await one('nilus_batch_last_run_rows')).toEqual(['nilus_batch_last_run_rows{pipeline="orders-cdc"} 100']);
    expect(await one('nilus_batch_last_run_success')).toEqual(['nilus_batch_last_run_success{pipeline="orders-cdc"} 1']);
    expect(await one('nilus_batch_rows_total')).toEqual(['nilus_batch_rows_total{pipeline="orders-cdc"} 7000']);

    emitter.emit('batchFinished', { outcome: 'failed', rows: 40, durationSeconds: 0.5, error: new Error('boom') });
    expect(await one('nilus_batch_last_run_success')).toEqual(['nilus_batch_last_run_success{pipeline="orders-cdc"} 0']);
    expect(await one('nilus_batch_last_run_rows')).toEqual(['nilus_batch_last_run_rows{pipeline="orders-cdc"} 40']);
    expect(await one('nilus_batch_rows_total')).toEqual(['nilus_batch_rows_total{pipeline="orders-cdc"} 7000']);
    expect(await one('nilus_batch_runs_total')).toEqual([
      'nilus_batch_runs_total{pipeline="orders-cdc",outcome="success"} 1',
      'nilus_batch_runs_total{pipeline="orders-cdc",outcome="skipped"} 1',
      'nilus_batch_runs_total{pipeline="orders-cdc",outcome="aborted"} 1',
      'nilus_batch_runs_total{pipeline="orders-cdc",outcome="failed"} 1',
    ]);
    // The CDC flush-size histogram keeps its name and is not fed by batch runs.
    expect(await one('nilus_batch_events_count')).toEqual([]);
    expect(await text()).not.toMatch(/cursor=|table="shop|column=/);
  });

  test('next scheduled batch run: set from batchScheduled, gone when none is due', async () => {
    const { emitter, text } = setup();
    expect(await samples(text, 'nilus_batch_next_run_timestamp_seconds')).toEqual([]);
    emitter.emit('batchScheduled', { nextRunAt: new Date('2030-01-01T03:00:00Z') });
    expect(await samples(text, 'nilus_batch_next_run_timestamp_seconds')).toEqual(['nilus_batch_next_run_timestamp_seconds{pipeline="orders-cdc"} 1893466800']);
    emitter.emit('batchScheduled', { nextRunAt: null });
    expect(await samples(text, 'nilus_batch_next_run_timestamp_seconds')).toEqual([]);
  });

  test('default Node process metrics are present, with HELP and TYPE lines', async () => {
    const { text } = setup();
    const t = await text();
    expect(t).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(t).toContain('# TYPE nilus_flush_duration_seconds histogram');
    expect(t).toContain('# TYPE nilus_consumer_lag gauge');
  });

  test('close() stops counting; two pipelines can share one registry', async () => {
    const registry = new Registry();
    const a = new CoreEmitter();
    const b = new CoreEmitter();
    const ma = createMetrics(a, { pipeline: 'a' }, registry);
    createMetrics(b, { pipeline: 'b' }, registry);
    a.emit('retry', { operation: 'flush', attempt: 1, delayMs: 1, error: new Error('e') });
    b.emit('retry', { operation: 'flush', attempt: 1, delayMs: 1, error: new Error('e') });
    ma.close();
    a.emit('retry', { operation: 'flush', attempt: 2, delayMs: 1, error: new Error('e') });
    expect(await samples(() => registry.metrics(), 'nilus_retries_total')).toEqual([
      'nilus_retries_total{pipeline="a",operation="flush"} 1',
      'nilus_retries_total{pipeline="b",operation="flush"} 1',
    ]);
    expect(a.listenerCount('retry')).toBe(0);
  });
  test('a collection the heap guard asked for is counted', async () => {
    const { emitter, text } = setup();
    emitter.emit('heapCollected', { usedBeforeBytes: 120e6, usedAfterBytes: 60e6, ms: 20 });
    emitter.emit('heapCollected', { usedBeforeBytes: 110e6, usedAfterBytes: 50e6, ms: 18 });
    expect(await samples(text, 'nilus_heap_collections_total')).toEqual(['nilus_heap_collections_total{pipeline="orders-cdc"} 2']);
  });
});

describe('docs/operations.md names every retry operation', () => {
  /** The operation names passed to withRetry / reportedRetry anywhere under src/. */
  function operationsInSource(): Set<string> {
    const found = new Set<string>();
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name.endsWith('.ts')) {
          const text = readFileSync(p, 'utf8');
          for (const m of text.matchAll(/\bwithRetry\(\s*'([^']+)'/g)) found.add(m[1]!);
          for (const m of text.matchAll(/\breportedRetry\(\s*[^,()]+,\s*[^,()]+,\s*'([^']+)'/g)) found.add(m[1]!);
        }
      }
    };
    walk(join(__dirname, '../../../src'));
    return found;
  }

  test('in the nilus_retries_total row and in the retries section', () => {
    const ops = operationsInSource();
    // the scan sees the CDC core's and the batch service's calls
    expect([...ops]).toEqual(expect.arrayContaining(['apply', 'start-up', 'batch run']));
    const doc = readFileSync(join(__dirname, '../../../docs/operations.md'), 'utf8');
    const row = doc.split('\n').find((l) => l.startsWith('| `nilus_retries_total`'))!;
    const prose = /`nilus_retries_total\{operation\}` \(([^)]*)\)/.exec(doc)![1]!;
    for (const op of ops) {
      expect({ op, inRow: row.includes(`\`${op}\``) }).toEqual({ op, inRow: true });
      expect({ op, inProse: prose.includes(`\`${op}\``) }).toEqual({ op, inProse: true });
    }
  });
});

describe('nilus_ready', () => {
  test('follows the readiness function at every scrape, per pipeline, in a shared registry', async () => {
    const registry = new Registry();
    const ma = createMetrics(new CoreEmitter(), { pipeline: 'a' }, registry);
    const mb = createMetrics(new CoreEmitter(), { pipeline: 'b' }, registry);
    let a = false;
    ma.readiness(() => a);
    mb.readiness(() => true);
    expect(await registry.metrics()).toContain('nilus_ready{pipeline="a"} 0');
    expect(await registry.metrics()).toContain('nilus_ready{pipeline="b"} 1');
    a = true;
    expect(await registry.metrics()).toContain('nilus_ready{pipeline="a"} 1');
  });
});
