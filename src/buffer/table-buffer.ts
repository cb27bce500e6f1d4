/**
 * The buffer of one destination table between two flushes. Pure and synchronous: time is
 * passed in, nothing is read or written outside the object.
 *
 * merge: reduced to the last state per primary key (see reducer.ts).
 *   `size` = distinct keys held (= rows the batch will carry, upserts + deletes).
 *   An update whose `before` key differs from its key is held as two entries (delete + upsert).
 *   Op 't' drops everything held and marks the batch `truncate`; later events are kept.
 *   `bytes` = sum of ev.bytes of the events whose entries survive, plus the last truncate's.
 * append: every event kept in offset order, 't' included (as an event; `truncate` stays false,
 *   apply decides what a truncate means for a history table).
 *   `size` = events held, `bytes` = their ev.bytes sum.
 * In both modes `columns` is the union over the events added since the last drain (merge:
 * since the last truncate), which may include columns no surviving row carries. A row only
 * holds the columns of its own event's schema, so rows of a batch may differ in their columns.
 */
import { DataError } from '../kernel/errors';
import { UNAVAILABLE, type ChangeEvent, type Position, type Row, type SourceInfo, type TableBatch, type TableRef } from '../kernel/types';
import { lineValues } from '../copy-text/line';
import { CopyLine, type CopyReadyEvent } from '../kernel/types';
import { ColumnUnion } from './columns';
import { encodeKey, keyRow, keyValue } from './keys';
import { Reducer } from './reducer';

export type BufferStrategy = 'merge' | 'append';

export class TableBuffer {
  private readonly reducer: Reducer;
  private events: ChangeEvent[] = [];
  private appendBytes = 0;
  private truncated = false;
  private truncateBytes = 0;
  private truncatedBy: { readonly source: SourceInfo; readonly pos: Position } | undefined;
  private readonly union = new ColumnUnion();
  private firstAddMs: number | undefined;

  constructor(
    readonly target: TableRef,
    readonly strategy: BufferStrategy,
    readonly keyColumns: readonly string[],
    /** merge, delete_mode soft: keep the row of a key deleted after an upsert (TableBatch.deleteRows). */
    keepDeleted = false,
  ) {
    this.reducer = new Reducer(keepDeleted);
    if (strategy !== 'merge' && strategy !== 'append') {
      throw new TypeError(`TableBuffer: strategy must be 'merge' or 'append', got ${String(strategy)}`);
    }
    if (strategy === 'merge' && keyColumns.length === 0) {
      throw new TypeError(
        `TableBuffer: merge into ${target.schema}.${target.table} needs key columns ` +
          '(declare primary_key in the sink options, or use a source table with a primary key)',
      );
    }
  }

  get size(): number {
    return this.strategy === 'merge' ? this.reducer.size : this.events.length;
  }

  get bytes(): number {
    return this.strategy === 'merge' ? this.reducer.bytes + this.truncateBytes : this.appendBytes;
  }

  get oldestMs(): number | undefined {
    return this.firstAddMs;
  }

  /** A pending truncate alone is not empty: it must still be flushed. */
  get isEmpty(): boolean {
    return this.size === 0 && !this.truncated;
  }

  add(ev: ChangeEvent, nowMs: number): void {
    if (this.strategy === 'merge') this.addMerge(ev);
    else {
      this.events.push(ev);
      this.appendBytes += ev.bytes;
    }
    this.union.add(ev.columns);
    if (this.firstAddMs === undefined) this.firstAddMs = nowMs;
  }

  /**
   * A merge buffer's: an event of the COPY-ready decode path that `holdsAsLine` (Decoder.decodeForMerge
   * hands over no other), held as its COPY line (a delete as its key row).
   */
  addCopy(fe: CopyReadyEvent, nowMs: number): void {
    if (fe.op === 'd') {
      const values = lineValues(fe.keyLine!);
      const row = Object.create(null) as Row;
      for (let j = 0; j < this.keyColumns.length; j++) row[this.keyColumns[j]!] = values[j]!;
      this.reducer.delete(fe.key!, row, fe.source, fe.pos, fe.bytes);
    } else this.reducer.upsert(fe.key!, new CopyLine(fe.line!, fe.names), fe.source, fe.pos, fe.bytes, fe.columns, undefined, fe.op);
    this.union.add(fe.columns);
    if (this.firstAddMs === undefined) this.firstAddMs = nowMs;
  }

