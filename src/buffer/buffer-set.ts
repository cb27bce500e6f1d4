/**
 * All table buffers of one consumer between two flushes, and the flush policy: flush when the
 * rows held, the bytes held, or the age of the oldest unflushed event reaches its limit.
 * Counts are kept as running totals so `due()` is O(1).
 */
import { DataError } from '../kernel/errors';
import type { ChangeEvent, Position, TableBatch, TableRef } from '../kernel/types';
import type { CopyReadyEvent } from '../kernel/types';
import { TableBuffer, type BufferStrategy } from './table-buffer';

/** The flush limits (the config's BufferLimits has the same fields). */
export interface BufferLimits {
  /** Flush when this many rows are held (distinct keys for merge, events for append). */
  readonly maxRows: number;
  /** Flush when the ev.bytes of what is held reach this. */
  readonly maxBytes: number;
  /** Flush when the first event added since the last flush is this old. 0 = at once. */
  readonly maxAgeMs: number;
}

export type FlushReason = 'rows' | 'bytes' | 'age';

export class BufferSet {
  private readonly limits: BufferLimits;
  private tables = new Map<string, TableBuffer>();
  /**
   * Buffers closed because a later event for the same target came with other key columns or
   * another strategy (the source's primary key changed mid-batch). Keys built from different
   * columns cannot be reduced together, so the old buffer is kept whole and drained first.
   */
  private retired: TableBuffer[] = [];
  /** The buffer the previous event went to (cleared on drain; a retired buffer is never it). */
  private last: TableBuffer | undefined;
  private heldBytes = 0;
  private heldRows = 0;
  private firstAddMs: number | undefined;

  /** `keepDeleted`: merge buffers keep the row of a key deleted after an upsert (delete_mode soft). */
  constructor(limits: BufferLimits, private readonly opts: { readonly keepDeleted?: boolean } = {}) {
    checkLimit('maxRows', limits.maxRows, 1);
    checkLimit('maxBytes', limits.maxBytes, 1);
    checkLimit('maxAgeMs', limits.maxAgeMs, 0);
    this.limits = { maxRows: limits.maxRows, maxBytes: limits.maxBytes, maxAgeMs: limits.maxAgeMs };
  }

  /** Bytes held (sum of ev.bytes of what survives reduction). */
  get bytes(): number {
    return this.heldBytes;
  }

  /** Rows held: distinct keys (merge) plus events (append), over every table. */
  get events(): number {
    return this.heldRows;
  }

  /** Route one event to the buffer for `target` (created on first use). */
  add(target: TableRef, strategy: BufferStrategy, keyColumns: readonly string[], ev: ChangeEvent, nowMs: number): void {
    const buf = this.bufferFor(target, strategy, keyColumns, ev.pos);
    const bytes = buf.bytes;
    const rows = buf.size;
    buf.add(ev, nowMs);
    this.counted(buf, bytes, rows, nowMs);
  }

  /** merge: an event the buffer holds as its COPY line (`holdsAsLine`), merged on its `keyColumns`. */
  addCopy(target: TableRef, fe: CopyReadyEvent, nowMs: number): void {
    const buf = this.bufferFor(target, 'merge', fe.keyColumns, fe.pos);
    const bytes = buf.bytes;
    const rows = buf.size;
    buf.addCopy(fe, nowMs);
    this.counted(buf, bytes, rows, nowMs);
  }

  /** The running totals after `buf`, which held `bytes` and `rows`, took an event. */
  private counted(buf: TableBuffer, bytes: number, rows: number, nowMs: number): void {
    this.heldBytes += buf.bytes - bytes;
    this.heldRows += buf.size - rows;
    if (this.firstAddMs === undefined) this.firstAddMs = nowMs;
  }

  /** Which limit says flush now, or undefined. Rows are checked first, then bytes, then age. */
  due(nowMs: number): FlushReason | undefined {
    if (this.firstAddMs === undefined) return undefined;
    if (this.heldRows >= this.limits.maxRows) return 'rows';
    if (this.heldBytes >= this.limits.maxBytes) return 'bytes';
    if (nowMs - this.firstAddMs >= this.limits.maxAgeMs) return 'age';
    return undefined;
  }

  /**
   * ms until the age limit makes a flush due (for a timer); 0 when a flush is already due for
   * any reason; undefined when nothing has been added since the last drain.
   */
  msUntilDue(nowMs: number): number | undefined {
    if (this.firstAddMs === undefined) return undefined;
    if (this.due(nowMs) !== undefined) return 0;
    return this.firstAddMs + this.limits.maxAgeMs - nowMs;
  }

  /**
   * Every non-empty table's batch, and clears everything. A target appears twice only when its
   * key columns or strategy changed mid-batch; the batches are then in the order to apply them.
   */
  drainAll(): TableBatch[] {
    const out: TableBatch[] = [];
    for (const buf of this.retired) if (!buf.isEmpty) out.push(buf.drain());
    for (const buf of this.tables.values()) if (!buf.isEmpty) out.push(buf.drain());
    this.retired = [];
    this.tables = new Map();
    this.last = undefined;
    this.heldBytes = 0;
    this.heldRows = 0;
    this.firstAddMs = undefined;
    return out;
  }

  private bufferFor(target: TableRef, strategy: BufferStrategy, keyColumns: readonly string[], pos: Position): TableBuffer {
    // The router hands out one TableRef object per destination: consecutive events of one table
    // find their buffer without building its id.
    const hit = this.last;
    if (hit !== undefined && hit.target === target && hit.strategy === strategy && sameColumns(hit.keyColumns, keyColumns)) return hit;
    // Length-prefixed, so no schema/table pair can produce another pair's id.
    const id = `${target.schema.length}:${target.schema}.${target.table}`;
    const buf = this.tables.get(id);
    if (buf !== undefined && buf.strategy === strategy && sameColumns(buf.keyColumns, keyColumns)) return (this.last = buf);
    if (strategy === 'merge' && keyColumns.length === 0) {
      throw new DataError(
        `cannot merge into ${target.schema}.${target.table}: the event has no key and no primary_key ` +
          'is declared; add primary_key to the sink options (merge would duplicate rows otherwise)',
        pos,
      );
    }
    const fresh = new TableBuffer(target, strategy, keyColumns, this.opts.keepDeleted === true);
    if (buf !== undefined) this.retired.push(buf);
    this.tables.set(id, fresh);
    return (this.last = fresh);
  }
}

function sameColumns(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function checkLimit(field: keyof BufferLimits, value: number, min: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new RangeError(`buffer limit ${field} must be a finite number >= ${min}, got ${String(value)}`);
  }
}
