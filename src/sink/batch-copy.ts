/**
 * A batch run's rows as COPY text, straight from the table source into PostgreSQL. No row is held
 * or encoded here.
 *  - replace (TRUNCATE first) and batch append: one `COPY … FROM STDIN` for the whole run, fed
 *    page by page, so PostgreSQL parses rows while the next pages are read.
 *  - merge: per page, COPY into the run's staging table, then INSERT … ON CONFLICT DO UPDATE.
 * What the row path (pg-applier.ts applyAll) does besides is unchanged: the target is created or
 * checked by the schema manager, an empty source leaves a missing target missing, replace of an
 * empty source truncates, and delete_mode soft marks what the run did not read.
 * The run falls back to the row path for what needs values in hand (masks, metadata columns, the
 * stale-event guard, variant columns): src/batch/batch-run.ts decides.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { CopyTextPage } from '../copy-text/page';
import type { ColumnSpec, TableBatch, TableRef } from '../kernel/types';
import type { TargetInfo } from './catalog';
import { checkReserved, stagingColumns } from './merge';
import { recordSeen, upsertOwn, type MergeExtras, type SeenKeys } from './soft-delete';
import { truncateStagingSql } from './sql/truncate-staging';
import { copyFromStdinSql } from './sql/copy-from-stdin';
import { createStagingSql } from './sql/create-staging';
import { truncateTableSql } from './sql/truncate-table';
import { lockOutWritersSql, tableEmptySql } from './sql/target-empty';
import { upsertFromStagingSql } from './sql/upsert-from-staging';
import { tableName } from '../pg/ident';
import type { SchemaManager } from './schema/manager';

/** One batch run's rows, as COPY text of `columns`. */
export interface CopyTextLoad {
  readonly target: TableRef;
  readonly strategy: 'replace' | 'append' | 'merge';
  /** merge: the key upserts conflict on. */
  readonly keys: readonly string[];
  /** The key a created target gets. */
  readonly createKey: readonly string[];
  /**
   * merge: `keys` is the source table's own primary key, so no two source rows share a key and a
   * merge into an empty target is a plain COPY (loadCopyText).
   */
  readonly keysUnique?: boolean;
  readonly columns: readonly ColumnSpec[];
  readonly pages: AsyncIterable<CopyTextPage>;
}

/**
 * Batch merge reading the whole source table with delete_mode soft: the target's live rows whose
 * key the run did not read are marked deleted at `at`.
 */
export interface MarkMissing {
  readonly target: TableRef;
  readonly keys: readonly string[];
  readonly at: Date;
}

/** What a batch run's transaction does besides the rows (PgApplier's applyAll and copyAll). */
export interface BatchWriteOptions {
  /** Last in the transaction (the batch cursor), with the rows written. */
  readonly beforeCommit?: (client: PoolClient, rows: number) => Promise<void>;
  readonly markMissing?: MarkMissing;
}

/**
 * A batch run's context for its batches (PgApplier applyAll, copyAll); absent for a CDC flush. A
 * batch run re-reads rows that mostly did not change, so its upserts leave unchanged rows alone.
 */
export interface BatchRun {
  /** delete_mode soft over the whole table: the keys the run read. */
  readonly seen?: SeenKeys;
}

/** The run's staging table (merge): dropped at commit. */
export const RUN_STAGING = 'nilus_stage_run';

/** The shape the schema manager checks and creates the target by (no rows: they are in the pages). */
export function loadShape(load: CopyTextLoad, truncate: boolean): TableBatch {
  const none: never[] = [];
  return {
    target: load.target,
    strategy: load.strategy === 'merge' ? 'merge' : 'replace',
    keyColumns: load.keys,
    ...(load.createKey.length > 0 ? { createKey: load.createKey } : {}),
    columns: load.columns,
    truncate,
    upserts: none,
    upsertSource: none,
    deletes: none,
    deleteSource: none,
    events: none,
  };
}

/** The first page, and an iterator of the rest (one pass over the source). */
export async function firstPage(pages: AsyncIterable<CopyTextPage>): Promise<{ first: CopyTextPage | undefined; rest: AsyncIterator<CopyTextPage> }> {
  const rest = pages[Symbol.asyncIterator]();
  const r = await rest.next();
  return { first: r.done ? undefined : r.value, rest };
}

/** Streams `first` and the rest into `copySql`; resolves with the rows PostgreSQL reports. */
async function copyPages(client: PoolClient, copySql: string, first: CopyTextPage, rest: AsyncIterator<CopyTextPage>): Promise<number> {
  const sink = client.query(copyFrom(copySql));
  async function* texts(): AsyncGenerator<Buffer> {
    yield first.text;
    for (let r = await rest.next(); !r.done; r = await rest.next()) yield r.value.text;
  }
  // pipeline() destroys both sides on error: the COPY is failed (CopyFail) and the source read ended.
  await pipeline(Readable.from(texts(), { objectMode: false }), sink);
  return sink.rowCount;
}

