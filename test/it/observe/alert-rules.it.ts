/**
 * A real Prometheus (Debian's `prometheus` binary: a temporary config and TSDB folder, a free port)
 * scrapes the worker's HTTP server, fed by the core's events, and loads
 * deploy/prometheus/nilus-pg.rules.yml: every metric the rules name exists as scraped, every rule
 * evaluates without error, and the alerts these events call for fire.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { CoreEmitter } from '../../../src/kernel/events';
import { createHealthTracker } from '../../../src/observe/health';
import { startHttpServer, type RunningHttpServer } from '../../../src/observe/http';
import { createMetrics } from '../../../src/observe/metrics';
import { promqlRefs } from '../../helpers/promql';
import { freePort } from '../ops/support';

const rulesFile = join(__dirname, '..', '..', '..', 'deploy', 'prometheus', 'nilus-pg.rules.yml');
const rules = (parse(readFileSync(rulesFile, 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] }).groups.flatMap((g) => g.rules);

function getJson(port: number, path: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // /-/ready answers plain text
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('alert rules against a real Prometheus scraping the worker', () => {
  const emitter = new CoreEmitter();
  const metrics = createMetrics(emitter, { pipeline: 'alerts-it' });
  const tracker = createHealthTracker(emitter, { stuckAfterMs: 60_000 });
  // As src/service/run.ts wires it: not ready here (nothing connected), so NilusNotReady's input is 0.
  metrics.readiness(() => tracker.health().ready);
  const dir = mkdtempSync(join(tmpdir(), 'nilus-prometheus-'));
  let server: RunningHttpServer;
  let prom: ChildProcess;
  let promPort = 0;
  let promLog = '';

  beforeAll(async () => {
    // One event of each kind the rules' metrics come from.
    const now = Date.now();
    emitter.emit('flushed', {
      durationSeconds: 0.05,
      events: 3,
      tables: [{ table: '"public"."orders"', upserts: 2, deletes: 1, appends: 0, truncates: 0, sourceTsMs: now - 2_000 }],
      sourceTsMs: [now - 2_000],
      commitTsMs: now,
    });
    emitter.emit('lag', { topic: 'dbz.public.orders', partition: 0, lag: 5 });
    emitter.emit('deadLettered', { topic: 'dbz.public.orders', partition: 0, offset: '7', reason: 'test' });
    emitter.emit('offsetGap', { topic: 'dbz.public.orders', partition: 1, kind: 'deleted', stored: '3', low: '10', high: '20', skipped: 7 });
    emitter.emit('retry', { operation: 'apply', attempt: 1, delayMs: 100, error: new Error('connection refused') });
    emitter.emit('batchFinished', { outcome: 'failed', rows: 0, durationSeconds: 1, error: new Error('boom') });
    emitter.emit('sourceConnector', { connector: 'nilus-alerts-it', state: 'RUNNING', tasks: [{ id: 0, state: 'FAILED' }], healthy: false, newlyFailed: 1 });
    emitter.emit('sourceSlot', { slot: 'nilus_alerts_it', exists: true, active: false, retainedBytes: 4096 });

    server = await startHttpServer({ port: 0, host: '127.0.0.1', registry: metrics.registry, health: tracker.health });
    promPort = await freePort();
    const config = join(dir, 'prometheus.yml');
    writeFileSync(
      config,
      [
        'global: { scrape_interval: 1s, evaluation_interval: 1s }',
        `rule_files: [${JSON.stringify(rulesFile)}]`,
        'scrape_configs:',
        '  - job_name: nilus-pg',
        `    static_configs: [{ targets: ["127.0.0.1:${server.port}"] }]`,
        '',
      ].join('\n'),
    );
    try {
      prom = spawn('prometheus', [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (err) {
      throw new Error(`cannot start prometheus (install Debian's prometheus package): ${String(err)}`);
    }
    prom.on('error', (err) => (promLog += `\nspawn error: ${err.message} (install Debian's prometheus package)`));
    prom.stdout!.on('data', (c: Buffer) => (promLog += c.toString()));
    prom.stderr!.on('data', (c: Buffer) => (promLog += c.toString()));
    await until('Prometheus to be ready', async () => ((await getJson(promPort, '/-/ready')).status === 200 ? true : undefined)).catch((err: Error) => {
      throw new Error(`${err.message}\nprometheus log:\n${promLog.slice(-3000)}`);
    });
  });

  afterAll(async () => {
    if (prom && prom.exitCode === null) {
      const exited = new Promise((r) => prom.once('exit', r));
      prom.kill('SIGTERM');
      await exited;
    }
    await server?.close();
    metrics.close();
    tracker.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('every metric the rules name is scraped from the worker (and `up` is 1)', async () => {
    const names = [...new Set(rules.flatMap((r) => promqlRefs(r.expr).metrics))];
    expect(names.length).toBeGreaterThanOrEqual(9);
    const query = (q: string) => getJson(promPort, `/api/v1/query?query=${encodeURIComponent(q)}`);
    await until('the first scrape', async () => {
      const r = await query('up{job="nilus-pg"} == 1');
      return r.body?.data?.result?.length === 1 ? true : undefined;
    });
    const missing: string[] = [];
    for (const name of names) {
      const r = await query(name);
      expect(r.body.status).toBe('success');
      const result = r.body.data.result as { metric: Record<string, string> }[];
      if (result.length === 0) missing.push(name);
      for (const s of result) {
        expect(s.metric).toMatchObject({ job: 'nilus-pg', instance: `127.0.0.1:${server.port}` });
        if (name !== 'up') expect(s.metric.pipeline).toBe('alerts-it');
      }
    }
    expect(missing).toEqual([]);
  });

  test('every rule evaluates without error, and the alerts these events call for fire', async () => {
    const groups = await until('every rule evaluated once', async () => {
      const r = await getJson(promPort, '/api/v1/rules');
      const g = (r.body?.data?.groups ?? []) as { rules: { name: string; health: string; lastError?: string }[] }[];
      const all = g.flatMap((x) => x.rules);
      return all.length === rules.length && all.every((x) => x.health !== 'unknown') ? all : undefined;
    });
    expect(groups.map((r) => ({ name: r.name, health: r.health, lastError: r.lastError ?? '' }))).toEqual(
      rules.map((r) => ({ name: r.alert, health: 'ok', lastError: '' })),
    );
    // No `for`: a failed batch run, a failed connector task, a dead letter and an offset gap fire at once.
    const expected = ['NilusBatchRunFailed', 'NilusDeadLettersGrowing', 'NilusOffsetGapSkipped', 'NilusSourceConnectorTaskFailed'];
    const firing = await until('the alerts to fire', async () => {
      const r = await getJson(promPort, '/api/v1/alerts');
      const alerts = (r.body?.data?.alerts ?? []) as { labels: Record<string, string>; state: string }[];
      const names = alerts.filter((a) => a.state === 'firing').map((a) => a.labels.alertname!);
      return expected.every((n) => names.includes(n)) ? alerts : undefined;
    });
    for (const a of firing.filter((x) => x.state === 'firing')) expect(a.labels).toMatchObject({ pipeline: 'alerts-it', job: 'nilus-pg' });
    // The connector has been down for less than its 2 minutes: pending. The retry counter has not
    // increased since it first appeared, and the worker answers scrapes.
    expect(firing.filter((a) => a.labels.alertname === 'NilusSourceConnectorDown').map((a) => a.state)).toEqual(['pending']);
    // Nothing is connected here, so nilus_ready is 0: NilusNotReady waits out its 5 minutes.
    expect(firing.filter((a) => a.labels.alertname === 'NilusNotReady').map((a) => a.state)).toEqual(['pending']);
    const names = firing.map((a) => a.labels.alertname);
    expect(names).not.toContain('NilusWorkerDown');
    expect(names).not.toContain('NilusRetryingWithoutProgress');
  });
});
