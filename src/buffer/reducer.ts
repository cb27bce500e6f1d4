/**
 * The merge reduction: at most one entry per primary key, holding the last state of that key
 * in the order events were added (an upsert of the full row, or a delete).
 *
 * Because upserts and deletes end up on disjoint keys, apply may run all upserts then all
 * deletes without changing the result.
 */
import { UNAVAILABLE, type ColumnSpec, type Position, type Row, type SourceInfo } from '../core/types';

const NO_COLUMNS: readonly ColumnSpec[] = Object.freeze([]);

interface Entry {
  /** true: delete the key; false: upsert `row`. */
  del: boolean;
  /** The full row (upsert) or the key-columns row (delete). */
  row: Row;
  source: SourceInfo;
  /** Kafka position of the event, so a row PostgreSQL rejects can be dead-lettered by origin. */
  pos: Position;
  /** ev.bytes of the event this entry was produced by, for exact accounting. */
  bytes: number;
  /** The columns (with their types) of the event behind an upsert, so a piece of a batch knows its own types. */
  columns: readonly ColumnSpec[];
}

export interface Reduced {
  upserts: Row[];
  upsertSource: SourceInfo[];
  upsertPos: Position[];
  /** The event columns of each upsert (same index). */
  upsertColumns: (readonly ColumnSpec[])[];
  deletes: Row[];
  deleteSource: SourceInfo[];
  deletePos: Position[];
}

export class Reducer {
  private entries = new Map<string, Entry>();
  private heldBytes = 0;

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.heldBytes;
  }

  upsert(key: string, row: Row, source: SourceInfo, pos: Position, bytes: number, columns: readonly ColumnSpec[] = NO_COLUMNS): void {
    const prev = this.entries.get(key);
    if (prev === undefined) {
      this.entries.set(key, { del: false, row, source, pos, bytes, columns });
      this.heldBytes += bytes;
      return;
    }
    // After a delete the old row is gone, so nothing may be carried from it.
    const merged = prev.del ? row : carryForward(prev.row, row);
    this.replace(prev, false, merged, source, pos, bytes);
    prev.columns = columns;
  }

  delete(key: string, keyRow: Row, source: SourceInfo, pos: Position, bytes: number): void {
    const prev = this.entries.get(key);
    if (prev === undefined) {
      this.entries.set(key, { del: true, row: keyRow, source, pos, bytes, columns: NO_COLUMNS });
      this.heldBytes += bytes;
      return;
    }
    // A create then a delete is still a delete: the key may exist in the target from an
    // earlier flush, so the delete must reach PostgreSQL.
    this.replace(prev, true, keyRow, source, pos, bytes);
  }

  clear(): void {
    this.entries = new Map();
    this.heldBytes = 0;
  }

  /** Hands the reduced rows over (in first-seen key order) and clears. */
  drain(): Reduced {
    const out: Reduced = { upserts: [], upsertSource: [], upsertPos: [], upsertColumns: [], deletes: [], deleteSource: [], deletePos: [] };
    for (const e of this.entries.values()) {
      if (e.del) {
        out.deletes.push(e.row);
        out.deleteSource.push(e.source);
        out.deletePos.push(e.pos);
      } else {
        out.upserts.push(e.row);
        out.upsertSource.push(e.source);
        out.upsertPos.push(e.pos);
        out.upsertColumns.push(e.columns);
      }
    }
    this.clear();
    return out;
  }

  private replace(e: Entry, del: boolean, row: Row, source: SourceInfo, pos: Position, bytes: number): void {
    this.heldBytes += bytes - e.bytes;
    e.del = del;
    e.row = row;
    e.source = source;
    e.pos = pos;
    e.bytes = bytes;
  }
}

/**
 * `next` with every unchanged-TOAST placeholder replaced by the real value `prev` holds for that
 * column, if any. A real value must never be lost to a placeholder: once the batch is reduced,
 * apply only sees `next`, and a placeholder there would make it keep the value stored in the
 * target, which is older than `prev`'s. `next` (the event's own object) is never mutated; a copy
 * is made only when something is carried.
 */
export function carryForward(prev: Row, next: Row): Row {
  let out: Row | undefined;
  for (const col in next) {
    if (next[col] !== UNAVAILABLE) continue;
    if (!Object.prototype.hasOwnProperty.call(prev, col)) continue;
    const old = prev[col];
    if (old === UNAVAILABLE || old === undefined) continue;
    if (out === undefined) out = { ...next };
    out[col] = old;
  }
  return out ?? next;
}
