/**
 * Every PostgreSQL write of the sink, over a pool. One flush = one transaction covering every
 * table batch and the offsets, so a crash or failure anywhere leaves both data and offsets as
 * before. PgSink (./pg-sink.ts) owns the pool and offers this to the engine and to batch runs.
 */
import type { Pool, PoolClient } from 'pg';
import type { Flush, FlushedTable, OffsetMark, TableBatch, TableRef } from '../kernel/types';
import type { SinkOptions } from '../config/types';
import type { WriteOptions } from '../engine/ports';
import { applyAppend, applyReplaceRows } from './append';
import { describeTable, type TargetInfo } from './catalog';
import { applyMerge } from './merge';
import { batchRows, onlyRow, splitBatch } from './isolate';
import { describeRejection, rejection, SCHEMA_CHANGE_STOP } from './rejection';
import { classifyError } from '../kernel/classify';
import { createOffsetsTable, offsetsTable, readOffsets, writeOffsets } from './offsets';
import { checkMergeKey, IncompatibleTypeError, missingTableError } from './schema/checks';
import { FatalError } from '../kernel/errors';
import { SchemaManager } from './schema/manager';
import { tableName } from '../pg/ident';
import { inTransaction, withSavepoint } from '../pg/transaction';
import { truncateTableSql } from './sql/truncate-table';
import { TargetChanges } from './target-changed';
import { markMissing, markTruncated, type MergeExtras, type SeenKeys } from './soft-delete';
import { loadCopyText, type BatchRun, type BatchWriteOptions, type CopyTextLoad, type Loaded, type MarkMissing } from './batch-copy';

export type { TargetInfo, TargetColumn } from './catalog';
export type { BatchWriteOptions, CopyTextLoad, MarkMissing } from './batch-copy';
export { APPEND_METADATA, SOURCE_POS } from './metadata';

type Log = (msg: string, fields?: object) => void;

function sumCounts(a: TableCounts | undefined, b: TableCounts | undefined): TableCounts | undefined {
  if (!a || !b) return a ?? b;
  return {
    table: a.table, upserts: a.upserts + b.upserts, deletes: a.deletes + b.deletes, appends: a.appends + b.appends, truncates: a.truncates + b.truncates,
    unresolved: a.unresolved + b.unresolved, unresolvedKeys: [...a.unresolvedKeys, ...b.unresolvedKeys].slice(0, 5),
    ...(a.schemaChanges || b.schemaChanges ? { schemaChanges: addTallies(a.schemaChanges, b.schemaChanges) } : {}),
    ...(a.sourceTsMs !== undefined || b.sourceTsMs !== undefined ? { sourceTsMs: Math.max(a.sourceTsMs ?? -Infinity, b.sourceTsMs ?? -Infinity) } : {}),
  };
}

/** The newest source commit time (source.ts_ms) among a batch's changes, for the table's lag gauge. */
function newestSourceTs(batch: TableBatch): number | undefined {
  let newest: number | undefined;
  const see = (ts: number | undefined): void => {
    if (ts !== undefined && (newest === undefined || ts > newest)) newest = ts;
  };
  for (const s of batch.upsertSource) see(s.tsMs);
  for (const s of batch.deleteSource) see(s.tsMs);
  for (const e of batch.events) see(e.source.tsMs);
  return newest;
}

interface TableCounts {
  table: string;
  upserts: number;
  deletes: number;
  appends: number;
  truncates: number;
  /** Rows inserted with unchanged-TOAST values nothing could fill (see MergeOutcome). */
  unresolved: number;
  unresolvedKeys: readonly string[];
  sourceTsMs?: number;
  /** Type changes applied to the target (widen, variant), by kind. */
  schemaChanges?: Record<string, number>;
}

function addTallies(a: Record<string, number> = {}, b: Record<string, number> = {}): Record<string, number> {
  const out = { ...a };
  for (const [k, n] of Object.entries(b)) out[k] = (out[k] ?? 0) + n;
  return out;
}

function tally(changes: readonly { kind: string }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of changes) out[c.kind] = (out[c.kind] ?? 0) + 1;
  return out;
}

export class PgApplier {
  private readonly schema: SchemaManager;
  private readonly log: Log;
  private readonly changes = new TargetChanges();

  constructor(
    private readonly pool: Pool,
    private readonly sink: SinkOptions,
    opts?: { log?: (msg: string, fields?: object) => void; warn?: (msg: string, fields?: object) => void },
  ) {
    this.log = opts?.log ?? (() => undefined);
    this.schema = new SchemaManager(sink, this.log, opts?.warn ?? this.log);
  }

  /** Create the state schema/table if missing (offsets table). Idempotent. */
  async init(): Promise<void> {
    await createOffsetsTable(this.pool, offsetsTable(this.sink), {
      autoCreate: this.sink.autoCreate,
      onCreatedSchema: (schema) => this.log('created state schema', { schema }),
    });
  }

