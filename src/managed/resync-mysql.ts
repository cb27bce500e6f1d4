/**
 * `nilus-pg resync` for a managed MySQL/MariaDB source: the same incremental snapshot as for
 * PostgreSQL (./resync.ts). The `execute-snapshot` signal goes to the connector's signal table
 * (`signal.data.collection`, `<database>.<table>`, see other-configs.ts), made here when missing.
 * Debezium reads signals from the binlog, so the table is in the captured database; it captures its
 * own signal table whatever table.include.list says. It writes its snapshot-window watermarks to
 * the same table (the connector's user needs INSERT on it), which is how --wait sees the chunks read.
 * Statements are src/tables/sql/mysql.ts's.
 */
import { randomUUID } from 'node:crypto';
import type { MysqlConnection } from '../config/types';
import { parseTableName } from '../config/names';
import { FatalError } from '../kernel/errors';
import type { TableRef } from '../kernel/types';
import { connectMysql, run } from '../tables/mysql-connection';
import { countRows, createSignalTable, insertSignal, signalWindowsClosed } from '../tables/sql/mysql';
import { chunksFor, snapshotSignalData, type SnapshotSignal } from './resync';

/** The signal table a MySQL/MariaDB connector config names, or what is wrong with it. */
export function mysqlSignalTable(config: Readonly<Record<string, string>>): TableRef {
  const sdc = config['signal.data.collection'];
  if (!sdc) throw new FatalError('the connector config has no signal.data.collection: resync needs Debezium signalling (nilus-pg sets it unless spec.source.cdc overrides it)');
  const t = parseTableName(sdc);
  if (typeof t === 'string') throw new FatalError(`signal.data.collection "${sdc}" must be <database>.<table>`);
  return t;
}

async function windows(c: Awaited<ReturnType<typeof connectMysql>>, signalTable: TableRef): Promise<number> {
  const r = await run<{ n: string | number }>(c, signalWindowsClosed(signalTable));
  return Number(r[0]?.n ?? 0);
}

export async function requestMysqlIncrementalSnapshot(db: MysqlConnection, config: Readonly<Record<string, string>>, table: TableRef): Promise<SnapshotSignal> {
  const signalTable = mysqlSignalTable(config);
  const c = await connectMysql(db);
  try {
    await run(c, createSignalTable(signalTable));
    const closedBefore = await windows(c, signalTable);
    const rows = Number((await run<{ n: string | number }>(c, countRows(table)))[0]?.n ?? 0);
    const id = randomUUID();
    await run(c, insertSignal(signalTable), [id, 'execute-snapshot', snapshotSignalData(table)]);
    return { id, signalTable, addedToPublication: false, closedBefore, rows, chunks: chunksFor(rows, config) };
  } finally {
    c.destroy();
  }
}

/** Snapshot windows Debezium closed in the signal table (one per chunk read). */
export async function mysqlWindowsClosed(db: MysqlConnection, signalTable: TableRef): Promise<number> {
  const c = await connectMysql(db);
  try {
    return await windows(c, signalTable);
  } finally {
    c.destroy();
  }
}
