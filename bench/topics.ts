/** Creates the run's topics and writes the workload into them before any run starts. */
import { EventFactory, ordersTable } from '../test/fixtures/factory';
import { kafka } from './stack';
import { wideTable } from './wide';
import { TopicWriter, type Workload, type WriterOptions } from './workload';

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

/** The schema+payload orders topic written gzip-compressed (`merge-gzip`). */
export function gzipFactory(prefix: string): EventFactory {
  return new EventFactory(ordersTable(prefix), true, { realSource: true });
}

/** The schema+payload documents topic with 8–16 KiB bodies (`merge-wide`). */
export function wideFactory(prefix: string): EventFactory {
  return new EventFactory(wideTable(prefix), true, { realSource: true });
}

/** Topics written in one pass over the workload, with the same writer options. */
export interface ProduceGroup {
  readonly factories: readonly EventFactory[];
  readonly options?: WriterOptions;
}

export interface Produced {
  seconds: number;
  /** Key + value bytes written per topic (uncompressed). */
  rawBytes: Map<string, number>;
}

/**
 * Writes every op of the workload to each group's topics (one pass over the ops, so the workload's
 * final state is known afterwards even when no group is given).
 */
export async function produceWorkload(w: Workload, groups: readonly ProduceGroup[], log: (s: string) => void): Promise<Produced> {
  if (groups.length === 0) {
    for (const _ of w.ops()); // final state only
    return { seconds: 0, rawBytes: new Map() };
  }
  await createTopics(groups.flatMap((g) => g.factories.map((f) => f.topic)));
  const producer = kafka().producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const t0 = Date.now();
  const writers = groups.map((g) => new TopicWriter(producer, g.factories, PARTITIONS, g.options));
  try {
    let i = 0;
    let lastLog = Date.now();
    for (const op of w.ops()) {
      for (const writer of writers) await writer.write(op);
      if (++i % 10_000 === 0 && Date.now() - lastLog > 10_000) {
        lastLog = Date.now();
        log(`  produced ${i} of ${w.events} events`);
      }
    }
    for (const writer of writers) await writer.flush();
  } finally {
    await producer.disconnect();
  }
  return { seconds: (Date.now() - t0) / 1000, rawBytes: new Map(writers.flatMap((x) => [...x.rawBytes])) };
}
