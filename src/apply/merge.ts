/**
 * merge: TRUNCATE (if one happened) → COPY deletes to staging → DELETE USING → COPY upserts to
 * staging → INSERT … ON CONFLICT per distinct unavailable-column mask. The buffer has already
 * reduced the batch to one entry per key, so deletes and upserts never touch the same key and
 * no statement meets a key twice.
 */
import type { PoolClient } from 'pg';
import type { TableBatch } from '../core/types';
import { FatalError } from '../core/errors';
import type { TargetInfo } from './catalog';
import { appendRow, copyChunks, unavailableMask } from './copy/encode';
import { copyInto } from './copy/copyInto';
import { SOURCE_POS, STAGE_MASK, STAGE_POS } from './metadata';
import { positionText } from './position';
import { copyFromStdinSql } from './sql/copyFromStdin';
import { createStagingSql, type StagingColumn } from './sql/createStaging';
import { deleteUsingStagingSql } from './sql/deleteUsingStaging';
import { ident, tableName } from './sql/ident';
import { truncateTableSql } from './sql/truncateTable';
import { upsertFromStagingSql } from './sql/upsertFromStaging';

export interface MergeContext {
  readonly info: TargetInfo;
  readonly keys: readonly string[];
  readonly guard: boolean;
  /** Unique within the transaction, names the staging tables. */
  readonly stage: number;
}

/** Staging columns typed as the target's columns, so COPY parses values exactly as the target would. */
function stagingColumns(info: TargetInfo, names: readonly string[]): StagingColumn[] {
  return names.map((name) => {
    const col = info.byName.get(name);
    if (!col) throw new Error(`column ${ident(name)} missing from ${tableName(info.table)} after schema ensure`);
    return { name, type: col.type };
  });
}

function checkReserved(names: readonly string[], table: string): void {
  for (const n of [STAGE_MASK, STAGE_POS]) {
    if (names.includes(n)) throw new FatalError(`column ${ident(n)} of ${table} collides with a name nilus reserves`);
  }
}

export async function applyMerge(client: PoolClient, batch: TableBatch, ctx: MergeContext): Promise<void> {
  if (batch.truncate) await client.query(truncateTableSql(batch.target));
  if (batch.deletes.length > 0) await applyDeletes(client, batch, ctx);
  if (batch.upserts.length > 0) await applyUpserts(client, batch, ctx);
}

async function applyDeletes(client: PoolClient, batch: TableBatch, ctx: MergeContext): Promise<void> {
  const staging = `nilus_stage_${ctx.stage}_d`;
  const cols = stagingColumns(ctx.info, ctx.keys);
  const names = [...ctx.keys];
  if (ctx.guard) {
    cols.push({ name: STAGE_POS, type: 'bigint' });
    names.push(STAGE_POS);
  }
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
      return ctx.guard ? out + '\t' + positionText(batch.deleteSource[i]) : out;
    }),
  );
  const guard = ctx.guard ? { stagingColumn: STAGE_POS, targetColumn: SOURCE_POS.name } : undefined;
  await client.query(deleteUsingStagingSql({ target: batch.target, staging, keyColumns: ctx.keys, guard }));
}

async function applyUpserts(client: PoolClient, batch: TableBatch, ctx: MergeContext): Promise<void> {
  const staging = `nilus_stage_${ctx.stage}_u`;
  const dataCols = batch.columns.map((c) => c.name);
  checkReserved(dataCols, tableName(batch.target));
  const keyIdx = new Set(ctx.keys.map((k) => dataCols.indexOf(k)));
  const cols = stagingColumns(ctx.info, dataCols);
  cols.push({ name: STAGE_MASK, type: 'text' });
  if (ctx.guard) cols.push({ name: STAGE_POS, type: 'bigint' });
  await client.query(createStagingSql(staging, cols));

  const rows = batch.upserts;
  const masks = new Set<string | null>();
  await copyInto(
    client,
    copyFromStdinSql(staging, cols.map((c) => c.name)),
    copyChunks(rows.length, (i, out) => {
      const row = rows[i]!;
      const mask = unavailableMask(row, dataCols);
      if (mask !== null) {
        masks.add(mask);
        for (const j of mask.split(',')) {
          if (keyIdx.has(Number(j))) {
            throw new FatalError(`an upsert for ${tableName(batch.target)} lacks a value for key column ${ident(dataCols[Number(j)]!)}`);
          }
        }
      } else masks.add(null);
      out = appendRow(out, row, dataCols) + '\t' + (mask ?? '\\N');
      return ctx.guard ? out + '\t' + positionText(batch.upsertSource[i]) : out;
    }),
  );
  // One statement per distinct mask rather than CASE WHEN per column: a masked column must be
  // left out of the INSERT list entirely so a brand-new row gets the column's DEFAULT (a CASE
  // could only give NULL), and the common batch (no unavailable values) stays one plain statement.
  const guard = ctx.guard ? { stagingColumn: STAGE_POS, targetColumn: SOURCE_POS.name } : undefined;
  for (const mask of masks) {
    const skip = new Set(mask === null ? [] : mask.split(',').map(Number));
    const { text, values } = upsertFromStagingSql({
      target: batch.target,
      staging,
      keyColumns: ctx.keys,
      columns: dataCols.filter((_c, j) => !skip.has(j)),
      mask: masks.size > 1 ? { column: STAGE_MASK, value: mask } : undefined,
      guard,
    });
    await client.query(text, values);
  }
}