  /** Stored next-offsets for the group (all topics, or only `topics`). */
  storedOffsets(groupId: string, topics?: readonly string[]): Promise<OffsetMark[]> {
    return readOffsets(this.pool, offsetsTable(this.sink), groupId, topics);
  }

  /**
   * Check a target before the pipeline starts. undefined when it does not exist and may be
   * auto-created; throws when it is missing and may not be, or when its keys cannot work for merge.
   */
  async describeTarget(target: TableRef): Promise<TargetInfo | undefined> {
    const info = await describeTable(this.pool, target);
    if (!info) {
      if (!this.sink.autoCreate) throw missingTableError(tableName(target));
      return undefined;
    }
    if (this.sink.strategy === 'merge') {
      const declared = this.sink.primaryKey ?? [];
      // With no declared key the events' key is not known yet; the table's own key must then
      // at least satisfy partitioning (checked again, against the events' key, on first apply).
      const keys = declared.length > 0 ? declared : info.primaryKey;
      if (keys.length > 0 || info.partitioned) checkMergeKey(info, keys);
    }
    return info;
  }

  /**
   * One transaction: every table batch, then `beforeCommit` (dead letters that must commit with
   * the offsets), then the offsets, then COMMIT. All or nothing.
   * With `onReject`, rows PostgreSQL rejects with a data error (22xxx/23xxx) are bisected out
   * under savepoints and handed to it; everything else still applies, in order. Resolves with
   * what was written per table.
   */
  async apply(flush: Flush, opts: WriteOptions = {}): Promise<FlushedTable[]> {
    const counts: TableCounts[] = [];
    let stage = 0;
    await this.inTransaction(async (client) => {
      for (const batch of flush.tables) {
        const c = opts.onReject
          ? await this.applyIsolating(client, batch, () => stage++, opts.onReject)
          : await this.applyBatch(client, batch, stage++);
        if (c) counts.push(c);
      }
      if (opts.beforeCommit) await opts.beforeCommit(client);
      await writeOffsets(client, offsetsTable(this.sink), flush.groupId, flush.offsets);
    });
    this.changes.committed();
    return counts;
  }

  private async applyIsolating(
    client: PoolClient,
    batch: TableBatch,
    nextStage: () => number,
    onReject: NonNullable<WriteOptions['onReject']>,
  ): Promise<TableCounts | undefined> {
    const sp = `nilus_sp_${nextStage()}`;
    try {
      return await withSavepoint(client, sp, () => this.applyBatch(client, batch, nextStage()));
    } catch (e) {
      // DDL done inside the piece is gone with it.
      this.schema.forgetAll();
      if (classifyError(e) !== 'data') throw e;
      if (batchRows(batch) <= 1 && !batch.truncate) {
        // The target as it stands after the rollback, for the column types a rejection names.
        const info = await describeTable(client, batch.target).catch(() => undefined);
        const row = onlyRow(batch, tableName(batch.target), e as Error, info);
        // schema_change: stop holds under errors.tolerance all too: the record is named, nothing skipped.
        if (this.sink.schemaChange === 'stop' && e instanceof IncompatibleTypeError) throw new FatalError(describeRejection(row, SCHEMA_CHANGE_STOP), { cause: e });
        onReject(rejection(row));
        return undefined;
      }
      const [a, b] = splitBatch(batch);
      const ca = await this.applyIsolating(client, a, nextStage, onReject);
      const cb = await this.applyIsolating(client, b, nextStage, onReject);
      return sumCounts(ca, cb);
    }
  }

  /**
   * Batch mode: every batch the source yields, in ONE transaction, so a replace or an append is
   * all or nothing (readers see the old content until COMMIT). `beforeCommit` runs last in the
   * same transaction (the batch cursor). Resolves with the rows written. `markMissing` (delete_mode
   * soft only): rows of the target the batches did not carry are marked deleted, before beforeCommit.
   */
  async applyAll(batches: AsyncIterable<TableBatch>, opts: BatchWriteOptions = {}): Promise<number> {
    let rows = 0;
    const sweep = opts.markMissing && this.sink.deleteMode === 'soft' ? opts.markMissing : undefined;
    const seen: SeenKeys | undefined = sweep ? { name: 'nilus_seen_keys', created: false } : undefined;
    await this.inTransaction(async (client) => {
      let i = 0;
      for await (const b of batches) {
        const c = await this.applyBatch(client, b, i++, { ...(seen ? { seen } : {}) });
        if (c) rows += c.upserts + c.deletes + c.appends;
      }
      if (sweep && seen) await this.markMissing(client, sweep, seen);
      if (opts.beforeCommit) await opts.beforeCommit(client, rows);
    });
    return rows;
  }

