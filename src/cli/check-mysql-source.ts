/**
 * `nilus-pg check` for a managed MySQL/MariaDB source: what Debezium's binlog connector needs of the
 * source server, one line each with the fix (the seed's troubleshooting style). Read-only: the
 * statements run inside the read-only snapshot transaction the batch reader opens.
 */
import type { Connection, QueryError } from '../tables/mysql-connection';
import type { CdcSource, ManagedSource, SinkOptions } from '../config/types';
import { tableSelected } from '../config/names';
import { MysqlTableSource, readerConnection } from '../tables/mysql-table';
import type { TableReader } from '../tables/table-source';
import { MYSQL_CONNECTOR_CLASS, mariadbAdapter } from '../managed/other-configs';
import { BLOB_COLUMNS, CAPTURE_TABLES, probeSelect, SERVER_SETTINGS, SHOW_GRANTS } from '../tables/sql/mysql';

type Add = (ok: boolean, text: string) => void;
type MysqlManaged = Extract<ManagedSource, { kind: 'mysql' }>;
/** What of spec.sink.options decides whether a table without a primary key can be merged. */
export type SinkKeys = Pick<SinkOptions, 'strategy' | 'primaryKey' | 'columns'>;

function run<T>(c: Connection, sql: string, values: unknown[] = []): Promise<T[]> {
  return new Promise((resolve, reject) => {
    c.query({ sql, values }, (err: QueryError | null, rows: unknown) => (err ? reject(err) : resolve(rows as T[])));
  });
}

export interface MysqlPrereqs {
  readonly version: string;
  readonly mariadb: boolean;
  readonly logBin: boolean;
  readonly binlogFormat: string;
  readonly binlogRowImage: string;
  readonly serverId: number;
  /** `'user'@'host'` as the server knows the account (CURRENT_USER()). */
  readonly account: string;
  /** Global (ON *.*) privileges, upper case; ALL PRIVILEGES expanded to `ALL`. */
  readonly global: ReadonlySet<string>;
}

/** `GRANT A, B (col), C ON *.* TO …` lines → the global privileges. Roles are not followed. */
export function globalPrivileges(grants: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const g of grants) {
    const m = /^GRANT (.+?) ON (\S+) TO /i.exec(g);
    if (!m || m[2] !== '*.*') continue;
    for (const p of m[1].replace(/\([^)]*\)/g, '').split(',')) {
      const name = p.trim().toUpperCase();
      out.add(name === 'ALL PRIVILEGES' ? 'ALL' : name);
    }
  }
  return out;
}

const has = (p: MysqlPrereqs, ...names: string[]): boolean => p.global.has('ALL') || names.some((n) => p.global.has(n));

export async function readMysqlPrereqs(c: Connection): Promise<MysqlPrereqs> {
  const [v] = await run<Record<string, unknown>>(c, SERVER_SETTINGS);
  const grants = (await run<Record<string, string>>(c, SHOW_GRANTS)).map((r) => String(Object.values(r)[0]));
  const account = String(v.account);
  const at = account.lastIndexOf('@');
  return {
    version: String(v.version),
    mariadb: /mariadb/i.test(String(v.version)),
    logBin: String(v.log_bin) === '1' || String(v.log_bin).toUpperCase() === 'ON',
    binlogFormat: String(v.binlog_format).toUpperCase(),
    binlogRowImage: String(v.binlog_row_image).toUpperCase(),
    serverId: Number(v.server_id),
    account: at > 0 ? `'${account.slice(0, at)}'@'${account.slice(at + 1)}'` : `'${account}'`,
    global: globalPrivileges(grants),
  };
}

/** Debezium 3.x's MySQL connector reads a version >= 8.4 as "asks SHOW BINARY LOG STATUS"; MariaDB 10+ has none. */
export function mysqlConnectorRefuses(version: string): boolean {
  const [major, minor] = version.split('.').map((x) => parseInt(x, 10));
  return /mariadb/i.test(version) && (major > 8 || (major === 8 && minor >= 4));
}

