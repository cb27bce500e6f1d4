/**
 * Issue 28 item 4, on the real stack (events produced to Kafka in Debezium's JsonConverter shape,
 * test/fixtures/factory.ts, with `__debezium.source.column.*` parameters where the connector sends
 * them under column.propagate.source.type): each safe widening is applied to the existing target
 * column in the flush's transaction (log line, nilus_schema_changes_total) and old and new values
 * are exact; a column dropped at the source stays and is NULL in rows inserted afterwards;
 * schema_change: variant lands an incompatible value in `<col>__v_<type>`; schema_change: stop
 * stops at the record even under errors.tolerance all.
 */
import type { Pool } from 'pg';
import { decimalBytes, EventFactory, type FieldDef, type TableDef } from '../../fixtures/factory';
import { createTopics, produce, type TestMessage } from '../../helpers/kafka';
import { uniqueName, useTestSchema } from '../../helpers/pg';
import { cdcManifest, startInProcess, type CdcManifestOptions } from '../../helpers/pipeline';
import { deadLetters, runUntilStopped, storedOffsets } from '../hostile/support';

const src = (type: string, length?: number, scale?: number): Record<string, string> => ({
  '__debezium.source.column.type': type,
  ...(length !== undefined ? { '__debezium.source.column.length': String(length) } : {}),
  ...(scale !== undefined ? { '__debezium.source.column.scale': String(scale) } : {}),
});
const decimal = (precision: number, scale: number): Partial<FieldDef> => ({
  type: 'bytes', logical: 'org.apache.kafka.connect.data.Decimal', version: 1, parameters: { scale: String(scale), 'connect.decimal.precision': String(precision) },
});
const micro = (scale: number): Partial<FieldDef> => ({ type: 'int64', logical: 'io.debezium.time.MicroTimestamp', version: 1, parameters: src('TIMESTAMP', 29, scale) });

function table(prefix: string, fields: FieldDef[]): TableDef {
  return { prefix, schema: 'public', table: 'wide', key: ['id'], fields: [{ name: 'id', type: 'int32', optional: false }, ...fields] };
}

