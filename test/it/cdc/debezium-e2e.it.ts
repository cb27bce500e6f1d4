/**
 * Real Debezium: a source table in PostgreSQL, the Debezium PostgreSQL connector (pgoutput)
 * writing to Kafka, nilus-pg merging into the target. Afterwards the target equals the source,
 * row for row.
 */
import { Pool } from 'pg';
import { createTestSchema, dropTestSchemaUnlessFailed, newPool, uniqueName } from '../../helpers/pg';
import { registerPostgresSource, removeConnector } from '../../helpers/debezium';
import { sourcePgUrl } from '../../helpers/stack';
import { cdcManifest, startInProcess, waitFor } from '../../helpers/pipeline';

const CANON = (schema: string) => `
  SELECT count(*)::int AS n,
         coalesce(md5(string_agg(format('%s|%s|%s|%s|%s|%s|%s', id, customer_id, status, amount, note, created_at, updated_at), ',' ORDER BY id)), '') AS h
    FROM "${schema}".orders`;

describe('end to end with real Debezium', () => {
  let target: Pool;
  let source: Pool;
  let schema: string;
  let srcSchema: string;
  const connector = uniqueName('e2e');

  beforeAll(() => {
    target = newPool();
    source = new Pool({ connectionString: sourcePgUrl(), max: 2 });
  });
  afterAll(async () => {
    await removeConnector(connector).catch(() => undefined);
    await dropTestSchemaUnlessFailed(target, schema);
    await dropTestSchemaUnlessFailed(source, srcSchema);
    await target.end();
    await source.end();
  });

  it('a workload of inserts, updates and deletes lands exactly; target equals source', async () => {
    schema = await createTestSchema(target, 'e2e');
    srcSchema = await createTestSchema(source, 'e2esrc');
    await source.query(`
      CREATE TABLE "${srcSchema}".orders (
        id bigint PRIMARY KEY, customer_id int, status text NOT NULL, amount numeric(12,2),
        note text, created_at timestamp(6), updated_at timestamptz)`);
    // Rows present before the connector starts arrive as snapshot reads (op r).
    await source.query(`
      INSERT INTO "${srcSchema}".orders
      SELECT g, g % 100, 'new', (g * 1.25)::numeric(12,2), 'n' || g, '2024-02-29 10:00:00.123456'::timestamp + g * interval '1 second', now()
        FROM generate_series(1, 500) g`);
    await registerPostgresSource({
      name: connector,
      topicPrefix: connector,
      tableIncludeList: `${srcSchema}.orders`,
      slotName: connector,
      publicationName: connector,
    });
    const svc = await startInProcess(
      cdcManifest({ name: connector, prefix: connector, dest: `${schema}.orders`, strategy: 'merge', include: `${srcSchema}.orders` }),
    );
    try {
      // Streaming changes: inserts, updates (some changing many rows at once), deletes, a key change.
      await source.query(`INSERT INTO "${srcSchema}".orders SELECT g, g % 7, 'new', -g * 0.01, NULL, '1969-12-31 23:59:59.999999', now() FROM generate_series(501, 1500) g`);
      await source.query(`UPDATE "${srcSchema}".orders SET status = 'paid', amount = amount + 0.01 WHERE id % 3 = 0`);
      await source.query(`DELETE FROM "${srcSchema}".orders WHERE id % 10 = 7`);
      await source.query(`UPDATE "${srcSchema}".orders SET id = 100000 + id WHERE id BETWEEN 20 AND 29`);
      await source.query(`UPDATE "${srcSchema}".orders SET note = repeat('x', 50) || id, updated_at = '2038-01-19 03:14:08+00' WHERE id % 5 = 1`);
      const want = (await source.query(CANON(srcSchema))).rows[0];
      const got = await waitFor(target, CANON(schema), (r) => r[0]?.h === want.h, 120_000);
      expect(got[0]).toEqual(want);
      expect(want.n).toBeGreaterThan(1000);
    } finally {
      expect(await svc.stop()).toBe(0);
    }
  });
});