  drain(): TableBatch {
    const reduced = this.reducer.drain();
    const batch: TableBatch = {
      target: this.target,
      strategy: this.strategy,
      keyColumns: this.keyColumns,
      columns: this.union.take(),
      truncate: this.truncated,
      ...(this.truncatedBy !== undefined ? { truncateSource: this.truncatedBy.source, truncatePos: this.truncatedBy.pos } : {}),
      ...reduced,
      events: this.events,
    };
    this.events = [];
    this.appendBytes = 0;
    this.truncated = false;
    this.truncatedBy = undefined;
    this.truncateBytes = 0;
    this.firstAddMs = undefined;
    return batch;
  }

  /** Op 't': drops everything held; the batch is marked `truncate`, with the event's positions. */
  private truncate(source: SourceInfo, pos: Position, bytes: number): void {
    this.reducer.clear();
    this.union.reset();
    this.truncated = true;
    this.truncatedBy = { source, pos };
    this.truncateBytes = bytes;
  }

  private addMerge(ev: ChangeEvent): void {
    const cols = this.keyColumns;
    switch (ev.op) {
      case 't':
        this.truncate(ev.source, ev.pos, ev.bytes);
        return;
      case 'd': {
        const key = encodeKey(cols, ev.key, ev.before);
        if (key === undefined) throw this.noKey(ev, 'before');
        this.reducer.delete(key, keyRow(cols, ev.key, ev.before), ev.source, ev.pos, ev.bytes, ev.moving === true);
        return;
      }
      case 'c':
      case 'r':
      case 'u': {
        const after = ev.after;
        if (after === null) {
          throw new DataError(`op '${ev.op}' event for ${this.name()} has no 'after' row`, ev.pos);
        }
        const key = encodeKey(cols, ev.key, after);
        if (key === undefined) throw this.noKey(ev, 'after');
        this.requireKeyInRow(ev, after);
        if (ev.op === 'u' && ev.before !== null) this.deleteOldKey(ev.before, key, ev);
        this.reducer.upsert(key, after, ev.source, ev.pos, ev.bytes, ev.columns, ev.movedFrom === undefined ? undefined : this.movedFrom(ev.movedFrom, key), ev.op);
        return;
      }
      default:
        throw new DataError(`unknown op '${String(ev.op)}' for ${this.name()}`, ev.pos);
    }
  }

  /**
   * An update that moved a row to a new key (when the connector sends it as one event rather
   * than delete + create): the old key must go. Its bytes are counted once, on the upsert.
   */
  private deleteOldKey(before: Row, newKey: string, ev: ChangeEvent): void {
    const oldKey = encodeKey(this.keyColumns, null, before);
    if (oldKey === undefined || oldKey === newKey) return;
    this.reducer.delete(oldKey, keyRow(this.keyColumns, null, before), ev.source, ev.pos, 0);
  }

  /** The old key of a create a primary-key change produced; undefined when it is unusable or the same key. */
  private movedFrom(old: Row, newKey: string): { key: string; row: Row } | undefined {
    const key = encodeKey(this.keyColumns, old, null);
    if (key === undefined || key === newKey) return undefined;
    return { key, row: keyRow(this.keyColumns, old, null) };
  }

  /**
   * An upsert writes the row itself, so the row must hold every key column (the Kafka key alone is
   * not written). A flattened value without them (`{"hello":"world"}` on a table keyed by id) is
   * refused here, per record, rather than failing the whole flush in apply.
   */
  private requireKeyInRow(ev: ChangeEvent, after: Row): void {
    let missing: string[] | undefined;
    for (const col of this.keyColumns) {
      const v = keyValue(col, null, after);
      if (v === undefined || v === UNAVAILABLE) (missing ??= []).push(col);
    }
    if (missing === undefined) return;
    const present = Object.keys(after);
    throw new DataError(
      `cannot merge into ${this.name()}: the row of this op '${ev.op}' event has no value for key column(s) ` +
        `${missing.map((c) => `"${c}"`).join(', ')} (it holds ${present.length === 0 ? 'no columns' : present.slice(0, 8).map((c) => `"${c}"`).join(', ') + (present.length > 8 ? ', …' : '')}); ` +
        'the record is not a change event of this table, or its value was produced without the key columns ' +
        '(e.g. an SMT that drops them): fix the producer, or declare the right primary_key in the sink options',
      ev.pos,
    );
  }

  private noKey(ev: ChangeEvent, image: 'before' | 'after'): DataError {
    return new DataError(
      `cannot merge into ${this.name()}: event (op '${ev.op}') has no usable value for key column(s) ` +
        `${this.keyColumns.join(', ')} in its key or '${image}' row; declare the table's real ` +
        'primary_key in the sink options, or use incremental_strategy append',
      ev.pos,
    );
  }

  private name(): string {
    return `${this.target.schema}.${this.target.table}`;
  }
}
