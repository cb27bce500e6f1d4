import type { Pool } from 'pg';
import { PgApplier } from '../../../src/sink/pg-applier';
import { UNAVAILABLE, type TableBatch } from '../../../src/kernel/types';
import { useTestSchema } from '../../helpers/pg';
import { appendBatch, cols, event, flush, rows, sinkOptions } from './fixtures';

let pool: Pool;
let schema: string;

useTestSchema('apa', (p, s) => ((pool = p), (schema = s)));

describe('append', () => {
  it('writes every event as a row with its metadata columns, deletes and truncates included', async () => {
    const t = { schema, table: 'Log' };
    const applier = new PgApplier(pool, sinkOptions(schema, { strategy: 'append' }));
    await applier.init();
    const c = cols({ id: 'integer', v: 'text' });
    const ts = Date.UTC(2024, 1, 29, 10, 0, 0, 123);
    const events = [
      event('r', t, c, { id: '1', v: 'snap' }, { tsMs: ts, lsn: 100n }),
      event('u', t, c, { id: '1', v: UNAVAILABLE }, { tsMs: ts, lsn: 200n }),
      event('d', t, c, { id: '1', v: 'gone' }, { lsn: 300n }),
      event('t', t, c, null, {}),
      event('c', t, c, { id: '1', v: 'again' }, {}),
    ];
    await applier.apply(flush([appendBatch(t, c, events)], [{ topic: 'topic.Log', partition: 0, next: String(Number(events[4]!.pos.offset) + 1) }]));
    const got = await rows(
      pool,
      `SELECT id, v, _nilus_op, _nilus_source_ts, _nilus_source_lsn::text, _nilus_topic, _nilus_partition, _nilus_offset::text,
              _nilus_applied_at IS NOT NULL FROM "${schema}"."Log" ORDER BY _nilus_offset`,
    );
    expect(got).toEqual(events.map((e, i) => [
      [1, 1, 1, null, 1][i],
      ['snap', null, 'gone', null, 'again'][i],
      e.op,
      i < 2 ? new Date(ts) : null,
      ['100', '200', '300', null, null][i],
      'topic.Log',
      0,
      e.pos.offset,
      true,
    ]));
    const types = await rows(
      pool,
      `SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = $1::regclass AND attname LIKE '\\_nilus%' ORDER BY attnum`,
      [`"${schema}"."Log"`],
    );
    expect(types).toEqual([
      ['_nilus_op', 'character(1)'],
      ['_nilus_source_ts', 'timestamp with time zone'],
      ['_nilus_source_lsn', 'bigint'],
      ['_nilus_topic', 'text'],
      ['_nilus_partition', 'integer'],
      ['_nilus_offset', 'bigint'],
      ['_nilus_applied_at', 'timestamp with time zone'],
    ]);
    expect(await applier.storedOffsets('g1', ['topic.Log'])).toEqual([{ topic: 'topic.Log', partition: 0, next: String(Number(events[4]!.pos.offset) + 1) }]);
  });

  it('adds the metadata columns to an existing append target', async () => {
    await pool.query(`CREATE TABLE "${schema}".pre (id int, v text)`);
    const t = { schema, table: 'pre' };
    const applier = new PgApplier(pool, sinkOptions(schema, { strategy: 'append', autoEvolve: false }));
    await applier.init();
    const c = cols({ id: 'integer', v: 'text' });
    await applier.apply(flush([appendBatch(t, c, [event('c', t, c, { id: '5', v: 'x' })])]));
    expect(await rows(pool, `SELECT id, v, _nilus_op FROM "${schema}".pre`)).toEqual([[5, 'x', 'c']]);
  });
});

describe('replace', () => {
  it('a flush with truncate replaces the table content atomically', async () => {
    const t = { schema, table: 'rep' };
    const applier = new PgApplier(pool, sinkOptions(schema, { strategy: 'replace' }));
    await applier.init();
    const c = cols({ id: 'integer', v: 'text' });
    const batch = (vals: string[]): TableBatch => ({
      target: t, strategy: 'replace', keyColumns: [], columns: c, truncate: true,
      upserts: vals.map((v, i) => ({ id: String(i), v })), upsertSource: [], deletes: [], deleteSource: [], events: [],
    });
    await applier.apply(flush([batch(['a', 'b', 'c'])]));
    await applier.apply(flush([batch(['x'])]));
    expect(await rows(pool, `SELECT id, v FROM "${schema}".rep`)).toEqual([[0, 'x']]);
  });
});
