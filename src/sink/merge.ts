/**
 * merge: TRUNCATE (if one happened) → COPY upserts to staging (placeholders of moved rows filled
 * from the target's row under their old key) → COPY deletes to staging → DELETE USING →
 * INSERT … ON CONFLICT per distinct unavailable-column mask. The buffer has already reduced the
 * batch to one entry per key, so deletes and upserts never touch the same key and no statement
 * meets a key twice.
 */
import type { PoolClient } from 'pg';
import { hasUnavailable, type TableBatch } from '../kernel/types';
import { rowOf } from '../copy-text/line';
import { CopyLine } from '../kernel/types';
import { FatalError } from '../kernel/errors';
import type { TargetInfo } from './catalog';
import { appendRow, copyChunks, unavailableMask } from '../copy-text/encode';
import { copyInto } from './copy-into';
import { APPEND_COPIED, DELETED_AT, metadataText, SOURCE_POS, sourceTimeText, STAGE_CARRY, STAGE_FROM, STAGE_MASK, STAGE_POS } from './metadata';
import { markTruncated, metadataOwn, metadataStaging, recordSeen, upsertOwn, type MergeExtras } from './soft-delete';
import { softDeleteUsingStagingSql } from './sql/soft-delete';
import { positionText } from './position';
import { copyFromStdinSql } from './sql/copy-from-stdin';
import { createStagingSql, type StagingColumn } from './sql/create-staging';
import { deleteUsingStagingSql } from './sql/delete-using-staging';
import { ident, tableName } from '../pg/ident';
import { truncateTableSql } from './sql/truncate-table';
import { upsertFromStagingSql } from './sql/upsert-from-staging';
import { INDEX_JOINS_SQL } from './sql/index-joins';
import { fillFromOldKeysSql, stagedMasksSql } from './sql/fill-from-old-keys';
import { countUnresolvedSql } from './sql/count-unresolved';

export interface MergeContext extends MergeExtras {
  readonly info: TargetInfo;
  readonly keys: readonly string[];
  /** Unique within the transaction, names the staging tables. */
  readonly stage: number;
}

/** Staging columns typed as the target's columns, so COPY parses values exactly as the target would. */
export function stagingColumns(info: TargetInfo, names: readonly string[]): StagingColumn[] {
  return names.map((name) => {
    const col = info.byName.get(name);
    if (!col) throw new Error(`column ${ident(name)} missing from ${tableName(info.table)} after schema ensure`);
    return { name, type: col.type };
  });
}

export function checkReserved(names: readonly string[], table: string, ctx: MergeExtras): void {
  const own = [STAGE_MASK, STAGE_POS, STAGE_CARRY, ...(ctx.metadata.length > 0 ? APPEND_COPIED : []), ...(ctx.soft ? [DELETED_AT.name] : [])];
  for (const n of own) {
    if (names.includes(n) || (n === STAGE_CARRY && names.some((c) => c.startsWith(STAGE_FROM)))) throw new FatalError(`column ${ident(n)} of ${table} collides with a name nilus reserves`);
  }
}

export interface MergeOutcome {
  /**
   * Rows inserted with unchanged-TOAST placeholders no stored row could fill (a create after a
   * primary-key change whose old row was already gone, or sent without Debezium's old-key header):
   * those columns got their default (NULL) and the count is reported, never silent.
   */
  readonly unresolved: number;
  /** A few of their keys, as text. */
  readonly unresolvedKeys: readonly string[];
}

const NONE: MergeOutcome = { unresolved: 0, unresolvedKeys: [] };

/**
 * Upserts are staged first so a moved row's placeholders can be filled from the target's row
 * under its old key before the deletes remove that row; the statements then run deletes, then
 * upserts, as before.
 */
export async function applyMerge(client: PoolClient, batch: TableBatch, ctx: MergeContext): Promise<MergeOutcome> {
  if (batch.truncate) await (ctx.soft ? markTruncated(client, batch, ctx) : client.query(truncateTableSql(batch.target)));
  const staged = batch.upserts.length > 0 ? await stageUpserts(client, batch, ctx) : undefined;
  if (batch.deletes.length > 0 || staged?.carry) await client.query(INDEX_JOINS_SQL);
  let outcome = NONE;
  if (staged?.carry) {
    if (staged.from) await fillFromOldKeys(client, batch, ctx, staged);
    outcome = await countUnresolved(client, batch, ctx, staged.name);
  }
  if (batch.deletes.length > 0) await applyDeletes(client, batch, ctx);
  if (staged) await upsertStaged(client, batch, ctx, staged);
  if (staged && ctx.seen) await recordSeen(client, ctx.info, ctx.keys, staged.name, ctx.seen);
  return outcome;
}

