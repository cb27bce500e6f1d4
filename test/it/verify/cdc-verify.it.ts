/**
 * `nilus-pg verify` for a managed PostgreSQL CDC pipeline on the real stack: the pipeline lands two
 * tables (a plain one, and a fidelity-style one with a column of each type, the lossy ones too);
 * verify reports both equal (through the built command line too), the values Debezium cannot carry
 * exactly counted apart as known losses; differences planted in the target are each reported by
 * key; changes made at the source while the pipeline is stopped are reported as not drained, and,
 * with the pipeline restarted during verify, settle: re-checked after the lag drained, not losses.
 * Then a managed MariaDB pipeline: its landed table verifies equal, and changed values are found.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Pool } from 'pg';
import { buildConfig, parseManifest } from '../../../src/config';
import { loadConnectionsFile } from '../../../src/config/connections';
import type { PipelineConfig } from '../../../src/config/types';
import { main } from '../../../src/cli/main';
import { verifyPipeline } from '../../../src/verify/run';
import { createTestSchema, dropTestSchemaUnlessFailed, newPool, targetPgUrl, uniqueName } from '../../helpers/pg';
import { removeConnector } from '../../helpers/debezium';
import { testKafka } from '../../helpers/kafka';
import { deleteManagedTopics, managedManifest, mysqlSourceConnections } from '../../helpers/managed';
import { startInProcess, waitFor } from '../../helpers/pipeline';
import { sourcePgUrl } from '../../helpers/stack';
import { startMariadb, type ThrowawayMariadb } from '../../helpers/mariadb';

jest.setTimeout(170_000);

const FID_COLUMNS = `id int PRIMARY KEY, t text, vc varchar(20), ch char(5), n numeric(12,2), nv numeric, i2 smallint, i8 bigint,
  f4 real, f8 double precision, b boolean, bin bytea, d date, tm time(6), ttz timetz, ts timestamp(6), tstz timestamptz,
  iv interval, js json, jb jsonb, u uuid, x xml, e mood, b1 bit(1), bt bit(8), vb varbit, ai int[], at text[], md int[],
  ip inet, cn cidr, mac macaddr`;

/** Row 1 and 2 hold the lossy values (docs/types.md); row 3 is all NULL; 100+ are ordinary rows. */
const FID_ROWS = `
  (1, E'tab\\there "q" back\\\\slash é', 'varchar twenty chars', 'ab', 12.50, 3.10, 1, 9007199254740993, 1.5, 0.1, true, '\\x00ff10',
   '2024-02-29', '23:59:59.999999', '10:00:00.5+02', '2024-02-29 12:34:56.789012', '2024-02-29 12:34:56.789012+05:30',
   '1 year 2 mons 3 days 04:05:06.78', '{"b": 1,  "a": [1, 2.50], "a": "dup"}', '{"z": {"y": null}, "big": 12345678901234567890}',
   'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '<?xml version="1.0"?><r/>', 'happy', B'1', B'10100101', B'0101',
   '{1,NULL,3}', ARRAY['a,b', 'q"uote', NULL, '', 'NULL'], '{{1,2},{3,4}}', '192.168.0.1/24', '10.0.0.0/8', '08:00:2b:01:02:03'),
  (2, '', '', '     ', -0.01, 'NaN', -32768, -9223372036854775808, 'NaN', '-Infinity', false, '\\x',
   '0044-03-15 BC', '00:00:00', '00:00:00+00', 'infinity', '-infinity',
   '-1 years -2 mons +3 days -04:05:06.000001', '[]', '{}', '00000000-0000-0000-0000-000000000000', '<e/>', 'sad', B'0', B'00000000', B'0',
   '{}', '{}', '{1}', '10.1.2.3', '::/0', 'ff:ff:ff:ff:ff:ff'),
  (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
   NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`;

const FID_MANY = (from: number, to: number) => `
  INSERT INTO fid SELECT g, 'row ' || g, 'v' || g, 'c' || (g % 100), g * 0.25, g / 8.0, g % 30000, g * 1000003, g / 3.0, g / 7.0, g % 2 = 0,
    decode(md5(g::text), 'hex'), '2000-01-01'::date + g, '00:00:01'::time + g * interval '1 second', '12:00:00+00',
    '2024-01-01 00:00:00'::timestamp + g * interval '1 minute 0.000001 s', '2024-01-01 00:00:00+00'::timestamptz + g * interval '1 hour',
    g * interval '1 day 1.5 s', json_build_object('n', g), jsonb_build_object('x', g * 1.5), md5(g::text)::uuid, ('<v>' || g || '</v>')::xml,
    'ok', (g % 2)::bit(1), (g % 256)::bit(8), (g % 7 + 8)::bit(4)::varbit, ARRAY[g, g + 1], ARRAY['t' || g], ARRAY[g],
    ('10.0.' || (g % 256) || '.1')::inet, '10.0.0.0/16', '08:00:2b:01:02:03'
  FROM generate_series(${from}, ${to}) g`;

