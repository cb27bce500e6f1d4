/**
 * Finding the rows PostgreSQL rejects (22xxx data exceptions, 23xxx constraint violations) so they
 * can be dead-lettered while the rest of the flush still applies, in the same transaction and in
 * order. Used only after a flush failed with a data error: the normal path pays nothing for it.
 * Pieces are bisected under savepoints until the failing piece is a single row.
 */
import { rowOf } from '../copy-text/line';
import type { ChangeEvent, ColumnSpec, Position, Row, TableBatch } from '../kernel/types';
import type { TargetInfo } from './catalog';

/** One row PostgreSQL would not take, with where it came from. */
export interface RejectedRow {
  /** The target, quoted (`"analytics"."orders"`). */
  readonly table: string;
  readonly pos: Position | undefined;
  readonly op: 'upsert' | 'delete' | 'append';
  readonly row: Row;
  readonly error: Error;
  /** The columns (and their types) of the event behind the row, when known. */
  readonly eventColumns?: readonly ColumnSpec[];
  /** The target's column types (as format_type prints them) by name, when the target exists. */
  readonly targetTypes?: ReadonlyMap<string, string>;
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
    return [{ ...b, upserts: [], upsertSource: [], upsertPos: [], upsertColumns: [], upsertOp: [], upsertFrom: undefined, deletes: [], deleteSource: [], deletePos: [], deleteRows: [], events: [] }, { ...b, truncate: false }];
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
    ...(b.deleteRows ? { deleteRows: cut(b.deleteRows, from, Math.min(to, nd)) } : {}),
    upserts: cut(b.upserts, from - nd, to - nd),
    upsertSource: cut(b.upsertSource, from - nd, to - nd),
    upsertPos: cut(b.upsertPos, from - nd, to - nd),
    ...(b.upsertColumns ? { upsertColumns: cut(b.upsertColumns, from - nd, to - nd) } : {}),
    ...(b.upsertOp ? { upsertOp: cut(b.upsertOp, from - nd, to - nd) } : {}),
    ...(b.upsertFrom ? { upsertFrom: cut(b.upsertFrom, from - nd, to - nd) } : {}),
  });
  const total = nd + b.upserts.length;
  return [withOwnColumns(part(0, h)), withOwnColumns(part(h, total))];
}

/**
 * A piece carries the union of its own rows' columns when each row's are known: a batch's union
 * lets a later schema win, so a piece of older rows would otherwise be checked against (and
 * rejected for) a type only the newer rows have.
 */
function withOwnColumns(p: TableBatch): TableBatch {
  let own: readonly (readonly ColumnSpec[])[] | undefined;
  if (p.strategy === 'append') own = p.events.map((e) => e.columns);
  else if (p.upsertColumns && p.upsertColumns.length === p.upserts.length && p.upsertColumns.every((c) => c.length > 0)) own = p.upsertColumns;
  if (own === undefined || own.length === 0) return p;
  const specs: ColumnSpec[] = [];
  const at = new Map<string, number>();
  let last: readonly ColumnSpec[] | undefined;
  for (const cols of own) {
    if (cols === last) continue;
    last = cols;
    for (const c of cols) {
      const i = at.get(c.name);
      if (i === undefined) {
        at.set(c.name, specs.length);
        specs.push(c);
      } else specs[i] = c;
    }
  }
  return { ...p, columns: specs };
}

/** The single row of a one-row piece; `info` is the target as it stands (for the column types). */
export function onlyRow(b: TableBatch, table: string, error: Error, info?: TargetInfo): RejectedRow {
  const targetTypes = info ? new Map(info.columns.map((c) => [c.name, c.type])) : undefined;
  const extra = (eventColumns: readonly ColumnSpec[] | undefined) => ({
    ...(eventColumns && eventColumns.length > 0 ? { eventColumns } : b.columns.length > 0 ? { eventColumns: b.columns } : {}),
    ...(targetTypes ? { targetTypes } : {}),
  });
  if (b.strategy === 'append') {
    const ev: ChangeEvent = b.events[0]!;
    return { table, pos: ev.pos, op: 'append', row: ev.after ?? ev.before ?? ev.key ?? {}, error, ...extra(ev.columns) };
  }
  if (b.deletes.length > 0) return { table, pos: b.deletePos?.[0], op: 'delete', row: b.deletes[0]!, error, ...extra(undefined) };
  return { table, pos: b.upsertPos?.[0], op: 'upsert', row: rowOf(b.upserts[0]!), error, ...extra(b.upsertColumns?.[0]) };
}
