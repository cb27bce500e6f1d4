/** The offsets table: consumer group → topic-partition → next offset, written with the data. */
import type { Pool, PoolClient } from 'pg';
import type { OffsetMark, TableRef } from '../core/types';
import type { SinkOptions } from '../config/types';
import { ConfigError } from '../core/errors';
import { advisoryXactLockSql } from './sql/advisoryLock';
import { createOffsetsTableSql, OFFSETS_TABLE } from './sql/createOffsetsTable';
import { SCHEMA_EXISTS_SQL } from './sql/describeTable';
import { selectOffsetsSql } from './sql/selectOffsets';
import { tableName } from './sql/ident';
import { upsertOffsetsSql } from './sql/upsertOffsets';

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

export async function createOffsetsTable(pool: Pool, t: TableRef): Promise<void> {
  const exists = await pool.query<{ present: boolean }>(SCHEMA_EXISTS_SQL, [t.schema]);
  if (!exists.rows[0]?.present) {
    throw new ConfigError([
      {
        path: 'spec.sink.options.state_schema',
        message: `schema "${t.schema}" for the offsets table does not exist; create it or set state_schema to an existing schema`,
      },
    ]);
  }
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    try {
      // Replicas starting together would otherwise race CREATE TABLE IF NOT EXISTS into a
      // unique violation on the catalog.
      await client.query(advisoryXactLockSql(), [tableName(t)]);
      await client.query(createOffsetsTableSql(t));
      await client.query('COMMIT');
    } catch (e) {
      await client.query('ROLLBACK').catch((r: Error) => (broken = r));
      throw e;
    }
  } finally {
    client.release(broken);
  }
}

export async function readOffsets(pool: Pool, t: TableRef, groupId: string, topics?: readonly string[]): Promise<OffsetMark[]> {
  const res = await pool.query<{ topic: string; partition: number; next: string }>(selectOffsetsSql(t), [
    groupId,
    topics ? [...topics] : null,
  ]);
  return res.rows.map((r) => ({ topic: r.topic, partition: r.partition, next: r.next }));
}

export async function writeOffsets(client: PoolClient, t: TableRef, groupId: string, marks: readonly OffsetMark[]): Promise<void> {
  if (marks.length === 0) return;
  await client.query(upsertOffsetsSql(t), [
    groupId,
    marks.map((m) => m.topic),
    marks.map((m) => m.partition),
    marks.map((m) => m.next),
  ]);
}
