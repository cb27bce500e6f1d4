/**
 * A managed PostgreSQL source capturing a partitioned table, through real Debezium: nilus-pg
 * configures a ByLogicalTableRouter that sends every partition's changes to the partitioned
 * table's topic (the key gains __dbz__physicalTableIdentifier), and the events land in one target
 * table named after the partitioned table, keyed by its own primary key: snapshot, inserts, an
 * update that moves a row to another partition, deletes. No per-partition topic or table appears.
 */
import { Client, Pool } from 'pg';
import { buildConfig, parseManifest } from '../../../src/config';
import { ConnectRest } from '../../../src/managed/connect-rest';
import { verifyPipeline } from '../../../src/verify/run';
import { createTestSchema, dropTestSchemaUnlessFailed, newPool, uniqueName } from '../../helpers/pg';
import { removeConnector } from '../../helpers/debezium';
import { readAll, testKafka } from '../../helpers/kafka';
import { connectUrl, sourcePgUrl } from '../../helpers/stack';
import { managedManifest } from '../../helpers/managed';
import { startInProcess, waitFor } from '../../helpers/pipeline';

const CANON = (schema: string) => `
  SELECT count(*)::int AS n,
         coalesce(md5(string_agg(format('%s|%s|%s|%s', id, region, status, amount), ',' ORDER BY id, region)), '') AS h
    FROM "${schema}".orders`;

describe('managed PostgreSQL source with a partitioned table', () => {
  let target: Pool;
  let source: Pool;
  let schema: string;
  let srcSchema: string;
  const name = uniqueName('mgdpart').replace(/_/g, '-');
  const connector = `nilus-${name}`;
  const slot = `nilus_${name.replace(/-/g, '_')}`;
  const rest = new ConnectRest(connectUrl());

  beforeAll(async () => {
    target = newPool();
    source = new Pool({ connectionString: sourcePgUrl(), max: 2 });
    schema = await createTestSchema(target, 'mgdpart');
    srcSchema = await createTestSchema(source, 'mgdpartsrc');
    await source.query(`CREATE TABLE "${srcSchema}".orders (id bigint NOT NULL, region text NOT NULL, status text NOT NULL, amount numeric(12,2), PRIMARY KEY (id, region)) PARTITION BY LIST (region)`);
    await source.query(`CREATE TABLE "${srcSchema}".orders_eu PARTITION OF "${srcSchema}".orders FOR VALUES IN ('eu')`);
    await source.query(`CREATE TABLE "${srcSchema}".orders_us PARTITION OF "${srcSchema}".orders FOR VALUES IN ('us')`);
    await source.query(`INSERT INTO "${srcSchema}".orders (id, region, status, amount) SELECT g, CASE WHEN g % 2 = 0 THEN 'eu' ELSE 'us' END, 'new', g * 1.25 FROM generate_series(1, 200) g`);
  });
  afterAll(async () => {
    // Never leave a slot behind: it would hold WAL on the shared PostgreSQL.
    await removeConnector(connector).catch(() => undefined);
    const c = new Client({ connectionString: sourcePgUrl() });
    await c.connect();
    await c.query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active`, [slot]).catch(() => undefined);
    await c.query(`DROP PUBLICATION IF EXISTS "${slot}"`).catch(() => undefined);
    await c.end();
    await dropTestSchemaUnlessFailed(target, schema);
    await dropTestSchemaUnlessFailed(source, srcSchema);
    await target.end();
    await source.end();
  });

  it('lands every partition in the logical table, keyed by its primary key', async () => {
    const text = managedManifest({ name, srcSchema, dest: `${schema}.{table}` });
    const svc = await startInProcess(text);
    try {
      const snap = (await source.query(CANON(srcSchema))).rows[0];
      expect(snap.n).toBe(200);
      await waitFor(target, CANON(schema), (r) => r[0]?.h === snap.h, 150_000);

      const cfg = (await rest.config(connector))!;
      expect(cfg).toMatchObject({
        transforms: 'nilus_partitions_0',
        'transforms.nilus_partitions_0.type': 'io.debezium.transforms.ByLogicalTableRouter',
        'transforms.nilus_partitions_0.topic.replacement': `${name}.${srcSchema}.orders`,
        'transforms.nilus_partitions_0.key.enforce.uniqueness': 'true',
        'table.include.list': `${srcSchema}.orders,${srcSchema}\\.orders_eu,${srcSchema}\\.orders_us`,
      });

      await source.query(`INSERT INTO "${srcSchema}".orders (id, region, status, amount) SELECT g, CASE WHEN g % 2 = 0 THEN 'eu' ELSE 'us' END, 'new', g FROM generate_series(201, 300) g`);
      await source.query(`UPDATE "${srcSchema}".orders SET status = 'paid', amount = amount + 0.01 WHERE id % 3 = 0`);
      // A row moved to another partition: a delete in one partition, an insert in the other.
      await source.query(`UPDATE "${srcSchema}".orders SET region = 'us', status = 'moved' WHERE id = 4`);
      await source.query(`DELETE FROM "${srcSchema}".orders WHERE id % 10 = 7`);
      const want = (await source.query(CANON(srcSchema))).rows[0];
      expect((await waitFor(target, CANON(schema), (r) => r[0]?.h === want.h, 120_000))[0]).toEqual(want);
      // verify compares the partitioned table (all its partitions) with the one target table.
      const reports = await verifyPipeline(await buildConfig(parseManifest(text).manifest, undefined, process.env), { settleQuietMs: 2000 });
      expect(reports.map((r) => r.ok)).toEqual([true]);
      expect(reports[0]!.line).toMatch(new RegExp(`^${srcSchema}\\.orders → ${schema}\\.orders: equal`));
    } finally {
      expect(await svc.stop()).toBe(0);
    }

    // One target table, named after the partitioned table, with its primary key and no router field.
    const tables = await target.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_name <> 'nilus_offsets' ORDER BY 1`, [schema]);
    expect(tables.rows.map((r) => r.table_name)).toEqual(['orders']);
    const cols = await target.query(`SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'orders' ORDER BY ordinal_position`, [schema]);
    expect(cols.rows.map((r) => r.column_name)).toEqual(['id', 'region', 'status', 'amount']);
    const pk = await target.query(
      `SELECT array_agg(a.attname::text ORDER BY k.n) AS cols FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum WHERE i.indrelid = $1::regclass AND i.indisprimary`,
      [`"${schema}".orders`],
    );
    expect(pk.rows[0].cols).toEqual(['id', 'region']);
    // Debezium wrote no per-partition topic.
    const admin = testKafka().admin();
    await admin.connect();
    try {
      expect((await admin.listTopics()).filter((t) => t.startsWith(`${name}.`)).sort()).toEqual([`${name}.${srcSchema}.orders`]);
    } finally {
      await admin.disconnect();
    }
    // The router kept key.enforce.uniqueness: the partitions' keys carry the partition, which
    // nilus-pg dropped. (Debezium snapshots the partitioned table itself too: those keys have no such field.)
    const keys = (await readAll(`${name}.${srcSchema}.orders`, { expect: 400 })).map((m) => (JSON.parse(m.key!.toString()) as { payload: Record<string, unknown> }).payload);
    const routed = keys.filter((k) => '__dbz__physicalTableIdentifier' in k);
    expect(routed.length).toBeGreaterThanOrEqual(200);
    expect(new Set(routed.map((k) => k.__dbz__physicalTableIdentifier))).toEqual(new Set([`${name}.${srcSchema}.orders_eu`, `${name}.${srcSchema}.orders_us`]));
  }, 300_000);
});
