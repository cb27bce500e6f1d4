import type { Pool } from 'pg';
import { PgApplier } from '../../../src/sink/pg-applier';
import { useTestSchema } from '../../helpers/pg';
import { appendBatch, cols, event, flush, mergeBatch, rows, sinkOptions } from './fixtures';

let pool: Pool;
let schema: string;

useTestSchema('app', (p, s) => ((pool = p), (schema = s)));

async function partitioned(table: string, pk: string): Promise<void> {
  await pool.query(`CREATE TABLE "${schema}"."${table}" (id int NOT NULL, region text NOT NULL, v text${pk}) PARTITION BY LIST (region)`);
  await pool.query(`CREATE TABLE "${schema}"."${table}_eu" PARTITION OF "${schema}"."${table}" FOR VALUES IN ('eu')`);
  await pool.query(`CREATE TABLE "${schema}"."${table}_us" PARTITION OF "${schema}"."${table}" FOR VALUES IN ('us')`);
}

describe('partitioned targets', () => {
  it('merge (upserts and deletes) works when the primary key includes the partition key', async () => {
    await partitioned('p', ', PRIMARY KEY (id, region)');
    const t = { schema, table: 'p' };
    const applier = new PgApplier(pool, sinkOptions(schema, { primaryKey: ['id', 'region'] }));
    await applier.init();
    expect((await applier.describeTarget(t))?.partitionKey).toEqual(['region']);
    const c = cols({ id: 'integer', region: 'text', v: 'text' });
    const k = ['id', 'region'];
    await applier.apply(flush([mergeBatch(t, k, c, { upserts: [
      { id: '1', region: 'eu', v: 'a' }, { id: '2', region: 'us', v: 'b' }, { id: '3', region: 'us', v: 'c' },
    ] })]));
    await applier.apply(flush([mergeBatch(t, k, c, { upserts: [{ id: '1', region: 'eu', v: 'a2' }], deletes: [{ id: '3', region: 'us' }] })]));
    expect(await rows(pool, `SELECT tableoid::regclass::text, id, v FROM "${schema}".p ORDER BY id`)).toEqual([
      [`${schema}.p_eu`, 1, 'a2'],
      [`${schema}.p_us`, 2, 'b'],
    ]);
  });

  it('refuses a partitioned target without a usable key, with the fix in the message', async () => {
    await partitioned('nopk', '');
    const t = { schema, table: 'nopk' };
    const applier = new PgApplier(pool, sinkOptions(schema));
    await applier.init();
    const msg = `target "${schema}"."nopk" is partitioned by ("region"); its primary key must include the partition key columns ("region"): e.g. PRIMARY KEY ("id", "region")`;
    await expect(applier.describeTarget(t)).rejects.toThrow('is partitioned by ("region"); its primary key must include the partition key columns');
    await expect(
      applier.apply(flush([mergeBatch(t, ['id'], cols({ id: 'integer', region: 'text', v: 'text' }), { upserts: [{ id: '1', region: 'eu', v: 'a' }] })])),
    ).rejects.toThrow(msg);
  });

  it('refuses events keyed without the partition key even when the table key is right', async () => {
    await partitioned('ev', ', PRIMARY KEY (id, region)');
    const applier = new PgApplier(pool, sinkOptions(schema));
    await applier.init();
    await expect(
      applier.apply(flush([mergeBatch({ schema, table: 'ev' }, ['id'], cols({ id: 'integer', region: 'text', v: 'text' }), { upserts: [{ id: '1', region: 'eu', v: 'a' }] })])),
    ).rejects.toThrow('declare primary_key: [id, region]');
  });

  it('append writes into a partitioned target', async () => {
    await partitioned('ap', '');
    const t = { schema, table: 'ap' };
    const applier = new PgApplier(pool, sinkOptions(schema, { strategy: 'append' }));
    await applier.init();
    const c = cols({ id: 'integer', region: 'text', v: 'text' });
    await applier.apply(flush([appendBatch(t, c, [
      event('c', t, c, { id: '1', region: 'eu', v: 'a' }), event('u', t, c, { id: '1', region: 'us', v: 'b' }),
    ])]));
    expect(await rows(pool, `SELECT tableoid::regclass::text, id, _nilus_op FROM "${schema}".ap ORDER BY _nilus_offset`)).toEqual([
      [`${schema}.ap_eu`, 1, 'c'],
      [`${schema}.ap_us`, 1, 'u'],
    ]);
  });
});
