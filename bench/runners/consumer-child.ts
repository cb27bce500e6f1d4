/**
 * The consumer-only run's own process: a kafkajs consumer (eachBatch, the worker's fetch
 * settings) that only counts the records of one topic. A process of its own so its figure is
 * kafkajs's alone, not shared with the bench's heap (the workload's final state) and its GC.
 * argv: topic, records expected. Prints one JSON line: { seconds, records, bytes, cpuSeconds }.
 */
import { randomBytes } from 'node:crypto';
import { kafka } from '../stack';

async function main(): Promise<void> {
  const [topic, expectedText] = process.argv.slice(2);
  const expected = Number(expectedText);
  if (!topic || !Number.isInteger(expected) || expected < 1) throw new Error('usage: consumer-child.ts <topic> <records>');
  const groupId = `nilus-bench-count-${randomBytes(4).toString('hex')}`;
  const k = kafka('nilus-bench-count');
  // The worker's fetch settings (src/source/kafka-source.ts).
  const consumer = k.consumer({ groupId, maxBytesPerPartition: 1024 * 1024, maxBytes: 4 * 1024 * 1024, maxWaitTimeInMs: 200 });
  await consumer.connect();
  let seen = 0;
  let bytes = 0;
  let t0 = 0n;
  let cpu0 = process.cpuUsage();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const seconds = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`consumer counted ${seen} of ${expected} records in 30 min`)), 1_800_000);
      consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          if (t0 === 0n) {
            t0 = process.hrtime.bigint();
            cpu0 = process.cpuUsage();
          }
          for (const m of batch.messages) bytes += (m.value?.length ?? 0) + (m.key?.length ?? 0);
          seen += batch.messages.length;
          if (seen >= expected) {
            clearTimeout(timer);
            resolve(Number(process.hrtime.bigint() - t0) / 1e9);
          }
        },
      }).catch(reject);
    });
    const cpu = process.cpuUsage(cpu0);
    console.log(JSON.stringify({ seconds, records: seen, bytes, cpuSeconds: (cpu.user + cpu.system) / 1e6 }));
  } finally {
    await consumer.disconnect();
    const admin = k.admin();
    await admin.connect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
