/**
 * The CDC engine: source → intake (decode, route, buffer) → flusher (sink) → committer, driven as the
 * state machine of machine.ts. No I/O of its own: it is handed its ports (./ports.ts).
 * - A batch is taken or refused at once, never held up by PostgreSQL (the group session stays alive).
 * - One flush applies while the next fills. Memory is bounded by pausing every partition when the
 *   bytes held plus the bytes in flight reach `memoryBudgetBytes`, or when the next flush is full
 *   while one still applies; they resume once the flush in flight commits.
 * - A flush starts (none in flight) at a buffer limit (behind: flushes grow to the limits), at maxAgeMs,
 *   or once caught up: each partition taken to its last high watermark, no key change half-taken.
 * - Exactly-once effect: offsets are stored with the rows, compare-and-set against the offset the
 *   flush continues from; a fenced flush drops everything held and re-reads from PostgreSQL.
 */
import type { BufferSet } from '../buffer';
import { Committer, committerDeps } from './committer';
import { tpKey, type DeadLetter, type SourceBatch, type SourceHandler, type TopicPartition } from './ports';
import { FatalError, FencedError } from '../kernel/errors';
import { OffsetGapError, type OffsetGapPolicy } from '../kernel/offset-gap';
import { STOPPED, type Flusher } from './flusher';
import type { Intake } from './intake';
import { Lifecycle, type LifecycleDeps } from './lifecycle';
import { FLUSHING, TAKING } from './machine';
import type { ChangeEvent, Flush } from '../kernel/types';

export interface EngineDeps extends LifecycleDeps {
  readonly groupId: string;
  readonly flusher: Flusher;
  readonly intake: Intake;
  readonly buffers: BufferSet;
  readonly tolerance: 'none' | 'all';
  readonly memoryBudgetBytes: number;
  readonly maxAgeMs: number;
  readonly flushWhenCaughtUp?: boolean;
  /** on_offset_gap: a stored offset Kafka no longer holds stops the pipeline (default) or is skipped. */
  readonly onOffsetGap?: OffsetGapPolicy;
  /** Called with the topics read, at start and when new ones appear (e.g. name-collision checks). */
  readonly onTopics?: (topics: readonly string[]) => void;
  readonly now?: () => number;
}

export class CdcEngine extends Lifecycle {
  private readonly committer: Committer;
  private readonly now: () => number;
  protected readonly tickMs: number;
  private assigned: readonly TopicPartition[] = [];
  private inFlight: Promise<void> | undefined;
  private inFlightBytes = 0;
  /** Records that can never apply, taken since the last flush; they commit with it. */
  private pendingDead: DeadLetter[] = [];
  /** When the first record since the last flush was taken: tombstones count, their offsets must be stored too. */
  private firstTakenMs: number | undefined;

  constructor(private readonly deps: EngineDeps) {
    super(deps);
    this.now = deps.now ?? Date.now;
    this.tickMs = Math.max(50, Math.min(1000, Math.floor(deps.maxAgeMs / 4)));
    this.committer = new Committer(committerDeps(deps, (tps) => deps.flusher.storedOffsets(deps.groupId, tps)));
  }

  protected handler(): SourceHandler {
    return {
      batch: async (b) => this.onBatch(b),
      assigned: (tps) => void this.onAssigned(tps),
      revoking: () => this.maybeFlush('rebalance', true),
      idle: (idle) => this.deps.emitter.emit('state', { idle }),
      connected: (up) => this.deps.emitter.emit('state', { kafkaConnected: up }),
      topics: (topics) => {
        try {
          this.deps.onTopics?.(topics);
        } catch (err) {
          // e.g. two source tables that would land in one target: at start-up the start fails with it
          if (this.machine.is('starting')) throw err;
          this.fail(err as Error);
        }
      },
      crashed: (err) => this.fail(err),
    };
  }

  protected async drainForStop(): Promise<void> {
    this.deps.source.pause(this.assigned);
    await this.drain('shutdown');
    await this.committer.commitStored();
  }

  private onBatch(b: SourceBatch): void {
    if (!TAKING.has(this.machine.state) || b.records.length === 0 || b.isStale()) return;
    const { topic, partition } = b;
    if (this.committer.isLoading(topic, partition)) return; // not resolved: fetched again once loaded
    const positions = this.committer.positions;
    const p = positions.get(topic, partition);
    if (p && b.fetchedOffset !== undefined && BigInt(b.fetchedOffset) !== p.next) {
      void this.checkJump({ topic, partition }, p.next, BigInt(b.fetchedOffset));
      return; // not resolved: fetched again from where the check leaves the partition
    }
    if (!p) positions.start(topic, partition, BigInt(b.records[0]!.offset), null);
    this.committer.highWatermark(topic, partition, b.highWatermark);
    const r = this.deps.intake.takeBatch(b.records, positions.get(topic, partition)!.next, this.now, this.deps.tolerance, {
      afterRecord: (offset, now, tsMs) => this.afterRecord(b, offset, now, tsMs),
      deadLetter: (letter) => this.pendingDead.push(letter),
    }, b.prepared);
    if (r.last !== undefined) this.firstTakenMs ??= this.now();
    this.settleBatch(b, r.last ?? r.skipped, r.counts, r.sourceTsMs);
    if (this.inFlight === undefined && this.caughtUp()) this.maybeFlush('caught up');
    if (r.halt) void this.halt(new FatalError(`${r.halt.message}. ${STOPPED}`, { cause: r.halt }));
  }

