/**
 * A managed MySQL source on the real stack: the seed's CDC manifest shape, its address a
 * `type: mysql` connection (dataos://) that names its Kafka, and `nilus-pg run` alone creates
 * Debezium's MySQL connector in the stack's Kafka Connect, snapshots, and streams inserts, updates,
 * deletes and a truncate into PostgreSQL, value-exact for a representative table. A restart
 * changes nothing in Connect; a changed manifest key updates the connector (and no row is lost
 * across the connector's restart); `nilus-pg verify` finds the target equal, then a planted
 * difference; teardown removes the connector, and with --drop-slot a later run snapshots again.
 *
 * The server: no MySQL server can be installed here (Debian ships MariaDB only), and the stack's
 * MariaDB 10.11 cannot be read by Debezium's MySQL connector 3.6.1, the newest binlog connector in
 * the stack's Kafka Connect (Debezium's MariaDB connector is not on the Maven Central this machine
 * reaches; the stack's MariaDB is read through the 2.6 MySQL connector's MariaDB adapter in
 * mariadb-managed.it.ts): the connector takes "10.11.19-MariaDB" for a MySQL >= 8.4, asks SHOW BINARY LOG STATUS
 * and stops ("should support SHOW BINARY LOG STATUS but it failed"; check.it shows that line). So
 * this file starts its own MariaDB 10.11 that reports itself as MySQL 5.7 (`--version=5.7.19-log`:
 * MariaDB lets the reported version be set). It then serves the binlog as to a MySQL replica
 * (BEGIN events, no MariaDB GTID events), which is what the MySQL connector understands. (Reporting
 * "…-MariaDB…" instead makes the binlog client ask for MariaDB GTID events, and the MySQL connector
 * then resumes after a restart one row too far: the first row written after every connector restart
 * was lost in a trial. A version of 5.7.20+ or 8.x makes Connector/J ask @@transaction_isolation,
 * which MariaDB 10.11 lacks.) It stands in for a MySQL server; a real MariaDB needs Debezium's
 * MariaDB connector (the default connector.class of a `type: mariadb` connection) or the MySQL
 * connector 2.5–2.6 with connector.adapter: mariadb.
 */
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { buildConfig, parseManifest } from '../../../src/config';
import { loadConnectionsFile } from '../../../src/config/connections';
import type { PipelineConfig } from '../../../src/config/types';
import { ConnectRest } from '../../../src/managed/connect-rest';
import { ensureConnector } from '../../../src/managed/connector';
import { teardown } from '../../../src/cli/teardown';
import { main } from '../../../src/cli/main';
import { createTestSchema, dropTestSchemaUnlessFailed, newPool, targetPgUrl, uniqueName } from '../../helpers/pg';
import { removeConnector } from '../../helpers/debezium';
import { mysqlSourceConnections, deleteManagedTopics } from '../../helpers/managed';
import { startMariadb, type ThrowawayMariadb } from '../../helpers/mariadb';
import { startInProcess, startWorker } from '../../helpers/pipeline';
import { connectUrl, kafkaBrokers, mysqlUrl } from '../../helpers/stack';
import { INSERT, ITEMS_DDL, SRC, itemsLanded, row, expectItemsTyped } from '../../helpers/mysql-items';

jest.setTimeout(240_000);

