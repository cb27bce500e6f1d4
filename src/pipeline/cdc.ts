/**
 * The CDC pipeline: routes records through source → decode → buffer → apply → commit.
 * It does no I/O itself; the stages do. A small state machine (created → running → stopping →
 * stopped | failed) whose `done` promise settles when the pipeline ends.
 *
 * Exactly-once effect: every flush stores the consumed offsets in the same PostgreSQL
 * transaction as the rows, fenced by compare-and-set on the previously stored offset; on
 * assignment a partition resumes from the offset stored in PostgreSQL, not Kafka's.
 */
import type { Kafka } from 'kafkajs';
import type { PipelineConfig } from '../config/types';
import type { CoreEmitter } from '../core/events';
import { DataError, FatalError, FencedError } from '../core/errors';
import { Mutex } from '../core/lock';
import { retry } from '../core/retry';
import type { ChangeEvent, Flush, OffsetMark, RawRecord, TableRef } from '../core/types';
import { Decoder } from '../decode';
import { BufferSet } from '../buffer';
import type { PgApplier, RejectedRow } from '../apply';
import { classifyError } from '../core/classify';
import { rejectedLetter, type DeadLetter, type DeadLetterSink } from '../deadletter';
import { withTimeout } from '../core/timeout';
import { Positions } from '../commit/positions';
import { KafkaSource, type SourceBatch } from '../source/kafka-source';
import { Router } from './route';
import { requirePrimaryKey } from '../config';
import type { Logger } from 'pino';

/** Key of a table whose first event is a truncate: nothing to match yet, apply only truncates. */
const TRUNCATE_ONLY: readonly string[] = ['(truncate)'];

export type PipelineState = 'created' | 'running' | 'stopping' | 'stopped' | 'failed';

export interface CdcDeps {
  readonly kafka: Kafka;
  readonly applier: PgApplier;
  readonly emitter: CoreEmitter;
  readonly log: Logger;
  readonly dest: TableRef;
  /** Where events that can never apply go when errors.tolerance is 'all'. */
  readonly deadLetter?: DeadLetterSink;
}

export class CdcPipeline {
  state: PipelineState = 'created';
  readonly done: Promise<void>;
  private settle!: { resolve: () => void; reject: (e: Error) => void };
  private readonly lock = new Mutex();
  private readonly positions = new Positions();
  private readonly buffers: BufferSet;
  private readonly decoder: Decoder;
  private readonly router: Router;
  private readonly source: KafkaSource;
  private readonly groupId: string;
  private timer: NodeJS.Timeout | undefined;
  /** When the first record since the last flush was taken (tombstones count: their offsets must be stored too). */
  private firstTakenMs: number | undefined;
  private readonly highWatermarks = new Map<string, bigint>();
  /** By the Router's TableRef, which is one object per destination. */
  private readonly keysByTarget = new Map<TableRef, readonly string[]>();
  /**
   * The flush being applied, if any. Applying overlaps with fetching and decoding the next one;
   * at most one is in flight, so a second one due waits for it (that wait is the backpressure).
   */
  private inFlight: Promise<void> | undefined;
  private applying = false;
  /**
   * The flush in flight was fenced and `refence` has not run yet: nothing more is flushed (its
   * offsets would be built on the fenced ones) until what is held is dropped and re-read.
   */
  private fenced = false;
  private kafkaCommits: Promise<void> = Promise.resolve();
  /** Undecodable records taken since the last flush; they commit with it. */
  private pendingDead: DeadLetter[] = [];