/** The losses the lossy rows carry: column → rows (1 and/or 2). */
const EXPECTED_LOSSES: Record<string, string[]> = { ttz: ['1'], nv: ['2'], iv: ['1', '2'], x: ['1'], vb: ['1', '2'], d: ['2'], md: ['1'] };

const ORDERS = (schema: string) => `SELECT count(*)::int AS n, coalesce(md5(string_agg(format('%s|%s|%s|%s', id, status, amount, note), ',' ORDER BY id)), '') AS h FROM "${schema}".orders`;

describe('verify of a managed PostgreSQL CDC pipeline', () => {
  let source: Pool;
  let target: Pool;
  let src: string;
  let dst: string;
  let cfg: PipelineConfig;
  let file: string;
  let svc: Awaited<ReturnType<typeof startInProcess>> | undefined;
  const name = uniqueName('vcdc').replace(/_/g, '-');
  const connector = `nilus-${name}`;
  const slot = `nilus_${name.replace(/-/g, '_')}`;
  let text: string;

  const cli = async (...args: string[]): Promise<{ code: number; out: string }> => {
    const out: string[] = [];
    const code = await main(['verify', file, ...args], { out: (l) => out.push(l), err: (l) => out.push(l) });
    return { code, out: out.join('\n') };
  };

  beforeAll(async () => {
    source = new Pool({ connectionString: sourcePgUrl(), max: 2 });
    target = newPool();
    src = await createTestSchema(source, 'vcdcsrc');
    dst = await createTestSchema(target, 'vcdc');
    const s = await source.connect();
    try {
      await s.query(`SET search_path = "${src}"`);
      await s.query(`CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')`);
      await s.query(`CREATE TABLE orders (id bigint PRIMARY KEY, status text NOT NULL, amount numeric(12,2), note text)`);
      await s.query(`INSERT INTO orders SELECT g, 'new', g * 1.25, 'note ' || g FROM generate_series(1, 400) g`);
      await s.query(`CREATE TABLE fid (${FID_COLUMNS})`);
      await s.query(`INSERT INTO fid VALUES ${FID_ROWS}`);
      await s.query(FID_MANY(100, 399));
    } finally {
      s.release();
    }
    text = managedManifest({ name, srcSchema: src, dest: `${dst}.{table}`, include: `${src}\\.(orders|fid)` });
    cfg = await buildConfig(parseManifest(text).manifest, undefined, process.env);
    file = join(mkdtempSync(join(tmpdir(), 'nilus-cdc-verify-')), 'manifest.yaml');
    writeFileSync(file, text);
    svc = await startInProcess(text);
    const want = (await source.query(ORDERS(src))).rows[0];
    await waitFor(target, ORDERS(dst), (r) => r[0]?.h === want.h, 120_000);
    await waitFor(target, `SELECT count(*)::int AS n FROM "${dst}".fid`, (r) => r[0]?.n === 303, 60_000);
  });

  afterAll(async () => {
    if (svc) await svc.stop();
    // never leave a slot behind: it would hold WAL on the shared PostgreSQL
    await removeConnector(connector).catch(() => undefined);
    const c = new Client({ connectionString: sourcePgUrl() });
    await c.connect();
    for (let i = 0; i < 40; i++) {
      const r = await c.query('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [slot]);
      if (r.rowCount === 0) break;
      if (!r.rows[0].active) {
        await c.query('SELECT pg_drop_replication_slot($1)', [slot]).catch(() => undefined);
        break;
      }
      await new Promise((res) => setTimeout(res, 250));
    }
    await c.query(`DROP PUBLICATION IF EXISTS "${slot}"`).catch(() => undefined);
    await c.end();
    await dropTestSchemaUnlessFailed(target, dst);
    await dropTestSchemaUnlessFailed(source, src);
    await source.end();
    await target.end();
  });

  it('reports every captured table equal, with the values Debezium cannot carry exactly counted apart', async () => {
    const reports = await verifyPipeline(cfg, { settleQuietMs: 2000 });
    const [fid, orders] = reports;
    expect(reports.map((r) => [r.source, r.target])).toEqual([[`${src}.fid`, `${dst}.fid`], [`${src}.orders`, `${dst}.orders`]]);
    expect(orders!.line).toMatch(new RegExp(`^${src}\\.orders → ${dst}\\.orders: equal, 400 rows \\(\\d+ chunks compared, 0 bisected, 0 fetched\\); [\\d.]+ s$`));
    expect(fid!.line).toMatch(/: equal, 303 rows .*known Debezium losses, not counted as differences: /);
    expect(reports.every((r) => r.ok)).toBe(true);
    const losses = Object.fromEntries((fid!.knownLosses ?? []).map((l) => [l.column, [...l.samples].sort()]));
    expect(losses).toEqual(EXPECTED_LOSSES);
    expect(orders!.knownLosses).toEqual([]);

    // a captured table without a key is not verified (the others still are), naming the fix
    await source.query(`CREATE TABLE "${src}".nokey (a int, b text)`);
    const wider = await buildConfig(parseManifest(managedManifest({ name, srcSchema: src, dest: `${dst}.{table}`, include: `${src}\\.(orders|fid|nokey)` })).manifest, undefined, process.env);
    const some = await verifyPipeline(wider, { settleTimeoutMs: 0 });
    expect(some.map((r) => r.ok)).toEqual([true, true, false]);
    expect(some[2]!.line).toMatch(new RegExp(`^${src}\\.nokey → ${dst}\\.nokey: NOT VERIFIED: primary_key: verify compares rows by key, and ${src}\\.nokey has no primary key: declare primary_key`));

    // the built command line: exit 0
    const built = spawnSync(process.execPath, [join(__dirname, '../../../bin/nilus-pg.js'), 'verify', file], { encoding: 'utf8', env: process.env });
    expect({ code: built.status, err: built.stderr }).toEqual({ code: 0, err: '' });
    expect(built.stdout).toMatch(new RegExp(`${src}\\.orders → ${dst}\\.orders: equal, 400 rows`));
  });

  it('reports a missing row, an extra row, a changed value and a changed NULL in the target, each by key', async () => {
    await target.query(`DELETE FROM "${dst}".orders WHERE id = 17`);
    await target.query(`INSERT INTO "${dst}".orders (id, status) VALUES (900001, 'extra')`);
    await target.query(`UPDATE "${dst}".orders SET amount = amount + 0.01 WHERE id = 42`);
    await target.query(`UPDATE "${dst}".orders SET note = NULL WHERE id = 43`);
    // a real difference in a column of a lossy type is a difference, not a loss
    await target.query(`UPDATE "${dst}".fid SET iv = iv + interval '1 microsecond' WHERE id = 150`);
    const [fid, orders, ...notes] = await verifyPipeline(cfg, { settleQuietMs: 1500, compare: { leafRows: 10, minBits: 4, maxBits: 4 } });
    expect(orders!.ok).toBe(false);
    const v = orders!.verdict!;
    expect(v.missing).toEqual({ count: 1, samples: ['17'] });
    expect(v.extra).toEqual({ count: 1, samples: ['900001'] });
    expect({ count: v.differing.count, samples: [...v.differing.samples].sort() }).toEqual({ count: 2, samples: ['42', '43'] });
    expect(v.bisected).toBeGreaterThan(0);
    expect(fid!.ok).toBe(false);
    expect(fid!.verdict!.differing).toEqual({ count: 1, samples: ['150'] });
    expect(Object.keys(Object.fromEntries((fid!.knownLosses ?? []).map((l) => [l.column, 1]))).sort()).toEqual(Object.keys(EXPECTED_LOSSES).sort());
    // re-checked after the lag drained (nothing in flight), and still reported
    expect(notes.map((n) => n.line).join('\n')).toMatch(/^note: 2 table\(s\) differed at first; .* compared again \d+ time\(s\).*; 2 table\(s\) still differing/);

    // without the pipeline's Kafka the lag cannot be read: the differences are reported as found, with why
    const noKafka = JSON.parse(text) as { spec: { source: { options: Record<string, string> } } };
    noKafka.spec.source.options.kafka = 'kafka://127.0.0.1:1';
    const blind = (await verifyPipeline(await buildConfig(parseManifest(JSON.stringify(noKafka)).manifest, undefined, process.env), { settleQuietMs: 1000 })).map((r) => r.line).join('\n');
    expect(blind).toMatch(/note: could not read the pipeline's lag \(.+\): the differences below were not re-checked and may be in flight/);
    expect(blind).toMatch(/orders: DIFFERENT: 1 missing \[17\], 1 extra \[900001\], 2 differing/);

    const c = await cli('--settle-quiet', '1');
    expect(c.code).toBe(1);
    expect(c.out).toMatch(/orders: DIFFERENT: 1 missing \[17\], 1 extra \[900001\], 2 differing \[4[23], 4[23]\]; source 400 rows, target 400 rows/);
    // put the target back
    await target.query(`INSERT INTO "${dst}".orders SELECT 17, 'new', 21.25, 'note 17'`);
    await target.query(`DELETE FROM "${dst}".orders WHERE id = 900001`);
    await target.query(`UPDATE "${dst}".orders SET amount = 52.50 WHERE id = 42`);
    await target.query(`UPDATE "${dst}".orders SET note = 'note 43' WHERE id = 43`);
    await target.query(`UPDATE "${dst}".fid SET iv = iv - interval '1 microsecond' WHERE id = 150`);
    expect((await verifyPipeline(cfg, { settleTimeoutMs: 0 })).every((r) => r.ok)).toBe(true);
  });

  it('changes in flight: not drained within the bound they are reported with the lag; once they land they are not losses', async () => {
    // The pipeline stopped, the changes wait in Kafka (or in the connector): in flight for sure.
    expect(await svc!.stop()).toBe(0);
    svc = undefined;
    const admin = testKafka().admin();
    await admin.connect();
    const end = async () => (await admin.fetchTopicOffsets(`${name}.${src}.orders`)).reduce((n, p) => n + Number(p.high), 0);
    const before = await end();
    await source.query(`INSERT INTO "${src}".orders SELECT g, 'late', g, 'in flight' FROM generate_series(401, 410) g`);
    await source.query(`UPDATE "${src}".orders SET status = 'paid' WHERE id = 5`);
    await source.query(`DELETE FROM "${src}".orders WHERE id = 6`);
    const deadline = Date.now() + 30_000;
    while ((await end()) < before + 13 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200)); // 12 events + a tombstone
    await admin.disconnect();

    const stuck = await verifyPipeline(cfg, { settleTimeoutMs: 3000 });
    const orders = stuck.find((r) => r.source === `${src}.orders`)!;
    expect(orders.ok).toBe(false);
    expect(orders.verdict).toMatchObject({ missing: { count: 10 }, extra: { count: 1, samples: ['6'] }, differing: { count: 1, samples: ['5'] } });
    expect(stuck.map((r) => r.line).join('\n')).toMatch(/note: the pipeline's lag did not drain within --settle-timeout 3 s: \d+ message\(s\) behind/);

    // verify starts while the changes are still in flight; the pipeline comes back meanwhile
    const verdict = verifyPipeline(cfg, { settleTimeoutMs: 90_000, settleQuietMs: 5000 });
    await new Promise((r) => setTimeout(r, 2500));
    svc = await startInProcess(text);
    const reports = await verdict;
    expect(reports.filter((r) => !r.ok).map((r) => r.line)).toEqual([]);
    const o = reports.find((r) => r.source === `${src}.orders`)!;
    expect(o.line).toMatch(/equal, 409 rows .*\[re-checked \d+×\]/);
    expect(reports.map((r) => r.line).join('\n')).toMatch(/note: 1 table\(s\) differed at first; .*; 1 table\(s\) then equal \(the differences were changes in flight\)/);
  });
});

/**
 * A managed MariaDB source, run as test/it/managed/mysql-managed.it.ts runs it (a throwaway MariaDB
 * reporting a version Debezium's MySQL connector accepts; the stack has no MariaDB connector):
 * verify reads it through the batch MySQL digest.
 */
describe('verify of a managed MariaDB CDC pipeline', () => {
  let maria: ThrowawayMariadb;
  let target: Pool;
  let schema: string;
  let connections: string;
  let svc: Awaited<ReturnType<typeof startInProcess>> | undefined;
  const db = uniqueName('vmysrc');
  const name = uniqueName('vmy').replace(/_/g, '-');
  const prefix = name.replace(/-/g, '_');
  const connector = `nilus-${name}`;

  const manifest = (): string => JSON.stringify({
    name, version: 'v1alpha', type: 'nilus',
    spec: {
      type: 'cdc',
      source: { address: 'dataos://maria-src', cdc: { 'collection.include.list': `${db}.items`, 'topic.prefix': prefix, 'topic.refresh.ms': 1000, 'connector.class': 'io.debezium.connector.mysql.MySqlConnector' } },
      sink: { address: targetPgUrl(), options: { dest_table: `${schema}.{table}`, incremental_strategy: 'merge', http_port: 0, 'batch.max_age_ms': 200, log_level: 'warn' } },
    },
  });

  beforeAll(async () => {
    maria = await startMariadb(['--version=5.7.19-MariaDB-10.11-nilus-test', '--default-time-zone=+00:00']);
    target = newPool();
    schema = await createTestSchema(target, 'vmy');
    await maria.sql(`CREATE DATABASE \`${db}\``);
    await maria.sql(`CREATE TABLE \`${db}\`.items (id int PRIMARY KEY, name varchar(100) CHARACTER SET utf8mb4, amount decimal(20,6), big bigint unsigned,
      at datetime(6), ts timestamp(3) NULL, d date, tm time(6), doc json, data blob, f double, flag tinyint(1), yr year, en enum('new','paid'))`);
    await maria.sql(`INSERT INTO \`${db}\`.items VALUES ?`, [Array.from({ length: 80 }, (_, k) => {
      const i = k + 1;
      return [i, i % 7 === 0 ? null : `naïve ✓ 😀 #${i}`, `${i}.00000${i % 10}`, i === 1 ? '18446744073709551615' : String(i * 1_000_000_007),
        `2024-0${(i % 9) + 1}-1${i % 10} 0${i % 10}:00:59.${String(i * 1371).padStart(6, '0').slice(0, 6)}`, i % 5 === 0 ? null : `2023-12-31 23:59:5${i % 10}.${String(i % 1000).padStart(3, '0')}`,
        `19${50 + (i % 50)}-02-28`, `${String(i % 24).padStart(2, '0')}:30:00.${String(i * 7).padStart(6, '0').slice(0, 6)}`,
        i % 4 === 0 ? null : JSON.stringify({ i, tags: ['a', 'ü'], nested: { ok: i % 2 === 0 } }), i % 6 === 0 ? null : Buffer.from([0, 255, i % 256]),
        i / 8, i % 11 === 0 ? null : i % 2, 1990 + (i % 30), i % 2 ? 'new' : 'paid'];
    })]);
    await maria.sql(`CREATE USER 'nilus_cdc'@'%' IDENTIFIED BY 'cdc-pw'`);
    await maria.sql(`GRANT SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'nilus_cdc'@'%'`);
    connections = join(mkdtempSync(join(tmpdir(), 'nilus-vmy-')), 'connections.yaml');
    writeFileSync(connections, mysqlSourceConnections('maria-src', { type: 'mariadb', host: '127.0.0.1', port: maria.port, database: db, username: 'nilus_cdc', password: 'cdc-pw' }));
  });

  afterAll(async () => {
    if (svc) await svc.stop();
    await removeConnector(connector).catch(() => undefined);
    await deleteManagedTopics(prefix, name);
    await maria?.stop();
    if (target) {
      await dropTestSchemaUnlessFailed(target, schema);
      await target.end();
    }
  });

  it('reports the landed table equal, then a changed value by key', async () => {
    svc = await startInProcess(manifest(), connections);
    await waitFor(target, `SELECT count(*)::int AS n FROM "${schema}".items`, (r) => r[0]?.n === 80, 150_000);
    const cfg = await buildConfig(parseManifest(manifest()).manifest, await loadConnectionsFile(connections), process.env);
    const [r, ...rest] = await verifyPipeline(cfg, { settleQuietMs: 2000 });
    expect(rest.filter((x) => !x.ok)).toEqual([]);
    expect(r!.line).toMatch(new RegExp(`^${db}\\.items → ${schema}\\.items: equal, 80 rows`));
    expect(r!.ok).toBe(true);
    await target.query(`UPDATE "${schema}".items SET tm = tm + interval '1 microsecond' WHERE id = 33`);
    await target.query(`UPDATE "${schema}".items SET doc = '{"i": 34}' WHERE id = 34`);
    const [d] = await verifyPipeline(cfg, { settleQuietMs: 1000 });
    expect(d!.ok).toBe(false);
    expect({ count: d!.verdict!.differing.count, samples: [...d!.verdict!.differing.samples].sort() }).toEqual({ count: 2, samples: ['33', '34'] });
  });
});
