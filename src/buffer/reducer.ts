/**
 * The merge reduction: at most one entry per primary key, holding the last state of that key
 * in the order events were added (an upsert of the full row, or a delete).
 *
 * Because upserts and deletes end up on disjoint keys, apply may run all upserts then all
 * deletes without changing the result.
 */
import { hasUnavailable, setColumn, UNAVAILABLE, type ColumnSpec, type Op, type Position, type Row, type SourceInfo } from '../kernel/types';
import { rowOf } from '../copy-text/line';
import { CopyLine, type HeldRow } from '../kernel/types';

const NO_COLUMNS: readonly ColumnSpec[] = Object.freeze([]);

interface Entry {
  /** true: delete the key; false: upsert `row`. */
  del: boolean;
  /** The full row (upsert; a COPY line from the fast decode path) or the key-columns row (delete). */
  row: HeldRow;
  source: SourceInfo;
  /** Kafka position of the event, so a row PostgreSQL rejects can be dead-lettered by origin. */
  pos: Position;
  /** The op of the event behind an upsert ('c' | 'r' | 'u'), for metadata_columns. */
  op: Op;
  /** Bytes this entry holds: ownBytes, plus the kept row's when `moved` is set. */
  bytes: number;
  /** ev.bytes of the event this entry was produced by, for exact accounting. */
  ownBytes: number;
  /** The columns (with their types) of the event behind an upsert, so a piece of a batch knows its own types. */
  columns: readonly ColumnSpec[];
  /**
   * Upsert still holding placeholders, produced by a primary-key change: the old key row, so apply
   * can fill them from the target (see TableBatch.upsertFrom).
   */
  from?: Row;
  /**
   * Delete of a key whose row moved to a new key, replacing a buffered upsert: that row, kept until
   * the create under the new key has carried its values (its bytes stay counted in `bytes`).
   */
  moved?: HeldRow;
}

export interface Reduced {
  upserts: HeldRow[];
  upsertSource: SourceInfo[];
  upsertPos: Position[];
  /** The event columns of each upsert (same index). */
  upsertColumns: (readonly ColumnSpec[])[];
  upsertOp: Op[];
  /** Set only when some upsert needs it: see TableBatch.upsertFrom. */
  upsertFrom?: (Row | undefined)[];
  deletes: Row[];
  deleteSource: SourceInfo[];
  deletePos: Position[];
  /** Only when rows of deleted keys are kept: see TableBatch.deleteRows. */
  deleteRows?: (HeldRow | undefined)[];
}

export class Reducer {
  private entries = new Map<string, Entry>();
  private heldBytes = 0;

