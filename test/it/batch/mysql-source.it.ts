/**
 * The MySQL/MariaDB table source against a real MariaDB: every mapped type with edge values read
 * exactly (and accepted by PostgreSQL as text input for the mapped type), paging with pages pulled
 * lazily, cursor ranges, abort, one snapshot per reader, the spatial refusal and TLS modes.
 * Each test gets its own database, dropped afterwards (kept when a test of the file failed).
 */
import { randomBytes } from 'node:crypto';
import { createConnection, type Connection } from 'mysql2/promise';
import type { Pool } from 'pg';
import type { MysqlConnection } from '../../../src/config/types';
import type { Row } from '../../../src/kernel/types';
import { MysqlTableSource } from '../../../src/tables/mysql-table';
import type { SourceColumn, TableReader } from '../../../src/tables/table-source';
import { createTestSchema, dropTestSchemaUnlessFailed, newPool, testFileFailed } from '../../helpers/pg';
import { mysqlUrl } from '../../helpers/stack';

function connOf(database: string, extra: Partial<MysqlConnection> = {}): MysqlConnection {
  const u = new URL(mysqlUrl());
  return {
    host: u.hostname,
    port: Number(u.port || 3306),
    database,
    username: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    sslMode: 'disabled',
    connectTimeoutMs: 10_000,
    ...extra,
  };
}

let admin: Connection;
let db: string;
let serverHasTls = false;
let mariadbVersion: number[] | undefined;
const sources: MysqlTableSource[] = [];

function source(opts: { tinyint1AsBoolean?: boolean; onZeroDate?: (t: string, c: string) => void } = {}, extra: Partial<MysqlConnection> = {}): MysqlTableSource {
  const s = new MysqlTableSource(connOf(db, extra), { tinyint1AsBoolean: opts.tinyint1AsBoolean ?? true, ...(opts.onZeroDate ? { onZeroDate: opts.onZeroDate } : {}) });
  sources.push(s);
  return s;
}

async function readAll(reader: TableReader, table: string, pageRows = 1000): Promise<{ columns: readonly SourceColumn[]; rows: Row[] }> {
  const info = await reader.describe({ schema: db, table });
  if (!info) throw new Error(`no table ${table}`);
  const rows: Row[] = [];
  for await (const page of reader.pages({ table: { schema: db, table }, columns: info.columns, pageRows })) rows.push(...page);
  return { columns: info.columns, rows };
}

/** Our SELECT of `table`, as the server's process list shows it (undefined when it has ended). */
async function runningSelect(table: string): Promise<string | undefined> {
  const [rows] = await admin.query<any[]>("SELECT INFO AS info FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND COMMAND = 'Query' AND INFO LIKE ?", [`SELECT % FROM \`${db}\`.\`${table}\`%`]);
  return rows[0]?.info;
}

async function until(cond: () => Promise<boolean>, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}

/** 20,000 rows of ~1 KB: far more than socket buffers hold, so an unread result keeps the query running. */
async function createBig(table: string): Promise<void> {
  await admin.query(`CREATE TABLE ${table} (id int PRIMARY KEY, at datetime(3) NOT NULL, pad varchar(1000) NOT NULL)`);
  await admin.query('CREATE TEMPORARY TABLE digits (n int)');
  await admin.query('INSERT INTO digits VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)');
  await admin.query(`INSERT INTO ${table} SELECT n, '2024-01-01' + INTERVAL n SECOND, REPEAT('x', 1000) FROM (
      SELECT a.n + 10 * b.n + 100 * c.n + 1000 * d.n + 10000 * e.n + 1 AS n FROM digits a, digits b, digits c, digits d, digits e) s WHERE n <= 20000`);
  await admin.query('DROP TEMPORARY TABLE digits');
}

/** A view over `big` that produces a row every 5 ms: reading all of it would take ~100 s. */
async function createSlow(): Promise<void> {
  await createBig('big');
  await admin.query('CREATE VIEW slow AS SELECT id, pad, SLEEP(0.005) AS z FROM big');
}

