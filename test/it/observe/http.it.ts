import { request } from 'node:http';
import { CoreEmitter } from '../../../src/kernel/events';
import { createHealthTracker } from '../../../src/observe/health';
import { startHttpServer, type RunningHttpServer } from '../../../src/observe/http';
import { createMetrics } from '../../../src/observe/metrics';

interface Reply {
  status: number;
  type: string | undefined;
  body: string;
}

function get(port: number, path: string, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    // agent: false — a pooled keep-alive socket would hide whether the server still listens.
    const req = request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('observability HTTP server (real sockets)', () => {
  let t = 0;
  const emitter = new CoreEmitter();
  const metrics = createMetrics(emitter, { pipeline: 'http-it' });
  const tracker = createHealthTracker(emitter, { stuckAfterMs: 5_000, now: () => t });
  let server: RunningHttpServer;

  beforeAll(async () => {
    server = await startHttpServer({ port: 0, host: '127.0.0.1', registry: metrics.registry, health: tracker.health });
  });
  afterAll(async () => {
    await server.close();
    metrics.close();
    tracker.close();
  });

  test('listens on an ephemeral port', () => {
    expect(server.port).toBeGreaterThan(0);
  });

  test('/metrics serves Prometheus text with the values the core emitted', async () => {
    emitter.emit('consumed', { topic: 'cdc.s.orders', partition: 0, op: 'u', count: 7 });
    emitter.emit('lag', { topic: 'cdc.s.orders', partition: 0, lag: 12 });
    const r = await get(server.port, '/metrics');
    expect(r.status).toBe(200);
    expect(r.type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(r.body).toContain('nilus_events_consumed_total{pipeline="http-it",topic="cdc.s.orders",op="u"} 7');
    expect(r.body).toContain('nilus_consumer_lag{pipeline="http-it",topic="cdc.s.orders",partition="0"} 12');
    expect(r.body).toMatch(/^process_resident_memory_bytes \d+/m);
  });

  test('/readyz and /healthz follow the state events', async () => {
    let r = await get(server.port, '/readyz');
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body)).toMatchObject({ status: 'not ready', missing: ['kafka', 'postgresql', 'assignment'] });
    expect((await get(server.port, '/healthz')).status).toBe(200);

    emitter.emit('state', { kafkaConnected: true, pgConnected: true, loopTickMs: t });
    r = await get(server.port, '/readyz');
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body).missing).toEqual(['assignment']);

    emitter.emit('state', { assigned: 2 });
    r = await get(server.port, '/readyz');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ status: 'ready', missing: [], assigned: 2 });

    t += 6_000; // the loop stops ticking
    const stuck = await get(server.port, '/healthz');
    expect(stuck.status).toBe(503);
    expect(JSON.parse(stuck.body)).toEqual({ status: 'stuck', reason: 'main loop last ticked 6000 ms ago (limit 5000 ms)' });
    expect((await get(server.port, '/readyz')).status).toBe(503);

    emitter.emit('state', { loopTickMs: t });
    expect((await get(server.port, '/healthz')).status).toBe(200);
    expect((await get(server.port, '/readyz')).status).toBe(200);
  });

  test('unknown paths are 404, other methods 405', async () => {
    expect((await get(server.port, '/nope')).status).toBe(404);
    expect((await get(server.port, '/metrics', 'POST')).status).toBe(405);
  });

  test('a port already in use fails with a clear error', async () => {
    await expect(
      startHttpServer({ port: server.port, host: '127.0.0.1', registry: metrics.registry, health: tracker.health }),
    ).rejects.toThrow(/cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
  });

  test('close() frees the port', async () => {
    const other = await startHttpServer({ port: 0, host: '127.0.0.1', registry: metrics.registry, health: tracker.health });
    await get(other.port, '/healthz');
    await other.close();
    await expect(get(other.port, '/healthz')).rejects.toThrow(/ECONNREFUSED/);
  });
});
