/**
 * Schema evolution with real Debezium: a column added at the source mid-stream appears in the
 * target and later rows carry it; a column dropped at the source stays in the target (rows
 * written afterwards hold NULL there); a safe widening at the source (integer → bigint) widens the
 * target column and the big value lands exactly; a change the target cannot hold (bigint → text)
 * stops the pipeline with an error naming table, column, stored type and incoming type.
 */
import { Pool } from 'pg';
import { columnTypes, createTestSchema, dropTestSchemaUnlessFailed, newPool, uniqueName } from '../../helpers/pg';
import { registerPostgresSource, removeConnector } from '../../helpers/debezium';
import { sourcePgUrl } from '../../helpers/stack';
import { cdcManifest, startInProcess, waitFor } from '../../helpers/pipeline';

describe('schema evolution with real Debezium', () => {
  let target: Pool;
  let source: Pool;
  let schema: string;
  let src: string;
  const connector = uniqueName('evo');

  beforeAll(async () => {
    target = newPool();
    source = new Pool({ connectionString: sourcePgUrl(), max: 2 });
    schema = await createTestSchema(target, 'evo');
    src = await createTestSchema(source, 'evosrc');
  });
  afterAll(async () => {
    await removeConnector(connector).catch(() => undefined);
    await dropTestSchemaUnlessFailed(target, schema);
    await dropTestSchemaUnlessFailed(source, src);
    await target.end();
    await source.end();
  });

  it('add column, drop column, a widening applied, then an incompatible type change stops the pipeline naming it', async () => {
    const t = `"${src}".items`;
    const dst = `"${schema}".items`;
    await source.query(`CREATE TABLE ${t} (id int PRIMARY KEY, name text, qty int, legacy text)`);
    await source.query(`INSERT INTO ${t} VALUES (1, 'a', 1, 'old1'), (2, 'b', 2, 'old2')`);
    await registerPostgresSource({ name: connector, topicPrefix: connector, tableIncludeList: `${src}.items`, slotName: connector, publicationName: connector });
    const svc = await startInProcess(cdcManifest({ name: connector, prefix: connector, dest: `${schema}.items`, strategy: 'merge', include: `${src}.items` }));
    let stopped = false;
    try {
      await waitFor(target, `SELECT count(*)::int AS n FROM ${dst}`, (r) => r[0]?.n === 2);

      // ADD COLUMN mid-stream: the first event carrying it adds it to the target.
      await source.query(`ALTER TABLE ${t} ADD COLUMN price numeric(10,3), ADD COLUMN "Tag Line" varchar(30) DEFAULT 'd'`);
      await source.query(`INSERT INTO ${t} (id, name, qty, legacy, price, "Tag Line") VALUES (3, 'c', 3, 'old3', 12.345, 'T3')`);
      await source.query(`UPDATE ${t} SET price = 0.5 WHERE id = 1`);
      const added = await waitFor(target, `SELECT id, price::text, "Tag Line" AS tag FROM ${dst} WHERE id IN (1, 3) ORDER BY id`,
        (r) => r.length === 2 && r[0]?.price === '0.500' && r[1]?.price === '12.345');
      expect(added).toEqual([{ id: 1, price: '0.500', tag: 'd' }, { id: 3, price: '12.345', tag: 'T3' }]);
      expect(await columnTypes(target, schema, 'items')).toMatchObject({ price: 'numeric(10,3)', 'Tag Line': 'text' });

      // DROP COLUMN: the target keeps it; rows written from now on hold NULL there, old rows keep theirs.
      await source.query(`ALTER TABLE ${t} DROP COLUMN legacy`);
      await source.query(`INSERT INTO ${t} (id, name, qty, price) VALUES (4, 'd', 4, 4)`);
      await source.query(`UPDATE ${t} SET name = 'b2' WHERE id = 2`);
      const dropped = await waitFor(target, `SELECT id, name, legacy FROM ${dst} WHERE id IN (2, 3, 4) ORDER BY id`,
        (r) => r.length === 3 && r[0]?.name === 'b2');
      // Row 2 was re-written by an event without the column: a merge sets only the columns it carries.
      expect(dropped).toEqual([{ id: 2, name: 'b2', legacy: 'old2' }, { id: 3, name: 'c', legacy: 'old3' }, { id: 4, name: 'd', legacy: null }]);
      expect(Object.keys(await columnTypes(target, schema, 'items'))).toContain('legacy');

      // A safe widening: qty integer → bigint at the source widens the target column in the flush.
      await source.query(`ALTER TABLE ${t} ALTER COLUMN qty TYPE bigint`);
      await source.query(`INSERT INTO ${t} (id, name, qty) VALUES (5, 'e', 9007199254740993)`);
      const wide = await waitFor(target, `SELECT id, qty::text FROM ${dst} WHERE id = 5`, (r) => r.length === 1);
      expect(wide).toEqual([{ id: 5, qty: '9007199254740993' }]);
      expect(await columnTypes(target, schema, 'items')).toMatchObject({ qty: 'bigint' });
      expect(svc.logs()).toMatch(/schema change: widened a target column/);

      // A type the target column cannot hold: qty bigint → text at the source.
      await source.query(`ALTER TABLE ${t} ALTER COLUMN qty TYPE text`);
      await source.query(`INSERT INTO ${t} (id, name, qty) VALUES (6, 'f', 'a dozen')`);
      const code = await Promise.race([svc.done, new Promise<string>((r) => setTimeout(() => r('still running'), 60_000))]);
      stopped = true;
      expect(code).toBe(1);
      const log = svc.logs();
      expect(log).toMatch(/incompatible change for \\?"evo_[^"]*\\?"\.\\?"items\\?"/);
      expect(log).toMatch(/column \\?"qty\\?" is bigint in the target but the events now carry text/);
      expect(log).toMatch(/ALTER COLUMN \\?"qty\\?" TYPE text/);
      // Nothing of the refused event was written, and the earlier rows are intact.
      const rows = await target.query(`SELECT id FROM ${dst} ORDER BY id`);
      expect(rows.rows.map((r: { id: number }) => r.id)).toEqual([1, 2, 3, 4, 5]);
    } finally {
      if (!stopped) await svc.stop();
    }
  });
});
