/**
 * Offsets at the two ways a worker stops, seen from outside (worker processes, real Kafka and
 * PostgreSQL):
 *
 * - SIGTERM while records are held: the final flush commits them, and then Kafka's committed
 *   offsets for the group are exactly the next offsets stored in PostgreSQL (`nilus_offsets`),
 *   which are the partitions' ends; the worker has left the group and exits 0.
 * - errors.tolerance none and an undecodable record at offset 5: the 5 good records before it
 *   are applied and committed (PostgreSQL and Kafka both say 5), nothing after it is, and the
 *   worker exits 1 naming topic, partition and offset.
 */
import type { Pool } from 'pg';
import { createTopics } from '../../helpers/kafka';
import { createTestSchema, dropTestSchemaUnlessFailed, newPool, uniqueName } from '../../helpers/pg';
import { cdcManifest, produceMany } from '../../helpers/pipeline';
import { EventFactory, ordersTable, orderRow } from '../../fixtures/factory';
import { churn, expectedOrders, metricSum, ORDERS_TEXT, ordersRows, scrape, sleep, until } from './support';
import { groupMembers, highWatermarks, kafkaCommitted, storedOffsets, withWorkerOutput } from './group';
import { runWorker, workerPort } from './worker';

const HOLD_EVERYTHING = { 'batch.flush_when_caught_up': false, 'batch.max_age_ms': 600_000, 'batch.max_rows': 1_000_000, 'batch.max_bytes': 64 * 1024 * 1024 };

describe('offsets when a worker stops', () => {
  let pool: Pool;
  let schema: string;
  beforeAll(async () => {
    pool = newPool();
    schema = await createTestSchema(pool, 'opsoff');
  });
  afterAll(async () => {
    await dropTestSchemaUnlessFailed(pool, schema);
    await pool.end();
  });

  it('SIGTERM with records held: exit 0, Kafka committed offsets == nilus_offsets == partition ends, group left', async () => {
    const prefix = uniqueName('opsoff');
    const groupId = `${prefix}_g`;
    const f = new EventFactory(ordersTable(prefix));
    await createTopics([f.topic], 3);
    const { state, messages } = churn(f, 6_000, 1_000, 3);
    await produceMany(f.topic, messages);
    const w = runWorker(cdcManifest({
      name: prefix, prefix, groupId, dest: `${schema}.held`, strategy: 'merge', include: 'public.orders',
      options: { log_level: 'info', ...HOLD_EVERYTHING },
    }));
    await withWorkerOutput(prefix, () => [w], async () => {
      const port = await workerPort(w);
      const s = await until('every record to be taken and held', async () => {
        const m = await scrape(port);
        return metricSum(m, 'nilus_events_consumed_total') === messages.length ? m : undefined;
      }, 90_000);
      // Nothing flushed on its own: at SIGTERM every record is held in memory.
      expect(metricSum(s, 'nilus_flushes_total')).toBe(0);
      expect(metricSum(s, 'nilus_buffered_events')).toBeGreaterThan(0);
      w.child.kill('SIGTERM');
      const code = await Promise.race([w.code, sleep(60_000).then(() => 'still running 60 s after SIGTERM')]);
      expect(code).toBe(0);

      const ends = await highWatermarks(f.topic);
      const stored = await storedOffsets(pool, schema, groupId, f.topic);
      const committed = await kafkaCommitted(groupId, f.topic);
      // The final flush took everything held: PostgreSQL is at each partition's end …
      expect({ stored }).toEqual({ stored: ends });
      // … and Kafka's committed offsets are exactly those (not older, not missing).
      expect({ kafkaCommitted: committed }).toEqual({ kafkaCommitted: stored });
      // The member left the group on its way out (not waiting to be timed out by the coordinator).
      const g = await groupMembers(groupId);
      expect({ membersAfterExit: g.members }).toEqual({ membersAfterExit: [] });
      expect(ordersRows((await pool.query(ORDERS_TEXT(schema, 'held'))).rows)).toEqual(expectedOrders(state));
    });
  });

  it('errors.tolerance none, a bad record at offset 5: the 5 before it applied and committed in both, exit 1 naming it', async () => {
    const prefix = uniqueName('opsoffbad');
    const groupId = `${prefix}_g`;
    const f = new EventFactory(ordersTable(prefix));
    await createTopics([f.topic], 1);
    const good = new Map<number, number>();
    const msgs: { key: string | null; value: string | null }[] = [];
    for (let id = 1; id <= 5; id++) {
      msgs.push(...f.create(orderRow(id, 0)));
      good.set(id, 0);
    }
    msgs.push({ key: f.key({ id: 1000 }), value: '{"schema": {oops' }); // offset 5: not JSON
    for (let id = 6; id <= 10; id++) msgs.push(...f.create(orderRow(id, 0))); // never to be applied
    expect(msgs.length).toBe(11);
    await produceMany(f.topic, msgs.map((m) => ({ ...m, partition: 0 })));
    const w = runWorker(cdcManifest({
      name: prefix, prefix, groupId, dest: `${schema}.bad`, strategy: 'merge', include: 'public.orders',
      options: { log_level: 'info', 'errors.tolerance': 'none' },
    }));
    await withWorkerOutput(prefix, () => [w], async () => {
      const code = await Promise.race([w.code, sleep(90_000).then(() => 'still running 90 s after start')]);
      expect(code).toBe(1);
      // The error that stopped it names the record: topic, partition 0, offset 5.
      const errors = w.output().split('\n').filter((l) => /"level":("error"|"fatal"|50|60)/.test(l));
      const naming = errors.filter((l) => l.includes(f.topic) && /partition\W+0\b/.test(l) && /offset\W+5\b/.test(l));
      if (naming.length === 0) throw new Error(`no error line names ${f.topic} partition 0 offset 5; error lines:\n${errors.join('\n') || '(none)'}`);

      const stored = await storedOffsets(pool, schema, groupId, f.topic).catch((err: Error) => ({ error: err.message }));
      expect({ nilusOffsets: stored }).toEqual({ nilusOffsets: { 0: 5 } });
      expect({ kafkaCommitted: await kafkaCommitted(groupId, f.topic) }).toEqual({ kafkaCommitted: { 0: 5 } });
      const rows = await pool.query(ORDERS_TEXT(schema, 'bad')).then((r) => ordersRows(r.rows), (err: Error) => err.message);
      expect(rows).toEqual(expectedOrders(good));
    });
  });
});
