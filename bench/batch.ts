/**
 * The batch runs' source: an orders-like MySQL/MariaDB table of `--batch-rows` rows, generated in
 * the server with one INSERT … SELECT (MariaDB's SEQUENCE engine, `seq_1_to_N`; a cross join of
 * digits elsewhere), dumped once into a file in PostgreSQL COPY text format for the COPY limit,
 * and the digest every target is checked against. See docs/benchmark.md, "Batch".
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { createConnection as createStreamingConnection } from 'mysql2';
import { createConnection, type Connection } from 'mysql2/promise';
import type { Client } from 'pg';
import { stackEnv } from '../test/helpers/stack';
import { copyField } from './runners/pglimit';
import { quoteIdent } from './stack';

/** The stack's MariaDB, as root without a password (NILUS_MYSQL_PORT moves it). */
export const MYSQL_URL = stackEnv().NILUS_TEST_MYSQL_URL;

export interface MysqlAddress {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
}

export function mysqlAddress(url = MYSQL_URL): MysqlAddress {
  const u = new URL(url);
  return {
    host: u.hostname, port: Number(u.port || 3306), database: decodeURIComponent(u.pathname.slice(1)),
    user: decodeURIComponent(u.username), password: decodeURIComponent(u.password),
  };
}

const CONNECTION_OPTIONS = { charset: 'UTF8MB4_UNICODE_CI', dateStrings: true, supportBigNumbers: true, bigNumberStrings: true } as const;

