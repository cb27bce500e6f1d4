/**
 * A managed MariaDB source on the real stack's MariaDB 10.11 (port 53306, ROW binlog), through
 * Debezium 2.6's MySQL connector and its MariaDB adapter — the path the stack offers, since
 * Debezium's own MariaDB connector (2.7+) is not served by the Maven Central reached here and the
 * 3.x MySQL connector refuses MariaDB 10+. The seed's CDC manifest shape, its address a
 * `type: mariadb` connection naming its Kafka, with `connector.adapter: mariadb` and
 * `connector.plugin.version: 2.6.2.Final` in spec.source.cdc (nilus sets the MariaDB JDBC driver,
 * protocol and ssl mode that adapter needs): `nilus-pg run` alone creates the connector, snapshots,
 * and streams inserts, updates, deletes and a truncate, value-exact. The built CLI restarted leaves
 * the connector unchanged and single; a changed manifest updates it, and rows written while the
 * connector restarts all land; `nilus-pg verify` then reports the target equal.
 *
 * Requires debezium-connector-mysql 2.6.2.Final in Kafka Connect's plugin.path, next to 3.6.1
 * (scripts/stack/fetch.sh puts it in .cache/stack/plugins/debezium-connector-mysql-2.6).
 */
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { createConnection, type Connection } from 'mysql2/promise';
import { buildConfig, parseManifest } from '../../../src/config';
import { loadConnectionsFile } from '../../../src/config/connections';
import { ConnectRest } from '../../../src/managed/connect-rest';
import { ensureConnector } from '../../../src/managed/connector';
import { main } from '../../../src/cli/main';
import { createTestSchema, dropTestSchemaUnlessFailed, newPool, targetPgUrl, uniqueName } from '../../helpers/pg';
import { removeConnector } from '../../helpers/debezium';
import { mysqlSourceConnections, deleteManagedTopics } from '../../helpers/managed';
import { INSERT, ITEMS_DDL, SRC, itemsLanded, row, expectItemsTyped } from '../../helpers/mysql-items';
import { startInProcess, startWorker } from '../../helpers/pipeline';
import { connectUrl, mysqlUrl } from '../../helpers/stack';

jest.setTimeout(150_000);