  /** After each record: flush when due and none applies; pause when the next is full or memory is short. */
  private afterRecord(b: SourceBatch, offset: string, now: number, tsMs: number | undefined): 'go' | 'flushed' | 'stop' {
    const due = this.deps.buffers.due(now);
    if (due !== undefined) {
      if (this.inFlight === undefined) {
        this.settleBatch(b, offset, new Map(), tsMs);
        this.startFlush(due);
        return 'flushed';
      }
      if (due !== 'age' && this.pause('next flush full while one applies')) return 'stop';
    }
    return this.overBudget() && this.pause('memory budget reached') ? 'stop' : 'go';
  }

  /** Tells the source and the positions how far this batch was taken. */
  private settleBatch(b: SourceBatch, upTo: string | undefined, counts: ReadonlyMap<string, number>, sourceTsMs: number | undefined): void {
    if (upTo === undefined) return;
    b.resolve(upTo);
    if (this.committer.positions.get(b.topic, b.partition)) this.committer.positions.advance(b.topic, b.partition, BigInt(upTo), sourceTsMs);
    for (const [op, count] of counts) this.deps.emitter.emit('consumed', { topic: b.topic, partition: b.partition, op: op as ChangeEvent['op'], count });
    this.deps.emitter.emit('buffered', { bytes: this.deps.buffers.bytes, events: this.deps.buffers.events });
  }

  private caughtUp = (): boolean => this.deps.flushWhenCaughtUp !== false && !this.deps.intake.keyChangeOpen && this.committer.caughtUp();
  private overBudget = (): boolean => this.deps.buffers.bytes + this.inFlightBytes >= this.deps.memoryBudgetBytes;

  /** running → paused: every assigned partition stops fetching. True when now paused. */
  private pause(why: string): boolean {
    if (!this.machine.is('running')) return false;
    this.machine.to('paused', why);
    this.deps.source.pause(this.assigned);
    return true;
  }

  /** paused → running once under budget and no full flush is waiting. */
  private maybeResume(): void {
    if (!this.machine.is('paused') || this.overBudget()) return;
    const due = this.deps.buffers.due(this.now());
    if (this.inFlight !== undefined && due !== undefined && due !== 'age') return;
    this.machine.to('running', 'under budget');
    this.deps.source.resume(this.assigned.filter((tp) => !this.committer.isLoading(tp.topic, tp.partition)));
  }

  protected onTick(): void {
    this.deps.emitter.emit('state', { loopTickMs: this.now() });
    this.committer.lagTick(this.now());
    this.maybeFlush('age');
  }

  private maybeFlush(reason: string, force = false): void {
    if (this.inFlight !== undefined || !this.machine.is('running', 'paused')) return;
    const now = this.now();
    const held = this.firstTakenMs;
    const due = this.deps.buffers.due(now) ?? (held === undefined ? undefined
      : now - held >= this.deps.maxAgeMs ? 'age' : this.caughtUp() ? 'caught up' : undefined);
    if (force || due !== undefined || this.pendingDead.length > 0) this.startFlush(due ?? reason);
  }

  /**
   * Hands everything held, with its offsets, to the flusher and returns; the flush applies while
   * the next one fills. The offsets count as stored from here on (the next flush continues from
   * them); a failure stops the pipeline, a fence re-reads everything.
   */
  private startFlush(reason: string): void {
    if (this.inFlight !== undefined || !FLUSHING.has(this.machine.state)) return;
    const positions = this.committer.positions;
    const offsets = positions.pending();
    if (this.deps.buffers.events === 0 && offsets.length === 0 && this.pendingDead.length === 0) return;
    this.inFlightBytes = this.deps.buffers.bytes;
    const flush: Flush = { groupId: this.deps.groupId, tables: this.deps.buffers.drainAll(), offsets };
    const dead = this.pendingDead;
    this.pendingDead = [];
    this.firstTakenMs = undefined;
    this.deps.intake.flushed();
    positions.markStored(offsets);
    this.deps.emitter.emit('buffered', { bytes: 0, events: 0 });
    const started = this.now();
    this.inFlight = this.deps.flusher.apply(flush, dead).then(
      () => {
        this.inFlight = undefined;
        this.inFlightBytes = 0;
        this.deps.emitter.emit('state', { pgConnected: true });
        this.deps.log.debug({ reason, tables: flush.tables.length, ms: this.now() - started }, 'flushed');
        positions.confirm(offsets);
        this.committer.queue(offsets);
        this.maybeFlush('follow-up');
        this.maybeResume();
      },
      (err: Error) => {
        this.inFlight = undefined;
        this.inFlightBytes = 0;
        if (!(err instanceof FencedError)) return this.fail(err);
        if (this.machine.can('fenced')) return void this.fence(err);
        // Stopping or halting: another member holds these partitions now and resumes them from PostgreSQL.
        this.deps.log.warn({ partitions: err.partitions }, err.message);
      },
    );
  }

