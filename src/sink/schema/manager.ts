/**
 * Makes a target ready for a batch inside the flush transaction: creates it or adds columns when
 * allowed, then checks types and keys. Target shapes are cached per table; DDL happens under a
 * transaction-level advisory lock and IF NOT EXISTS, so replicas racing on the same table are safe.
 *
 * Columns present in the target but absent from the batch are left alone: a column dropped at
 * the source stays in the target and rows written from then on get its NULL/default.
 *
 * A column whose events now carry a type it cannot hold is widened (ALTER COLUMN … TYPE) when the
 * change is a safe widening (./widen.ts) and auto_evolve is on; otherwise, under schema_change:
 * variant, its values are routed to a variant column (./variant.ts); else checkColumnTypes refuses
 * the rows (./checks.ts).
 */
import type { PoolClient } from 'pg';
import type { ColumnSpec, TableBatch, TableRef } from '../../kernel/types';
import type { SinkOptions } from '../../config/types';
import { ConfigError, FatalError } from '../../kernel/errors';
import { classifyError } from '../../kernel/classify';
import { describeTable, type TargetInfo } from '../catalog';
import { APPEND_METADATA, DELETED_AT, SOURCE_POS } from '../metadata';
import { addColumnsSql } from '../sql/add-columns';
import { advisoryXactLockSql } from '../sql/advisory-lock';
import { createTableSql, type NewColumn } from '../sql/create-table';
import { ident, tableName } from '../../pg/ident';
import { alterColumnTypeSql } from '../sql/alter-column-type';
import { assertSafeType, typeFits } from './type-compat';
import { routeVariants } from './variant';
import { classifyChange } from './widen';
import { ensureSchema } from './ensure-schema';
import { checkColumnTypes, checkMergeKey, missingTableError, noKeyError } from './checks';

type Log = (msg: string, fields?: object) => void;

/** A type change nilus applied to a target (counted by nilus_schema_changes_total{table,kind}). */
export interface AppliedChange {
  readonly table: string;
  readonly kind: 'widen' | 'variant';
}

/** What a batch needs after ensure: the target as it now is, and the batch (values routed to variants). */
export interface Ensured {
  readonly info: TargetInfo;
  readonly batch: TableBatch;
  readonly changes: readonly AppliedChange[];
}

interface Plan {
  readonly create: boolean;
  /** Columns to create the table with, or to add to it. */
  readonly columns: readonly NewColumn[];
  /** Columns the user's data needs (not nilus's own metadata): gated by auto_evolve. */
  readonly dataColumns: readonly string[];
}

export class SchemaManager {
  private readonly cache = new Map<string, TargetInfo>();

  constructor(
    private readonly sink: SinkOptions,
    private readonly log: Log,
    private readonly warn: Log = log,
  ) {}

  /** The key a merge uses: the declared primary key, else the events' key. */
  keyColumns(batch: TableBatch): readonly string[] {
    return this.sink.primaryKey && this.sink.primaryKey.length > 0 ? this.sink.primaryKey : batch.keyColumns;
  }

  /** Drops every cached shape (after a rollback: DDL we cached may not have committed). */
  forgetAll(): void {
    this.cache.clear();
  }

  async describe(client: PoolClient, t: TableRef, fresh = false): Promise<TargetInfo | undefined> {
    const k = tableName(t);
    if (!fresh) {
      const hit = this.cache.get(k);
      if (hit) return hit;
    }
    const info = await describeTable(client, t);
    if (info) this.cache.set(k, info);
    else this.cache.delete(k);
    return info;
  }

  async ensure(client: PoolClient, original: TableBatch): Promise<Ensured> {
    const t = original.target;
    const merge = original.strategy === 'merge';
    const keys = merge ? this.keyColumns(original) : (original.createKey ?? []);
    if (merge && keys.length === 0) throw noKeyError(tableName(t));
    let info = await this.describe(client, t);
    const changes: AppliedChange[] = [];
    let batch = original;
    if (info) {
      info = await this.widen(client, info, batch, changes);
      if (this.sink.schemaChange === 'variant') batch = routeVariants(batch, info, merge ? keys : []);
    }
    const before = info;
    let plan = this.plan(info, batch);
    if (plan) {
      // The cache may be behind another replica's DDL: look again before deciding anything.
      info = await this.describe(client, t, true);
      plan = this.plan(info, batch);
    }
    if (plan) {
      if (plan.create && (await ensureSchema(client, { schema: t.schema, autoCreate: this.sink.autoCreate, path: 'spec.sink.options.dest_table', what: `table ${tableName(t)}` }))) {
        this.log('created target schema', { schema: t.schema });
      }
      this.authorize(t, plan);
      await client.query(advisoryXactLockSql(), [tableName(t)]);
      info = await this.describe(client, t, true);
      plan = this.plan(info, batch);
      if (plan) {
        await client.query(plan.create ? createTableSql(t, plan.columns, keys) : addColumnsSql(t, plan.columns));
        this.log(plan.create ? 'created target table' : 'added columns to target table', {
          table: tableName(t),
          columns: plan.columns.map((c) => c.name),
        });
        info = await this.describe(client, t, true);
      }
    }
    if (!info) throw new Error(`target ${tableName(t)} still missing after CREATE TABLE`);
    if (batch !== original && before) {
      for (const c of batch.columns) {
        if (before.byName.has(c.name) || original.columns.some((o) => o.name === c.name)) continue;
        this.warn('schema change: values of an incompatible type land in a variant column', { table: tableName(t), column: c.name, type: c.pgType });
        changes.push({ table: tableName(t), kind: 'variant' });
      }
    }
    checkColumnTypes(info, batch.columns);
    if (merge) checkMergeKey(info, keys);
    return { info, batch, changes };
  }

