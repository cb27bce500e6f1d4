/**
 * Target shapes and event flavours end to end (hand-built events through real Kafka into the
 * running pipeline and real PostgreSQL): partitioned targets, hostile identifiers, MongoDB
 * documents in both mongo_modes, and the stale-event guard.
 */
import type { Pool } from 'pg';
import { EventFactory, type TableDef } from '../../fixtures/factory';
import { createTestSchema, dropTestSchemaUnlessFailed, newPool, uniqueName } from '../../helpers/pg';
import { cdcManifest, produceMany, startInProcess, waitFor } from '../../helpers/pipeline';

type Msg = { key: string | null; value: string | null };

let pool: Pool;
let schema: string;

beforeAll(async () => {
  pool = newPool();
  schema = await createTestSchema(pool, 'shape');
});
afterAll(async () => {
  await dropTestSchemaUnlessFailed(pool, schema);
  await pool.end();
});

const rows = async (sql: string): Promise<unknown[]> => (await pool.query(sql)).rows;

function regionTable(prefix: string, table: string, key: string[]): TableDef {
  return {
    prefix, schema: 'public', table, key,
    fields: [
      { name: 'id', type: 'int32', optional: false },
      { name: 'region', type: 'string', optional: false },
      { name: 'v', type: 'string' },
    ],
  };
}

async function createPartitioned(table: string, pk: string): Promise<void> {
  const t = `"${schema}"."${table}"`;
  await pool.query(`CREATE TABLE ${t} (id int NOT NULL, region text NOT NULL, v text${pk}) PARTITION BY LIST (region)`);
  await pool.query(`CREATE TABLE "${schema}"."${table}_eu" PARTITION OF ${t} FOR VALUES IN ('eu')`);
  await pool.query(`CREATE TABLE "${schema}"."${table}_us" PARTITION OF ${t} FOR VALUES IN ('us')`);
}

describe('partitioned targets', () => {
  it('merge: upserts land in their partitions, a region change moves the row, deletes remove it', async () => {
    const prefix = uniqueName('part');
    await createPartitioned('pm', ', PRIMARY KEY (id, region)');
    const f = new EventFactory(regionTable(prefix, 'pm', ['id', 'region']));
    await produceMany(f.topic, [
      ...f.create({ id: 1, region: 'eu', v: 'a' }), ...f.create({ id: 2, region: 'us', v: 'b' }),
      ...f.create({ id: 3, region: 'us', v: 'c' }), ...f.update(null, { id: 1, region: 'eu', v: 'a2' }),
      // Debezium sends a key change as delete(old key) + create(new key).
      ...f.delete({ id: 2, region: 'us', v: 'b' }), ...f.create({ id: 2, region: 'eu', v: 'b2' }),
      ...f.delete({ id: 3, region: 'us', v: 'c' }),
    ]);
    const svc = await startInProcess(cdcManifest({ name: prefix, prefix, dest: `${schema}.pm`, include: 'public.pm', strategy: 'merge' }));
    try {
      const got = await waitFor(pool, `SELECT tableoid::regclass::text AS part, id, v FROM "${schema}".pm ORDER BY id`,
        (r) => r.length === 2 && r[1]?.v === 'b2');
      expect(got).toEqual([{ part: `${schema}.pm_eu`, id: 1, v: 'a2' }, { part: `${schema}.pm_eu`, id: 2, v: 'b2' }]);
    } finally {
      expect(await svc.stop()).toBe(0);
    }
  });

  it('append: every event is a row with its metadata, routed to its partition', async () => {
    const prefix = uniqueName('parta');
    await createPartitioned('pa', '');
    const f = new EventFactory(regionTable(prefix, 'pa', ['id']));
    await produceMany(f.topic, [...f.create({ id: 1, region: 'eu', v: 'a' }), ...f.update(null, { id: 1, region: 'eu', v: 'a2' }), ...f.delete({ id: 1, region: 'eu', v: 'a2' })]);
    const svc = await startInProcess(cdcManifest({ name: prefix, prefix, dest: `${schema}.pa`, include: 'public.pa', strategy: 'append' }));
    try {
      const got = await waitFor(pool, `SELECT count(*)::int AS n, count(*) FILTER (WHERE tableoid::regclass::text = '${schema}.pa_eu')::int AS eu FROM "${schema}".pa`,
        (r) => r[0]?.n === 3);
      expect(got[0]).toEqual({ n: 3, eu: 3 });
    } finally {
      expect(await svc.stop()).toBe(0);
    }
  });

  it('events keyed without the partition key stop the pipeline with the key to declare', async () => {
    const prefix = uniqueName('partk');
    await createPartitioned('pk', ', PRIMARY KEY (id, region)');
    const f = new EventFactory(regionTable(prefix, 'pk', ['id']));
    await produceMany(f.topic, f.create({ id: 1, region: 'eu', v: 'a' }));
    const svc = await startInProcess(cdcManifest({ name: prefix, prefix, dest: `${schema}.pk`, include: 'public.pk', strategy: 'merge' }));
    const code = await Promise.race([svc.done, new Promise<string>((r) => setTimeout(() => r('still running'), 60_000))]);
    expect(code).toBe(1);
    expect(svc.logs()).toContain(`is partitioned by (\\"region\\"); its primary key must include the partition key columns (\\"region\\")`);
    expect(svc.logs()).toContain('declare primary_key: [id, region] in the sink options');
    expect((await rows(`SELECT * FROM "${schema}".pk`)).length).toBe(0);
  });
});