beforeAll(async () => {
  const u = new URL(mysqlUrl());
  admin = await createConnection({ host: u.hostname, port: Number(u.port || 3306), user: decodeURIComponent(u.username), password: decodeURIComponent(u.password), charset: 'UTF8MB4_UNICODE_CI', dateStrings: true, supportBigNumbers: true, bigNumberStrings: true });
  const [[v]] = await admin.query<any[]>('SELECT VERSION() AS v');
  const [tls] = await admin.query<any[]>("SHOW GLOBAL VARIABLES LIKE 'have_ssl'");
  serverHasTls = tls[0]?.Value === 'YES';
  if (/mariadb/i.test(v.v)) mariadbVersion = String(v.v).split(/[.-]/).slice(0, 2).map(Number);
});
afterAll(async () => {
  await admin.end();
});
beforeEach(async () => {
  db = `nilus_it_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  await admin.query(`CREATE DATABASE ${db} CHARACTER SET utf8mb4`);
  await admin.query(`USE ${db}`);
  await admin.query("SET time_zone = '+00:00', sql_mode = ''");
});
afterEach(async () => {
  await Promise.all(sources.splice(0).map((s) => s.close()));
  if (testFileFailed() || process.env.NILUS_KEEP_SCHEMAS === '1') console.warn(`keeping MySQL database ${db} for inspection`);
  else await admin.query(`DROP DATABASE ${db}`);
});

describe('MySQL table source', () => {
  /** Column, MySQL type, inserted SQL values per row (row 1, 2, 3; row 4 is all NULL). */
  const COLUMNS: [string, string, string[]][] = [
    ['t_bool', 'tinyint(1)', ['0', '1', '-1']],
    ['t_tiny', 'tinyint', ['-128', '127', '0']],
    ['t_utiny', 'tinyint unsigned', ['255', '0', '1']],
    ['t_small', 'smallint', ['-32768', '32767', '0']],
    ['t_usmall', 'smallint unsigned', ['65535', '0', '1']],
    ['t_medium', 'mediumint', ['-8388608', '8388607', '0']],
    ['t_umedium', 'mediumint unsigned', ['16777215', '0', '1']],
    ['t_int', 'int', ['-2147483648', '2147483647', '0']],
    ['t_uint', 'int unsigned', ['4294967295', '0', '1']],
    ['t_big', 'bigint', ['-9223372036854775808', '9223372036854775807', '0']],
    ['t_ubig', 'bigint unsigned', ['18446744073709551615', '0', '1']],
    ['t_dec', 'decimal(65,30)', ['99999999999999999999999999999999999.999999999999999999999999999999', '-99999999999999999999999999999999999.999999999999999999999999999999', '0.000000000000000000000000000001']],
    ['t_money', 'decimal(10,2)', ['-12.5', '0', '12345678.99']],
    ['t_float', 'float', ['3.14159265', '-1e38', '0']],
    ['t_double', 'double', ['0.1e0 + 0.2e0', '1.7976931348623157e308', '4.9406564584124654e-324']],
    ['t_bit1', 'bit(1)', ["b'1'", "b'0'", "b'1'"]],
    ['t_bit10', 'bit(10)', ["b'0101010101'", "b'0'", "b'1111111111'"]],
    ['t_bit64', 'bit(64)', ["b'1111111111111111111111111111111111111111111111111111111111111111'", "b'1'", "b'0'"]],
    ['t_char', 'char(5)', ["'ab  '", "''", "'x'"]],
    ['t_varchar', 'varchar(50)', ["'😀 emoji 𝄞 ü'", "'tab\\there\\nnewline \\\\ \"q\" ''s'", "''"]],
    ['t_tinytext', 'tinytext', ["'tiny'", "''", "'😀'"]],
    ['t_text', 'text', ["'text 😀'", "''", "'x'"]],
    ['t_mediumtext', 'mediumtext', ["'medium'", "''", "'x'"]],
    ['t_longtext', 'longtext', ["REPEAT('long😀', 1000)", "''", "'x'"]],
    ['t_latin1', 'varchar(10) CHARACTER SET latin1', ["'Grüße'", "''", "'x'"]],
    ['t_binary', 'binary(4)', ['0x00ff', "''", '0xdeadbeef']],
    ['t_varbinary', 'varbinary(10)', ['0x0001ff', "''", '0x00']],
    ['t_blob', 'blob', ['0x00ff5c0a', "''", "'abc'"]],
    ['t_tinyblob', 'tinyblob', ['0x01', "''", '0x02']],
    ['t_mediumblob', 'mediumblob', ['0x01', "''", '0x02']],
    ['t_longblob', 'longblob', ['0x01', "''", '0x02']],
    ['t_date', 'date', ["'1000-01-01'", "'0000-00-00'", "'2024-00-15'"]],
    ['t_datetime', 'datetime(6)', ["'2024-02-29 23:59:59.999999'", "'0000-00-00 00:00:00'", "'0000-03-01 10:00:00'"]],
    ['t_datetime0', 'datetime', ["'9999-12-31 23:59:59'", "'1000-01-01 00:00:00'", "'2024-03-00 10:00:00'"]],
    ['t_ts', 'timestamp(3) NULL', ["'2038-01-19 03:14:07.999'", "'0000-00-00 00:00:00'", "'1970-01-01 00:00:01'"]],
    ['t_time', 'time(1)', ["'-838:59:59'", "'100:00:00.5'", "'00:00:00'"]],
    ['t_year', 'year', ['1901', '2155', '0']],
    ['t_json', 'json', [`'{"a": [1, 2.50, "😀"], "b": null, "c": "\\\\\\\\u0000 is text"}'`, "'[]'", "'\"s\"'"]],
    ['t_enum', "enum('a','b,c','😀')", ["'b,c'", "'😀'", "'a'"]],
    ['t_set', "set('x','y','z')", ["'x,z'", "''", "'y'"]],
  ];

  it('reads every mapped type exactly, as text PostgreSQL accepts for the mapped type', async () => {
    const mariaTypes = mariadbVersion && (mariadbVersion[0]! > 10 || mariadbVersion[1]! >= 10);
    const cols = [...COLUMNS, ...(mariaTypes ? ([['t_uuid', 'uuid', ["'123e4567-e89b-12d3-a456-426655440000'", 'NULL', 'NULL']], ['t_inet6', 'inet6', ["'2001:db8::1'", "'::ffff:1.2.3.4'", 'NULL']]] as [string, string, string[]][]) : [])];
    await admin.query(`CREATE TABLE everything (id int NOT NULL, ${cols.map(([n, t]) => `${n} ${t}`).join(', ')},
      g_virtual bigint AS (t_int * 2) VIRTUAL, g_stored varchar(20) AS (CONCAT(t_tiny, '!')) STORED, PRIMARY KEY (id))`);
    for (const i of [0, 1, 2]) {
      await admin.query(`INSERT INTO everything (id, ${cols.map(([n]) => n).join(', ')}) VALUES (${i + 1}, ${cols.map(([, , v]) => v[i]).join(', ')})`);
    }
    await admin.query('INSERT INTO everything (id) VALUES (4)');
    const zeros: string[] = [];
    const reader = await source({ onZeroDate: (t, c) => zeros.push(`${t}|${c}`) }).open();
    const info = await reader.describe({ schema: db, table: 'everything' });
    expect(info!.primaryKey).toEqual(['id']);
    const types = Object.fromEntries(info!.columns.map((c) => [c.name, c.pgType]));
    expect(types).toMatchObject({
      t_bool: 'boolean', t_tiny: 'smallint', t_utiny: 'smallint', t_small: 'smallint', t_usmall: 'integer', t_medium: 'integer', t_umedium: 'integer',
      t_int: 'integer', t_uint: 'bigint', t_big: 'bigint', t_ubig: 'numeric(20,0)', t_dec: 'numeric(65,30)', t_money: 'numeric(10,2)', t_float: 'real',
      t_double: 'double precision', t_bit1: 'boolean', t_bit10: 'bit(10)', t_bit64: 'bit(64)', t_char: 'text', t_varchar: 'text', t_longtext: 'text',
      t_binary: 'bytea', t_blob: 'bytea', t_date: 'date', t_datetime: 'timestamp(6)', t_datetime0: 'timestamp(0)', t_ts: 'timestamptz(3)', t_time: 'interval',
      t_year: 'smallint', t_json: 'jsonb', t_enum: 'text', t_set: 'text', g_virtual: 'bigint', g_stored: 'text',
    });
    expect(info!.columns.find((c) => c.name === 'id')).toMatchObject({ notNull: true, cursorable: true, sourceType: expect.stringMatching(/^int/) });

    const rows: Row[] = [];
    for await (const page of reader.pages({ table: { schema: db, table: 'everything' }, columns: info!.columns, pageRows: 3 })) rows.push(...page);
    await reader.close();
    rows.sort((a, b) => Number(a.id) - Number(b.id));
    const dec = '99999999999999999999999999999999999.999999999999999999999999999999';
    expect(rows[0]).toMatchObject({
      t_bool: 'f', t_tiny: '-128', t_utiny: '255', t_small: '-32768', t_usmall: '65535', t_medium: '-8388608', t_umedium: '16777215',
      t_int: '-2147483648', t_uint: '4294967295', t_big: '-9223372036854775808', t_ubig: '18446744073709551615', t_dec: dec, t_money: '-12.50',
      t_float: '3.1415927410125732', t_double: '0.30000000000000004', t_bit1: 't', t_bit10: '0101010101', t_bit64: '1'.repeat(64),
      t_char: 'ab', t_varchar: '😀 emoji 𝄞 ü', t_tinytext: 'tiny', t_text: 'text 😀', t_longtext: 'long😀'.repeat(1000), t_latin1: 'Grüße',
      t_binary: '\\x00ff0000', t_varbinary: '\\x0001ff', t_blob: '\\x00ff5c0a', t_tinyblob: '\\x01',
      t_date: '1000-01-01', t_datetime: '2024-02-29 23:59:59.999999', t_datetime0: '9999-12-31 23:59:59', t_ts: '2038-01-19 03:14:07.999+00',
      t_time: '-838:59:59.0', t_year: '1901', t_json: '{"a": [1, 2.50, "😀"], "b": null, "c": "\\\\u0000 is text"}', t_enum: 'b,c', t_set: 'x,z',
      g_virtual: '-4294967296', g_stored: '-128!',
    });
    expect(rows[1]).toMatchObject({
      t_bool: 't', t_ubig: '0', t_dec: '-' + dec, t_float: '-9.999999680285692e37', t_double: '1.7976931348623157e308', t_bit1: 'f', t_bit10: '0000000000',
      t_bit64: '0'.repeat(63) + '1', t_char: '', t_varchar: 'tab\there\nnewline \\ "q" \'s', t_binary: '\\x00000000', t_varbinary: '\\x', t_blob: '\\x',
      t_date: null, t_datetime: null, t_datetime0: '1000-01-01 00:00:00', t_ts: null, t_time: '100:00:00.5', t_year: '2155', t_json: '[]', t_enum: '😀', t_set: '',
    });
    expect(rows[2]).toMatchObject({
      t_bool: 't', t_double: '5e-324', t_date: null, t_datetime: '0001-03-01 10:00:00.000000 BC', t_datetime0: null, t_ts: '1970-01-01 00:00:01.000+00',
      t_time: '00:00:00.0', t_year: '0000', t_json: '"s"', t_dec: '0.000000000000000000000000000001', t_binary: '\\xdeadbeef',
    });
    expect(Object.entries(rows[3]!).filter(([k, v]) => k !== 'id' && !k.startsWith('g_') && v !== null)).toEqual([]);
    if (mariaTypes) {
      expect(types).toMatchObject({ t_uuid: 'uuid', t_inet6: 'inet' });
      expect(rows[0]).toMatchObject({ t_uuid: '123e4567-e89b-12d3-a456-426655440000', t_inet6: '2001:db8::1' });
    }
    // one report per zero value: t_date (2), t_datetime (1), t_datetime0 (1), t_ts (1)
    expect(zeros.sort()).toEqual([`${db}.everything|t_date`, `${db}.everything|t_date`, `${db}.everything|t_datetime`, `${db}.everything|t_datetime0`, `${db}.everything|t_ts`]);

    // PostgreSQL parses every value as text input of the mapped type, and the values come out right.
    const pg: Pool = newPool();
    const schema = await createTestSchema(pg, 'mysrc');
    try {
      const names = info!.columns.map((c) => c.name);
      await pg.query(`CREATE TABLE "${schema}".everything (${info!.columns.map((c) => `"${c.name}" ${c.pgType}`).join(', ')})`);
      for (const r of rows) {
        await pg.query(`INSERT INTO "${schema}".everything VALUES (${names.map((_, i) => `$${i + 1}`).join(', ')})`, names.map((n) => r[n]));
      }
      const back = await pg.query(`SELECT t_float::text AS f, t_ubig::text AS ubig, t_datetime::text AS dt, t_ts::text AS ts, t_time::text AS tm, t_json::text AS j, t_bit10::text AS b10,
        t_binary AS bin, octet_length(t_longtext) AS lt FROM "${schema}".everything ORDER BY id`);
      expect(back.rows[0]).toMatchObject({ f: '3.1415927', ubig: '18446744073709551615', dt: '2024-02-29 23:59:59.999999', tm: '-838:59:59', b10: '0101010101', bin: Buffer.from([0, 0xff, 0, 0]) });
      expect(back.rows[0].ts).toMatch(/^2038-01-19 03:14:07\.999(\+00)?/);
      expect(JSON.parse(back.rows[0].j)).toEqual({ a: [1, 2.5, '😀'], b: null, c: '\\u0000 is text' });
      expect(back.rows[1]).toMatchObject({ f: '-1e+38', tm: '100:00:00.5' });
      expect(back.rows[2]).toMatchObject({ dt: '0001-03-01 10:00:00 BC' });
    } finally {
      await dropTestSchemaUnlessFailed(pg, schema);
      await pg.end();
    }
  });

  it('maps tinyint(1) to smallint when asked, MariaDB JSON (longtext with its check) to jsonb, and reads views', async () => {
    await admin.query('CREATE TABLE flags (id bigint unsigned PRIMARY KEY, b tinyint(1), j json, t longtext)');
    await admin.query(`INSERT INTO flags VALUES (18446744073709551615, 2, '{"k": 1}', 'x')`);
    await admin.query('CREATE VIEW flags_v AS SELECT id, b FROM flags');
    const reader = await source({ tinyint1AsBoolean: false }).open();
    const { columns, rows } = await readAll(reader, 'flags');
    expect(columns.map((c) => c.pgType)).toEqual(['numeric(20,0)', 'smallint', 'jsonb', 'text']);
    expect(rows).toEqual([{ id: '18446744073709551615', b: '2', j: '{"k": 1}', t: 'x' }]);
    const view = await reader.describe({ schema: db, table: 'flags_v' });
    expect(view).toMatchObject({ primaryKey: [], columns: [{ name: 'id' }, { name: 'b', pgType: 'smallint' }] });
    expect(view!.estimatedRows).toBeUndefined();
    expect(await reader.describe({ schema: db, table: 'nope' })).toBeUndefined();
  });

  it('quotes odd identifiers and keeps a composite primary key in key order', async () => {
    await admin.query('CREATE TABLE `we``ird ?tbl` (`b``q` int, `a ?` varchar(5), `Mixed` int, PRIMARY KEY (`Mixed`, `b``q`))');
    await admin.query("INSERT INTO `we``ird ?tbl` VALUES (1, '?', 2)");
    const reader = await source().open();
    const info = await reader.describe({ schema: db, table: 'we`ird ?tbl' });
    expect(info!.primaryKey).toEqual(['Mixed', 'b`q']);
    const { rows } = await readAll(reader, 'we`ird ?tbl');
    expect(rows).toEqual([{ 'b`q': '1', 'a ?': '?', Mixed: '2' }]);
    expect(await reader.cursorMax({ schema: db, table: 'we`ird ?tbl' }, { column: 'b`q', from: { value: '0', inclusive: false } })).toBe('1');
  });

  it('yields pages of at most pageRows, reading the next only when asked', async () => {
    await createBig('big');
    const reader = await source().open();
    const info = (await reader.describe({ schema: db, table: 'big' }))!;
    expect(info.estimatedRows).toBeGreaterThan(0);
    const it = reader.pages({ table: { schema: db, table: 'big' }, columns: info.columns, pageRows: 700 })[Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.value).toHaveLength(700);
    // While we hold the page the server is still sending: its SELECT has not finished.
    await new Promise((r) => setTimeout(r, 300));
    expect(await runningSelect('big')).toBeDefined();
    const sizes = [700];
    let ids = new Set((first.value as Row[]).map((r) => r.id));
    for (let r = await it.next(); !r.done; r = await it.next()) {
      sizes.push(r.value.length);
      for (const row of r.value) ids.add(row.id);
    }
    expect(Math.max(...sizes)).toBe(700);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(20000);
    expect(ids.size).toBe(20000);
    ids = new Set();
    expect(await runningSelect('big')).toBeUndefined();
    await reader.close();
    await reader.close(); // twice is fine
  });

  it('applies a cursor range with bounds as parameters, and cursorMax in the form rows carry', async () => {
    await admin.query('CREATE TABLE ev (id int PRIMARY KEY, at datetime(3), ts timestamp(6) NULL, d date)');
    await admin.query(`INSERT INTO ev VALUES (1, '2024-01-01 00:00:00', '2024-01-01 00:00:00', '2024-01-01'), (2, '2024-01-01 00:00:00.500', '2024-01-01 10:00:00.000001', '2024-01-02'),
      (3, '2024-01-02 00:00:00', '2024-01-02 00:00:00', '2024-01-03'), (4, NULL, NULL, NULL), (5, '2024-01-03 12:00:00', '2024-01-03 12:00:00', '2024-01-04')`);
    const reader = await source().open();
    const info = (await reader.describe({ schema: db, table: 'ev' }))!;
    const t = { schema: db, table: 'ev' };
    const ids = async (range: Parameters<TableReader['pages']>[0]['range']): Promise<string[]> => {
      const out: string[] = [];
      for await (const p of reader.pages({ table: t, columns: info.columns, pageRows: 2, ...(range ? { range } : {}) })) out.push(...p.map((r) => r.id as string));
      return out.sort();
    };
    expect(await ids({ column: 'at', from: { value: '2024-01-01 00:00:00.000', inclusive: false }, to: { value: '2024-01-02 00:00:00.000', inclusive: true } })).toEqual(['2', '3']);
    expect(await ids({ column: 'at', from: { value: '2024-01-01 00:00:00', inclusive: true }, to: { value: '2024-01-02', inclusive: false } })).toEqual(['1', '2']);
    expect(await ids({ column: 'id', from: { value: '3', inclusive: true } })).toEqual(['3', '4', '5']);
    expect(await ids({ column: 'id', to: { value: '2', inclusive: true } })).toEqual(['1', '2']);
    expect(await ids({ column: 'at' })).toEqual(['1', '2', '3', '5']); // no bound: every non-null cursor
    // a timestamp bound with an offset is the same instant in UTC
    expect(await ids({ column: 'ts', from: { value: '2024-01-01 11:00:00.000001+01', inclusive: true }, to: { value: '2024-01-02 00:00:00+00', inclusive: false } })).toEqual(['2']);
    expect(await ids({ column: 'd', from: { value: '2024-01-02', inclusive: false } })).toEqual(['3', '5']);

    expect(await reader.cursorMax(t, { column: 'at' })).toBe('2024-01-03 12:00:00.000');
    expect(await reader.cursorMax(t, { column: 'ts', to: { value: '2024-01-03 00:00:00+00', inclusive: false } })).toBe('2024-01-02 00:00:00.000000+00');
    expect(await reader.cursorMax(t, { column: 'id', from: { value: '5', inclusive: false } })).toBeNull();
    expect(await reader.cursorMax(t, { column: 'd', from: { value: '2024-01-01', inclusive: true }, to: { value: '2024-01-03', inclusive: true } })).toBe('2024-01-03');
    // a bound that is no value of the column is refused before any SQL is sent
    await expect(reader.cursorMax(t, { column: 'id', from: { value: "1' OR '1'='1", inclusive: true } })).rejects.toThrow(/not a valid integer value/);
  });

  it('reads one snapshot: rows committed after open() are not seen by that reader', async () => {
    await admin.query('CREATE TABLE snap (id int PRIMARY KEY)');
    await admin.query('INSERT INTO snap VALUES (1), (2)');
    const reader = await source().open();
    await admin.query('INSERT INTO snap VALUES (3)');
    await admin.query('DELETE FROM snap WHERE id = 1');
    expect((await readAll(reader, 'snap')).rows.map((r) => r.id).sort()).toEqual(['1', '2']);
    expect(await reader.cursorMax({ schema: db, table: 'snap' }, { column: 'id' })).toBe('2');
    await reader.close();
    const fresh = await source().open();
    expect((await readAll(fresh, 'snap')).rows.map((r) => r.id).sort()).toEqual(['2', '3']);
  });

  it('abort ends the read: the iterator throws the reason and the query stops on the server', async () => {
    await createSlow();
    const reader = await source().open();
    const info = (await reader.describe({ schema: db, table: 'slow' }))!;
    const ctl = new AbortController();
    const it = reader.pages({ table: { schema: db, table: 'slow' }, columns: info.columns, pageRows: 50, signal: ctl.signal })[Symbol.asyncIterator]();
    expect((await it.next()).value).toHaveLength(50);
    expect(await runningSelect('slow')).toBeDefined();
    const reason = new Error('stop now');
    ctl.abort(reason);
    await expect(it.next()).rejects.toBe(reason);
    // the rest would take ~100 s to produce: gone within seconds means cancelled, not drained
    expect(await until(async () => (await runningSelect('slow')) === undefined)).toBe(true);
    await expect(reader.describe({ schema: db, table: 'slow' })).rejects.toThrow(/no longer usable/);
    await reader.close();

    // already aborted: nothing is read
    const r2 = await source().open();
    const done = new AbortController();
    done.abort(new Error('too late'));
    await expect(r2.pages({ table: { schema: db, table: 'slow' }, columns: info.columns, pageRows: 10, signal: done.signal })[Symbol.asyncIterator]().next()).rejects.toThrow('too late');
    await r2.close();
  });

  it('a read left early, or a snapshot closed during a read, stops the query instead of draining it', async () => {
    await createSlow();
    const reader = await source().open();
    const info = (await reader.describe({ schema: db, table: 'slow' }))!;
    for await (const page of reader.pages({ table: { schema: db, table: 'slow' }, columns: info.columns, pageRows: 20 })) {
      expect(page).toHaveLength(20);
      break;
    }
    expect(await until(async () => (await runningSelect('slow')) === undefined)).toBe(true);
    await reader.close();

    // closed while a page is held (the iterator neither finished nor returned): no COMMIT queued behind the read
    const held = await source().open();
    await held.describe({ schema: db, table: 'slow' });
    const it = held.pages({ table: { schema: db, table: 'slow' }, columns: info.columns, pageRows: 20 })[Symbol.asyncIterator]();
    expect((await it.next()).value).toHaveLength(20);
    await held.close();
    expect(await until(async () => (await runningSelect('slow')) === undefined)).toBe(true);
    await expect(it.next()).rejects.toThrow(/closed during a read/);
  });

  it('refuses a spatial column naming table, column and type, and a NUL in text naming the column', async () => {
    await admin.query('CREATE TABLE places (id int PRIMARY KEY, name varchar(20), geo point)');
    await admin.query("INSERT INTO places VALUES (1, CONCAT('a', CHAR(0), 'b'), POINT(1, 2))");
    await admin.query('CREATE VIEW places_v AS SELECT id, name, ST_AsText(geo) AS geo FROM places');
    const reader = await source().open();
    await expect(reader.describe({ schema: db, table: 'places' })).rejects.toThrow(
      new RegExp(`MySQL table ${db}\\.places: column \`geo\` has type point: a spatial type.*create a view without this column.*ST_AsText\\(\`geo\`\\).*source_table`, 'i'),
    );
    const info = (await reader.describe({ schema: db, table: 'places_v' }))!;
    expect(info.columns.map((c) => c.pgType)).toEqual(['integer', 'text', 'text']);
    const pages = reader.pages({ table: { schema: db, table: 'places_v' }, columns: info.columns, pageRows: 10 });
    await expect((async () => { for await (const _ of pages) void _; })()).rejects.toThrow(new RegExp(`MySQL table ${db}\\.places_v: column \`name\` holds a NUL character`));
    await reader.close();
  });

  it('TLS modes: disabled is plain; preferred uses TLS when offered, else plain; required refuses a server without TLS', async () => {
    await admin.query('CREATE TABLE one (id int PRIMARY KEY)');
    const plain = await source({}, { sslMode: 'disabled' }).open();
    expect(await plain.describe({ schema: db, table: 'one' })).toBeDefined();
    await plain.close();
    const preferred = await source({}, { sslMode: 'preferred' }).open();
    expect(await preferred.describe({ schema: db, table: 'one' })).toBeDefined();
    await preferred.close();
    if (serverHasTls) {
      const required = await source({}, { sslMode: 'required' }).open();
      expect(await required.describe({ schema: db, table: 'one' })).toBeDefined();
      await required.close();
    } else {
      await expect(source({}, { sslMode: 'required' }).open()).rejects.toMatchObject({ code: 'HANDSHAKE_NO_SSL_SUPPORT' });
      await expect(source({}, { sslMode: 'verify_ca' }).open()).rejects.toMatchObject({ code: 'HANDSHAKE_NO_SSL_SUPPORT' });
    }
    await expect(source({}, { sslMode: 'verify_ca', sslCa: '/nonexistent/ca.pem' }).open()).rejects.toThrow(/cannot read the CA bundle \/nonexistent\/ca\.pem/);
  });
});
