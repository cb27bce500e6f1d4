/**
 * The seed page's batch example, run as written: `dataos://mysql-source` is a `type: mysql`
 * connection to the stack's MariaDB, `sales.orders` holds every mapped type with edge values, and
 * replace, append and merge each end with the target equal to the source. Equality is checked row
 * by row from a canonical text of each column computed by each database itself (not by nilus'
 * own mapping code), so a wrong mapping shows as a differing value.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection, type Connection } from 'mysql2/promise';
import type { Pool } from 'pg';
import { loadConfig } from '../../../src/config';
import { startService } from '../../../src/service/run';
import { createLogger } from '../../../src/observe/logger';
import type { CoreEvents } from '../../../src/kernel/events';
import { newPool, targetPgUrl } from '../../helpers/pg';
import { mysqlUrl } from '../../helpers/stack';

/** The seed page's batch example, character for character. */
const SEED = `name: nilus-postgres-batch
version: v1alpha
type: nilus
spec:
  type: batch
  compute: universe-compute
  source:
    address: dataos://mysql-source
    options:
      source_table: sales.orders
  sink:
    address: dataos://postgres-destination
    options:
      dest_table: analytics.orders
      incremental_strategy: replace
`;

/** Column, MySQL type, canonical text in MySQL, canonical text in PostgreSQL. */
const COLUMNS: [string, string, string, string][] = [
  ['id', 'bigint NOT NULL PRIMARY KEY', 'CAST(id AS CHAR)', 'id::text'],
  ['flag', 'tinyint(1)', "IF(flag IS NULL, NULL, IF(flag <> 0, 't', 'f'))", "CASE WHEN flag THEN 't' WHEN NOT flag THEN 'f' END"],
  ['ti', 'tinyint', 'CAST(ti AS CHAR)', 'ti::text'],
  ['tu', 'tinyint unsigned', 'CAST(tu AS CHAR)', 'tu::text'],
  ['si', 'smallint', 'CAST(si AS CHAR)', 'si::text'],
  ['su', 'smallint unsigned', 'CAST(su AS CHAR)', 'su::text'],
  ['mi', 'mediumint', 'CAST(mi AS CHAR)', 'mi::text'],
  ['ii', 'int', 'CAST(ii AS CHAR)', 'ii::text'],
  ['iu', 'int unsigned', 'CAST(iu AS CHAR)', 'iu::text'],
  ['bi', 'bigint', 'CAST(bi AS CHAR)', 'bi::text'],
  ['bu', 'bigint unsigned', 'CAST(bu AS CHAR)', 'bu::text'],
  ['amount', 'decimal(30,10)', 'CAST(amount AS CHAR)', 'amount::text'],
  ['big_dec', 'decimal(65,30)', 'CAST(big_dec AS CHAR)', 'big_dec::text'],
  ['fl', 'float', 'CAST(CAST(fl AS DOUBLE) AS CHAR)', 'fl::float8::text'],
  ['db', 'double', 'CAST(db AS CHAR)', 'db::text'],
  ['b1', 'bit(1)', "IF(b1 IS NULL, NULL, IF(b1 = 1, 't', 'f'))", "CASE WHEN b1 THEN 't' WHEN NOT b1 THEN 'f' END"],
  ['b10', 'bit(10)', 'LPAD(BIN(b10 + 0), 10, "0")', 'b10::text'],
  ['ch', 'char(6)', 'ch', 'ch'],
  ['vc', 'varchar(200)', 'vc', 'vc'],
  ['tx', 'mediumtext', 'tx', 'tx'],
  ['bn', 'binary(4)', 'HEX(bn)', 'upper(encode(bn, \'hex\'))'],
  ['vb', 'varbinary(16)', 'HEX(vb)', 'upper(encode(vb, \'hex\'))'],
  ['bl', 'blob', 'HEX(bl)', 'upper(encode(bl, \'hex\'))'],
  ['d', 'date', "IF(CAST(d AS CHAR) LIKE '0000-%' OR CAST(d AS CHAR) LIKE '%-00-%' OR CAST(d AS CHAR) LIKE '%-00', NULL, DATE_FORMAT(d, '%Y-%m-%d'))", "to_char(d, 'YYYY-MM-DD')"],
  ['dt', 'datetime(6)', "DATE_FORMAT(dt, '%Y-%m-%d %H:%i:%s.%f')", "to_char(dt, 'YYYY-MM-DD HH24:MI:SS.US')"],
  ['ts', 'timestamp(3) NULL', "DATE_FORMAT(ts, '%Y-%m-%d %H:%i:%s.%f')", "to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"],
  ['tm', 'time(1)', 'CAST(TIME_TO_SEC(tm) AS DECIMAL(20,6))', 'round(extract(epoch FROM tm)::numeric, 6)::text'],
  ['yr', 'year', 'CAST(yr AS CHAR)', 'yr::text'],
  ['js', 'json', "CONCAT('', js)", 'js::text'],
  ['en', "enum('new','paid','shipped')", 'en', 'en'],
  ['st', "set('gift','express','fragile')", 'st', 'st'],
  ['gen', 'int AS (ii * 2) STORED', 'CAST(gen AS CHAR)', 'gen::text'],
];

