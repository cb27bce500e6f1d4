/**
 * kafkajs alone: a consumer (eachBatch) that only counts records of the schema+payload topic, in
 * a process of its own (consumer-child.ts). The ceiling any kafkajs-based sink can reach on this
 * machine, for comparison with the merge run.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { rate, type RunResult } from '../result';
import type { Workload } from '../workload';

const run = promisify(execFile);

export async function consumerOnlyRun(topic: string, w: Workload): Promise<RunResult> {
  const child = resolve(__dirname, 'consumer-child.ts');
  const { stdout } = await run(process.execPath, ['--import', 'tsx', child, topic, String(w.records)], { timeout: 1_900_000 });
  const r = JSON.parse(stdout.trim().split('\n').pop()!) as { seconds: number; records: number; bytes: number; cpuSeconds: number };
  return {
    name: 'consumer', ok: r.records === w.records, check: `${r.records} records counted (expected ${w.records})`, events: w.events,
    seconds: r.seconds, eventsPerSec: rate(w.events, r.seconds), cpuSeconds: r.cpuSeconds,
    extra: { recordsPerSec: rate(r.records, r.seconds), MiBPerSec: Math.round(r.bytes / 2 ** 20 / r.seconds) },
    notes: ['kafkajs 2.2.4 eachBatch with the worker\'s fetch settings, counting only, in a process of its own, timed from the first batch'],
  };
}
