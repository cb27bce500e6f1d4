/**
 * PostgreSQL restarts (pg_ctl restart -m fast) while two pipelines apply a 50k-event stream, one
 * merge and one append, each its own consumer group. Every connection dies, idle or mid-COPY;
 * the workers must come back on their own (retries with backoff, counted and logged) and end
 * exact: merge equal to the expected state, append holding every event exactly once.
 */
import type { Pool } from 'pg';
import { createTopics } from '../../helpers/kafka';
import { createTestSchema, dropTestSchemaUnlessFailed, newPool, uniqueName } from '../../helpers/pg';
import { cdcManifest, produceMany, startInProcess } from '../../helpers/pipeline';
import { restartStackPg } from '../../helpers/stack-control';
import { EventFactory, ordersTable } from '../../fixtures/factory';
import { churn, expectedOrders, metricSum, ORDERS_TEXT, ordersRows, pollSql, scrape } from './support';

const EVENTS = 50_000;

describe('PostgreSQL restart mid-stream', () => {
  let pool: Pool;
  let schema: string;
  beforeAll(async () => {
    pool = newPool();
    // A restart kills the pool's idle clients too; without a listener pg would throw them at us.
    pool.on('error', () => undefined);
    schema = await createTestSchema(pool, 'opspg');
  });
  afterAll(async () => {
    await dropTestSchemaUnlessFailed(pool, schema);
    await pool.end();
  });

  it('merge and append workers recover by themselves; targets exact and duplicate-free', async () => {
    const prefix = uniqueName('opspg');
    const f = new EventFactory(ordersTable(prefix));
    await createTopics([f.topic], 2);
    const { state, messages, events } = churn(f, EVENTS, 5_000);
    await produceMany(f.topic, messages);
    const common = { prefix, include: 'public.orders', options: { 'batch.max_rows': 2_000, 'errors.retry.max_ms': 2_000 } };
    const merge = await startInProcess(cdcManifest({ ...common, name: `${prefix}_m`, groupId: `${prefix}_m`, dest: `${schema}.orders_m`, strategy: 'merge' }));
    const append = await startInProcess(cdcManifest({ ...common, name: `${prefix}_a`, groupId: `${prefix}_a`, dest: `${schema}.orders_a`, strategy: 'append' }));
    const progress = (group: string) =>
      `SELECT coalesce(sum(next_offset), 0)::bigint AS n FROM "${schema}".nilus_offsets WHERE group_id = '${group}'`;
    try {
      // Restart as soon as both are under way; a worker still mid-stream then must retry.
      const progressOf = async (g: string) => Number((await pool.query(progress(g))).rows[0].n);
      await pollSql(pool, progress(`${prefix}_m`), (r) => Number(r[0]?.n ?? 0) >= 3_000, 120_000);
      await pollSql(pool, progress(`${prefix}_a`), (r) => Number(r[0]?.n ?? 0) >= 3_000, 120_000);
      const before = { m: await progressOf(`${prefix}_m`), a: await progressOf(`${prefix}_a`) };
      await restartStackPg();
      const midStream = (['m', 'a'] as const).filter((k) => before[k] < messages.length);
      // Vacuous if both had finished: the stream must be long enough to be cut by the restart.
      expect(midStream.length).toBeGreaterThan(0);

      await pollSql(pool, progress(`${prefix}_m`), (r) => Number(r[0]?.n) === messages.length, 150_000);
      await pollSql(pool, progress(`${prefix}_a`), (r) => Number(r[0]?.n) === messages.length, 150_000);
      for (const k of midStream) {
        const svc = k === 'm' ? merge : append;
        const s = await scrape(svc.httpPort);
        expect(metricSum(s, 'nilus_retries_total', {})).toBeGreaterThan(0);
        expect(svc.logs()).toMatch(/"msg":"retrying (apply|stored offsets)"/);
      }
    } finally {
      expect(await merge.stop()).toBe(0);
      expect(await append.stop()).toBe(0);
    }
    const rows = ordersRows((await pool.query(ORDERS_TEXT(schema, 'orders_m'))).rows);
    expect(rows).toEqual(expectedOrders(state));
    const a = await pool.query(
      `SELECT count(*)::int AS n, count(DISTINCT (_nilus_partition, _nilus_offset))::int AS d FROM "${schema}".orders_a`,
    );
    expect(a.rows[0]).toEqual({ n: events, d: events });
  });
});
