/**
 * The ChangeSource over kafkajs: a consumer on every topic matching the pipeline's prefix and include
 * list. Offsets are NOT auto-committed: PostgreSQL holds the truth (stored in the flush's own
 * transaction); Kafka gets the same offsets afterwards so lag tools see them.
 *
 * Liveness: the core's batch handler never waits for PostgreSQL, and kafkajs heartbeats from its
 * fetch loop, also while every partition is paused (it then sleeps maxWaitTime and heartbeats).
 * So a flush stalled on a lock or an outage does not cost the group membership, and the session
 * timeout can be short enough for a dead member's partitions to move within seconds.
 *
 * New matching topics are looked for every `topicRefreshMs`; when the set grows the consumer
 * re-subscribes (a rebalance, which the core handles like any other).
 *
 * Offsets Kafka no longer holds. The engine checks a partition's stored offset against `bounds`
 * (log start, high watermark) before it seeks there (src/engine/committer.ts). Not enough alone:
 * on OFFSET_OUT_OF_RANGE kafkajs 2.2.4 (consumerGroup.js `recoverFromOffsetOutOfRange` →
 * offsetManager `setDefaultOffset`) logs "Offset out of range, resetting to default offset",
 * COMMITS the default (earliest with `fromBeginning`, else latest) and fetches on from there; no
 * error reaches `eachBatch` or CRASH, and `seek` does not prevent it. So a gap that opens after the
 * check (a partition paused while retention passes it) would be skipped silently. Where each fetch
 * started (`Batch.fetchedOffset`) is handed over as `SourceBatch.fetchedOffset`; the engine checks
 * the bounds again when it differs from the offset expected. (kafkajs also skips batches of only
 * control or aborted records, and returns to the committed offset after a rejoin that missed a
 * seek: the expected offset is then within the bounds, not a gap.)
 */
import type { Admin, Consumer, Kafka } from 'kafkajs';
import type { OffsetMark } from '../kernel/types';
import type { PartitionBounds } from '../kernel/offset-gap';
import { classifyError } from '../kernel/classify';
import { ConfigError } from '../kernel/errors';
import { matchingTopics, type TopicFilter } from './topics';
import { registerCompressionCodecs } from './codecs';
import { byTopic, toSourceBatch } from './batch';
import { watchBrokerSilence } from './silence';
import type { ChangeSource, SourceHandler, TopicPartition } from '../engine/ports';

export interface KafkaSourceOptions {
  readonly groupId: string;
  readonly filter: TopicFilter;
  readonly fromBeginning: boolean;
  readonly topicRefreshMs: number;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  /** Largest fetch response (compressed bytes) and per partition; derived from the memory budget. */
  readonly fetchMaxBytes: number;
  readonly fetchMaxBytesPerPartition: number;
  readonly log: (level: 'info' | 'warn' | 'debug', msg: string, fields?: object) => void;
}

/** Where the manifest sets the session timeout, for error messages. */
const SESSION_TIMEOUT_KEY = 'spec.source.cdc.session.timeout.ms';
/** A crash kafkajs does not restart from but a new consumer may (see classify.ts): tried again after this. */
const RESTART_AFTER_MS = 2_000;

export class KafkaSource implements ChangeSource {
  private consumer: Consumer | undefined;
  private admin: Admin | undefined;
  private topics: string[] = [];
  private refreshTimer: NodeJS.Timeout | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private refreshing: Promise<void> = Promise.resolve();
  private handler: SourceHandler | undefined;

  /**
   * `adminKafka` serves start-up and topic refreshes: a client without kafkajs's own retries, so
   * an unreachable broker at start-up fails fast into the core's retries (metric, log line, /readyz).
   */
  constructor(
    private readonly kafka: Kafka,
    private readonly opts: KafkaSourceOptions,
    private readonly adminKafka: Kafka = kafka,
  ) {
    registerCompressionCodecs();
  }

