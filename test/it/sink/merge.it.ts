import type { Pool } from 'pg';
import { Flusher } from '../../../src/engine/flusher';
import { PgApplier } from '../../../src/sink/pg-applier';
import { UNAVAILABLE, type Row } from '../../../src/kernel/types';
import { CopyLine } from '../../../src/kernel/types';
import { appendRow } from '../../../src/copy-text/encode';
import { CoreEmitter, type CoreEvents } from '../../../src/kernel/events';
import { dropTestSchema, useTestSchema } from '../../helpers/pg';
import { cols, flush, mergeBatch, rows, sinkOptions } from './fixtures';

let pool: Pool;
let schema: string;

useTestSchema('apm', (p, s) => ((pool = p), (schema = s)));

describe('merge', () => {
  it('inserts, updates and deletes by key, and stores the offsets in the same transaction', async () => {
    const t = { schema, table: 'orders' };
    const applier = new PgApplier(pool, sinkOptions(schema));
    await applier.init();
    const c = cols({ id: 'integer', name: 'text', amount: 'numeric(12,2)' });
    await applier.apply(
      flush([mergeBatch(t, ['id'], c, { upserts: [{ id: '1', name: 'a', amount: '1.50' }, { id: '2', name: 'b', amount: null }, { id: '3', name: 'c', amount: '3' }] })], [
        { topic: 'x', partition: 0, next: '3' },
      ]),
    );
    await applier.apply(
      flush([mergeBatch(t, ['id'], c, { upserts: [{ id: '2', name: 'b2', amount: '2.25' }], deletes: [{ id: '3' }] })], [
        { topic: 'x', partition: 0, next: '5' },
      ]),
    );
    expect(await rows(pool, `SELECT id, name, amount::text FROM "${schema}".orders ORDER BY id`)).toEqual([
      [1, 'a', '1.50'],
      [2, 'b2', '2.25'],
    ]);
    expect(await applier.storedOffsets('g1')).toEqual([{ topic: 'x', partition: 0, next: '5' }]);
  });

  it('handles composite keys for upserts and deletes', async () => {
    const t = { schema, table: 'lines' };
    const applier = new PgApplier(pool, sinkOptions(schema));
    await applier.init();
    const c = cols({ order_id: 'bigint', line: 'integer', sku: 'text' });
    const k = ['order_id', 'line'];
    await applier.apply(flush([mergeBatch(t, k, c, { upserts: [
      { order_id: '1', line: '1', sku: 'a' }, { order_id: '1', line: '2', sku: 'b' }, { order_id: '2', line: '1', sku: 'c' },
    ] })]));
    await applier.apply(flush([mergeBatch(t, k, c, {
      upserts: [{ order_id: '2', line: '1', sku: 'c2' }],
      deletes: [{ order_id: '1', line: '2' }],
    })]));
    expect(await rows(pool, `SELECT order_id::text, line, sku FROM "${schema}".lines ORDER BY 1, 2`)).toEqual([
      ['1', 1, 'a'],
      ['2', 1, 'c2'],
    ]);
    const pk = await rows(pool, `SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'p'`, [`"${schema}".lines`]);
    expect(pk).toEqual([['PRIMARY KEY (order_id, line)']]);
  });

  it('keeps stored values for unavailable (TOAST) columns and uses the default for new rows', async () => {
    const t = { schema, table: 'docs' };
    await pool.query(`CREATE TABLE "${schema}".docs (id int PRIMARY KEY, title text, body text DEFAULT 'none', n int)`);
    const applier = new PgApplier(pool, sinkOptions(schema));
    await applier.init();
    const c = cols({ id: 'integer', title: 'text', body: 'text', n: 'integer' });
    await applier.apply(flush([mergeBatch(t, ['id'], c, { upserts: [
      { id: '1', title: 't1', body: 'long body 1', n: '1' },
      { id: '2', title: 't2', body: 'long body 2', n: '2' },
    ] })]));
    // Same column, two rows: one carries a value, one does not; plus a new row without it.
    await applier.apply(flush([mergeBatch(t, ['id'], c, { upserts: [
      { id: '1', title: 't1b', body: 'new body 1', n: '10' },
      { id: '2', title: 't2b', body: UNAVAILABLE, n: '20' },
      { id: '3', title: 't3', body: UNAVAILABLE, n: UNAVAILABLE },
    ] })]));
    expect(await rows(pool, `SELECT id, title, body, n FROM "${schema}".docs ORDER BY id`)).toEqual([
      [1, 't1b', 'new body 1', 10],
      [2, 't2b', 'long body 2', 20],
      [3, 't3', 'none', null],
    ]);
  });

  it('a moved row (primary-key change) takes its unchanged-TOAST values from the target row under its old key', async () => {
    const t = { schema, table: 'moved' };
    const applier = new PgApplier(pool, sinkOptions(schema));
    await applier.init();
    const c = cols({ a: 'integer', b: 'text', title: 'text', body: 'text', n: 'integer' });
    await applier.apply(flush([mergeBatch(t, ['a', 'b'], c, { upserts: [
      { a: '1', b: 'x', title: 't1', body: 'long body 1', n: '1' },
      { a: '2', b: 'y', title: 't2', body: 'long body 2', n: '2' },
    ] })]));
    // 1/x moves to 10/x (body and n unchanged, so placeholders); 2/y is updated in place.
    const written = await applier.apply(flush([{
      ...mergeBatch(t, ['a', 'b'], c, {
        deletes: [{ a: '1', b: 'x' }],
        upserts: [{ a: '10', b: 'x', title: 't1 moved', body: UNAVAILABLE, n: UNAVAILABLE }, { a: '2', b: 'y', title: 't2b', body: UNAVAILABLE, n: '20' }],
      }),
      upsertFrom: [{ a: '1', b: 'x' }, undefined],
    }]));
    expect(await rows(pool, `SELECT a, b, title, body, n FROM "${schema}".moved ORDER BY a`)).toEqual([
      [2, 'y', 't2b', 'long body 2', 20],
      [10, 'x', 't1 moved', 'long body 1', 1],
    ]);
    expect(written[0]).toMatchObject({ upserts: 2, deletes: 1, unresolved: 0 });
  });

  it('counts (never silently NULLs) placeholder rows whose value no stored row holds', async () => {
    const t = { schema, table: 'lost' };
    const applier = new PgApplier(pool, sinkOptions(schema));
    await applier.init();
    const c = cols({ id: 'integer', body: 'text', n: 'integer' });
    await applier.apply(flush([mergeBatch(t, ['id'], c, { upserts: [{ id: '1', body: 'kept', n: '1' }] })]));
    const written = await applier.apply(flush([{
      ...mergeBatch(t, ['id'], c, { upserts: [
        { id: '1', body: UNAVAILABLE, n: '2' },
        { id: '5', body: UNAVAILABLE, n: '5' },
        { id: '6', body: UNAVAILABLE, n: '6' },
      ] }),
      // 5 moved from 99, which the target does not hold; 6 came without an old key at all.
      upsertFrom: [undefined, { id: '99' }, undefined],
    }]));
    expect(await rows(pool, `SELECT id, body, n FROM "${schema}".lost ORDER BY id`)).toEqual([
      [1, 'kept', 2],
      [5, null, 5],
      [6, null, 6],
    ]);
    expect(written[0]).toMatchObject({ upserts: 3, unresolved: 2, unresolvedKeys: ['5', '6'] });
  });

  it('truncates before the rows that followed the truncate', async () => {
    const t = { schema, table: 'tr' };
    const applier = new PgApplier(pool, sinkOptions(schema));
    await applier.init();
    const c = cols({ id: 'integer', v: 'text' });
    await applier.apply(flush([mergeBatch(t, ['id'], c, { upserts: [{ id: '1', v: 'a' }, { id: '2', v: 'b' }] })]));
    await applier.apply(flush([mergeBatch(t, ['id'], c, { truncate: true, upserts: [{ id: '2', v: 'after' }] })]));
    expect(await rows(pool, `SELECT id, v FROM "${schema}".tr ORDER BY id`)).toEqual([[2, 'after']]);
  });

  it('escapes COPY special characters and keeps NULL distinct from the text \\N', async () => {
    const t = { schema, table: 'esc' };
    const applier = new PgApplier(pool, sinkOptions(schema));
    await applier.init();
    const c = cols({ id: 'integer', v: 'text', b: 'bytea' });
    const nasty = 'tab\there\nnew\rcr back\\slash \\N ünï';
    await applier.apply(flush([mergeBatch(t, ['id'], c, { upserts: [
      { id: '1', v: nasty, b: '\\x00ff' }, { id: '2', v: '\\N', b: null }, { id: '3', v: null, b: null },
    ] })]));
    expect(await rows(pool, `SELECT id, v, encode(b, 'hex') FROM "${schema}".esc ORDER BY id`)).toEqual([
      [1, nasty, '00ff'],
      [2, '\\N', null],
      [3, null, null],
    ]);
  });

  it('rows held as COPY lines: streamed as they are, read back where the batch has other columns', async () => {
    const t = { schema, table: 'lines' };
    const applier = new PgApplier(pool, sinkOptions(schema));
    await applier.init();
    const c = cols({ id: 'integer', v: 'text', extra: 'text' });
    const nasty = 'tab\there\nnew\rcr back\\slash \\N ünï';
    const line = (row: Row, names: string[]) => new CopyLine(appendRow('', row, names), names);
    await applier.apply(flush([mergeBatch(t, ['id'], c, { upserts: [{ id: '1', v: 'one', extra: 'kept' }, { id: '2', v: 'two', extra: 'x' }] })]));
    await applier.apply(flush([mergeBatch(t, ['id'], c, { upserts: [
      line({ id: '1', v: nasty, extra: '\\N' }, ['id', 'v', 'extra']), // the batch's columns: as it is
      line({ id: '2', v: 'two2' }, ['id', 'v']), // an older schema without extra: its stored value stays
      line({ id: '3', v: null }, ['id', 'v']), // new row: extra gets its default
      { id: '4', v: 'row', extra: null }, // a Row beside the lines
    ] })]));
    expect(await rows(pool, `SELECT id, v, extra FROM "${schema}".lines ORDER BY id`)).toEqual([
      [1, nasty, '\\N'],
      [2, 'two2', 'x'],
      [3, null, null],
      [4, 'row', null],
    ]);
  });

  it('works with hostile identifiers for schema, table, columns and keys', async () => {
    const hostile = `${schema}"; DROP TABLE x; --`;
    await pool.query(`CREATE SCHEMA "${hostile.replace(/"/g, '""')}"`);
    try {
      const t = { schema: hostile, table: 'Order Items; "quoted"' };
      const applier = new PgApplier(pool, sinkOptions(hostile, { stateSchema: hostile, staleGuard: true }));
      await applier.init();
      const c = cols({ 'Id"': 'integer', 'Line No': 'integer', 'Name;--': 'text', UPPER: 'text' });
      const k = ['Id"', 'Line No'];
      await applier.apply(flush([mergeBatch(t, k, c, { upserts: [
        { 'Id"': '1', 'Line No': '1', 'Name;--': 'x', UPPER: 'A' }, { 'Id"': '1', 'Line No': '2', 'Name;--': 'y', UPPER: 'B' },
      ] })], [{ topic: 'odd "topic"', partition: 2, next: '7' }]));
      await applier.apply(flush([mergeBatch(t, k, c, {
        upserts: [{ 'Id"': '1', 'Line No': '1', 'Name;--': 'x2', UPPER: UNAVAILABLE }],
        deletes: [{ 'Id"': '1', 'Line No': '2' }],
      })]));
      const q = `SELECT "Id""", "Line No", "Name;--", "UPPER" FROM "${hostile.replace(/"/g, '""')}"."Order Items; ""quoted"""`;
      expect(await rows(pool, q)).toEqual([[1, 1, 'x2', 'A']]);
      expect(await applier.storedOffsets('g1', ['odd "topic"'])).toEqual([{ topic: 'odd "topic"', partition: 2, next: '7' }]);
    } finally {
      await dropTestSchema(pool, hostile);
    }
  });

  it('rolls back the whole flush, offsets included, when a statement fails', async () => {
    const a = { schema, table: 'a' };
    const b = { schema, table: 'b' };
    await pool.query(`CREATE TABLE "${schema}".b (id int PRIMARY KEY, v int NOT NULL)`);
    const applier = new PgApplier(pool, sinkOptions(schema));
    await applier.init();
    const c = cols({ id: 'integer', v: 'integer' });
    await applier.apply(flush([mergeBatch(a, ['id'], c, { upserts: [{ id: '1', v: '1' }] })], [{ topic: 't', partition: 0, next: '1' }]));
    const bad = flush(
      [mergeBatch(a, ['id'], c, { upserts: [{ id: '1', v: '100' }, { id: '2', v: '2' }] }), mergeBatch(b, ['id'], c, { upserts: [{ id: '1', v: null }] })],
      [{ topic: 't', partition: 0, next: '9' }],
    );
    await expect(applier.apply(bad)).rejects.toMatchObject({ code: '23502' });
    // A COPY that fails mid-stream (value that does not parse) also rolls back.
    const badCopy = flush([mergeBatch(a, ['id'], c, { upserts: [{ id: '3', v: '3' }, { id: '4', v: 'not a number' }] })], [{ topic: 't', partition: 0, next: '9' }]);
    await expect(applier.apply(badCopy)).rejects.toMatchObject({ code: '22P02' });
    expect(await rows(pool, `SELECT id, v FROM "${schema}".a ORDER BY id`)).toEqual([[1, 1]]);
    expect(await applier.storedOffsets('g1')).toEqual([{ topic: 't', partition: 0, next: '1' }]);
    // The applier (and its pooled connections) still work afterwards.
    await applier.apply(flush([mergeBatch(a, ['id'], c, { upserts: [{ id: '2', v: '2' }] })], [{ topic: 't', partition: 0, next: '3' }]));
    expect(await rows(pool, `SELECT count(*)::int FROM "${schema}".a`)).toEqual([[2]]);
  });

  it('stale guard: older events neither overwrite nor delete newer rows', async () => {
    const t = { schema, table: 'sg' };
    const applier = new PgApplier(pool, sinkOptions(schema, { staleGuard: true }));
    await applier.init();
    const c = cols({ id: 'integer', v: 'text' });
    await applier.apply(flush([mergeBatch(t, ['id'], c, {
      upserts: [{ id: '1', v: 'new' }, { id: '2', v: 'new' }, { id: '3', v: 'x' }],
      upsertSource: [{ lsn: 500n }, { lsn: 500n }, { lsn: 500n }],
    })]));
    await applier.apply(flush([mergeBatch(t, ['id'], c, {
      upserts: [{ id: '1', v: 'old' }, { id: '3', v: 'newer' }],
      upsertSource: [{ lsn: 400n }, { lsn: 600n }],
      deletes: [{ id: '2' }],
      deleteSource: [{ lsn: 300n }],
    })]));
    expect(await rows(pool, `SELECT id, v, _nilus_source_pos::text FROM "${schema}".sg ORDER BY id`)).toEqual([
      [1, 'new', '500'],
      [2, 'new', '500'],
      [3, 'newer', '600'],
    ]);
    await applier.apply(flush([mergeBatch(t, ['id'], c, { deletes: [{ id: '2' }], deleteSource: [{ tsMs: 900 }] })]));
    expect(await rows(pool, `SELECT id FROM "${schema}".sg ORDER BY id`)).toEqual([[1], [3]]);
  });
});

