/**
 * kafkajs alone: a consumer (eachBatch) that only counts records of the schema+payload topic.
 * The ceiling any kafkajs-based sink can reach on this machine, for comparison with the merge run.
 */
import { randomBytes } from 'node:crypto';
import { rate, type RunResult } from '../result';
import { kafka } from '../stack';
import type { Workload } from '../workload';

export async function consumerOnlyRun(topic: string, w: Workload): Promise<RunResult> {
  const groupId = `nilus-bench-count-${randomBytes(4).toString('hex')}`;
  const k = kafka('nilus-bench-count');
  const consumer = k.consumer({ groupId });
  const cpu0 = process.cpuUsage();
  await consumer.connect();
  let seen = 0;
  let bytes = 0;
  let t0 = 0n;
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const seconds = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`consumer counted ${seen} of ${w.records} records in 30 min`)), 1_800_000);
      consumer.run({
        eachBatchAutoResolve: true,
        eachBatch: async ({ batch }) => {
          if (t0 === 0n) t0 = process.hrtime.bigint();
          for (const m of batch.messages) bytes += (m.value?.length ?? 0) + (m.key?.length ?? 0);
          seen += batch.messages.length;
          if (seen >= w.records) {
            clearTimeout(timer);
            resolve(Number(process.hrtime.bigint() - t0) / 1e9);
          }
        },
      }).catch(reject);
    });
    const cpu = process.cpuUsage(cpu0);
    return {
      name: 'consumer', ok: seen === w.records, check: `${seen} records counted (expected ${w.records})`, events: w.events, seconds,
      eventsPerSec: rate(w.events, seconds), cpuSeconds: (cpu.user + cpu.system) / 1e6,
      extra: { recordsPerSec: rate(seen, seconds), MiBPerSec: Math.round(bytes / 2 ** 20 / seconds) },
      notes: ['kafkajs 2.2.4 eachBatch, counting only, timed from the first batch; CPU is the bench process'],
    };
  } finally {
    await consumer.disconnect();
    const admin = k.admin();
    await admin.connect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}
