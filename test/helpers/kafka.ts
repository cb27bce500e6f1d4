/**
 * kafkajs client for integration tests against the local stack's broker. Every reader uses a
 * random consumer group, so tests never share offsets.
 */
import { Kafka, logLevel, type IHeaders } from 'kafkajs';
import { kafkaBrokers } from './stack';
import { uniqueName } from './pg';

export function testKafka(clientId = 'nilus-test'): Kafka {
  return new Kafka({ clientId, brokers: kafkaBrokers(), logLevel: logLevel.NOTHING });
}

export async function createTopics(names: string[], partitions = 1): Promise<void> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: names.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })),
    });
  } finally {
    await admin.disconnect();
  }
}

export interface TestMessage {
  key?: string | Buffer | null;
  value: string | Buffer | null;
  partition?: number;
  headers?: IHeaders;
}

/** Bytes per produce request; the broker rejects requests over message.max.bytes (1 MiB default). */
const MAX_REQUEST_BYTES = 512 * 1024;

const size = (v: string | Buffer | null | undefined): number =>
  v == null ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.length;

/** Produce in order, split into requests that stay under the broker's size limit. */
export async function produce(topic: string, messages: TestMessage[]): Promise<void> {
  const producer = testKafka().producer({ allowAutoTopicCreation: true });
  await producer.connect();
  try {
    let chunk: TestMessage[] = [];
    let bytes = 0;
    for (const m of messages) {
      const n = size(m.key) + size(m.value) + 64;
      if (chunk.length > 0 && bytes + n > MAX_REQUEST_BYTES) {
        await producer.send({ topic, messages: chunk });
        chunk = [];
        bytes = 0;
      }
      chunk.push(m);
      bytes += n;
    }
    if (chunk.length > 0) await producer.send({ topic, messages: chunk });
  } finally {
    await producer.disconnect();
  }
}

export interface ReadMessage {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
}

export interface ReadOptions {
  /** How many messages to wait for; reading stops as soon as this many arrived. */
  expect: number;
  /** Give up after this long (default 60 s) and fail with what arrived so far. */
  timeoutMs?: number;
}

/**
 * Wait until the broker knows the topic. Debezium creates its topics lazily with the first event,
 * and a kafkajs subscribe to a topic that does not exist yet fails instead of waiting.
 */
export async function waitForTopic(topic: string, timeoutMs = 60_000): Promise<void> {
  const admin = testKafka().admin();
  await admin.connect();
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const topics = await admin.listTopics();
      if (topics.includes(topic)) return;
      if (Date.now() > deadline) throw new Error(`topic ${topic} did not appear within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await admin.disconnect();
  }
}

/** Read a topic from the beginning until `expect` messages arrived, ordered per partition. */
export async function readAll(topic: string, options: ReadOptions): Promise<ReadMessage[]> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  await waitForTopic(topic, timeoutMs);
  const consumer = testKafka().consumer({ groupId: uniqueName('nilus_test_group') });
  const received: ReadMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(`readAll(${topic}): ${received.length} of ${options.expect} messages after ${timeoutMs} ms`),
        );
      }, timeoutMs);
      consumer
        .run({
          eachMessage: async ({ topic: t, partition, message }) => {
            received.push({
              topic: t,
              partition,
              offset: message.offset,
              key: message.key,
              value: message.value,
              headers: message.headers ?? {},
            });
            if (received.length >= options.expect) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch((err: unknown) => {
          clearTimeout(timer);
          reject(err instanceof Error ? err : new Error(String(err)));
        });
    });
  } finally {
    await consumer.disconnect();
  }
  return received.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
}