export async function checkMysqlSource(cdc: CdcSource, m: MysqlManaged, add: Add, sink?: SinkKeys): Promise<void> {
  const db = m.db;
  const source = new MysqlTableSource(db, { tinyint1AsBoolean: true });
  let reader: TableReader;
  try {
    reader = await source.open();
  } catch (e) {
    await source.close().catch(() => undefined);
    return add(false, `source ${m.flavor === 'mariadb' ? 'MariaDB' : 'MySQL'} ${db.host}:${db.port}/${db.database}: ${(e as Error).message} — check host, port, credentials and that this host can reach it`);
  }
  try {
    const c = readerConnection(reader)!;
    const p = await readMysqlPrereqs(c);
    const product = p.mariadb ? 'MariaDB' : 'MySQL';
    add(true, `source ${product} ${p.version} reachable at ${db.host}:${db.port}/${db.database} as ${db.username}`);
    const cls = m.connectorConfig['connector.class'];
    // With connector.adapter=mariadb (the MySQL connector 2.5–2.6) it reads MariaDB as MariaDB;
    // checkConnect says whether the plugin version Connect runs has that adapter.
    if (cls === MYSQL_CONNECTOR_CLASS && !mariadbAdapter(m.connectorConfig) && mysqlConnectorRefuses(p.version)) {
      add(false, `Debezium's MySQL connector refuses ${product} ${p.version}: it takes the version for MySQL 8.4+ and asks SHOW BINARY LOG STATUS, which MariaDB does not have — make the connection type: mariadb and remove connector.class from spec.source.cdc (Debezium's MariaDB connector 2.7+, debezium-connector-mariadb on the Connect worker's plugin.path), or with the MySQL connector 2.5–2.6 installed set connector.adapter: mariadb and connector.plugin.version (e.g. 2.6.2.Final) in spec.source.cdc`);
    }
    binlogLines(p, m, add);
    grantLines(p, m, add);
    await tableLines(c, cdc, db.database, p, add, sink, m.connectorConfig);
  } finally {
    await reader.close().catch(() => undefined);
    await source.close().catch(() => undefined);
  }
}

function binlogLines(p: MysqlPrereqs, m: MysqlManaged, add: Add): void {
  const conf = p.mariadb ? 'my.cnf [mariadbd]' : 'my.cnf [mysqld]';
  add(p.logBin, p.logBin ? 'binary log on (log_bin=ON)'
    : `log_bin is OFF, so there is no binlog for Debezium to read — start the server with log_bin (${conf}: log_bin=binlog, server_id=1) and restart it (managed services: enable binary logging, e.g. automated backups on Amazon RDS)`);
  add(p.binlogFormat === 'ROW', p.binlogFormat === 'ROW' ? 'binlog_format=ROW'
    : `binlog_format is ${p.binlogFormat}, Debezium needs ROW (row events carry the changed rows) — SET GLOBAL binlog_format = 'ROW' and binlog_format=ROW in ${conf} so a restart keeps it; connections already open keep their format until they reconnect`);
  add(p.binlogRowImage === 'FULL', p.binlogRowImage === 'FULL' ? 'binlog_row_image=FULL'
    : `binlog_row_image is ${p.binlogRowImage}, Debezium needs FULL (otherwise updates and deletes carry only some columns) — SET GLOBAL binlog_row_image = 'FULL' and binlog_row_image=FULL in ${conf}`);
  const connectorId = Number(m.connectorConfig['database.server.id']);
  if (p.serverId === 0) {
    add(false, `server_id is 0: a server writing a binlog for replicas needs a non-zero server_id — set server_id (e.g. server_id=1 in ${conf}) and restart`);
  } else if (p.serverId === connectorId) {
    add(false, `server_id ${p.serverId} is also the connector's database.server.id: the binlog client must use an id no server or replica has — set another database.server.id in spec.source.cdc`);
  } else {
    add(true, `server_id=${p.serverId} (the connector reads the binlog as replica id ${connectorId})`);
  }
}

function grantLines(p: MysqlPrereqs, m: MysqlManaged, add: Add): void {
  add(has(p, 'REPLICATION SLAVE'), has(p, 'REPLICATION SLAVE') ? `source user ${p.account} has REPLICATION SLAVE`
    : `source user ${p.account} lacks REPLICATION SLAVE, so it cannot read the binlog — GRANT REPLICATION SLAVE ON *.* TO ${p.account}`);
  // MariaDB 10.5.2+ renamed REPLICATION CLIENT to BINLOG MONITOR (SHOW MASTER STATUS / SHOW BINLOG STATUS need it).
  const client = has(p, 'REPLICATION CLIENT', 'BINLOG MONITOR', 'SUPER');
  const clientName = p.mariadb ? 'REPLICATION CLIENT (BINLOG MONITOR since MariaDB 10.5)' : 'REPLICATION CLIENT';
  add(client, client ? `source user ${p.account} has ${clientName}`
    : `source user ${p.account} lacks ${clientName}, so it cannot read the binlog position (SHOW MASTER STATUS) — GRANT ${p.mariadb ? 'BINLOG MONITOR' : 'REPLICATION CLIENT'} ON *.* TO ${p.account}`);
  if ((m.connectorConfig['snapshot.locking.mode'] ?? 'minimal') === 'none') return;
  const lock = has(p, 'RELOAD', 'LOCK TABLES');
  add(lock, lock ? `source user ${p.account} may lock for the snapshot (${has(p, 'RELOAD') ? 'RELOAD' : 'LOCK TABLES'})`
    : `source user ${p.account} has neither RELOAD nor LOCK TABLES, so the snapshot cannot take its read lock — GRANT RELOAD ON *.* TO ${p.account}, or set snapshot.locking.mode: none in spec.source.cdc (safe when no schema change runs during the snapshot)`);
}

