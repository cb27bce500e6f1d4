/**
 * Issue 29, item 3, for a managed MariaDB source: `nilus-pg resync` on the stack's MariaDB through
 * Debezium 2.6's MySQL connector and its MariaDB adapter (as mariadb-managed.it.ts). The pipeline
 * lands a table; its target rows are deleted by hand while inserts continue at the source; verify
 * says they differ; resync writes Debezium's execute-snapshot signal to
 * `<database>.nilus_<pipeline>_signal` (made by resync), the running pipeline applies the re-read
 * rows, `--wait` counts the snapshot windows Debezium closes, and verify says equal.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { createConnection, type Connection } from 'mysql2/promise';
import { main } from '../../../src/cli/main';
import { ConnectRest } from '../../../src/managed/connect-rest';
import { createTestSchema, dropTestSchemaUnlessFailed, newPool, targetPgUrl, uniqueName } from '../../helpers/pg';
import { removeConnector } from '../../helpers/debezium';
import { deleteManagedTopics, mysqlSourceConnections } from '../../helpers/managed';
import { startInProcess, waitFor } from '../../helpers/pipeline';
import { connectUrl, mysqlUrl } from '../../helpers/stack';

jest.setTimeout(400_000);

const PLUGIN_VERSION = '2.6.2.Final';

describe('nilus-pg resync of a managed MariaDB source (MySQL connector 2.6, MariaDB adapter)', () => {
  let target: Pool;
  let schema: string;
  let maria: Connection;
  const stack = new URL(mysqlUrl());
  const db = uniqueName('myrsrc');
  const name = uniqueName('myrsy').replace(/_/g, '-');
  const prefix = name.replace(/-/g, '_');
  const connector = `nilus-${name}`;
  const signal = `nilus_${prefix}_signal`;
  const dir = mkdtempSync(join(tmpdir(), 'nilus-myrsy-'));
  const connections = join(dir, 'connections.yaml');
  const file = join(dir, 'manifest.yaml');

  const manifest = (): string => JSON.stringify({
    name, version: 'v1alpha', type: 'nilus',
    spec: {
      type: 'cdc',
      source: {
        address: 'dataos://mariadb-src',
        cdc: {
          'collection.include.list': `${db}.orders`, 'topic.prefix': prefix, 'topic.refresh.ms': 1000,
          'connector.adapter': 'mariadb', 'connector.plugin.version': PLUGIN_VERSION,
          // Debezium 2.6's Kafka schema history cannot be read back on Kafka Connect 4 (docs/manifest.md).
          'schema.history.internal': 'io.debezium.storage.file.history.FileSchemaHistory',
          'schema.history.internal.file.filename': join(dir, 'schema-history.dat'),
          // Only this database's DDL: another test's database on the shared server may hold a table
          // 2.6's DDL parser refuses, which would fail the snapshot (seen once without this).
          'schema.history.internal.store.only.captured.databases.ddl': true,
        },
      },
      sink: { address: targetPgUrl(), options: { dest_table: `${schema}.orders`, incremental_strategy: 'merge', http_port: 0, 'batch.max_age_ms': 200, log_level: 'warn' } },
    },
  });
  const sql = async (statement: string, values?: unknown[]): Promise<unknown[]> => (await maria.query(statement, values))[0] as unknown[];
  const cli = async (args: string[]): Promise<{ code: number; out: string[] }> => {
    const out: string[] = [];
    const code = await main([...args, '--connections', connections], { out: (l) => out.push(l), err: (l) => out.push(l) });
    return { code, out };
  };

  beforeAll(async () => {
    const plugins = await new ConnectRest(connectUrl()).plugins();
    if (!plugins.some((p) => p.class === 'io.debezium.connector.mysql.MySqlConnector' && p.version === PLUGIN_VERSION)) {
      throw new Error(`Kafka Connect at ${connectUrl()} lacks debezium-connector-mysql ${PLUGIN_VERSION}: run scripts/stack/fetch.sh and restart the stack's Kafka Connect`);
    }
    target = newPool();
    schema = await createTestSchema(target, 'myrsy');
    maria = await createConnection({ host: stack.hostname, port: Number(stack.port), user: 'root' });
    await sql(`CREATE DATABASE \`${db}\``);
    await sql(`CREATE TABLE \`${db}\`.orders (id bigint PRIMARY KEY, status varchar(16) NOT NULL, amount decimal(12,2))`);
    await sql(`INSERT INTO \`${db}\`.orders (id, status, amount) VALUES ?`, [Array.from({ length: 2500 }, (_, i) => [i + 1, 'new', ((i + 1) * 1.25).toFixed(2)])]);
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

  it('rows deleted from the target by hand come back while inserts continue; verify equal afterwards', async () => {
    const text = manifest();
    writeFileSync(file, text);
    const svc = await startInProcess(text, connections);
    let inserting = true;
    let next = 100_000;
    const inserts = (async () => {
      while (inserting) {
        await sql(`INSERT INTO \`${db}\`.orders (id, status, amount) VALUES (?, 'live', 1)`, [next++]);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    try {
      await waitFor(target, `SELECT count(*)::int AS n FROM "${schema}".orders WHERE id <= 2500`, (r) => r[0]?.n === 2500, 150_000);
      const deleted = await target.query(`DELETE FROM "${schema}".orders WHERE id % 3 = 0 AND id <= 2500`);
      expect(deleted.rowCount).toBe(833);
      const before = await cli(['verify', file, '--settle-quiet', '2', '--settle-timeout', '20']);
      expect(before.out.join('\n')).toMatch(/missing/);
      expect(before.code).toBe(1);

      // the signal table is named in the config but not in table.include.list: Debezium captures it itself
      expect(await new ConnectRest(connectUrl()).config(connector)).toMatchObject({ 'signal.data.collection': `${db}.${signal}`, 'table.include.list': `${db}.orders` });
      const r = await cli(['resync', file, '--table', `${db}.orders`, '--wait', '--timeout', '180']);
      const said = r.out.join('\n');
      expect(said).toMatch(new RegExp(`incremental snapshot of ${db}\\.orders requested: signal [0-9a-f-]{36} in ${db}\\.${signal}; \\d+ row\\(s\\), 3 chunk\\(s\\)`));
      expect(r.out).toContain('chunks read: 3 of 3');
      expect({ code: r.code, said }).toEqual({ code: 0, said: expect.stringContaining(`every chunk of ${db}.orders was read`) });
      // resync made the signal table in the source database, and Debezium wrote its watermarks there
      const windows = (await sql(`SELECT type, COUNT(*) AS n FROM \`${db}\`.\`${signal}\` GROUP BY type ORDER BY type`)) as { type: string; n: number }[];
      const of = (type: string): number => Number(windows.find((w) => w.type === type)?.n ?? 0);
      expect(of('execute-snapshot')).toBe(1);
      // a window per chunk, each closed; Debezium may open one more past the last chunk before it ends
      expect(of('snapshot-window-close')).toBeGreaterThanOrEqual(3);
      expect(of('snapshot-window-open')).toBeGreaterThanOrEqual(of('snapshot-window-close'));

      inserting = false;
      await inserts;
      const after = await cli(['verify', file, '--settle-quiet', '5', '--settle-timeout', '180']);
      expect(after.out.join('\n')).toMatch(/equal/);
      expect(after.code).toBe(0);
      expect((await target.query(`SELECT count(*)::int AS n FROM "${schema}".orders WHERE id % 3 = 0 AND id <= 2500`)).rows[0].n).toBe(833);
    } finally {
      inserting = false;
      await inserts;
      expect(await svc.stop()).toBe(0);
    }
  });
});
