/**
 * The source stage: a kafkajs consumer on every topic matching the pipeline's prefix and include
 * list. Offsets are NOT auto-committed: PostgreSQL holds the truth (stored in the flush's own
 * transaction); Kafka gets the same offsets afterwards so lag tools see them.
 * New matching topics are looked for every `topicRefreshMs`; when the set grows the consumer
 * re-subscribes (a rebalance, which the pipeline handles like any other).
 */
import type { Admin, Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { OffsetMark, RawRecord } from '../core/types';
import { matchingTopics, type TopicFilter } from './topics';
import { registerCompressionCodecs } from './codecs';

export interface SourceBatch {
  readonly topic: string;
  readonly partition: number;
  readonly records: readonly RawRecord[];
  readonly highWatermark: string;
  /** True once a seek or rebalance made this batch obsolete: stop processing it. */
  isStale(): boolean;
  /** Tells kafkajs a record was taken, so the next fetch starts after it. */
  resolve(offset: string): void;
  heartbeat(): Promise<void>;
}

export interface SourceHooks {
  batch(b: SourceBatch): Promise<void>;
  /** Called on every (re)join with the partitions now assigned. */
  assigned(partitions: { topic: string; partition: number }[]): void;
  /** A rebalance started or the consumer is about to re-subscribe: flush what is held. */
  revoking(): Promise<void>;
  idle(idle: boolean): void;
  /** kafkajs gave up (a crash it will not restart from). */
  crashed(err: Error): void;
}

export interface SourceOptions {
  readonly groupId: string;
  readonly filter: TopicFilter;
  readonly fromBeginning: boolean;
  readonly topicRefreshMs: number;
  readonly log: (level: 'info' | 'warn' | 'debug', msg: string, fields?: object) => void;
}

export class KafkaSource {
  private consumer: Consumer | undefined;
  private admin: Admin | undefined;
  private topics: string[] = [];
  private refreshTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private refreshing: Promise<void> = Promise.resolve();

  constructor(private readonly kafka: Kafka, private readonly opts: SourceOptions) {
    registerCompressionCodecs();
  }

  /** Connects, subscribes to the matching topics (or waits idle for some to appear), runs. */
  async start(hooks: SourceHooks): Promise<void> {
    this.admin = this.kafka.admin();
    await this.admin.connect();
    this.topics = matchingTopics(await this.admin.listTopics(), this.opts.filter);
    hooks.idle(this.topics.length === 0);
    if (this.topics.length === 0) {
      this.opts.log('warn', 'no topic matches the prefix and include list yet; waiting for one', {
        prefix: this.opts.filter.prefix,
        refreshMs: this.opts.topicRefreshMs,
      });
    } else {
      await this.runConsumer(hooks);
    }
    this.refreshTimer = setInterval(() => {
      this.refreshing = this.refresh(hooks).catch((err) =>
        this.opts.log('warn', 'topic refresh failed; will try again', { err: String(err) }),
      );
    }, this.opts.topicRefreshMs);
    this.refreshTimer.unref();
  }

  private async refresh(hooks: SourceHooks): Promise<void> {
    if (this.stopped || !this.admin) return;
    const now = matchingTopics(await this.admin.listTopics(), this.opts.filter);
    const added = now.filter((t) => !this.topics.includes(t));
    if (added.length === 0 || this.stopped) return;
    this.opts.log('info', 'new matching topics; re-subscribing', { added });
    this.topics = now;
    if (this.consumer) {
      await hooks.revoking();
      await this.consumer.disconnect();
      this.consumer = undefined;
    }
    hooks.idle(false);
    await this.runConsumer(hooks);
  }

  private async runConsumer(hooks: SourceHooks): Promise<void> {
    const consumer = this.kafka.consumer({
      groupId: this.opts.groupId,
      // Fetch big: the sink is batch-oriented and PostgreSQL likes large flushes.
      maxBytesPerPartition: 1024 * 1024,
      maxBytes: 4 * 1024 * 1024,
      maxWaitTimeInMs: 200,
    });
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      const assignment = e.payload.memberAssignment as Record<string, number[]>;
      hooks.assigned(Object.entries(assignment).flatMap(([topic, ps]) => ps.map((partition) => ({ topic, partition }))));
    });
    consumer.on(consumer.events.REBALANCING, () => {
      void hooks.revoking();
    });
    consumer.on(consumer.events.CRASH, (e) => {
      if (!e.payload.restart) hooks.crashed(e.payload.error);
    });
    await consumer.connect();
    await consumer.subscribe({ topics: this.topics, fromBeginning: this.opts.fromBeginning });
    this.consumer = consumer;
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (p) => hooks.batch(toSourceBatch(p)),
    });
  }

  /** Makes the next fetch of a partition start at `offset` (the offset stored in PostgreSQL). */
  seek(topic: string, partition: number, offset: string): void {
    this.consumer?.seek({ topic, partition, offset });
  }

  /** Commits applied offsets to Kafka, so lag tools see them. PostgreSQL stays the truth. */
  async commit(marks: readonly OffsetMark[]): Promise<void> {
    if (!this.consumer || marks.length === 0) return;
    await this.consumer.commitOffsets(marks.map((m) => ({ topic: m.topic, partition: m.partition, offset: m.next })));
  }

  /** Per-partition high watermarks, for lag. */
  async highWatermarks(): Promise<{ topic: string; partition: number; high: string }[]> {
    if (!this.admin) return [];
    const out: { topic: string; partition: number; high: string }[] = [];
    for (const topic of this.topics) {
      for (const p of await this.admin.fetchTopicOffsets(topic)) out.push({ topic, partition: p.partition, high: p.high });
    }
    return out;
  }

  /** Stops fetching (waits for the batch in hand to finish) and disconnects. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    await this.refreshing;
    if (this.consumer) await this.consumer.disconnect();
    this.consumer = undefined;
    if (this.admin) await this.admin.disconnect();
    this.admin = undefined;
  }
}

function toSourceBatch(p: EachBatchPayload): SourceBatch {
  const { batch } = p;
  const records: RawRecord[] = batch.messages.map((m) => ({
    topic: batch.topic,
    partition: batch.partition,
    offset: m.offset,
    key: m.key,
    value: m.value,
    timestampMs: Number(m.timestamp),
  }));
  return {
    topic: batch.topic,
    partition: batch.partition,
    records,
    highWatermark: batch.highWatermark,
    isStale: () => p.isStale() || !p.isRunning(),
    resolve: (o) => p.resolveOffset(o),
    heartbeat: () => p.heartbeat(),
  };
}
