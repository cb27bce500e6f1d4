/**
 * `nilus-pg verify` on the real stack: a batch pipeline copies a table (PostgreSQL → PostgreSQL,
 * MariaDB → PostgreSQL, every mapped type with edge values), verify reports the copy equal; then
 * differences are planted in the target (a missing row, an extra row, a changed value, a value
 * changed to NULL) and verify reports each, by key, through the command line's exit code too.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection, type Connection } from 'mysql2/promise';
import { Pool } from 'pg';
import { loadConfig } from '../../../src/config';
import type { PipelineConfig } from '../../../src/config/types';
import { startService } from '../../../src/service/run';
import { createLogger } from '../../../src/observe/logger';
import { main } from '../../../src/cli/main';
import { verifyPipeline, type TableReport } from '../../../src/verify/run';
import { createTestSchema, dropTestSchemaUnlessFailed, newPool, targetPgUrl, uniqueName } from '../../helpers/pg';
import { mysqlUrl, sourcePgUrl } from '../../helpers/stack';

const dir = mkdtempSync(join(tmpdir(), 'nilus-verify-it-'));

function manifestFile(name: string, source: string, sourceTable: string, destTable: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, JSON.stringify({
    name, version: 'v1alpha', type: 'nilus',
    spec: {
      type: 'batch', compute: 'test',
      source: { address: source, options: { source_table: sourceTable } },
      sink: { address: targetPgUrl(), options: { dest_table: destTable, incremental_strategy: 'replace', http_port: 0, log_level: 'warn' } },
    },
  }));
  return file;
}

/** The batch pipeline, run once through the service as `nilus-pg run` does. */
async function copy(cfg: PipelineConfig): Promise<void> {
  const lines: string[] = [];
  const svc = await startService(cfg, { log: createLogger({ level: 'error', name: 'verify-it', destination: { write: (l: string) => lines.push(l) } }) });
  const code = await svc.done;
  if (code !== 0) throw new Error(`the batch run failed (${code}): ${lines.join('')}`);
}

async function cli(file: string): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const code = await main(['verify', file], { out: (l) => out.push(l), err: (l) => out.push(l) });
  return { code, out: out.join('\n') };
}

/** Small leaves, so the planted differences are found through bisection as well. */
const SMALL = { compare: { leafRows: 40, minBits: 4, maxBits: 4 } };

function expectPlanted(r: TableReport, keys: { missing: string; extra: string; changed: string; nulled: string }): void {
  expect(r.ok).toBe(false);
  const v = r.verdict!;
  expect(v.missing).toEqual({ count: 1, samples: [keys.missing] });
  expect(v.extra).toEqual({ count: 1, samples: [keys.extra] });
  expect(v.differing.count).toBe(2);
  expect([...v.differing.samples].sort()).toEqual([keys.changed, keys.nulled].sort());
  expect(v.bisected).toBeGreaterThan(0);
  expect(r.line).toMatch(/DIFFERENT: 1 missing \[.+\], 1 extra \[.+\], 2 differing \[.+\]; source \d+ rows, target \d+ rows \(\d+ chunks compared, \d+ bisected, \d+ fetched\); [\d.]+ s$/);
}