  async start(handler: SourceHandler): Promise<void> {
    this.handler = handler;
    try {
      const admin = this.adminKafka.admin();
      this.admin = admin;
      await admin.connect();
      await this.checkSessionTimeout(admin);
      this.topics = matchingTopics(await admin.listTopics(), this.opts.filter);
      handler.connected(true);
      handler.topics(this.topics);
      handler.idle(this.topics.length === 0);
      if (this.topics.length === 0) {
        this.opts.log('warn', 'no topic matches the prefix and include list yet; waiting for one', {
          prefix: this.opts.filter.prefix,
          refreshMs: this.opts.topicRefreshMs,
        });
      } else {
        await this.runConsumer();
      }
    } catch (err) {
      // Nothing of a failed start stays connected; the core retries it or ends.
      const consumer = this.consumer;
      this.consumer = undefined;
      await consumer?.disconnect().catch(() => undefined);
      await this.admin?.disconnect().catch(() => undefined);
      this.admin = undefined;
      throw err;
    }
    this.refreshTimer = setInterval(() => {
      this.refreshing = this.refresh().catch((err) => this.opts.log('warn', 'topic refresh failed; will try again', { err: String(err) }));
    }, this.opts.topicRefreshMs);
    this.refreshTimer.unref();
  }

  seek(tp: TopicPartition, offset: string): void {
    try {
      this.consumer?.seek({ topic: tp.topic, partition: tp.partition, offset });
    } catch (err) {
      // Not running (re-subscribing) or not ours any more: its next owner resumes from PostgreSQL.
      this.opts.log('debug', 'seek skipped', { topic: tp.topic, partition: tp.partition, err: String(err) });
    }
  }

  pause(tps: readonly TopicPartition[]): void {
    this.flow('pause', tps);
  }

  resume(tps: readonly TopicPartition[]): void {
    this.flow('resume', tps);
  }

  private flow(what: 'pause' | 'resume', tps: readonly TopicPartition[]): void {
    if (tps.length === 0 || !this.consumer) return;
    try {
      this.consumer[what](byTopic(tps));
    } catch (err) {
      // A consumer between subscribe and run (re-subscribing): its GROUP_JOIN re-applies the state.
      this.opts.log('debug', `${what} skipped`, { err: String(err) });
    }
  }

  async commit(marks: readonly OffsetMark[]): Promise<void> {
    if (!this.consumer || marks.length === 0) return;
    await this.consumer.commitOffsets(marks.map((m) => ({ topic: m.topic, partition: m.partition, offset: m.next })));
  }

  async bounds(tps: readonly TopicPartition[]): Promise<readonly PartitionBounds[]> {
    const admin = this.admin;
    if (!admin) throw new Error('the Kafka source is not started');
    const out: PartitionBounds[] = [];
    for (const [topic, partitions] of byTopic(tps).map((t) => [t.topic, t.partitions] as const)) {
      const offsets = await admin.fetchTopicOffsets(topic);
      for (const partition of partitions) {
        const o = offsets.find((x) => x.partition === partition);
        if (!o) throw new Error(`Kafka reports no partition ${partition} of topic ${topic}`);
        out.push({ topic, partition, low: o.low, high: o.high });
      }
    }
    return out;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    if (this.restartTimer) clearTimeout(this.restartTimer);
    await this.refreshing;
    const consumer = this.consumer;
    this.consumer = undefined;
    const admin = this.admin;
    this.admin = undefined;
    try {
      if (consumer) await consumer.disconnect(); // leaves the group
    } finally {
      if (admin) await admin.disconnect(); // even when leaving failed: no connection outlives the source
    }
  }

  private async refresh(): Promise<void> {
    if (this.stopped || !this.admin) return;
    const now = matchingTopics(await this.admin.listTopics(), this.opts.filter);
    const added = now.filter((t) => !this.topics.includes(t));
    if (added.length === 0 || this.stopped) return;
    this.opts.log('info', 'new matching topics; re-subscribing', { added });
    this.topics = now;
    this.handler!.topics(now);
    if (this.consumer) {
      this.handler!.revoking();
      const old = this.consumer;
      this.consumer = undefined;
      await old.disconnect();
    }
    this.handler!.idle(false);
    await this.runConsumer();
  }

