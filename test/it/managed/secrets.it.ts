/**
 * A managed source whose password reaches Kafka Connect through the worker's config provider: the
 * connector config Connect stores holds the `${file:…}` reference, never the password, and the
 * connector still logs in — the stack's PostgreSQL checks passwords for members of
 * nilus_password_login (scripts/stack/pg.sh), so a wrong or unresolved reference cannot pass.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Pool } from 'pg';
import { ConnectRest } from '../../../src/managed/connect-rest';
import { createTestSchema, dropTestSchemaUnlessFailed, newPool, targetPgUrl, uniqueName } from '../../helpers/pg';
import { removeConnector } from '../../helpers/debezium';
import { connectUrl, kafkaBrokers, sourcePgUrl } from '../../helpers/stack';
import { startInProcess, waitFor } from '../../helpers/pipeline';

const PASSWORD_ROLE = 'nilus_password_login';
const CANON = (schema: string) => `SELECT count(*)::int AS n, coalesce(md5(string_agg(id || '|' || v, ',' ORDER BY id)), '') AS h FROM "${schema}".items`;

describe('managed source: the password through Kafka Connect\'s config provider', () => {
  const name = uniqueName('mgdsec').replace(/_/g, '-');
  const connector = `nilus-${name}`;
  const slot = `nilus_${name.replace(/-/g, '_')}`;
  const role = `${slot}_user`;
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  let source: Pool;
  let target: Pool;
  let srcSchema: string;
  let schema: string;
  let dir: string;

  beforeAll(async () => {
    source = new Pool({ connectionString: sourcePgUrl(), max: 2 });
    target = newPool();
    srcSchema = await createTestSchema(source, 'mgdsecsrc');
    schema = await createTestSchema(target, 'mgdsec');
    const db = new URL(sourcePgUrl()).pathname.slice(1);
    await source.query(`CREATE ROLE "${role}" LOGIN REPLICATION PASSWORD '${password}' IN ROLE ${PASSWORD_ROLE}`);
    await source.query(`GRANT CREATE ON DATABASE "${db}" TO "${role}"`);
    await source.query(`GRANT USAGE, CREATE ON SCHEMA "${srcSchema}" TO "${role}"`);
    await source.query(`CREATE TABLE "${srcSchema}".items (id int PRIMARY KEY, v text)`);
    // The publication Debezium creates FOR TABLE needs the table's owner.
    await source.query(`ALTER TABLE "${srcSchema}".items OWNER TO "${role}"`);
    await source.query(`INSERT INTO "${srcSchema}".items SELECT g, 'v' || g FROM generate_series(1, 50) g`);
    dir = mkdtempSync(join(tmpdir(), 'nilus-secret-'));
  });

  afterAll(async () => {
    await removeConnector(connector).catch(() => undefined);
    const c = new Client({ connectionString: sourcePgUrl() });
    await c.connect();
    await c.query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active`, [slot]).catch(() => undefined);
    await c.query(`DROP PUBLICATION IF EXISTS "${slot}"`).catch(() => undefined);
    await c.end();
    await dropTestSchemaUnlessFailed(source, srcSchema);
    await dropTestSchemaUnlessFailed(target, schema);
    const db = new URL(sourcePgUrl()).pathname.slice(1);
    await source.query(`REVOKE CREATE ON DATABASE "${db}" FROM "${role}"`).catch(() => undefined);
    await source.query(`DROP ROLE IF EXISTS "${role}"`).catch(() => undefined);
    await source.end();
    await target.end();
  });

  function connections(secretFile: string): string {
    const u = new URL(sourcePgUrl());
    const file = join(dir, `connections-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify({
      connections: {
        src: {
          type: 'postgresql', host: u.hostname, port: Number(u.port || 5432), database: u.pathname.slice(1),
          username: role, password, kafka: 'dataos://kfk', connect_password: `\${file:${secretFile}:password}`,
        },
        kfk: { type: 'kafka', brokers: kafkaBrokers().join(','), connect_url: connectUrl() },
      },
    }));
    return file;
  }

  const manifest = (): string => JSON.stringify({
    name, version: 'v1alpha', type: 'nilus',
    spec: {
      type: 'cdc',
      source: { address: 'dataos://src', cdc: { 'collection.include.list': `${srcSchema}.items`, 'topic.prefix': name, 'topic.refresh.ms': 1000 } },
      sink: { address: targetPgUrl(), options: { dest_table: `${schema}.items`, incremental_strategy: 'merge', http_port: 0, 'batch.max_age_ms': 200, log_level: 'warn' } },
    },
  });

  it('Connect stores the ${file:…} reference, not the password, and the connector logs in with it', async () => {
    const secret = join(dir, 'pg.properties');
    writeFileSync(secret, `password=${password}\n`);
    const svc = await startInProcess(manifest(), connections(secret));
    try {
      await source.query(`UPDATE "${srcSchema}".items SET v = 'changed' WHERE id <= 5`);
      const want = (await source.query(CANON(srcSchema))).rows[0];
      const got = await waitFor(target, CANON(schema), (r) => r[0]?.h === want.h, 120_000).catch((e: Error) => {
        throw new Error(`${e.message}\n${svc.logs()}`);
      });
      expect(got[0]).toEqual(want);
      const stored = await new ConnectRest(connectUrl()).config(connector);
      expect(stored?.['database.user']).toBe(role);
      expect(stored?.['database.password']).toBe(`\${file:${secret}:password}`);
      expect(Object.values(stored ?? {}).some((v) => String(v).includes(password))).toBe(false);
      // No plain-text warning: the password is not in the connector config.
      expect(svc.logs()).not.toMatch(/plain text/);
      expect(svc.logs()).not.toContain(password);
    } finally {
      expect(await svc.stop()).toBe(0);
    }
  });

  it('a reference to a wrong password is refused (the server checks it): the reference is really resolved by Connect', async () => {
    const wrong = join(dir, 'wrong.properties');
    writeFileSync(wrong, 'password=not-the-password\n');
    await removeConnector(connector);
    const svc = await startInProcess(manifest(), connections(wrong));
    // Connect validates a new config by logging in (run then stops at start-up with its message);
    // should it accept the config, the task fails when it connects. Either way the wrong password
    // read through the reference is what PostgreSQL refuses.
    const outcome = await Promise.race([
      svc.done.then((code) => ({ code, why: svc.logs() })),
      (async () => {
        const deadline = Date.now() + 90_000;
        while (Date.now() < deadline) {
          const res = await fetch(`${connectUrl()}/connectors/${connector}/status`);
          if (res.ok) {
            const st = (await res.json()) as { tasks: { state: string; trace?: string }[] };
            const failed = st.tasks.find((t) => t.state === 'FAILED');
            if (failed) return { code: undefined, why: failed.trace ?? '' };
          }
          await new Promise((r) => setTimeout(r, 500));
        }
        return { code: undefined, why: 'neither a start-up failure nor a FAILED task within 90 s' };
      })(),
    ]);
    await svc.stop();
    if (outcome.code !== undefined) expect(outcome.code).toBe(1);
    // (the reason is JSON-escaped when it comes from the log)
    expect(outcome.why).toMatch(/password authentication failed for user \\?"[^"\\]*_user\\?"/);
    expect(outcome.why).not.toContain('not-the-password');
  });
});
