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
import type { Kafka } from '../kafka/client';
import { connectProducer, ensureTopic, type TopicProducer } from '../kafka/producer';
import type { DeadLetter, DeadLetterSink } from '../engine/ports';
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
  private producer: TopicProducer | undefined;

  constructor(private readonly opts: KafkaTopicSinkOptions) {
    if (opts.topic.trim() === '') throw new TypeError('dead-letter topic name is empty; set errors.deadLetter.topic');
  }

  async init(): Promise<void> {
    if (this.opts.createTopic ?? true) await ensureTopic(this.opts.kafka, this.opts.topic);
    this.producer ??= await connectProducer(this.opts.kafka);
  }

  /** A topic cannot join the sink's transaction: acknowledged before the caller commits. */
  async send(items: readonly DeadLetter[]): Promise<void> {
    if (!this.producer) throw new Error('KafkaTopicDeadLetterSink.send called before init()');
    if (items.length === 0) return;
    await this.producer.send(this.opts.topic, items.map((d) => ({ key: d.key, value: d.value, headers: this.headers(d) })));
  }

  async close(): Promise<void> {
    const p = this.producer;
    this.producer = undefined;
    if (p) await p.close();
  }

  headers(d: DeadLetter): Record<string, string> {
    const h: Record<string, string> = {
      [DEAD_LETTER_HEADERS.topic]: d.topic,
      [DEAD_LETTER_HEADERS.partition]: String(d.partition),
      [DEAD_LETTER_HEADERS.offset]: d.offset,
      [DEAD_LETTER_HEADERS.errorClass]: d.errorClass,
      [DEAD_LETTER_HEADERS.reason]: safeText(d.reason),
    };
    if (this.opts.pipeline) h[DEAD_LETTER_HEADERS.connector] = this.opts.pipeline;
    return h;
  }
}