/**
 * The MySQL connector 2.5–2.6's MariaDB adapter reads the snapshot through the MariaDB JDBC driver,
 * which hands a BLOB column over as a java.sql.Blob that Debezium 2.6 does not convert: the
 * snapshot sends NULL ("Unexpected JDBC BINARY value … MariaDbBlob"). Streamed changes are exact.
 */
async function blobLine(c: Connection, database: string, selected: readonly { table: string }[], config: Readonly<Record<string, string>>, add: Add): Promise<void> {
  if (!mariadbAdapter(config) || ['never', 'no_data', 'schema_only'].includes(config['snapshot.mode'] ?? '')) return;
  const rows = await run<{ t: string; c: string }>(c, BLOB_COLUMNS, [database]);
  const names = new Set(selected.map((t) => t.table));
  const cols = rows.filter((r) => names.has(String(r.t))).map((r) => `${database}.${r.t}.${r.c}`);
  if (cols.length === 0) return;
  add(false, `${cols.slice(0, 5).join(', ')}${cols.length > 5 ? `, … (${cols.length})` : ''}: blob column(s), which the MySQL connector 2.6's MariaDB adapter snapshots as NULL (Debezium 2.6 does not convert the MariaDB driver's Blob; later changes are exact) — use Debezium's MariaDB connector 2.7+, or make the column(s) varbinary, or set snapshot.mode: no_data in spec.source.cdc if the rows already in the table need not be copied`);
}

async function tableLines(c: Connection, cdc: CdcSource, database: string, p: MysqlPrereqs, add: Add, sink?: SinkKeys, connectorConfig: Readonly<Record<string, string>> = {}): Promise<void> {
  const rows = await run<{ t: string; pk: number | string }>(c, CAPTURE_TABLES, [database]);
  const selected = rows.map((r) => ({ schema: database, table: String(r.t), pk: Number(r.pk) === 1 })).filter((t) => tableSelected(cdc, t));
  if (selected.length === 0) {
    const inc = cdc.include.map((r) => r.source).join(',');
    return add(false, `no table in database ${database} matches ${inc ? `the include list "${inc}"` : 'the lists'} (or ${p.account} has no privilege on any) — check collection.include.list (regexes over <database>.<table>) and GRANT SELECT ON \`${database}\`.* TO ${p.account}`);
  }
  const show = (ts: readonly { table: string }[]): string => ts.slice(0, 5).map((t) => `${database}.${t.table}`).join(', ') + (ts.length > 5 ? `, … (${ts.length})` : '');
  add(true, `${selected.length} source table(s) selected: ${show(selected)}`);
  const unreadable: { table: string }[] = [];
  for (const t of selected) {
    try {
      await run(c, probeSelect({ schema: database, table: t.table }));
    } catch {
      unreadable.push(t);
    }
  }
  add(unreadable.length === 0, unreadable.length === 0 ? `SELECT on the selected tables (the snapshot reads them)`
    : `no SELECT on ${show(unreadable)} (the snapshot reads them) — GRANT SELECT ON \`${database}\`.* TO ${p.account}`);
  await blobLine(c, database, selected, connectorConfig, add);
  // Debezium keys each event by the table's primary key: a table without one sends events with no key.
  // (COLUMNS.COLUMN_KEY: MariaDB hides TABLE_CONSTRAINTS from a user with SELECT only.)
  const keyless = selected.filter((t) => !t.pk);
  if (keyless.length === 0) return add(true, 'every selected table has a primary key');
  if (sink?.strategy === 'append') return add(true, `${show(keyless)} ${keyless.length === 1 ? 'has' : 'have'} no primary key: fine for append, which keeps every change`);
  const primaryKey = sink?.primaryKey;
  if (primaryKey?.length) return add(true, `${show(keyless)} ${keyless.length === 1 ? 'has' : 'have'} no primary key: rows are matched by spec.sink.options.primary_key (${primaryKey.join(', ')})`);
  add(false, `${show(keyless)} ${keyless.length === 1 ? 'has' : 'have'} no primary key, so ${keyless.length === 1 ? 'its' : 'their'} events carry no key to merge by — add a PRIMARY KEY at the source, or set spec.sink.options.primary_key to columns that identify a row`);
}
