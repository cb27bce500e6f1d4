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
