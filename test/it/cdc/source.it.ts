/**
 * The source stage against the real broker: every Kafka compression codec (records written by
 * Kafka's own Java producer), topics created after start-up, and merge refusing keyless events.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { createTopics, produce } from '../../helpers/kafka';
import { createTestSchema, dropTestSchemaUnlessFailed, newPool, uniqueName } from '../../helpers/pg';
import { kafkaBrokers } from '../../helpers/stack';
import { cdcManifest, startInProcess, waitFor } from '../../helpers/pipeline';
import { EventFactory, ordersTable, orderRow } from '../../fixtures/factory';

const RUNTIME = join(process.env.NILUS_STACK_CACHE ?? join(__dirname, '../../../.cache/stack'), 'runtime', '*');

/** Kafka's own console producer, so the batches are compressed exactly as a Java client (Kafka Connect) does. */
function javaProduce(topic: string, codec: string, messages: { key: string | null; value: string | null }[]): void {
  const input = messages.map((m) => `${m.key}\t${m.value}`).join('\n') + '\n';
  execFileSync('java', [
    '-Xmx256m', '-cp', RUNTIME, 'org.apache.kafka.tools.ConsoleProducer',
    '--bootstrap-server', kafkaBrokers().join(','), '--topic', topic, '--compression-codec', codec,
    '--property', 'parse.key=true', '--property', 'key.separator=\t',
  ], { input, stdio: ['pipe', 'ignore', 'pipe'], timeout: 60_000 });
}

describe('source', () => {
  let pool: Pool;
  let schema: string;
  beforeAll(async () => {
    pool = newPool();
    schema = await createTestSchema(pool, 'src');
  });
  afterAll(async () => {
    await dropTestSchemaUnlessFailed(pool, schema);
    await pool.end();
  });

  it('reads record batches compressed with gzip, snappy, lz4 and zstd', async () => {
    const prefix = uniqueName('codec');
    const f = new EventFactory(ordersTable(prefix));
    await createTopics([f.topic]);
    const codecs = ['gzip', 'snappy', 'lz4', 'zstd'];
    codecs.forEach((codec, i) => javaProduce(f.topic, codec, [1, 2, 3].flatMap((n) => f.create(orderRow(i * 10 + n, 0)))));
    const svc = await startInProcess(cdcManifest({ name: prefix, prefix, dest: `${schema}.codecs`, strategy: 'merge', include: 'public.orders' }));
    try {
      const rows = await waitFor<{ id: string }>(pool, `SELECT id::text FROM "${schema}".codecs AS o ORDER BY o.id`, (r) => r.length === 12);
      expect(rows.map((r) => r.id)).toEqual(['1', '2', '3', '11', '12', '13', '21', '22', '23', '31', '32', '33']);
    } finally {
      expect(await svc.stop()).toBe(0);
    }
  });

  it('picks up a matching topic created after start-up, without a restart', async () => {
    const prefix = uniqueName('later');
    const first = new EventFactory(ordersTable(prefix, 'public', 'orders'));
    const second = new EventFactory(ordersTable(prefix, 'public', 'refunds'));
    await createTopics([first.topic]);
    await produce(first.topic, first.create(orderRow(1, 0)));
    const svc = await startInProcess(cdcManifest({ name: prefix, prefix, dest: `${schema}.later_{table}`, strategy: 'merge' }));
    try {
      await waitFor(pool, `SELECT id FROM "${schema}".later_orders`, (r) => r.length === 1);
      await createTopics([second.topic]);
      await produce(second.topic, second.create(orderRow(7, 0)));
      const rows = await waitFor<{ id: string }>(pool, `SELECT id::text FROM "${schema}".later_refunds`, (r) => r.length === 1, 30_000);
      expect(rows[0].id).toBe('7');
    } finally {
      expect(await svc.stop()).toBe(0);
    }
  });

  it('merge refuses events that carry no key when the manifest declares no primary_key, before writing a row', async () => {
    const prefix = uniqueName('nokey');
    const f = new EventFactory(ordersTable(prefix), false);
    await createTopics([f.topic]);
    await produce(f.topic, [{ key: null, value: f.value('c', null, orderRow(1, 0)) }]);
    const svc = await startInProcess(cdcManifest({ name: prefix, prefix, dest: `${schema}.nokey`, strategy: 'merge', include: 'public.orders' }));
    expect(await svc.done).toBe(1);
    expect(svc.logs()).toMatch(/Add `primary_key` to the manifest's dataset spec/);
    const exists = await pool.query(`SELECT to_regclass('"${schema}".nokey') AS t`);
    expect(exists.rows[0].t).toBeNull();
  });
});
