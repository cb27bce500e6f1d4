/** append: every change event becomes exactly one row, with its metadata, exactly once. */
import type { Pool } from 'pg';
import { createTopics, produce } from '../../helpers/kafka';
import { uniqueName, useTestSchema } from '../../helpers/pg';
import { cdcManifest, produceMany, startInProcess, waitFor } from '../../helpers/pipeline';
import { EventFactory, ordersTable, orderRow } from '../../fixtures/factory';

describe('cdc append', () => {
  let pool: Pool;
  let schema: string;
  useTestSchema('app', (p, s) => ((pool = p), (schema = s)));

  it('writes one row per event with op, source and Kafka position; a restart adds nothing twice', async () => {
    const prefix = uniqueName('app');
    const f = new EventFactory(ordersTable(prefix));
    await createTopics([f.topic], 2);
    const batch1 = [
      ...[1, 2, 3].flatMap((id) => f.create(orderRow(id, 0)).map((m) => ({ ...m, partition: id % 2 }))),
      ...f.update(orderRow(1, 0), orderRow(1, 1)).map((m) => ({ ...m, partition: 1 })),
      ...f.delete(orderRow(2, 0)).map((m) => ({ ...m, partition: 0 })),
    ];
    await produce(f.topic, batch1);
    const manifest = cdcManifest({ name: prefix, prefix, dest: `${schema}.orders_history`, strategy: 'append', include: 'public.orders' });
    let svc = await startInProcess(manifest);
    const sql = `SELECT id::text, _nilus_op AS op, _nilus_topic AS topic, _nilus_partition AS p, _nilus_offset::text AS o
                   FROM "${schema}".orders_history ORDER BY _nilus_partition, _nilus_offset`;
    try {
      await waitFor(pool, sql, (r) => r.length === 5);
    } finally {
      expect(await svc.stop()).toBe(0);
    }
    // restart the same pipeline (same group) and add two more events
    await produce(f.topic, f.create(orderRow(7, 0)).map((m) => ({ ...m, partition: 1 })));
    svc = await startInProcess(manifest);
    let rows: Record<string, unknown>[];
    try {
      rows = await waitFor(pool, sql, (r) => r.length >= 6);
      await new Promise((r) => setTimeout(r, 1500)); // give a duplicate the chance to appear
      rows = (await pool.query(sql)).rows;
    } finally {
      expect(await svc.stop()).toBe(0);
    }
    expect(rows.map((r) => [r.id, r.op, r.p])).toEqual([
      ['2', 'c', 0],
      ['2', 'd', 0],
      ['1', 'c', 1],
      ['3', 'c', 1],
      ['1', 'u', 1],
      ['7', 'c', 1],
    ]);
    const keys = new Set(rows.map((r) => `${r.p}:${r.o}`));
    expect(keys.size).toBe(rows.length);
    expect(rows.every((r) => r.topic === f.topic)).toBe(true);
  });
});
