/**
 * The commit stage: where each assigned partition resumes, and Kafka's copy of the offsets.
 *
 * - On assignment (and after a fence) a partition is held back (paused, its batches not taken)
 *   until the offset stored in PostgreSQL is read; the consumer is then moved there. A partition
 *   with nothing stored starts wherever Kafka starts it (its first batch).
 * - Kafka must still hold the stored offset: it is checked against the partition's log-start
 *   offset and high watermark (`ChangeSource.bounds`, kernel/offset-gap.ts). A gap stops the
 *   pipeline (on_offset_gap: stop, OffsetGapError) or is reported and skipped (skip: the partition
 *   goes on from the log start). Never a silent reset: that is what the Kafka client would do.
 *   The same check runs when a fetch starts elsewhere than the expected offset (`jumped`).
 * - After every flush COMMITs, the same offsets are queued for Kafka (lag tools read them). The
 *   queue is never awaited by a flush: a commit made while the group rebalances waits for the
 *   rebalance. On shutdown `commitStored` sends exactly what PostgreSQL holds and is awaited.
 */
import type { CoreEmitter } from '../kernel/events';
import { withTimeout } from '../kernel/timeout';
import type { OffsetMark } from '../kernel/types';
import { describeOffsetGap, offsetGap, OffsetGapError, type OffsetGap, type OffsetGapPolicy, type PartitionBounds } from '../kernel/offset-gap';
import { tpKey, type ChangeSource, type TopicPartition } from './ports';
import { Positions } from './positions';
import { reportedRetry } from '../kernel/retry';
import type { LifecycleDeps } from './lifecycle';

export interface CommitterDeps {
  readonly source: ChangeSource;
  /** Stored next-offsets of the group for `topics`, retried until read (or the core stops). */
  readonly readStored: (topics: readonly string[]) => Promise<readonly OffsetMark[]>;
  /** The partitions' log-start offsets and high watermarks, retried until read (or the core stops). */
  readonly readBounds: (tps: readonly TopicPartition[]) => Promise<readonly PartitionBounds[]>;
  /** on_offset_gap. */
  readonly onOffsetGap: OffsetGapPolicy;
  /** A gap accepted (skip): reported before the partition goes on from `gap.low`. */
  readonly gapSkipped: (gap: OffsetGap) => void;
  readonly emitter: CoreEmitter;
  readonly warn: (msg: string, fields: object) => void;
}

/**
 * The engine's committer deps: bounds read through the source port with the start-up retry
 * policy (reported as Kafka retries), a skipped gap logged and emitted as `offsetGap`.
 */
export function committerDeps(
  deps: LifecycleDeps & { readonly onOffsetGap?: OffsetGapPolicy },
  readStored: CommitterDeps['readStored'],
): CommitterDeps {
  return {
    source: deps.source,
    readStored,
    readBounds: async (tps) => {
      const bounds = await reportedRetry(deps.emitter, deps.retry, 'read partition offsets', () => deps.source.bounds(tps), { system: 'kafka' });
      deps.emitter.emit('state', { kafkaConnected: true }); // answered: a retry on the way had reported it down
      return bounds;
    },
    onOffsetGap: deps.onOffsetGap ?? 'stop',
    gapSkipped: (g) => {
      deps.log.warn({ topic: g.topic, partition: g.partition, stored: g.stored.toString(), logStart: g.low.toString(), highWatermark: g.high.toString(), skipped: g.skipped.toString() }, describeOffsetGap(g, 'skip'));
      deps.emitter.emit('offsetGap', { topic: g.topic, partition: g.partition, kind: g.kind, stored: g.stored.toString(), low: g.low.toString(), high: g.high.toString(), skipped: Number(g.skipped) });
    },
    emitter: deps.emitter,
    warn: (msg, fields) => deps.log.warn(fields, msg),
  };
}

const KAFKA_COMMIT_TIMEOUT_MS = 30_000;

/** How often every tracked partition's lag is read from Kafka's end offsets, besides after each flush. */
export const LAG_INTERVAL_MS = 10_000;

function boundsOf(all: readonly PartitionBounds[], tp: TopicPartition): PartitionBounds {
  const b = all.find((x) => x.topic === tp.topic && x.partition === tp.partition);
  if (!b) throw new Error(`the source gave no offsets for ${tp.topic}[${tp.partition}]`);
  return b;
}