async function applyDeletes(client: PoolClient, batch: TableBatch, ctx: MergeContext): Promise<void> {
  if (ctx.soft) await insertKept(client, batch, ctx);
  const staging = `nilus_stage_${ctx.stage}_d`;
  const cols = stagingColumns(ctx.info, ctx.keys);
  const names = [...ctx.keys];
  if (ctx.guard) {
    cols.push({ name: STAGE_POS, type: 'bigint' });
    names.push(STAGE_POS);
  }
  // soft: the mark (the delete's source time), then the metadata values
  const extra = ctx.soft ? [{ name: DELETED_AT.name, type: DELETED_AT.type }, ...metadataStaging(ctx)] : [];
  cols.push(...extra);
  names.push(...extra.map((c) => c.name));
  await client.query(createStagingSql(staging, cols));
  const rows = batch.deletes;
  const keyNames = ctx.keys;
  await copyInto(
    client,
    copyFromStdinSql(staging, names),
    copyChunks(rows.length, (i, out) => {
      const row = rows[i]!;
      if (unavailableMask(row, keyNames) !== null) {
        throw new FatalError(`a delete for ${tableName(batch.target)} lacks a value for key (${keyNames.join(', ')})`);
      }
      out = appendRow(out, row, keyNames);
      if (ctx.guard) out += '\t' + positionText(batch.deleteSource[i]);
      if (ctx.soft) out += '\t' + sourceTimeText(batch.deleteSource[i]);
      if (ctx.soft && ctx.metadata.length > 0) out += '\t' + metadataText('d', batch.deleteSource[i], batch.deletePos?.[i]);
      return out;
    }),
  );
  const guard = ctx.guard ? { stagingColumn: STAGE_POS, targetColumn: SOURCE_POS.name } : undefined;
  await client.query(
    ctx.soft
      ? softDeleteUsingStagingSql({ target: batch.target, staging, keyColumns: ctx.keys, deletedAt: DELETED_AT.name, set: metadataOwn(ctx), guard })
      : deleteUsingStagingSql({ target: batch.target, staging, keyColumns: ctx.keys, guard }),
  );
}

/**
 * delete_mode soft: a key created (or updated) and deleted within one batch may not be in the
 * target yet. Its last row is inserted when the key is absent (present rows are left alone), so
 * the soft delete that follows marks it like any other: what lands does not depend on where
 * flushes fall.
 */
async function insertKept(client: PoolClient, batch: TableBatch, ctx: MergeContext): Promise<void> {
  const kept = batch.deleteRows;
  if (!kept) return;
  const at: number[] = [];
  for (let i = 0; i < batch.deletes.length; i++) if (kept[i] !== undefined) at.push(i);
  if (at.length === 0) return;
  const pos = batch.deletePos;
  const rows: TableBatch = {
    ...batch,
    truncate: false,
    upserts: at.map((i) => kept[i]!),
    upsertSource: at.map((i) => batch.deleteSource[i]!),
    ...(pos ? { upsertPos: at.map((i) => pos[i]!) } : {}),
    upsertOp: at.map(() => 'd' as const),
    upsertFrom: undefined,
    deletes: [],
    deleteSource: [],
  };
  await upsertStaged(client, rows, ctx, await stageUpserts(client, rows, ctx, 'k'), true);
}

interface Staged {
  readonly name: string;
  readonly dataCols: readonly string[];
  /** Distinct unavailable-column masks of the staged rows (null: a row with every column). */
  masks: Set<string | null>;
  /** Some row holds an unchanged-TOAST placeholder (marked in STAGE_CARRY). */
  readonly carry: boolean;
  /** Some such row moved from an old key: the staging table has the STAGE_FROM columns. */
  readonly from: boolean;
}

