/**
 * PostgreSQL refusing the worker's connections with 53300 too_many_connections at start-up (its
 * max_connections, or the role's or database's CONNECTION LIMIT, reached) is transient: the worker
 * retries with backoff like any other start-up outage, stays up, answers /readyz 503, counts the
 * attempts in nilus_retries_total{operation="start-up"} and logs each with the server's words; once
 * a connection is allowed it applies every event and turns ready.
 *
 * The limit is the CONNECTION LIMIT 0 of a role this test creates (and drops), so the shared
 * server's own limits are never touched.
 */
import type { Pool } from 'pg';
import { createTopics } from '../../helpers/kafka';
import { createTestSchema, dropTestSchemaUnlessFailed, newPool, targetPgUrl, uniqueName } from '../../helpers/pg';
import { cdcManifest, produceMany } from '../../helpers/pipeline';
import { EventFactory, ordersTable } from '../../fixtures/factory';
import { churn, expectedOrders, httpGet, metricSum, ORDERS_TEXT, ordersRows, scrape, sleep } from '../ops/support';
import { expectRunning, portOf, stopAll, storedTotal, untilWhileRunning, withWorkerOutput } from '../ops/group';
import { runWorker } from '../ops/worker';

describe('too many connections at start-up', () => {
  let pool: Pool;
  let schema: string;
  const role = uniqueName('flt53300');
  beforeAll(async () => {
    pool = newPool();
    schema = await createTestSchema(pool, 'flt53300');
    await pool.query(`CREATE ROLE "${role}" LOGIN PASSWORD 'unused-with-trust-auth' CONNECTION LIMIT 0`);
    await pool.query(`GRANT ALL ON SCHEMA "${schema}" TO "${role}"`);
  });
  afterAll(async () => {
    // The role goes, and its limit with it; tables it made in a schema kept for inspection (a
    // failed test) are handed to the test's own user first.
    await pool.query(`REASSIGN OWNED BY "${role}" TO CURRENT_USER`);
    await pool.query(`DROP OWNED BY "${role}"`);
    await pool.query(`DROP ROLE "${role}"`);
    await dropTestSchemaUnlessFailed(pool, schema);
    await pool.end();
  });

  it('53300 is retried with backoff (503, nilus_retries_total, a log line each), then every event is applied', async () => {
    const prefix = uniqueName('flt53300');
    const groupId = `${prefix}_g`;
    const f = new EventFactory(ordersTable(prefix));
    await createTopics([f.topic], 2);
    const { state, messages } = churn(f, 2_000, 500, 2);
    await produceMany(f.topic, messages);

    const url = new URL(targetPgUrl());
    url.username = role;
    url.password = 'unused-with-trust-auth';
    url.searchParams.set('sslmode', 'disable');
    const m = JSON.parse(cdcManifest({
      name: prefix, prefix, groupId, dest: `${schema}.orders`, strategy: 'merge', include: 'public.orders',
      options: { log_level: 'info', 'errors.retry.initial_ms': 200, 'errors.retry.max_ms': 1_000 },
    }));
    m.spec.sink.address = url.toString();
    const w = runWorker(JSON.stringify(m));
    let codes: number[] = [];
    await withWorkerOutput(prefix, () => [w], async () => {
      try {
        const port = await portOf(w);
        await sleep(4_000);
        await expectRunning(w, 'the worker', 'while PostgreSQL refuses it with 53300');
        const ready = await httpGet(port, '/readyz');
        expect({ readyzStatus: ready.status }).toEqual({ readyzStatus: 503 });
        expect(JSON.parse(ready.body).missing).toContain('postgresql');
        const first = metricSum(await scrape(port), 'nilus_retries_total', { operation: 'start-up' });
        expect({ startUpRetriesCounted: first > 0 }).toEqual({ startUpRetriesCounted: true });
        const retryLines = w.output().split('\n').filter((l) => /"msg":"retrying start-up"/.test(l));
        expect({ retryLogLines: retryLines.length >= 2 }).toEqual({ retryLogLines: true });
        // Each names the refusal as the server worded it, and what to do.
        expect(retryLines[0]).toContain(`too many connections for role \\"${role}\\"`);
        expect(retryLines[0]).toContain('CONNECTION LIMIT');
        expect(await storedTotal(pool, schema, groupId)).toBe(0);
        await sleep(2_000);
        const second = metricSum(await scrape(port), 'nilus_retries_total', { operation: 'start-up' });
        expect({ retriesStillGrowing: second > first }).toEqual({ retriesStillGrowing: true });

        await pool.query(`ALTER ROLE "${role}" CONNECTION LIMIT -1`);
        await untilWhileRunning([w], 'every event to be applied once connections are allowed', async () =>
          ((await storedTotal(pool, schema, groupId)) === messages.length ? true : undefined), 60_000);
        await untilWhileRunning([w], '/readyz to answer 200', async () => ((await httpGet(port, '/readyz')).status === 200 ? true : undefined), 30_000);
        console.log(`53300 at start-up: ${second} start-up retries before the limit was raised`);
      } finally {
        codes = await stopAll([w]);
      }
      expect({ exitCode: codes[0] }).toEqual({ exitCode: 0 });
      expect(ordersRows((await pool.query(ORDERS_TEXT(schema))).rows)).toEqual(expectedOrders(state));
    });
  }, 150_000);
});