const ROWS = [
  // edge values of every type
  `(1, 1, -128, 255, -32768, 65535, -8388608, -2147483648, 4294967295, -9223372036854775808, 18446744073709551615,
    '-99999999999999999999.9999999999', '12345678901234567890123456789012345.123456789012345678901234567890',
    1.5, 3.141592653589793, b'1', b'1010101010', 'ab', 'héllo 😀 wörld', REPEAT('long text ', 300),
    x'00FF1000', x'DEADBEEF00', x'000102030405', '2024-02-29', '2024-02-29 23:59:59.999999', '2038-01-19 03:14:07.999',
    '-838:59:59.0', 1901, '{"a": [1, 2.5, "x"], "b": null, "c": {"d": true}}', 'paid', 'gift,fragile', DEFAULT)`,
  `(2, 0, 127, 0, 32767, 0, 8388607, 2147483647, 0, 9223372036854775807, 0,
    '0.0000000001', '-0.000000000000000000000000000001',
    -2.25, -15000000000.5, b'0', b'0000000001', 'x', 'tab\\there "quotes" back\\\\slash', 'line1\\nline2\\r\\n',
    x'00000000', x'', x'', '1000-01-01', '1000-01-01 00:00:00.000001', '1970-01-01 00:00:01.000',
    '838:59:59.0', 2155, '[]', 'new', '', DEFAULT)`,
  // zero date and NULL everywhere nullable
  `(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    NULL, NULL, NULL, '0000-00-00', NULL, NULL, NULL, NULL, NULL, NULL, NULL, DEFAULT)`,
  `(4, 1, 5, 6, 7, 8, 9, 10, 11, 12, 13, '1.5', '2.5', 100.25, 0.1, b'1', b'1111111111', 'ünï', '𝄞 clef', '',
    x'61626364', x'7A', x'FF', '2000-01-01', '2000-01-01 12:00:00', '2000-01-01 12:00:00.500', '100:00:00.5', 2000, '"just a string"', 'shipped', 'gift,express,fragile', DEFAULT)`,
];

type Finished = CoreEvents['batchFinished'][0];
type Warning = CoreEvents['batchWarning'][0];