async function stageUpserts(client: PoolClient, batch: TableBatch, ctx: MergeContext, suffix = 'u'): Promise<Staged> {
  const name = `nilus_stage_${ctx.stage}_${suffix}`;
  const dataCols = batch.columns.map((c) => c.name);
  checkReserved(dataCols, tableName(batch.target), ctx);
  const keyIdx = new Set(ctx.keys.map((k) => dataCols.indexOf(k)));
  const cols = stagingColumns(ctx.info, dataCols);
  cols.push({ name: STAGE_MASK, type: 'text' });
  if (ctx.guard) cols.push({ name: STAGE_POS, type: 'bigint' });

  const rows = batch.upserts;
  const from = batch.upsertFrom;
  // Whether a row holds a placeholder is learnt while its mask is computed for COPY (only a masked
  // row can), so the column is always staged; the buffer sets upsertFrom only for such rows.
  let carry = false;
  cols.push({ name: STAGE_CARRY, type: 'boolean' });
  const withFrom = from !== undefined && from.some((r) => r !== undefined);
  if (withFrom) cols.push(...stagingColumns(ctx.info, ctx.keys).map((c, j) => ({ name: STAGE_FROM + j, type: c.type })));
  const meta = ctx.metadata.length > 0;
  cols.push(...metadataStaging(ctx));
  await client.query(createStagingSql(name, cols));

  const masks = new Set<string | null>();
  // A held line is streamed as it is when its columns are the batch's, in the same order (rows of
  // one schema share one names array, so this is decided once per schema, not per row).
  let lastNames: readonly string[] | undefined;
  let lastFits = false;
  const fits = (names: readonly string[]): boolean => {
    if (names !== lastNames) {
      lastNames = names;
      lastFits = names.length === dataCols.length && names.every((n, j) => n === dataCols[j]);
    }
    return lastFits;
  };
  const noFrom = ctx.keys.map(() => '\\N').join('\t');
  await copyInto(
    client,
    copyFromStdinSql(name, cols.map((c) => c.name)),
    copyChunks(rows.length, (i, out) => {
      const held = rows[i]!;
      let mask: string | null = null;
      let carried = false;
      if (held instanceof CopyLine && fits(held.names)) {
        // Every column known (the decode path holds no placeholder as a line), in this order.
        out += held.line + '\t\\N';
        masks.add(null);
      } else {
        const row = rowOf(held);
        mask = unavailableMask(row, dataCols);
        if (mask !== null) {
          masks.add(mask);
          for (const j of mask.split(',')) {
            if (keyIdx.has(Number(j))) {
              throw new FatalError(`an upsert for ${tableName(batch.target)} lacks a value for key column ${ident(dataCols[Number(j)]!)}`);
            }
          }
        } else masks.add(null);
        out = appendRow(out, row, dataCols) + '\t' + (mask ?? '\\N');
        carried = mask !== null && hasUnavailable(row);
      }
      if (ctx.guard) out += '\t' + positionText(batch.upsertSource[i]);
      if (carried) carry = true;
      out += carried ? '\tt' : '\tf';
      if (withFrom) {
        const old = from![i];
        out += '\t' + (old === undefined ? noFrom : appendRow('', old, ctx.keys));
      }
      if (meta) out += '\t' + metadataText(batch.upsertOp?.[i] ?? 'u', batch.upsertSource[i], batch.upsertPos?.[i]);
      return out;
    }),
  );
  return { name, dataCols, masks, carry, from: withFrom };
}

/**
 * Moved rows (a create after a primary-key change) take their placeholder columns from the
 * target's row under the old key, which the deletes of this batch have not removed yet. A filled
 * row has every column, so its mask is cleared; the masks are read again afterwards.
 */
async function fillFromOldKeys(client: PoolClient, batch: TableBatch, ctx: MergeContext, staged: Staged): Promise<void> {
  const masked = new Set<number>();
  for (const m of staged.masks) if (m !== null) for (const j of m.split(',')) masked.add(Number(j));
  const maskedColumns = [...masked].sort((a, b) => a - b).map((index) => ({ index, name: staged.dataCols[index]! }));
  await client.query(fillFromOldKeysSql({ staging: staged.name, target: batch.target, keyColumns: ctx.keys, maskedColumns }));
  const res = await client.query<{ m: string | null }>(stagedMasksSql(staged.name));
  staged.masks = new Set(res.rows.map((r) => r.m));
}

/** Placeholder rows whose key the target does not hold: they are inserted without those values. */
async function countUnresolved(client: PoolClient, batch: TableBatch, ctx: MergeContext, staging: string): Promise<MergeOutcome> {
  const res = await client.query<{ n: number; keys: string[] | null }>(countUnresolvedSql(staging, batch.target, ctx.keys));
  const r = res.rows[0];
  return r && r.n > 0 ? { unresolved: r.n, unresolvedKeys: r.keys ?? [] } : NONE;
}

async function upsertStaged(client: PoolClient, batch: TableBatch, ctx: MergeContext, staged: Staged, insertOnly = false): Promise<void> {
  // One statement per distinct mask rather than CASE WHEN per column: a masked column must be
  // left out of the INSERT list entirely so a brand-new row gets the column's DEFAULT (a CASE
  // could only give NULL), and the common batch (no unavailable values) stays one plain statement.
  const guard = ctx.guard ? { stagingColumn: STAGE_POS, targetColumn: SOURCE_POS.name } : undefined;
  const { dataCols, masks } = staged;
  const own = upsertOwn(ctx);
  for (const mask of masks) {
    const skip = new Set(mask === null ? [] : mask.split(',').map(Number));
    const { text, values } = upsertFromStagingSql({
      target: batch.target,
      staging: staged.name,
      keyColumns: ctx.keys,
      columns: dataCols.filter((_c, j) => !skip.has(j)),
      mask: masks.size > 1 ? { column: STAGE_MASK, value: mask } : undefined,
      guard,
      own,
      insertOnly,
      ...(ctx.skipUnchanged ? { skipUnchanged: true } : {}),
    });
    await client.query(text, values);
  }
}
