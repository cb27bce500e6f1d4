import { rowOf } from '../../../src/copy-text/line';
import { DataError } from '../../../src/kernel/errors';
import { UNAVAILABLE, type Row } from '../../../src/kernel/types';
import { TableBuffer } from '../../../src/buffer';
import { TARGET, create, del, ev, truncate, update } from './events';

const merge = (keys: readonly string[] = ['id']): TableBuffer => new TableBuffer(TARGET, 'merge', keys);

describe('TableBuffer merge: last state per key', () => {
  it('c → u → d of one key leaves one delete carrying the delete event source', () => {
    const b = merge();
    b.add(create({ id: '1', name: 'a', note: 'x' }), 0);
    b.add(update({ id: '1', name: 'b', note: 'x' }), 1);
    const d = del({ id: '1', name: 'b', note: 'x' });
    b.add(d, 2);
    expect(b.size).toBe(1);
    const batch = b.drain();
    expect(batch.upserts).toEqual([]);
    expect(batch.deletes).toEqual([{ id: '1' }]);
    expect(batch.deleteSource).toEqual([d.source]);
    expect(batch.strategy).toBe('merge');
    expect(batch.keyColumns).toEqual(['id']);
  });

  it('d → c of one key is an upsert of the created row', () => {
    const b = merge();
    b.add(del({ id: '7' }), 0);
    const c = create({ id: '7', name: 'new', note: null });
    b.add(c, 1);
    const batch = b.drain();
    expect(batch.deletes).toEqual([]);
    expect(batch.upserts).toEqual([{ id: '7', name: 'new', note: null }]);
    expect(batch.upsertSource).toEqual([c.source]);
  });

  it('c → d is still a delete (the key may exist in the target from an earlier flush)', () => {
    const b = merge();
    b.add(create({ id: '3', name: 'a', note: 'n' }), 0);
    b.add(del({ id: '3', name: 'a', note: 'n' }), 1);
    const batch = b.drain();
    expect(batch.upserts).toEqual([]);
    expect(batch.deletes).toEqual([{ id: '3' }]);
  });

  it('reads the key from ev.key first, then from the row image', () => {
    const b = merge();
    b.add(del({ name: 'x' }, { key: { id: '9' } }), 0);
    b.add(create({ id: '10', name: 'y', note: null }), 0);
    const batch = b.drain();
    expect(batch.deletes).toEqual([{ id: '9' }]);
    expect(batch.upserts.map(rowOf).map((r) => r.id)).toEqual(['10']);
  });

  it('distinct keys keep first-seen order; unrelated keys do not interfere', () => {
    const b = merge();
    for (const id of ['5', '1', '3']) b.add(create({ id, name: id, note: null }), 0);
    b.add(update({ id: '1', name: 'one', note: null }), 0);
    const batch = b.drain();
    expect(batch.upserts.map(rowOf).map((r) => `${String(r.id)}:${String(r.name)}`)).toEqual(['5:5', '1:one', '3:3']);
  });

  it('does not mutate the events it was given', () => {
    const b = merge();
    b.add(create({ id: '1', name: 'a', note: 'real' }), 0);
    const after: Row = { id: '1', name: 'b', note: UNAVAILABLE };
    b.add(update(after), 0);
    b.drain();
    expect(after.note).toBe(UNAVAILABLE);
  });

  it('drain clears: a second drain is empty and the buffer reports empty', () => {
    const b = merge();
    b.add(create({ id: '1', name: 'a', note: null }), 5);
    expect(b.isEmpty).toBe(false);
    expect(b.oldestMs).toBe(5);
    b.drain();
    expect(b.isEmpty).toBe(true);
    expect(b.size).toBe(0);
    expect(b.bytes).toBe(0);
    expect(b.oldestMs).toBeUndefined();
    const again = b.drain();
    expect(again.upserts).toEqual([]);
    expect(again.deletes).toEqual([]);
    expect(again.truncate).toBe(false);
  });
});