export async function withMysql<T>(fn: (c: Connection) => Promise<T>): Promise<T> {
  const a = mysqlAddress();
  const c = await createConnection({ host: a.host, port: a.port, user: a.user, password: a.password, database: a.database, ...CONNECTION_OPTIONS });
  try {
    await c.query("SET time_zone = '+00:00'");
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

const bt = (name: string): string => '`' + name.replace(/`/g, '``') + '`';

/**
 * The columns in source order: bigint key, int, varchars, decimal(12,2), datetime(6), tinyint(1),
 * a text of 50–100 characters (some with a tab, a newline, a backslash, quotes or non-ASCII
 * letters, which COPY must escape) and a nullable varchar (NULL in 2 of 3 rows).
 */
export const COLUMNS = ['id', 'customer_id', 'status', 'email', 'sku', 'quantity', 'amount', 'created_at', 'updated_at', 'is_paid', 'description', 'coupon'] as const;

const MYSQL_DDL = `(
  id bigint NOT NULL PRIMARY KEY,
  customer_id int NOT NULL,
  status varchar(16) NOT NULL,
  email varchar(80) NOT NULL,
  sku varchar(32) NOT NULL,
  quantity int NOT NULL,
  amount decimal(12,2) NOT NULL,
  created_at datetime(6) NOT NULL,
  updated_at datetime(6) NOT NULL,
  is_paid tinyint(1) NOT NULL,
  description text NOT NULL,
  coupon varchar(20) NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;

/**
 * The PostgreSQL table nilus-pg creates for it (docs/types.md: varchar/text → text, decimal →
 * numeric, datetime(6) → timestamp(6), tinyint(1) → boolean); `replace` creates it without a key.
 */
export const PG_COLUMNS = `(
  id bigint, customer_id integer, status text, email text, sku text, quantity integer, amount numeric(12,2),
  created_at timestamp(6) without time zone, updated_at timestamp(6) without time zone, is_paid boolean,
  description text, coupon text
)`;

/** Row n (the sequence value) as SQL over a column `n`. */
const ROW_SQL = `SELECT n,
  1 + (n * 7919) % 200000,
  ELT(1 + n % 5, 'new', 'paid', 'shipped', 'delivered', 'cancelled'),
  CONCAT('customer', 1 + (n * 7919) % 200000, '@example.com'),
  CONCAT('SKU-', LPAD(n % 50000, 6, '0'), '-', ELT(1 + n % 4, 'S', 'M', 'L', 'XL')),
  1 + n % 9,
  ((n * 104729) % 1000000) / 100,
  TIMESTAMP '2024-01-01 00:00:00' + INTERVAL n * 29 SECOND + INTERVAL (n * 7919) % 1000000 MICROSECOND,
  TIMESTAMP '2024-01-01 00:00:00' + INTERVAL n * 29 + n % 86400 SECOND + INTERVAL (n * 104729) % 1000000 MICROSECOND,
  n % 3 <> 0,
  LEFT(CONCAT('Order ', n, ': ', ELT(1 + n % 5, 'gift wrap, leave at the door', 'ship with the next order – café crème',
              CONCAT('fragile', CHAR(9 USING utf8mb4), 'glass; "handle with care"'), CONCAT('call before delivery', CHAR(10 USING utf8mb4), 'back door ', CHAR(92 USING utf8mb4), ' gate'),
              'l''équipe s''en charge'),
              ' ', MD5(n), MD5(n + 1), MD5(n + 2)), 50 + n % 51),
  IF(n % 3 = 0, CONCAT('SAVE', n % 50), NULL)`;

export interface SourceFacts {
  /** `database.table` */
  table: string;
  rows: number;
  generateSeconds: number;
  /** InnoDB data + index bytes (information_schema, an estimate). */
  storedBytes: number;
  server: string;
}

/** Creates and fills `table` in the stack's database; replaces a table of that name. */
export async function createSourceTable(table: string, rows: number): Promise<SourceFacts> {
  return withMysql(async (c) => {
    const db = mysqlAddress().database;
    const t0 = Date.now();
    await c.query(`DROP TABLE IF EXISTS ${bt(table)}`);
    await c.query(`CREATE TABLE ${bt(table)} ${MYSQL_DDL}`);
    const [engines] = await c.query<any[]>('SHOW ENGINES');
    const sequence = engines.some((e) => String(e.Engine).toUpperCase() === 'SEQUENCE' && /^(YES|DEFAULT)$/i.test(String(e.Support)));
    // One INSERT … SELECT: the server generates the rows, nothing crosses the wire.
    let from: string;
    if (sequence) from = `(SELECT seq AS n FROM seq_1_to_${rows}) s`;
    else {
      await c.query('CREATE TEMPORARY TABLE bench_digits (d int)');
      await c.query('INSERT INTO bench_digits VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)');
      const digits = Math.max(1, Math.ceil(Math.log10(rows + 1)));
      const parts = Array.from({ length: digits }, (_, i) => `d${i}.d * ${10 ** i}`).join(' + ');
      const joins = Array.from({ length: digits }, (_, i) => `bench_digits d${i}`).join(', ');
      from = `(SELECT ${parts} + 1 AS n FROM ${joins}) s WHERE n <= ${rows}`;
    }
    await c.query(`INSERT INTO ${bt(table)} ${ROW_SQL} FROM ${from}`);
    if (!sequence) await c.query('DROP TEMPORARY TABLE bench_digits');
    await c.query(`ANALYZE TABLE ${bt(table)}`);
    const generateSeconds = (Date.now() - t0) / 1000;
    const [[size]] = await c.query<any[]>('SELECT data_length + index_length AS b FROM information_schema.tables WHERE table_schema = ? AND table_name = ?', [db, table]);
    const [[v]] = await c.query<any[]>('SELECT VERSION() AS v');
    return { table: `${db}.${table}`, rows, generateSeconds, storedBytes: Number(size?.b ?? 0), server: String(v?.v) };
  });
}

export async function dropSourceTable(table: string): Promise<void> {
  await withMysql((c) => c.query(`DROP TABLE IF EXISTS ${bt(table)}`));
}

/**
 * Writes every row of `table` (in key order) to `file` in PostgreSQL COPY text format, values as
 * PostgreSQL reads them for PG_COLUMNS: mysql2 gives decimals, bigints and datetimes as the
 * server's text, tinyint(1) as 0/1 (boolean input takes both). Returns rows and bytes written.
 */
export async function dumpCopyText(table: string, file: string): Promise<{ rows: number; bytes: number }> {
  const a = mysqlAddress();
  const c = createStreamingConnection({ host: a.host, port: a.port, user: a.user, password: a.password, database: a.database, ...CONNECTION_OPTIONS });
  const out = createWriteStream(file);
  let rows = 0;
  try {
    await c.promise().query("SET time_zone = '+00:00'");
    const stream = c.query({ sql: `SELECT ${COLUMNS.map(bt).join(', ')} FROM ${bt(table)} ORDER BY id`, rowsAsArray: true }).stream({ highWaterMark: 1000 });
    let chunk = '';
    for await (const row of stream as AsyncIterable<unknown[]>) {
      chunk += row.map((v) => copyField(v === null ? null : String(v))).join('\t') + '\n';
      rows++;
      if (chunk.length >= 1 << 20) {
        if (!out.write(chunk)) await once(out, 'drain');
        chunk = '';
      }
    }
    out.end(chunk);
    await once(out, 'finish');
    return { rows, bytes: out.bytesWritten };
  } finally {
    out.destroy();
    await c.promise().end().catch(() => undefined);
  }
}

/**
 * What the target must equal: row count and sums over most columns, as exact decimal text (ids,
 * amounts, the datetimes as microseconds since 2020-01-01, text lengths in characters and bytes,
 * flags and NULLs counted). Computed by the source server and by PostgreSQL, compared as strings.
 */
export interface BatchDigest {
  rows: string;
  sumId: string;
  sumCustomerQuantity: string;
  sumAmount: string;
  sumCreatedUs: string;
  sumUpdatedUs: string;
  paid: string;
  coupons: string;
  textChars: string;
  textBytes: string;
}

/** Every row of `table` changed in one column (quantity + by), in MariaDB. */
export async function shiftQuantity(table: string, by: number): Promise<void> {
  await withMysql((c) => c.query(`UPDATE ${bt(table)} SET quantity = quantity + ${Math.trunc(by)}`));
}

export async function sourceDigest(table: string): Promise<BatchDigest> {
  return withMysql(async (c) => {
    const [[r]] = await c.query<any[]>(
      `SELECT COUNT(*) AS rows_, SUM(id) AS sumId, SUM(customer_id + quantity) AS sumCustomerQuantity, SUM(amount) AS sumAmount,
              SUM(TIMESTAMPDIFF(MICROSECOND, '2020-01-01', created_at)) AS sumCreatedUs,
              SUM(TIMESTAMPDIFF(MICROSECOND, '2020-01-01', updated_at)) AS sumUpdatedUs,
              SUM(is_paid) AS paid, COUNT(coupon) AS coupons,
              SUM(CHAR_LENGTH(status) + CHAR_LENGTH(email) + CHAR_LENGTH(sku) + CHAR_LENGTH(description) + COALESCE(CHAR_LENGTH(coupon), 0)) AS textChars,
              SUM(OCTET_LENGTH(status) + OCTET_LENGTH(email) + OCTET_LENGTH(sku) + OCTET_LENGTH(description) + COALESCE(OCTET_LENGTH(coupon), 0)) AS textBytes
         FROM ${bt(table)}`,
    );
    return digestOf(r, 'rows_');
  });
}

export async function targetDigest(c: Client, schema: string, table: string): Promise<BatchDigest> {
  const r = (await c.query(
    `SELECT count(*)::text AS rows_, sum(id)::text AS "sumId", sum(customer_id + quantity)::text AS "sumCustomerQuantity", sum(amount)::text AS "sumAmount",
            sum((extract(epoch FROM created_at - timestamp '2020-01-01') * 1000000)::bigint)::text AS "sumCreatedUs",
            sum((extract(epoch FROM updated_at - timestamp '2020-01-01') * 1000000)::bigint)::text AS "sumUpdatedUs",
            (count(*) FILTER (WHERE is_paid))::text AS paid, count(coupon)::text AS coupons,
            sum(char_length(status) + char_length(email) + char_length(sku) + char_length(description) + coalesce(char_length(coupon), 0))::text AS "textChars",
            sum(octet_length(status) + octet_length(email) + octet_length(sku) + octet_length(description) + coalesce(octet_length(coupon), 0))::text AS "textBytes"
       FROM ${quoteIdent(schema)}.${quoteIdent(table)}`,
  )).rows[0];
  return digestOf(r, 'rows_');
}

function digestOf(r: Record<string, unknown>, rowsKey: string): BatchDigest {
  const s = (k: string): string => (r[k] === null || r[k] === undefined ? 'NULL' : String(r[k]));
  return {
    rows: s(rowsKey), sumId: s('sumId'), sumCustomerQuantity: s('sumCustomerQuantity'), sumAmount: s('sumAmount'), sumCreatedUs: s('sumCreatedUs'),
    sumUpdatedUs: s('sumUpdatedUs'), paid: s('paid'), coupons: s('coupons'), textChars: s('textChars'), textBytes: s('textBytes'),
  };
}

/** ok when every figure is the same text; the detail names the ones that differ. */
export function compareBatchDigest(expected: BatchDigest, actual: BatchDigest): { ok: boolean; detail: string } {
  const diff = (Object.keys(expected) as (keyof BatchDigest)[]).filter((k) => expected[k] !== actual[k]);
  if (diff.length === 0) return { ok: true, detail: `${actual.rows} rows; sums of id ${actual.sumId}, amount ${actual.sumAmount} and 8 more equal the source's` };
  return { ok: false, detail: `differs from the source: ${diff.map((k) => `${k} ${actual[k]} (source ${expected[k]})`).join(', ')}` };
}
