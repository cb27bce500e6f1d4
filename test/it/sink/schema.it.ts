import type { Pool } from 'pg';
import { PgApplier } from '../../../src/sink/pg-applier';
import { ConfigError } from '../../../src/kernel/errors';
import { IncompatibleTypeError } from '../../../src/sink/schema/checks';
import { useTestSchema } from '../../helpers/pg';
import { cols, flush, mergeBatch, rows, sinkOptions } from './fixtures';

let pool: Pool;
let schema: string;

useTestSchema('aps', (p, s) => ((pool = p), (schema = s)));

const columnsOf = (table: string): Promise<unknown[][]> =>
  rows(
    pool,
    `SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
    [`"${schema}"."${table}"`],
  );

describe('schema manager', () => {
  it('auto-creates a merge target with the event types and primary key', async () => {
    const t = { schema, table: 'Created' };
    const applier = new PgApplier(pool, sinkOptions(schema));
    await applier.init();
    expect(await applier.describeTarget(t)).toBeUndefined();
    const c = cols({ Id: 'bigint', price: 'numeric(12,2)', at: 'timestamp(6) without time zone', tags: 'text[]' });
    await applier.apply(flush([mergeBatch(t, ['Id'], c, { upserts: [{ Id: '1', price: '9.99', at: '2024-02-29 10:00:00.123456', tags: '{a,"b c"}' }] })]));
    expect(await columnsOf('Created')).toEqual([
      ['Id', 'bigint'],
      ['price', 'numeric(12,2)'],
      ['at', 'timestamp(6) without time zone'],
      ['tags', 'text[]'],
    ]);
    const info = await applier.describeTarget(t);
    expect(info?.primaryKey).toEqual(['Id']);
    expect(await rows(pool, `SELECT "Id"::text, price::text, at::text, tags FROM "${schema}"."Created"`)).toEqual([
      ['1', '9.99', '2024-02-29 10:00:00.123456', ['a', 'b c']],
    ]);
  });

  it('refuses a missing table when auto_create is off, naming the table and the fix', async () => {
    const t = { schema, table: 'nope' };
    const applier = new PgApplier(pool, sinkOptions(schema, { autoCreate: false }));
    await applier.init();
    await expect(applier.describeTarget(t)).rejects.toThrow(`table "${schema}"."nope" does not exist; create it or set auto_create: true`);
    const err = await applier.apply(flush([mergeBatch(t, ['id'], cols({ id: 'integer' }), { upserts: [{ id: '1' }] })])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain('does not exist; create it or set auto_create: true');
  });

  it('adds new columns when allowed; leaves columns dropped at the source alone', async () => {
    const t = { schema, table: 'evo' };
    const applier = new PgApplier(pool, sinkOptions(schema));
    await applier.init();
    await applier.apply(flush([mergeBatch(t, ['id'], cols({ id: 'integer', a: 'text', gone: 'text' }), { upserts: [{ id: '1', a: 'x', gone: 'g' }] })]));
    await applier.apply(flush([mergeBatch(t, ['id'], cols({ id: 'integer', a: 'text', b: 'date' }), { upserts: [{ id: '1', a: 'y', b: '2024-01-02' }, { id: '2', a: 'z', b: null }] })]));
    expect(await columnsOf('evo')).toEqual([['id', 'integer'], ['a', 'text'], ['gone', 'text'], ['b', 'date']]);
    expect(await rows(pool, `SELECT id, a, gone, b::text FROM "${schema}".evo ORDER BY id`)).toEqual([
      [1, 'y', 'g', '2024-01-02'],
      [2, 'z', null, null],
    ]);
  });

  it('names the missing column and the fix when auto_evolve is off', async () => {
    await pool.query(`CREATE TABLE "${schema}".fixed (id int PRIMARY KEY)`);
    const applier = new PgApplier(pool, sinkOptions(schema, { autoEvolve: false }));
    await applier.init();
    const t = { schema, table: 'fixed' };
    await expect(
      applier.apply(flush([mergeBatch(t, ['id'], cols({ id: 'integer', extra: 'text' }), { upserts: [{ id: '1', extra: 'e' }] })])),
    ).rejects.toThrow(`has no column "extra" (text) that the events carry; add it (ALTER TABLE "${schema}"."fixed" ADD COLUMN "extra" text) or set auto_evolve: true`);
  });

  it('refuses an incompatible type change naming table, column, old and new type', async () => {
    // auto_evolve off: even a widening (integer → bigint) is refused, and the message says why.
    const applier = new PgApplier(pool, sinkOptions(schema, { autoEvolve: false }));
    await applier.init();
    const t = { schema, table: 'narrow' };
    await applier.apply(flush([mergeBatch(t, ['id'], cols({ id: 'integer', n: 'integer', s: 'text' }), { upserts: [{ id: '1', n: '1', s: 'a' }] })]));
    const widen = applier.apply(flush([mergeBatch(t, ['id'], cols({ id: 'integer', n: 'bigint', s: 'text' }), { upserts: [{ id: '2', n: '5000000000', s: 'b' }] })]));
    // A DataError (per row: isolated, then dead-lettered or the stop names the record), not a whole-flush FatalError.
    await expect(widen).rejects.toThrow(IncompatibleTypeError);
    await expect(widen).rejects.toThrow(`incompatible change for "${schema}"."narrow": column "n" is integer in the target but the events now carry bigint`);
    await expect(widen).rejects.toThrow('nilus applies this widening itself only with auto_evolve: true');
    await pool.query(`CREATE TABLE "${schema}".txt (id int PRIMARY KEY, s integer)`);
    await expect(
      applier.apply(flush([mergeBatch({ schema, table: 'txt' }, ['id'], cols({ id: 'integer', s: 'text' }), { upserts: [{ id: '1', s: 'x' }] })])),
    ).rejects.toThrow('column "s" is integer in the target but the events now carry text');
    // A narrower incoming type fits a wider column: accepted.
    await applier.apply(flush([mergeBatch(t, ['id'], cols({ id: 'smallint', n: 'integer', s: 'character varying(5)' }), { upserts: [{ id: '3', n: '3', s: 'c' }] })]));
    expect(await rows(pool, `SELECT id, n, s FROM "${schema}".narrow ORDER BY id`)).toEqual([[1, 1, 'a'], [3, 3, 'c']]);
  });

  it('says which key differs when the events key is not the table primary key', async () => {
    await pool.query(`CREATE TABLE "${schema}".pk (id int PRIMARY KEY, code text)`);
    const applier = new PgApplier(pool, sinkOptions(schema));
    await applier.init();
    const t = { schema, table: 'pk' };
    await expect(
      applier.apply(flush([mergeBatch(t, ['code'], cols({ id: 'integer', code: 'text' }), { upserts: [{ id: '1', code: 'a' }] })])),
    ).rejects.toThrow('the key columns of the events ("code") differ from the primary key of');
    const declared = new PgApplier(pool, sinkOptions(schema, { primaryKey: ['code'] }));
    await expect(declared.describeTarget(t)).rejects.toThrow('declare primary_key: [id]');
    // A merge with no key at all must refuse to start rather than duplicate rows.
    await expect(
      applier.apply(flush([mergeBatch(t, [], cols({ id: 'integer', code: 'text' }), { upserts: [{ id: '1', code: 'a' }] })])),
    ).rejects.toThrow('needs a primary key');
    expect(await rows(pool, `SELECT count(*)::int FROM "${schema}".pk`)).toEqual([[0]]);
  });

  it('two appliers racing to create and evolve the same table both succeed', async () => {
    const t = { schema, table: 'race' };
    const a = new PgApplier(pool, sinkOptions(schema));
    const b = new PgApplier(pool, sinkOptions(schema));
    await a.init();
    await b.init();
    const c = cols({ id: 'integer', v: 'text', w: 'text' });
    await Promise.all([
      a.apply(flush([mergeBatch(t, ['id'], c, { upserts: [{ id: '1', v: 'a', w: 'a' }] })])),
      b.apply(flush([mergeBatch(t, ['id'], c, { upserts: [{ id: '2', v: 'b', w: 'b' }] })])),
    ]);
    expect(await rows(pool, `SELECT id FROM "${schema}".race ORDER BY id`)).toEqual([[1], [2]]);
  });
});