describe('TableBuffer merge: unchanged TOAST values', () => {
  it('u → u carries a real value forward over a placeholder', () => {
    const b = merge();
    b.add(update({ id: '1', name: 'a', note: 'big text' }), 0);
    b.add(update({ id: '1', name: 'b', note: UNAVAILABLE }), 1);
    expect(b.drain().upserts).toEqual([{ id: '1', name: 'b', note: 'big text' }]);
  });

  it('keeps the placeholder when the buffer holds no real value for the column', () => {
    const b = merge();
    b.add(update({ id: '1', name: 'a', note: UNAVAILABLE }), 0);
    b.add(update({ id: '1', name: 'b', note: UNAVAILABLE }), 1);
    expect(b.drain().upserts).toEqual([{ id: '1', name: 'b', note: UNAVAILABLE }]);
  });

  it('mixed placeholder / real rows of one column: the latest real value wins, NULL is real', () => {
    const b = merge();
    b.add(update({ id: '1', name: 'a', note: UNAVAILABLE }), 0);
    b.add(update({ id: '1', name: 'b', note: 'v1' }), 1);
    b.add(update({ id: '1', name: 'c', note: UNAVAILABLE }), 2);
    b.add(update({ id: '1', name: 'd', note: UNAVAILABLE }), 3);
    b.add(update({ id: '2', name: 'a', note: null }), 4);
    b.add(update({ id: '2', name: 'b', note: UNAVAILABLE }), 5);
    const rows = b.drain().upserts;
    expect(rows).toEqual([
      { id: '1', name: 'd', note: 'v1' },
      { id: '2', name: 'b', note: null },
    ]);
  });

  it('carries nothing across a delete (the row was gone)', () => {
    const b = merge();
    b.add(create({ id: '1', name: 'a', note: 'old' }), 0);
    b.add(del({ id: '1' }), 1);
    b.add(update({ id: '1', name: 'b', note: UNAVAILABLE }), 2);
    expect(b.drain().upserts).toEqual([{ id: '1', name: 'b', note: UNAVAILABLE }]);
  });
});

describe('TableBuffer merge: key changes', () => {
  it('Debezium key change as d(old) + c(new): old key deleted, new key upserted', () => {
    const b = merge();
    b.add(create({ id: '1', name: 'a', note: null }), 0);
    b.add(del({ id: '1', name: 'a', note: null }), 1);
    b.add(create({ id: '2', name: 'a', note: null }), 1);
    const batch = b.drain();
    expect(batch.deletes).toEqual([{ id: '1' }]);
    expect(batch.upserts).toEqual([{ id: '2', name: 'a', note: null }]);
  });

  it('an update whose before key differs from its after key → delete(old) + upsert(new)', () => {
    const b = merge();
    b.add(create({ id: '1', name: 'a', note: 'n' }), 0);
    const u = update({ id: '2', name: 'a', note: 'n' }, { before: { id: '1', name: 'a', note: 'n' }, bytes: 40 });
    b.add(u, 1);
    expect(b.size).toBe(2);
    expect(b.bytes).toBe(40); // the event's bytes are counted once, on the upsert
    const batch = b.drain();
    expect(batch.deletes).toEqual([{ id: '1' }]);
    expect(batch.deleteSource).toEqual([u.source]);
    expect(batch.upserts).toEqual([{ id: '2', name: 'a', note: 'n' }]);
  });

  it('an update with the same before and after key is a plain upsert', () => {
    const b = merge();
    b.add(update({ id: '1', name: 'b', note: null }, { before: { id: '1', name: 'a', note: null } }), 0);
    const batch = b.drain();
    expect(batch.deletes).toEqual([]);
    expect(batch.upserts).toHaveLength(1);
  });
});

