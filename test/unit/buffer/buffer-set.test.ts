import { BufferSet } from '../../../src/buffer';
import { DataError } from '../../../src/kernel/errors';
import type { TableRef } from '../../../src/kernel/types';
import { create, del, truncate, update } from './events';

const A: TableRef = { schema: 'analytics', table: 'a' };
const B: TableRef = { schema: 'analytics', table: 'b' };
const limits = { maxRows: 3, maxBytes: 1000, maxAgeMs: 500 };

describe('BufferSet routing and totals', () => {
  it('routes per target, keeps running totals exact, and drains every non-empty table', () => {
    const s = new BufferSet(limits);
    s.add(A, 'merge', ['id'], create({ id: '1', name: 'a', note: null }, { bytes: 10 }), 0);
    s.add(A, 'merge', ['id'], update({ id: '1', name: 'b', note: null }, { bytes: 15 }), 0);
    s.add(B, 'append', ['id'], create({ id: '1', name: 'a', note: null }, { bytes: 7 }), 0);
    s.add(B, 'append', ['id'], update({ id: '1', name: 'b', note: null }, { bytes: 8 }), 0);
    expect(s.events).toBe(3);
    expect(s.bytes).toBe(30);
    const batches = s.drainAll();
    expect(batches.map((b) => [b.target.table, b.strategy, b.upserts.length, b.events.length])).toEqual([
      ['a', 'merge', 1, 0],
      ['b', 'append', 0, 2],
    ]);
    expect([s.events, s.bytes]).toEqual([0, 0]);
    expect(s.drainAll()).toEqual([]);
  });

  it('keeps schema.table pairs apart even when their joined names would match', () => {
    const s = new BufferSet(limits);
    s.add({ schema: 'a.b', table: 'c' }, 'append', [], create({ id: '1' }), 0);
    s.add({ schema: 'a', table: 'b.c' }, 'append', [], create({ id: '2' }), 0);
    expect(s.drainAll()).toHaveLength(2);
  });

  it('a target whose key columns change mid-batch gets a second batch, drained after the first', () => {
    const s = new BufferSet(limits);
    s.add(A, 'merge', ['id'], create({ id: '1', name: 'x', note: null }), 0);
    s.add(A, 'merge', ['id', 'name'], create({ id: '1', name: 'x', note: null }), 0);
    s.add(A, 'merge', ['id', 'name'], create({ id: '1', name: 'y', note: null }), 0);
    const batches = s.drainAll();
    expect(batches.map((b) => [b.keyColumns.join('+'), b.upserts.length])).toEqual([
      ['id', 1],
      ['id+name', 2],
    ]);
  });

  it('a keyless event for a merge target is a DataError naming the fix; nothing is held', () => {
    const s = new BufferSet(limits);
    expect(() => s.add(A, 'merge', [], create({ name: 'x' }), 0)).toThrow(DataError);
    expect(() => s.add(A, 'merge', [], create({ name: 'x' }), 0)).toThrow(/primary_key/);
    expect(() => s.add(A, 'merge', ['id'], create({ name: 'x' }), 0)).toThrow(DataError);
    expect([s.events, s.bytes, s.due(10_000), s.msUntilDue(0)]).toEqual([0, 0, undefined, undefined]);
    expect(s.drainAll()).toEqual([]);
  });

  it('a pending truncate alone is drained', () => {
    const s = new BufferSet(limits);
    s.add(A, 'merge', ['id'], create({ id: '1', name: 'a', note: null }), 0);
    s.add(A, 'merge', ['id'], truncate({ bytes: 4 }), 0);
    expect([s.events, s.bytes]).toEqual([0, 4]);
    const [batch] = s.drainAll();
    expect(batch!.truncate).toBe(true);
    expect(batch!.upserts).toEqual([]);
  });
});

describe('BufferSet flush policy', () => {
  it('rows: due when the held rows (after reduction) reach maxRows', () => {
    const s = new BufferSet(limits);
    s.add(A, 'merge', ['id'], create({ id: '1', name: 'a', note: null }), 0);
    s.add(A, 'merge', ['id'], update({ id: '1', name: 'b', note: null }), 0);
    s.add(A, 'merge', ['id'], update({ id: '1', name: 'c', note: null }), 0);
    expect(s.due(0)).toBeUndefined(); // one key held, however many events
    s.add(A, 'merge', ['id'], create({ id: '2', name: 'a', note: null }), 0);
    s.add(B, 'append', [], create({ id: '2', name: 'a', note: null }), 0);
    expect(s.due(0)).toBe('rows');
  });

  it('bytes: due when the held bytes reach maxBytes; a reduction can bring them back under', () => {
    const s = new BufferSet(limits);
    s.add(A, 'merge', ['id'], create({ id: '1', name: 'a', note: null }, { bytes: 999 }), 0);
    expect(s.due(0)).toBeUndefined();
    s.add(A, 'merge', ['id'], update({ id: '1', name: 'b', note: null }, { bytes: 1000 }), 0);
    expect(s.due(0)).toBe('bytes');
    s.add(A, 'merge', ['id'], del({ id: '1' }, { bytes: 10 }), 0);
    expect(s.bytes).toBe(10);
    expect(s.due(0)).toBeUndefined();
  });

  it('age: due maxAgeMs after the first add since the last drain; msUntilDue counts down', () => {
    const s = new BufferSet(limits);
    expect(s.msUntilDue(1000)).toBeUndefined();
    expect(s.due(1000)).toBeUndefined();
    s.add(A, 'merge', ['id'], create({ id: '1', name: 'a', note: null }), 1000);
    s.add(A, 'merge', ['id'], create({ id: '2', name: 'a', note: null }), 1400);
    expect(s.msUntilDue(1000)).toBe(500);
    expect(s.msUntilDue(1499)).toBe(1);
    expect(s.due(1499)).toBeUndefined();
    expect(s.due(1500)).toBe('age');
    expect(s.msUntilDue(1500)).toBe(0);
    expect(s.msUntilDue(9999)).toBe(0);
    s.drainAll();
    expect(s.due(9999)).toBeUndefined();
    s.add(A, 'merge', ['id'], create({ id: '3', name: 'a', note: null }), 9999);
    expect(s.msUntilDue(9999)).toBe(500);
  });

  it('msUntilDue is 0 when rows or bytes already make a flush due', () => {
    const s = new BufferSet({ maxRows: 1, maxBytes: 10_000, maxAgeMs: 60_000 });
    s.add(A, 'append', [], create({ id: '1' }), 0);
    expect(s.due(0)).toBe('rows');
    expect(s.msUntilDue(0)).toBe(0);
  });

  it('rejects limits that cannot work, naming the field', () => {
    expect(() => new BufferSet({ ...limits, maxRows: 0 })).toThrow(/maxRows/);
    expect(() => new BufferSet({ ...limits, maxBytes: Number.NaN })).toThrow(/maxBytes/);
    expect(() => new BufferSet({ ...limits, maxAgeMs: -1 })).toThrow(/maxAgeMs/);
    expect(new BufferSet({ ...limits, maxAgeMs: 0 }).due(0)).toBeUndefined();
  });
});
