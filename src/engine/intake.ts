/**
 * Intake: one Kafka record at a time into the buffers — decode, route to its target, resolve its
 * key columns, add. No I/O. The error policy for a record that can never apply is applied here, in
 * one place for every stage: any `DataError` (undecodable, wrong shape, no key for merge, a value
 * the buffer refuses) is returned to the caller as a rejection, whatever stage raised it; other
 * errors (a target-name collision, a bug) propagate and stop the pipeline.
 */
import { DataError } from '../kernel/errors';
import type { ChangeEvent, RawRecord, SourceTable, Strategy, TableRef } from '../kernel/types';
import type { ChangeDecoder, DeadLetter } from './ports';
import type { BufferSet } from '../buffer';
import { isCopyReady, type CopyReadyEvent } from '../kernel/types';

/** Key of a table whose first event is a truncate: nothing to match yet, apply only truncates. */
const TRUNCATE_ONLY: readonly string[] = ['(truncate)'];

export interface IntakeDeps {
  readonly decoder: ChangeDecoder;
  /** Source table → target table (./route.ts). */
  readonly router: { route(src: SourceTable): TableRef };
  /** Key columns for a (non-truncate) event bound for `target`; throws DataError when merge has none. */
  readonly keys: (ev: ChangeEvent, target: TableRef) => readonly string[];
  readonly strategy: Exclude<Strategy, 'replace'>;
  readonly primaryKey?: readonly string[];
  readonly buffers: BufferSet;
}

/** What became of one record. */
export type Taken =
  | { readonly kind: 'event'; readonly op: ChangeEvent['op']; /** The source commit time (source.ts_ms), when the event has one. */ readonly tsMs: number | undefined }
  | { readonly kind: 'tombstone' }
  | { readonly kind: 'rejected'; readonly letter: DeadLetter; readonly error: DataError };

/** How the core steers a batch: flush, pause, dead letters. */
export interface BatchControl {
  /**
   * After each record taken (`offset`): 'go' on, 'flushed' (a flush started, so the clock moved),
   * or 'stop' taking this batch (paused: the rest is fetched again after the resume).
   * `sourceTsMs`: the newest source commit time taken from this batch so far (up to `offset`).
   */
  afterRecord(offset: string, nowMs: number, sourceTsMs?: number): 'go' | 'flushed' | 'stop';
  /** errors.tolerance all: a record that can never apply, to commit with the next flush. */
  deadLetter(letter: DeadLetter): void;
}

export interface BatchResult {
  /** Last record taken, and last skipped as already taken (either resolves the batch). */
  readonly last: string | undefined;
  readonly skipped: string | undefined;
  /** Records taken per op (tombstones included; dead letters are counted where they go). */
  readonly counts: ReadonlyMap<string, number>;
  /** The newest source commit time (source.ts_ms) of the records taken; undefined when none had one. */
  readonly sourceTsMs?: number;
  /** errors.tolerance none: the record that stopped the batch; nothing from it on was taken. */
  readonly halt?: DataError;
}

export class Intake {
  /** By the Router's TableRef, which is one object per destination. */
  private readonly keysByTarget = new Map<TableRef, readonly string[]>();
  /**
   * Halves of primary-key changes taken since the last flush: +1 per delete of the old key, −1 per
   * create under the new one. The two may sit on different partitions; while they do not balance,
   * a caught-up flush waits (for maxAgeMs at most), so both land in one flush and the create's
   * unchanged-TOAST values can be filled from the old row.
   */
  private moves = 0;

  /**
   * merge: the decoder's decodeForMerge (a record the merge buffer can hold as its COPY line comes
   * as a CopyReadyEvent, parsed once), with the declared primary key; else its decode.
   */
  private readonly decode: (rec: RawRecord) => ChangeEvent | CopyReadyEvent | null;

  constructor(private readonly deps: IntakeDeps) {
    const { decoder } = deps;
    const declared = deps.primaryKey && deps.primaryKey.length > 0 ? deps.primaryKey : undefined;
    this.decode = deps.strategy === 'merge' && decoder.decodeForMerge ? (rec) => decoder.decodeForMerge!(rec, declared) : (rec) => decoder.decode(rec);
  }