  /** Waits for the flush in flight, then flushes what is left and waits for that too. */
  private async drain(reason: string): Promise<void> {
    await this.inFlight;
    this.startFlush(reason);
    await this.inFlight;
    if (this.machine.is('failed')) throw new Error('a flush failed while draining');
  }

  /**
   * A (re)join. What is held is flushed first (its offsets fenced, so a partition another member
   * already applied is not applied twice); partitions no longer ours are forgotten; new ones are
   * held back until their stored offset is read.
   */
  private async onAssigned(tps: readonly TopicPartition[]): Promise<void> {
    this.assigned = tps;
    this.deps.emitter.emit('state', { assigned: tps.length, kafkaConnected: true, idle: tps.length === 0 });
    this.deps.log.info({ partitions: tps.length }, 'partitions assigned');
    const positions = this.committer.positions;
    const fresh = tps.filter((tp) => !positions.get(tp.topic, tp.partition));
    this.committer.hold(fresh);
    this.deps.source.pause(this.machine.is('starting', 'running') ? fresh : tps);
    // Kept partitions go on from what is already taken, not from Kafka's older committed offset.
    for (const tp of tps) {
      const p = positions.get(tp.topic, tp.partition);
      if (p && !this.committer.isLoading(tp.topic, tp.partition)) this.deps.source.seek(tp, p.next.toString());
    }
    await this.inFlight;
    this.maybeFlush('assignment', true);
    await this.inFlight;
    // The first join happens while the source starts: 'starting' loads like 'running'.
    if (!this.machine.is('starting', 'running', 'paused', 'fenced')) return;
    this.committer.keepOnly(tps);
    await this.loadAndResume(fresh);
  }

  /**
   * A fetch started elsewhere than the offset expected next (the Kafka client moved by itself):
   * the partition is held until its bounds say whether events were lost (Committer.jumped).
   */
  private async checkJump(tp: TopicPartition, expected: bigint, fetched: bigint): Promise<void> {
    this.deps.source.pause([tp]);
    let from: bigint | undefined;
    try {
      from = await this.committer.jumped(tp, expected, fetched);
    } catch (err) {
      // A gap under stop: what came before it is applied and committed, then the pipeline stops.
      if (err instanceof OffsetGapError && this.machine.can('halting')) return void this.halt(err);
      return this.failUnlessStopping(err as Error);
    }
    if (from === undefined || !this.machine.is('running')) return; // superseded; or paused: maybeResume resumes it
    if (this.assigned.some((a) => a.topic === tp.topic && a.partition === tp.partition)) this.deps.source.resume([tp]);
  }

  /** Reads the stored offsets of held partitions, then lets them fetch (unless memory is short). */
  private async loadAndResume(tps: readonly TopicPartition[]): Promise<void> {
    const ready = await this.committer.load(tps).catch((err: Error) => void this.failUnlessStopping(err));
    if (ready === undefined || !this.machine.is('starting', 'running', 'fenced')) return;
    const mine = new Set(this.assigned.map((tp) => tpKey(tp.topic, tp.partition)));
    this.deps.source.resume(ready.filter((tp) => mine.has(tpKey(tp.topic, tp.partition))));
  }

  /**
   * Another member applied our partitions: drop what we hold and re-read every assigned partition
   * from the offset PostgreSQL now stores. Seeks are made here, not left to later batches: what
   * was dropped may be a partition's last records, and no later batch would come.
   */
  private async fence(err: FencedError): Promise<void> {
    this.deps.log.warn({ partitions: err.partitions }, err.message);
    this.machine.to('fenced', 'flush fenced');
    this.deps.buffers.drainAll();
    this.deps.intake.reset();
    this.pendingDead = [];
    this.committer.reset();
    const tps = this.assigned;
    this.deps.source.pause(tps);
    this.committer.hold(tps);
    await this.loadAndResume(tps);
    if (!this.machine.is('fenced')) return;
    this.machine.to('running', 'fence recovered');
    this.deps.log.info({ partitions: tps.length }, 're-reading from the offsets stored in PostgreSQL');
  }

  /** tolerance none: apply and commit everything before the bad record, then stop with its error. */
  private async halt(err: Error): Promise<void> {
    this.machine.to('halting', 'record cannot apply');
    this.deps.source.pause(this.assigned);
    try {
      await this.drain('halt');
      await this.committer.commitStored();
    } catch (e) {
      this.deps.log.warn({ err: String(e) }, 'could not apply what came before the record that stopped the pipeline');
    }
    this.fail(err);
  }
}
