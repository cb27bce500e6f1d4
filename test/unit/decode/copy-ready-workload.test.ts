/**
 * COPY-ready path on a generated workload covering every codec (the types the fidelity test
 * test/it/fidelity/fidelity.it.ts lands, plus every logical name and primitive the codec registry
 * maps and the column.propagate.source.type variants): creates, snapshot reads, updates with and
 * without before images and key changes, deletes with full and key-only before images, a truncate,
 * records without a key, unchanged-TOAST placeholders, NULLs, COPY's special characters, unicode
 * and integers beyond 2^53. Every record's COPY line, key string and mask must be byte-identical to
 * the general path's (decode → Row → appendRow / encodeKey / unavailableMask).
 */
import type { ChangeEvent, RawRecord } from '../../../src/kernel/types';
import { Decoder, type DecoderOptions } from '../../../src/decode/decoder';
import { compareAll } from './copy-ready.support';
import { PH, Workload } from './workload.support';

/** The general path's events, to show what the workload exercises (not what the fast path says). */
function generalEvents(recs: RawRecord[], opts: DecoderOptions): ChangeEvent[] {
  const d = new Decoder(opts);
  return recs.map((r) => d.decode(r)).filter((e): e is ChangeEvent => e !== null);
}

describe('COPY-ready path: generated workload over every codec', () => {
  const opts: DecoderOptions = { topicPrefix: 'shop' };
  const w = new Workload('base64');
  const recs = w.envelopes(400);
  const tombstones = recs.filter((r) => r.value === null).length;

  it('the workload exercises every field, placeholders, escapes, NULLs, big ints and every op (on the general path)', () => {
    const evs = generalEvents(recs, opts);
    const rows = evs.flatMap((e) => [e.after, e.before]).filter((r) => r !== null);
    for (const x of w.fs) {
      const texts = rows.map((r) => r![x.name]).filter((v): v is string => typeof v === 'string');
      expect({ field: x.name, converted: texts.length > 0 }).toEqual({ field: x.name, converted: true });
    }
    const unavailable = new Set(rows.flatMap((r) => Object.keys(r!).filter((k) => typeof r![k] === 'symbol')));
    expect([...unavailable].sort()).toEqual(['ai', 'as', 'by', 'bys', 'id', 'js', 's'].sort());
    const texts = rows.flatMap((r) => Object.values(r!)).filter((v): v is string => typeof v === 'string');
    for (const c of ['\t', '\n', '\r', '\\', '🎉', '9223372036854775807', '-9223372036854775808']) expect(texts.some((t) => t.includes(c))).toBe(true);
    expect(new Set(evs.map((e) => e.op))).toEqual(new Set(['c', 'r', 'u', 'd', 't']));
    expect(evs.some((e) => e.source.lsn !== undefined && e.source.lsn > 2n ** 53n)).toBe(true);
  });

  it('every record byte-identical to the general path (Kafka key columns)', () => {
    const r = compareAll(recs, opts);
    expect(r.deferred).toEqual([]);
    expect(r.rejected).toBe(0);
    expect(r.tombstones).toBe(tombstones);
    expect(r.fast).toBe(recs.length - tombstones);
  });

  it.each([[['id']], [['id', 's']], [['s']], [['s', 'i64', 'js']], [['dec', 'mts', 'as']], [['absent']]])('merged on %j: byte-identical', (cols) => {
    const r = compareAll(recs, opts, cols);
    expect(r.deferred).toEqual([]);
    expect(r.fast).toBe(recs.length - tombstones);
  });

  it('another placeholder text (unavailable.value.placeholder): the default one is plain text on both paths', () => {
    const r = compareAll(recs, { ...opts, unavailablePlaceholder: 'UNCHANGED' });
    expect(r.deferred).toEqual([]);
    // The rows whose int64 id held the placeholder no longer convert: rejected on both paths.
    const idPlaceholder = recs.filter((x) => x.value !== null && x.value.includes(`"id":"${PH}"`)).length;
    expect(idPlaceholder).toBeGreaterThan(0);
    expect(r.rejected).toBe(idPlaceholder);
    expect(r.fast).toBe(recs.length - tombstones - idPlaceholder);
  });

  it('binary.handling.mode=hex', () => {
    const hex = new Workload('hex').envelopes(120);
    const r = compareAll(hex, { ...opts, binaryStringMode: 'hex' }, ['id']);
    expect(r.deferred).toEqual([]);
    expect(r.fast).toBe(hex.length - hex.filter((x) => x.value === null).length);
  });

  it('flattened rows (ExtractNewRecordState): creates, updates, rewritten deletes, __deleted alone', () => {
    const flats = w.flats(240);
    const evs = generalEvents(flats, opts);
    expect(new Set(evs.map((e) => e.op))).toEqual(new Set(['c', 'u', 'd', 'r']));
    for (const cols of [undefined, ['id'], ['id', 's']]) {
      const r = compareAll(flats, opts, cols);
      expect(r.deferred).toEqual([]);
      expect(r.rejected).toBe(0);
      expect(r.fast).toBe(flats.length);
    }
  });

  it('values that do not convert are left to the general path, which rejects them', () => {
    const bad = [
      w.envelope('c', null, { ...w.row(1, 0), i32: 'x' }, { id: 1 }, 1),
      w.envelope('c', null, { ...w.row(2, 0), mts: 1.5 }, { id: 2 }, 2),
      w.envelope('u', { ...w.row(3, 0), dd: 'nope' }, w.row(3, 1), { id: 3 }, 3), // bad before image
      w.envelope('c', null, w.row(4, 0), { id: 'four' }, 4), // bad key
    ];
    const r = compareAll(bad, opts);
    expect(r.rejected).toBe(bad.length);
  });
});
