/**
 * Poison messages mixed into a stream: the good events all land exactly once, in order; each
 * poison message is in the dead-letter destination with its reason and Kafka position.
 */
import type { Pool } from 'pg';
import { createTopics, readAll } from '../../helpers/kafka';
import { uniqueName, useTestSchema } from '../../helpers/pg';
import { cdcManifest, produceMany, startInProcess, waitFor } from '../../helpers/pipeline';
import { EventFactory, ordersTable, orderRow } from '../../fixtures/factory';
import { expectedOrders, ORDERS_TEXT, ordersRows } from '../../fixtures/orders';

function poisonStream(f: EventFactory) {
  const msgs: { key: string | null; value: string | null }[] = [];
  const good = new Map<number, number>();
  for (let id = 1; id <= 50; id++) {
    msgs.push(...f.create(orderRow(id, 0)));
    good.set(id, 0);
  }
  // 1: not JSON at all
  msgs.push({ key: f.key({ id: 1000 }), value: '{"schema": {oops' });
  // 2: a value its schema cannot hold (MicroTimestamp as text)
  msgs.push({ key: f.key({ id: 1001 }), value: f.value('c', null, { ...orderRow(1001, 0), created_at: 'soon' }) });
  // 3: a row the target's CHECK constraint rejects (status 'bogus'), found only by PostgreSQL
  msgs.push(...f.create({ ...orderRow(1002, 0), status: 'bogus' }));
  for (let id = 1; id <= 50; id += 7) {
    msgs.push(...f.update(orderRow(id, 0), orderRow(id, 1)));
    good.set(id, 1);
  }
  return { msgs, good, poisonOffsets: ['50', '51', '52'] };
}

describe('dead-letter handling', () => {
  let pool: Pool;
  let schema: string;
  useTestSchema('dlq', (p, s) => ((pool = p), (schema = s)));
  beforeEach(async () => {
    // The target exists with a constraint the source does not have, as targets often do.
    await pool.query(`CREATE TABLE "${schema}".orders (id bigint PRIMARY KEY, customer_id int,
      status text CHECK (status IN ('new','paid','shipped','cancelled')), amount numeric(12,2), note text,
      created_at timestamp, updated_at timestamptz)`);
  });

  it('errors.tolerance all + a dead-letter table: good rows land, poison rows are in the table with reasons', async () => {
    const prefix = uniqueName('dlqt');
    const f = new EventFactory(ordersTable(prefix));
    await createTopics([f.topic]);
    const { msgs, good, poisonOffsets } = poisonStream(f);
    await produceMany(f.topic, msgs);
    const svc = await startInProcess(cdcManifest({
      name: prefix, prefix, dest: `${schema}.orders`, strategy: 'merge', include: 'public.orders',
      options: { 'errors.tolerance': 'all', 'errors.deadletter.table': `${schema}.dead_letters` },
    }));
    try {
      await waitFor(pool, `SELECT next_offset::int AS n FROM "${schema}".nilus_offsets`, (r) => r[0]?.n === msgs.length);
    } finally {
      expect(await svc.stop()).toBe(0);
    }
    expect(ordersRows((await pool.query(ORDERS_TEXT(schema))).rows)).toEqual(expectedOrders(good));
    const dead = (await pool.query(`SELECT topic, partition, kafka_offset::text AS o, reason, value_text FROM "${schema}".dead_letters ORDER BY kafka_offset`)).rows;
    expect(dead.map((d) => d.o)).toEqual(poisonOffsets);
    expect(dead.every((d) => d.topic === f.topic && d.partition === 0)).toBe(true);
    expect(dead[0].reason).toMatch(/JSON|parse/i);
    expect(dead[0].value_text).toBe('{"schema": {oops');
    expect(dead[1].reason).toMatch(/created_at.*MicroTimestamp/);
    expect(dead[2].reason).toMatch(/check constraint.*23514/);
    expect(dead[2].value_text).toContain('"bogus"');
  });

  it('errors.tolerance all + a dead-letter topic: each poison record is there with its headers', async () => {
    const prefix = uniqueName('dlqk');
    const f = new EventFactory(ordersTable(prefix));
    const dlq = `${prefix}_dlq`;
    await createTopics([f.topic, dlq]);
    const { msgs, good, poisonOffsets } = poisonStream(f);
    await produceMany(f.topic, msgs);
    const svc = await startInProcess(cdcManifest({
      name: prefix, prefix, dest: `${schema}.orders`, strategy: 'merge', include: 'public.orders',
      options: { 'errors.tolerance': 'all', 'errors.deadletter.topic': dlq },
    }));
    try {
      await waitFor(pool, `SELECT next_offset::int AS n FROM "${schema}".nilus_offsets`, (r) => r[0]?.n === msgs.length);
    } finally {
      expect(await svc.stop()).toBe(0);
    }
    expect((await pool.query(`SELECT count(*)::int AS n FROM "${schema}".orders`)).rows[0].n).toBe(good.size);
    const dead = await readAll(dlq, { expect: 3, timeoutMs: 30_000 });
    expect(dead.map((d) => d.headers['__connect.errors.offset']?.toString())).toEqual(poisonOffsets);
    expect(dead[0].value?.toString()).toBe('{"schema": {oops');
  });

  it('errors.tolerance none (the default) stops at the first bad record, naming it, and applies nothing after it', async () => {
    const prefix = uniqueName('dlqn');
    const f = new EventFactory(ordersTable(prefix));
    await createTopics([f.topic]);
    const { msgs } = poisonStream(f);
    await produceMany(f.topic, msgs);
    const svc = await startInProcess(cdcManifest({ name: prefix, prefix, dest: `${schema}.orders`, strategy: 'merge', include: 'public.orders' }));
    const code = await svc.done;
    expect(code).toBe(1);
    expect(svc.logs()).toMatch(/partition 0, offset 50.*errors\.tolerance: all/);
    const stored = (await pool.query(`SELECT coalesce(max(next_offset), 0)::int AS n FROM "${schema}".nilus_offsets`)).rows[0].n;
    expect(stored).toBeLessThanOrEqual(50);
  });
});