describe('the seed batch example against MariaDB', () => {
  let my: Connection;
  let target: Pool;
  let dir: string;

  beforeAll(async () => {
    my = await createConnection({ uri: mysqlUrl(), multipleStatements: true, timezone: 'Z' });
    await my.query("SET time_zone = '+00:00'");
    await my.query('DROP DATABASE IF EXISTS sales; CREATE DATABASE sales CHARACTER SET utf8mb4');
    await my.query(`CREATE TABLE sales.orders (${COLUMNS.map(([n, t]) => `\`${n}\` ${t}`).join(', ')}) CHARACTER SET utf8mb4`);
    // zero dates need a sql_mode without NO_ZERO_DATE / strict date checks
    await my.query("SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION'");
    await my.query(`INSERT INTO sales.orders VALUES ${ROWS.join(',\n')}`);
    // volume beyond one page
    await my.query(`INSERT INTO sales.orders (id, flag, ii, amount, vc, d, dt, ts, tm, js, en, st)
      SELECT 1000 + seq, seq % 2, seq, seq * 1.25, CONCAT('row ', seq), '2024-01-01' + INTERVAL (seq % 365) DAY,
             '2024-01-01 00:00:00' + INTERVAL seq SECOND, '2024-01-01 00:00:00' + INTERVAL seq SECOND, SEC_TO_TIME(seq % 90000),
             JSON_OBJECT('n', seq), 'new', 'gift'
        FROM seq_1_to_25000`);
    target = newPool();
    await target.query('CREATE SCHEMA IF NOT EXISTS analytics');
    await target.query('DROP TABLE IF EXISTS analytics.orders; DROP TABLE IF EXISTS analytics.nilus_batch_state');
    dir = mkdtempSync(join(tmpdir(), 'nilus-seed-batch-'));
    const my0 = new URL(mysqlUrl());
    const pg0 = new URL(targetPgUrl());
    writeFileSync(join(dir, 'connections.yaml'), `connections:
  mysql-source:
    type: mysql
    host: ${my0.hostname}
    port: ${my0.port}
    database: sales
    username: ${decodeURIComponent(my0.username)}
    password: "${decodeURIComponent(my0.password)}"
    ssl-mode: disabled
  postgres-destination:
    type: postgresql
    host: ${pg0.hostname}
    port: ${pg0.port}
    database: ${pg0.pathname.slice(1)}
    username: ${decodeURIComponent(pg0.username)}
    password: ""
`);
  });

  afterAll(async () => {
    await my.query('DROP DATABASE IF EXISTS sales');
    await target.query('DROP TABLE IF EXISTS analytics.orders; DROP TABLE IF EXISTS analytics.nilus_batch_state');
    await my.end();
    await target.end();
  });

  async function run(strategy: string): Promise<{ code: number; finished?: Finished; warnings: Warning[]; logs: string }> {
    const file = join(dir, `${strategy}.yaml`);
    writeFileSync(file, SEED.replace('incremental_strategy: replace', `incremental_strategy: ${strategy}`));
    const cfg = await loadConfig(file, { connectionsPath: join(dir, 'connections.yaml') });
    const lines: string[] = [];
    const svc = await startService(cfg, { log: createLogger({ level: 'warn', name: 'seed-batch', destination: { write: (l: string) => lines.push(l) } }) });
    let finished: Finished | undefined;
    const warnings: Warning[] = [];
    svc.emitter.on('batchFinished', (f) => (finished = f));
    svc.emitter.on('batchWarning', (w) => warnings.push(w));
    const code = await svc.done;
    return { code, ...(finished ? { finished } : {}), warnings, logs: lines.join('') };
  }

  /** Every row of both sides as canonical text, keyed by id; the differences, described. */
  async function differences(): Promise<string[]> {
    const [srcRows] = await my.query<any[]>(`SELECT ${COLUMNS.map(([n, , m]) => `${m} AS \`${n}\``).join(', ')} FROM sales.orders ORDER BY id`);
    const dst = (await target.query(`SELECT ${COLUMNS.map(([n, , , p]) => `${p} AS "${n}"`).join(', ')} FROM analytics.orders ORDER BY id`)).rows;
    const out: string[] = [];
    if (srcRows.length !== dst.length) out.push(`row count: source ${srcRows.length}, target ${dst.length}`);
    const byId = new Map(dst.map((r) => [r.id as string, r]));
    for (const s of srcRows) {
      const t = byId.get(String(s.id));
      if (!t) {
        out.push(`id ${s.id}: missing in the target`);
        continue;
      }
      for (const [n] of COLUMNS) {
        let a: unknown = s[n] === null ? null : String(s[n]);
        let b: unknown = t[n];
        if (n === 'js' && a !== null && b !== null) [a, b] = [JSON.parse(a as string), JSON.parse(b as string)];
        if (JSON.stringify(a) !== JSON.stringify(b)) out.push(`id ${s.id} column ${n}: source ${JSON.stringify(a)?.slice(0, 120)}, target ${JSON.stringify(b)?.slice(0, 120)}`);
      }
      if (out.length > 20) break;
    }
    return out;
  }

  it('replace copies every mapped type value-exact, zero dates as NULL with a counted warning', async () => {
    const r = await run('replace');
    // the one warn line is the zero date's
    expect(r.logs.trim().split('\n').map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['batch run: 1 MySQL zero date(s) written as NULL in sales.orders.d']);
    expect(r.code).toBe(0);
    expect(r.finished).toMatchObject({ outcome: 'success', rows: 25004 });
    expect(r.warnings).toEqual([{ kind: 'zero_date', table: 'sales.orders', column: 'd', count: 1 }]);
    expect(await differences()).toEqual([]);
    const types = (await target.query(`SELECT column_name AS c, data_type AS t FROM information_schema.columns WHERE table_schema = 'analytics' AND table_name = 'orders'`)).rows;
    expect(Object.fromEntries(types.map((x) => [x.c, x.t]))).toMatchObject({ flag: 'boolean', bu: 'numeric', dt: 'timestamp without time zone', ts: 'timestamp with time zone', tm: 'interval', js: 'jsonb', bl: 'bytea' });

    // the copy has the source's primary key, so a merge into it later has its key
    expect((await target.query(`SELECT kcu.column_name AS c FROM information_schema.table_constraints tc JOIN information_schema.key_column_usage kcu USING (constraint_schema, constraint_name)
      WHERE tc.table_schema = 'analytics' AND tc.table_name = 'orders' AND tc.constraint_type = 'PRIMARY KEY'`)).rows).toEqual([{ c: 'id' }]);

    // changes, then replace again: the target is the new source exactly
    await my.query("UPDATE sales.orders SET vc = CONCAT(vc, ' (updated)'), amount = amount + 1 WHERE id % 7 = 0");
    await my.query('DELETE FROM sales.orders WHERE id BETWEEN 2000 AND 2999');
    expect((await run('replace')).finished).toMatchObject({ outcome: 'success', rows: 24004 });
    expect(await differences()).toEqual([]);
  });

  it('append into an empty target copies every row once', async () => {
    await target.query('DROP TABLE analytics.orders');
    const r = await run('append');
    expect(r.code).toBe(0);
    expect(r.finished).toMatchObject({ outcome: 'success', rows: 24004 });
    expect(await differences()).toEqual([]);
  });

  it('merge upserts by the source primary key and ends equal after source changes', async () => {
    // into the copy a replace made
    await target.query('DROP TABLE analytics.orders');
    expect((await run('replace')).code).toBe(0);
    expect((await run('merge')).code).toBe(0);
    expect(await differences()).toEqual([]);
    await my.query("UPDATE sales.orders SET st = 'express', tm = '-1:00:00.5', b10 = b'0101010101' WHERE id % 5 = 0");
    await my.query(`INSERT INTO sales.orders (id, ii, vc) SELECT 100000 + seq, seq, 'late' FROM seq_1_to_500`);
    const r = await run('merge');
    expect(r.code).toBe(0);
    expect(r.finished).toMatchObject({ outcome: 'success', rows: 24504 });
    expect(await differences()).toEqual([]);
  });
});
