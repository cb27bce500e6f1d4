import { TableBuffer } from '../../../src/buffer';
import type { ColumnSpec } from '../../../src/kernel/types';
import { COLS, TARGET, col, create, del, truncate, update } from './events';

describe('TableBuffer append', () => {
  it('keeps every event in order, nothing reduced, truncate kept as an event', () => {
    const b = new TableBuffer(TARGET, 'append', ['id']);
    const evs = [
      create({ id: '1', name: 'a', note: null }, { bytes: 10 }),
      update({ id: '1', name: 'b', note: null }, { bytes: 20 }),
      truncate({ bytes: 5 }),
      del({ id: '1' }, { bytes: 7 }),
      create({ id: '1', name: 'c', note: null }, { bytes: 1 }),
    ];
    evs.forEach((e, i) => b.add(e, 100 + i));
    expect(b.size).toBe(5);
    expect(b.bytes).toBe(43);
    expect(b.oldestMs).toBe(100);
    const batch = b.drain();
    expect(batch.strategy).toBe('append');
    expect(batch.events).toEqual(evs);
    expect(batch.events.map((e) => e.op)).toEqual(['c', 'u', 't', 'd', 'c']);
    expect(batch.truncate).toBe(false); // append: the 't' travels in `events`, in place
    expect(batch.upserts).toEqual([]);
    expect(batch.deletes).toEqual([]);
    expect(b.isEmpty).toBe(true);
    expect(b.bytes).toBe(0);
  });

  it('needs no key: keyless events are accepted', () => {
    const b = new TableBuffer(TARGET, 'append', []);
    b.add(create({ name: 'x' }, { keyColumns: [] }), 0);
    expect(b.drain().events).toHaveLength(1);
  });

  it('rejects an unknown strategy', () => {
    expect(() => new TableBuffer(TARGET, 'replace' as never, ['id'])).toThrow(/strategy/);
  });
});

describe('TableBatch.columns: union in first-seen order', () => {
  it('one shared schema gives exactly that schema', () => {
    const b = new TableBuffer(TARGET, 'merge', ['id']);
    b.add(create({ id: '1', name: 'a', note: null }), 0);
    b.add(create({ id: '2', name: 'b', note: null }), 0);
    expect(b.drain().columns).toEqual(COLS);
  });

  it('adds new columns at the end and lets a later spec of the same name win in place', () => {
    const v2: ColumnSpec[] = [col('id'), col('name', 'varchar(80)'), col('note'), col('extra', 'int4')];
    const v3: ColumnSpec[] = [col('id'), col('other')];
    const b = new TableBuffer(TARGET, 'append', ['id']);
    b.add(create({ id: '1', name: 'a', note: null }), 0);
    b.add(create({ id: '2', name: 'b', note: null, extra: '1' }, { columns: v2 }), 0);
    b.add(create({ id: '3', other: 'o' }, { columns: v3 }), 0);
    b.add(create({ id: '4', name: 'c', note: null }), 0); // back to the first schema
    const cols = b.drain().columns;
    expect(cols.map((c) => c.name)).toEqual(['id', 'name', 'note', 'extra', 'other']);
    // The first schema came back last, so its spec of 'name' is the latest one.
    expect(cols[1]!.pgType).toBe('text');
    expect(cols[3]!.pgType).toBe('int4');
  });

  it('a later schema of the same name wins', () => {
    const v2: ColumnSpec[] = [col('id'), col('name', 'varchar(80)')];
    const b = new TableBuffer(TARGET, 'merge', ['id']);
    b.add(create({ id: '1', name: 'a', note: null }), 0);
    b.add(create({ id: '2', name: 'b' }, { columns: v2 }), 0);
    const cols = b.drain().columns;
    expect(cols.map((c) => `${c.name}:${c.pgType}`)).toEqual(['id:text', 'name:varchar(80)', 'note:text']);
  });

  it('starts afresh after a drain and after a merge truncate', () => {
    const only: ColumnSpec[] = [col('id'), col('z')];
    const b = new TableBuffer(TARGET, 'merge', ['id']);
    b.add(create({ id: '1', name: 'a', note: null }), 0);
    b.drain();
    b.add(create({ id: '1', z: 'q' }, { columns: only }), 0);
    expect(b.drain().columns.map((c) => c.name)).toEqual(['id', 'z']);
    b.add(create({ id: '1', name: 'a', note: null }), 0);
    b.add(truncate(), 0);
    b.add(create({ id: '1', z: 'q' }, { columns: only }), 0);
    expect(b.drain().columns.map((c) => c.name)).toEqual(['id', 'z']);
  });

  it('the drained columns array is not touched by later adds', () => {
    const b = new TableBuffer(TARGET, 'merge', ['id']);
    b.add(create({ id: '1', name: 'a', note: null }), 0);
    const first = b.drain().columns;
    b.add(create({ id: '1', w: 'q' }, { columns: [col('id'), col('w')] }), 0);
    b.drain();
    expect(first.map((c) => c.name)).toEqual(['id', 'name', 'note']);
  });
});
