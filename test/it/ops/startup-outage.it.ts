/**
 * A dependency that is down when the worker starts is a transient failure like any other: the
 * worker retries forever with capped backoff (errors.retry.max_attempts unset = unlimited),
 * stays up, answers /readyz 503 meanwhile, counts the attempts in nilus_retries_total and logs a
 * line per attempt; when the dependency appears it carries on and becomes ready.
 *
 * The shared stack is never stopped: the worker reaches PostgreSQL (a) or Kafka's bootstrap
 * address (b) through a TCP proxy on a port nothing listens on yet, and the test starts the proxy
 * later. For Kafka only the bootstrap goes through the proxy: the broker's metadata then points
 * the client at the real broker, which is fine, the outage is at start-up.
 */
import type { Pool } from 'pg';
import { createTopics } from '../../helpers/kafka';
import { createTestSchema, dropTestSchemaUnlessFailed, newPool, targetPgUrl, uniqueName } from '../../helpers/pg';
import { cdcManifest, produceMany } from '../../helpers/pipeline';
import { kafkaBrokers } from '../../helpers/stack';
import { EventFactory, ordersTable } from '../../fixtures/factory';
import { churn, expectedOrders, freePort, httpGet, metricSum, ORDERS_TEXT, ordersRows, scrape, sleep } from './support';
import { expectRunning, portOf, stopAll, storedTotal, TcpProxy, untilWhileRunning, withWorkerOutput } from './group';
import { runWorker, type RunningWorker } from './worker';

const OUTAGE_MS = 6_000;
const RETRY = { 'errors.retry.initial_ms': 200, 'errors.retry.max_ms': 1_000 };

function connectionsFile(pgPort: number): string {
  const u = new URL(targetPgUrl());
  return `connections:\n  target-pg:\n    type: postgresql\n    host: 127.0.0.1\n    port: ${pgPort}\n    database: ${u.pathname.slice(1)}\n    username: ${decodeURIComponent(u.username) || 'postgres'}\n    password: ${decodeURIComponent(u.password) || 'unused-with-trust-auth'}\n    sslmode: disable\n    connect_timeout_ms: 2000\n`;
}

/** Retries counted so far (every operation), from the worker's /metrics. */
async function retries(port: number): Promise<number> {
  return metricSum(await scrape(port), 'nilus_retries_total');
}

/**
 * What both cases check while the dependency is down, after OUTAGE_MS: the worker still runs,
 * /readyz is 503 naming the missing dependency, retries are counted and logged per attempt.
 */
