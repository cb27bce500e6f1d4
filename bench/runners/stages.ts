/**
 * Stages of the worker alone, each in a process of its own (stage-child.ts), for comparison
 * with the merge run: `consumer` is kafkajs counting the records of the schema+payload topic
 * (the ceiling of any kafkajs-based sink here); `decode` is the worker's Decoder on records
 * held in memory (one core, no I/O).
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { rate, type RunResult } from '../result';
import type { Workload } from '../workload';

const run = promisify(execFile);

async function stage<T>(args: string[]): Promise<T> {
  const child = resolve(__dirname, 'stage-child.ts');
  const { stdout } = await run(process.execPath, ['--import', 'tsx', child, ...args], { timeout: 1_900_000 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as T;
}

export async function consumerOnlyRun(topic: string, w: Workload): Promise<RunResult> {
  const r = await stage<{ seconds: number; records: number; bytes: number; cpuSeconds: number }>(['count', topic, String(w.records)]);
  return {
    name: 'consumer', ok: r.records === w.records, check: `${r.records} records counted (expected ${w.records})`, events: w.events,
    seconds: r.seconds, eventsPerSec: rate(w.events, r.seconds), cpuSeconds: r.cpuSeconds,
    extra: { recordsPerSec: rate(r.records, r.seconds), MiBPerSec: Math.round(r.bytes / 2 ** 20 / r.seconds) },
    notes: ['consumer: kafkajs 2.2.4 eachBatch with the worker\'s fetch settings, counting only, in a process of its own, timed from the first batch'],
  };
}

/** Decoding alone: at most 100,000 records of the topic, decoded 5 times after a warm-up pass. */
export async function decodeOnlyRun(topic: string, prefix: string, w: Workload): Promise<RunResult> {
  const records = Math.min(100_000, w.records);
  const r = await stage<{ records: number; passes: number; usPerRecord: number; usPerRecordMerge: number; events: number }>(['decode', topic, String(records), prefix]);
  const eventsPerRecord = r.events / r.records;
  const seconds = (r.usPerRecord * r.records * r.passes) / 1e6;
  const events = Math.round(r.events * r.passes);
  return {
    name: 'decode', ok: r.records === records && r.events > 0, check: `${r.records} records (${r.events} events) decoded ${r.passes}×`,
    events, seconds, eventsPerSec: rate(events, seconds),
    extra: {
      usPerRecord: Math.round(r.usPerRecord * 100) / 100, usPerEvent: Math.round((r.usPerRecord / eventsPerRecord) * 100) / 100,
      mergeUsPerEvent: Math.round((r.usPerRecordMerge / eventsPerRecord) * 100) / 100,
    },
    notes: ['decode: the worker\'s Decoder (src/decode) alone on records held in memory, one core, in a process of its own; CPU time per record is the wall time; mergeUsPerEvent: Decoder.decodeForMerge, what a merge worker runs (COPY lines where it can)'],
  };
}