  /**
   * Safe widenings (./widen.ts) the batch's types need, applied under the table's advisory lock in
   * the flush's transaction; with auto_evolve off none is (checkColumnTypes then refuses the rows).
   */
  private async widen(client: PoolClient, info: TargetInfo, batch: TableBatch, changes: AppliedChange[]): Promise<TargetInfo> {
    if (!this.sink.autoEvolve || this.widenings(info, batch).length === 0) return info;
    const t = batch.target;
    await client.query(advisoryXactLockSql(), [tableName(t)]);
    const fresh = await this.describe(client, t, true);
    if (!fresh) return info;
    const todo = this.widenings(fresh, batch);
    if (todo.length === 0) return fresh;
    for (const w of todo) {
      assertSafeType(w.to, w.column);
      try {
        await client.query(alterColumnTypeSql(t, w.column, w.to));
      } catch (e) {
        // A lock timeout or a lost connection is retried as any flush; a refusal (e.g. a view or
        // rule uses the column, 0A000) rolls the flush back and stops the pipeline with the fix.
        if (classifyError(e) !== 'fatal') throw e;
        throw new FatalError(
          `widening column ${ident(w.column)} of ${tableName(t)} from ${w.from} to ${w.to} failed: ${(e as Error).message}; ` +
            `run ALTER TABLE ${tableName(t)} ALTER COLUMN ${ident(w.column)} TYPE ${w.to} yourself (dropping and recreating what depends on it) and restart`,
          { cause: e },
        );
      }
      this.warn('schema change: widened a target column', { table: tableName(t), column: w.column, oldType: w.from, newType: w.to });
      changes.push({ table: tableName(t), kind: 'widen' });
    }
    return (await this.describe(client, t, true)) ?? fresh;
  }

  private widenings(info: TargetInfo, batch: TableBatch): { column: string; from: string; to: string }[] {
    const out: { column: string; from: string; to: string }[] = [];
    for (const c of batch.columns) {
      const have = info.byName.get(c.name);
      if (!have || typeFits(c.pgType, have.type)) continue;
      const change = classifyChange(have.type, c.pgType, c.sourceType === true);
      if (change.kind === 'widen') out.push({ column: c.name, from: have.type, to: c.pgType });
    }
    return out;
  }

  private authorize(t: TableRef, plan: Plan): void {
    if (plan.create && !this.sink.autoCreate) throw missingTableError(tableName(t));
    if (!plan.create && plan.dataColumns.length > 0 && !this.sink.autoEvolve) {
      const cols = plan.columns.filter((c) => plan.dataColumns.includes(c.name));
      throw new ConfigError([
        {
          path: 'spec.sink.options.auto_evolve',
          message:
            `table ${tableName(t)} has no column ${cols.map((c) => `${ident(c.name)} (${c.type})`).join(', ')} ` +
            `that the events carry; add it (ALTER TABLE ${tableName(t)} ` +
            `${cols.map((c) => `ADD COLUMN ${ident(c.name)} ${c.type}`).join(', ')}) or set auto_evolve: true`,
        },
      ]);
    }
  }

  /** The columns nilus itself keeps in a target of this strategy (metadata.ts). */
  private ownColumns(strategy: TableBatch['strategy']): NewColumn[] {
    if (strategy === 'append') return [...APPEND_METADATA];
    if (strategy !== 'merge') return [];
    const own: NewColumn[] = [];
    if (this.sink.staleGuard) own.push(SOURCE_POS);
    const meta = this.sink.metadataColumns ?? [];
    // merge writes _nilus_applied_at itself: no DEFAULT now(), which would rewrite an existing table
    own.push(...APPEND_METADATA.filter((c) => meta.includes(c.name)).map(({ defaultSql: _d, ...c }) => c));
    if (this.sink.deleteMode === 'soft') own.push(DELETED_AT);
    return own;
  }

  /**
   * A merge target's own columns only, for statements that carry no row (a truncate, a batch
   * run's marking): added when missing. undefined when the table does not exist.
   */
  async ensureOwn(client: PoolClient, t: TableRef): Promise<TargetInfo | undefined> {
    const missing = (i: TargetInfo): NewColumn[] => this.ownColumns('merge').filter((c) => !i.byName.has(c.name));
    let info = await this.describe(client, t);
    if (!info || missing(info).length === 0) return info;
    await client.query(advisoryXactLockSql(), [tableName(t)]);
    info = await this.describe(client, t, true);
    if (!info) return undefined;
    const add = missing(info);
    if (add.length === 0) return info;
    await client.query(addColumnsSql(t, add));
    this.log('added columns to target table', { table: tableName(t), columns: add.map((c) => c.name) });
    return this.describe(client, t, true);
  }

  /** What DDL the batch needs, or undefined when the target already fits. */
  private plan(info: TargetInfo | undefined, batch: TableBatch): Plan | undefined {
    const own = this.ownColumns(batch.strategy);
    const data = batch.columns.map(toNewColumn);
    if (!info) return { create: true, columns: [...data, ...own], dataColumns: data.map((c) => c.name) };
    const addData = data.filter((c) => !info.byName.has(c.name));
    const addOwn = own.filter((c) => !info.byName.has(c.name));
    if (addData.length === 0 && addOwn.length === 0) return undefined;
    return { create: false, columns: [...addData, ...addOwn], dataColumns: addData.map((c) => c.name) };
  }
}

/**
 * A new column takes the event's pgType. No NOT NULL even for non-optional source columns: a
 * row inserted while that column is unavailable (unchanged TOAST) must still go in.
 */
function toNewColumn(c: ColumnSpec): NewColumn {
  assertSafeType(c.pgType, c.name);
  return { name: c.name, type: c.pgType };
}