describe('merge edge batches', () => {
  it('a truncate-only batch without columns or key empties an existing table and ignores a missing one', async () => {
    const t = { schema, table: 'only_tr' };
    const applier = new PgApplier(pool, sinkOptions(schema));
    await applier.init();
    await applier.apply(flush([mergeBatch(t, ['id'], cols({ id: 'integer' }), { upserts: [{ id: '1' }, { id: '2' }] })]));
    await applier.apply(flush([mergeBatch(t, [], [], { truncate: true })], [{ topic: 'x', partition: 1, next: '4' }]));
    expect(await rows(pool, `SELECT count(*)::int FROM "${schema}".only_tr`)).toEqual([[0]]);
    await applier.apply(flush([mergeBatch({ schema, table: 'never' }, [], [], { truncate: true, deletes: [{ id: '1' }] })]));
    expect(await rows(pool, `SELECT to_regclass($1)::text`, [`"${schema}".never`])).toEqual([[null]]);
    expect(await applier.storedOffsets('g1')).toEqual([{ topic: 'x', partition: 1, next: '4' }]);
  });

  it('the engine reports each committed flush with the per-table counts the sink wrote, and no failed one', async () => {
    const emitter = new CoreEmitter();
    const seen: CoreEvents['flushed'][0][] = [];
    emitter.on('flushed', (e) => seen.push(e));
    const applier = new PgApplier(pool, sinkOptions(schema));
    await applier.init();
    const sink = { open: async () => undefined, close: async () => undefined, write: applier.apply.bind(applier), storedOffsets: applier.storedOffsets.bind(applier) };
    const flusher = new Flusher({ sink, tolerance: 'none', retry: { maxAttempts: 1, initialMs: 1, maxMs: 1 }, emitter, warn: () => undefined });
    const t = { schema, table: 'em' };
    const c = cols({ id: 'integer' });
    await flusher.apply(flush([mergeBatch(t, ['id'], c, { upserts: [{ id: '1' }, { id: '2' }], upsertSource: [{ tsMs: 10 }, { tsMs: 20 }] })]), []);
    await expect(flusher.apply(flush([mergeBatch(t, ['id'], c, { upserts: [{ id: 'x' }] })]), [])).rejects.toThrow();
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ events: 2, sourceTsMs: [10, 20], tables: [{ table: `"${schema}"."em"`, upserts: 2, deletes: 0, appends: 0, truncates: 0 }] });
  });
});
