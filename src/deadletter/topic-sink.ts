/**
 * Dead letters to a Kafka topic, in Kafka Connect's format: the original key and value bytes
 * unchanged, the origin and the reason in `__connect.errors.*` headers, so tools built for
 * Connect's DLQs (and a replay that simply re-produces key/value) work as they are.
 *
 * A topic cannot join the PostgreSQL transaction: `send` returns only once the broker has
 * acknowledged (acks=all), and the caller commits offsets after that. A crash in between may
 * dead-letter an event twice, never lose one. The producer is idempotent so its own retries do
 * not duplicate.
 */
import type { Admin, IHeaders, Kafka, Producer } from 'kafkajs';
import type { PoolClient } from 'pg';
import type { DeadLetter, DeadLetterSink } from './dead-letter';
import { safeText } from '../kernel/text';

export const DEAD_LETTER_HEADERS = {
  topic: '__connect.errors.topic',
  partition: '__connect.errors.partition',
  offset: '__connect.errors.offset',
  errorClass: '__connect.errors.exception.class.name',
  reason: '__connect.errors.exception.message',
  connector: '__connect.errors.connector.name',
} as const;

export interface KafkaTopicSinkOptions {
  readonly kafka: Kafka;
  readonly topic: string;
  /** Pipeline name, sent as the connector-name header. */
  readonly pipeline?: string;
  /** Create the topic when missing (broker default partitions/replication). Default true. */
  readonly createTopic?: boolean;
}

export class KafkaTopicDeadLetterSink implements DeadLetterSink {
  private producer: Producer | undefined;

  constructor(private readonly opts: KafkaTopicSinkOptions) {
    if (opts.topic.trim() === '') throw new TypeError('dead-letter topic name is empty; set errors.deadLetter.topic');
  }

  async init(): Promise<void> {
    if (this.opts.createTopic ?? true) await this.ensureTopic();
    // kafkajs keeps its default unlimited retries for an idempotent producer: bounding them would
    // void the no-duplicate guarantee. A broker gone for good shows up as a stuck loop (/healthz).
    const producer = this.opts.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await producer.connect();
    this.producer = producer;
  }

  async send(items: readonly DeadLetter[], _tx?: PoolClient): Promise<void> {
    if (!this.producer) throw new Error('KafkaTopicDeadLetterSink.send called before init()');
    if (items.length === 0) return;
    await this.producer.send({
      topic: this.opts.topic,
      acks: -1,
      messages: items.map((d) => ({ key: d.key, value: d.value, headers: this.headers(d) })),
    });
  }

  async close(): Promise<void> {
    const p = this.producer;
    this.producer = undefined;
    if (p) await p.disconnect();
  }

  headers(d: DeadLetter): IHeaders {
    const h: IHeaders = {
      [DEAD_LETTER_HEADERS.topic]: d.topic,
      [DEAD_LETTER_HEADERS.partition]: String(d.partition),
      [DEAD_LETTER_HEADERS.offset]: d.offset,
      [DEAD_LETTER_HEADERS.errorClass]: d.errorClass,
      [DEAD_LETTER_HEADERS.reason]: safeText(d.reason),
    };
    if (this.opts.pipeline) h[DEAD_LETTER_HEADERS.connector] = this.opts.pipeline;
    return h;
  }

  private async ensureTopic(): Promise<void> {
    const admin: Admin = this.opts.kafka.admin();
    await admin.connect();
    try {
      const existing = await admin.listTopics();
      if (!existing.includes(this.opts.topic)) {
        // Returns false (no error) when a sibling replica created it first.
        await admin.createTopics({ topics: [{ topic: this.opts.topic }], waitForLeaders: true });
      }
    } finally {
      await admin.disconnect();
    }
  }
}
