/**
 * What delete_mode soft and metadata_columns add to a merge (merge.ts): the columns nilus fills
 * itself on the target, a truncate that marks rows instead of removing them, and the keys a full
 * batch run read, so the rows it no longer found are marked (see docs/manifest.md, "Delete modes").
 */
import type { PoolClient } from 'pg';
import type { TableBatch, TableRef } from '../kernel/types';
import type { TargetInfo } from './catalog';
import { APPEND_COPIED, APPEND_METADATA, APPLIED_AT, DELETED_AT, metadataValues, SOURCE_POS } from './metadata';
import { positionText } from './position';
import { createStagingSql, type StagingColumn } from './sql/create-staging';
import { insertSeenSql } from './sql/insert-seen';
import { markLiveRowsSql } from './sql/mark-live-rows';
import type { OwnColumn } from './sql/own-columns';
import { ident, tableName } from '../pg/ident';

/** The merge options this file serves. */
export interface MergeExtras {
  readonly soft: boolean;
  /** metadata_columns: the `_nilus_*` target columns chosen (empty: none). */
  readonly metadata: readonly string[];
  readonly guard: boolean;
  /** Batch merge reading the whole table with delete_mode soft: the keys it read. */
  readonly seen?: SeenKeys;
  /** Batch runs: a present row whose values would not change is left untouched (upsertFromStagingSql skipUnchanged). */
  readonly skipUnchanged?: boolean;
}

/** A temporary table (dropped at commit) of the keys a batch run read. */
export interface SeenKeys {
  readonly name: string;
  created: boolean;
}

/** The metadata values staged with each row (every copied column: the statements pick the chosen ones). */
export function metadataStaging(x: MergeExtras): StagingColumn[] {
  if (x.metadata.length === 0) return [];
  return APPEND_METADATA.filter((c) => APPEND_COPIED.includes(c.name)).map((c) => ({ name: c.name, type: c.type }));
}

/** The chosen metadata columns: from staging, _nilus_applied_at with now(). */
export function metadataOwn(x: MergeExtras): OwnColumn[] {
  return x.metadata.map((column) => ({ column, value: column === APPLIED_AT ? 'now' : 'staging' }));
}

/** What an upsert writes besides the row: metadata, and a cleared soft-delete mark (the key lives again). */
export function upsertOwn(x: MergeExtras): OwnColumn[] {
  const own = metadataOwn(x);
  if (x.soft) own.push({ column: DELETED_AT.name, value: 'null' });
  return own;
}

/** A truncate under delete_mode soft: every live row marked with the truncate's source time. */
export async function markTruncated(client: PoolClient, batch: TableBatch, x: MergeExtras): Promise<void> {
  const src = batch.truncateSource;
  const params: unknown[] = [src?.tsMs !== undefined ? new Date(src.tsMs).toISOString() : null];
  const values = metadataValues('t', src, batch.truncatePos);
  const set: OwnColumn[] = [];
  for (const column of x.metadata) {
    if (column === APPLIED_AT) set.push({ column, value: 'now' });
    else {
      params.push(values[APPEND_COPIED.indexOf(column)] ?? null);
      set.push({ column, value: { param: params.length } });
    }
  }
  let guard: { column: string; param: number } | undefined;
  if (x.guard) {
    const p = positionText(src);
    params.push(p === '\\N' ? null : p);
    guard = { column: SOURCE_POS.name, param: params.length };
  }
  await client.query(markLiveRowsSql({ target: batch.target, deletedAt: DELETED_AT.name, set, ...(guard ? { guard } : {}) }), params);
}

/** Batch: the keys of a staged batch join the run's seen keys (the table made on first use, typed as the target's keys). */
export async function recordSeen(client: PoolClient, info: TargetInfo, keys: readonly string[], staging: string, seen: SeenKeys): Promise<void> {
  if (!seen.created) {
    const cols = keys.map((name) => {
      const c = info.byName.get(name);
      if (!c) throw new Error(`key column ${ident(name)} missing from ${tableName(info.table)}`);
      return { name, type: c.type };
    });
    await client.query(createStagingSql(seen.name, cols));
    seen.created = true;
  }
  await client.query(insertSeenSql(seen.name, staging, keys));
}

/**
 * Batch, after a run read the whole source table: live rows whose key it did not read are marked
 * deleted at `at` (when the run started reading). With no key read at all, every live row is.
 */
export async function markMissing(client: PoolClient, target: TableRef, keys: readonly string[], seen: SeenKeys, at: Date): Promise<number> {
  const sql = markLiveRowsSql({ target, deletedAt: DELETED_AT.name, set: [], ...(seen.created ? { notIn: { table: seen.name, keyColumns: keys } } : {}) });
  const res = await client.query(sql, [at.toISOString()]);
  return res.rowCount ?? 0;
}