describe('managed MySQL source through Debezium\'s MySQL connector', () => {
  let maria: ThrowawayMariadb;
  let target: Pool;
  let schema: string;
  const db = uniqueName('mysrc');
  const name = uniqueName('mym').replace(/_/g, '-');
  const prefix = name.replace(/-/g, '_');
  const connector = `nilus-${name}`;
  const rest = new ConnectRest(connectUrl());
  let connections: string;
  const user = 'nilus_cdc';
  const password = 'cdc-pw';

  const manifest = (cdc: Record<string, unknown> = {}): string => JSON.stringify({
    name, version: 'v1alpha', type: 'nilus',
    spec: {
      type: 'cdc',
      source: {
        address: 'dataos://mysql-src',
        cdc: {
          'collection.include.list': `${db}.items`, 'topic.prefix': prefix, 'topic.refresh.ms': 1000,
          ...cdc,
        },
      },
      sink: { address: targetPgUrl(), options: { dest_table: `${schema}.{table}`, incremental_strategy: 'merge', http_port: 0, 'batch.max_age_ms': 200, log_level: 'warn' } },
    },
  });
  const configOf = async (text: string): Promise<PipelineConfig> => buildConfig(parseManifest(text).manifest, await loadConnectionsFile(connections), process.env);
  const source = async (): Promise<Record<string, unknown>[]> => (await maria.sql(SRC(db))) as Record<string, unknown>[];
  const landed = (timeoutMs = 120_000): Promise<void> => itemsLanded(target, schema, source, timeoutMs);

  beforeAll(async () => {
    maria = await startMariadb(['--version=5.7.19-log', '--default-time-zone=+00:00']);
    target = newPool();
    schema = await createTestSchema(target, 'mym');
    await maria.sql(`CREATE DATABASE \`${db}\``);
    await maria.sql(ITEMS_DDL(db));
    await maria.sql(INSERT(db), [Array.from({ length: 60 }, (_, i) => row(i + 1))]);
    // Debezium's own account, with exactly the documented grants.
    await maria.sql(`CREATE USER '${user}'@'%' IDENTIFIED BY '${password}'`);
    await maria.sql(`GRANT SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO '${user}'@'%'`);
    connections = join(mkdtempSync(join(tmpdir(), 'nilus-mym-')), 'connections.yaml');
    writeFileSync(connections, mysqlSourceConnections('mysql-src', { type: 'mysql', host: '127.0.0.1', port: maria.port, database: db, username: user, password }));
  });

  afterAll(async () => {
    await removeConnector(connector).catch(() => undefined);
    await deleteManagedTopics(prefix, name);
    await maria?.stop();
    if (target) {
      await dropTestSchemaUnlessFailed(target, schema);
      await target.end();
    }
  });

  it('run alone creates the connector; the snapshot and every change land value-exact', async () => {
    const svc = await startInProcess(manifest(), connections);
    const states: boolean[] = [];
    svc.emitter.on('sourceConnector', (e) => states.push(e.healthy));
    try {
      await landed(150_000);
      expect(await rest.config(connector)).toMatchObject({
        'connector.class': 'io.debezium.connector.mysql.MySqlConnector', 'skipped.operations': 'none', 'decimal.handling.mode': 'precise',
        'bigint.unsigned.handling.mode': 'precise', 'database.include.list': db, 'table.include.list': `${db}.items`, 'topic.prefix': prefix,
        'database.user': user, 'database.port': String(maria.port), 'schema.history.internal.kafka.topic': `__nilus-schema-history-${name}`,
      });
      // the types nilus created from the events; the max bigint unsigned, emoji, tabs and bytes
      // arrive exact (landed() compared every column)
      await expectItemsTyped(target, schema);

      await maria.sql(INSERT(db), [Array.from({ length: 40 }, (_, i) => row(i + 61))]);
      await maria.sql(`UPDATE \`${db}\`.items SET amount = amount + 0.000001, name = CONCAT('upd ', id), note = NULL, ts = '2038-01-19 03:14:07.999' WHERE id % 3 = 0`);
      await maria.sql(`UPDATE \`${db}\`.items SET doc = JSON_OBJECT('k', id), data = NULL, flag = 0 WHERE id % 4 = 1`);
      await maria.sql(`DELETE FROM \`${db}\`.items WHERE id % 10 = 7`);
      await landed();
      expect((await target.query(`SELECT count(*)::int AS n FROM "${schema}".items`)).rows[0].n).toBe(90);

      // TRUNCATE reaches the target only because the connector has skipped.operations=none.
      await maria.sql(`TRUNCATE \`${db}\`.items`);
      await maria.sql(INSERT(db), [[row(1000)]]);
      await landed();
      expect((await target.query(`SELECT id FROM "${schema}".items`)).rows).toEqual([{ id: 1000 }]);
      const deadline = Date.now() + 30_000;
      while (states.at(-1) !== true && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      expect(states.at(-1)).toBe(true);
    } finally {
      expect(await svc.stop()).toBe(0);
    }
  });

  it('the worker restarted (nilus-pg run, the built CLI) does not duplicate or change the connector, and streaming resumes', async () => {
    const before = await rest.config(connector);
    expect(await ensureConnector((await configOf(manifest())).cdc!.managed!)).toEqual({ action: 'unchanged' });
    process.env.NILUS_CONNECTIONS = connections;
    const w = startWorker(manifest());
    delete process.env.NILUS_CONNECTIONS;
    try {
      await maria.sql(INSERT(db), [[row(1001), row(1002)]]);
      await landed();
      expect(await rest.config(connector)).toEqual(before);
      const all = (await (await fetch(`${connectUrl()}/connectors`)).json()) as string[];
      expect(all.filter((c) => c.includes(name))).toEqual([connector]);
      expect((await rest.status(connector))?.tasks.map((t) => t.state)).toEqual(['RUNNING']);
    } finally {
      w.child.kill('SIGTERM');
      const code = await Promise.race([w.exited, new Promise((r) => setTimeout(() => r('timeout'), 20_000))]);
      if (code !== 0) console.error(w.output());
      expect(code).toBe(0);
    }
  });

  it('a changed manifest key updates the connector config; verify finds the target equal, then a planted change; teardown removes the connector', async () => {
    const text = manifest({ 'max.batch.size': 1024 });
    const svc = await startInProcess(text, connections);
    try {
      const deadline = Date.now() + 60_000;
      while ((await rest.config(connector))?.['max.batch.size'] !== '1024' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
      expect((await rest.config(connector))?.['max.batch.size']).toBe('1024');
      await maria.sql(`UPDATE \`${db}\`.items SET name = 'after config change' WHERE id = 1001`);
      await landed();
      // the connector restarted with its new config: the next single-row change must not be skipped
      await new Promise((r) => setTimeout(r, 3000));
      await maria.sql(`UPDATE \`${db}\`.items SET name = 'after the restart' WHERE id = 1002`);
      await landed();
    } finally {
      expect(await svc.stop()).toBe(0);
    }
    const cfg = await configOf(text);
    expect(await ensureConnector(cfg.cdc!.managed!)).toEqual({ action: 'unchanged' });
    // nilus-pg verify: the target equals the source (the CLI, with the connections file)
    const file = join(mkdtempSync(join(tmpdir(), 'nilus-mym-')), 'manifest.yaml');
    writeFileSync(file, text);
    const lines: string[] = [];
    const code = await main(['verify', file, '--connections', connections, '--settle-quiet', '1'], { out: (l) => lines.push(l), err: (l) => lines.push(l) });
    expect({ code, lines }).toEqual({ code: 0, lines: expect.arrayContaining([expect.stringMatching(new RegExp(`^${db}\\.items → ${schema}\\.items: equal, 3 rows`))]) });
    // and a value changed behind the pipeline's back is found
    await target.query(`UPDATE "${schema}".items SET amount = amount + 1 WHERE id = 1000`);
    lines.length = 0;
    expect(await main(['verify', file, '--connections', connections, '--settle-quiet', '1'], { out: (l) => lines.push(l), err: (l) => lines.push(l) })).toBe(1);
    expect(lines).toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(`^${db}\\.items → ${schema}\\.items: DIFFERENT: .*1 differing`))]));
    const out: string[] = [];
    await teardown(cfg, { dropSlot: false }, (l) => out.push(l));
    expect(out).toEqual([`deleted connector ${connector} from ${connectUrl()}`, `MySQL keeps no replication slot for the connector; schema history topic __nilus-schema-history-${name} kept`]);
    expect(await rest.config(connector)).toBeUndefined();
  });

  it('after teardown --drop-slot (source offsets reset) a run snapshots the table again', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'nilus-mym-')), 'manifest.yaml');
    writeFileSync(file, manifest());
    const out: string[] = [];
    expect(await main(['teardown', file, '--connections', connections, '--drop-slot', '--yes'], { out: (l) => out.push(l), err: (l) => out.push(l) })).toBe(0);
    expect(out).toEqual([`reset the source offsets of connector ${connector}`, `connector ${connector} is not in ${connectUrl()} (already removed)`, `MySQL keeps no replication slot for the connector; schema history topic __nilus-schema-history-${name} kept`]);
    // the target emptied by hand: only a new snapshot brings the rows back
    await target.query(`TRUNCATE "${schema}".items`);
    const svc = await startInProcess(manifest(), connections);
    try {
      await landed();
      expect((await target.query(`SELECT count(*)::int AS n FROM "${schema}".items`)).rows[0].n).toBe(3);
    } finally {
      expect(await svc.stop()).toBe(0);
    }
  });
});

