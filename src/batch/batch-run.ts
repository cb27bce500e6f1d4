/**
 * One batch run: a source table (PostgreSQL or MySQL/MariaDB, behind the TableSource interface)
 * into the destination, in ONE PostgreSQL transaction, from one source snapshot.
 *  - replace: TRUNCATE, then every row (readers of the target wait for COMMIT, then see the new copy).
 *  - append:  rows added as they are (no metadata columns: a batch row is not a change event).
 *  - merge:   upsert by primary key (primary_key from the manifest, else the source table's).
 *             With delete_mode soft, a run that reads the whole table (no incremental_key) marks
 *             the target's rows it did not read as deleted (`_nilus_deleted_at` = the run's start).
 * With incremental_key (append, merge) a run reads only rows past the stored cursor, up to the
 * largest cursor value present when the run starts, and stores that value in the same transaction
 * as the rows (src/sink/batch-cursor.ts). Rows whose cursor is NULL are never read incrementally.
 *  - append reads `cursor > stored`: a row added later with a cursor equal to the stored value is
 *    not loaded (use a strictly increasing cursor, or merge).
 *  - merge reads `cursor >= stored`: rows at the stored value are read again and upserted, so
 *    late rows sharing it are not lost.
 *  - interval_start (inclusive) is where the first run starts; with interval_end (exclusive) the run
 *    is a bounded backfill of [interval_start, interval_end) that neither reads nor moves the cursor.
 * The destination is created from the source's column types when missing (auto_create).
 */
import type { PipelineConfig } from '../config/types';
import type { CoreEmitter } from '../kernel/events';
import { ConfigError } from '../kernel/errors';
import type { ColumnSpec, Row, TableBatch, TableRef } from '../kernel/types';
import type { BatchWriteOptions, PgApplier } from '../sink/pg-applier';
import type { CopyTextPage } from '../copy-text/page';
import { batchStateTable, readCursor, writeCursor, type StoredCursor } from '../sink/batch-cursor';
import type { Pool } from '../pg/pool';
import { resolveDestTable, requirePrimaryKey } from '../config';
import type { Logger } from '../observe/logger';
import type { CursorRange, SourceColumn, SourceTableInfo, TableReader, TableSource } from '../tables/table-source';
import { ColumnPolicy, keyRefusal } from '../kernel/column-policy';

export interface BatchDeps {
  readonly pool: Pool;
  readonly applier: PgApplier;
  readonly source: TableSource;
  readonly emitter: CoreEmitter;
  readonly log: Logger;
  readonly signal?: AbortSignal;
  readonly trigger?: 'once' | 'schedule';
  /** Injected for tests. */
  readonly now?: () => number;
  /**
   * `nilus-pg resync`: read every row, ignoring the stored cursor and interval_start/interval_end,
   * and store the cursor the source holds now (compare-and-set against the one stored).
   */
  readonly full?: boolean;
}

export interface BatchResult {
  readonly rows: number;
  /** The cursor stored by this run (undefined: not an incremental run, or nothing new). */
  readonly cursor?: string;
}

const SRC = 'spec.source.options';

