import type { Pool } from 'pg';
import { PgApplier } from '../../../src/sink/pg-applier';
import type { Row } from '../../../src/kernel/types';
import { createTestSchema, dropTestSchema, newPool } from '../../helpers/pg';
import { cols, flush, mergeBatch, rows, sinkOptions } from './fixtures';

let pool: Pool;
let schema: string;

beforeAll(async () => {
  pool = newPool();
  schema = await createTestSchema(pool, 'apv');
});
afterAll(async () => {
  await dropTestSchema(pool, schema);
  await pool.end();
});

const N = 100_000;

function makeRows(from: number, to: number, tag: string): Row[] {
  const out: Row[] = [];
  for (let i = from; i < to; i++) {
    out.push({ id: String(i), name: `${tag}\t${i}`, amount: `${i}.25`, at: '2024-01-01 00:00:00', note: i % 10 === 0 ? null : 'n' });
  }
  return out;
}

describe('volume', () => {
  it('merges a 100k-row flush, then updates and deletes 100k rows in one more flush', async () => {
    const t = { schema, table: 'big' };
    const applier = new PgApplier(pool, sinkOptions(schema));
    await applier.init();
    const c = cols({ id: 'bigint', name: 'text', amount: 'numeric(14,2)', at: 'timestamp', note: 'text' });
    let started = Date.now();
    await applier.apply(flush([mergeBatch(t, ['id'], c, { upserts: makeRows(0, N, 'v1') })], [{ topic: 'big', partition: 0, next: String(N) }]));
    const insertMs = Date.now() - started;
    // Second flush: 50k updates of existing keys + 50k new keys, and 20k deletes of other keys.
    const deletes: Row[] = [];
    for (let i = 50_000; i < 70_000; i++) deletes.push({ id: String(i) });
    started = Date.now();
    await applier.apply(
      flush([mergeBatch(t, ['id'], c, { upserts: [...makeRows(0, 50_000, 'v2'), ...makeRows(N, N + 50_000, 'v2')], deletes })], [
        { topic: 'big', partition: 0, next: String(2 * N) },
      ]),
    );
    const mixedMs = Date.now() - started;
    process.stdout.write(`100k insert flush ${insertMs} ms; 100k upsert + 20k delete flush ${mixedMs} ms\n`);
    expect(
      await rows(
        pool,
        `SELECT count(*)::int, count(*) FILTER (WHERE name LIKE 'v2' || chr(9) || '%')::int, count(note)::int,
                sum(amount)::text, min(id)::int, max(id)::int,
                count(*) FILTER (WHERE id BETWEEN 50000 AND 69999)::int
         FROM "${schema}".big`,
      ),
    ).toEqual([[130_000, 100_000, 117_000, expectedSum(), 0, 149_999, 0]]);
    expect(await rows(pool, `SELECT name, amount::text FROM "${schema}".big WHERE id = 12345`)).toEqual([['v2\t12345', '12345.25']]);
    expect(await applier.storedOffsets('g1')).toEqual([{ topic: 'big', partition: 0, next: String(2 * N) }]);
  });
});

/** Sum of `i.25` over the ids that remain: 0..49999, 70000..149999. */
function expectedSum(): string {
  let s = 0n;
  const add = (a: number, b: number): void => {
    for (let i = a; i < b; i++) s += BigInt(i) * 100n + 25n;
  };
  add(0, 50_000);
  add(70_000, 150_000);
  return `${s / 100n}.${(s % 100n).toString().padStart(2, '0')}`;
}