describe('managed MariaDB source named with the MySQL connector class', () => {
  it('run stops at start-up with the reason Debezium gives (Kafka Connect itself answers HTTP 500), creating nothing', async () => {
    const name = uniqueName('mymbad').replace(/_/g, '-');
    const stack = new URL(mysqlUrl());
    const text = JSON.stringify({
      name, version: 'v1alpha', type: 'nilus',
      spec: {
        type: 'cdc',
        source: {
          address: `mariadb://root@${stack.hostname}:${stack.port}/nilus_source`,
          options: { kafka: `kafka://${kafkaBrokers().join(',')}`, connect_url: connectUrl() },
          cdc: { 'topic.prefix': name.replace(/-/g, '_'), 'collection.include.list': 'nilus_source.never', 'connector.class': 'io.debezium.connector.mysql.MySqlConnector' },
        },
        sink: { address: targetPgUrl(), options: { dest_table: 'public.never', incremental_strategy: 'merge', http_port: 0, log_level: 'warn' } },
      },
    });
    const svc = await startInProcess(text);
    expect(await svc.done).toBe(1);
    expect(svc.logs()).toMatch(new RegExp(`Kafka Connect PUT /connectors/nilus-${name}/config: refused — database\\.hostname: .*MySQL version 10\\.11\\S* should support SHOW BINARY LOG STATUS but it failed`));
    expect(await new ConnectRest(connectUrl()).config(`nilus-${name}`)).toBeUndefined();
  });
});
