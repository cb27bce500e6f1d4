/**
 * One stage of the worker alone, in a process of its own so its figure is not shared with the
 * bench's heap (the workload's final state) and its GC:
 *   count  <topic> <records>          kafkajs (eachBatch, the worker's fetch settings) counting records;
 *   decode <topic> <records> <prefix>  the first records held in memory, then decoded over and over
 *                                     by the worker's Decoder on one core (no Kafka, no PostgreSQL).
 * Prints one JSON line: count → { seconds, records, bytes, cpuSeconds };
 * decode → { records, passes, usPerRecord, usPerRecordMerge, events } (Decoder.decode, and
 * Decoder.decodeForMerge as a merge worker runs it).
 */
import { randomBytes } from 'node:crypto';
import type { RawRecord } from '../../src/kernel/types';
import { Decoder } from '../../src/decode/decoder';
import { DEFAULTS } from '../../src/config/defaults';
import { fetchSizes } from '../../src/service/cdc-service';
import { kafka } from '../stack';

/** Records of one topic from offset 0 handed to `take` until it returns true. */
async function consume(topic: string, take: (batch: { topic: string; partition: number; messages: { offset: string; key: Buffer | null; value: Buffer | null }[] }) => boolean): Promise<void> {
  const groupId = `nilus-bench-stage-${randomBytes(4).toString('hex')}`;
  const k = kafka('nilus-bench-stage');
  // The worker's fetch settings at the default memory budget (src/service/cdc-service.ts).
  const sizes = fetchSizes(DEFAULTS.buffer.memoryBudgetBytes);
  const consumer = k.consumer({ groupId, maxBytesPerPartition: sizes.perPartition, maxBytes: sizes.maxBytes, maxWaitTimeInMs: 200 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${topic}: not every record read in 30 min`)), 1_800_000);
      consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          if (take(batch)) {
            clearTimeout(timer);
            resolve();
          }
        },
      }).catch(reject);
    });
  } finally {
    await consumer.disconnect();
    const admin = k.admin();
    await admin.connect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}

async function count(topic: string, expected: number): Promise<object> {
  let seen = 0;
  let bytes = 0;
  let t0 = 0n;
  let cpu0 = process.cpuUsage();
  let seconds = 0;
  await consume(topic, (batch) => {
    if (t0 === 0n) {
      t0 = process.hrtime.bigint();
      cpu0 = process.cpuUsage();
    }
    for (const m of batch.messages) bytes += (m.value?.length ?? 0) + (m.key?.length ?? 0);
    seen += batch.messages.length;
    if (seen < expected) return false;
    seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    return true;
  });
  const cpu = process.cpuUsage(cpu0);
  return { seconds, records: seen, bytes, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

async function decode(topic: string, limit: number, prefix: string): Promise<object> {
  const recs: RawRecord[] = [];
  await consume(topic, (batch) => {
    for (const m of batch.messages) {
      if (recs.length < limit) recs.push({ topic: batch.topic, partition: batch.partition, offset: m.offset, key: m.key, value: m.value });
    }
    return recs.length >= limit;
  });
  const passes = 5;
  /** µs per record over `passes` passes after a warm-up pass (compiles the schemas, lets V8 optimise). */
  const timed = (f: (r: RawRecord) => unknown): number => {
    for (const r of recs) f(r);
    const t0 = process.hrtime.bigint();
    for (let p = 0; p < passes; p++) for (const r of recs) f(r);
    return Number(process.hrtime.bigint() - t0) / 1e3 / passes / recs.length;
  };
  const d = new Decoder({ topicPrefix: prefix });
  let events = 0;
  for (const r of recs) if (d.decode(r)) events++;
  const usPerRecord = timed((r) => d.decode(r));
  // What a merge worker runs: rows it can hold as COPY lines come out of the COPY-ready encoder.
  const m = new Decoder({ topicPrefix: prefix });
  const usPerRecordMerge = timed((r) => m.decodeForMerge(r));
  return { records: recs.length, passes, usPerRecord, usPerRecordMerge, events };
}

async function main(): Promise<void> {
  const [mode, topic, n, prefix] = process.argv.slice(2);
  const records = Number(n);
  if (!topic || !Number.isInteger(records) || records < 1 || (mode !== 'count' && mode !== 'decode') || (mode === 'decode' && !prefix)) {
    throw new Error('usage: stage-child.ts count <topic> <records> | decode <topic> <records> <topic.prefix>');
  }
  console.log(JSON.stringify(mode === 'count' ? await count(topic, records) : await decode(topic, records, prefix!)));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