describe('TableBuffer merge: truncate', () => {
  it('drops what came before, sets truncate, keeps what came after', () => {
    const b = merge();
    b.add(create({ id: '1', name: 'a', note: null }), 0);
    b.add(del({ id: '2' }), 1);
    b.add(truncate({ bytes: 10 }), 2);
    expect(b.isEmpty).toBe(false); // a pending truncate must still be flushed
    expect(b.size).toBe(0);
    expect(b.bytes).toBe(10);
    b.add(create({ id: '3', name: 'c', note: null }, { bytes: 50 }), 3);
    expect(b.bytes).toBe(60);
    expect(b.oldestMs).toBe(0);
    const batch = b.drain();
    expect(batch.truncate).toBe(true);
    expect(batch.upserts).toEqual([{ id: '3', name: 'c', note: null }]);
    expect(batch.deletes).toEqual([]);
    expect(b.drain().truncate).toBe(false);
  });
});

describe('TableBuffer merge: composite keys', () => {
  const KEYS = ['a', 'b'];
  const row = (a: string | null, b: string | null, v: string) => ({ a, b, v });

  it('values with separators, quotes, NULL and the word null never collide', () => {
    const pairs: [string | null, string | null][] = [
      ['x,y', 'z'], ['x', 'y,z'], ['"x"', 'y'], ['x"', '"y'], [null, 'y'], ['null', 'y'],
      ['', 'y'], ['n', 'y'], ['s', ''], ['', 's'], ['\\', '"'], ['\\"', ''], ['x', null], ['x', 'null'],
    ];
    const b = merge(KEYS);
    for (const [a, bb] of pairs) b.add(create(row(a, bb, 'first')), 0);
    expect(b.size).toBe(pairs.length);
    for (const [a, bb] of pairs) b.add(update(row(a, bb, 'second')), 0);
    expect(b.size).toBe(pairs.length);
    const batch = b.drain();
    expect(batch.upserts).toEqual(pairs.map(([a, bb]) => row(a, bb, 'second')));
  });

  it('single-column keys keep NULL, the string null and the empty string apart', () => {
    const b = merge(['id']);
    for (const id of [null, 'null', '', 'n', 's']) b.add(create({ id, name: 'x', note: null }), 0);
    expect(b.size).toBe(5);
  });

  it('delete key rows hold the key columns only, in key order', () => {
    const b = merge(['b', 'a']);
    b.add(del(row('1', '2', 'v')), 0);
    const [k] = b.drain().deletes;
    expect(Object.keys(k!)).toEqual(['b', 'a']);
    expect({ ...k }).toEqual({ a: '1', b: '2' });
  });
});

describe('TableBuffer merge: unusable keys', () => {
  it('throws DataError naming the key columns and the fix when a key column is missing', () => {
    const b = merge(['id']);
    const bad = create({ name: 'no id', note: null } as never);
    expect(() => b.add(bad, 0)).toThrow(DataError);
    expect(() => b.add(bad, 0)).toThrow(/key column\(s\) id.*primary_key/);
    expect(() => b.add(bad, 0)).toThrow(`offset ${bad.pos.offset}`);
    expect(b.isEmpty).toBe(true);
    expect(b.oldestMs).toBeUndefined();
  });

  it('rejects a placeholder as a key value, a delete with no key, and an update with no after', () => {
    const b = merge(['id']);
    expect(() => b.add(update({ id: UNAVAILABLE, name: 'x', note: null }), 0)).toThrow(DataError);
    expect(() => b.add(ev('d'), 0)).toThrow(DataError);
    expect(() => b.add(ev('u', { key: { id: '1' } }), 0)).toThrow(/no 'after' row/);
  });

  it('does not read inherited properties as key values', () => {
    const b = merge(['toString']);
    expect(() => b.add(create({ id: '1', name: 'x', note: null }), 0)).toThrow(DataError);
  });

  it('refuses to build a merge buffer with no key columns', () => {
    expect(() => new TableBuffer(TARGET, 'merge', [])).toThrow(/primary_key/);
  });
});