export class Committer {
  readonly positions = new Positions();
  /** Partitions whose stored offset is being read: not taken from until then. */
  readonly loading = new Set<string>();
  private readonly highWatermarks = new Map<string, bigint>();
  private kafkaCommits: Promise<void> = Promise.resolve();
  /** Bumped by every load, so a slow read overtaken by a newer assignment changes nothing. */
  private generation = 0;
  /** When lag was last read on the timer (`lagTick`), whether a read is under way, whether the last failed. */
  private lagReadMs: number | undefined;
  private lagReading = false;
  private lagFailed = false;

  constructor(private readonly deps: CommitterDeps) {}

  isLoading(topic: string, partition: number): boolean {
    return this.loading.size > 0 && this.loading.has(tpKey(topic, partition));
  }

  /** Marks `tps` as loading (synchronously, so no batch of theirs is taken meanwhile). */
  hold(tps: readonly TopicPartition[]): void {
    for (const tp of tps) this.loading.add(tpKey(tp.topic, tp.partition));
  }

  /**
   * Reads the stored offsets of the held partitions and seeks each there. Resolves with the
   * partitions now ready, or undefined when a newer load superseded this one.
   */
  async load(tps: readonly TopicPartition[]): Promise<TopicPartition[] | undefined> {
    // An assignment with nothing new to read supersedes no load (a fence's, still reading).
    if (tps.length === 0) return [];
    const gen = ++this.generation;
    const stored = await this.deps.readStored([...new Set(tps.map((t) => t.topic))]);
    if (gen !== this.generation) return undefined;
    const markOf = (tp: TopicPartition) => stored.find((m) => m.topic === tp.topic && m.partition === tp.partition);
    const known = tps.filter((tp) => markOf(tp) !== undefined);
    const bounds = known.length > 0 ? await this.deps.readBounds(known) : [];
    if (gen !== this.generation) return undefined;
    for (const tp of tps) {
      if (!this.loading.has(tpKey(tp.topic, tp.partition))) continue; // no longer assigned meanwhile
      const mark = markOf(tp);
      if (mark) {
        const next = BigInt(mark.next);
        // A gap under stop throws here: the load fails, the partition is never resumed.
        const gap = offsetGap(tp.topic, tp.partition, next, boundsOf(bounds, tp));
        const from = gap === undefined ? next : this.past(gap);
        this.positions.start(tp.topic, tp.partition, from, next);
        this.deps.source.seek(tp, from.toString());
      } else {
        this.positions.forget(tp.topic, tp.partition); // starts at its first batch
      }
      this.loading.delete(tpKey(tp.topic, tp.partition));
    }
    return [...tps];
  }

  /**
   * A fetch of a tracked partition started at `fetched`, not at `expected`, the offset the engine
   * expects next: the Kafka client moved by itself. Past it, either the client stepped over records
   * it never hands over (transaction markers, aborted records: no gap, the partition goes on from
   * `fetched`) or it reset an out-of-range offset to the log start (a gap, handled as on
   * assignment). Before it, either the client went back to Kafka's committed offset (a rejoin that
   * missed the engine's seek: no gap, back to `expected`) or it reset an offset above the high
   * watermark of a re-created topic to its start (a gap). The partition is held (its batches not
   * taken) until this resolves with the offset it goes on from, or undefined when a newer load or
   * a fence superseded it. Throws OffsetGapError under stop.
   */
  async jumped(tp: TopicPartition, expected: bigint, fetched: bigint): Promise<bigint | undefined> {
    const gen = this.generation;
    this.hold([tp]);
    const bounds = await this.deps.readBounds([tp]);
    if (gen !== this.generation || !this.positions.get(tp.topic, tp.partition)) return undefined;
    const gap = offsetGap(tp.topic, tp.partition, expected, boundsOf(bounds, tp));
    const from = gap !== undefined ? this.past(gap) : fetched > expected ? fetched : expected;
    this.positions.moveTo(tp.topic, tp.partition, from);
    this.deps.source.seek(tp, from.toString());
    this.loading.delete(tpKey(tp.topic, tp.partition));
    return from;
  }

  /** Where a partition goes on from past `gap`: its log start (skip, reported); throws under stop. */
  private past(gap: OffsetGap): bigint {
    if (this.deps.onOffsetGap === 'stop') throw new OffsetGapError(gap);
    this.deps.gapSkipped(gap);
    return gap.low;
  }

