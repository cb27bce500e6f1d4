/**
 * DecodeAhead over a fake inner source: batches are resolved at the client as they arrive,
 * handed to the core in arrival order once prepared, and whatever the core does not take is
 * sought back to — with every later queued batch of that partition dropped — so nothing is lost
 * or taken twice; seeks, rebalances and stop drop what is queued.
 */
import type { CopyReadyEvent } from '../../../src/kernel/types';
import type { OffsetMark, RawRecord } from '../../../src/kernel/types';
import type { Prepared } from '../../../src/decode/pool';
import { DecodeAhead } from '../../../src/decode/decode-ahead';
import type { ChangeSource, SourceBatch, SourceHandler, TopicPartition } from '../../../src/engine/ports';
import type { PartitionBounds } from '../../../src/kernel/offset-gap';

class FakeInner implements ChangeSource {
  handler!: SourceHandler;
  readonly seeks: string[] = [];
  readonly resolved: string[] = [];
  readonly calls: string[] = [];
  stale = new Set<string>();

  async start(handler: SourceHandler): Promise<void> {
    this.handler = handler;
  }
  seek(tp: TopicPartition, offset: string): void {
    this.seeks.push(`${tp.topic}/${tp.partition}@${offset}`);
  }
  pause(tps: readonly TopicPartition[]): void {
    this.calls.push(`pause ${tps.length}`);
  }
  resume(tps: readonly TopicPartition[]): void {
    this.calls.push(`resume ${tps.length}`);
  }
  async commit(marks: readonly OffsetMark[]): Promise<void> {
    this.calls.push(`commit ${marks.length}`);
  }
  async stop(): Promise<void> {
    this.calls.push('stop');
  }
  async bounds(tps: readonly TopicPartition[]): Promise<readonly PartitionBounds[]> {
    this.calls.push(`bounds ${tps.length}`);
    return tps.map((tp) => ({ topic: tp.topic, partition: tp.partition, low: '3', high: '9' }));
  }

  /** Hands over a batch of `n` 10-byte records from `from`, as the client's fetch loop would. */
  fetch(topic: string, partition: number, from: number, n: number): Promise<void> {
    const records: RawRecord[] = Array.from({ length: n }, (_, i) => ({ topic, partition, offset: String(from + i), key: null, value: Buffer.alloc(10) }));
    const key = `${topic}/${partition}`;
    return this.handler.batch({
      topic,
      partition,
      records,
      highWatermark: String(from + n),
      fetchedOffset: String(from),
      isStale: () => this.stale.has(key),
      resolve: (o) => this.resolved.push(`${key}@${o}`),
    });
  }
}

/** A core that takes `take(b)` records of each batch (all by default) and remembers what it saw. */
function core(take: (b: SourceBatch) => number = (b) => b.records.length): { handler: SourceHandler; seen: string[]; prepared: (readonly (CopyReadyEvent | undefined)[] | undefined)[]; crashed: Error[]; events: string[] } {
  const seen: string[] = [];
  const prepared: (readonly (CopyReadyEvent | undefined)[] | undefined)[] = [];
  const crashed: Error[] = [];
  const events: string[] = [];
  return {
    seen,
    prepared,
    crashed,
    events,
    handler: {
      batch: async (b) => {
        const n = take(b);
        const recs = b.records.slice(0, n);
        seen.push(`${b.topic}/${b.partition}:${b.records[0]!.offset}-${b.records[b.records.length - 1]!.offset} took ${recs.length}`);
        prepared.push(b.prepared);
        if (n > 0) b.resolve(recs[n - 1]!.offset);
      },
      assigned: (tps) => events.push(`assigned ${tps.length}`),
      revoking: () => events.push('revoking'),
      idle: () => undefined,
      connected: () => undefined,
      topics: () => undefined,
      crashed: (e) => crashed.push(e),
    },
  };
}

/** prepare() calls, each finished by hand (out of order if the test wants). */
function manualPrepare(): { prepare: (b: SourceBatch) => Promise<Prepared | undefined>; finish(i: number, p?: Prepared): void; fail(i: number): void; count(): number } {
  const pending: { resolve(p: Prepared | undefined): void; reject(e: Error): void }[] = [];
  return {
    prepare: () => new Promise((resolve, reject) => pending.push({ resolve, reject })),
    finish: (i, p) => pending[i]!.resolve(p),
    fail: (i) => pending[i]!.reject(new Error('thread gone')),
    count: () => pending.length,
  };
}

const tick = () => new Promise((r) => setImmediate(r));

/**
 * A started DecodeAhead over a fake source, a core taking `take(b, src)` records of each batch
 * (all by default) and preparations finished by hand.
 */
async function setup(take?: (b: SourceBatch, src: DecodeAhead) => number, maxQueuedBytes = 1 << 20) {
  const inner = new FakeInner();
  const p = manualPrepare();
  const src = new DecodeAhead(inner, { prepare: p.prepare, maxQueuedBytes });
  const c = core(take ? (b) => take(b, src) : undefined);
  await src.start(c.handler);
  return { inner, p, src, c };
}