  /** `pre`: the record decoded ahead (SourceBatch.prepared); else it is decoded here. */
  take(rec: RawRecord, nowMs: number, pre?: CopyReadyEvent): Taken {
    try {
      const d = pre ?? this.decode(rec);
      if (d === null) return TOMBSTONE;
      if (isCopyReady(d)) {
        const target = this.deps.router.route(d.table);
        this.deps.buffers.addCopy(target, d, nowMs);
        if (this.keysByTarget.get(target) !== d.keyColumns) this.keysByTarget.set(target, d.keyColumns);
        return { kind: 'event', op: d.op, tsMs: d.source.tsMs };
      }
      const target = this.deps.router.route(d.table);
      this.deps.buffers.add(target, this.deps.strategy, this.keysOf(d, target), d, nowMs);
      if (d.moving) this.moves++;
      else if (d.movedFrom) this.moves--;
      return { kind: 'event', op: d.op, tsMs: d.source.tsMs };
    } catch (err) {
      if (!(err instanceof DataError)) throw err;
      return { kind: 'rejected', error: err, letter: letterOf(rec, err) };
    }
  }

  /**
   * Takes one batch from `next` on (earlier offsets were applied or are held already, e.g. a
   * re-fetch after a rejoin). Hot path: one clock read per batch and per flush, no BigInt per
   * record once past `next`. `prepared`: what was decoded ahead, by record index (merge only).
   */
  takeBatch(records: readonly RawRecord[], next: bigint, clock: () => number, tolerance: 'none' | 'all', control: BatchControl, prepared?: readonly (CopyReadyEvent | undefined)[]): BatchResult {
    const counts = new Map<string, number>();
    let now = clock();
    let last: string | undefined;
    let skipped: string | undefined;
    let sourceTsMs: number | undefined;
    let checkOld = records.length > 0 && BigInt(records[0]!.offset) < next;
    for (let i = 0; i < records.length; i++) {
      const rec = records[i]!;
      if (checkOld) {
        if (BigInt(rec.offset) < next) {
          skipped = rec.offset;
          continue;
        }
        checkOld = false;
      }
      const taken = this.take(rec, now, prepared?.[i]);
      if (taken.kind === 'rejected') {
        if (tolerance === 'none') return { last, skipped, counts, ...(sourceTsMs !== undefined ? { sourceTsMs } : {}), halt: taken.error };
        control.deadLetter(taken.letter); // counted as dead-lettered, not consumed
      } else {
        const op = taken.kind === 'event' ? taken.op : 'tombstone';
        counts.set(op, (counts.get(op) ?? 0) + 1);
        if (taken.kind === 'event' && taken.tsMs !== undefined && (sourceTsMs === undefined || taken.tsMs > sourceTsMs)) sourceTsMs = taken.tsMs;
      }
      last = rec.offset;
      const step = control.afterRecord(rec.offset, now, sourceTsMs);
      if (step === 'flushed') now = clock();
      else if (step === 'stop') break;
    }
    return { last, skipped, counts, ...(sourceTsMs !== undefined ? { sourceTsMs } : {}) };
  }

  /** True while a primary-key change taken since the last flush lacks its other half. */
  get keyChangeOpen(): boolean {
    return this.moves !== 0;
  }

  /** A flush took everything held: the key changes it holds go with it. */
  flushed(): void {
    this.moves = 0;
  }

  /** After a fence: nothing held any more. */
  reset(): void {
    this.keysByTarget.clear();
    this.moves = 0;
  }

  /**
   * A truncate carries no key (and needs none): it takes the key the table's other events use,
   * so it lands in the same buffer and keeps its place in the order.
   */
  private keysOf(ev: ChangeEvent, target: TableRef): readonly string[] {
    if (ev.op === 't') return this.keysByTarget.get(target) ?? this.deps.primaryKey ?? TRUNCATE_ONLY;
    const keys = this.deps.keys(ev, target);
    if (this.keysByTarget.get(target) !== keys) this.keysByTarget.set(target, keys);
    return keys;
  }
}

const TOMBSTONE: Taken = { kind: 'tombstone' };

export function letterOf(rec: RawRecord, err: Error): DeadLetter {
  return { topic: rec.topic, partition: rec.partition, offset: rec.offset, key: rec.key, value: rec.value, reason: err.message, errorClass: 'data' };
}