describe('verify, PostgreSQL → PostgreSQL', () => {
  let source: Pool;
  let target: Pool;
  let src: string;
  let dst: string;
  beforeAll(async () => {
    source = new Pool({ connectionString: sourcePgUrl(), max: 2 });
    target = newPool();
    src = await createTestSchema(source, 'vsrc');
    dst = await createTestSchema(target, 'vdst');
    await source.query(`CREATE TABLE "${src}".items (id int PRIMARY KEY, name text, price numeric(12,3), ratio float8, r4 real, ok boolean,
      at timestamptz, d date, span interval, raw bytea, doc jsonb, tags text[])`);
    await source.query(`INSERT INTO "${src}".items SELECT g, CASE WHEN g % 50 = 0 THEN NULL ELSE E'item\\t' || g || E'\\n"q"\\\\ é' END,
      g * 0.125, g / 7.0, g / 3.0, g % 2 = 0, '2024-02-29 12:00:00+02'::timestamptz + g * interval '1 minute 0.000001 s',
      CASE WHEN g = 1 THEN '0044-03-15 BC'::date ELSE '2000-01-01'::date + g END, g * interval '1 mon 1 day 0.5 s',
      decode(md5(g::text), 'hex'), jsonb_build_object('n', g, 'x', g * 1.5, 'a', jsonb_build_array(1, 'two', NULL)), ARRAY['a' || g, NULL, 'x,y']
      FROM generate_series(1, 3000) g`);
  });
  afterAll(async () => {
    await dropTestSchemaUnlessFailed(source, src);
    await dropTestSchemaUnlessFailed(target, dst);
    await source.end();
    await target.end();
  });

  it('reports the copy equal, then each planted difference by key', async () => {
    const file = manifestFile('verify-pg', sourcePgUrl(), `${src}.items`, `${dst}.items`);
    const cfg = await loadConfig(file);
    await copy(cfg);
    const [equal] = await verifyPipeline(cfg);
    expect(equal!.line).toMatch(new RegExp(`^${src}\\.items → ${dst}\\.items: equal, 3000 rows \\(\\d+ chunks compared, 0 bisected, 0 fetched\\); [\\d.]+ s$`));
    expect(await cli(file)).toMatchObject({ code: 0 });

    await target.query(`DELETE FROM "${dst}".items WHERE id = 17`);
    await target.query(`INSERT INTO "${dst}".items (id, name) VALUES (9001, 'extra')`);
    await target.query(`UPDATE "${dst}".items SET ratio = ratio + 1e-12 WHERE id = 1234`);
    await target.query(`UPDATE "${dst}".items SET doc = NULL WHERE id = 2999`);
    const [r] = await verifyPipeline(cfg, SMALL);
    expectPlanted(r!, { missing: '17', extra: '9001', changed: '1234', nulled: '2999' });
    const c = await cli(file);
    expect(c.code).toBe(1);
    expect(c.out).toMatch(/1 missing \[17\], 1 extra \[9001\], 2 differing/);
  });

  it('refuses a table without a key, and a missing target is a difference', async () => {
    await source.query(`CREATE TABLE "${src}".nokey (a int, b text)`);
    const file = manifestFile('verify-nokey', sourcePgUrl(), `${src}.nokey`, `${dst}.nokey`);
    const cfg = await loadConfig(file);
    await expect(verifyPipeline(cfg)).rejects.toThrow(/has no primary key: declare primary_key/);
    const out: string[] = [];
    expect(await main(['verify', file], { out: (l) => out.push(l), err: (l) => out.push(l) })).toBe(2);
    await source.query(`ALTER TABLE "${src}".nokey ADD PRIMARY KEY (a)`);
    const [r] = await verifyPipeline(cfg);
    expect(r).toMatchObject({ ok: false, line: expect.stringMatching(/DIFFERENT: the target table does not exist/) });
  });
});

/** Column, MariaDB type: every mapped type (docs/types.md), the JSON one too. */
const MY_COLUMNS: [string, string][] = [
  ['id', 'bigint NOT NULL PRIMARY KEY'], ['flag', 'tinyint(1)'], ['ti', 'tinyint'], ['tu', 'tinyint unsigned'], ['si', 'smallint'],
  ['mi', 'mediumint'], ['iu', 'int unsigned'], ['bi', 'bigint'], ['bu', 'bigint unsigned'], ['amount', 'decimal(30,10)'],
  ['fl', 'float'], ['db', 'double'], ['b1', 'bit(1)'], ['b10', 'bit(10)'], ['ch', 'char(6)'], ['vc', 'varchar(200)'],
  ['tx', 'mediumtext'], ['bn', 'binary(4)'], ['bl', 'blob'], ['d', 'date'], ['dt', 'datetime(6)'], ['ts', 'timestamp(3) NULL'],
  ['tm', 'time(1)'], ['yr', 'year'], ['js', 'json'], ['en', "enum('new','paid','shipped')"], ['st', "set('gift','express','fragile')"],
  ['uid', 'uuid'], ['ip', 'inet6'],
];

