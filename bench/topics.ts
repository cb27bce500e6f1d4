/** Creates the run's topics and writes the workload into them before any run starts. */
import { EventFactory, ordersTable } from '../test/fixtures/factory';
import { kafka } from './stack';
import { TopicWriter, type Workload } from './workload';

export const PARTITIONS = 4;

export async function createTopics(names: string[], partitions = PARTITIONS): Promise<void> {
  const admin = kafka().admin();
  await admin.connect();
  try {
    await admin.createTopics({ waitForLeaders: true, topics: names.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })) });
  } finally {
    await admin.disconnect();
  }
}

/** One factory per topic: schema+payload under `typedPrefix`, schemaless under `rawPrefix`. */
export function factories(typedPrefix: string, rawPrefix?: string): EventFactory[] {
  const out = [new EventFactory(ordersTable(typedPrefix), true, { realSource: true })];
  if (rawPrefix) out.push(new EventFactory(ordersTable(rawPrefix), false, { realSource: true }));
  return out;
}

/** Writes every op of the workload to each factory's topic; returns seconds taken. */
export async function produceWorkload(w: Workload, fs: EventFactory[], log: (s: string) => void): Promise<number> {
  await createTopics(fs.map((f) => f.topic));
  const producer = kafka().producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const t0 = Date.now();
  try {
    const writer = new TopicWriter(producer, fs, PARTITIONS);
    let i = 0;
    let lastLog = Date.now();
    for (const op of w.ops()) {
      await writer.write(op);
      if (++i % 10_000 === 0 && Date.now() - lastLog > 10_000) {
        lastLog = Date.now();
        log(`  produced ${i} of ${w.events} events`);
      }
    }
    await writer.flush();
  } finally {
    await producer.disconnect();
  }
  return (Date.now() - t0) / 1000;
}
