/**
 * Intake with Decoder.decodeForMerge (rows held as COPY lines) against Intake with the general decoder alone,
 * over the same records: every record must be taken, refused or rejected alike, and every drained
 * batch must hold the same rows (a held COPY line read back with rowOf), sources, positions,
 * columns and bytes. The records: real Debezium output and the generated workload over every
 * codec (placeholders, key changes, deletes without before images, records without a key,
 * flattened rows, a truncate).
 */
import { CopyLine } from '../../../src/kernel/types';
import type { Taken } from '../../../src/engine/intake';
import type { RawRecord } from '../../../src/kernel/types';
import { Decoder, type DecoderOptions } from '../../../src/decode/decoder';
import { intake, plain } from './intake.support';
import { realRecords } from '../decode/copy-ready.support';
import { Workload } from '../decode/workload.support';

const outcome = (t: Taken) => (t.kind === 'rejected' ? { kind: t.kind, error: t.error.message } : t);

/** Feeds both intakes, draining every `every` records; returns how many upserts the fast side held as lines and as Rows. */
function compare(records: readonly RawRecord[], opts: DecoderOptions, declared?: readonly string[], every = 37): { lines: number; rows: number; batches: number } {
  const general = intake(opts, false, declared);
  const fast = intake(opts, true, declared);
  let lines = 0;
  let rows = 0;
  let batches = 0;
  const drainBoth = () => {
    expect(fast.buffers.bytes).toBe(general.buffers.bytes);
    expect(fast.buffers.events).toBe(general.buffers.events);
    const a = fast.buffers.drainAll();
    const b = general.buffers.drainAll();
    for (const t of a) for (const u of t.upserts) if (u instanceof CopyLine) lines++; else rows++;
    expect(a.map(plain)).toEqual(b.map(plain));
    batches += a.length;
  };
  records.forEach((r, i) => {
    const where = `${r.topic}@${r.offset}`;
    expect({ where, ...outcome(fast.intake.take(r, 0)) }).toEqual({ where, ...outcome(general.intake.take(r, 0)) });
    if (i % every === every - 1) drainBoth();
  });
  drainBoth();
  return { lines, rows, batches };
}

describe('Intake: the COPY-ready path takes what the general path would, to the byte', () => {
  it.each(['wide', 'items'])('real Debezium output (%s)', (table) => {
    const recs = realRecords(table);
    const r = compare(recs, { topicPrefix: recs[0]!.topic.split('.')[0]! }, undefined, 3);
    expect(r.lines + r.rows).toBeGreaterThan(0);
    expect(r.lines).toBeGreaterThan(0);
  });

  it('the generated workload over every codec: Kafka key columns, then declared keys', () => {
    const w = new Workload('base64');
    const recs = [...w.envelopes(400), ...w.flats(120)];
    const opts = { topicPrefix: 'shop' };
    // Most of its rows hold a placeholder somewhere (general path); both paths must be exercised.
    const byKafkaKey = compare(recs, opts);
    expect(byKafkaKey.lines).toBeGreaterThan(20);
    expect(byKafkaKey.rows).toBeGreaterThan(20);
    expect(byKafkaKey.batches).toBeGreaterThan(10);
    const declared = compare(recs, opts, ['id', 's']);
    expect(declared.lines).toBeGreaterThan(20);
    expect(declared.rows).toBeGreaterThan(20);
  });

  it('binary.handling.mode=hex', () => {
    const recs = new Workload('hex').envelopes(200);
    const r = compare(recs, { topicPrefix: 'shop', binaryStringMode: 'hex' });
    expect(r.lines).toBeGreaterThan(10);
    expect(r.rows).toBeGreaterThan(10);
  });
});

describe('Decoder.decodeForMerge parses a record no more often than Decoder.decode', () => {
  it.each([
    ['schema+payload rows (held as lines) and rows with placeholders (general)', new Workload('base64').envelopes(60)],
    ['schemaless values', [{ topic: 'shop.public.t', partition: 0, offset: '1', key: Buffer.from('{"id":1}'), value: Buffer.from('{"before":null,"after":{"id":1,"v":"a"},"source":{"schema":"public","table":"t"},"op":"c"}') }]],
  ])('%s', (_what, recs: RawRecord[]) => {
    const general = new Decoder({ topicPrefix: 'shop' });
    const merge = new Decoder({ topicPrefix: 'shop' });
    const parses = (f: () => unknown): number => {
      const parse = jest.spyOn(JSON, 'parse');
      try {
        f();
      } catch {
        // a record the general path rejects
      }
      const n = parse.mock.calls.length;
      parse.mockRestore();
      return n;
    };
    for (const r of recs) {
      const g = parses(() => general.decode(r));
      const m = parses(() => merge.decodeForMerge(r));
      expect(g > 0).toBe(r.value !== null); // a tombstone is not parsed
      // An integer beyond 2^53 makes both decode the record again keeping it exact; decodeForMerge
      // has parsed the key by then, so it may parse that small key once more.
      const retried = /\d{16}/.test(r.value?.toString() ?? '') ? 1 : 0;
      expect({ offset: r.offset, atMostGeneral: m <= g + retried }).toEqual({ offset: r.offset, atMostGeneral: true });
    }
  });
});
