/**
 * on_offset_gap over the fake source: a stored offset Kafka no longer holds (retention, or a
 * re-created topic) stops the pipeline with nothing applied past the gap, or is reported, counted
 * and skipped; found on assignment and when the client resets a position by itself mid-stream.
 */
import { OffsetGapError } from '../../../src/kernel/offset-gap';
import type { CoreEvents } from '../../../src/kernel/events';
import { harness, harnessDefaults, P0, P1, tick, up } from './fakes';

const K0 = '0:pfx.public.t';
const ups = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => up(from + i, 1));
const ids = (from: number, to: number) => Object.fromEntries(Array.from({ length: to - from }, (_, i) => [String(from + i), '1']));

function gaps(h: ReturnType<typeof harness>): CoreEvents['offsetGap'][0][] {
  const seen: CoreEvents['offsetGap'][0][] = [];
  h.emitter.on('offsetGap', (e) => seen.push(e));
  return seen;
}

async function until(what: string, cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await tick(2);
  }
}

describe.each([[''], [', reading through DecodeAhead']])('offset gaps%s', (via) => {
  beforeAll(() => void (harnessDefaults.prefetch = via !== ''));
  afterAll(() => void (harnessDefaults.prefetch = false));

  it('a partition with nothing stored is no gap: it starts at the log start, whatever retention deleted', async () => {
    const h = harness({ maxAgeMs: 5 });
    const seen = gaps(h);
    h.source.produce(P0, ups(0, 10));
    h.source.deleteBefore(P0, 4);
    await h.core.start();
    h.source.assign([P0]);
    await h.source.pumpUntil('offset 10 stored', () => h.applier.storedOf(P0) === '10');
    expect(Object.fromEntries(h.applier.rows)).toEqual(ids(4, 10));
    expect(seen).toEqual([]);
    expect(h.source.boundsCalls).toEqual([]); // nothing stored: nothing to check
    await h.core.stop();
  });

  it('a stored offset still in the log resumes there, after one look at the bounds', async () => {
    const h = harness({ maxAgeMs: 5 });
    h.applier.stored.set(K0, '6');
    h.source.produce(P0, ups(0, 10));
    h.source.deleteBefore(P0, 6);
    await h.core.start();
    h.source.assign([P0]);
    await h.source.pumpUntil('offset 10 stored', () => h.applier.storedOf(P0) === '10');
    expect(Object.fromEntries(h.applier.rows)).toEqual(ids(6, 10));
    expect(h.source.boundsCalls).toEqual([[P0]]);
    await h.core.stop();
  });

  it('stop: retention deleted past the stored offset; the pipeline stops naming the range, nothing applied past the gap', async () => {
    const h = harness({ maxAgeMs: 5 });
    const seen = gaps(h);
    h.applier.stored.set(K0, '3');
    h.source.produce(P0, ups(0, 10));
    h.source.deleteBefore(P0, 6);
    await h.core.start();
    h.source.assign([P0]);
    const err = await h.core.done.then(() => undefined, (e: Error) => e);
    expect(err).toBeInstanceOf(OffsetGapError);
    expect(err!.message).toContain('topic pfx.public.t, partition 0');
    expect(err!.message).toContain('the offset stored in PostgreSQL is 3');
    expect(err!.message).toContain("the partition's log starts at 6");
    expect(err!.message).toContain('[3, 6) (3 offsets)');
    expect(err!.message).toContain('on_offset_gap: skip');
    await h.source.pump(5);
    expect(h.core.state).toBe('failed');
    expect(h.applier.rows.size).toBe(0);
    expect(h.applier.storedOf(P0)).toBe('3');
    expect(seen).toEqual([]);
    expect(h.source.stopped).toBe(true);
  });

  it('skip: warned, counted, and the partition goes on from the log start; the new offset is stored', async () => {
    const h = harness({ maxAgeMs: 5, onOffsetGap: 'skip' });
    const seen = gaps(h);
    h.applier.stored.set(K0, '3');
    h.source.produce(P0, ups(0, 10));
    h.source.deleteBefore(P0, 6);
    await h.core.start();
    h.source.assign([P0]);
    await h.source.pumpUntil('offset 10 stored', () => h.applier.storedOf(P0) === '10');
    expect(Object.fromEntries(h.applier.rows)).toEqual(ids(6, 10));
    expect(seen).toEqual([{ topic: 'pfx.public.t', partition: 0, kind: 'deleted', stored: '3', low: '6', high: '10', skipped: 3 }]);
    const warn = h.logs.find((l) => l.level === 'warn' && l.msg.includes('[3, 6)'));
    expect(warn?.msg).toContain('going on from offset 6');
    expect(warn?.fields).toMatchObject({ topic: 'pfx.public.t', partition: 0, stored: '3', logStart: '6', skipped: '3' });
    expect(h.core.state).toBe('running');
    await h.core.stop();
  });

  it('stop mid-stream: the topic re-created while read (the client resets to the new start, before the expected offset)', async () => {
    const h = harness({ maxAgeMs: 5 });
    await h.core.start();
    h.source.assign([P0]);
    await tick(5);
    h.source.produce(P0, ups(0, 8));
    await h.source.pumpUntil('offset 8 stored', () => h.applier.storedOf(P0) === '8');
    h.source.recreate(P0); // the fake's position goes to 0, as kafkajs resets an offset above the high watermark
    h.source.produce(P0, ups(100, 103));
    await h.source.pump(20);
    const err = await h.core.done.then(() => undefined, (e: Error) => e);
    expect(err).toBeInstanceOf(OffsetGapError);
    expect(err!.message).toContain('the offset stored in PostgreSQL is 8');
    expect(err!.message).toContain("the partition's high watermark is 3");
    expect(Object.fromEntries(h.applier.rows)).toEqual(ids(0, 8));
    expect(h.applier.storedOf(P0)).toBe('8');
  });

  it('a fetch before the expected offset that the log still holds (a rejoin went back to the committed offset) is no gap: back to the expected offset', async () => {
    const h = harness({ maxAgeMs: 5 });
    const seen = gaps(h);
    await h.core.start();
    h.source.assign([P0]);
    await tick(5);
    h.source.produce(P0, ups(0, 6));
    await h.source.pumpUntil('offset 6 stored', () => h.applier.storedOf(P0) === '6');
    h.source.produce(P0, ups(6, 9));
    h.source.logs.get(K0)!.fetchAt = 2;
    await h.source.pumpUntil('offset 9 stored', () => h.applier.storedOf(P0) === '9');
    expect(h.source.boundsCalls).toEqual([[P0]]);
    expect(seen).toEqual([]);
    expect(Object.fromEntries(h.applier.rows)).toEqual(ids(0, 9));
    // nothing was taken twice: each offset in exactly one flush
    expect(h.applier.flushes.flatMap((f) => f.tables.flatMap((t) => t.upserts))).toHaveLength(9);
    expect(h.core.state).toBe('running');
    await h.core.stop();
  });

  it('skip with every record deleted: nothing to read, the log start is still stored by the final flush of a stop', async () => {
    const h = harness({ maxAgeMs: 5, onOffsetGap: 'skip' });
    h.applier.stored.set(K0, '3');
    h.source.produce(P0, ups(0, 6));
    h.source.deleteBefore(P0, 6);
    await h.core.start();
    h.source.assign([P0]);
    await h.source.pump(10);
    expect(h.applier.storedOf(P0)).toBe('3'); // nothing taken: no flush yet
    await h.core.stop();
    expect(h.applier.storedOf(P0)).toBe('6');
    expect(h.applier.rows.size).toBe(0);
  });

  it('stop: a re-created topic (stored offset above the high watermark) names the stored offset and the high watermark', async () => {
    const h = harness({ maxAgeMs: 5 });
    h.applier.stored.set(K0, '120');
    h.source.produce(P0, ups(0, 4));
    await h.core.start();
    h.source.assign([P0]);
    const err = await h.core.done.then(() => undefined, (e: Error) => e);
    expect(err).toBeInstanceOf(OffsetGapError);
    expect(err!.message).toContain('the offset stored in PostgreSQL is 120');
    expect(err!.message).toContain("the partition's high watermark is 4");
    expect(h.applier.rows.size).toBe(0);
    expect(h.applier.storedOf(P0)).toBe('120');
  });

  it('skip: a re-created topic is read from its start and its offsets are stored backwards over the old ones', async () => {
    const h = harness({ maxAgeMs: 5, onOffsetGap: 'skip' });
    const seen = gaps(h);
    h.applier.stored.set(K0, '120');
    h.source.produce(P0, ups(0, 4));
    await h.core.start();
    h.source.assign([P0]);
    await h.source.pumpUntil('offset 4 stored', () => h.applier.storedOf(P0) === '4');
    expect(Object.fromEntries(h.applier.rows)).toEqual(ids(0, 4));
    expect(seen).toEqual([{ topic: 'pfx.public.t', partition: 0, kind: 'recreated', stored: '120', low: '0', high: '4', skipped: 0 }]);
    await h.core.stop();
  });

  it('stop mid-stream: the client resets a position retention passed (kafkajs out of range); what was held before is applied, nothing past the gap', async () => {
    const h = harness({ maxAgeMs: 60_000, maxRows: 1000 });
    h.applier.stored.set(K0, '5');
    h.source.produce(P0, ups(0, 5));
    await h.core.start();
    h.source.assign([P0, P1]);
    await tick(5); // P0 resumes at 5, nothing to fetch yet
    h.source.batchSize = 1; // P1 stays behind its high watermark: what is taken is held
    h.source.produce(P1, [up(100, 1), up(101, 1)]);
    await h.source.pumpUntil('P1 taken', () => h.source.logs.get('1:pfx.public.t')!.fetchAt === 1);
    expect(h.applier.flushes).toHaveLength(0); // held
    h.source.produce(P0, ups(5, 10));
    h.source.deleteBefore(P0, 8); // the fake resets the fetch position to 8 by itself, as kafkajs does
    await h.source.pump(20);
    const err = await h.core.done.then(() => undefined, (e: Error) => e);
    expect(err).toBeInstanceOf(OffsetGapError);
    expect(err!.message).toContain('[5, 8) (3 offsets)');
    expect(h.applier.storedOf(P0)).toBe('5');
    // P1 applied exactly as far as it was taken when the gap stopped the pipeline (at least the held record)
    const p1 = Number(h.applier.storedOf(P1));
    expect(p1).toBeGreaterThanOrEqual(1);
    expect(Object.fromEntries(h.applier.rows)).toEqual(p1 === 1 ? { '100': '1' } : { '100': '1', '101': '1' });
    expect(h.core.state).toBe('failed');
  });

  it('skip mid-stream: reported once, the partition goes on from the log start', async () => {
    const h = harness({ maxAgeMs: 5, onOffsetGap: 'skip' });
    const seen = gaps(h);
    await h.core.start();
    h.source.assign([P0]);
    await tick(5);
    h.source.produce(P0, ups(0, 5));
    await h.source.pumpUntil('offset 5 stored', () => h.applier.storedOf(P0) === '5');
    h.source.produce(P0, ups(5, 12));
    h.source.deleteBefore(P0, 8);
    await h.source.pumpUntil('offset 12 stored', () => h.applier.storedOf(P0) === '12');
    expect(Object.fromEntries(h.applier.rows)).toEqual({ ...ids(0, 5), ...ids(8, 12) });
    expect(seen).toEqual([{ topic: 'pfx.public.t', partition: 0, kind: 'deleted', stored: '5', low: '8', high: '12', skipped: 3 }]);
    await h.core.stop();
  });

  it('a fetch past the expected offset that the log still holds (the client stepped over transaction markers) is no gap', async () => {
    const h = harness({ maxAgeMs: 5 });
    const seen = gaps(h);
    await h.core.start();
    h.source.assign([P0]);
    await tick(5);
    h.source.produce(P0, ups(0, 5));
    await h.source.pumpUntil('offset 5 stored', () => h.applier.storedOf(P0) === '5');
    h.source.produce(P0, ups(5, 10));
    h.source.logs.get(K0)!.fetchAt = 7; // kafkajs resolved a batch of only control records by itself
    await h.source.pumpUntil('offset 10 stored', () => h.applier.storedOf(P0) === '10');
    expect(h.source.boundsCalls).toEqual([[P0]]);
    expect(seen).toEqual([]);
    expect(Object.fromEntries(h.applier.rows)).toEqual({ ...ids(0, 5), ...ids(7, 10) });
    expect(h.core.state).toBe('running');
    await h.core.stop();
  });

  it('a bounds read that fails while the pipeline stops (the source leaving under it) does not fail the stop', async () => {
    const h = harness({ maxAgeMs: 5 });
    h.applier.stored.set(K0, '2');
    h.source.produce(P0, ups(0, 4));
    let failBounds: ((e: Error) => void) | undefined;
    h.source.bounds = () => new Promise((_resolve, reject) => (failBounds = reject));
    let leave: (() => void) | undefined;
    h.source.stop = () => new Promise<void>((resolve) => (leave = resolve));
    await h.core.start();
    h.source.assign([P0]);
    await until('the bounds asked for', () => failBounds !== undefined);
    const stopping = h.core.stop();
    await until('the source asked to stop', () => leave !== undefined);
    expect(h.core.state).toBe('stopping');
    failBounds!(new Error('the Kafka source is not started'));
    await tick(5);
    leave!();
    await stopping;
    expect(h.core.state).toBe('stopped');
    await expect(h.core.done).resolves.toBeUndefined();
    expect(h.applier.rows.size).toBe(0);
  });

  it('reading the bounds is retried like any transient Kafka failure', async () => {
    const h = harness({ maxAgeMs: 5 });
    h.applier.stored.set(K0, '2');
    h.source.produce(P0, ups(0, 4));
    const bounds = h.source.bounds.bind(h.source);
    let failures = 2;
    h.source.bounds = async (tps) => {
      if (failures-- > 0) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      return bounds(tps);
    };
    await h.core.start();
    h.source.assign([P0]);
    await h.source.pumpUntil('offset 4 stored', () => h.applier.storedOf(P0) === '4');
    expect(h.retries).toBe(2);
    expect(Object.fromEntries(h.applier.rows)).toEqual(ids(2, 4));
    await h.core.stop();
  });
});
