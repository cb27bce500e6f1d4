import { CoreEmitter } from '../../../src/kernel/events';
import { createHealthTracker } from '../../../src/observe/health';

function setup(requireKafka = true) {
  let t = 1_000_000;
  const emitter = new CoreEmitter();
  const tracker = createHealthTracker(emitter, { stuckAfterMs: 30_000, requireKafka, now: () => t });
  return { emitter, tracker, advance: (ms: number) => (t += ms), now: () => t };
}

describe('createHealthTracker', () => {
  test('not ready at start, listing everything missing; live during the start-up grace period', () => {
    const { tracker } = setup();
    expect(tracker.health()).toMatchObject({ live: true, ready: false, missing: ['kafka', 'postgresql', 'assignment'], sinceLastTickMs: null });
  });

  test('ready once connected and assigned; an idle replica with no partitions is ready too', () => {
    const { emitter, tracker, now } = setup();
    emitter.emit('state', { kafkaConnected: true, pgConnected: true, loopTickMs: now() });
    expect(tracker.health()).toMatchObject({ ready: false, missing: ['assignment'] });
    emitter.emit('state', { assigned: 3 });
    expect(tracker.health()).toMatchObject({ ready: true, missing: [], assigned: 3 });
    emitter.emit('state', { assigned: 0, idle: true });
    expect(tracker.health()).toMatchObject({ ready: true, idle: true });
    emitter.emit('state', { pgConnected: false });
    expect(tracker.health()).toMatchObject({ ready: false, missing: ['postgresql'] });
  });

  test('a loop that stops ticking is not live and not ready', () => {
    const { emitter, tracker, advance, now } = setup();
    emitter.emit('state', { kafkaConnected: true, pgConnected: true, assigned: 1, loopTickMs: now() });
    advance(30_000);
    expect(tracker.health()).toMatchObject({ live: true, ready: true, sinceLastTickMs: 30_000 });
    advance(1);
    const h = tracker.health();
    expect(h.live).toBe(false);
    expect(h.liveReason).toBe('main loop last ticked 30001 ms ago (limit 30000 ms)');
    expect(h.missing).toEqual(['loop']);
    emitter.emit('state', { loopTickMs: now() });
    expect(tracker.health()).toMatchObject({ live: true, ready: true });
  });

  test('no tick at all after the grace period is not live', () => {
    const { tracker, advance } = setup();
    advance(30_001);
    expect(tracker.health()).toMatchObject({ live: false, liveReason: 'main loop has not ticked since start 30001 ms ago' });
  });

  test('batch pipelines do not wait for Kafka', () => {
    const { emitter, tracker, now } = setup(false);
    emitter.emit('state', { pgConnected: true, loopTickMs: now() });
    expect(tracker.health()).toMatchObject({ ready: true, missing: [] });
  });

  test('batch: not ready while the last finished run failed, ready again after a success; runs in progress do not matter', () => {
    const { emitter, tracker, advance } = setup(false);
    emitter.emit('state', { pgConnected: true });
    expect(tracker.health().batch).toBeUndefined();
    emitter.emit('batchScheduled', { nextRunAt: new Date('2030-01-01T03:00:00Z') });
    expect(tracker.health()).toMatchObject({ ready: true, batch: { running: 0, nextRunAt: '2030-01-01T03:00:00.000Z' } });

    emitter.emit('batchStarted', { source: 'shop.orders', target: 'analytics.orders', strategy: 'merge', trigger: 'schedule' });
    expect(tracker.health()).toMatchObject({ ready: true, batch: { running: 1 } });
    advance(1_000);
    emitter.emit('batchFinished', { outcome: 'failed', rows: 10, durationSeconds: 1, error: new Error('connect to postgresql://u:hunter22@db failed') });
    const failed = tracker.health();
    expect(failed).toMatchObject({ ready: false, missing: ['last_run'] });
    const lastRun = { outcome: 'failed', rows: 10, durationSeconds: 1, finishedAt: new Date(1_001_000).toISOString(), error: 'connect to postgresql://u:***@db failed' };
    expect(failed.batch).toEqual({ running: 0, nextRunAt: '2030-01-01T03:00:00.000Z', lastRun, lastFailure: lastRun });

    // Still unready during the next run, and after runs that were aborted or skipped.
    emitter.emit('batchStarted', { source: 'shop.orders', target: 'analytics.orders', strategy: 'merge', trigger: 'schedule' });
    expect(tracker.health()).toMatchObject({ ready: false, missing: ['last_run'], batch: { running: 1 } });
    emitter.emit('batchFinished', { outcome: 'skipped', rows: 0, durationSeconds: 0 });
    emitter.emit('batchFinished', { outcome: 'aborted', rows: 3, durationSeconds: 0.2 });
    expect(tracker.health()).toMatchObject({ ready: false, batch: { running: 0, lastRun: { outcome: 'aborted', rows: 3 }, lastFailure: { outcome: 'failed' } } });

    emitter.emit('batchStarted', { source: 'shop.orders', target: 'analytics.orders', strategy: 'merge', trigger: 'schedule' });
    emitter.emit('batchFinished', { outcome: 'success', rows: 500, durationSeconds: 2, cursor: '42' });
    const ok = tracker.health();
    expect(ok).toMatchObject({ ready: true, missing: [] });
    expect(ok.batch).toEqual({
      running: 0,
      nextRunAt: '2030-01-01T03:00:00.000Z',
      lastRun: { outcome: 'success', rows: 500, durationSeconds: 2, cursor: '42', finishedAt: new Date(1_001_000).toISOString() },
    });
    emitter.emit('batchScheduled', { nextRunAt: null });
    expect(tracker.health().batch).not.toHaveProperty('nextRunAt');
  });

  test('a failed run before its start was reported does not count runs below zero; CDC health carries no batch part', () => {
    const { emitter, tracker } = setup(false);
    emitter.emit('batchFinished', { outcome: 'failed', rows: 0, durationSeconds: 0.1, error: new Error('source table missing') });
    expect(tracker.health()).toMatchObject({ ready: false, missing: ['postgresql', 'last_run'], batch: { running: 0 } });
    const cdc = setup();
    cdc.emitter.emit('state', { kafkaConnected: true, pgConnected: true, assigned: 1, loopTickMs: cdc.now() });
    expect(cdc.tracker.health()).toMatchObject({ ready: true, missing: [] });
    expect(cdc.tracker.health()).not.toHaveProperty('batch');
  });

  test('requireLoop: false — a pipeline without a main loop stays live without ticks', () => {
    let t = 0;
    const emitter = new CoreEmitter();
    const tracker = createHealthTracker(emitter, { stuckAfterMs: 1_000, requireKafka: false, requireLoop: false, now: () => t });
    emitter.emit('state', { pgConnected: true });
    t = 3_600_000;
    expect(tracker.health()).toMatchObject({ live: true, ready: true, missing: [], sinceLastTickMs: null });
    expect(tracker.health()).not.toHaveProperty('liveReason');
  });

  test('close() stops listening; bad options are rejected', () => {
    const { emitter, tracker } = setup();
    tracker.close();
    emitter.emit('state', { kafkaConnected: true });
    emitter.emit('batchFinished', { outcome: 'failed', rows: 0, durationSeconds: 0 });
    expect(tracker.health().kafkaConnected).toBe(false);
    expect(tracker.health()).not.toHaveProperty('batch');
    expect(emitter.listenerCount('batchFinished') + emitter.listenerCount('batchStarted') + emitter.listenerCount('batchScheduled')).toBe(0);
    expect(() => createHealthTracker(emitter, { stuckAfterMs: 0 })).toThrow(/stuckAfterMs/);
  });
});
