/** The heap guard: when it collects, that its collector really collects, and its timer. */
import { createHeapGuard, fullCollector, HeapCeiling, heapCeilingFor } from '../../../src/service/heap-guard';

const MiB = 1024 * 1024;

describe('HeapCeiling', () => {
  it('is due above the ceiling only', () => {
    const c = new HeapCeiling(96 * MiB);
    expect(c.due(96 * MiB)).toBe(false);
    expect(c.due(96 * MiB + 1)).toBe(true);
  });

  it('after a collection that left much, waits for 1.5× what it left; after one that left little, the ceiling again', () => {
    const c = new HeapCeiling(96 * MiB);
    c.collected(80 * MiB);
    expect(c.threshold()).toBe(120 * MiB);
    expect(c.due(110 * MiB)).toBe(false);
    expect(c.due(121 * MiB)).toBe(true);
    c.collected(30 * MiB);
    expect(c.threshold()).toBe(96 * MiB);
    expect(c.due(100 * MiB)).toBe(true);
  });

  it('the ceiling is the budget plus 32 MiB; with decode threads, the budget', () => {
    expect(heapCeilingFor(64 * MiB)).toBe(96 * MiB);
    expect(heapCeilingFor(512 * MiB)).toBe(544 * MiB);
    expect(heapCeilingFor(64 * MiB, 1)).toBe(64 * MiB);
    expect(heapCeilingFor(64 * MiB, 4)).toBe(64 * MiB);
  });
});

describe('createHeapGuard', () => {
  it('collects only when due, and reports what it did', () => {
    let used = 50 * MiB;
    const calls: { usedBefore: number; usedAfter: number }[] = [];
    const g = createHeapGuard({
      ceilingBytes: 96 * MiB,
      used: () => used,
      collect: () => {
        used = 40 * MiB;
      },
      onCollect: (e) => calls.push({ usedBefore: e.usedBefore, usedAfter: e.usedAfter }),
    });
    g.check();
    expect(calls).toHaveLength(0);
    used = 100 * MiB;
    g.check();
    expect(calls).toEqual([{ usedBefore: 100 * MiB, usedAfter: 40 * MiB }]);
    g.check(); // 40 MiB now: nothing to do
    expect(calls).toHaveLength(1);
    g.stop();
  });

  it('checks on its timer until stopped', async () => {
    let collected = 0;
    let justCollected = false;
    // 100 MiB used before each collection, nothing after it.
    const used = () => (justCollected ? ((justCollected = false), 0) : 100 * MiB);
    const g = createHeapGuard({ ceilingBytes: 96 * MiB, used, collect: () => ((justCollected = true), collected++), intervalMs: 5 });
    const deadline = Date.now() + 2000;
    while (collected < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(collected).toBeGreaterThanOrEqual(2);
    g.stop();
    const after = collected;
    await new Promise((r) => setTimeout(r, 50));
    expect(collected).toBe(after);
  });

  it('without --expose-gc on the command line, the collector it gets frees unreachable objects', async () => {
    const gc = fullCollector();
    expect(typeof gc).toBe('function');
    let big: { data: number[] } | undefined = { data: new Array(100_000).fill(1) };
    const ref = new WeakRef(big);
    big = undefined;
    // A WeakRef's target is kept until the job that made it ends.
    await new Promise((r) => setImmediate(r));
    gc!();
    expect(ref.deref()).toBeUndefined();
    // The flag was set back: contexts made from now on have no gc.
    const vm = await import('node:vm');
    expect(vm.runInNewContext('typeof gc')).toBe('undefined');
  });
});
