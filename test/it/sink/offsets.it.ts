/**
 * Offsets commit with the rows, fenced by compare-and-set: a consumer that lost a partition
 * (rebalance, zombie member) cannot apply the same events a second time.
 */
import type { Pool } from 'pg';
import { PgApplier } from '../../../src/sink/pg-applier';
import { FencedError } from '../../../src/kernel/errors';
import { useTestSchema } from '../../helpers/pg';
import { cols, mergeBatch, sinkOptions } from './fixtures';

describe('offsets fencing', () => {
  let pool: Pool;
  let schema: string;
  useTestSchema('off', (p, s) => ((pool = p), (schema = s)));

  it('stores first offsets, advances them only from the expected value, and rolls the rows back when fenced', async () => {
    const applier = new PgApplier(pool, sinkOptions(schema, { destTable: `${schema}.t` }));
    await applier.init();
    const target = { schema, table: 't' };
    const c = cols({ id: 'bigint', v: 'text' });
    const batch = (id: string) => mergeBatch(target, ['id'], c, { upserts: [{ id, v: 'x' }] });

    await applier.apply({ groupId: 'g', tables: [batch('1')], offsets: [{ topic: 'a', partition: 0, next: '10', from: null }] });
    expect(await applier.storedOffsets('g')).toEqual([{ topic: 'a', partition: 0, next: '10' }]);

    await applier.apply({ groupId: 'g', tables: [batch('2')], offsets: [{ topic: 'a', partition: 0, next: '20', from: '10' }] });
    expect(await applier.storedOffsets('g')).toEqual([{ topic: 'a', partition: 0, next: '20' }]);

    // A stale member still believes the partition stands at 10: its flush must change nothing.
    const stale = applier.apply({ groupId: 'g', tables: [batch('3')], offsets: [{ topic: 'a', partition: 0, next: '15', from: '10' }] });
    await expect(stale).rejects.toBeInstanceOf(FencedError);
    // Likewise one that thinks nothing was stored yet.
    const fresh = applier.apply({ groupId: 'g', tables: [batch('4')], offsets: [{ topic: 'a', partition: 0, next: '12', from: null }] });
    await expect(fresh).rejects.toThrow(/another consumer/);

    expect(await applier.storedOffsets('g')).toEqual([{ topic: 'a', partition: 0, next: '20' }]);
    const ids = (await pool.query(`SELECT id::text FROM "${schema}".t ORDER BY id`)).rows.map((r) => r.id);
    expect(ids).toEqual(['1', '2']);
  });

  it('an unfenced mark (no `from`) overwrites, as an operator reset must', async () => {
    const applier = new PgApplier(pool, sinkOptions(schema, { destTable: `${schema}.t` }));
    await applier.init();
    await applier.apply({ groupId: 'g', tables: [], offsets: [{ topic: 'a', partition: 1, next: '50', from: null }] });
    await applier.apply({ groupId: 'g', tables: [], offsets: [{ topic: 'a', partition: 1, next: '5' }] });
    expect(await applier.storedOffsets('g')).toEqual([{ topic: 'a', partition: 1, next: '5' }]);
  });
});