  /** Forgets partitions no longer assigned. */
  keepOnly(assigned: readonly TopicPartition[]): void {
    const mine = new Set(assigned.map((t) => tpKey(t.topic, t.partition)));
    for (const t of this.positions.tracked()) if (!mine.has(tpKey(t.topic, t.partition))) this.positions.forget(t.topic, t.partition);
    for (const k of [...this.loading]) if (!mine.has(k)) this.loading.delete(k);
  }

  /** After a fence: nothing we held counts; every partition is read again from PostgreSQL. */
  reset(): void {
    this.positions.clear();
    this.loading.clear();
    this.generation++;
  }

  highWatermark(topic: string, partition: number, high: string): void {
    this.highWatermarks.set(tpKey(topic, partition), BigInt(high));
  }

  /** The consumer has caught up: every tracked partition is taken up to the last high watermark seen for it. */
  caughtUp(): boolean {
    return this.positions.reached(this.highWatermarks);
  }

  /** Queues a Kafka commit of offsets PostgreSQL now holds; lag is reported from them. */
  queue(marks: readonly OffsetMark[]): void {
    if (marks.length === 0) return;
    this.kafkaCommits = this.kafkaCommits.then(async () => {
      await this.commitNow(marks);
      for (const m of marks) {
        const high = this.highWatermarks.get(tpKey(m.topic, m.partition));
        if (high !== undefined) this.deps.emitter.emit('lag', { topic: m.topic, partition: m.partition, lag: Number(high - BigInt(m.next)) });
      }
    });
  }

  /**
   * Every LAG_INTERVAL_MS (called from the engine's tick): each tracked partition's lag from
   * Kafka's end offsets now, against what PostgreSQL holds (where tracking started when nothing
   * is stored yet), so `lag` moves while nothing is flushed too: a stalled pipeline shows it
   * growing. A failed read is logged once until one succeeds; the next tick tries again.
   */
  lagTick(nowMs: number): void {
    // The first tick starts the clock: at start-up the flushes report lag soon enough.
    this.lagReadMs ??= nowMs;
    if (this.lagReading || nowMs - this.lagReadMs < LAG_INTERVAL_MS) return;
    const tracked = this.positions.tracked();
    if (tracked.length === 0) return;
    this.lagReadMs = nowMs;
    this.lagReading = true;
    const stored = new Map(this.positions.storedMarks().map((m) => [tpKey(m.topic, m.partition), BigInt(m.next)]));
    void withTimeout(this.deps.source.bounds(tracked.map((t) => ({ topic: t.topic, partition: t.partition }))), KAFKA_COMMIT_TIMEOUT_MS)
      .then((bounds) => {
        this.lagFailed = false;
        for (const t of tracked) {
          const b = bounds.find((x) => x.topic === t.topic && x.partition === t.partition);
          if (!b || !this.positions.get(t.topic, t.partition)) continue;
          const high = BigInt(b.high);
          this.highWatermarks.set(tpKey(t.topic, t.partition), high);
          const from = stored.get(tpKey(t.topic, t.partition)) ?? t.origin;
          this.deps.emitter.emit('lag', { topic: t.topic, partition: t.partition, lag: Number(high > from ? high - from : 0n) });
        }
      }, (err: Error) => {
        if (!this.lagFailed) this.deps.warn('reading the end offsets for the lag metrics failed; trying again', { err: String(err) });
        this.lagFailed = true;
      })
      .finally(() => (this.lagReading = false));
  }

  /** Waits for the queue, then commits exactly the offsets PostgreSQL holds for every tracked partition. */
  async commitStored(): Promise<void> {
    await this.kafkaCommits;
    await this.commitNow(this.positions.storedMarks());
  }

  private async commitNow(marks: readonly OffsetMark[]): Promise<void> {
    if (marks.length === 0) return;
    try {
      await withTimeout(this.deps.source.commit(marks), KAFKA_COMMIT_TIMEOUT_MS);
    } catch (err) {
      // PostgreSQL already holds these offsets; Kafka's copy is for lag tools only.
      this.deps.warn('committing offsets to Kafka failed; PostgreSQL has them', { err: String(err) });
    }
  }
}
