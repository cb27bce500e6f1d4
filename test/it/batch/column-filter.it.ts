/**
 * Column filters and masks in batch (spec.sink.options.columns), PostgreSQL and MariaDB sources:
 * the excluded column is not read from the source (not in the SELECT) and not in the target, the
 * masked ones land hashed / NULL / fixed, none of their source values is in any byte the worker
 * sends PostgreSQL (a recording proxy in front of the target), `verify` reports the filtered and
 * masked target equal (with delete_mode soft too), and a masked primary-key column is refused
 * naming it.
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection, type Connection } from 'mysql2/promise';
import { Pool } from 'pg';
import { loadConfig } from '../../../src/config';
import type { PipelineConfig } from '../../../src/config/types';
import { startService } from '../../../src/service/run';
import { createLogger } from '../../../src/observe/logger';
import { verifyPipeline } from '../../../src/verify/run';
import { columnTypes, createTestSchema, dropTestSchemaUnlessFailed, newPool, targetPgUrl, uniqueName } from '../../helpers/pg';
import { mysqlUrl, sourcePgUrl } from '../../helpers/stack';
import { RecordingProxy } from '../../helpers/recording-proxy';

const dir = mkdtempSync(join(tmpdir(), 'nilus-colf-it-'));
const KEY_ENV = `NILUS_TEST_BATCH_HASH_KEY_${process.pid}`;
const KEY = `batch-key-${process.pid}`;
const hash = (v: string): string => createHmac('sha256', KEY).update(v, 'utf8').digest('hex');
const COLUMNS = { exclude: ['secret_note'], mask: { email: 'hash', ssn: 'redact', '/no.e/': { value: '***' } }, hash_key_env: KEY_ENV };

function manifestFile(name: string, source: string, sourceTable: string, sink: string, destTable: string, columns: unknown = COLUMNS, extra: Record<string, unknown> = {}): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, JSON.stringify({
    name, version: 'v1alpha', type: 'nilus',
    spec: {
      type: 'batch', compute: 'test',
      source: { address: source, options: { source_table: sourceTable, page_size: 7 } },
      sink: { address: sink, options: { dest_table: destTable, incremental_strategy: 'merge', http_port: 0, log_level: 'warn', columns, ...extra } },
    },
  }));
  return file;
}

async function run(cfg: PipelineConfig): Promise<{ code: number; log: string }> {
  const lines: string[] = [];
  const svc = await startService(cfg, { log: createLogger({ level: 'error', name: 'colf-it', destination: { write: (l: string) => lines.push(l) } }) });
  const code = await svc.done;
  return { code, log: lines.join('') };
}

const value = (what: string, id: number): string => `${what}-${process.pid}-${id}`;
const ROWS = 20;

/** The target as it should be, and what the worker sent PostgreSQL, for either source. */
async function expectLanded(target: Pool, dst: string, proxy: RecordingProxy): Promise<void> {
  const rows = await target.query(`SELECT id, name, email, ssn, note FROM "${dst}".people ORDER BY id`);
  expect(rows.rows).toHaveLength(ROWS);
  for (const r of rows.rows as { id: number; name: string; email: string | null; ssn: string | null; note: string | null }[]) {
    expect(r).toEqual({ id: r.id, name: value('NAME', r.id), email: r.id % 5 === 0 ? null : hash(value('MAIL', r.id)), ssn: null, note: '***' });
  }
  expect(Object.keys(await columnTypes(target, dst, 'people')).sort()).toEqual(['email', 'id', 'name', 'note', 'ssn']);
  expect(proxy.sent(value('NAME', 3))).toBe(true);
  expect(proxy.sent(hash(value('MAIL', 3)))).toBe(true);
  for (let id = 1; id <= ROWS; id++) {
    for (const what of ['SECRET', 'MAIL', 'SSN', 'NOTE']) expect([what, id, proxy.sent(value(what, id))]).toEqual([what, id, false]);
  }
}

