/**
 * `nilus-pg check` on managed MySQL/MariaDB sources, against deliberately misconfigured servers:
 * a user without the replication grants on the stack's MariaDB, and throwaway MariaDB servers with
 * a STATEMENT binlog and MINIMAL row images, or no binlog (never done to the shared server). Each
 * problem is one line with its fix; fixed, the line passes. Also: Debezium's MySQL connector
 * against a real MariaDB 10.11, refused with the reason.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { createConnection } from 'mysql2/promise';
import { buildConfig, parseManifest } from '../../../src/config';
import { loadConnectionsFile } from '../../../src/config/connections';
import { runChecks, type CheckLine } from '../../../src/cli/check';
import { createTestSchema, dropTestSchemaUnlessFailed, newPool, targetPgUrl, uniqueName } from '../../helpers/pg';
import { startMariadb, type ThrowawayMariadb } from '../../helpers/mariadb';
import { mysqlSourceConnections } from '../../helpers/managed';
import { mysqlUrl } from '../../helpers/stack';

jest.setTimeout(120_000);

const failed = (lines: CheckLine[]): string[] => lines.filter((l) => !l.ok).map((l) => l.text);
const passed = (lines: CheckLine[]): string[] => lines.filter((l) => l.ok).map((l) => l.text);

describe('check: managed MySQL/MariaDB source prerequisites', () => {
  let target: Pool;
  let schema: string;
  const db = uniqueName('mychk');
  const user = uniqueName('nilus_norepl').slice(0, 32);
  const name = uniqueName('mychk').replace(/_/g, '-');
  const dir = mkdtempSync(join(tmpdir(), 'nilus-mychk-'));
  const stack = new URL(mysqlUrl());
  const stackSql = async (sql: string): Promise<unknown> => {
    const c = await createConnection({ host: stack.hostname, port: Number(stack.port), user: 'root' });
    try {
      return (await c.query(sql))[0];
    } finally {
      await c.end();
    }
  };
  const throwaways: ThrowawayMariadb[] = [];

  beforeAll(async () => {
    target = newPool();
    schema = await createTestSchema(target, 'mychk');
    await stackSql(`CREATE DATABASE \`${db}\``);
    await stackSql(`CREATE TABLE \`${db}\`.orders (id int PRIMARY KEY, v varchar(10))`);
    await stackSql(`CREATE USER '${user}'@'%' IDENTIFIED BY 'pw'`);
    await stackSql(`GRANT SELECT ON \`${db}\`.* TO '${user}'@'%'`);
  });
  afterAll(async () => {
    await stackSql(`DROP USER IF EXISTS '${user}'@'%'`).catch(() => undefined);
    await stackSql(`DROP DATABASE IF EXISTS \`${db}\``).catch(() => undefined);
    for (const t of throwaways) await t.stop();
    await dropTestSchemaUnlessFailed(target, schema);
    await target.end();
  });

  /** The seed's manifest shape against a connection `type` at host:port, checked. */
  const check = async (o: { type: 'mysql' | 'mariadb'; port: number; username: string; password: string; database?: string; cdc?: Record<string, string>; sink?: Record<string, unknown> }): Promise<CheckLine[]> => {
    const file = join(dir, `${uniqueName('c')}.yaml`);
    writeFileSync(file, mysqlSourceConnections('src', { type: o.type, host: '127.0.0.1', port: o.port, database: o.database ?? db, username: o.username, password: o.password }));
    const text = JSON.stringify({
      name, version: 'v1alpha', type: 'nilus',
      spec: {
        type: 'cdc',
        source: { address: 'dataos://src', cdc: { 'collection.include.list': `${o.database ?? db}\\..*`, 'topic.prefix': name.replace(/-/g, '_'), ...o.cdc } },
        sink: { address: targetPgUrl(), options: { dest_table: `${schema}.{table}`, incremental_strategy: 'merge', ...o.sink } },
      },
    });
    return runChecks(await buildConfig(parseManifest(text).manifest, await loadConnectionsFile(file), process.env));
  };

  it('the stack\'s MariaDB: a user without replication grants, each missing grant with its fix; granted, they pass', async () => {
    const account = `'${user}'@'%'`;
    const lines = await check({ type: 'mariadb', port: Number(stack.port), username: user, password: 'pw' });
    expect(passed(lines)).toEqual(expect.arrayContaining([
      expect.stringMatching(new RegExp(`^source MariaDB 10\\.\\S+ reachable at 127\\.0\\.0\\.1:${stack.port}/${db} as ${user}$`)),
      'binary log on (log_bin=ON)', 'binlog_format=ROW', 'binlog_row_image=FULL',
      expect.stringMatching(/^server_id=1 \(the connector reads the binlog as replica id \d+\)$/),
      `1 source table(s) selected: ${db}.orders`, 'SELECT on the selected tables (the snapshot reads them)', 'every selected table has a primary key',
      expect.stringMatching(/^Kafka Connect reachable at /),
    ]));
    expect(failed(lines)).toEqual([
      `source user ${account} lacks REPLICATION SLAVE, so it cannot read the binlog — GRANT REPLICATION SLAVE ON *.* TO ${account}`,
      `source user ${account} lacks REPLICATION CLIENT (BINLOG MONITOR since MariaDB 10.5), so it cannot read the binlog position (SHOW MASTER STATUS) — GRANT BINLOG MONITOR ON *.* TO ${account}`,
      `source user ${account} has neither RELOAD nor LOCK TABLES, so the snapshot cannot take its read lock — GRANT RELOAD ON *.* TO ${account}, or set snapshot.locking.mode: none in spec.source.cdc (safe when no schema change runs during the snapshot)`,
      // the stack's Kafka Connect has only the MySQL connector (3.6.1, and 2.6.2 for its MariaDB adapter)
      "the Debezium MariaDB connector plugin (io.debezium.connector.mariadb.MariaDbConnector) is not installed in Kafka Connect — put debezium-connector-mariadb in a folder on the worker's plugin.path and restart the worker (the MySQL connector that is installed refuses MariaDB 10+ from 3.0 on; 2.5–2.6 read it with connector.adapter: mariadb, see docs/manifest.md#managed-mysql--mariadb-sources)",
    ]);

    await stackSql(`GRANT REPLICATION SLAVE, REPLICATION CLIENT, RELOAD ON *.* TO '${user}'@'%'`);
    const fixed = await check({ type: 'mariadb', port: Number(stack.port), username: user, password: 'pw' });
    expect(passed(fixed)).toEqual(expect.arrayContaining([
      `source user ${account} has REPLICATION SLAVE`,
      `source user ${account} has REPLICATION CLIENT (BINLOG MONITOR since MariaDB 10.5)`,
      `source user ${account} may lock for the snapshot (RELOAD)`,
    ]));
    expect(failed(fixed)).toEqual([expect.stringMatching(/^the Debezium MariaDB connector plugin .* is not installed/)]);

    // Debezium's MySQL connector named against this MariaDB: refused, and why; Connect's own validation agrees.
    const mysqlClass = failed(await check({ type: 'mariadb', port: Number(stack.port), username: user, password: 'pw', cdc: { 'connector.class': 'io.debezium.connector.mysql.MySqlConnector' } }));
    expect(mysqlClass).toEqual([
      expect.stringMatching(/^Debezium's MySQL connector refuses MariaDB 10\.11\.\S+: it takes the version for MySQL 8\.4\+ and asks SHOW BINARY LOG STATUS, which MariaDB does not have — make the connection type: mariadb/),
      expect.stringMatching(/^Kafka Connect rejects the connector config — database\.hostname: .*should support SHOW BINARY LOG STATUS but it failed/),
    ]);
  });

  it('connector.adapter: mariadb (the MySQL connector 2.6 on the stack\'s MariaDB): not refused; the plugin version and the schema history checked, each with its fix', async () => {
    const root = { type: 'mariadb' as const, port: Number(stack.port), username: 'root', password: '' };
    const adapter = { 'connector.adapter': 'mariadb', 'connector.plugin.version': '2.6.2.Final' };
    const fileHistory = { 'schema.history.internal': 'io.debezium.storage.file.history.FileSchemaHistory', 'schema.history.internal.file.filename': join(dir, 'history.dat') };
    const good = await check({ ...root, cdc: { ...adapter, ...fileHistory } });
    expect(failed(good)).toEqual([]);
    expect(passed(good)).toEqual(expect.arrayContaining([
      expect.stringMatching(/^Debezium MySQL connector plugin installed \(2\.6\.2\.Final; Connect has .*3\.6\.1\.Final.*, this one named by connector\.plugin\.version\)$/),
      expect.stringMatching(/^Kafka Connect validated the connector config/),
    ]));
    // a blob column: 2.6's snapshot would send NULL for it
    await stackSql(`CREATE TABLE \`${db}\`.files (id int PRIMARY KEY, body mediumblob, name varbinary(20))`);
    try {
      expect(failed(await check({ ...root, cdc: { ...adapter, ...fileHistory } }))).toEqual([
        `${db}.files.body: blob column(s), which the MySQL connector 2.6's MariaDB adapter snapshots as NULL (Debezium 2.6 does not convert the MariaDB driver's Blob; later changes are exact) — use Debezium's MariaDB connector 2.7+, or make the column(s) varbinary, or set snapshot.mode: no_data in spec.source.cdc if the rows already in the table need not be copied`,
      ]);
      expect(failed(await check({ ...root, cdc: { ...adapter, ...fileHistory, 'snapshot.mode': 'no_data' } }))).toEqual([]);
    } finally {
      await stackSql(`DROP TABLE \`${db}\`.files`);
    }
    // Debezium 2.6's Kafka schema history on Kafka Connect 4: the first restart would fail
    expect(failed(await check({ ...root, cdc: adapter }))).toEqual([
      expect.stringMatching(/^Debezium 2\.6\.2\.Final's Kafka schema history cannot be read back on Kafka Connect 4\.\S+ \(it calls KafkaConsumer\.poll\(long\), gone since Kafka 4\.0\): .* — set schema\.history\.internal: io\.debezium\.storage\.file\.history\.FileSchemaHistory and schema\.history\.internal\.file\.filename: /),
    ]);
    // no version named: Connect runs its newest, 3.6.1, which has no adapter
    const newest = failed(await check({ ...root, cdc: { 'connector.adapter': 'mariadb', ...fileHistory } }));
    expect(newest).toContain('connector.adapter: mariadb needs Debezium\'s MySQL connector 2.5–2.6 (later ones have no MariaDB adapter and refuse MariaDB 10+), but Connect would run 3.6.1.Final — set connector.plugin.version: 2.6.2.Final in spec.source.cdc');
    expect(newest.filter((l) => /refuses MariaDB/.test(l) && l.startsWith('Debezium'))).toEqual([]);
    // a version Connect does not have
    expect(failed(await check({ ...root, cdc: { ...adapter, 'connector.plugin.version': '9.9.9.Final', ...fileHistory } }))).toEqual([
      expect.stringMatching(/^connector\.plugin\.version 9\.9\.9\.Final of the Debezium MySQL connector is not installed in Kafka Connect \(it has (2\.6\.2\.Final, 3\.6\.1\.Final|3\.6\.1\.Final, 2\.6\.2\.Final)\) — set connector\.plugin\.version in spec\.source\.cdc to one of those/),
    ]);
  });

  it('a server with a STATEMENT binlog, MINIMAL row images and a keyless table: each reported; fixed (SET GLOBAL, primary_key), each passes', async () => {
    const m = await startMariadb(['--binlog-format=STATEMENT', '--binlog-row-image=MINIMAL']);
    throwaways.push(m);
    await m.sql('CREATE DATABASE shop; CREATE TABLE shop.orders (id int PRIMARY KEY); CREATE TABLE shop.events (at datetime(6), v int)');
    const lines = await check({ type: 'mariadb', port: m.port, username: 'root', password: '', database: 'shop' });
    const mariadbConf = 'my.cnf [mariadbd]';
    expect(failed(lines)).toEqual(expect.arrayContaining([
      'shop.events has no primary key, so its events carry no key to merge by — add a PRIMARY KEY at the source, or set spec.sink.options.primary_key to columns that identify a row',
      `binlog_format is STATEMENT, Debezium needs ROW (row events carry the changed rows) — SET GLOBAL binlog_format = 'ROW' and binlog_format=ROW in ${mariadbConf} so a restart keeps it; connections already open keep their format until they reconnect`,
      `binlog_row_image is MINIMAL, Debezium needs FULL (otherwise updates and deletes carry only some columns) — SET GLOBAL binlog_row_image = 'FULL' and binlog_row_image=FULL in ${mariadbConf}`,
    ]));
    expect(passed(lines)).toEqual(expect.arrayContaining(['binary log on (log_bin=ON)', expect.stringMatching(/^source user 'root'@'[^']+' has REPLICATION SLAVE$/)]));
    await m.sql("SET GLOBAL binlog_format = 'ROW'; SET GLOBAL binlog_row_image = 'FULL'");
    const fixed = await check({ type: 'mariadb', port: m.port, username: 'root', password: '', database: 'shop' });
    expect(passed(fixed)).toEqual(expect.arrayContaining(['binlog_format=ROW', 'binlog_row_image=FULL', '2 source table(s) selected: shop.events, shop.orders']));
    const keyed = await check({ type: 'mariadb', port: m.port, username: 'root', password: '', database: 'shop', sink: { primary_key: ['at', 'v'] } });
    expect(passed(keyed)).toContain('shop.events has no primary key: rows are matched by spec.sink.options.primary_key (at, v)');
    expect(failed(fixed).filter((l) => /binlog/.test(l) && !/plugin/.test(l))).toEqual([]);
  });

  it('a server without a binlog, and a connector replica id equal to the server_id: both reported with their fix', async () => {
    // (MariaDB's server_id cannot be 0, its minimum is 1: the server_id=0 line is for MySQL.)
    const m = await startMariadb(['--skip-log-bin']);
    throwaways.push(m);
    await m.sql('CREATE DATABASE shop; CREATE TABLE shop.orders (id int PRIMARY KEY)');
    const lines = failed(await check({ type: 'mysql', port: m.port, username: 'root', password: '', database: 'shop', cdc: { 'database.server.id': '1' } }));
    expect(lines).toEqual(expect.arrayContaining([
      'log_bin is OFF, so there is no binlog for Debezium to read — start the server with log_bin (my.cnf [mariadbd]: log_bin=binlog, server_id=1) and restart it (managed services: enable binary logging, e.g. automated backups on Amazon RDS)',
      "server_id 1 is also the connector's database.server.id: the binlog client must use an id no server or replica has — set another database.server.id in spec.source.cdc",
    ]));
  });
});
