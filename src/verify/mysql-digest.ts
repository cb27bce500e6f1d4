/**
 * MySQL/MariaDB side of `nilus-pg verify`: bucket digests and bucket rows computed by SQL, in one
 * `START TRANSACTION WITH CONSISTENT SNAPSHOT` (the table source's own session: utf8mb4, time_zone
 * +00:00, sql_mode '').
 *
 * Each column is rendered as the canonical text of the PostgreSQL type it maps to
 * (./mysql-types.ts), which ./pg-digest.ts renders on the target (docs/types.md, "How verify
 * compares values"): tinyint(1)/bit(1) `true`/`false`, integers/decimal/year as MySQL prints them
 * (decimal keeps its scale, as numeric(p,s) does), float/double as `<digits>e<exponent>` from the
 * shortest text, bit(n) as n binary digits, binary/blob lower-case hex, date/datetime/timestamp as
 * `YYYY-MM-DD[ HH:MM:SS.ffffff]` (year 0 as `0001 … BC`, zero dates NULL), time as seconds with 6
 * decimals, text/enum/set as is, JSON by shape only in the digest (digest.ts, 'json').
 */
import type { Connection, QueryError } from '../tables/mysql-connection';
import type { MysqlConnection } from '../config/types';
import type { TableRef } from '../kernel/types';
import { MysqlTableSource, readerConnection } from '../tables/mysql-table';
import type { BucketDigest, BucketSet, DigestPlan, DigestReader, DigestSource, DigestTableInfo, HashedRow, JsonRow } from './digest';
import type { SourceColumn, TableReader } from '../tables/table-source';
import { bt, qualified } from '../tables/mysql-ident';
import { bucketDigest, bucketRows, DIGEST_TABLES, hashedRows } from '../tables/sql/mysql';

