/**
 * Issue 28's widenings and a variant landing through a real Debezium PostgreSQL source (registered
 * with column.propagate.source.type, so varchar lengths and timestamp precisions reach the events):
 * columns of narrower types are altered at the source (integer → bigint, integer → numeric,
 * real → double precision, numeric(10,2) → numeric(20,4), varchar(10) → varchar(50),
 * varchar(10) → text, timestamp(3) → timestamp(6)); the merge pipeline widens each target column
 * and the target holds exactly what the source holds, rows written before and after the change.
 * Under schema_change: variant, a source column integer → text lands the non-numeric value in
 * `<col>__v_text`, the column NULL in that row, earlier rows unchanged.
 */
import { Pool } from 'pg';
import { columnTypes, createTestSchema, dropTestSchemaUnlessFailed, newPool, uniqueName } from '../../helpers/pg';
import { registerPostgresSource, removeConnector } from '../../helpers/debezium';
import { sourcePgUrl } from '../../helpers/stack';
import { cdcManifest, startInProcess, waitFor } from '../../helpers/pipeline';

describe('widenings and a variant landing with real Debezium', () => {
  let target: Pool;
  let source: Pool;
  let schema: string;
  let src: string;
  const connector = uniqueName('wdz');

  beforeAll(async () => {
    target = newPool();
    source = new Pool({ connectionString: sourcePgUrl(), max: 2 });
    schema = await createTestSchema(target, 'wdz');
    src = await createTestSchema(source, 'wdzsrc');
    await source.query(
      `CREATE TABLE "${src}".items (id int PRIMARY KEY, qty int, n int, r real, amt numeric(10,2), name varchar(10), note varchar(10), ts timestamp(3))`,
    );
    await source.query(`CREATE TABLE "${src}".vitems (id int PRIMARY KEY, qty int, label text)`);
    await registerPostgresSource({
      name: connector,
      topicPrefix: connector,
      tableIncludeList: `${src}.items,${src}.vitems`,
      slotName: connector,
      publicationName: connector,
      extra: { 'column.propagate.source.type': `${src}\\.(items|vitems)\\..*` },
    });
  });
  afterAll(async () => {
    await removeConnector(connector).catch(() => undefined);
    await dropTestSchemaUnlessFailed(target, schema);
    await dropTestSchemaUnlessFailed(source, src);
    await target.end();
    await source.end();
  });

  const cols = 'id, qty::text AS qty, n::text AS n, r::text AS r, amt::text AS amt, name, note, ts::text AS ts';

  it('each widening at the source widens the target column; target rows equal the source rows', async () => {
    const t = `"${src}".items`;
    const dst = `"${schema}".items`;
    const name = `${connector}_m`;
    await source.query(`INSERT INTO ${t} VALUES (1, 1, 10, 1.5, 12.34, 'abc', 'x', '2024-01-02 03:04:05.678'), (2, -2147483648, 2147483647, -2.25, -99999999.99, 'ten chars!', 'yyyyyyyyyy', NULL)`);
    const svc = await startInProcess(cdcManifest({
      name, prefix: connector, dest: `${schema}.items`, strategy: 'merge', include: `${src}.items`, options: { auto_evolve: true },
    }));
    try {
      await waitFor(target, `SELECT count(*)::int AS n FROM ${dst}`, (r) => r[0]?.n === 2);
      expect(await columnTypes(target, schema, 'items')).toMatchObject({
        qty: 'integer', n: 'integer', r: 'real', amt: 'numeric(10,2)', name: 'character varying(10)', note: 'character varying(10)',
        ts: 'timestamp(3) without time zone',
      });

      await source.query(
        `ALTER TABLE ${t} ALTER COLUMN qty TYPE bigint, ALTER COLUMN n TYPE numeric, ALTER COLUMN r TYPE double precision, ` +
          `ALTER COLUMN amt TYPE numeric(20,4), ALTER COLUMN name TYPE varchar(50), ALTER COLUMN note TYPE text, ALTER COLUMN ts TYPE timestamp(6)`,
      );
      const long = 'a name of forty characters, only wider!!';
      const longer = 'a note longer than ten characters, and than fifty characters too: only text holds it';
      await source.query(
        `INSERT INTO ${t} VALUES (3, 9007199254740993, 123456789012345678901234567890.123456789, 0.1, 1234567890123456.1234, $1, $2, '1999-12-31 23:59:59.123456')`,
        [long, longer],
      );
      await source.query(`UPDATE ${t} SET qty = -9223372036854775808, r = 1e300, amt = 0.0001 WHERE id = 1`);

      await waitFor(target, `SELECT id FROM ${dst} WHERE id = 3 OR (id = 1 AND amt = 0.0001)`, (r) => r.length === 2);
      expect(await columnTypes(target, schema, 'items')).toMatchObject({
        qty: 'bigint', n: 'numeric', r: 'double precision', amt: 'numeric(20,4)', name: 'character varying(50)', note: 'text',
        ts: 'timestamp(6) without time zone',
      });
      const want = (await source.query(`SELECT ${cols} FROM ${t} ORDER BY id`)).rows;
      const got = (await target.query(`SELECT ${cols} FROM ${dst} ORDER BY id`)).rows;
      expect(want).toHaveLength(3);
      expect(got).toEqual(want);
      expect(want[2]).toMatchObject({ qty: '9007199254740993', n: '123456789012345678901234567890.123456789', r: '0.1', name: long, note: longer, ts: '1999-12-31 23:59:59.123456' });
      expect(svc.logs()).toMatch(/schema change: widened a target column/);
    } finally {
      expect(await svc.stop()).toBe(0);
    }
  });

  it('schema_change: variant lands a text value of an integer column in <col>__v_text, the column NULL, earlier rows unchanged', async () => {
    const t = `"${src}".vitems`;
    const dst = `"${schema}".vitems`;
    const name = `${connector}_v`;
    await source.query(`INSERT INTO ${t} VALUES (1, 7, 'a'), (2, 8, 'b')`);
    const svc = await startInProcess(cdcManifest({
      name, prefix: connector, dest: `${schema}.vitems`, strategy: 'merge', include: `${src}.vitems`,
      options: { auto_evolve: true, schema_change: 'variant' },
    }));
    try {
      await waitFor(target, `SELECT count(*)::int AS n FROM ${dst}`, (r) => r[0]?.n === 2);
      expect(await columnTypes(target, schema, 'vitems')).toMatchObject({ qty: 'integer' });

      await source.query(`ALTER TABLE ${t} ALTER COLUMN qty TYPE text USING qty::text`);
      await source.query(`INSERT INTO ${t} VALUES (3, 'a dozen', 'c')`);
      const rows = await waitFor(target, `SELECT id, qty, qty__v_text, label FROM ${dst} ORDER BY id`, (r) => r.length === 3);
      expect(rows).toEqual([
        { id: 1, qty: 7, qty__v_text: null, label: 'a' },
        { id: 2, qty: 8, qty__v_text: null, label: 'b' },
        { id: 3, qty: null, qty__v_text: 'a dozen', label: 'c' },
      ]);
      expect(await columnTypes(target, schema, 'vitems')).toMatchObject({ qty: 'integer', qty__v_text: 'text' });
      expect(svc.logs()).toMatch(/values of an incompatible type land in a variant column/);
    } finally {
      expect(await svc.stop()).toBe(0);
    }
  });
});