async function duringOutage(w: RunningWorker, port: number, missing: 'postgresql' | 'kafka'): Promise<void> {
  await sleep(OUTAGE_MS);
  await expectRunning(w, 'the worker', `${OUTAGE_MS} ms into a ${missing} outage at start-up`);
  const ready = await httpGet(port, '/readyz');
  expect({ readyzStatus: ready.status }).toEqual({ readyzStatus: 503 });
  expect(JSON.parse(ready.body).missing).toContain(missing);
  const first = await retries(port);
  expect({ retriesCounted: first > 0 }).toEqual({ retriesCounted: true });
  // Still retrying, not given up: the count goes on growing, each attempt logged.
  await sleep(3_000);
  await expectRunning(w, 'the worker', `${OUTAGE_MS + 3_000} ms into a ${missing} outage at start-up`);
  const second = await retries(port);
  expect({ retriesStillGrowing: second > first }).toEqual({ retriesStillGrowing: true });
  const retryLines = w.output().split('\n').filter((l) => /"level":"warn"/.test(l) && /"msg":"retrying/.test(l));
  expect({ retryLogLines: retryLines.length >= 2 }).toEqual({ retryLogLines: true });
}

describe('a dependency unreachable at start-up', () => {
  let pool: Pool;
  let schema: string;
  beforeAll(async () => {
    pool = newPool();
    schema = await createTestSchema(pool, 'opsout');
  });
  afterAll(async () => {
    await dropTestSchemaUnlessFailed(pool, schema);
    await pool.end();
  });

  /**
   * The rest of either case, once `w` is started through `proxy` before the proxy listens: the
   * outage checks, then the proxy comes up and the worker applies every event, turns ready and
   * stops cleanly, leaving in `table` what the events say.
   */
  async function outageThenRecovery(c: {
    prefix: string;
    groupId: string;
    w: RunningWorker;
    proxy: TcpProxy;
    missing: 'postgresql' | 'kafka';
    table: string;
  } & Pick<ReturnType<typeof churn>, 'state' | 'messages'>): Promise<void> {
    const { prefix, groupId, w, proxy, missing, table, state, messages } = c;
    const name = { postgresql: 'PostgreSQL', kafka: 'Kafka' }[missing];
    let codes: number[] = [];
    await withWorkerOutput(prefix, () => [w], async () => {
      try {
        const httpPort = await portOf(w);
        await duringOutage(w, httpPort, missing);
        expect(await storedTotal(pool, schema, groupId)).toBe(0);

        await proxy.start();
        await untilWhileRunning([w], `every event to be applied once ${name} is reachable`, async () =>
          ((await storedTotal(pool, schema, groupId)) === messages.length ? true : undefined), 90_000);
        await untilWhileRunning([w], '/readyz to answer 200', async () => ((await httpGet(httpPort, '/readyz')).status === 200 ? true : undefined), 30_000);
        expect(proxy.connections).toBeGreaterThan(0);
      } finally {
        codes = await stopAll([w]);
        await proxy.stop();
      }
      expect({ exitCode: codes[0] }).toEqual({ exitCode: 0 });
      expect(ordersRows((await pool.query(ORDERS_TEXT(schema, table))).rows)).toEqual(expectedOrders(state));
    });
  }

  it('PostgreSQL: the worker waits (503, retries counted and logged), then applies every event and turns ready', async () => {
    const prefix = uniqueName('opsoutpg');
    const groupId = `${prefix}_g`;
    const f = new EventFactory(ordersTable(prefix));
    await createTopics([f.topic], 2);
    const { state, messages } = churn(f, 2_000, 500, 2);
    await produceMany(f.topic, messages);
    const pg = new URL(targetPgUrl());
    const proxy = new TcpProxy(await freePort(), { host: pg.hostname, port: Number(pg.port || 5432) });
    const m = JSON.parse(cdcManifest({
      name: prefix, prefix, groupId, dest: `${schema}.orders`, strategy: 'merge', include: 'public.orders',
      options: { log_level: 'info', ...RETRY },
    }));
    m.spec.sink.address = 'dataos://target-pg';
    const w = runWorker(JSON.stringify(m), { connections: connectionsFile(proxy.port) });
    await outageThenRecovery({ prefix, groupId, w, proxy, missing: 'postgresql', state, messages, table: 'orders' });
  }, 240_000);

  it("Kafka's bootstrap address: the worker waits (503, retries counted and logged), then applies every event and turns ready", async () => {
    const prefix = uniqueName('opsoutk');
    const groupId = `${prefix}_g`;
    const f = new EventFactory(ordersTable(prefix));
    await createTopics([f.topic], 2);
    const { state, messages } = churn(f, 2_000, 500, 2);
    await produceMany(f.topic, messages);
    const [host, port] = kafkaBrokers()[0].split(':');
    const proxy = new TcpProxy(await freePort(), { host, port: Number(port) });
    const m = JSON.parse(cdcManifest({
      name: prefix, prefix, groupId, dest: `${schema}.orders_k`, strategy: 'merge', include: 'public.orders',
      options: { log_level: 'info', ...RETRY },
    }));
    m.spec.source.address = `kafka://127.0.0.1:${proxy.port}`;
    const w = runWorker(JSON.stringify(m));
    await outageThenRecovery({ prefix, groupId, w, proxy, missing: 'kafka', state, messages, table: 'orders_k' });
  }, 240_000);
});