const MY_ROWS = [
  `(1, 1, -128, 255, -32768, -8388608, 4294967295, -9223372036854775808, 18446744073709551615,
    '-99999999999999999999.9999999999', 3.1415927, 1.5e-7, b'1', b'1010101010', 'ab', 'héllo 😀 wörld', REPEAT('long ', 300),
    x'00FF1000', x'000102', '2024-02-29', '2024-02-29 23:59:59.999999', '2038-01-19 03:14:07.999',
    '-838:59:59.0', 1901, '{"a": [1, 2.50, "x"], "b": null, "c": {"d": true}}', 'paid', 'gift,fragile',
    '123e4567-e89b-12d3-a456-426614174000', '2001:db8::1')`,
  `(2, 0, 127, 0, 32767, 8388607, 0, 9223372036854775807, 0, '0.0000000001', -2.25, 1e20, b'0', b'0000000001',
    'x', 'tab\\there "quotes" back\\\\slash', 'line1\\nline2', x'00000000', x'', '0000-01-01', '0000-01-01 00:00:00',
    '1970-01-01 00:00:01', '838:59:59.0', 0, '[]', 'new', '', NULL, '::ffff:1.2.3.4')`,
  `(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    '0000-00-00', '0000-00-00 00:00:00', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
];

describe('verify, MariaDB → PostgreSQL', () => {
  let my: Connection;
  let target: Pool;
  let db: string;
  let dst: string;
  beforeAll(async () => {
    db = uniqueName('vmy');
    my = await createConnection({ uri: mysqlUrl(), multipleStatements: true });
    await my.query(`CREATE DATABASE \`${db}\` CHARACTER SET utf8mb4`);
    await my.query(`CREATE TABLE \`${db}\`.orders (${MY_COLUMNS.map(([n, t]) => `\`${n}\` ${t}`).join(', ')}) CHARACTER SET utf8mb4`);
    await my.query("SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION', time_zone = '+00:00'");
    await my.query(`INSERT INTO \`${db}\`.orders VALUES ${MY_ROWS.join(',\n')}`);
    await my.query(`USE \`${db}\``);
    await my.query(`INSERT INTO orders (id, flag, bi, amount, fl, db, vc, d, dt, ts, tm, js, en, st, b10)
      SELECT 1000 + seq, seq % 2, seq * 1000003, seq * 1.25, seq / 3e0, seq / 7e0, CONCAT('row ', seq), '2024-01-01' + INTERVAL (seq % 365) DAY,
             '2024-01-01 00:00:00.5' + INTERVAL seq SECOND, '2024-01-01 00:00:00' + INTERVAL seq SECOND, SEC_TO_TIME(seq % 90000),
             JSON_OBJECT('n', seq, 'half', seq / 2), 'new', 'gift', seq % 1024
        FROM seq_1_to_3000`);
    target = newPool();
    dst = await createTestSchema(target, 'vmydst');
  });
  afterAll(async () => {
    await my.query(`DROP DATABASE IF EXISTS \`${db}\``);
    await dropTestSchemaUnlessFailed(target, dst);
    await my.end();
    await target.end();
  });

  it('reports the copy equal, then each planted difference by key', async () => {
    const u = new URL(mysqlUrl());
    const file = manifestFile('verify-my', `mysql://${u.username}@${u.host}/${db}?ssl-mode=disabled`, `${db}.orders`, `${dst}.orders`);
    const cfg = await loadConfig(file);
    await copy(cfg);
    const [equal] = await verifyPipeline(cfg);
    expect(equal!.line).toMatch(new RegExp(`^${db}\\.orders → ${dst}\\.orders: equal, 3003 rows \\(`));
    // every bucket fetched and compared value by value: equal too (no value that only the digest hides)
    const [all] = await verifyPipeline(cfg, { compare: { leafRows: 1_000_000, minBits: 0, maxBits: 0 } });
    expect(all!.ok).toBe(true);
    expect(await cli(file)).toMatchObject({ code: 0 });

    await target.query(`DELETE FROM "${dst}".orders WHERE id = 2`);
    await target.query(`INSERT INTO "${dst}".orders (id, vc) VALUES (999999, 'extra')`);
    await target.query(`UPDATE "${dst}".orders SET fl = 1.0000001 WHERE id = 1500`);
    await target.query(`UPDATE "${dst}".orders SET ts = NULL WHERE id = 3999`);
    const [r] = await verifyPipeline(cfg, SMALL);
    expectPlanted(r!, { missing: '2', extra: '999999', changed: '1500', nulled: '3999' });
    expect((await cli(file)).code).toBe(1);
  });

  it('finds a changed JSON document, a changed zero date and a changed year-0 date', async () => {
    const u = new URL(mysqlUrl());
    const file = manifestFile('verify-my2', `mysql://${u.username}@${u.host}/${db}?ssl-mode=disabled`, `${db}.orders`, `${dst}.orders2`);
    const cfg = await loadConfig(file);
    await copy(cfg);
    expect((await verifyPipeline(cfg))[0]!.ok).toBe(true);
    await target.query(`UPDATE "${dst}".orders2 SET js = '{"n": 1777, "half": 1}' WHERE id = 2777`);
    await target.query(`UPDATE "${dst}".orders2 SET d = '2000-01-01' WHERE id = 3`);
    await target.query(`UPDATE "${dst}".orders2 SET dt = dt + interval '1 microsecond' WHERE id = 2`);
    const [r] = await verifyPipeline(cfg);
    expect(r!.verdict!.differing.count).toBe(3);
    expect([...r!.verdict!.differing.samples].sort()).toEqual(['2', '2777', '3']);
  });
});