/** Runs the pipeline until every produced record's offset is stored; returns its warn log and /metrics text. */
async function runOnce(pool: Pool, schema: string, manifest: CdcManifestOptions, topic: string, expected: number): Promise<{ logs: string; metrics: string }> {
  const svc = await startInProcess(cdcManifest(manifest));
  let ended: number | undefined;
  void svc.done.then((c) => (ended = c), () => (ended = -1));
  try {
    const deadline = Date.now() + 90_000;
    while ((await storedOffsets(pool, schema))[topic] !== expected) {
      if (ended !== undefined) throw new Error(`the pipeline stopped (exit ${ended}); log:\n${svc.logs()}`);
      if (Date.now() > deadline) throw new Error(`offset ${expected} not stored in 90 s; log:\n${svc.logs()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const metrics = await (await fetch(`http://127.0.0.1:${svc.httpPort}/metrics`)).text();
    return { logs: svc.logs(), metrics };
  } finally {
    expect(await svc.stop()).toBe(0);
  }
}

const warnLines = (logs: string, msg: string): Record<string, unknown>[] =>
  logs.split('\n').filter((l) => l.includes(msg)).map((l) => JSON.parse(l) as Record<string, unknown>);

describe('schema changes beyond an added column', () => {
  let pool: Pool;
  let schema: string;
  useTestSchema('widen', (p, s) => ((pool = p), (schema = s)));

  it('applies each safe widening to the existing column; old and new values are exact', async () => {
    const prefix = uniqueName('widen');
    const before = new EventFactory(table(prefix, [
      { name: 'a', type: 'int32' },
      { name: 'b', type: 'int32' },
      { name: 'c', type: 'float' },
      { name: 'd', type: 'string', parameters: src('VARCHAR', 10) },
      { name: 'e', type: 'string', parameters: src('VARCHAR', 10) },
      { name: 'f', ...decimal(10, 2) } as FieldDef,
      { name: 'g', ...micro(3) } as FieldDef,
    ]));
    const after = new EventFactory(table(prefix, [
      { name: 'a', type: 'int64' },
      { name: 'b', ...decimal(14, 2) } as FieldDef,
      { name: 'c', type: 'double' },
      { name: 'd', type: 'string', parameters: src('VARCHAR', 40) },
      { name: 'e', type: 'string', parameters: src('TEXT') },
      { name: 'f', ...decimal(12, 2) } as FieldDef,
      { name: 'g', ...micro(6) } as FieldDef,
    ]));
    const first: TestMessage[] = before.create({ id: 1, a: 7, b: 8, c: 1.5, d: 'short', e: 'ten chars!', f: decimalBytes(1234567890n), g: 1_700_000_000_123_000 });
    await createTopics([before.topic]);
    await produce(before.topic, first);
    const manifest: CdcManifestOptions = { name: prefix, prefix, dest: `${schema}.wide`, strategy: 'merge', include: 'public.wide' };
    await runOnce(pool, schema, manifest, before.topic, first.length);
    const types = async () => (await pool.query<{ attname: string; t: string }>(
      `SELECT attname, format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = '"${schema}".wide'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
    )).rows.map((r) => `${r.attname} ${r.t}`);
    expect(await types()).toEqual([
      'id integer', 'a integer', 'b integer', 'c real', 'd character varying(10)', 'e character varying(10)', 'f numeric(10,2)', 'g timestamp(3) without time zone',
    ]);

    const second: TestMessage[] = [
      ...after.create({ id: 2, a: 1099511627776, b: decimalBytes(12345678901234n), c: 0.1, d: 'a value longer than ten chars', e: 'x'.repeat(300), f: decimalBytes(123456789012n), g: 1_700_000_000_123_456 }),
      ...after.update(null, { id: 1, a: 8589934592, b: decimalBytes(900n), c: 2.25, d: 'short2', e: 'now longer than ten', f: decimalBytes(99999999999n), g: 1_700_000_000_000_001 }),
    ];
    await produce(before.topic, second);
    const run = await runOnce(pool, schema, manifest, before.topic, first.length + second.length);

    expect(await types()).toEqual([
      'id integer', 'a bigint', 'b numeric(14,2)', 'c double precision', 'd character varying(40)', 'e text', 'f numeric(12,2)', 'g timestamp(6) without time zone',
    ]);
    const rows = await pool.query(`SELECT id, a::text, b::text, c::text, d, e, f::text, g::text FROM "${schema}".wide ORDER BY id`);
    expect(rows.rows).toEqual([
      { id: 1, a: '8589934592', b: '9.00', c: '2.25', d: 'short2', e: 'now longer than ten', f: '999999999.99', g: '2023-11-14 22:13:20.000001' },
      { id: 2, a: '1099511627776', b: '123456789012.34', c: '0.1', d: 'a value longer than ten chars', e: 'x'.repeat(300), f: '1234567890.12', g: '2023-11-14 22:13:20.123456' },
    ]);
    const widened = warnLines(run.logs, 'widened a target column');
    expect(widened.map((l) => [l.column, l.oldType, l.newType]).sort()).toEqual([
      ['a', 'integer', 'bigint'], ['b', 'integer', 'numeric(14,2)'], ['c', 'real', 'double precision'], ['d', 'character varying(10)', 'varchar(40)'],
      ['e', 'character varying(10)', 'text'], ['f', 'numeric(10,2)', 'numeric(12,2)'], ['g', 'timestamp(3) without time zone', 'timestamp(6)'],
    ]);
    expect([...new Set(widened.map((l) => `${String(l.level)} ${String(l.table)}`))]).toEqual([`warn "${schema}"."wide"`]);
    expect(run.metrics).toMatch(new RegExp(`nilus_schema_changes_total\\{pipeline="${prefix}",table="\\\\"${schema}\\\\"\\.\\\\"wide\\\\"",kind="widen"\\} 7`));
  });

  it('a column dropped at the source stays in the target: NULL in rows inserted afterwards, kept in rows updated', async () => {
    const prefix = uniqueName('wdrop');
    const before = new EventFactory(table(prefix, [{ name: 'name', type: 'string' }, { name: 'note', type: 'string' }]));
    const after = new EventFactory(table(prefix, [{ name: 'name', type: 'string' }]));
    const first = [...before.create({ id: 1, name: 'one', note: 'kept' }), ...before.create({ id: 2, name: 'two', note: 'n2' })];
    await createTopics([before.topic]);
    await produce(before.topic, first);
    const manifest: CdcManifestOptions = { name: prefix, prefix, dest: `${schema}.dropped`, strategy: 'merge', include: 'public.wide' };
    await runOnce(pool, schema, manifest, before.topic, first.length);
    const second = [...after.create({ id: 3, name: 'three' }), ...after.update(null, { id: 1, name: 'one again' })];
    await produce(before.topic, second);
    await runOnce(pool, schema, manifest, before.topic, first.length + second.length);
    expect((await pool.query(`SELECT id, name, note FROM "${schema}".dropped ORDER BY id`)).rows).toEqual([
      { id: 1, name: 'one again', note: 'kept' },
      { id: 2, name: 'two', note: 'n2' },
      { id: 3, name: 'three', note: null },
    ]);
  });

  it('schema_change: variant lands an incompatible value in <col>__v_<type>, the column NULL; a fitting value clears it again', async () => {
    const prefix = uniqueName('wvar');
    const before = new EventFactory(table(prefix, [{ name: 'price', ...decimal(10, 2) } as FieldDef]));
    const after = new EventFactory(table(prefix, [{ name: 'price', type: 'string' }]));
    const first = [...before.create({ id: 1, price: decimalBytes(150n) }), ...before.create({ id: 2, price: decimalBytes(275n) })];
    await createTopics([before.topic]);
    await produce(before.topic, first);
    const manifest: CdcManifestOptions = { name: prefix, prefix, dest: `${schema}.priced`, strategy: 'merge', include: 'public.wide', options: { schema_change: 'variant' } };
    await runOnce(pool, schema, manifest, before.topic, first.length);
    const second = [
      ...after.create({ id: 3, price: 'on request' }),
      ...after.update(null, { id: 1, price: 'n/a' }),
      ...before.create({ id: 4, price: decimalBytes(999n) }),
    ];
    await produce(before.topic, second);
    const run = await runOnce(pool, schema, manifest, before.topic, first.length + second.length);
    const q = async () => (await pool.query(`SELECT id, price::text, price__v_text FROM "${schema}".priced ORDER BY id`)).rows;
    expect(await q()).toEqual([
      { id: 1, price: null, price__v_text: 'n/a' },
      { id: 2, price: '2.75', price__v_text: null },
      { id: 3, price: null, price__v_text: 'on request' },
      { id: 4, price: '9.99', price__v_text: null },
    ]);
    expect(warnLines(run.logs, 'land in a variant column').map((l) => [l.column, l.type])).toEqual([['price__v_text', 'text']]);
    expect(run.metrics).toMatch(/nilus_schema_changes_total\{[^}]*kind="variant"\} 1/);
    // Row 1 gets a value of the column's type again: it lands in the column, the variant cleared.
    const third = before.update(null, { id: 1, price: decimalBytes(100n) });
    await produce(before.topic, third);
    await runOnce(pool, schema, manifest, before.topic, first.length + second.length + third.length);
    expect((await q())[0]).toEqual({ id: 1, price: '1.00', price__v_text: null });
  });

  it('schema_change: stop stops at the record even under errors.tolerance all, naming it; nothing is dead-lettered', async () => {
    const prefix = uniqueName('wstop');
    const before = new EventFactory(table(prefix, [{ name: 'qty', type: 'int32' }]));
    const after = new EventFactory(table(prefix, [{ name: 'qty', type: 'string' }]));
    const msgs = [...before.create({ id: 1, qty: 1 })];
    await createTopics([before.topic]);
    await produce(before.topic, msgs);
    const manifest: CdcManifestOptions = {
      name: prefix, prefix, dest: `${schema}.stopped`, strategy: 'merge', include: 'public.wide',
      options: { schema_change: 'stop', 'errors.tolerance': 'all', 'errors.deadletter.table': `${schema}.wstop_dead` },
    };
    await runOnce(pool, schema, manifest, before.topic, msgs.length);
    const bad = msgs.length;
    await produce(before.topic, [...after.create({ id: 2, qty: 'a dozen' }), ...before.create({ id: 3, qty: 3 })]);
    const out = await runUntilStopped(manifest);
    expect(out.stoppedWith).toBe(1);
    expect(out.logs).toContain(`topic ${before.topic}, partition 0, offset ${bad}`);
    expect(out.logs).toMatch(/column \\"qty\\" is integer in the target but the events now carry text/);
    expect(out.logs).toMatch(/old type integer, new type text/);
    expect(out.logs).toMatch(/schema_change: stop stops at such a record whatever errors.tolerance is/);
    expect(await deadLetters(pool, schema, 'wstop_dead')).toEqual([]);
    expect((await storedOffsets(pool, schema))[before.topic]).toBe(bad);
    expect((await pool.query(`SELECT id FROM "${schema}".stopped ORDER BY id`)).rows).toEqual([{ id: 1 }]);
  });

  it('schema_change: deadletter dead-letters the record of the new type with the change, the others apply', async () => {
    const prefix = uniqueName('wdead');
    const before = new EventFactory(table(prefix, [{ name: 'qty', type: 'int32' }]));
    const after = new EventFactory(table(prefix, [{ name: 'qty', type: 'string' }]));
    const msgs = [...before.create({ id: 1, qty: 1 }), ...after.create({ id: 2, qty: 'a dozen' }), ...before.create({ id: 3, qty: 3 })];
    await createTopics([before.topic]);
    await pool.query(`CREATE TABLE "${schema}".dead_target (id integer PRIMARY KEY, qty integer)`);
    await produce(before.topic, msgs);
    const manifest: CdcManifestOptions = {
      name: prefix, prefix, dest: `${schema}.dead_target`, strategy: 'merge', include: 'public.wide',
      options: { schema_change: 'deadletter', 'errors.tolerance': 'all', 'errors.deadletter.table': `${schema}.wdead_dead` },
    };
    await runOnce(pool, schema, manifest, before.topic, msgs.length);
    expect((await pool.query(`SELECT id, qty FROM "${schema}".dead_target ORDER BY id`)).rows).toEqual([{ id: 1, qty: 1 }, { id: 3, qty: 3 }]);
    const dead = await deadLetters(pool, schema, 'wdead_dead');
    expect(dead.map((d) => d.o)).toEqual(['1']);
    expect(dead[0]!.reason).toMatch(/column "qty".*incompatible change.*old type integer, new type text/);
  });
});
