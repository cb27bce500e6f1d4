/**
 * The Kafka broker stops (TERM, as `stack.sh down` stops it) and starts again while two pipelines
 * apply a stream, one merge and one append, each its own consumer group. The workers reconnect
 * and rejoin on their own; the targets end exact. Kafka Connect, which also lost the broker, is
 * waited for at the end so the stack is healthy for whatever runs next.
 */
import type { Pool } from 'pg';
import { createTopics } from '../../helpers/kafka';
import { createTestSchema, dropTestSchemaUnlessFailed, newPool, uniqueName } from '../../helpers/pg';
import { cdcManifest, produceMany, startInProcess } from '../../helpers/pipeline';
import { startStackKafka, stopStackKafka, waitForConnect } from '../../helpers/stack-control';
import { EventFactory, ordersTable } from '../../fixtures/factory';
import { churn, expectedOrders, httpGet, ORDERS_TEXT, ordersRows, pollSql, sleep, until } from './support';

const EVENTS = 50_000;

describe('Kafka broker restart mid-stream', () => {
  let pool: Pool;
  let schema: string;
  beforeAll(async () => {
    pool = newPool();
    schema = await createTestSchema(pool, 'opskafka');
  });
  afterAll(async () => {
    await dropTestSchemaUnlessFailed(pool, schema);
    await pool.end();
  });

  it('merge and append workers reconnect by themselves; targets exact and duplicate-free', async () => {
    const prefix = uniqueName('opskafka');
    const f = new EventFactory(ordersTable(prefix));
    await createTopics([f.topic], 2);
    const { state, messages, events } = churn(f, EVENTS, 5_000);
    await produceMany(f.topic, messages);
    const common = { prefix, include: 'public.orders', options: { 'batch.max_rows': 1_000 } };
    const merge = await startInProcess(cdcManifest({ ...common, name: `${prefix}_m`, groupId: `${prefix}_m`, dest: `${schema}.orders_m`, strategy: 'merge' }));
    const append = await startInProcess(cdcManifest({ ...common, name: `${prefix}_a`, groupId: `${prefix}_a`, dest: `${schema}.orders_a`, strategy: 'append' }));
    const progress = (group: string) =>
      `SELECT coalesce(sum(next_offset), 0)::bigint AS n FROM "${schema}".nilus_offsets WHERE group_id = '${group}'`;
    let brokerDown = false;
    try {
      await pollSql(pool, progress(`${prefix}_m`), (r) => Number(r[0]?.n ?? 0) >= 5_000, 120_000);
      await pollSql(pool, progress(`${prefix}_a`), (r) => Number(r[0]?.n ?? 0) >= 5_000, 120_000);
      brokerDown = true;
      stopStackKafka();
      const stalled = Number((await pool.query(progress(`${prefix}_a`))).rows[0].n);
      expect(stalled).toBeLessThan(messages.length);
      await sleep(3_000);
      // Still alive while the broker is gone: a lost broker is not a reason to exit.
      for (const svc of [merge, append]) expect((await httpGet(svc.httpPort, '/healthz')).status).toBe(200);
      startStackKafka();
      brokerDown = false;

      await pollSql(pool, progress(`${prefix}_m`), (r) => Number(r[0]?.n) === messages.length, 150_000);
      await pollSql(pool, progress(`${prefix}_a`), (r) => Number(r[0]?.n) === messages.length, 150_000);
      for (const svc of [merge, append]) {
        await until('ready again', async () => ((await httpGet(svc.httpPort, '/readyz')).status === 200 ? true : undefined), 30_000);
      }
    } finally {
      if (brokerDown) startStackKafka();
      expect(await merge.stop()).toBe(0);
      expect(await append.stop()).toBe(0);
      await waitForConnect();
    }
    expect(ordersRows((await pool.query(ORDERS_TEXT(schema, 'orders_m'))).rows)).toEqual(expectedOrders(state));
    const a = await pool.query(
      `SELECT count(*)::int AS n, count(DISTINCT (_nilus_partition, _nilus_offset))::int AS d FROM "${schema}".orders_a`,
    );
    expect(a.rows[0]).toEqual({ n: events, d: events });
  });
});
