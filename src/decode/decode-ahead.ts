/**
 * Decode-ahead: the decode stage run ahead of the engine, on worker threads (src/decode/pool.ts).
 * It sits between the Kafka source and the engine as a ChangeSource over the inner one, because
 * what the engine does not take of a decoded batch must be sought back to or kept for the resume,
 * which only a layer that sees seek/pause/resume can do. Without it the client fetches the next batch only once the core has taken
 * this one, so decoding could not overlap with anything.
 *
 * Each batch the inner source hands over is resolved there at once (the client fetches on from
 * after it), prepared (`prepare`, e.g. decoded on a thread) and queued; queued batches are handed
 * to the core in arrival order per partition, each once its preparation is done and while its
 * partition is not paused. What the core does not take of a batch stays queued when the core
 * paused that partition meanwhile (memory budget, next flush full) and is handed over after the
 * resume, so a pause costs no re-fetch; anything else the core refuses (a partition whose stored
 * offset is still being read, a core not running) is sought back to, and every later queued batch
 * of that partition is dropped: it is fetched again, exactly as an unresolved batch is without
 * prefetching.
 *
 * Queued batches are dropped when they cannot be taken any more: on a seek of their partition
 * (the core's own, after a rebalance or fence: it sets where fetching goes on), on a rebalance (the
 * partition, if still assigned, is sought to its first dropped offset before the core's own seeks
 * and the stored offsets, which win) and on stop. The queue holds at most `maxQueuedBytes` of
 * records (keys and values) beyond the one arriving; arrivals wait for room.
 */
import type { OffsetMark } from '../kernel/types';
import type { PartitionBounds } from '../kernel/offset-gap';
import type { Prepared } from './pool';
import { tpKey, type ChangeSource, type SourceBatch, type SourceHandler, type TopicPartition } from '../engine/ports';

export interface DecodeAheadOptions {
  /** Never rejects; undefined: the core decodes the batch itself. */
  readonly prepare: (b: SourceBatch) => Promise<Prepared | undefined>;
  readonly maxQueuedBytes: number;
}

interface Entry {
  readonly b: SourceBatch;
  readonly key: string;
  readonly epoch: number;
  readonly generation: number;
  readonly bytes: number;
  prepared: Prepared | undefined;
  done: boolean;
}

export class DecodeAhead implements ChangeSource {
  private handler: SourceHandler | undefined;
  private readonly queue: Entry[] = [];
  private queuedBytes = 0;
  /** Per partition, bumped by every seek: queued batches of an older epoch are dropped. */
  private readonly epochs = new Map<string, number>();
  /** Bumped by rebalances and stop: every queued batch is dropped. */
  private generation = 0;
  /**
   * Per partition, the first offset of batches a rebalance dropped: where fetching must go on
   * unless the core seeks elsewhere (a partition it had taken nothing of yet has no position of its
   * own, and the client would otherwise start from its committed offset or the reset policy).
   */
  private droppedFrom = new Map<string, bigint>();
  private delivering = false;
  private waiters: (() => void)[] = [];
  /** Partitions the core paused: their queued batches wait for the resume. */
  private readonly paused = new Set<string>();

  constructor(private readonly inner: ChangeSource, private readonly opts: DecodeAheadOptions) {}

  start(handler: SourceHandler): Promise<void> {
    this.handler = handler;
    return this.inner.start({
      ...handler,
      batch: (b) => this.arrive(b),
      revoking: () => {
        this.dropAll();
        handler.revoking();
      },
      assigned: (tps) => {
        this.dropAll();
        // Before the core's own seeks (kept partitions) and the stored offsets (read after this), which win.
        const dropped = this.droppedFrom;
        this.droppedFrom = new Map();
        for (const tp of tps) {
          const from = dropped.get(tpKey(tp.topic, tp.partition));
          if (from !== undefined) this.seek(tp, from.toString());
        }
        handler.assigned(tps);
      },
    });
  }

  seek(tp: TopicPartition, offset: string): void {
    const key = tpKey(tp.topic, tp.partition);
    this.epochs.set(key, (this.epochs.get(key) ?? 0) + 1);
    this.inner.seek(tp, offset);
  }

  pause(tps: readonly TopicPartition[]): void {
    for (const tp of tps) this.paused.add(tpKey(tp.topic, tp.partition));
    this.inner.pause(tps);
  }

  resume(tps: readonly TopicPartition[]): void {
    for (const tp of tps) this.paused.delete(tpKey(tp.topic, tp.partition));
    this.inner.resume(tps);
    // Not from inside the core's own call: what was held is handed over on the next turn.
    if (this.queue.length > 0) queueMicrotask(() => void this.pump());
  }

  commit(marks: readonly OffsetMark[]): Promise<void> {
    return this.inner.commit(marks);
  }

  bounds(tps: readonly TopicPartition[]): Promise<readonly PartitionBounds[]> {
    return this.inner.bounds(tps);
  }

  async stop(): Promise<void> {
    this.dropAll();
    this.droppedFrom.clear();
    await this.inner.stop();
  }

