/**
 * delete_mode soft and metadata_columns at the sink, flush by flush: a delete keeps the row marked
 * with the delete's source commit time, a later upsert clears the mark, a truncate marks every live
 * row, a key change marks the old key; with the stale-event guard (a stale create cannot bring a
 * soft-deleted row back), on a partitioned target, on an existing table (the column is added), and
 * merge metadata holding each row's last change. The same through real Debezium:
 * test/it/cdc/soft-delete-e2e.it.ts and merge-metadata-e2e.it.ts.
 */
import type { Pool } from 'pg';
import { PgApplier } from '../../../src/sink/pg-applier';
import type { TableBatch } from '../../../src/kernel/types';
import { useTestSchema, columnTypes } from '../../helpers/pg';
import { cols, flush, mergeBatch, rows, sinkOptions } from './fixtures';

let pool: Pool;
let schema: string;

useTestSchema('soft', (p, s) => ((pool = p), (schema = s)));

const C = cols({ id: 'integer', v: 'text' });
const T1 = Date.parse('2024-03-01T10:00:00.123Z');
const T2 = Date.parse('2024-03-01T11:00:00.456Z');
const T3 = Date.parse('2024-03-01T12:00:00Z');
const pos = (offset: number) => ({ topic: 'src.public.t', partition: 2, offset: String(offset) });

async function soft(extra: Parameters<typeof sinkOptions>[1] = {}): Promise<PgApplier> {
  const a = new PgApplier(pool, sinkOptions(schema, { deleteMode: 'soft', ...extra }));
  await a.init();
  return a;
}

const state = (table: string) => rows(pool, `SELECT id, v, to_char(_nilus_deleted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS') FROM "${schema}"."${table}" ORDER BY id`);

