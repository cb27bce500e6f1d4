/**
 * DecodePool (decode on worker threads) against Decoder.decodeForMerge on the main thread, over
 * real Debezium output and the generated workload over every codec: every record the main thread
 * would hold as a COPY line comes back from a thread as the same event (same line, key, op,
 * source, table, position, bytes, columns), every other record is left to the main thread, and an
 * Intake fed the threads' events holds exactly what an Intake decoding everything itself holds.
 */
import { isCopyReady, type CopyReadyEvent } from '../../../src/kernel/types';
import type { BatchControl } from '../../../src/engine/intake';
import type { ChangeEvent, RawRecord } from '../../../src/kernel/types';
import { Decoder, type DecoderOptions } from '../../../src/decode/decoder';
import { DecodePool, type Prepared } from '../../../src/decode/pool';
import { intake, plain } from '../engine/intake.support';
import { realRecords } from './copy-ready.support';
import { Workload } from './workload.support';

jest.setTimeout(60_000);

/** Runs of one topic and partition, at most `size` records each (what a fetch hands over). */
function batches(records: readonly RawRecord[], size: number): RawRecord[][] {
  const out: RawRecord[][] = [];
  for (const r of records) {
    const last = out[out.length - 1];
    if (last && last.length < size && last[0]!.topic === r.topic && last[0]!.partition === r.partition) last.push(r);
    else out.push([r]);
  }
  return out;
}

/** What the merge buffer and apply read of an event (beforeKey only decides holdsAsLine). */
const kept = (e: CopyReadyEvent) => ({ ...e, beforeKey: undefined, columns: e.columns.map((c) => ({ ...c })) });

async function prepareAll(pool: DecodePool, bs: readonly RawRecord[][]): Promise<(Prepared | undefined)[]> {
  // Handed over in one turn, as one fetch's batches are: several go to a thread in one message.
  return Promise.all(bs.map((b) => pool.decode(b[0]!.topic, b[0]!.partition, b)));
}

/** Both ways over the same batches; returns how many records came back decoded from a thread. */
async function compare(records: readonly RawRecord[], opts: DecoderOptions, threads: number, declared?: readonly string[]): Promise<number> {
  const pool = new DecodePool({ decoder: opts, ...(declared ? { keyColumns: declared } : {}), threads });
  try {
    const bs = batches(records, 23);
    const prepared = await prepareAll(pool, bs);
    const inline = new Decoder(opts);
    const threaded = intake(opts, true, declared);
    const local = intake(opts, true, declared);
    let fromThreads = 0;
    const letters: { threaded: string[]; local: string[] } = { threaded: [], local: [] };
    const control = (into: string[]): BatchControl => ({ afterRecord: () => 'go', deadLetter: (l) => into.push(`${l.offset}: ${l.reason}`) });
    bs.forEach((b, n) => {
      const p = prepared[n];
      b.forEach((r, i) => {
        let expected: ChangeEvent | CopyReadyEvent | null | 'error';
        try {
          expected = inline.decodeForMerge(r, declared);
        } catch {
          expected = 'error';
        }
        const got = p?.[i];
        const where = `${r.topic}@${r.offset}`;
        if (got !== undefined) {
          fromThreads++;
          expect({ where, ev: kept(got) }).toEqual({ where, ev: expected !== null && expected !== 'error' && isCopyReady(expected) ? kept(expected) : 'a record the main thread would not hold as a line' });
        } else if (p !== undefined) {
          // left to the main thread: it would not hold it as a line either
          expect({ where, held: expected !== null && expected !== 'error' && isCopyReady(expected) }).toEqual({ where, held: false });
        }
      });
      const a = threaded.intake.takeBatch(b, 0n, () => 0, 'all', control(letters.threaded), p);
      const c = local.intake.takeBatch(b, 0n, () => 0, 'all', control(letters.local));
      expect(a).toEqual(c);
      if (n % 5 === 4) {
        expect(threaded.buffers.bytes).toBe(local.buffers.bytes);
        expect(threaded.buffers.drainAll().map(plain)).toEqual(local.buffers.drainAll().map(plain));
      }
    });
    expect(threaded.buffers.drainAll().map(plain)).toEqual(local.buffers.drainAll().map(plain));
    expect(letters.threaded).toEqual(letters.local);
    return fromThreads;
  } finally {
    await pool.close();
  }
}