describe('DecodeAhead', () => {
  it('hands the core where each fetch started and asks the inner source for partition bounds', async () => {
    const fetched: (string | undefined)[] = [];
    const { inner, p, src } = await setup((b) => {
      fetched.push(b.fetchedOffset);
      return b.records.length;
    });
    const arrived = inner.fetch('t', 0, 4, 2);
    p.finish(0);
    await arrived;
    for (let i = 0; i < 5; i++) await tick();
    expect(fetched).toEqual(['4']);
    expect(await src.bounds([{ topic: 't', partition: 0 }])).toEqual([{ topic: 't', partition: 0, low: '3', high: '9' }]);
    expect(inner.calls).toContain('bounds 1');
  });

  it('resolves at the client on arrival and hands batches to the core in arrival order per partition, each once prepared', async () => {
    const { inner, p, src, c } = await setup();
    await inner.fetch('t', 0, 0, 3);
    await inner.fetch('t', 1, 0, 2);
    await inner.fetch('t', 0, 3, 2);
    expect(inner.resolved).toEqual(['t/0@2', 't/1@1', 't/0@4']);
    const marker = [undefined] as Prepared;
    p.finish(2);
    p.finish(1, marker);
    await tick();
    // t/0's first is not prepared yet: t/0's second waits for it; t/1's goes ahead
    expect(c.seen).toEqual(['t/1:0-1 took 2']);
    p.finish(0);
    await tick();
    expect(c.seen).toEqual(['t/1:0-1 took 2', 't/0:0-2 took 3', 't/0:3-4 took 2']);
    expect(c.prepared).toEqual([marker, undefined, undefined]);
    expect(c.prepared[0]).toBe(marker);
    expect(inner.seeks).toEqual([]);
    expect(src.queued).toEqual({ batches: 0, bytes: 0 });
  });

  it('what a core that paused does not take waits for the resume, in its place: no re-fetch', async () => {
    const marker = [{ op: 'c' }, { op: 'u' }, { op: 'd' }] as unknown as Prepared;
    let paused = false;
    let once = true;
    // takes 1 record of t/0's first batch, then pauses everything (memory budget); nothing while paused
    const { inner, p, src, c } = await setup((b, src) => {
      if (paused) return 0;
      if (b.partition === 0 && once) {
        once = false;
        paused = true;
        src.pause([{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }]);
        return 1;
      }
      return b.records.length;
    });
    await inner.fetch('t', 0, 0, 3);
    await inner.fetch('t', 1, 0, 2);
    await inner.fetch('t', 0, 3, 2);
    p.finish(0, marker);
    p.finish(1);
    p.finish(2);
    await tick();
    expect(c.seen).toEqual(['t/0:0-2 took 1']);
    expect(src.queued).toEqual({ batches: 3, bytes: 60 });
    paused = false;
    src.resume([{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }]);
    await tick();
    expect(c.seen).toEqual(['t/0:0-2 took 1', 't/0:1-2 took 2', 't/1:0-1 took 2', 't/0:3-4 took 2']);
    expect(c.prepared[1]).toEqual([{ op: 'u' }, { op: 'd' }]); // what was prepared for those records, still by index
    expect(inner.seeks).toEqual([]);
    expect(src.queued).toEqual({ batches: 0, bytes: 0 });
  });

  it('what a core that is not paused refuses is sought back to, and later queued batches of that partition are dropped', async () => {
    // takes 2 of the first batch of t/0 (e.g. a core stopping), nothing of the next it is offered for t/0
    let offered = 0;
    const { inner, p, c } = await setup((b) => (b.partition === 0 ? (offered++ === 0 ? 2 : 0) : b.records.length));
    await inner.fetch('t', 0, 0, 5); // core takes 0-1
    await inner.fetch('t', 1, 0, 2);
    await inner.fetch('t', 0, 5, 5); // dropped: fetched again from 2
    for (let i = 0; i < 3; i++) p.finish(i);
    await tick();
    expect(c.seen).toEqual(['t/0:0-4 took 2', 't/1:0-1 took 2']);
    expect(inner.seeks).toEqual(['t/0@2']);
    // the re-fetch from 2: the core takes nothing (a partition still loading its stored offset) → back to 2
    await inner.fetch('t', 0, 2, 3);
    p.finish(3);
    await tick();
    expect(c.seen[2]).toBe('t/0:2-4 took 0');
    expect(inner.seeks).toEqual(['t/0@2', 't/0@2']);
  });

  it('one paused partition holds only its own batches; a later batch of another partition goes ahead', async () => {
    const { inner, p, src, c } = await setup();
    src.pause([{ topic: 't', partition: 0 }]); // e.g. its stored offset is being read
    await inner.fetch('t', 0, 0, 1);
    await inner.fetch('t', 1, 0, 1);
    p.finish(0);
    p.finish(1);
    await tick();
    expect(c.seen).toEqual(['t/1:0-0 took 1']);
    src.resume([{ topic: 't', partition: 0 }]);
    await tick();
    expect(c.seen).toEqual(['t/1:0-0 took 1', 't/0:0-0 took 1']);
  });

  it("a seek of the core's own drops that partition's queued batches, not the others'", async () => {
    const { inner, p, src, c } = await setup();
    await inner.fetch('t', 0, 10, 2);
    await inner.fetch('t', 1, 10, 2);
    src.seek({ topic: 't', partition: 0 }, '7');
    p.finish(0);
    p.finish(1);
    await tick();
    expect(c.seen).toEqual(['t/1:10-11 took 2']);
    expect(inner.seeks).toEqual(['t/0@7']);
  });

  it('a rebalance drops everything queued and seeks each partition still assigned to its first dropped offset; a stale batch is not handed over', async () => {
    const { inner, p, src, c } = await setup();
    await inner.fetch('t', 0, 0, 2);
    inner.handler.revoking();
    await inner.fetch('t', 1, 0, 2);
    inner.handler.assigned([{ topic: 't', partition: 1 }]);
    await inner.fetch('t', 1, 5, 2);
    inner.stale.add('t/1');
    for (let i = 0; i < 3; i++) p.finish(i);
    await tick();
    expect(c.seen).toEqual([]);
    expect(c.events).toEqual(['revoking', 'assigned 1']);
    // t/1's batch from 0 was dropped at the rebalance and t/1 stays assigned: fetched again from 0
    // (unless the core seeks elsewhere, after this); t/0 is not assigned any more. The batch that
    // arrived after the rebalance went stale: the client has a seek of its own pending.
    expect(inner.seeks).toEqual(['t/1@0']);
    inner.stale.clear();
    await inner.fetch('t', 1, 7, 1);
    p.finish(3);
    await tick();
    expect(c.seen).toEqual(['t/1:7-7 took 1']);
  });

  it('arrivals wait while more than maxQueuedBytes are queued before them and some are being prepared; never for paused batches', async () => {
    const { inner, p, src, c } = await setup(undefined, 25);
    await inner.fetch('t', 0, 0, 2); // 20 bytes queued
    await inner.fetch('t', 0, 2, 1); // 20 before it: fits
    let third = false;
    const f = inner.fetch('t', 0, 3, 1).then(() => (third = true)); // 30 before it: waits
    await tick();
    expect(third).toBe(false);
    expect(p.count()).toBe(3); // already being prepared meanwhile
    p.finish(0);
    await f;
    expect(third).toBe(true);
    p.finish(1);
    p.finish(2);
    await tick();
    expect(c.seen).toEqual(['t/0:0-1 took 2', 't/0:2-2 took 1', 't/0:3-3 took 1']);

    // paused: prepared batches beyond the limit do not hold arrivals up (the fetch loop heartbeats)
    src.pause([{ topic: 't', partition: 0 }]);
    await inner.fetch('t', 0, 4, 3);
    p.finish(3);
    await tick();
    await inner.fetch('t', 0, 7, 3);
    p.finish(4);
    await inner.fetch('t', 0, 10, 3);
    p.finish(5);
    await tick();
    expect(src.queued).toEqual({ batches: 3, bytes: 90 });
    src.resume([{ topic: 't', partition: 0 }]);
    await tick();
    expect(c.seen.slice(3)).toEqual(['t/0:4-6 took 3', 't/0:7-9 took 3', 't/0:10-12 took 3']);
  });

  it('a failed preparation hands the batch over undecoded; a failing core crashes the source', async () => {
    const { inner, p, c } = await setup((b) => {
      if (b.partition === 1) throw new Error('bug');
      return b.records.length;
    });
    await inner.fetch('t', 0, 0, 1);
    await inner.fetch('t', 1, 0, 1);
    p.fail(0);
    p.finish(1);
    await tick();
    expect(c.seen).toEqual(['t/0:0-0 took 1']);
    expect(c.prepared).toEqual([undefined]);
    expect(c.crashed.map((e) => e.message)).toEqual(['bug']);
  });

  it('pause, resume, commit and stop reach the inner source; stop drops the queue', async () => {
    const { inner, p, src, c } = await setup();
    await inner.fetch('t', 0, 0, 1);
    src.pause([{ topic: 't', partition: 0 }]);
    src.resume([{ topic: 't', partition: 0 }]);
    await src.commit([{ topic: 't', partition: 0, next: '1' } as OffsetMark]);
    await src.stop();
    p.finish(0);
    await tick();
    expect(inner.calls).toEqual(['pause 1', 'resume 1', 'commit 1', 'stop']);
    expect(c.seen).toEqual([]);
  });
});
