import { CoreEmitter } from '../../../src/core/events';
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

  test('close() stops listening; bad options are rejected', () => {
    const { emitter, tracker } = setup();
    tracker.close();
    emitter.emit('state', { kafkaConnected: true });
    expect(tracker.health().kafkaConnected).toBe(false);
    expect(() => createHealthTracker(emitter, { stuckAfterMs: 0 })).toThrow(/stuckAfterMs/);
  });
});