describe('column filters and masks in batch', () => {
  let target: Pool;
  let proxy: RecordingProxy;
  let sink: string;
  beforeAll(async () => {
    process.env[KEY_ENV] = KEY;
    target = newPool();
    const url = new URL(targetPgUrl());
    proxy = await RecordingProxy.start(url.hostname, Number(url.port));
    url.port = String(proxy.port);
    sink = url.toString();
  });
  afterAll(async () => {
    delete process.env[KEY_ENV];
    await proxy.stop();
    await target.end();
  });

  describe('PostgreSQL source', () => {
    let source: Pool;
    let src: string;
    let dst: string;
    beforeAll(async () => {
      source = new Pool({ connectionString: sourcePgUrl(), max: 2 });
      src = await createTestSchema(source, 'colfbsrc');
      dst = await createTestSchema(target, 'colfbdst');
      await source.query(`CREATE TABLE "${src}".people (id int PRIMARY KEY, name text, email text, ssn text, note text, secret_note text)`);
      for (let id = 1; id <= ROWS; id++) {
        await source.query(`INSERT INTO "${src}".people VALUES ($1, $2, $3, $4, $5, $6)`,
          [id, value('NAME', id), id % 5 === 0 ? null : value('MAIL', id), value('SSN', id), value('NOTE', id), value('SECRET', id)]);
      }
    });
    afterAll(async () => {
      await dropTestSchemaUnlessFailed(source, src);
      await dropTestSchemaUnlessFailed(target, dst);
      await source.end();
    });

    it('lands the filtered and masked rows, sends no filtered value, and verify finds it equal', async () => {
      const cfg = await loadConfig(manifestFile('colf-pg', sourcePgUrl(), `${src}.people`, sink, `${dst}.people`));
      const r = await run(cfg);
      expect([r.code, r.log]).toEqual([0, '']);
      await expectLanded(target, dst, proxy);
      const [v] = await verifyPipeline(cfg);
      expect(v!.ok).toBe(true);
      expect(v!.line).toMatch(/: equal, 20 rows/);
      // verify still compares the columns that land as they are
      await target.query(`UPDATE "${dst}".people SET name = 'changed' WHERE id = 4`);
      const [d] = await verifyPipeline(cfg);
      expect(d!.ok).toBe(false);
      expect(d!.verdict!.differing).toEqual({ count: 1, samples: ['4'] });
    });

    it('verify is equal on a soft-delete target that is filtered and masked', async () => {
      await source.query(`CREATE TABLE "${src}".people_soft AS SELECT * FROM "${src}".people`);
      await source.query(`ALTER TABLE "${src}".people_soft ADD PRIMARY KEY (id)`);
      const cfg = await loadConfig(manifestFile('colf-soft', sourcePgUrl(), `${src}.people_soft`, sink, `${dst}.people_soft`, COLUMNS, { delete_mode: 'soft' }));
      expect((await run(cfg)).code).toBe(0);
      await source.query(`DELETE FROM "${src}".people_soft WHERE id IN (7, 8)`);
      expect((await run(cfg)).code).toBe(0);
      const marked = await target.query(`SELECT id FROM "${dst}".people_soft WHERE _nilus_deleted_at IS NOT NULL ORDER BY id`);
      expect(marked.rows).toEqual([{ id: 7 }, { id: 8 }]);
      expect(Object.keys(await columnTypes(target, dst, 'people_soft'))).not.toContain('secret_note');
      const [v] = await verifyPipeline(cfg);
      expect(v!.ok).toBe(true);
      expect(v!.line).toMatch(/: equal, 18 rows/);
    });

    it('does not read an excluded column at the source', async () => {
      // A view whose secret_note fails when read: a SELECT naming it fails, one leaving it out does not.
      await source.query(`CREATE VIEW "${src}".people_v AS SELECT id, name, email, ssn, note, (1 / (id - id))::text AS secret_note FROM "${src}".people`);
      const file = (name: string, columns: unknown): string =>
        manifestFile(name, sourcePgUrl(), `${src}.people_v`, sink, `${dst}.${name.replace(/-/g, '_')}`, columns, { primary_key: 'id' });
      const filtered = await run(await loadConfig(file('colf-view', COLUMNS)));
      expect([filtered.code, filtered.log]).toEqual([0, '']);
      expect((await target.query(`SELECT count(*)::int AS n FROM "${dst}".colf_view`)).rows[0].n).toBe(ROWS);
      const unfiltered = await run(await loadConfig(file('colf-view-all', {})));
      expect(unfiltered.code).not.toBe(0);
      expect(unfiltered.log).toMatch(/division by zero/);
    });

    it('refuses a masked or excluded primary-key column, naming it', async () => {
      for (const columns of [{ mask: { id: 'redact' } }, { exclude: ['/i./'] }]) {
        const cfg = await loadConfig(manifestFile('colf-pk', sourcePgUrl(), `${src}.people`, sink, `${dst}.pk`, columns));
        const r = await run(cfg);
        expect(r.code).not.toBe(0);
        expect(r.log).toMatch(/primary-key column \\?"id\\?" \((masked|excluded)\)/);
        await expect(verifyPipeline(cfg)).rejects.toThrow(/primary-key column "id"/);
      }
      const exists = await target.query(`SELECT to_regclass($1) AS t`, [`"${dst}".pk`]);
      expect(exists.rows[0].t).toBeNull();
    });
  });

  describe('MariaDB source', () => {
    let my: Connection;
    let db: string;
    let dst: string;
    beforeAll(async () => {
      db = uniqueName('colfmy');
      my = await createConnection({ uri: mysqlUrl() });
      await my.query(`CREATE DATABASE \`${db}\` CHARACTER SET utf8mb4`);
      await my.query(`CREATE TABLE \`${db}\`.people (id int PRIMARY KEY, name text, email varchar(100), ssn text, note text, secret_note text)`);
      for (let id = 1; id <= ROWS; id++) {
        await my.query(`INSERT INTO \`${db}\`.people VALUES (?, ?, ?, ?, ?, ?)`,
          [id, value('NAME', id), id % 5 === 0 ? null : value('MAIL', id), value('SSN', id), value('NOTE', id), value('SECRET', id)]);
      }
      dst = await createTestSchema(target, 'colfbmy');
    });
    afterAll(async () => {
      await my.query(`DROP DATABASE IF EXISTS \`${db}\``);
      await dropTestSchemaUnlessFailed(target, dst);
      await my.end();
    });

    it('lands the filtered and masked rows, sends no filtered value, and verify finds it equal', async () => {
      const u = new URL(mysqlUrl());
      const cfg = await loadConfig(manifestFile('colf-my', `mysql://${u.username}@${u.host}/${db}?ssl-mode=disabled`, `${db}.people`, sink, `${dst}.people`));
      const r = await run(cfg);
      expect([r.code, r.log]).toEqual([0, '']);
      await expectLanded(target, dst, proxy);
      const [v] = await verifyPipeline(cfg);
      expect(v!.ok).toBe(true);
      expect(v!.line).toMatch(/: equal, 20 rows/);
    });
  });
});
