import { Positions } from '../../../src/engine/positions';

describe('Positions', () => {
  it('reports a new partition with from=null, then only what moved past the stored offset', () => {
    const p = new Positions();
    p.start('t', 0, 5n, null);
    p.advance('t', 0, 5n);
    p.advance('t', 0, 6n);
    expect(p.pending()).toEqual([{ topic: 't', partition: 0, next: '7', from: null }]);
    p.markStored(p.pending());
    expect(p.pending()).toEqual([]);
    p.advance('t', 0, 7n);
    expect(p.pending()).toEqual([{ topic: 't', partition: 0, next: '8', from: '7' }]);
  });

  it('carries the newest source commit time taken with the pending offset; a record without one keeps it', () => {
    const p = new Positions();
    p.start('t', 0, 0n, null);
    p.advance('t', 0, 0n, 2000);
    p.advance('t', 0, 1n, 1500); // an older time never moves it back
    p.advance('t', 0, 2n);
    expect(p.pending()).toEqual([{ topic: 't', partition: 0, next: '3', from: null, sourceTsMs: 2000 }]);
    p.markStored(p.pending());
    p.advance('t', 0, 3n, 2500);
    expect(p.pending()).toEqual([{ topic: 't', partition: 0, next: '4', from: '3', sourceTsMs: 2500 }]);
  });

  it('never moves backwards', () => {
    const p = new Positions();
    p.start('t', 1, 10n, 10n);
    p.advance('t', 1, 12n);
    p.advance('t', 1, 11n);
    expect(p.get('t', 1)).toMatchObject({ stored: 10n, next: 13n });
  });

  it('moveTo goes past a gap or back to a re-created topic; the next flush compare-and-sets from what is stored', () => {
    const p = new Positions();
    p.start('t', 0, 10n, 10n);
    p.moveTo('t', 0, 25n);
    expect(p.pending()).toEqual([{ topic: 't', partition: 0, next: '25', from: '10' }]);
    p.start('t', 1, 120n, 120n);
    p.moveTo('t', 1, 0n); // a re-created topic starts again at 0: stored backwards
    expect(p.pending()).toContainEqual({ topic: 't', partition: 1, next: '0', from: '120' });
    p.markStored(p.pending());
    expect(p.pending()).toEqual([]);
    expect(() => p.moveTo('t', 2, 1n)).toThrow(/not tracked/);
  });

  it('refuses to advance an untracked partition and forgets on request', () => {
    const p = new Positions();
    expect(() => p.advance('t', 0, 1n)).toThrow(/not tracked/);
    p.start('t', 0, 0n, 0n);
    p.forget('t', 0);
    expect(p.get('t', 0)).toBeUndefined();
  });
});