  constructor(private readonly cfg: PipelineConfig, private readonly deps: CdcDeps) {
    const cdc = cfg.cdc;
    if (!cdc) throw new FatalError('a cdc pipeline needs spec.source.cdc');
    this.groupId = cdc.groupId;
    this.buffers = new BufferSet(cfg.buffer);
    this.decoder = new Decoder({
      topicPrefix: cdc.topicPrefix,
      mongoMode: cfg.sink.options.mongoMode,
      ...(cdc.binaryHandlingMode === 'hex' ? { binaryStringMode: 'hex' as const } : {}),
    });
    this.router = new Router(deps.dest);
    this.source = new KafkaSource(deps.kafka, {
      groupId: cdc.groupId,
      filter: { prefix: cdc.topicPrefix, include: cdc.include, exclude: cdc.exclude },
      fromBeginning: cdc.fromBeginning,
      topicRefreshMs: cdc.topicRefreshMs,
      log: (level, msg, fields) => deps.log[level](fields ?? {}, msg),
    });
    this.done = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));
    this.done.catch(() => undefined); // observed through `done` by the caller
  }

  async start(): Promise<void> {
    this.state = 'running';
    const { emitter } = this.deps;
    await this.source.start({
      batch: (b) => this.onBatch(b),
      assigned: (tps) => void this.onAssigned(tps),
      revoking: () => this.flushNow('rebalance', true),
      idle: (idle) => emitter.emit('state', { idle, kafkaConnected: true }),
      crashed: (err) => this.fail(err),
    });
    const tick = Math.max(50, Math.min(1000, Math.floor(this.cfg.buffer.maxAgeMs / 4)));
    this.timer = setInterval(() => this.onTick(), tick);
  }

  /** Graceful stop: stop fetching, flush what is held, commit, disconnect. */
  async stop(): Promise<void> {
    if (this.state !== 'running') return this.done.catch(() => undefined);
    this.state = 'stopping';
    if (this.timer) clearInterval(this.timer);
    try {
      await this.source.stop();
      await this.lock.run(() => this.flush('shutdown'));
      await this.inFlight;
      this.state = 'stopped';
      this.settle.resolve();
    } catch (err) {
      this.fail(err as Error);
    }
  }

  private fail(err: Error): void {
    if (this.state === 'failed' || this.state === 'stopped') return;
    this.state = 'failed';
    if (this.timer) clearInterval(this.timer);
    this.deps.emitter.emit('error', { errorClass: err.name, error: err });
    void this.source.stop().catch(() => undefined);
    this.settle.reject(err);
  }

  /**
   * A (re)join. What is still held is flushed first (its offsets fenced, so a partition another
   * member already applied is not applied twice); partitions no longer ours are forgotten, and
   * the ones we keep continue from where they are.
   */
  private async onAssigned(tps: { topic: string; partition: number }[]): Promise<void> {
    // No partition for this member (more replicas than partitions) is intentionally idle: ready.
    this.deps.emitter.emit('state', { assigned: tps.length, kafkaConnected: true, idle: tps.length === 0 });
    this.deps.log.info({ partitions: tps.length }, 'partitions assigned');
    const mine = new Set(tps.map((t) => `${t.partition}:${t.topic}`));
    await this.flushNow('assignment', true);
    await this.lock.run(async () => {
      for (const t of this.positions.tracked()) if (!mine.has(`${t.partition}:${t.topic}`)) this.positions.forget(t.topic, t.partition);
    });
  }

  private onTick(): void {
    const now = Date.now();
    this.deps.emitter.emit('state', { loopTickMs: now });
    if (this.state !== 'running') return;
    const aged = this.firstTakenMs !== undefined && now - this.firstTakenMs >= this.cfg.buffer.maxAgeMs;
    if ((aged || this.buffers.due(now)) && !this.applying) void this.flushNow('age');
  }

  /** Flushes under the lock; with `complete`, also waits until PostgreSQL committed it. */
  private flushNow(reason: string, complete = false): Promise<void> {
    if (this.state !== 'running' && this.state !== 'stopping') return Promise.resolve();
    return this.lock
      .run(async () => {
        await this.flush(reason);
        if (complete) await this.inFlight;
      })
      .catch((err) => this.fail(err as Error));
  }

  private async onBatch(b: SourceBatch): Promise<void> {
    if (this.state !== 'running') return;
    try {
      await this.lock.run(() => this.take(b));
    } catch (err) {
      this.fail(err as Error);
    }
  }

  /** Takes one fetched batch into the buffers; flushes whenever a limit is reached. */
  private async take(b: SourceBatch): Promise<void> {
    if (b.isStale() || b.records.length === 0 || this.state !== 'running') return;
    const { topic, partition } = b;
    if (!this.positions.get(topic, partition) && !(await this.resume(b))) return;
    const pos = this.positions.get(topic, partition)!;
    this.highWatermarks.set(`${partition}:${topic}`, BigInt(b.highWatermark));
    const counts = new Map<string, number>();
    // Hot path: one clock read per batch (and after each flush), the position moved in one step
    // before a flush and at the end rather than per record.
    let now = Date.now();
    let last: RawRecord | undefined;
    /** Last record skipped as already applied; kafkajs is told once, like the taken ones. */
    let skipped: string | undefined;
    // Offsets rise within a batch: when the first is new, all are (no BigInt per record).
    let checkOld = BigInt(b.records[0]!.offset) < pos.next;
    for (const rec of b.records) {
      if (checkOld) {
        if (BigInt(rec.offset) < pos.next) {
          skipped = rec.offset; // already applied or already buffered (a re-fetch after a rejoin)
          continue;
        }
        checkOld = false;
      }
      const ev = this.decode(rec);
      if (ev) this.add(ev, now);
      const op = ev ? ev.op : 'tombstone';
      counts.set(op, (counts.get(op) ?? 0) + 1);
      last = rec;
      this.firstTakenMs ??= now;
      if (this.buffers.due(now)) {
        this.positions.advance(topic, partition, BigInt(last.offset));
        b.resolve(last.offset);
        await this.flush('limit');
        now = Date.now();
        // A failed heartbeat (broker restarting, rebalance starting) is kafkajs's to handle: it
        // rejoins or reconnects by itself. It must not stop the pipeline.
        await b.heartbeat().catch((err: Error) => this.deps.log.debug({ err: String(err) }, 'heartbeat failed'));
        // A fenced flush (another member applied our partitions) clears every position: the rest
        // of this batch must not be taken; the next fetch resumes from PostgreSQL's offsets.
        if (b.isStale() || this.state !== 'running' || this.fenced || !this.positions.get(topic, partition)) break;
      }
    }
    // kafkajs is told once per batch (its offset parsing per record cost more than the rest of the loop):
    // the next fetch starts after the last record taken or skipped.
    const upTo = last?.offset ?? skipped;
    if (upTo !== undefined) b.resolve(upTo);
    if (last !== undefined && this.positions.get(topic, partition)) this.positions.advance(topic, partition, BigInt(last.offset));
    for (const [op, count] of counts) this.deps.emitter.emit('consumed', { topic, partition, op: op as ChangeEvent['op'], count });
    this.deps.emitter.emit('buffered', { bytes: this.buffers.bytes, events: this.buffers.events });
  }

  /**
   * First batch of a partition since assignment: continue from the offset stored in PostgreSQL.
   * Returns false when the consumer had to seek (this batch is then dropped and re-fetched).
   */
  private async resume(b: SourceBatch): Promise<boolean> {
    const stored = await this.withRetry(() => this.deps.applier.storedOffsets(this.groupId, [b.topic]), 'stored offsets');
    const mine = stored.find((m) => m.partition === b.partition);
    const first = BigInt(b.records[0].offset);
    if (!mine) {
      this.positions.start(b.topic, b.partition, first, null);
      return true;
    }
    const next = BigInt(mine.next);
    this.positions.start(b.topic, b.partition, next, next);
    if (first > next) {
      // Kafka's committed offset is ahead of PostgreSQL's (e.g. reset by hand): re-read from ours.
      this.deps.log.info({ topic: b.topic, partition: b.partition, offset: mine.next }, 'seeking to the offset stored in PostgreSQL');
      this.source.seek(b.topic, b.partition, mine.next);
      return false;
    }
    return true;
  }

  private decode(rec: RawRecord): ChangeEvent | null {
    try {
      return this.decoder.decode(rec);
    } catch (err) {
      if (!(err instanceof DataError)) throw err;
      if (this.cfg.errors.tolerance === 'none') {
        throw new FatalError(
          `${err.message}. The pipeline stopped before this record; nothing after it was applied. ` +
            'To skip such records into a dead-letter topic or table instead, set errors.tolerance: all ' +
            'and errors.deadletter.topic or errors.deadletter.table.',
          { cause: err },
        );
      }
      this.pendingDead.push({ topic: rec.topic, partition: rec.partition, offset: rec.offset, key: rec.key, value: rec.value, reason: err.message, errorClass: 'data' });
      return null;
    }
  }

  private add(ev: ChangeEvent, now: number): void {
    const target = this.router.route(ev.table);
    const { strategy } = this.cfg.sink.options;
    if (strategy === 'replace') throw new FatalError('replace is not a cdc strategy'); // refused by config already
    this.buffers.add(target, strategy, this.keysOf(ev, target), ev, now);
  }

  /**
   * Key columns for an event. A truncate carries no key (and needs none): it takes the key the
   * table's other events use, so it lands in the same buffer and keeps its place in the order.
   */
  private keysOf(ev: ChangeEvent, target: TableRef): readonly string[] {
    if (ev.op === 't') return this.keysByTarget.get(target) ?? this.cfg.sink.options.primaryKey ?? TRUNCATE_ONLY;
    const keys = requirePrimaryKey(this.cfg, ev.keyColumns, ev.table);
    if (this.keysByTarget.get(target) !== keys) this.keysByTarget.set(target, keys);
    return keys;
  }

  /**
   * Hands everything held, with its offsets, to apply. Waits for the previous flush first, then
   * starts this one and returns without waiting for it: the consumer goes on decoding while
   * PostgreSQL applies. The offsets count as stored from here on, so the next flush continues
   * from them; if this one fails the pipeline stops, and if it is fenced everything is re-read.
   */
  private async flush(reason: string): Promise<void> {
    await this.inFlight;
    if (this.fenced) return;
    const offsets = this.positions.pending();
    if (this.buffers.events === 0 && offsets.length === 0 && this.pendingDead.length === 0) {
      this.firstTakenMs = undefined;
      return;
    }
    const flush: Flush = { groupId: this.groupId, tables: this.buffers.drainAll(), offsets };
    const dead = this.pendingDead;
    this.pendingDead = [];
    this.firstTakenMs = undefined;
    this.positions.markStored(offsets);
    this.deps.emitter.emit('buffered', { bytes: this.buffers.bytes, events: this.buffers.events });
    this.applying = true;
    this.inFlight = this.applyFlush(flush, dead, reason).finally(() => (this.applying = false));
    // A failure is reported by whoever awaits inFlight next; keep it from being "unhandled" meanwhile.
    this.inFlight.catch(() => undefined);
  }

  private async applyFlush(flush: Flush, decodeDead: readonly DeadLetter[], reason: string): Promise<void> {
    const started = Date.now();
    let dead: DeadLetter[] = [];
    const attempt = (isolate: boolean) => {
      dead = [...decodeDead];
      return this.deps.applier.apply(flush, {
        ...(isolate ? { onReject: (r: RejectedRow) => dead.push(rejectedLetter(r)) } : {}),
        beforeCommit: (client) => this.sendDead(dead, client),
      });
    };
    try {
      await this.withRetry(() => attempt(false));
    } catch (err) {
      if (err instanceof FencedError) {
        this.fenced = true;
        // Under the lock, so it never cuts into a batch being taken.
        void this.lock.run(() => this.refence(err)).catch((e: Error) => this.fail(e));
        return;
      }
      if (this.cfg.errors.tolerance !== 'all' || classifyError(err) !== 'data') {
        this.fail(err as Error);
        throw err;
      }
      // Some row is unacceptable to PostgreSQL: apply the rest, dead-letter that row.
      this.deps.log.warn({ err: String(err) }, 'a row was rejected; isolating it');
      await this.withRetry(() => attempt(true)).catch((e: Error) => {
        this.fail(e);
        throw e;
      });
    }
    this.deps.log.debug({ reason, tables: flush.tables.length, ms: Date.now() - started }, 'flushed');
    this.commitToKafka(flush.offsets);
  }

  private withRetry<T>(fn: () => Promise<T>, operation = 'apply'): Promise<T> {
    return retry(operation, fn, { ...this.cfg.errors.retry, onRetry: (info) => this.deps.emitter.emit('retry', info) });
  }

  /** Dead letters commit with the flush: a table sink inside its transaction, a topic sink acknowledged before COMMIT. */
  private async sendDead(dead: readonly DeadLetter[], client: import('pg').PoolClient): Promise<void> {
    if (dead.length === 0) return;
    for (const d of dead) this.deps.emitter.emit('deadLettered', { topic: d.topic, partition: d.partition, offset: d.offset, reason: d.reason });
    if (this.deps.deadLetter) return this.deps.deadLetter.send(dead, client);
    // errors.tolerance 'all' without a destination: skipped, but never silently.
    for (const d of dead) this.deps.log.warn({ topic: d.topic, partition: d.partition, offset: d.offset, reason: d.reason }, 'skipped a record that cannot apply (no dead-letter destination configured)');
  }

  /**
   * Another member applied our partitions: drop what we hold and re-read every partition we held
   * from the offset PostgreSQL now stores. The seek is made here, not left to the next batch of
   * each partition: what was dropped may be a partition's last records, and no later batch would
   * come to resume it.
   */
  private async refence(err: FencedError): Promise<void> {
    this.deps.log.warn({ partitions: err.partitions }, err.message);
    const held = this.positions.tracked();
    this.buffers.drainAll();
    this.positions.clear();
    this.pendingDead = [];
    this.firstTakenMs = undefined;
    this.fenced = false;
    if (held.length === 0 || this.state !== 'running') return;
    const topics = [...new Set(held.map((t) => t.topic))];
    const stored = await this.withRetry(() => this.deps.applier.storedOffsets(this.groupId, topics), 'stored offsets');
    for (const t of held) {
      const mark = stored.find((m) => m.topic === t.topic && m.partition === t.partition);
      // Nothing stored yet for this partition: back to where this member started taking it.
      const offset = mark ? mark.next : t.origin.toString();
      try {
        this.source.seek(t.topic, t.partition, offset);
      } catch (e) {
        // No longer ours (a rebalance under way): its next owner resumes from PostgreSQL anyway.
        this.deps.log.debug({ topic: t.topic, partition: t.partition, err: String(e) }, 'seek after a fence skipped');
      }
    }
    this.deps.log.info({ partitions: held.length }, 're-reading from the offsets stored in PostgreSQL');
  }

  /**
   * Tells Kafka the offsets PostgreSQL now holds, for lag tools. Queued, never awaited by a flush:
   * a commit made while the group rebalances waits for the rebalance, and the rebalance waits for
   * the batch handler, which may be waiting for a flush — awaiting it here could deadlock.
   */
  private commitToKafka(offsets: readonly OffsetMark[]): void {
    this.kafkaCommits = this.kafkaCommits.then(async () => {
      try {
        await withTimeout(this.source.commit(offsets), KAFKA_COMMIT_TIMEOUT_MS);
      } catch (err) {
        // PostgreSQL already holds these offsets; Kafka's copy is for lag tools only.
        this.deps.log.warn({ err: String(err) }, 'committing offsets to Kafka failed; PostgreSQL has them');
      }
      for (const m of offsets) {
        const high = this.highWatermarks.get(`${m.partition}:${m.topic}`);
        if (high !== undefined) this.deps.emitter.emit('lag', { topic: m.topic, partition: m.partition, lag: Number(high - BigInt(m.next)) });
      }
    });
  }
}

const KAFKA_COMMIT_TIMEOUT_MS = 30_000;
