/**
 * A fenced flush (another member stored offsets for our partition meanwhile) drops what the
 * member holds and re-reads from PostgreSQL's offsets. The re-read must not wait for a later
 * batch of the partition: here the dropped records are the partition's last ones, and nothing
 * more is produced.
 */
import type { Pool } from 'pg';
import { createTopics, produce, testKafka } from '../../helpers/kafka';
import { uniqueName, useTestSchema } from '../../helpers/pg';
import { cdcManifest, startInProcess, waitFor } from '../../helpers/pipeline';
import { EventFactory, ordersTable, orderRow, orderRowText } from '../../fixtures/factory';
import { ORDERS_TEXT, ordersRows } from '../../fixtures/orders';

/** Until the group has its member with partitions assigned (so the records are being taken). */
async function waitStable(groupId: string, timeoutMs = 60_000): Promise<void> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { groups } = await admin.describeGroups([groupId]);
      if (groups[0]?.state === 'Stable' && groups[0].members.length > 0) return;
      if (Date.now() > deadline) throw new Error(`group ${groupId} not stable after ${timeoutMs} ms: ${JSON.stringify(groups[0]?.state)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await admin.disconnect();
  }
}

describe('cdc fencing', () => {
  let pool: Pool;
  let schema: string;

  useTestSchema('fence', (p, s) => ((pool = p), (schema = s)));

  it('after a fenced flush the member re-reads its partition at once, even with nothing more produced', async () => {
    const prefix = uniqueName('fence');
    const f = new EventFactory(ordersTable(prefix));
    await createTopics([f.topic]);
    const ids = Array.from({ length: 20 }, (_, i) => i + 1);
    const svc = await startInProcess(cdcManifest({ name: prefix, prefix, dest: `${schema}.orders`, strategy: 'merge', include: 'public.orders' }));
    const other = await pool.connect();
    try {
      await waitStable(`nilus-pg.${prefix}`);
      await new Promise((r) => setTimeout(r, 1000)); // the member has read its stored offsets: none
      // "Another member" stores an offset for the partition (0: it applied nothing) in a transaction
      // left open while the records come: this member takes them, has caught up and flushes at once,
      // and its flush, which expects no stored offset, waits on that row; once it commits the flush
      // is fenced.
      await other.query('BEGIN');
      await other.query(`INSERT INTO "${schema}".nilus_offsets (group_id, topic, partition, next_offset) VALUES ($1, $2, 0, 0)`, [`nilus-pg.${prefix}`, f.topic]);
      await produce(f.topic, ids.flatMap((id) => f.create(orderRow(id, 0))));
      await waitFor(pool, `SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database() AND query ILIKE '%nilus_offsets%'`, (r) => r.length > 0, 30_000);
      await other.query('COMMIT');
      const rows = await waitFor<Record<string, string>>(pool, ORDERS_TEXT(schema), (r) => r.length === ids.length, 60_000);
      expect(ordersRows(rows)).toEqual(ids.map((id) => orderRowText(id, 0)));
      expect(svc.logs()).toMatch(/stored offsets moved for .*another consumer applied them/);
      const stored = await pool.query(`SELECT next_offset::text FROM "${schema}".nilus_offsets WHERE group_id = $1`, [`nilus-pg.${prefix}`]);
      expect(stored.rows).toEqual([{ next_offset: String(ids.length) }]);
    } finally {
      await other.query('ROLLBACK').catch(() => undefined);
      other.release();
      expect(await svc.stop()).toBe(0);
    }
  });
});