export async function runBatch(cfg: PipelineConfig, deps: BatchDeps): Promise<BatchResult> {
  const src = cfg.batch;
  if (!src) throw new ConfigError([{ path: SRC, message: 'a batch pipeline needs spec.source.options.source_table' }]);
  const now = deps.now ?? Date.now;
  const started = now();
  const sourceName = `${src.sourceTable.schema}.${src.sourceTable.table}`;
  const reader = await deps.source.open();
  try {
    const info = await reader.describe(src.sourceTable);
    if (!info) {
      throw new ConfigError([{ path: `${SRC}.source_table`, message: `source table ${sourceName} does not exist at ${deps.source.display} (or the user cannot see it): check the name and the user's SELECT privilege` }]);
    }
    const target = resolveDestTable(cfg.sink.options.destTable, src.sourceTable);
    const strategy = cfg.sink.options.strategy;
    const keys = strategy === 'merge' ? requirePrimaryKey(cfg, info.primaryKey, sourceName) : [];
    // replace gives a created copy the source's key (append may hold the same row many times: none)
    const createKey = strategy === 'replace' ? (cfg.sink.options.primaryKey ?? info.primaryKey) : keys;
    for (const k of createKey) {
      if (!info.columns.some((c) => c.name === k)) {
        throw new ConfigError([{ path: 'primary_key', message: `primary_key column "${k}" is not a column of ${sourceName} (it has: ${info.columns.map((c) => c.name).join(', ')})` }]);
      }
    }
    // columns: excluded ones are left out of the SELECT, masked ones masked before COPY.
    const policy = ColumnPolicy.active(cfg.sink.options.columns) ? new ColumnPolicy(cfg.sink.options.columns) : undefined;
    const refusal = policy && keyRefusal(policy, [...new Set([...keys, ...createKey])], sourceName);
    if (refusal) throw new ConfigError([{ path: 'spec.sink.options.columns', message: refusal }]);
    const read = policy ? info.columns.filter((c) => policy.fate(c.name).kind !== 'drop') : info.columns;
    const plan = await planRange(cfg, deps, reader, info, sourceName);
    deps.emitter.emit('batchStarted', { source: sourceName, target: `${target.schema}.${target.table}`, strategy, trigger: deps.trigger ?? 'once' });
    if (plan.skip) {
      deps.log.info({ source: sourceName, cursor: plan.stored?.value }, 'no rows past the stored cursor: nothing to load');
      return { rows: 0 };
    }
    const specs: ColumnSpec[] = read.map((c) => ({ name: c.name, pgType: c.pgType, optional: !c.notNull, connectType: 'string' }));
    const columns = policy ? policy.columns(specs) : specs;
    const total = plan.range ? undefined : info.estimatedRows;
    const progress = new Progress(deps.emitter, src.progressIntervalMs, started, now, total);
    const request = { table: src.sourceTable, columns: read, ...(plan.range ? { range: plan.range } : {}), pageRows: src.pageSize, ...(deps.signal ? { signal: deps.signal } : {}) };
    const state = batchStateTable(cfg.sink.options);
    const opts: BatchWriteOptions = {
      beforeCommit: async (client, written) => {
        deps.signal?.throwIfAborted();
        if (plan.newCursor !== undefined) {
          await writeCursor(client, state, cfg.name, sourceName, plan.stored, { column: src.incrementalKey!, value: plan.newCursor }, written);
        }
      },
      // delete_mode soft: a run that read the whole table marks the rows the source no longer has
      ...(strategy === 'merge' && !plan.range ? { markMissing: { target, keys, at: new Date(started) } } : {}),
    };
    const rows = straightPath(cfg, policy, read)
      ? await deps.applier.copyAll({ target, strategy, keys, createKey, keysUnique: isSourceKey(keys, info.primaryKey), columns, pages: countedPages(reader.copyText(request), progress) }, opts)
      : await deps.applier.applyAll(toBatches(counted(masked(reader.pages(request), policy), progress), target, strategy, keys, createKey, columns), opts);
    return { rows, ...(plan.newCursor !== undefined ? { cursor: plan.newCursor } : {}) };
  } finally {
    await reader.close();
  }
}

interface RangePlan {
  readonly range?: CursorRange;
  /** The cursor this run starts from, as stored. */
  readonly stored?: StoredCursor;
  /** The cursor to store on commit (undefined: none is stored). */
  readonly newCursor?: string;
  /** Nothing past the stored cursor. */
  readonly skip?: boolean;
}

async function planRange(cfg: PipelineConfig, deps: BatchDeps, reader: TableReader, info: SourceTableInfo, sourceName: string): Promise<RangePlan> {
  const src = cfg.batch!;
  const key = src.incrementalKey;
  if (key === undefined || cfg.sink.options.strategy === 'replace') return {};
  const col = info.columns.find((c) => c.name === key);
  if (!col) {
    throw new ConfigError([{ path: `${SRC}.incremental_key`, message: `incremental_key "${key}" is not a column of ${sourceName} (it has: ${info.columns.map((c) => c.name).join(', ')})` }]);
  }
  if (!col.cursorable) {
    throw new ConfigError([{ path: `${SRC}.incremental_key`, message: `incremental_key "${key}" is ${col.sourceType}: a cursor must be an integer, date or timestamp column that grows as rows are added or changed` }]);
  }
  if (deps.full) {
    // Every row (NULL cursors included): no range; the cursor is reset to the largest value now.
    const stored = await readCursor(deps.pool, batchStateTable(cfg.sink.options), cfg.name, sourceName);
    const max = await reader.cursorMax(src.sourceTable, { column: key });
    return { ...(max !== null ? { newCursor: max } : {}), ...(stored ? { stored } : {}) };
  }
  const start = src.intervalStart !== undefined ? { value: src.intervalStart, inclusive: true } : undefined;
  if (src.intervalEnd !== undefined) {
    // A bounded backfill: exactly [interval_start, interval_end), the stored cursor untouched.
    return { range: { column: key, ...(start ? { from: start } : {}), to: { value: src.intervalEnd, inclusive: false } } };
  }
  const stateTable = batchStateTable(cfg.sink.options);
  const stored = await readCursor(deps.pool, stateTable, cfg.name, sourceName);
  if (stored && stored.column !== key) {
    throw new ConfigError([{
      path: `${SRC}.incremental_key`,
      message: `incremental_key is "${key}" but the cursor stored for ${sourceName} is on column "${stored.column}": the stored value cannot bound the new column. ` +
        `To start the new cursor from scratch: DELETE FROM "${stateTable.schema}"."${stateTable.table}" WHERE pipeline = '${cfg.name}' AND source_table = '${sourceName}'`,
    }]);
  }
  const from = stored ? { value: stored.value, inclusive: cfg.sink.options.strategy === 'merge' } : start;
  const range: CursorRange = { column: key, ...(from ? { from } : {}) };
  const max = await reader.cursorMax(src.sourceTable, range);
  if (max === null || (stored && !from!.inclusive && max === stored.value)) return { skip: true, ...(stored ? { stored } : {}) };
  return { range: { ...range, to: { value: max, inclusive: true } }, newCursor: max, ...(stored ? { stored } : {}) };
}