  /**
   * Batch mode's straight path (./batch-copy.ts): the run's rows as COPY text, in ONE transaction
   * with the same `opts` as applyAll. Resolves with the rows written.
   */
  async copyAll(load: CopyTextLoad, opts: BatchWriteOptions = {}): Promise<number> {
    let rows = 0;
    const sweep = opts.markMissing && this.sink.deleteMode === 'soft' ? opts.markMissing : undefined;
    await this.inTransaction(async (client) => {
      const seen: SeenKeys | undefined = sweep ? { name: 'nilus_seen_keys', created: false } : undefined;
      let loaded: Loaded;
      try {
        loaded = await loadCopyText(client, load, this.schema, this.extras({ ...(seen ? { seen } : {}) }));
      } catch (e) {
        throw this.changes.explain(e, load.target) ?? e;
      }
      rows = loaded.rows;
      if (loaded.mergedAsCopy) this.log('merge into an empty target: rows copied straight in', { table: tableName(load.target), rows });
      // copied into an empty target: every row is one the run read, none to mark
      if (sweep && seen && !loaded.mergedAsCopy) await this.markMissing(client, sweep, seen);
      if (opts.beforeCommit) await opts.beforeCommit(client, rows);
    });
    return rows;
  }

  private async markMissing(client: PoolClient, sweep: MarkMissing, seen: SeenKeys): Promise<void> {
    if (!(await this.schema.ensureOwn(client, sweep.target))) return;
    const n = await markMissing(client, sweep.target, sweep.keys, seen, sweep.at);
    this.log('marked rows no longer at the source as deleted', { table: tableName(sweep.target), rows: n });
  }

  private inTransaction(body: (client: PoolClient) => Promise<void>): Promise<void> {
    // DDL cached during a rolled-back transaction is gone with it.
    return inTransaction(this.pool, body, () => this.schema.forgetAll());
  }

  /** The sink's merge options; a batch run (`run`) adds its seen keys and leaves unchanged rows alone. */
  private extras(run?: BatchRun): MergeExtras {
    const x: MergeExtras = { soft: this.sink.deleteMode === 'soft', metadata: this.sink.metadataColumns ?? [], guard: this.sink.staleGuard };
    return run ? { ...x, skipUnchanged: true, ...(run.seen ? { seen: run.seen } : {}) } : x;
  }

  /** A batch (`run`: of a batch run, not a CDC flush); a target a DBA changed under it explained (./target-changed.ts). */
  private async applyBatch(client: PoolClient, batch: TableBatch, stage: number, run?: BatchRun): Promise<TableCounts | undefined> {
    try {
      return await this.applyTo(client, batch, stage, run);
    } catch (e) {
      throw this.changes.explain(e, batch.target) ?? e;
    }
  }

  private async applyTo(client: PoolClient, batch: TableBatch, stage: number, run?: BatchRun): Promise<TableCounts | undefined> {
    const empty =
      !batch.truncate && batch.upserts.length === 0 && batch.deletes.length === 0 && batch.events.length === 0;
    if (empty) return undefined;
    const newest = newestSourceTs(batch);
    const counts: TableCounts = { table: tableName(batch.target), upserts: 0, deletes: 0, appends: 0, truncates: 0, unresolved: 0, unresolvedKeys: [], ...(newest !== undefined ? { sourceTsMs: newest } : {}) };
    if (batch.strategy !== 'append' && batch.upserts.length === 0) {
      // Only deletes and/or a truncate: a missing table has nothing to remove, and a truncate
      // alone needs no columns or key (its batch may carry neither), so skip creating or checking.
      // (a soft delete of a row created in this batch still lands it: see merge.ts insertKept)
      const kept = batch.strategy === 'merge' && this.sink.deleteMode === 'soft' && batch.deleteRows?.some((r) => r !== undefined) === true;
      if (!kept && !(await this.schema.describe(client, batch.target))) return counts;
      if (batch.deletes.length === 0) {
        if (batch.strategy === 'merge' && this.sink.deleteMode === 'soft') {
          await this.schema.ensureOwn(client, batch.target);
          await markTruncated(client, batch, this.extras());
        } else await client.query(truncateTableSql(batch.target));
        counts.truncates = 1;
        return counts;
      }
    }
    const ensured = await this.schema.ensure(client, batch);
    const { info, batch: routed } = ensured;
    if (ensured.changes.length > 0) counts.schemaChanges = tally(ensured.changes);
    switch (routed.strategy) {
      case 'merge':
        const o = await applyMerge(client, routed, { info, keys: this.schema.keyColumns(routed), ...this.extras(run), stage });
        counts.unresolved = o.unresolved;
        counts.unresolvedKeys = o.unresolvedKeys;
        counts.upserts = routed.upserts.length;
        counts.deletes = routed.deletes.length;
        counts.truncates = routed.truncate ? 1 : 0;
        break;
      case 'append':
        counts.appends = await applyAppend(client, routed);
        counts.truncates = routed.events.filter((e) => e.op === 't').length;
        break;
      case 'replace':
        if (routed.truncate) await client.query(truncateTableSql(routed.target));
        counts.appends = await applyReplaceRows(client, routed);
        counts.truncates = routed.truncate ? 1 : 0;
        break;
    }
    return counts;
  }
}