/** replace / append: the rows into the target (after TRUNCATE for replace). */
export async function copyIntoTarget(client: PoolClient, load: CopyTextLoad, first: CopyTextPage, rest: AsyncIterator<CopyTextPage>): Promise<number> {
  if (load.strategy === 'replace') await client.query(truncateTableSql(load.target));
  return copyPages(client, copyFromStdinSql(load.target, load.columns.map((c) => c.name)), first, rest);
}

/**
 * merge: each page into the run's staging table (emptied between pages), then one upsert of it;
 * the next page is read from the source while PostgreSQL upserts. Returns the rows staged.
 * Staging per page measured cheaper for PostgreSQL than one staging table holding the whole run
 * (docs/benchmark.md, Batch): a page's staging stays in temp_buffers. With `extras.seen`
 * (delete_mode soft over the whole table) each page's keys join the run's seen keys.
 */
export async function mergeViaStaging(
  client: PoolClient,
  load: CopyTextLoad,
  info: TargetInfo,
  extras: MergeExtras,
  first: CopyTextPage,
  rest: AsyncIterator<CopyTextPage>,
): Promise<number> {
  const names = load.columns.map((c) => c.name);
  checkReserved(names, tableName(load.target), extras);
  await client.query(createStagingSql(RUN_STAGING, stagingColumns(info, names)));
  const copySql = copyFromStdinSql(RUN_STAGING, names);
  const upsert = upsertFromStagingSql({
    target: load.target, staging: RUN_STAGING, keyColumns: load.keys, columns: names, own: upsertOwn(extras), ...(extras.skipUnchanged ? { skipUnchanged: true } : {}),
  });
  let rows = 0;
  for (let page: CopyTextPage | undefined = first; page !== undefined; ) {
    if (rows > 0) await client.query(truncateStagingSql(RUN_STAGING));
    const sink = client.query(copyFrom(copySql));
    await pipeline(Readable.from([page.text], { objectMode: false }), sink);
    rows += sink.rowCount;
    const next = rest.next();
    next.catch(() => undefined); // awaited below; a failed read must not count as unhandled meanwhile
    await client.query(upsert.text, upsert.values);
    if (extras.seen) await recordSeen(client, info, load.keys, RUN_STAGING, extras.seen);
    const r = await next;
    page = r.done ? undefined : r.value;
  }
  return rows;
}

/**
 * The whole run inside the caller's transaction: the target made ready by the schema manager on
 * the first page, then the rows.
 */
export async function loadCopyText(client: PoolClient, load: CopyTextLoad, schema: SchemaManager, extras: MergeExtras): Promise<Loaded> {
  const { first, rest } = await firstPage(load.pages);
  if (first === undefined) {
    // As the row path: an empty source leaves a missing target missing; replace empties an existing one.
    if (load.strategy === 'replace' && (await schema.describe(client, load.target))) await client.query(truncateTableSql(load.target));
    return { rows: 0 };
  }
  const shape = loadShape(load, load.strategy === 'replace');
  const { info, batch } = await schema.ensure(client, shape);
  if (batch !== shape) throw new Error(`${tableName(load.target)}: variant columns need each row's values; such a run takes the row path`);
  if (load.strategy !== 'merge') return { rows: await copyIntoTarget(client, load, first, rest) };
  if (await mergesAsCopy(client, load, info, extras)) {
    return { rows: await copyPages(client, copyFromStdinSql(load.target, load.columns.map((c) => c.name)), first, rest), mergedAsCopy: true };
  }
  return { rows: await mergeViaStaging(client, load, info, extras, first, rest) };
}

/** What loadCopyText did. */
export interface Loaded {
  /** Rows written (staged, for a merge through staging). */
  readonly rows: number;
  /** A merge into an empty target copied its rows straight in (mergesAsCopy). */
  readonly mergedAsCopy?: boolean;
}

/**
 * Whether a merge can COPY its rows straight into the target: the target is empty (checked again
 * under a lock that keeps other writers out until the run commits), the key is the source's own
 * primary key (no two rows conflict), and what the upsert writes besides the row is NULL, which
 * COPY leaves there too (delete_mode soft: the mark cleared, in a column without a default).
 * Every row is then an insert, which is what COPY does, at a fraction of PostgreSQL's cost per row
 * (docs/benchmark.md, Batch). Nothing is left to mark as deleted afterwards: every row of the
 * target is one the run read (PgApplier.copyAll skips the sweep).
 */
async function mergesAsCopy(client: PoolClient, load: CopyTextLoad, info: TargetInfo, extras: MergeExtras): Promise<boolean> {
  if (!load.keysUnique) return false;
  if (!upsertOwn(extras).every((c) => c.value === 'null' && info.byName.get(c.column)?.hasDefault === false)) return false;
  const empty = async (): Promise<boolean> => (await client.query<{ empty: boolean }>(tableEmptySql(load.target))).rows[0]!.empty;
  if (!(await empty())) return false;
  // Other writers wait for the run's COMMIT from here; then look again (one may have come first).
  await client.query(lockOutWritersSql(load.target));
  return empty();
}
