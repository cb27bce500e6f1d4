/** The merge buffer keeps what metadata_columns and soft deletes need: each key's last op, the truncate's positions. */
import { TableBuffer } from '../../../src/buffer';
import { TARGET, create, del, truncate, update } from './events';

const merge = (): TableBuffer => new TableBuffer(TARGET, 'merge', ['id']);

describe('TableBuffer merge: op and truncate positions', () => {
  it("each upsert carries its key's last op; a key deleted then created is a create", () => {
    const b = merge();
    b.add(create({ id: '1', name: 'a', note: null }), 0);
    b.add(update({ id: '1', name: 'b', note: null }), 0);
    b.add(update({ id: '2', name: 'x', note: null }), 0);
    b.add(del({ id: '3' }), 0);
    b.add(create({ id: '3', name: 'again', note: null }), 0);
    b.add(del({ id: '4' }), 0);
    const batch = b.drain();
    expect(batch.upserts.map((r) => (r as { id: string }).id)).toEqual(['1', '2', '3']);
    expect(batch.upsertOp).toEqual(['u', 'u', 'c']);
    expect(batch.deletes).toEqual([{ id: '4' }]);
    expect(batch.truncateSource).toBeUndefined();
  });

  it("a truncate's source and Kafka position travel with the batch (the last truncate's), and not into the next one", () => {
    const b = merge();
    b.add(create({ id: '1', name: 'a', note: null }), 0);
    const t1 = truncate();
    b.add(t1, 0);
    const t2 = truncate();
    b.add(t2, 0);
    const after = create({ id: '2', name: 'b', note: null });
    b.add(after, 0);
    const batch = b.drain();
    expect(batch.truncate).toBe(true);
    expect(batch.truncateSource).toBe(t2.source);
    expect(batch.truncatePos).toBe(t2.pos);
    expect(batch.upsertOp).toEqual(['c']);
    b.add(create({ id: '3', name: 'c', note: null }), 0);
    const next = b.drain();
    expect(next.truncate).toBe(false);
    expect(next.truncateSource).toBeUndefined();
    expect(next.truncatePos).toBeUndefined();
  });
});

describe('TableBuffer merge with kept rows of deleted keys (delete_mode soft)', () => {
  const keep = (): TableBuffer => new TableBuffer(TARGET, 'merge', ['id'], true);

  it('a delete after an upsert in one batch hands over the last row with it; a delete alone, none', () => {
    const b = keep();
    b.add(create({ id: '1', name: 'a', note: null }), 0);
    const u = update({ id: '1', name: 'b', note: null });
    b.add(u, 0);
    b.add(del({ id: '1' }), 0);
    b.add(del({ id: '2' }), 0);
    b.add(create({ id: '3', name: 'c', note: null }), 0);
    const batch = b.drain();
    expect(batch.deletes).toEqual([{ id: '1' }, { id: '2' }]);
    expect(batch.deleteRows).toEqual([u.after, undefined]);
    expect(batch.upsertOp).toEqual(['c']);
  });

  it('the kept row counts in bytes until drained, and goes when the key is created again', () => {
    const b = keep();
    b.add(create({ id: '1', name: 'a', note: null }, { bytes: 100 }), 0);
    b.add(del({ id: '1' }, { bytes: 10 }), 0);
    expect(b.bytes).toBe(110);
    b.add(del({ id: '1' }, { bytes: 10 }), 0); // a second delete keeps what the first kept
    expect(b.bytes).toBe(110);
    const again = create({ id: '1', name: 'z', note: null }, { bytes: 50 });
    b.add(again, 0);
    expect(b.bytes).toBe(50);
    const batch = b.drain();
    expect(batch.upserts).toEqual([again.after]);
    expect(batch.deleteRows).toEqual([]);
  });

  it('hard mode keeps no row and hands over no deleteRows', () => {
    const b = merge();
    b.add(create({ id: '1', name: 'a', note: null }, { bytes: 100 }), 0);
    b.add(del({ id: '1' }, { bytes: 10 }), 0);
    expect(b.bytes).toBe(10);
    expect(b.drain().deleteRows).toBeUndefined();
  });
});
