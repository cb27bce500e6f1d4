/**
 * What the dead-letter topic sink (src/deadletter/topic-sink.ts) needs of Kafka: a topic made when
 * missing, and an idempotent producer acknowledged by every in-sync replica. kafkajs stays here.
 */
import type { IHeaders, Kafka, Producer } from 'kafkajs';

export interface ProducedMessage {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
}

export interface TopicProducer {
  /** Resolves once the brokers acknowledged every message (acks=all). */
  send(topic: string, messages: readonly ProducedMessage[]): Promise<void>;
  close(): Promise<void>;
}

/** Creates the topic (broker defaults) unless it exists; a sibling creating it first is fine. */
export async function ensureTopic(kafka: Kafka, topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = await admin.listTopics();
    // Returns false (no error) when a sibling replica created it first.
    if (!existing.includes(topic)) await admin.createTopics({ topics: [{ topic }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

/**
 * An idempotent producer. kafkajs keeps its default unlimited retries for an idempotent producer:
 * bounding them would void the no-duplicate guarantee. A broker gone for good shows up as a stuck
 * loop (/healthz).
 */
export async function connectProducer(kafka: Kafka): Promise<TopicProducer> {
  const producer: Producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  return {
    send: async (topic, messages) => {
      await producer.send({ topic, acks: -1, messages: messages.map((m) => ({ key: m.key, value: m.value, headers: m.headers as IHeaders })) });
    },
    close: () => producer.disconnect(),
  };
}
