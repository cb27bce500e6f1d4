/**
 * The CDC pipeline end to end on the real broker and PostgreSQL, with hand-built Debezium events
 * (schema + payload, the connector's default shape).
 */
import type { Pool } from 'pg';
import { createTopics, produce } from '../../helpers/kafka';
import { uniqueName, useTestSchema } from '../../helpers/pg';
import { cdcManifest, produceMany, startInProcess, waitFor } from '../../helpers/pipeline';
import { EventFactory, ordersTable, orderRow, orderRowText } from '../../fixtures/factory';
import { churn, expectedOrders, ORDERS_TEXT, ordersRows } from '../../fixtures/orders';

describe('cdc merge', () => {
  let pool: Pool;
  let schema: string;

  useTestSchema('cdc', (p, s) => ((pool = p), (schema = s)));

  it('applies creates, updates, deletes (with tombstones) and key changes; the target equals the expected rows', async () => {
    const prefix = uniqueName('ops');
    const f = new EventFactory(ordersTable(prefix));
    await createTopics([f.topic]);
    await produce(f.topic, [
      ...[1, 2, 3, 4, 5].flatMap((id) => f.create(orderRow(id, 0))),
      ...f.update(orderRow(2, 0), orderRow(2, 1)),
      ...f.delete(orderRow(3, 0)),
      // Debezium's key change: delete of the old key, then create of the new one
      ...f.delete(orderRow(4, 0)),
      ...f.create(orderRow(40, 0)),
      ...f.update(orderRow(2, 1), orderRow(2, 2)),
      ...f.delete(orderRow(5, 0)),
      ...f.create(orderRow(5, 3)), // re-created after a delete: an upsert
    ]);
    const svc = await startInProcess(cdcManifest({ name: prefix, prefix, dest: `${schema}.orders`, strategy: 'merge', include: 'public.orders' }));
    try {
      const expected = [[1, 0], [2, 2], [5, 3], [40, 0]].map(([id, v]) => orderRowText(id, v));
      const rows = await waitFor<Record<string, string>>(pool, ORDERS_TEXT(schema), (r) => r.length === 4 && r.some((x) => x.id === '5' && x.customer_id === orderRowText(5, 3)[1]));
      expect(ordersRows(rows)).toEqual(expected);
      const pk = await pool.query(
        `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
          WHERE i.indrelid = '"${schema}"."orders"'::regclass AND i.indisprimary`,
      );
      expect(pk.rows.map((r) => r.attname)).toEqual(['id']);
    } finally {
      expect(await svc.stop()).toBe(0);
    }
    const offsets = await pool.query(`SELECT topic, partition, next_offset::text FROM "${schema}".nilus_offsets`);
    // 5 creates + 1 update + (delete + tombstone) + (delete + tombstone) + create + update + (delete + tombstone) + create = 15
    expect(offsets.rows).toEqual([{ topic: f.topic, partition: 0, next_offset: '15' }]);
  });

  it('applies a truncate, then the rows that follow it', async () => {
    const prefix = uniqueName('trunc');
    const f = new EventFactory(ordersTable(prefix));
    await createTopics([f.topic]);
    await produce(f.topic, [...[1, 2, 3].flatMap((id) => f.create(orderRow(id, 0)))]);
    const svc = await startInProcess(cdcManifest({ name: prefix, prefix, dest: `${schema}.orders`, strategy: 'merge', include: 'public.orders' }));
    try {
      await waitFor(pool, ORDERS_TEXT(schema), (r) => r.length === 3);
      await produce(f.topic, [...f.truncate(), ...f.create(orderRow(9, 1))]);
      const rows = await waitFor<Record<string, string>>(pool, ORDERS_TEXT(schema), (r) => r.length === 1 && r[0].id === '9');
      expect(rows[0].customer_id).toBe(orderRowText(9, 1)[1]);
    } finally {
      expect(await svc.stop()).toBe(0);
    }
  });

  it('reduces a 100k-event stream with repeated keys to exactly the expected table', async () => {
    const prefix = uniqueName('bulk');
    const f = new EventFactory(ordersTable(prefix));
    await createTopics([f.topic], 3);
    // Deterministic random workload over 20k keys, 10% deletes; one key, one partition, as
    // Debezium's key partitioning keeps order per key.
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const { state, messages } = churn(f, 100_000, 20_000, 3, () => ({ id: 1 + Math.floor(rnd() * 20_000), del: rnd() < 0.1 }));
    await produceMany(f.topic, messages);
    const svc = await startInProcess(
      cdcManifest({ name: prefix, prefix, dest: `${schema}.orders`, strategy: 'merge', include: 'public.orders', options: { 'batch.max_rows': 20_000 } }),
    );
    try {
      const total = messages.length;
      await waitFor(pool, `SELECT coalesce(sum(next_offset), 0)::bigint AS n FROM "${schema}".nilus_offsets`, (r) => Number(r[0]?.n) === total, 120_000);
    } finally {
      expect(await svc.stop()).toBe(0);
    }
    const rows = ordersRows((await pool.query(ORDERS_TEXT(schema))).rows);
    const expected = expectedOrders(state);
    expect(rows.length).toBe(expected.length);
    expect(rows).toEqual(expected);
  });
});
