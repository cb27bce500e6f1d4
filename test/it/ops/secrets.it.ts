/**
 * A password from a connections file (dataos:// address) never reaches the worker's output or
 * /metrics: not at start, not while flushing at debug level, not on error paths (a target schema
 * that does not exist, a broker that refuses connections). The stack's PostgreSQL uses trust
 * auth, so any password connects; the literal is grepped for in everything captured.
 */
import type { Pool } from 'pg';
import { createTopics } from '../../helpers/kafka';
import { createTestSchema, dropTestSchemaUnlessFailed, newPool, uniqueName } from '../../helpers/pg';
import { cdcManifest, produceMany } from '../../helpers/pipeline';
import { EventFactory, ordersTable, orderRow } from '../../fixtures/factory';
import { freePort, httpGet, pollSql } from './support';
import { runWorker, workerPort } from './worker';

const PASSWORD = 'Pw-9f3c1e77-unique-literal';

function connections(): string {
  const u = new URL(process.env.NILUS_TEST_PG_URL!);
  return `connections:\n  target-pg:\n    type: postgresql\n    host: ${u.hostname}\n    port: ${u.port}\n    database: ${u.pathname.slice(1)}\n    username: postgres\n    password: ${PASSWORD}\n    sslmode: disable\n`;
}

function manifestVia(o: Parameters<typeof cdcManifest>[0], broker?: string): string {
  const m = JSON.parse(cdcManifest(o));
  m.spec.sink.address = 'dataos://target-pg';
  if (broker) m.spec.source.address = `kafka://${broker}`;
  return JSON.stringify(m);
}

describe('secrets stay out of logs and metrics', () => {
  let pool: Pool;
  let schema: string;
  beforeAll(async () => {
    pool = newPool();
    schema = await createTestSchema(pool, 'opssec');
  });
  afterAll(async () => {
    await dropTestSchemaUnlessFailed(pool, schema);
    await pool.end();
  });

  it('a running worker at debug level: start, flushes, /metrics, shutdown', async () => {
    const prefix = uniqueName('opssec');
    const f = new EventFactory(ordersTable(prefix));
    await createTopics([f.topic]);
    await produceMany(f.topic, Array.from({ length: 50 }, (_, i) => f.create(orderRow(i + 1, 0))).flat());
    const w = runWorker(manifestVia({ name: prefix, prefix, dest: `${schema}.orders`, strategy: 'merge', include: 'public.orders', options: { log_level: 'debug' } }), { connections: connections() });
    const port = await workerPort(w);
    await pollSql(pool, `SELECT count(*)::int AS n FROM "${schema}".orders`, (r) => r[0]?.n === 50, 60_000);
    const metrics = await httpGet(port, '/metrics');
    const ready = await httpGet(port, '/readyz');
    w.child.kill('SIGTERM');
    expect(await w.code).toBe(0);
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('nilus_flushes_total');
    expect(metrics.body).not.toContain(PASSWORD);
    expect(ready.body).not.toContain(PASSWORD);
    // The configuration really was logged (masked), and flushes were logged at debug.
    expect(w.output()).toMatch(/"password":"\*+"/);
    expect(w.output()).toMatch(/"msg":"flushed"/);
    expect(w.output()).not.toContain(PASSWORD);
  });

  it('error paths: a target schema that does not exist, a broker that refuses', async () => {
    const prefix = uniqueName('opssecx');
    const f = new EventFactory(ordersTable(prefix));
    await createTopics([f.topic]);
    await produceMany(f.topic, f.create(orderRow(1, 0)));
    const noSchema = runWorker(manifestVia({ name: prefix, prefix, dest: `${schema}_missing.orders`, strategy: 'merge', include: 'public.orders', options: { log_level: 'debug', state_schema: schema, auto_create: false } }), { connections: connections() });
    // The offsets live in an existing schema, so start-up succeeds and the first flush fails.
    const noSchemaCode = await noSchema.code;
    if (noSchemaCode !== 1) throw new Error(`exit ${noSchemaCode}: ${noSchema.output().slice(-1500)}`);
    expect(noSchema.output()).toMatch(/"level":"error"/);
    expect(noSchema.output()).toMatch(/_missing/);
    expect(noSchema.output()).not.toContain(PASSWORD);

    // Retried without end by default; with max_attempts set the worker gives up and exits 1,
    // which walks the retry log lines and the final error line.
    const refused = runWorker(manifestVia({ name: prefix, prefix, dest: `${schema}.orders`, strategy: 'merge', include: 'public.orders', options: { log_level: 'debug', 'errors.retry.max_attempts': 2 } }, `127.0.0.1:${await freePort()}`), { connections: connections() });
    expect(await refused.code).toBe(1);
    expect(refused.output()).toMatch(/ECONNREFUSED|Connection error|connect/i);
    expect(refused.output()).not.toContain(PASSWORD);
  });
});