  /**
   * `keepDeleted` (delete_mode soft): a delete replacing a buffered upsert keeps that row (as
   * `moved`, counted in bytes) and hands it over with the batch (TableBatch.deleteRows).
   */
  constructor(private readonly keepDeleted = false) {}

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.heldBytes;
  }

  /**
   * `from`: the create was produced by a primary-key change from that key (encoded, and as a key
   * row). Placeholders are then filled from the row buffered under the old key, if any; what stays
   * unknown is left to apply, which reads the target's row under the old key.
   */
  upsert(
    key: string,
    row: HeldRow,
    source: SourceInfo,
    pos: Position,
    bytes: number,
    columns: readonly ColumnSpec[] = NO_COLUMNS,
    from?: { readonly key: string; readonly row: Row },
    op: Op = 'u',
  ): void {
    let carried: Row | undefined;
    if (from !== undefined && !(row instanceof CopyLine) && hasUnavailable(row)) {
      const old = this.entries.get(from.key);
      const oldRow = old === undefined ? undefined : old.del ? old.moved : old.row;
      if (oldRow !== undefined) row = carryForward(oldRow, row);
      // Filled from the buffer, the old row is no longer needed (the delete stays).
      if (old?.moved !== undefined && !this.keepDeleted) {
        old.moved = undefined;
        this.heldBytes -= old.bytes - old.ownBytes;
        old.bytes = old.ownBytes;
      }
      carried = !(row instanceof CopyLine) && hasUnavailable(row) ? from.row : undefined;
    }
    const prev = this.entries.get(key);
    if (prev === undefined) {
      this.entries.set(key, { del: false, op, row, source, pos, bytes, ownBytes: bytes, columns, from: carried });
      this.heldBytes += bytes;
      return;
    }
    // After a delete the old row is gone, so nothing may be carried from it.
    const merged = prev.del ? row : carryForward(prev.row, row);
    // A later upsert of a moved row keeps the old key to fill from, as long as placeholders remain.
    const stillFrom = carried ?? (prev.del ? undefined : prev.from);
    this.replace(prev, false, merged, source, pos, bytes);
    prev.columns = columns;
    prev.op = op;
    prev.from = stillFrom !== undefined && !(merged instanceof CopyLine) && hasUnavailable(merged) ? stillFrom : undefined;
  }

  /** `moving`: the row lives on under a new key (a primary-key change), so a buffered row is kept for it. */
  delete(key: string, keyRow: Row, source: SourceInfo, pos: Position, bytes: number, moving = false): void {
    const prev = this.entries.get(key);
    if (prev === undefined) {
      this.entries.set(key, { del: true, op: 'd', row: keyRow, source, pos, bytes, ownBytes: bytes, columns: NO_COLUMNS });
      this.heldBytes += bytes;
      return;
    }
    // A create then a delete is still a delete: the key may exist in the target from an
    // earlier flush, so the delete must reach PostgreSQL.
    // the row a delete keeps: the buffered upsert's, or (kept rows) the one an earlier delete kept
    const kept = !prev.del ? prev.row : this.keepDeleted ? prev.moved : undefined;
    const moved = moving || this.keepDeleted ? kept : undefined;
    const movedBytes = moved === undefined ? 0 : prev.del ? prev.bytes - prev.ownBytes : prev.ownBytes;
    this.replace(prev, true, keyRow, source, pos, bytes + movedBytes);
    prev.op = 'd';
    prev.ownBytes = bytes;
    prev.moved = moved;
    prev.from = undefined;
  }

  clear(): void {
    this.entries = new Map();
    this.heldBytes = 0;
  }

  /** Hands the reduced rows over (in first-seen key order) and clears. */
  drain(): Reduced {
    const out: Reduced = { upserts: [], upsertSource: [], upsertPos: [], upsertColumns: [], upsertOp: [], deletes: [], deleteSource: [], deletePos: [] };
    let from: (Row | undefined)[] | undefined;
    if (this.keepDeleted) out.deleteRows = [];
    for (const e of this.entries.values()) {
      if (e.from !== undefined) {
        from ??= new Array<Row | undefined>(out.upserts.length);
        from[out.upserts.length] = e.from;
      }
      if (e.del) {
        out.deletes.push(e.row as Row); // a delete holds a key row, never a line
        out.deleteSource.push(e.source);
        out.deletePos.push(e.pos);
        out.deleteRows?.push(e.moved);
      } else {
        out.upserts.push(e.row);
        out.upsertSource.push(e.source);
        out.upsertPos.push(e.pos);
        out.upsertColumns.push(e.columns);
        out.upsertOp.push(e.op);
      }
    }
    if (from !== undefined) {
      from.length = out.upserts.length;
      out.upsertFrom = from;
    }
    this.clear();
    return out;
  }

  private replace(e: Entry, del: boolean, row: HeldRow, source: SourceInfo, pos: Position, bytes: number): void {
    this.heldBytes += bytes - e.bytes;
    e.del = del;
    e.row = row;
    e.source = source;
    e.pos = pos;
    e.bytes = bytes;
    e.ownBytes = bytes;
    e.moved = undefined;
  }
}


/**
 * `next` with every unchanged-TOAST placeholder replaced by the real value `prev` holds for that
 * column, if any. A real value must never be lost to a placeholder: once the batch is reduced,
 * apply only sees `next`, and a placeholder there would make it keep the value stored in the
 * target, which is older than `prev`'s. `next` (the event's own object) is never mutated; a copy
 * is made only when something is carried.
 */
export function carryForward(prev: HeldRow, next: HeldRow): HeldRow {
  // A line has every column (the decode path holds no placeholder as a line): nothing to carry.
  if (next instanceof CopyLine) return next;
  let out: Row | undefined;
  let prevRow: Row | undefined;
  for (const col in next) {
    if (next[col] !== UNAVAILABLE) continue;
    prevRow ??= rowOf(prev);
    if (!Object.prototype.hasOwnProperty.call(prevRow, col)) continue;
    const old = prevRow[col];
    if (old === UNAVAILABLE || old === undefined) continue;
    if (out === undefined) out = { ...next };
    setColumn(out, col, old);
  }
  return out ?? next;
}