const PLUGIN_VERSION = '2.6.2.Final';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('managed MariaDB source through the MySQL connector 2.6 and its MariaDB adapter', () => {
  let target: Pool;
  let schema: string;
  let maria: Connection;
  const stack = new URL(mysqlUrl());
  const db = uniqueName('mdbsrc');
  const name = uniqueName('mdb').replace(/_/g, '-');
  const prefix = name.replace(/-/g, '_');
  const connector = `nilus-${name}`;
  const rest = new ConnectRest(connectUrl());
  const dir = mkdtempSync(join(tmpdir(), 'nilus-mdb-'));
  const connections = join(dir, 'connections.yaml');
  const historyFile = join(dir, 'schema-history.dat');

  const manifest = (cdc: Record<string, unknown> = {}): string => JSON.stringify({
    name, version: 'v1alpha', type: 'nilus',
    spec: {
      type: 'cdc',
      source: {
        address: 'dataos://mariadb-src',
        cdc: {
          'collection.include.list': `${db}.items`, 'topic.prefix': prefix, 'topic.refresh.ms': 1000,
          'connector.adapter': 'mariadb', 'connector.plugin.version': PLUGIN_VERSION,
          // Debezium 2.6's Kafka schema history cannot be read back on Kafka Connect 4 (see docs/manifest.md):
          // a file on the (single, same-host) worker instead.
          'schema.history.internal': 'io.debezium.storage.file.history.FileSchemaHistory',
          'schema.history.internal.file.filename': historyFile,
          ...cdc,
        },
      },
      sink: { address: targetPgUrl(), options: { dest_table: `${schema}.{table}`, incremental_strategy: 'merge', http_port: 0, 'batch.max_age_ms': 200, log_level: 'warn' } },
    },
  });
  const sql = async (statement: string, values?: unknown[]): Promise<unknown[]> => (await maria.query(statement, values))[0] as unknown[];
  const source = async (): Promise<Record<string, unknown>[]> => (await sql(SRC(db))) as Record<string, unknown>[];
  const landed = (timeoutMs = 90_000): Promise<void> => itemsLanded(target, schema, source, timeoutMs);
  const count = async (): Promise<number> => (await target.query(`SELECT count(*)::int AS n FROM "${schema}".items`)).rows[0].n;

  beforeAll(async () => {
    const plugins = await rest.plugins();
    if (!plugins.some((p) => p.class === 'io.debezium.connector.mysql.MySqlConnector' && p.version === PLUGIN_VERSION)) {
      throw new Error(`Kafka Connect at ${connectUrl()} lacks debezium-connector-mysql ${PLUGIN_VERSION} (it has ${plugins.map((p) => `${p.class} ${p.version}`).join(', ')}): run scripts/stack/fetch.sh and restart the stack's Kafka Connect`);
    }
    target = newPool();
    schema = await createTestSchema(target, 'mdb');
    maria = await createConnection({ host: stack.hostname, port: Number(stack.port), user: 'root' });
    // SRC shows timestamps as UTC text; the server's own zone is not touched.
    await sql("SET time_zone = '+00:00'");
    await sql(`CREATE DATABASE \`${db}\``);
    // varbinary, not blob: Debezium 2.6's snapshot reads a BLOB through the MariaDB driver as NULL
    // ("Unexpected JDBC BINARY value … MariaDbBlob"), a loss docs/manifest.md states.
    await sql(ITEMS_DDL(db, 'varbinary(64)'));
    await sql(INSERT(db), [Array.from({ length: 60 }, (_, i) => row(i + 1))]);
    writeFileSync(connections, mysqlSourceConnections('mariadb-src', { type: 'mariadb', host: stack.hostname, port: stack.port, database: db, username: 'root', password: '' }));
  });

  afterAll(async () => {
    await removeConnector(connector).catch(() => undefined);
    await deleteManagedTopics(prefix, name);
    if (maria) {
      await sql(`DROP DATABASE IF EXISTS \`${db}\``).catch(() => undefined);
      await maria.end();
    }
    if (target) {
      await dropTestSchemaUnlessFailed(target, schema);
      await target.end();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('run alone creates the connector on the 2.6 plugin; the snapshot and every change land value-exact', async () => {
    const svc = await startInProcess(manifest(), connections);
    try {
      await landed(120_000);
      expect(await rest.config(connector)).toMatchObject({
        'connector.class': 'io.debezium.connector.mysql.MySqlConnector', 'connector.adapter': 'mariadb', 'connector.plugin.version': PLUGIN_VERSION,
        'database.protocol': 'jdbc:mariadb', 'database.jdbc.driver': 'org.mariadb.jdbc.Driver', 'database.ssl.mode': 'disabled',
        'nilus_boolean.type': 'io.debezium.connector.mysql.converters.TinyIntOneToBooleanConverter',
        'skipped.operations': 'none', 'database.include.list': db, 'table.include.list': `${db}.items`, 'topic.prefix': prefix,
      });
      // the task Connect runs is the 2.6 connector, not the 3.6.1 one beside it
      const status = (await (await fetch(`${connectUrl()}/connectors/${connector}/status`)).json()) as { tasks: { state: string; version?: string }[] };
      expect(status.tasks.map((t) => [t.state, t.version])).toEqual([['RUNNING', PLUGIN_VERSION]]);
      await expectItemsTyped(target, schema);

      await sql(INSERT(db), [Array.from({ length: 40 }, (_, i) => row(i + 61))]);
      await sql(`UPDATE \`${db}\`.items SET amount = amount + 0.000001, name = CONCAT('upd ', id), note = NULL, ts = '2038-01-19 03:14:07.999' WHERE id % 3 = 0`);
      await sql(`UPDATE \`${db}\`.items SET doc = JSON_OBJECT('k', id), data = NULL, flag = 0 WHERE id % 4 = 1`);
      await sql(`DELETE FROM \`${db}\`.items WHERE id % 10 = 7`);
      await landed();
      expect(await count()).toBe(90);

      // TRUNCATE reaches the target only because the connector has skipped.operations=none.
      await sql(`TRUNCATE \`${db}\`.items`);
      await sql(INSERT(db), [[row(1000)]]);
      await landed();
      expect((await target.query(`SELECT id FROM "${schema}".items`)).rows).toEqual([{ id: 1000 }]);
    } finally {
      expect(await svc.stop()).toBe(0);
    }
  });

  it('the worker restarted (nilus-pg run, the built CLI) does not duplicate or change the connector, and streaming resumes', async () => {
    const before = await rest.config(connector);
    const cfg = await buildConfig(parseManifest(manifest()).manifest, await loadConnectionsFile(connections), process.env);
    expect(await ensureConnector(cfg.cdc!.managed!)).toEqual({ action: 'unchanged' });
    process.env.NILUS_CONNECTIONS = connections;
    const w = startWorker(manifest());
    delete process.env.NILUS_CONNECTIONS;
    try {
      await sql(INSERT(db), [[row(1001), row(1002)]]);
      await landed();
      expect(await rest.config(connector)).toEqual(before);
      const all = (await (await fetch(`${connectUrl()}/connectors`)).json()) as string[];
      expect(all.filter((c) => c.includes(name))).toEqual([connector]);
      expect((await rest.status(connector))?.tasks.map((t) => t.state)).toEqual(['RUNNING']);
    } finally {
      w.child.kill('SIGTERM');
      const code = await Promise.race([w.exited, sleep(20_000).then(() => 'timeout')]);
      if (code !== 0) console.error(w.output());
      expect(code).toBe(0);
    }
  });

  it('a changed manifest updates the connector, no row written during its restart is lost, and verify reports the target equal', async () => {
    // Every key of the adapter named explicitly (passed through, not refused), plus one real change.
    const text = manifest({
      'connector.class': 'io.debezium.connector.mysql.MySqlConnector', 'database.protocol': 'jdbc:mariadb',
      'database.jdbc.driver': 'org.mariadb.jdbc.Driver', 'database.ssl.mode': 'disabled', 'max.batch.size': 1024,
    });
    const before = await rest.config(connector);
    // A writer inserts a row every 100 ms from before the update until well after the restarted task runs.
    let writing = true;
    let next = 2000;
    const writer = (async () => {
      while (writing) {
        await sql(INSERT(db), [[row(next++)]]);
        await sleep(100);
      }
    })();
    const svc = await startInProcess(text, connections);
    try {
      const deadline = Date.now() + 60_000;
      while ((await rest.config(connector))?.['max.batch.size'] !== '1024' && Date.now() < deadline) await sleep(250);
      expect(await rest.config(connector)).toEqual({ ...before, 'max.batch.size': '1024' });
      while ((await rest.status(connector))?.tasks.map((t) => t.state).join() !== 'RUNNING' && Date.now() < deadline) await sleep(250);
      await sleep(4000);
      writing = false;
      await writer;
      expect(next - 2000).toBeGreaterThan(20);
      await sql(`UPDATE \`${db}\`.items SET name = 'after the restart' WHERE id = 1002`);
      await landed();
      expect(await count()).toBe(3 + next - 2000);
    } finally {
      writing = false;
      await writer;
      expect(await svc.stop()).toBe(0);
    }
    const file = join(dir, 'manifest.yaml');
    writeFileSync(file, text);
    const lines: string[] = [];
    const code = await main(['verify', file, '--connections', connections, '--settle-quiet', '1'], { out: (l) => lines.push(l), err: (l) => lines.push(l) });
    expect({ code, lines }).toEqual({ code: 0, lines: expect.arrayContaining([expect.stringMatching(new RegExp(`^${db}\\.items → ${schema}\\.items: equal, ${3 + next - 2000} rows`))]) });
  });
});