  /** Nothing queued will reach the core before a resume: each batch prepared and its partition paused (tests). */
  get settled(): boolean {
    return !this.delivering && this.queue.every((e) => e.done && this.paused.has(e.key));
  }

  /** Batches waiting (prepared or not) and their bytes (tests). */
  get queued(): { batches: number; bytes: number } {
    return { batches: this.queue.length, bytes: this.queuedBytes };
  }

  private async arrive(b: SourceBatch): Promise<void> {
    const n = b.records.length;
    if (n === 0 || b.isStale()) return;
    const key = tpKey(b.topic, b.partition);
    const entry: Entry = { b, key, epoch: this.epochs.get(key) ?? 0, generation: this.generation, bytes: bytesOf(b.records), prepared: undefined, done: false };
    // Taken as far as the client knows: it fetches on. What the core refuses is sought back to.
    b.resolve(b.records[n - 1]!.offset);
    this.queue.push(entry);
    this.queuedBytes += entry.bytes;
    void this.opts.prepare(b).then(
      (p) => this.prepared(entry, p),
      () => this.prepared(entry, undefined),
    );
    while (this.queuedBytes - entry.bytes > this.opts.maxQueuedBytes && this.queue.some((e) => e !== entry && !e.done) && this.queue.includes(entry)) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  private prepared(entry: Entry, p: Prepared | undefined): void {
    entry.prepared = p;
    entry.done = true;
    this.wake(); // an arrival waiting on preparations re-checks
    void this.pump();
  }

  /**
   * Hands every batch that can be taken to the core: per partition in arrival order, once
   * prepared, while the partition is not paused.
   */
  private async pump(): Promise<void> {
    if (this.delivering) return;
    this.delivering = true;
    try {
      for (let e = this.nextDeliverable(); e !== undefined; e = this.nextDeliverable()) await this.deliver(e);
    } finally {
      this.delivering = false;
    }
  }

  /** The first queued batch that is its partition's oldest, prepared, and not paused; drops what cannot be taken any more. */
  private nextDeliverable(): Entry | undefined {
    const blocked = new Set<string>();
    for (let i = 0; i < this.queue.length; i++) {
      const e = this.queue[i]!;
      if (blocked.has(e.key)) continue;
      if (this.dropped(e)) {
        this.remove(i--);
        continue;
      }
      if (e.done && !this.paused.has(e.key)) return e;
      blocked.add(e.key);
    }
    return undefined;
  }

  private remove(i: number): void {
    const [e] = this.queue.splice(i, 1);
    this.queuedBytes -= e!.bytes;
    this.wake();
  }

  private dropped(e: Entry): boolean {
    return e.generation !== this.generation || e.epoch !== (this.epochs.get(e.key) ?? 0) || e.b.isStale();
  }

  private async deliver(e: Entry): Promise<void> {
    const { b } = e;
    let taken: string | undefined;
    const out: SourceBatch = {
      topic: b.topic,
      partition: b.partition,
      records: b.records,
      highWatermark: b.highWatermark,
      ...(b.fetchedOffset !== undefined ? { fetchedOffset: b.fetchedOffset } : {}),
      ...(e.prepared !== undefined ? { prepared: e.prepared } : {}),
      isStale: () => this.dropped(e),
      resolve: (offset) => {
        taken = offset;
      },
    };
    let failed: Error | undefined;
    try {
      await this.handler!.batch(out);
    } catch (err) {
      failed = err as Error;
    }
    const at = this.queue.indexOf(e);
    if (at < 0) return; // dropped meanwhile (a seek, a rebalance, stop)
    if (failed !== undefined) {
      this.remove(at);
      this.handler!.crashed(failed);
      return;
    }
    const last = b.records[b.records.length - 1]!.offset;
    if (taken === last || this.dropped(e)) return this.remove(at);
    const n = taken === undefined ? 0 : b.records.findIndex((r) => r.offset === taken) + 1;
    if (this.paused.has(e.key)) {
      // Paused while taking it (or before): the rest waits here for the resume, in its place.
      const rest = b.records.slice(n);
      // The rest continues what the core took: no fetch of its own (the core checks where a fetch starts).
      const { fetchedOffset: _checked, ...taken } = b;
      const held: Entry = {
        ...e,
        b: { ...taken, records: rest, isStale: b.isStale, resolve: () => undefined },
        bytes: bytesOf(rest),
        prepared: e.prepared?.slice(n),
      };
      this.queue[at] = held;
      this.queuedBytes += held.bytes - e.bytes;
      this.wake();
      return;
    }
    this.remove(at);
    this.seek({ topic: b.topic, partition: b.partition }, b.records[n]!.offset);
  }

  private dropAll(): void {
    for (const e of this.queue) {
      if (this.dropped(e)) continue;
      const first = BigInt(e.b.records[0]!.offset);
      const d = this.droppedFrom.get(e.key);
      if (d === undefined || first < d) this.droppedFrom.set(e.key, first);
    }
    this.generation++;
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const resolve of w) resolve();
  }
}

function bytesOf(records: readonly { key: Buffer | null; value: Buffer | null }[]): number {
  let bytes = 0;
  for (const r of records) bytes += (r.value?.length ?? 0) + (r.key?.length ?? 0);
  return bytes;
}