describe('delete_mode soft at the sink', () => {
  it('marks deletes with the source commit time, clears the mark on re-insert, marks every live row on truncate', async () => {
    const t = { schema, table: 's1' };
    const a = await soft();
    await a.apply(flush([mergeBatch(t, ['id'], C, { upserts: [{ id: '1', v: 'a' }, { id: '2', v: 'b' }, { id: '3', v: 'c' }] })]));
    expect((await columnTypes(pool, schema, 's1'))._nilus_deleted_at).toBe('timestamp with time zone');
    await a.apply(flush([mergeBatch(t, ['id'], C, { deletes: [{ id: '1' }, { id: '2' }, { id: '99' }], deleteSource: [{ tsMs: T1 }, { tsMs: T2 }, { tsMs: T2 }] })]));
    expect(await state('s1')).toEqual([[1, 'a', '2024-03-01 10:00:00.123'], [2, 'b', '2024-03-01 11:00:00.456'], [3, 'c', null]]);
    // a create of a deleted key: the row lives again, with the new values
    await a.apply(flush([mergeBatch(t, ['id'], C, { upserts: [{ id: '1', v: 'a2' }] })]));
    expect(await state('s1')).toEqual([[1, 'a2', null], [2, 'b', '2024-03-01 11:00:00.456'], [3, 'c', null]]);
    // a truncate marks the live rows with its own time; a row already deleted keeps its time; rows after it live
    const b: TableBatch = { ...mergeBatch(t, ['id'], C, { truncate: true, upserts: [{ id: '4', v: 'd' }] }), truncateSource: { tsMs: T3 }, truncatePos: pos(7) };
    await a.apply(flush([b]));
    expect(await state('s1')).toEqual([
      [1, 'a2', '2024-03-01 12:00:00.000'], [2, 'b', '2024-03-01 11:00:00.456'], [3, 'c', '2024-03-01 12:00:00.000'], [4, 'd', null],
    ]);
    // a truncate alone (no rows in the batch) marks too
    await a.apply(flush([{ ...mergeBatch(t, ['(truncate)'], [], { truncate: true }), truncateSource: { tsMs: T3 + 1000 } }]));
    expect((await state('s1')).map((r) => r[2])).toEqual(['2024-03-01 12:00:00.000', '2024-03-01 11:00:00.456', '2024-03-01 12:00:00.000', '2024-03-01 12:00:01.000']);
  });

  it('a key change marks the old key and inserts the new one; a delete without a source time is marked with the flush time', async () => {
    const t = { schema, table: 's2' };
    const a = await soft();
    await a.apply(flush([mergeBatch(t, ['id'], C, { upserts: [{ id: '1', v: 'a' }, { id: '2', v: 'b' }] })]));
    await a.apply(flush([mergeBatch(t, ['id'], C, { deletes: [{ id: '1' }], deleteSource: [{ tsMs: T1 }], upserts: [{ id: '10', v: 'a' }] })]));
    expect(await state('s2')).toEqual([[1, 'a', '2024-03-01 10:00:00.123'], [2, 'b', null], [10, 'a', null]]);
    await a.apply(flush([mergeBatch(t, ['id'], C, { deletes: [{ id: '2' }] })]));
    const [r] = await rows(pool, `SELECT _nilus_deleted_at > now() - interval '1 minute' FROM "${schema}".s2 WHERE id = 2`);
    expect(r).toEqual([true]);
  });

  it('a key created and deleted within one batch (never in the target) is still kept, marked; a present row is not overwritten', async () => {
    const t = { schema, table: 's4' };
    const a = await soft({ staleGuard: true, metadataColumns: ['_nilus_op', '_nilus_offset'] });
    // the first flush of a new table holds only deletes, two with the row they deleted
    await a.apply(flush([{ ...mergeBatch(t, ['id'], C, { deletes: [{ id: '1' }, { id: '2' }, { id: '3' }], deleteSource: [{ lsn: 10n, tsMs: T1 }, { lsn: 11n, tsMs: T2 }, { lsn: 12n, tsMs: T2 }] }),
      deleteRows: [{ id: '1', v: 'short-lived' }, undefined, { id: '3', v: 'x' }], deletePos: [pos(1), pos(2), pos(3)] }]));
    expect(await rows(pool, `SELECT id, v, to_char(_nilus_deleted_at AT TIME ZONE 'UTC', 'HH24:MI:SS.MS'), _nilus_op, _nilus_offset::text, _nilus_source_pos::text FROM "${schema}".s4 ORDER BY id`)).toEqual([
      [1, 'short-lived', '10:00:00.123', 'd', '1', '10'],
      [3, 'x', '11:00:00.456', 'd', '3', '12'],
    ]);
    // a kept row for a key the target holds does not overwrite it: the delete marks the stored row
    await a.apply(flush([mergeBatch(t, ['id'], C, { upserts: [{ id: '5', v: 'stored' }], upsertSource: [{ lsn: 20n }] })]));
    await a.apply(flush([{ ...mergeBatch(t, ['id'], C, { deletes: [{ id: '5' }], deleteSource: [{ lsn: 30n, tsMs: T3 }] }), deleteRows: [{ id: '5', v: 'buffered' }] }]));
    expect(await rows(pool, `SELECT v, _nilus_deleted_at IS NOT NULL FROM "${schema}".s4 WHERE id = 5`)).toEqual([['stored', true]]);
  });

  it('with the stale-event guard, a stale create after a soft delete does not bring the row back; a newer one does', async () => {
    const t = { schema, table: 's3' };
    const a = await soft({ staleGuard: true });
    await a.apply(flush([mergeBatch(t, ['id'], C, { upserts: [{ id: '1', v: 'a' }], upsertSource: [{ lsn: 100n, tsMs: T1 }] })]));
    await a.apply(flush([mergeBatch(t, ['id'], C, { deletes: [{ id: '1' }], deleteSource: [{ lsn: 200n, tsMs: T2 }] })]));
    // a delete older than the stored row is stale too: the mark stays as the newer delete set it
    await a.apply(flush([mergeBatch(t, ['id'], C, { upserts: [{ id: '1', v: 'stale' }], upsertSource: [{ lsn: 150n, tsMs: T1 }] })]));
    expect(await rows(pool, `SELECT id, v, _nilus_source_pos::text, _nilus_deleted_at IS NOT NULL FROM "${schema}".s3`)).toEqual([[1, 'a', '200', true]]);
    await a.apply(flush([mergeBatch(t, ['id'], C, { deletes: [{ id: '1' }], deleteSource: [{ lsn: 120n, tsMs: T3 }] })]));
    expect(await state('s3')).toEqual([[1, 'a', '2024-03-01 11:00:00.456']]);
    await a.apply(flush([mergeBatch(t, ['id'], C, { upserts: [{ id: '1', v: 'new' }], upsertSource: [{ lsn: 300n, tsMs: T3 }] })]));
    expect(await rows(pool, `SELECT id, v, _nilus_source_pos::text, _nilus_deleted_at FROM "${schema}".s3`)).toEqual([[1, 'new', '300', null]]);
    // a truncate raises the stored position: an event older than it is stale
    await a.apply(flush([{ ...mergeBatch(t, ['id'], C, { truncate: true }), truncateSource: { lsn: 400n, tsMs: T3 } }]));
    await a.apply(flush([mergeBatch(t, ['id'], C, { upserts: [{ id: '1', v: 'older' }], upsertSource: [{ lsn: 350n }] })]));
    expect(await rows(pool, `SELECT v, _nilus_source_pos::text, _nilus_deleted_at IS NOT NULL FROM "${schema}".s3`)).toEqual([['new', '400', true]]);
  });

  it('works on a partitioned target', async () => {
    await pool.query(`CREATE TABLE "${schema}".p (id int NOT NULL, region text NOT NULL, v text, PRIMARY KEY (id, region)) PARTITION BY LIST (region)`);
    await pool.query(`CREATE TABLE "${schema}".p_eu PARTITION OF "${schema}".p FOR VALUES IN ('eu')`);
    await pool.query(`CREATE TABLE "${schema}".p_us PARTITION OF "${schema}".p FOR VALUES IN ('us')`);
    const t = { schema, table: 'p' };
    const a = await soft({ primaryKey: ['id', 'region'] });
    const c = cols({ id: 'integer', region: 'text', v: 'text' });
    const k = ['id', 'region'];
    await a.apply(flush([mergeBatch(t, k, c, { upserts: [{ id: '1', region: 'eu', v: 'a' }, { id: '2', region: 'us', v: 'b' }, { id: '3', region: 'us', v: 'c' }] })]));
    await a.apply(flush([mergeBatch(t, k, c, { deletes: [{ id: '3', region: 'us' }], deleteSource: [{ tsMs: T1 }], upserts: [{ id: '1', region: 'eu', v: 'a2' }] })]));
    await a.apply(flush([{ ...mergeBatch(t, k, c, { truncate: true, upserts: [{ id: '5', region: 'eu', v: 'e' }] }), truncateSource: { tsMs: T2 } }]));
    expect(await rows(pool, `SELECT tableoid::regclass::text, id, v, to_char(_nilus_deleted_at AT TIME ZONE 'UTC', 'HH24:MI:SS.MS') FROM "${schema}".p ORDER BY id`)).toEqual([
      [`${schema}.p_eu`, 1, 'a2', '11:00:00.456'],
      [`${schema}.p_us`, 2, 'b', '11:00:00.456'],
      [`${schema}.p_us`, 3, 'c', '10:00:00.123'],
      [`${schema}.p_eu`, 5, 'e', null],
    ]);
  });

  it('adds the mark column to an existing table (hard before), then soft-deletes in it', async () => {
    await pool.query(`CREATE TABLE "${schema}".old (id int PRIMARY KEY, v text)`);
    await pool.query(`INSERT INTO "${schema}".old VALUES (1, 'a'), (2, 'b')`);
    const t = { schema, table: 'old' };
    const a = await soft();
    await a.apply(flush([mergeBatch(t, ['id'], C, { deletes: [{ id: '2' }], deleteSource: [{ tsMs: T1 }] })]));
    expect(await state('old')).toEqual([[1, 'a', null], [2, 'b', '2024-03-01 10:00:00.123']]);
    // and a truncate alone on a table without the column
    await pool.query(`CREATE TABLE "${schema}".old2 (id int PRIMARY KEY, v text)`);
    await pool.query(`INSERT INTO "${schema}".old2 VALUES (1, 'a')`);
    await a.apply(flush([{ ...mergeBatch({ schema, table: 'old2' }, ['(truncate)'], [], { truncate: true }), truncateSource: { tsMs: T2 } }]));
    expect(await state('old2')).toEqual([[1, 'a', '2024-03-01 11:00:00.456']]);
  });
});

