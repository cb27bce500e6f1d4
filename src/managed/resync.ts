/**
 * `nilus-pg resync` for a managed PostgreSQL source: one table re-read while every other keeps
 * streaming, by Debezium's incremental snapshot. An `execute-snapshot` signal is written to the
 * connector's signal table (`signal.data.collection`, see pg-config.ts), made here when missing and
 * added to the connector's publication (a filtered publication lists its tables, and Debezium reads
 * signals, and writes its snapshot-window watermarks, through the replication stream). Debezium then
 * reads the table in chunks and sends each row as a read ('r') event, which the running pipeline
 * merges like any other change, so the target converges on the source. Statements are
 * src/tables/sql/postgresql.ts's.
 */
import { randomUUID } from 'node:crypto';
import type { PgConnection } from '../config/types';
import { parseTableName } from '../config/names';
import { FatalError } from '../kernel/errors';
import type { TableRef } from '../kernel/types';
import { connectPg } from '../pg/pool';
import {
  addToPublication,
  createSignalTable,
  insertSignal,
  PUBLICATION_EXISTS,
  PUBLICATION_HAS_TABLE,
  SIGNAL_WINDOWS_CLOSED,
  countRows,
} from '../tables/sql/postgresql';

export interface SnapshotSignal {
  readonly id: string;
  readonly signalTable: TableRef;
  /** True when the signal table was added to the publication by this request. */
  readonly addedToPublication: boolean;
  /** Snapshot windows already closed in the signal table before this signal (see windowsClosed). */
  readonly closedBefore: number;
  /** The table's rows when the signal was sent, and the chunks Debezium will read them in. */
  readonly rows: number;
  readonly chunks: number;
}

/** The signal's `data`: an incremental snapshot of one table (Debezium's execute-snapshot). Pure. */
export function snapshotSignalData(table: TableRef): string {
  return JSON.stringify({ 'data-collections': [`${table.schema}.${table.table}`], type: 'incremental' });
}

/** Chunks an incremental snapshot of `rows` rows takes (incremental.snapshot.chunk.size, Debezium's default 1024). Pure. */
export function chunksFor(rows: number, config: Readonly<Record<string, string>>): number {
  const size = Number(config['incremental.snapshot.chunk.size'] ?? 1024);
  return Math.max(1, Math.ceil(rows / (Number.isFinite(size) && size > 0 ? size : 1024)));
}

/** The signal table and publication a PostgreSQL connector config names, or the key that is missing. */
export function signalTarget(config: Readonly<Record<string, string>>): { signalTable: TableRef; publication: string } {
  const sdc = config['signal.data.collection'];
  const publication = config['publication.name'];
  if (!sdc) throw new FatalError('the connector config has no signal.data.collection: resync needs Debezium signalling (nilus-pg sets it unless spec.source.cdc overrides it)');
  const t = parseTableName(sdc);
  if (typeof t === 'string') throw new FatalError(`signal.data.collection "${sdc}" must be <schema>.<table>`);
  if (!publication) throw new FatalError('the connector config has no publication.name');
  return { signalTable: t, publication };
}

export async function requestIncrementalSnapshot(db: PgConnection, config: Readonly<Record<string, string>>, table: TableRef): Promise<SnapshotSignal> {
  const { signalTable, publication } = signalTarget(config);
  const c = await connectPg(db);
  try {
    if (!(await c.query(PUBLICATION_EXISTS, [publication])).rowCount) {
      throw new FatalError(`publication ${publication} does not exist on the source: the connector creates it when it first runs; start the pipeline (nilus-pg run) first`);
    }
    await c.query(createSignalTable(signalTable));
    let added = false;
    if (!(await c.query(PUBLICATION_HAS_TABLE, [publication, signalTable.schema, signalTable.table])).rowCount) {
      await c.query(addToPublication(publication, signalTable));
      added = true;
    }
    const closedBefore = (await c.query<{ n: number }>(SIGNAL_WINDOWS_CLOSED(signalTable))).rows[0]?.n ?? 0;
    const rows = Number((await c.query<{ n: string }>(countRows(table))).rows[0]?.n ?? 0);
    const id = randomUUID();
    await c.query(insertSignal(signalTable), [id, 'execute-snapshot', snapshotSignalData(table)]);
    return { id, signalTable, addedToPublication: added, closedBefore, rows, chunks: chunksFor(rows, config) };
  } finally {
    await c.end();
  }
}

/** Snapshot windows Debezium closed in the signal table since the signal (one per chunk read). */
export async function windowsClosed(db: PgConnection, signalTable: TableRef): Promise<number> {
  const c = await connectPg(db);
  try {
    const r = await c.query<{ n: number }>(SIGNAL_WINDOWS_CLOSED(signalTable));
    return r.rows[0]?.n ?? 0;
  } finally {
    await c.end();
  }
}