describe('hostile identifiers end to end', () => {
  it('schema, table and column names with upper case, spaces, quotes and semicolons stay names', async () => {
    const prefix = uniqueName('odd');
    const table = 'Odd "Tbl"; DROP TABLE x;--';
    const def: TableDef = {
      prefix, schema: 'Src Schema', table, key: ['Id'],
      fields: [
        { name: 'Id', type: 'int32', optional: false },
        { name: 'Full Name', type: 'string' },
        { name: 'semi;colon', type: 'string' },
        { name: 'quo"te', type: 'string' },
        { name: 'lower', type: 'int64' },
      ],
    };
    const f = new EventFactory(def);
    // Kafka topic names cannot hold these characters; Debezium replaces them with '_' in the
    // topic, and the real names travel in the envelope's source block.
    const topic = `${prefix}.Src_Schema.Odd__Tbl___DROP_TABLE_x_--`;
    const msgs: Msg[] = [
      ...f.create({ Id: 1, 'Full Name': 'Ada L', 'semi;colon': 'a;b', 'quo"te': 'q"q', lower: 1 }),
      ...f.create({ Id: 2, 'Full Name': 'Bob', 'semi;colon': null, 'quo"te': "it's", lower: 2 }),
      ...f.update(null, { Id: 1, 'Full Name': 'Ada Lovelace', 'semi;colon': 'x', 'quo"te': '""', lower: 3 }),
      ...f.delete({ Id: 2, 'Full Name': 'Bob', 'semi;colon': null, 'quo"te': "it's", lower: 2 }),
    ];
    await produceMany(topic, msgs);
    const svc = await startInProcess(cdcManifest({ name: prefix, prefix, dest: `${schema}.{table}`, strategy: 'merge' }));
    try {
      const q = `SELECT "Id", "Full Name", "semi;colon", "quo""te", lower FROM "${schema}"."${table.replace(/"/g, '""')}" ORDER BY "Id"`;
      const got = await waitFor(pool, q, (r) => r.length === 1 && r[0]?.lower === '3');
      expect(got).toEqual([{ Id: 1, 'Full Name': 'Ada Lovelace', 'semi;colon': 'x', 'quo"te': '""', lower: '3' }]);
      // Case is preserved: no folded twin of the table or its columns was created.
      const tables = await rows(`SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE nspname = '${schema}' AND relkind = 'r' AND relname ILIKE 'odd%'`);
      expect(tables).toEqual([{ relname: table }]);
      expect(await rows(`SELECT 1 FROM pg_tables WHERE tablename = 'x'`)).toEqual([]);
    } finally {
      expect(await svc.stop()).toBe(0);
    }
  });
});

/** A MongoDB connector event: `after` is an extended-JSON string, the key `{"id": "<extended JSON _id>"}`. */
function mongoMsg(prefix: string, op: 'c' | 'u' | 'd', id: string, doc: Record<string, unknown> | null, tsMs: number): Msg[] {
  const name = `${prefix}.retail.orders`;
  const key = JSON.stringify({
    schema: { type: 'struct', fields: [{ type: 'string', optional: false, field: 'id' }], optional: false, name: `${name}.Key` },
    payload: { id: JSON.stringify({ $oid: id }) },
  });
  const json = { type: 'string', optional: true, name: 'io.debezium.data.Json', version: 1 };
  const value = JSON.stringify({
    schema: {
      type: 'struct', optional: false, name: `${name}.Envelope`,
      fields: [
        { ...json, field: 'before' }, { ...json, field: 'after' },
        { type: 'struct', optional: false, field: 'source', fields: [
          { type: 'string', optional: false, field: 'connector' }, { type: 'int64', optional: false, field: 'ts_ms' },
          { type: 'string', optional: false, field: 'db' }, { type: 'string', optional: false, field: 'collection' },
        ] },
        { type: 'string', optional: false, field: 'op' }, { type: 'int64', optional: true, field: 'ts_ms' },
      ],
    },
    payload: {
      before: null,
      after: doc === null ? null : JSON.stringify({ _id: { $oid: id }, ...doc }),
      source: { connector: 'mongodb', ts_ms: tsMs, db: 'retail', collection: 'orders' },
      op, ts_ms: tsMs + 1,
    },
  });
  return op === 'd' ? [{ key, value }, { key, value: null }] : [{ key, value }];
}

