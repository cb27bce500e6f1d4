import { CoreEmitter } from '../../../src/kernel/events';
import { createHealthTracker } from '../../../src/observe/health';
import { createMetrics } from '../../../src/observe/metrics';

describe('managed source connector: readiness and metrics', () => {
  const ev = (healthy: boolean, newlyFailed = 0, state = healthy ? 'RUNNING' : 'RUNNING') =>
    ({ connector: 'nilus-p', state, tasks: [{ id: 0, state: healthy ? 'RUNNING' : 'FAILED' }], healthy, newlyFailed });

  it('is not ready before the first status and while a task is FAILED; ready again once it runs', () => {
    const emitter = new CoreEmitter();
    const h = createHealthTracker(emitter, { stuckAfterMs: 60_000, requireKafka: false, requireLoop: false, requireSourceConnector: true });
    emitter.emit('state', { pgConnected: true });
    expect(h.health().missing).toEqual(['source_connector']);
    emitter.emit('sourceConnector', ev(true));
    expect(h.health()).toMatchObject({ ready: true, missing: [], sourceConnector: { name: 'nilus-p', state: 'RUNNING', healthy: true } });
    emitter.emit('sourceConnector', ev(false, 1));
    expect(h.health()).toMatchObject({ ready: false, missing: ['source_connector'], sourceConnector: { tasks: [{ id: 0, state: 'FAILED' }] } });
    emitter.emit('sourceConnector', ev(true));
    expect(h.health().ready).toBe(true);
    h.close();
  });

  it('pipelines without a managed source never wait for it', () => {
    const emitter = new CoreEmitter();
    const h = createHealthTracker(emitter, { stuckAfterMs: 60_000, requireKafka: false, requireLoop: false });
    emitter.emit('state', { pgConnected: true });
    expect(h.health().ready).toBe(true);
    h.close();
  });

  it('counts FAILED transitions and exposes up/down', async () => {
    const emitter = new CoreEmitter();
    const m = createMetrics(emitter, { pipeline: 'p' });
    emitter.emit('sourceConnector', ev(true));
    emitter.emit('sourceConnector', ev(false, 1));
    emitter.emit('sourceConnector', ev(false, 0));
    const text = await m.registry.metrics();
    expect(text).toMatch(/nilus_source_connector_up\{pipeline="p"\} 0/);
    expect(text).toMatch(/nilus_source_connector_task_failures_total\{pipeline="p"\} 1/);
    m.close();
  });
});