  private async runConsumer(): Promise<void> {
    const handler = this.handler!;
    const consumer = this.kafka.consumer({
      groupId: this.opts.groupId,
      sessionTimeout: this.opts.sessionTimeoutMs,
      heartbeatInterval: this.opts.heartbeatIntervalMs,
      // The core never holds a batch long, so a rejoin is quick; a minute covers a slow decode.
      rebalanceTimeout: Math.max(60_000, this.opts.sessionTimeoutMs),
      maxBytesPerPartition: this.opts.fetchMaxBytesPerPartition,
      maxBytes: this.opts.fetchMaxBytes,
      maxWaitTimeInMs: 200,
    });
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      const assignment = e.payload.memberAssignment as Record<string, number[]>;
      handler.connected(true);
      handler.assigned(Object.entries(assignment).flatMap(([topic, ps]) => ps.map((partition) => ({ topic, partition }))));
    });
    consumer.on(consumer.events.REBALANCING, () => handler.revoking());
    watchBrokerSilence(consumer, handler, this.opts.log);
    consumer.on(consumer.events.CRASH, (e) => {
      if (consumer !== this.consumer || this.stopped) return;
      handler.connected(false);
      if (e.payload.restart) return; // kafkajs reconnects and rejoins by itself
      const err = explainCrash(e.payload.error, this.opts.sessionTimeoutMs);
      if (classifyError(err) !== 'retriable') return handler.crashed(err);
      // kafkajs gave up on an error that clears by itself (a coordinator moving): start a new consumer.
      this.opts.log('warn', 'the Kafka consumer stopped on a transient error; starting a new one', { err: err.message, afterMs: RESTART_AFTER_MS });
      this.consumer = undefined;
      this.restartTimer = setTimeout(() => {
        if (this.stopped) return;
        void consumer.disconnect().catch(() => undefined).then(() => this.runConsumer()).catch((e2: Error) => handler.crashed(e2));
      }, RESTART_AFTER_MS);
    });
    await consumer.connect();
    await consumer.subscribe({ topics: this.topics, fromBeginning: this.opts.fromBeginning });
    if (this.stopped) {
      // stop() came while this consumer connected: it never saw it, so it is closed here.
      await consumer.disconnect();
      return;
    }
    this.consumer = consumer;
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (p) => handler.batch(toSourceBatch(p)),
    });
  }

  /**
   * The broker refuses a session timeout outside group.min/max.session.timeout.ms only when the
   * consumer joins, as a bare INVALID_SESSION_TIMEOUT; asked up front, the error names the limits.
   */
  private async checkSessionTimeout(admin: Admin): Promise<void> {
    let limits: { min: number; max: number } | undefined;
    try {
      const { brokers } = await admin.describeCluster();
      const res = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: 4 /* BROKER */, name: String(brokers[0]!.nodeId), configNames: ['group.min.session.timeout.ms', 'group.max.session.timeout.ms'] }],
      });
      const entries = res.resources[0]?.configEntries ?? [];
      const value = (name: string) => Number(entries.find((c) => c.configName === name)?.configValue);
      limits = { min: value('group.min.session.timeout.ms'), max: value('group.max.session.timeout.ms') };
    } catch (err) {
      this.opts.log('debug', 'could not read the broker limits of the session timeout', { err: String(err) });
      return; // not allowed to describe configs: the join will say
    }
    const t = this.opts.sessionTimeoutMs;
    if (Number.isFinite(limits.min) && Number.isFinite(limits.max) && (t < limits.min || t > limits.max)) {
      throw new ConfigError([{ path: SESSION_TIMEOUT_KEY, message: `${t} is outside the broker's limits (group.min.session.timeout.ms ${limits.min}, group.max.session.timeout.ms ${limits.max}); set it within them` }]);
    }
  }
}

function explainCrash(err: Error, sessionTimeoutMs: number): Error {
  if ((err as { type?: string }).type === 'INVALID_SESSION_TIMEOUT') {
    return new ConfigError([{ path: SESSION_TIMEOUT_KEY, message: `the broker refused ${sessionTimeoutMs} ms (outside its group.min/max.session.timeout.ms); set it within them` }]);
  }
  return err;
}