describe.each(['flatten', 'jsonb'] as const)('MongoDB documents, mongo_mode %s', (mode) => {
  it('creates, full-document updates and deletes land by _id', async () => {
    const prefix = uniqueName(`mg${mode}`);
    const A = '65a1b2c3d4e5f60718293a4b';
    const B = '65a1b2c3d4e5f60718293a4c';
    const doc = (name: string, n: string) => ({
      name, n: { $numberLong: n }, price: { $numberDecimal: '12.50' }, at: { $date: 1700000000000 },
      addr: { city: 'Oslo', zip: { $numberInt: '42' } }, tags: [1, 'two'],
    });
    await produceMany(`${prefix}.retail.orders`, [
      ...mongoMsg(prefix, 'c', A, doc('a', '9007199254740993'), 1000),
      ...mongoMsg(prefix, 'c', B, doc('b', '2'), 1001),
      ...mongoMsg(prefix, 'u', A, doc('a2', '-9223372036854775808'), 1002),
      ...mongoMsg(prefix, 'd', B, null, 1003),
    ]);
    const svc = await startInProcess(cdcManifest({ name: prefix, prefix, dest: `${schema}.mongo_${mode}`, include: 'retail.orders', strategy: 'merge', options: { mongo_mode: mode } }));
    try {
      const t = `"${schema}".mongo_${mode}`;
      if (mode === 'flatten') {
        const got = await waitFor(pool, `SELECT _id, name, n::text, price::text, at::text, addr::text, tags::text FROM ${t}`,
          (r) => r.length === 1 && r[0]?.name === 'a2');
        expect(got).toEqual([{
          _id: A, name: 'a2', n: '-9223372036854775808', price: '12.50', at: '2023-11-14 22:13:20+00',
          addr: '{"zip": 42, "city": "Oslo"}', tags: '[1, "two"]',
        }]);
      } else {
        const got = await waitFor(pool, `SELECT _id, doc->>'name' AS name, (doc->'n')::text AS n, doc->'addr'->'zip' AS zip FROM ${t}`,
          (r) => r.length === 1 && r[0]?.name === 'a2');
        expect(got).toEqual([{ _id: A, name: 'a2', n: '-9223372036854775808', zip: 42 }]);
      }
    } finally {
      expect(await svc.stop()).toBe(0);
    }
  });
});

describe('stale-event guard (stale_guard: true)', () => {
  it('replaying older events after newer ones overwrites nothing and deletes nothing', async () => {
    const prefix = uniqueName('stale');
    const f = new EventFactory(regionTable(prefix, 'sg', ['id']));
    const v1 = f.create({ id: 1, region: 'eu', v: 'v1' });
    const v2 = f.update(null, { id: 1, region: 'eu', v: 'v2' });
    const oldDelete = f.delete({ id: 2, region: 'eu', v: 'x' });
    const c2 = f.create({ id: 2, region: 'eu', v: 'two' });
    const v3 = f.update(null, { id: 1, region: 'eu', v: 'v3' });
    await produceMany(f.topic, [...v1, ...v2, ...c2, ...v3]);
    const svc = await startInProcess(cdcManifest({ name: prefix, prefix, dest: `${schema}.sg`, include: 'public.sg', strategy: 'merge', options: { stale_guard: true } }));
    try {
      const q = `SELECT id, v FROM "${schema}".sg ORDER BY id`;
      await waitFor(pool, q, (r) => r.length === 2 && r[0]?.v === 'v3');
      // The same messages again (as after an offset reset), older source positions: v1, v2 and a
      // delete of key 2 whose LSN precedes the create that is stored.
      await produceMany(f.topic, [...v1, ...v2, ...oldDelete, ...f.create({ id: 9, region: 'eu', v: 'marker' })]);
      const got = await waitFor(pool, q, (r) => r.some((x) => x.id === 9));
      expect(got).toEqual([{ id: 1, v: 'v3' }, { id: 2, v: 'two' }, { id: 9, v: 'marker' }]);
    } finally {
      expect(await svc.stop()).toBe(0);
    }
  });
});
