/**
 * Finding the rows PostgreSQL rejects (22xxx data exceptions, 23xxx constraint violations) so they
 * can be dead-lettered while the rest of the flush still applies, in the same transaction and in
 * order. Used only after a flush failed with a data error: the normal path pays nothing for it.
 * Pieces are bisected under savepoints until the failing piece is a single row.
 */
import type { ChangeEvent, Position, Row, TableBatch } from '../core/types';

/** One row PostgreSQL would not take, with where it came from. */
export interface RejectedRow {
  readonly table: string;
  readonly pos: Position | undefined;
  readonly op: 'upsert' | 'delete' | 'append';
  readonly row: Row;
  readonly error: Error;
}

export function batchRows(b: TableBatch): number {
  return b.strategy === 'append' ? b.events.length : b.deletes.length + b.upserts.length;
}

/**
 * Splits a batch in two, order kept. A truncate travels alone in the first piece: were it to ride
 * with rows that get rolled back, it would be lost with them.
 */
export function splitBatch(b: TableBatch): [TableBatch, TableBatch] {
  if (b.truncate) {
    return [{ ...b, upserts: [], upsertSource: [], upsertPos: [], deletes: [], deleteSource: [], deletePos: [], events: [] }, { ...b, truncate: false }];
  }
  if (b.strategy === 'append') {
    const h = b.events.length >> 1;
    return [{ ...b, events: b.events.slice(0, h) }, { ...b, events: b.events.slice(h) }];
  }
  // deletes first, then upserts, the order apply runs them in
  const nd = b.deletes.length;
  const h = (nd + b.upserts.length) >> 1;
  const cut = <T>(xs: readonly T[] | undefined, from: number, to: number): T[] => (xs ?? []).slice(Math.max(0, from), Math.max(0, to));
  const part = (from: number, to: number): TableBatch => ({
    ...b,
    deletes: cut(b.deletes, from, Math.min(to, nd)),
    deleteSource: cut(b.deleteSource, from, Math.min(to, nd)),
    deletePos: cut(b.deletePos, from, Math.min(to, nd)),
    upserts: cut(b.upserts, from - nd, to - nd),
    upsertSource: cut(b.upsertSource, from - nd, to - nd),
    upsertPos: cut(b.upsertPos, from - nd, to - nd),
  });
  const total = nd + b.upserts.length;
  return [part(0, h), part(h, total)];
}

/** The single row of a one-row piece. */
export function onlyRow(b: TableBatch, table: string, error: Error): RejectedRow {
  if (b.strategy === 'append') {
    const ev: ChangeEvent = b.events[0]!;
    return { table, pos: ev.pos, op: 'append', row: ev.after ?? ev.before ?? ev.key ?? {}, error };
  }
  if (b.deletes.length > 0) return { table, pos: b.deletePos?.[0], op: 'delete', row: b.deletes[0]!, error };
  return { table, pos: b.upsertPos?.[0], op: 'upsert', row: b.upserts[0]!, error };
}
