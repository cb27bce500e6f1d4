/**
 * A primary-key change arrives as a delete of the old key (marked `moving`) and a create of the new
 * key (with `movedFrom`, the old key row). Unchanged-TOAST placeholders in that create must be
 * filled from the old row: from the buffer when the old row is held there, otherwise apply reads
 * the target's row under the old key (the batch says which upserts need it in `upsertFrom`).
 */
import { rowOf } from '../../../src/copy-text/line';
import { UNAVAILABLE } from '../../../src/kernel/types';
import { TableBuffer } from '../../../src/buffer';
import { TARGET, create, del, update } from './events';

const merge = (): TableBuffer => new TableBuffer(TARGET, 'merge', ['id']);

describe('TableBuffer merge: unchanged TOAST across a primary-key change', () => {
  it('fills the placeholders from the row buffered under the old key, and keeps the delete', () => {
    const b = merge();
    b.add(create({ id: '1', name: 'a', note: 'big text' }), 0);
    b.add(del({ id: '1' }, { moving: true }), 1);
    b.add(create({ id: '2', name: 'a', note: UNAVAILABLE }, { movedFrom: { id: '1' } }), 2);
    const batch = b.drain();
    expect(batch.deletes).toEqual([{ id: '1' }]);
    expect(batch.upserts).toEqual([{ id: '2', name: 'a', note: 'big text' }]);
    expect(batch.upsertFrom).toBeUndefined();
  });

  it('the create seen before the delete (another partition) still carries from the buffered row', () => {
    const b = merge();
    b.add(update({ id: '1', name: 'a', note: 'v1' }), 0);
    b.add(create({ id: '2', name: 'a', note: UNAVAILABLE }, { movedFrom: { id: '1' } }), 1);
    b.add(del({ id: '1' }, { moving: true }), 2);
    const batch = b.drain();
    expect(batch.upserts).toEqual([{ id: '2', name: 'a', note: 'v1' }]);
    expect(batch.deletes).toEqual([{ id: '1' }]);
  });

  it('leaves the old key to apply when the old row is only in the target', () => {
    const b = merge();
    b.add(del({ id: '1' }, { moving: true }), 0);
    b.add(create({ id: '2', name: 'a', note: UNAVAILABLE }, { movedFrom: { id: '1' } }), 1);
    b.add(create({ id: '3', name: 'c', note: 'x' }), 2);
    const batch = b.drain();
    expect(batch.upserts).toEqual([{ id: '2', name: 'a', note: UNAVAILABLE }, { id: '3', name: 'c', note: 'x' }]);
    expect(batch.upsertFrom).toEqual([{ id: '1' }, undefined]);
  });

  it('a later update of the moved row keeps the old key while placeholders remain, and drops it once they are gone', () => {
    const b = merge();
    b.add(del({ id: '1' }, { moving: true }), 0);
    b.add(create({ id: '2', name: 'a', note: UNAVAILABLE }, { movedFrom: { id: '1' } }), 1);
    b.add(update({ id: '2', name: 'b', note: UNAVAILABLE }), 2);
    expect(b.drain().upsertFrom).toEqual([{ id: '1' }]);

    b.add(del({ id: '1' }, { moving: true }), 0);
    b.add(create({ id: '2', name: 'a', note: UNAVAILABLE }, { movedFrom: { id: '1' } }), 1);
    b.add(update({ id: '2', name: 'b', note: 'new' }), 2);
    const batch = b.drain();
    expect(batch.upserts).toEqual([{ id: '2', name: 'b', note: 'new' }]);
    expect(batch.upsertFrom).toBeUndefined();
  });

  it('a create without placeholders needs nothing from the old key', () => {
    const b = merge();
    b.add(del({ id: '1' }, { moving: true }), 0);
    b.add(create({ id: '2', name: 'a', note: 'n' }, { movedFrom: { id: '1' } }), 1);
    expect(b.drain().upsertFrom).toBeUndefined();
  });

  it('a delete that is not a move drops the buffered row (nothing is kept for a later create)', () => {
    const b = merge();
    b.add(create({ id: '1', name: 'a', note: 'big' }), 0);
    b.add(del({ id: '1' }), 1);
    b.add(create({ id: '2', name: 'a', note: UNAVAILABLE }, { movedFrom: { id: '1' } }), 2);
    const batch = b.drain();
    expect(batch.upserts).toEqual([{ id: '2', name: 'a', note: UNAVAILABLE }]);
    expect(batch.upsertFrom).toEqual([{ id: '1' }]);
  });

  it('counts the kept row in the buffer bytes until the create has used it', () => {
    const b = merge();
    b.add(create({ id: '1', name: 'a', note: 'big' }, { bytes: 1000 }), 0);
    b.add(del({ id: '1' }, { moving: true, bytes: 10 }), 1);
    expect(b.bytes).toBe(1010);
    b.add(create({ id: '2', name: 'a', note: UNAVAILABLE }, { movedFrom: { id: '1' }, bytes: 500 }), 2);
    expect(b.bytes).toBe(510);
    b.add(del({ id: '3' }, { moving: true, bytes: 10 }), 3);
    expect(b.bytes).toBe(520);
  });
});

describe('carrying a value into a column named __proto__', () => {
  it('keeps it an own property of the merged row', () => {
    const b = merge();
    const first = JSON.parse('{"id": "1", "__proto__": "big", "name": "a"}') as Record<string, string>;
    const next = { id: '1', name: 'b' } as Record<string, string | typeof UNAVAILABLE>;
    Object.defineProperty(next, '__proto__', { value: UNAVAILABLE, enumerable: true, writable: true, configurable: true });
    b.add(create(first), 0);
    b.add(update(next), 1);
    const [row] = b.drain().upserts.map(rowOf);
    expect(Object.prototype.hasOwnProperty.call(row, '__proto__')).toBe(true);
    expect(row!['__proto__']).toBe('big');
    expect(row!.name).toBe('b');
  });
});