/** Rows counted as they pass, for progress events at most once per interval. */
class Progress {
  rows = 0;
  private last: number;

  constructor(
    private readonly emitter: CoreEmitter,
    private readonly intervalMs: number,
    private readonly started: number,
    private readonly now: () => number,
    private readonly total: number | undefined,
  ) {
    this.last = started;
  }

  add(n: number): void {
    this.rows += n;
    const t = this.now();
    if (t - this.last < this.intervalMs) return;
    this.last = t;
    const elapsedSeconds = (t - this.started) / 1000;
    const rowsPerSecond = elapsedSeconds > 0 ? this.rows / elapsedSeconds : 0;
    const totalRows = this.total !== undefined ? Math.max(this.total, this.rows) : undefined;
    const etaSeconds = totalRows !== undefined && rowsPerSecond > 0 ? (totalRows - this.rows) / rowsPerSecond : undefined;
    this.emitter.emit('batchProgress', {
      rows: this.rows,
      elapsedSeconds,
      rowsPerSecond,
      ...(totalRows !== undefined ? { totalRows } : {}),
      ...(etaSeconds !== undefined ? { etaSeconds } : {}),
    });
  }
}

/** Pages with the masks applied (the pages themselves when nothing is masked or filtered). */
function masked(pages: AsyncIterable<Row[]>, policy: ColumnPolicy | undefined): AsyncIterable<Row[]> {
  if (policy === undefined) return pages;
  return (async function* () {
    for await (const rows of pages) yield rows.map((r) => policy.row(r));
  })();
}

/**
 * Whether the run's rows can go from the source's COPY text into PostgreSQL as they are
 * (src/sink/batch-copy.ts): nothing needs a row's values in hand. Masks change values, merge's
 * metadata columns and stale-event guard stage values per row, and variant columns route values
 * by type; those take the row path.
 */
function straightPath(cfg: PipelineConfig, policy: ColumnPolicy | undefined, read: readonly SourceColumn[]): boolean {
  const o = cfg.sink.options;
  if (policy && read.some((c) => policy.fate(c.name).kind === 'mask')) return false;
  if (o.schemaChange === 'variant') return false;
  return o.strategy !== 'merge' || ((o.metadataColumns ?? []).length === 0 && !o.staleGuard);
}

/** Whether `keys` is the source table's primary key (in any order): no two source rows share it. */
function isSourceKey(keys: readonly string[], primaryKey: readonly string[]): boolean {
  return primaryKey.length > 0 && keys.length === primaryKey.length && keys.every((k) => primaryKey.includes(k));
}

async function* countedPages(pages: AsyncIterable<CopyTextPage>, progress: Progress): AsyncGenerator<CopyTextPage> {
  for await (const page of pages) {
    progress.add(page.rows);
    yield page;
  }
}

async function* counted(pages: AsyncIterable<Row[]>, progress: Progress): AsyncGenerator<Row[]> {
  for await (const rows of pages) {
    progress.add(rows.length);
    yield rows;
  }
}

async function* toBatches(
  chunks: AsyncIterable<Row[]>,
  target: TableRef,
  strategy: 'replace' | 'append' | 'merge',
  keys: readonly string[],
  createKey: readonly string[],
  columns: readonly ColumnSpec[],
): AsyncGenerator<TableBatch> {
  let first = true;
  const none: never[] = [];
  for await (const rows of chunks) {
    yield batchOf(rows, first);
    first = false;
  }
  // An empty source still replaces: the target ends empty.
  if (first && strategy === 'replace') yield batchOf([], true);

  function batchOf(rows: Row[], isFirst: boolean): TableBatch {
    return {
      target,
      // append in batch mode copies rows as they are, which is what the replace path does without TRUNCATE
      strategy: strategy === 'merge' ? 'merge' : 'replace',
      keyColumns: keys,
      ...(createKey.length > 0 ? { createKey } : {}),
      columns,
      truncate: strategy === 'replace' && isFirst,
      upserts: rows,
      upsertSource: rows.map(() => ({})),
      deletes: none,
      deleteSource: none,
      events: none,
    };
  }
}
