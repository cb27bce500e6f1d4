/**
 * Where each assigned partition stands: `stored` is the next offset recorded in PostgreSQL (what
 * a restart resumes from), `next` is the next offset the consumer expects (past everything taken
 * into the buffers). Pure bookkeeping; the pipeline loop owns when they move.
 */
import type { OffsetMark } from '../kernel/types';

interface Entry {
  readonly topic: string;
  readonly partition: number;
  stored: bigint | null;
  next: bigint;
  /** What PostgreSQL is known to hold (a flush COMMITted it, or it was read back); null: nothing yet. */
  confirmed: bigint | null;
  /** Where tracking started: the first offset taken since the partition was (re)started. */
  readonly origin: bigint;
  /** The newest source commit time (ms) taken, stored with the offsets (status, lag). */
  sourceTsMs?: number;
}

const tpKey = (topic: string, partition: number): string => `${partition}:${topic}`;

export class Positions {
  private readonly entries = new Map<string, Entry>();

  get(topic: string, partition: number): { stored: bigint | null; next: bigint } | undefined {
    return this.entries.get(tpKey(topic, partition));
  }

  /** Starts tracking a partition at `next`; `stored` is what PostgreSQL holds (null: nothing yet). */
  start(topic: string, partition: number, next: bigint, stored: bigint | null): void {
    this.entries.set(tpKey(topic, partition), { topic, partition, stored, next, confirmed: stored, origin: next });
  }

  /** Records that everything before `offset + 1` has been taken, the newest source commit time among it `sourceTsMs`. */
  advance(topic: string, partition: number, offset: bigint, sourceTsMs?: number): void {
    const e = this.entries.get(tpKey(topic, partition));
    if (!e) throw new Error(`partition ${topic}[${partition}] is not tracked`);
    if (offset + 1n > e.next) e.next = offset + 1n;
    if (sourceTsMs !== undefined && (e.sourceTsMs === undefined || sourceTsMs > e.sourceTsMs)) e.sourceTsMs = sourceTsMs;
  }

  /**
   * The next offset moves to `next`, either way: past a gap the source cannot fill, or back to the
   * start of a re-created topic (on_offset_gap: skip). `stored` stays, so the next flush
   * compare-and-sets from it.
   */
  moveTo(topic: string, partition: number, next: bigint): void {
    const e = this.entries.get(tpKey(topic, partition));
    if (!e) throw new Error(`partition ${topic}[${partition}] is not tracked`);
    e.next = next;
  }

  /** Offsets to store with the next flush: partitions that moved from what is stored (forward, or back by moveTo). */
  pending(): OffsetMark[] {
    const out: OffsetMark[] = [];
    for (const e of this.entries.values()) {
      if (e.stored === null || e.next !== e.stored) {
        out.push({
          topic: e.topic,
          partition: e.partition,
          next: e.next.toString(),
          from: e.stored === null ? null : e.stored.toString(),
          ...(e.sourceTsMs !== undefined ? { sourceTsMs: e.sourceTsMs } : {}),
        });
      }
    }
    return out;
  }

  /** A flush carrying these marks started: the next flush continues from them (its compare-and-set `from`). */
  markStored(marks: readonly OffsetMark[]): void {
    for (const m of marks) {
      const e = this.entries.get(tpKey(m.topic, m.partition));
      if (e) e.stored = BigInt(m.next);
    }
  }

  /** After a flush COMMITted: its marks are known to be in PostgreSQL. */
  confirm(marks: readonly OffsetMark[]): void {
    for (const m of marks) {
      const e = this.entries.get(tpKey(m.topic, m.partition));
      if (e) e.confirmed = BigInt(m.next);
    }
  }

  /** What PostgreSQL is known to hold, per tracked partition (what Kafka is told on shutdown). */
  storedMarks(): OffsetMark[] {
    const out: OffsetMark[] = [];
    for (const e of this.entries.values()) if (e.confirmed !== null) out.push({ topic: e.topic, partition: e.partition, next: e.confirmed.toString() });
    return out;
  }

  forget(topic: string, partition: number): void {
    this.entries.delete(tpKey(topic, partition));
  }

  clear(): void {
    this.entries.clear();
  }

  /** True when every tracked partition's next offset has reached its entry in `highs` (none: reached). */
  reached(highs: ReadonlyMap<string, bigint>): boolean {
    for (const [key, e] of this.entries) {
      const high = highs.get(key);
      if (high !== undefined && e.next < high) return false;
    }
    return true;
  }

  tracked(): { topic: string; partition: number; origin: bigint }[] {
    return [...this.entries.values()].map((e) => ({ topic: e.topic, partition: e.partition, origin: e.origin }));
  }
}