describe('DecodePool: what a thread decodes is what the main thread would hold, to the byte', () => {
  it.each(['wide', 'items'])('real Debezium output (%s), one thread', async (table) => {
    const recs = realRecords(table);
    expect(await compare(recs, { topicPrefix: recs[0]!.topic.split('.')[0]! }, 1)).toBeGreaterThan(0);
  });

  it('the generated workload over every codec, two threads: Kafka key columns, then declared keys', async () => {
    const w = new Workload('base64');
    const recs = [...w.envelopes(400), ...w.flats(120)];
    expect(await compare(recs, { topicPrefix: 'shop' }, 2)).toBeGreaterThan(20);
    expect(await compare(recs, { topicPrefix: 'shop' }, 2, ['id', 's'])).toBeGreaterThan(20);
  });

  it('binary.handling.mode=hex', async () => {
    const recs = new Workload('hex').envelopes(200);
    expect(await compare(recs, { topicPrefix: 'shop', binaryStringMode: 'hex' }, 1)).toBeGreaterThan(10);
  });

  it('one descriptor per schema across threads: columns, names and key columns keep one identity', async () => {
    const recs = realRecords('items');
    const pool = new DecodePool({ decoder: { topicPrefix: recs[0]!.topic.split('.')[0]! }, threads: 2 });
    try {
      const got = (await prepareAll(pool, batches(recs, 5))).flatMap((p) => p ?? []).filter((e): e is CopyReadyEvent => e !== undefined);
      expect(got.length).toBeGreaterThan(1);
      const same = got.filter((e) => JSON.stringify(e.columns) === JSON.stringify(got[0]!.columns));
      expect(same.length).toBeGreaterThan(1);
      expect(new Set(same.map((e) => e.columns)).size).toBe(1);
      expect(new Set(same.map((e) => e.names)).size).toBe(1);
      expect(new Set(same.map((e) => e.keyColumns)).size).toBe(1);
    } finally {
      await pool.close();
    }
  });
});

describe('DecodePool: what it leaves to the main thread', () => {
  const schemaless = (n: number): RawRecord[] =>
    Array.from({ length: n }, (_, i) => ({
      topic: 'shop.public.t',
      partition: 0,
      offset: String(i),
      key: Buffer.from(`{"id":${i}}`),
      value: Buffer.from(`{"before":null,"after":{"id":${i},"v":"a"},"source":{"schema":"public","table":"t"},"op":"c"}`),
    }));

  it('a topic whose records take the general path is not sent again for a while', async () => {
    const pool = new DecodePool({ decoder: { topicPrefix: 'shop' }, threads: 1 });
    try {
      const first = await pool.decode('shop.public.t', 0, schemaless(10));
      expect(first).toHaveLength(10);
      expect(first!.every((e) => e === undefined)).toBe(true);
      expect(await pool.decode('shop.public.t', 0, schemaless(10))).toBeUndefined();
    } finally {
      await pool.close();
    }
  });

  it('tombstones and Debezium key-change records are not sent', async () => {
    const w = new Workload('base64');
    const d = new Decoder({ topicPrefix: 'shop' });
    const lines = w.envelopes(300).filter((r) => {
      const e = r.headers ? null : d.decodeForMerge(r);
      return e !== null && isCopyReady(e);
    });
    const held = lines.filter((r) => r.topic === lines[0]!.topic && r.partition === lines[0]!.partition).slice(0, 3);
    expect(held).toHaveLength(3);
    const pool = new DecodePool({ decoder: { topicPrefix: 'shop' }, threads: 1 });
    try {
      const base = await pool.decode(held[0]!.topic, held[0]!.partition, held);
      expect(base!.every((e) => e !== undefined)).toBe(true);
      const mixed = [held[0]!, { ...held[1]!, value: null }, { ...held[2]!, headers: { '__debezium.oldkey': '{"id":1}' } }];
      const p = await pool.decode(held[0]!.topic, held[0]!.partition, mixed);
      expect(p![0]).toEqual(base![0]);
      expect(p![1]).toBeUndefined();
      expect(p![2]).toBeUndefined();
    } finally {
      await pool.close();
    }
  });

  it('a thread that dies turns the pool off: every batch is then decoded on the main thread', async () => {
    const errors: Error[] = [];
    const pool = new DecodePool({ decoder: { topicPrefix: 'shop' }, threads: 1, onError: (e) => errors.push(e) });
    try {
      const recs = new Workload('base64').envelopes(20).filter((r) => r.value !== null);
      expect(await pool.decode(recs[0]!.topic, recs[0]!.partition, recs)).toBeDefined();
      await (pool as unknown as { threads: { worker: { terminate(): Promise<number> } }[] }).threads[0]!.worker.terminate();
      await new Promise((r) => setTimeout(r, 50));
      expect(pool.size).toBe(0);
      expect(errors.map((e) => e.message)).toEqual([expect.stringContaining('a decode thread exited')]);
      expect(await pool.decode(recs[0]!.topic, recs[0]!.partition, recs)).toBeUndefined();
    } finally {
      await pool.close();
    }
  });
});
