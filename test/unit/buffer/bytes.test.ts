import { TableBuffer } from '../../../src/buffer';
import { UNAVAILABLE } from '../../../src/kernel/types';
import { TARGET, create, del, truncate, update } from './events';

describe('TableBuffer merge: bytes and size stay exact after reductions', () => {
  it('a replaced entry gives its bytes back', () => {
    const b = new TableBuffer(TARGET, 'merge', ['id']);
    b.add(create({ id: '1', name: 'a', note: null }, { bytes: 100 }), 0);
    b.add(create({ id: '2', name: 'a', note: null }, { bytes: 30 }), 0);
    expect([b.size, b.bytes]).toEqual([2, 130]);
    b.add(update({ id: '1', name: 'b', note: null }, { bytes: 70 }), 0);
    expect([b.size, b.bytes]).toEqual([2, 100]);
    b.add(del({ id: '1' }, { bytes: 5 }), 0);
    expect([b.size, b.bytes]).toEqual([2, 35]);
    b.add(create({ id: '1', name: 'c', note: null }, { bytes: 60 }), 0);
    expect([b.size, b.bytes]).toEqual([2, 90]);
    b.add(update({ id: '1', name: 'd', note: UNAVAILABLE }, { bytes: 20 }), 0);
    expect([b.size, b.bytes]).toEqual([2, 50]);
  });

  it('a truncate drops the bytes of what it drops and holds only its own', () => {
    const b = new TableBuffer(TARGET, 'merge', ['id']);
    b.add(create({ id: '1', name: 'a', note: null }, { bytes: 100 }), 0);
    b.add(truncate({ bytes: 8 }), 0);
    b.add(truncate({ bytes: 9 }), 0);
    expect([b.size, b.bytes]).toEqual([0, 9]);
    b.add(create({ id: '1', name: 'a', note: null }, { bytes: 11 }), 0);
    expect([b.size, b.bytes]).toEqual([1, 20]);
  });
});
