/**
 * `schema_change: variant`: a value whose type the target column cannot hold (and nilus does not
 * widen to) lands in a variant column `<col>__v_<type>` (src/sink/schema/widen.ts names it), the
 * original column NULL for that row. A row whose value fits the column lands there, its variant
 * columns NULL, so each row holds its value in exactly one of them.
 *
 * Routing is per row, by the row's own event schema (a batch can hold rows of the old and the new
 * type), and idempotent: a routed row states every slot, and a piece of the batch re-applied on
 * its own (isolating a rejected row) is routed again without change.
 */
import { rowOf } from '../../copy-text/line';
import { UNAVAILABLE, type ChangeEvent, type ColumnSpec, type Row, type TableBatch } from '../../kernel/types';
import type { TargetInfo } from '../catalog';
import { typeFits } from './type-compat';
import { variantColumn, variantsOf } from './widen';

interface Routed {
  readonly column: string;
  /** The target's type of the column. */
  readonly type: string;
  /** Every variant column of `column`: those in the target and those this batch needs. */
  readonly slots: Map<string, ColumnSpec>;
}

/**
 * The batch with its values routed, or the batch itself when no column needs it. Key columns are
 * never routed (a key must stay one column): their incompatible types are refused as before.
 */
export function routeVariants(batch: TableBatch, info: TargetInfo, keys: readonly string[]): TableBatch {
  const routed = new Map<string, Routed>();
  const rowSpecs = perRowSpecs(batch);
  for (const c of batch.columns) {
    const have = info.byName.get(c.name);
    if (!have || keys.includes(c.name)) continue;
    const existing = variantsOf(c.name, info.byName.keys());
    const incompatible = [c, ...rowSpecs.flatMap((s) => s.filter((x) => x.name === c.name))].filter((x) => !typeFits(x.pgType, have.type));
    if (incompatible.length === 0 && existing.length === 0) continue;
    const slots = new Map<string, ColumnSpec>();
    for (const name of existing) slots.set(name, { name, pgType: info.byName.get(name)!.type, optional: true, connectType: c.connectType });
    for (const x of incompatible) {
      const v = variantColumn(c.name, x.pgType);
      if (!slots.has(v.name)) slots.set(v.name, { name: v.name, pgType: v.type, optional: true, connectType: x.connectType });
    }
    routed.set(c.name, { column: c.name, type: have.type, slots });
  }
  if (routed.size === 0) return batch;
  const columns = reshape(batch.columns, routed);
  const specsOf = (own: readonly ColumnSpec[] | undefined): readonly ColumnSpec[] => own ?? batch.columns;
  if (batch.strategy === 'append') {
    const events = batch.events.map((ev): ChangeEvent => {
      const own = specsOf(ev.columns);
      return { ...ev, after: ev.after && route(ev.after, own, routed), before: ev.before && route(ev.before, own, routed), columns: reshape(own, routed) };
    });
    return { ...batch, columns, events };
  }
  const upserts = batch.upserts.map((r, i) => route(rowOf(r), specsOf(batch.upsertColumns?.[i]), routed));
  return {
    ...batch,
    columns,
    upserts,
    ...(batch.upsertColumns ? { upsertColumns: batch.upsertColumns.map((s) => reshape(s, routed)) } : {}),
    // delete_mode soft: the last image of a key created and deleted in this batch (its own schema
    // is not kept: it is routed by the batch's, the newest).
    ...(batch.deleteRows ? { deleteRows: batch.deleteRows.map((r) => (r === undefined ? r : route(rowOf(r), batch.columns, routed))) } : {}),
  };
}

function perRowSpecs(batch: TableBatch): readonly (readonly ColumnSpec[])[] {
  const all = batch.strategy === 'append' ? batch.events.map((e) => e.columns) : (batch.upsertColumns ?? []);
  return [...new Set(all)];
}

/** Specs with each routed column at the target's type, followed by its variant columns. */
function reshape(specs: readonly ColumnSpec[], routed: ReadonlyMap<string, Routed>): ColumnSpec[] {
  const out: ColumnSpec[] = [];
  const seen = new Set(specs.map((s) => s.name));
  for (const s of specs) {
    const r = routed.get(s.name);
    if (!r) {
      if (!out.some((o) => o.name === s.name)) out.push(s);
      continue;
    }
    out.push({ ...s, pgType: r.type });
    for (const v of r.slots.values()) if (!seen.has(v.name)) out.push(v), seen.add(v.name);
  }
  return out.filter((s, i) => out.findIndex((o) => o.name === s.name) === i);
}

/** One row with each routed value in its slot and the other slots of that column NULL (unless the row states them). */
function route(row: Row, specs: readonly ColumnSpec[], routed: ReadonlyMap<string, Routed>): Row {
  let out: Row | undefined;
  for (const r of routed.values()) {
    const v = row[r.column];
    // Absent (a dropped column) or an unchanged-TOAST placeholder: no slot is touched.
    if (v === undefined || v === UNAVAILABLE) continue;
    out ??= { ...row };
    const own = specs.find((s) => s.name === r.column);
    const slot = own === undefined || typeFits(own.pgType, r.type) ? r.column : variantColumn(r.column, own.pgType).name;
    if (slot !== r.column) {
      out[slot] = v;
      out[r.column] = null;
    }
    for (const s of [r.column, ...r.slots.keys()]) if (out[s] === undefined) out[s] = null;
  }
  return out ?? row;
}