describe('metadata_columns on merge at the sink', () => {
  const META = `SELECT id, v, _nilus_op, to_char(_nilus_source_ts AT TIME ZONE 'UTC', 'HH24:MI:SS.MS'), _nilus_source_lsn::text, _nilus_topic, _nilus_partition, _nilus_offset::text, _nilus_applied_at IS NOT NULL`;

  it('holds the last change of each row (with soft deletes: the delete), on insert, update, delete and truncate', async () => {
    const t = { schema, table: 'm1' };
    const a = new PgApplier(pool, sinkOptions(schema, { deleteMode: 'soft', metadataColumns: ['_nilus_op', '_nilus_source_ts', '_nilus_source_lsn', '_nilus_topic', '_nilus_partition', '_nilus_offset', '_nilus_applied_at'] }));
    await a.init();
    const up = (ids: string[], ops: ('c' | 'u' | 'r')[], offsets: number[], lsn: bigint): TableBatch => ({
      ...mergeBatch(t, ['id'], C, { upserts: ids.map((id) => ({ id, v: `v${id}` })), upsertSource: ids.map(() => ({ lsn, tsMs: T1 })) }),
      upsertOp: ops, upsertPos: offsets.map(pos),
    });
    await a.apply(flush([up(['1', '2', '3'], ['r', 'r', 'c'], [1, 2, 3], 10n)]));
    await a.apply(flush([{ ...up(['2'], ['u'], [4], 20n), deletes: [{ id: '3' }], deleteSource: [{ lsn: 30n, tsMs: T2 }], deletePos: [pos(5)] }]));
    expect(await rows(pool, `${META} FROM "${schema}".m1 ORDER BY id`)).toEqual([
      [1, 'v1', 'r', '10:00:00.123', '10', 'src.public.t', 2, '1', true],
      [2, 'v2', 'u', '10:00:00.123', '20', 'src.public.t', 2, '4', true],
      [3, 'v3', 'd', '11:00:00.456', '30', 'src.public.t', 2, '5', true],
    ]);
    await a.apply(flush([{ ...mergeBatch(t, ['id'], C, { truncate: true }), truncateSource: { lsn: 40n, tsMs: T3 }, truncatePos: pos(6) }]));
    expect(await rows(pool, `${META} FROM "${schema}".m1 ORDER BY id`)).toEqual([
      [1, 'v1', 't', '12:00:00.000', '40', 'src.public.t', 2, '6', true],
      [2, 'v2', 't', '12:00:00.000', '40', 'src.public.t', 2, '6', true],
      [3, 'v3', 'd', '11:00:00.456', '30', 'src.public.t', 2, '5', true],
    ]);
  });

  it('a list creates only the columns named; hard deletes still remove the row', async () => {
    const t = { schema, table: 'm2' };
    const a = new PgApplier(pool, sinkOptions(schema, { metadataColumns: ['_nilus_op', '_nilus_offset'] }));
    await a.init();
    await a.apply(flush([{ ...mergeBatch(t, ['id'], C, { upserts: [{ id: '1', v: 'a' }, { id: '2', v: 'b' }] }), upsertOp: ['c', 'c'], upsertPos: [pos(1), pos(2)] }]));
    await a.apply(flush([{ ...mergeBatch(t, ['id'], C, { upserts: [{ id: '1', v: 'a2' }], deletes: [{ id: '2' }] }), upsertOp: ['u'], upsertPos: [pos(3)], deletePos: [pos(4)] }]));
    expect(Object.keys(await columnTypes(pool, schema, 'm2')).sort()).toEqual(['_nilus_offset', '_nilus_op', 'id', 'v']);
    expect(await rows(pool, `SELECT id, v, _nilus_op, _nilus_offset::text FROM "${schema}".m2`)).toEqual([[1, 'a2', 'u', '3']]);
  });
});
