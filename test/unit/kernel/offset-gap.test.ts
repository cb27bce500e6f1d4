/** Whether a stored offset can be resumed from, given the partition's bounds in Kafka, and what the operator is told. */
import { describeOffsetGap, offsetGap, OffsetGapError } from '../../../src/kernel/offset-gap';
import { FatalError } from '../../../src/kernel/errors';
import { classifyError } from '../../../src/kernel/classify';

const at = (stored: bigint, low: string, high: string) => offsetGap('pfx.public.orders', 2, stored, { low, high });

describe('offsetGap', () => {
  it.each([
    ['at the log start', 10n, '10', '50'],
    ['inside the log', 30n, '10', '50'],
    ['at the high watermark (caught up)', 50n, '10', '50'],
    ['an empty log, nothing ever deleted', 0n, '0', '0'],
    ['an empty log whose records all expired, stored at its end', 7n, '7', '7'],
  ])('ok: %s', (_what, stored, low, high) => {
    expect(at(stored, low, high)).toBeUndefined();
  });

  it('below the log-start offset: the deleted range [stored, low) and how many offsets', () => {
    expect(at(10n, '25', '60')).toEqual({ kind: 'deleted', topic: 'pfx.public.orders', partition: 2, stored: 10n, low: 25n, high: 60n, skipped: 15n });
    // everything expired: the log is empty and starts past the stored offset
    expect(at(3n, '9', '9')).toMatchObject({ kind: 'deleted', stored: 3n, low: 9n, skipped: 6n });
  });

  it('above the high watermark: offsets of an earlier life of the topic', () => {
    expect(at(120n, '0', '4')).toEqual({ kind: 'recreated', topic: 'pfx.public.orders', partition: 2, stored: 120n, low: 0n, high: 4n, skipped: 0n });
  });

  it('offsets past 2^53 keep their precision', () => {
    const g = offsetGap('t', 0, 9007199254740993n, { low: '9007199254740999', high: '9007199254741000' });
    expect(g).toMatchObject({ kind: 'deleted', skipped: 6n });
  });
});

describe('describeOffsetGap', () => {
  it('stop: topic, partition, stored offset, log start, the missing range and what to do', () => {
    const msg = describeOffsetGap(at(10n, '25', '60')!, 'stop');
    expect(msg).toContain('topic pfx.public.orders, partition 2');
    expect(msg).toContain('the offset stored in PostgreSQL is 10');
    expect(msg).toContain("the partition's log starts at 25");
    expect(msg).toContain('[10, 25) (15 offsets)');
    expect(msg).toContain('nothing past the gap was applied');
    expect(msg).toMatch(/resync/);
    expect(msg).toContain('on_offset_gap: skip');
  });

  it('stop on a re-created topic: the stored offset and the high watermark', () => {
    const msg = describeOffsetGap(at(120n, '0', '4')!, 'stop');
    expect(msg).toContain('the offset stored in PostgreSQL is 120');
    expect(msg).toContain("the partition's high watermark is 4");
    expect(msg).toContain('deleted and re-created');
  });

  it('skip: the same facts and where it goes on from', () => {
    const msg = describeOffsetGap(at(10n, '25', '60')!, 'skip');
    expect(msg).toContain('[10, 25)');
    expect(msg).toContain('going on from offset 25');
    expect(msg).not.toContain('stopped');
  });

  it('OffsetGapError is a fatal error that no retry repeats, carrying the gap', () => {
    const err = new OffsetGapError(at(10n, '25', '60')!);
    expect(err).toBeInstanceOf(FatalError);
    expect(err.name).toBe('OffsetGapError');
    expect(classifyError(err)).toBe('fatal');
    expect(err.gap.low).toBe(25n);
    expect(err.message).toBe(describeOffsetGap(err.gap, 'stop'));
  });
});
