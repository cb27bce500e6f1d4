/** The offsets table: consumer group → topic-partition → next offset, written with the data. */
import type { Pool, PoolClient } from 'pg';
import type { OffsetMark, TableRef } from '../kernel/types';
import type { SinkOptions } from '../config/types';
import { ConfigError, FencedError } from '../kernel/errors';
import { advisoryXactLockSql } from './sql/advisory-lock';
import { createOffsetsTableSql, OFFSETS_TABLE } from './sql/create-offsets-table';
import { ensureSchema } from './schema/ensure-schema';
import { selectOffsetsSql } from './sql/select-offsets';
import { tableName } from '../pg/ident';
import { inTransaction } from '../pg/transaction';
import { upsertOffsetsSql } from './sql/upsert-offsets';
import { updateOffsetsFencedSql } from './sql/update-offsets-fenced';
import { insertOffsetsNewSql } from './sql/insert-offsets-new';
import { addOffsetsSourceTsSql } from './sql/add-offsets-source-ts';
import { OFFSETS_HAS_SOURCE_TS_SQL } from './sql/offsets-has-source-ts';

/** `<state_schema ?? schema of dest_table>.nilus_offsets`. */
export function offsetsTable(sink: SinkOptions): TableRef {
  let schema = sink.stateSchema;
  if (schema === undefined) {
    const dot = sink.destTable.indexOf('.');
    schema = dot > 0 ? sink.destTable.slice(0, dot) : '';
    if (schema === '' || schema.includes('{')) {
      throw new ConfigError([
        {
          path: 'spec.sink.options.state_schema',
          message: `cannot tell which schema holds the offsets table from dest_table "${sink.destTable}"; set state_schema`,
        },
      ]);
    }
  }
  return { schema, table: OFFSETS_TABLE };
}

export interface StateTableOptions {
  /** `auto_create`: a missing state schema is created when the role may. */
  readonly autoCreate: boolean;
  /** Told when the state schema was created. */
  readonly onCreatedSchema?: (schema: string) => void;
}

export async function createOffsetsTable(pool: Pool, t: TableRef, opts: StateTableOptions): Promise<void> {
  await createStateTable(pool, t, createOffsetsTableSql(t), 'the offsets table', opts);
  await addSourceTs(pool, t);
}

/**
 * An offsets table created by an older nilus-pg lacks `source_ts`: added once, under the same lock
 * as the creation (a nullable column: no rewrite). Asked first, so a user who may write the table
 * but does not own it is only refused when the column is really missing.
 */
async function addSourceTs(pool: Pool, t: TableRef): Promise<void> {
  const has = await pool.query<{ present: boolean }>(OFFSETS_HAS_SOURCE_TS_SQL, [tableName(t)]);
  if (has.rows[0]?.present) return;
  try {
    await createUnderLock(pool, t, addOffsetsSourceTsSql(t));
  } catch (err) {
    if ((err as { code?: string }).code !== '42501') throw err;
    throw new ConfigError([
      {
        path: 'spec.sink.options.state_schema',
        message: `the offsets table ${tableName(t)} predates its source_ts column and this user may not add it: have its owner run ${addOffsetsSourceTsSql(t)}`,
      },
    ]);
  }
}

/**
 * Creates one of nilus' own tables in the state schema (`ddl` is CREATE TABLE IF NOT EXISTS),
 * after making sure the schema exists (see ensureSchema). `what` names the table in the error.
 */
export async function createStateTable(pool: Pool, t: TableRef, ddl: string, what: string, opts: StateTableOptions): Promise<void> {
  const created = await inTransaction(pool, (client) =>
    ensureSchema(client, { schema: t.schema, autoCreate: opts.autoCreate, path: 'spec.sink.options.state_schema', what, otherwise: ' or set state_schema to an existing schema' }),
  );
  if (created) opts.onCreatedSchema?.(t.schema);
  await createUnderLock(pool, t, ddl);
}

/**
 * Runs `ddl` (a CREATE … IF NOT EXISTS of table `t`) under a transaction-scoped advisory lock on
 * the table's name: replicas starting together would otherwise race it into a unique violation on
 * the catalog, a duplicate row type or duplicate_table, depending on timing.
 */
export function createUnderLock(pool: Pool, t: TableRef, ddl: string): Promise<void> {
  return inTransaction(pool, async (client) => {
    await client.query(advisoryXactLockSql(), [tableName(t)]);
    await client.query(ddl);
  });
}

export async function readOffsets(pool: Pool, t: TableRef, groupId: string, topics?: readonly string[]): Promise<OffsetMark[]> {
  const res = await pool.query<{ topic: string; partition: number; next: string }>(selectOffsetsSql(t), [
    groupId,
    topics ? [...topics] : null,
  ]);
  return res.rows.map((r) => ({ topic: r.topic, partition: r.partition, next: r.next }));
}

/**
 * Stores the flush's offsets. Marks with `from` are compare-and-set (see OffsetMark.from): if any
 * partition's stored offset is not what this consumer expects, FencedError rolls the flush back.
 * Marks without `from` overwrite unconditionally (an operator resetting a group must be obeyed).
 */
export async function writeOffsets(client: PoolClient, t: TableRef, groupId: string, marks: readonly OffsetMark[]): Promise<void> {
  if (marks.length === 0) return;
  const plain = marks.filter((m) => m.from === undefined);
  const moved = marks.filter((m) => typeof m.from === 'string');
  const fresh = marks.filter((m) => m.from === null);
  if (plain.length > 0) await client.query(upsertOffsetsSql(t), [groupId, ...columns(plain), sourceMs(plain)]);
  const written = new Set<string>();
  const note = (rows: { topic: string; partition: number }[]) => rows.forEach((r) => written.add(`${r.partition}:${r.topic}`));
  if (moved.length > 0) {
    const res = await client.query(updateOffsetsFencedSql(t), [groupId, ...columns(moved), moved.map((m) => m.from), sourceMs(moved)]);
    note(res.rows);
  }
  if (fresh.length > 0) note((await client.query(insertOffsetsNewSql(t), [groupId, ...columns(fresh), sourceMs(fresh)])).rows);
  const lost = [...moved, ...fresh].filter((m) => !written.has(`${m.partition}:${m.topic}`));
  if (lost.length > 0) throw new FencedError(lost.map((m) => ({ topic: m.topic, partition: m.partition })));
}

function columns(marks: readonly OffsetMark[]): [string[], number[], string[]] {
  return [marks.map((m) => m.topic), marks.map((m) => m.partition), marks.map((m) => m.next)];
}

/** The source commit times (ms) of the marks, null where unknown: the last parameter of each write. */
function sourceMs(marks: readonly OffsetMark[]): (number | null)[] {
  return marks.map((m) => m.sourceTsMs ?? null);
}
