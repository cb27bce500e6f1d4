import { Kafka, logLevel, type KafkaMessage } from 'kafkajs';
import { createDeadLetterSink } from '../../../src/deadletter/factory';
import { DEAD_LETTER_HEADERS, KafkaTopicDeadLetterSink } from '../../../src/deadletter/topic-sink';
import type { DeadLetter } from '../../../src/engine/ports';
import { uniqueName } from '../../helpers/pg';

const brokers = (process.env.NILUS_TEST_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

function kafka(): Kafka {
  return new Kafka({ clientId: uniqueName('dlq-it'), brokers, logLevel: logLevel.NOTHING });
}

async function readAll(k: Kafka, topic: string, expected: number): Promise<KafkaMessage[]> {
  const consumer = k.consumer({ groupId: uniqueName('dlq-reader') });
  const got: KafkaMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${got.length}/${expected} dead letters arrived in 60 s`)), 60_000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          got.push(message);
          if (got.length >= expected) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return got;
}

const header = (m: KafkaMessage, name: string) => m.headers?.[name]?.toString();

describe('Kafka dead-letter topic (real Kafka)', () => {
  test('creates the topic and produces raw key/value with __connect.errors.* headers', async () => {
    const k = kafka();
    const topic = uniqueName('nilus_dlq');
    const sink = createDeadLetterSink({ kind: 'topic', topic }, { kafka: k, pipeline: 'orders-cdc' })!;
    expect(sink).toBeInstanceOf(KafkaTopicDeadLetterSink);
    await sink.init();
    const binary = Buffer.from([0x00, 0xff, 0x10]);
    const items: DeadLetter[] = [
      { topic: 'cdc.retail.orders', partition: 3, offset: '9007199254740993', key: Buffer.from('{"id":7}'), value: Buffer.from('{not json'), reason: 'invalid JSON at position 1', errorClass: 'data' },
      { topic: 'cdc.retail.orders', partition: 0, offset: '12', key: null, value: binary, reason: 'unsupported encoding', errorClass: 'data' },
    ];
    try {
      await sink.send(items);
      await sink.send([]);
    } finally {
      await sink.close();
    }

    const got = await readAll(k, topic, 2);
    const byOffset = new Map(got.map((m) => [header(m, DEAD_LETTER_HEADERS.offset), m]));
    const first = byOffset.get('9007199254740993')!;
    expect(first.key!.toString()).toBe('{"id":7}');
    expect(first.value!.toString()).toBe('{not json');
    expect(header(first, '__connect.errors.topic')).toBe('cdc.retail.orders');
    expect(header(first, '__connect.errors.partition')).toBe('3');
    expect(header(first, '__connect.errors.exception.message')).toBe('invalid JSON at position 1');
    expect(header(first, '__connect.errors.exception.class.name')).toBe('data');
    expect(header(first, '__connect.errors.connector.name')).toBe('orders-cdc');
    const second = byOffset.get('12')!;
    expect(second.key).toBeNull();
    expect(Buffer.compare(second.value!, binary)).toBe(0);
    expect(header(second, '__connect.errors.partition')).toBe('0');
  });

  test('an existing topic is reused; send before init is refused', async () => {
    const k = kafka();
    const topic = uniqueName('nilus_dlq');
    const admin = k.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    await admin.disconnect();

    const sink = new KafkaTopicDeadLetterSink({ kafka: k, topic });
    await expect(sink.send([])).rejects.toThrow(/before init/);
    await sink.init();
    try {
      await sink.send([{ topic: 'a', partition: 0, offset: '1', key: Buffer.from('k'), value: Buffer.from('v'), reason: 'r', errorClass: 'data' }]);
    } finally {
      await sink.close();
    }
    const got = await readAll(k, topic, 1);
    expect(got.map((m) => m.value!.toString())).toEqual(['v']);
  });
});