const baseType = (sourceType: string): string => (/^[a-z0-9_]+/i.exec(sourceType)?.[0] ?? '').toLowerCase();
const bitsOf = (sourceType: string): number => Number(/\((\d+)/.exec(sourceType)?.[1] ?? 1);

/** The same `<digits>e<exponent>` form as pg-digest.ts's pgScientific, from MySQL's shortest text. */
function myScientific(t: string): string {
  const m = `SUBSTRING_INDEX(${t}, 'e', 1)`;
  const ex = `IF(LOCATE('e', ${t}) > 0, CAST(SUBSTRING_INDEX(${t}, 'e', -1) AS SIGNED), 0)`;
  const u = `TRIM(LEADING '-' FROM ${m})`;
  const i = `SUBSTRING_INDEX(${u}, '.', 1)`;
  const a = `CONCAT(${i}, IF(LOCATE('.', ${u}) > 0, SUBSTRING_INDEX(${u}, '.', -1), ''))`;
  const s = `TRIM(LEADING '0' FROM ${a})`;
  const sig = `TRIM(TRAILING '0' FROM ${s})`;
  const exp = `(${ex} + CHAR_LENGTH(${i}) - (CHAR_LENGTH(${a}) - CHAR_LENGTH(${s})) - 1)`;
  return `CASE WHEN ${t} IS NULL THEN NULL WHEN ${sig} = '' THEN '0' ELSE CONCAT(IF(LEFT(${t}, 1) = '-', '-', ''), ${sig}, 'e', ${exp}) END`;
}

/** pg-digest.ts's rule: fixed text between 1e-4 and 1e15 (both print it so), normalised elsewhere. */
function myDouble(x: string): string {
  return `CASE WHEN ${x} IS NULL THEN NULL WHEN ${x} = 0 THEN '0' WHEN ABS(${x}) >= 1e-4 AND ABS(${x}) < 1e15 THEN CAST(${x} AS CHAR) ` +
    `ELSE ${myScientific(`CAST(${x} AS CHAR)`)} END`;
}

/** A date/datetime/timestamp: zero dates NULL (as the batch copy wrote them), year 0 as 1 BC. */
function myDate(c: string, format: string): string {
  return `CASE WHEN ${c} IS NULL OR MONTH(${c}) = 0 OR DAYOFMONTH(${c}) = 0 THEN NULL ` +
    `WHEN YEAR(${c}) = 0 THEN CONCAT('0001', SUBSTRING(DATE_FORMAT(${c}, '${format}'), 5), ' BC') ELSE DATE_FORMAT(${c}, '${format}') END`;
}

/** The canonical text of one column, as utf8mb4 (for a json column in mode 'json': its shape only). */
export function mysqlCanonical(col: SourceColumn, mode: 'exact' | 'json'): string {
  const c = bt(col.name);
  const base = baseType(col.sourceType);
  let e: string;
  if (col.pgType === 'boolean') e = `CASE WHEN ${c} IS NULL THEN NULL WHEN ${c} <> 0 THEN 'true' ELSE 'false' END`;
  else if (col.pgType === 'jsonb') {
    e = mode === 'json'
      ? `CASE WHEN ${c} IS NULL THEN NULL ELSE CASE JSON_TYPE(${c}) WHEN 'OBJECT' THEN 'object' WHEN 'ARRAY' THEN CONCAT('array:', JSON_LENGTH(${c})) ` +
        `WHEN 'STRING' THEN 'string' WHEN 'BOOLEAN' THEN 'boolean' WHEN 'NULL' THEN 'null' ELSE 'number' END END`
      : c;
  } else {
    switch (base) {
      case 'float':
        e = myDouble(`(${c} * 1e0)`);
        break;
      case 'double':
      case 'real':
        e = myDouble(c);
        break;
      case 'bit':
        e = `LPAD(BIN(${c} + 0), ${bitsOf(col.sourceType)}, '0')`;
        break;
      case 'binary':
      case 'varbinary':
      case 'tinyblob':
      case 'blob':
      case 'mediumblob':
      case 'longblob':
        e = `LOWER(HEX(${c}))`;
        break;
      case 'date':
        e = myDate(c, '%Y-%m-%d');
        break;
      case 'datetime':
      case 'timestamp':
        e = myDate(c, '%Y-%m-%d %H:%i:%s.%f');
        break;
      case 'time':
        e = `CAST(TIME_TO_SEC(${c}) AS DECIMAL(20,6))`;
        break;
      case 'year':
        e = `CAST(${c} + 0 AS CHAR)`; // year 0 prints as 0000; the copy holds it as smallint 0
        break;
      case 'char':
      case 'varchar':
      case 'tinytext':
      case 'text':
      case 'mediumtext':
      case 'longtext':
      case 'enum':
      case 'set':
        e = c;
        break;
      default:
        // integers, decimal, year, MariaDB uuid/inet4/inet6: MySQL's own text
        e = `CAST(${c} AS CHAR)`;
    }
  }
  // one character set and collation for every part, so CONCAT never meets an illegal mix
  return `CONVERT((${e}) USING utf8mb4)`;
}

function joined(parts: readonly string[]): string {
  return `CONCAT_WS('|', ${parts.map((p) => `COALESCE(CONCAT(CHAR_LENGTH(${p}), ':', ${p}), 'N')`).join(', ')})`;
}

function run(c: Connection, sql: string, values: unknown[]): Promise<(Buffer | null)[][]> {
  return new Promise((resolve, reject) => {
    c.query({ sql, values, rowsAsArray: true, typeCast: false }, (err: QueryError | null, rows: unknown) => (err ? reject(err) : resolve(rows as (Buffer | null)[][])));
  });
}

export class MysqlDigestSource implements DigestSource {
  readonly display: string;

  constructor(
    private readonly conn: MysqlConnection,
    private readonly opts: { readonly tinyint1AsBoolean: boolean },
  ) {
    this.display = `mysql://${conn.host}:${conn.port}/${conn.database}`;
  }

  async open(): Promise<DigestReader> {
    const source = new MysqlTableSource(this.conn, this.opts);
    const reader = await source.open();
    // The table source's reader owns the connection (TLS modes, snapshot, session settings); the
    // digest statements run on that same connection, inside its snapshot.
    const c = readerConnection(reader);
    if (!c) {
      await reader.close();
      throw new Error('a MySQL table source opened a reader without a MySQL connection');
    }
    return new MysqlDigestReader(reader, c);
  }
}

class MysqlDigestReader implements DigestReader {
  private readonly described = new Map<string, SourceColumn[]>();

  constructor(
    private readonly reader: TableReader,
    private readonly c: Connection,
  ) {}

  async describe(table: TableRef): Promise<DigestTableInfo | undefined> {
    const info = await this.reader.describe(table);
    if (!info) return undefined;
    this.described.set(qualified(table), [...info.columns]);
    return {
      columns: info.columns.map((c) => ({ name: c.name, type: c.sourceType, sqlExact: c.pgType !== 'jsonb' })),
      primaryKey: info.primaryKey,
      ...(info.estimatedRows !== undefined ? { estimatedRows: info.estimatedRows } : {}),
    };
  }

  async digest(plan: DigestPlan, bits: number, within?: BucketSet): Promise<BucketDigest[]> {
    const { keyText, rowText } = this.texts(plan);
    const rows = await run(this.c, bucketDigest(plan.table, keyText, rowText, bits, within), within ? [within.buckets] : []);
    return rows.map((r) => ({ bucket: Number(String(r[0])), rows: Number(String(r[1])), sum: String(r[2]) }));
  }

  async *rows(plan: DigestPlan, within: readonly BucketSet[]): AsyncGenerator<HashedRow> {
    const { keyText, keys, values } = this.texts(plan);
    for await (const r of this.stream(bucketRows(plan.table, keyText, [...keys, ...values], within), within.map((s) => s.buckets))) {
      yield { hash: Number(r[0]), key: r.slice(1, 1 + keys.length).map((k) => k ?? 'NULL'), values: r.slice(1 + keys.length) };
    }
  }

  async *jsonRows(plan: DigestPlan, within?: BucketSet): AsyncGenerator<JsonRow> {
    const { keyText, keys } = this.texts(plan);
    const docs = plan.columns.filter((c) => c.mode === 'json').map((c) => `CONVERT(${bt(c.name)} USING utf8mb4)`);
    for await (const r of this.stream(hashedRows(plan.table, keyText, [...keys, ...docs], within), within ? [within.buckets] : [])) {
      yield { hash: Number(r[0]), key: r.slice(1, 1 + keys.length).map((k) => k ?? 'NULL'), docs: r.slice(1 + keys.length) };
    }
  }

  async tables(): Promise<TableRef[]> {
    const rows = await run(this.c, DIGEST_TABLES, []);
    return rows.map((r) => ({ schema: String(r[0]), table: String(r[1]) }));
  }

  /** A query's rows as text, streamed (paused while the consumer works, so memory stays flat). */
  private async *stream(sql: string, values: unknown[]): AsyncGenerator<(string | null)[]> {
    const query = this.c.query({ sql, values, rowsAsArray: true, typeCast: false });
    for await (const raw of query.stream({ highWaterMark: 1000 }) as AsyncIterable<(Buffer | null)[]>) {
      yield raw.map((b) => (b === null || b === undefined ? null : b.toString('utf8')));
    }
  }

  close(): Promise<void> {
    return this.reader.close();
  }

  private texts(plan: DigestPlan): { keys: string[]; values: string[]; keyText: string; rowText: string } {
    if (plan.canon !== 'mysql') throw new TypeError('a MySQL table is digested in the mysql canonical form');
    const cols = this.described.get(qualified(plan.table));
    if (!cols) throw new Error(`describe ${qualified(plan.table)} before digesting it`);
    const col = (name: string): SourceColumn => {
      const c = cols.find((x) => x.name === name);
      if (!c) throw new Error(`column ${name} is not in ${qualified(plan.table)}`);
      return c;
    };
    const keys = plan.key.map((k) => mysqlCanonical(col(k), 'exact'));
    // rows() hands json documents over as stored, for the comparison after parsing
    const values = plan.columns.map((c) => (c.mode === 'json' ? `CONVERT(${bt(c.name)} USING utf8mb4)` : mysqlCanonical(col(c.name), c.mode)));
    const digested = plan.columns.map((c) => mysqlCanonical(col(c.name), c.mode));
    return { keys, values, keyText: joined(keys), rowText: joined(digested) };
  }
}
