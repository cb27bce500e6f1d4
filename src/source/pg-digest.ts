/**
 * PostgreSQL side of `nilus-pg verify` (the source of a PostgreSQL batch pipeline, and every
 * target): one REPEATABLE READ READ ONLY snapshot, bucket digests and bucket rows computed by SQL.
 *
 * Canonical text of a column (docs/types.md, "How verify compares values"):
 *  - plan.canon 'postgresql' (both sides PostgreSQL, same types): `col::text` under fixed session
 *    settings (TimeZone UTC, DateStyle ISO, IntervalStyle postgres, extra_float_digits 1, bytea hex);
 *  - plan.canon 'mysql' (the other side is MySQL/MariaDB): the form ./mysql-digest.ts can produce
 *    for the MySQL type the column was mapped from (see pgCanonical below).
 */
import type { PoolClient, Pool } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type { PgConnection } from '../config/types';
import type { TableRef } from '../core/types';
import { createPool } from '../connect/pg';
import { ident, tableName } from '../apply/sql/ident';
import { CopyTextParser } from './copy-text';
import { DESCRIBE_SQL } from './pg-table';
import type { BucketDigest, BucketSet, DigestColumn, DigestPlan, DigestReader, DigestSource, DigestTableInfo, HashedRow, JsonRow } from './digest';

/**
 * A double's shortest text (`1.5e-07`, `1e+20`, `0.00000015`) → `<significant digits>e<exponent>`
 * (`15e-7`, `1e20`), the same digits both databases print, without their different layouts.
 */
function pgScientific(t: string): string {
  const m = `split_part(${t}, 'e', 1)`;
  const ex = `COALESCE(NULLIF(split_part(${t}, 'e', 2), '')::int, 0)`;
  const u = `ltrim(${m}, '-')`;
  const i = `split_part(${u}, '.', 1)`;
  const a = `(${i} || split_part(${u}, '.', 2))`;
  const s = `ltrim(${a}, '0')`;
  const sig = `rtrim(${s}, '0')`;
  const exp = `(${ex} + length(${i}) - (length(${a}) - length(${s})) - 1)`;
  return `CASE WHEN ${t} IN ('NaN', 'Infinity', '-Infinity') THEN ${t} WHEN ${sig} = '' THEN '0' ` +
    `ELSE CASE WHEN left(${t}, 1) = '-' THEN '-' ELSE '' END || ${sig} || 'e' || ${exp} END`;
}

/** The canonical text of column `c` (base type `base`) that a MySQL/MariaDB source renders too. */
function pgCanonical(c: string, base: string, mode: 'exact' | 'json'): string {
  switch (base) {
    case 'float4':
    case 'float8': {
      // Both databases print the same shortest digits; between 1e-4 and 1e15 both print them
      // fixed (1234.5), elsewhere their layouts differ and the text is normalised (cheap path first)
      const x = `(${c})::float8`;
      return `CASE WHEN ${x} = 0 THEN '0' WHEN abs(${x}) >= 1e-4::float8 AND abs(${x}) < 1e15::float8 THEN ${x}::text ELSE ${pgScientific(`${x}::text`)} END`;
    }
    case 'bytea':
      return `encode(${c}, 'hex')`;
    case 'timestamp':
    case 'timestamptz': {
      const bc = base === 'timestamp' ? `'0001-01-01'::timestamp` : `'0001-01-01 00:00:00+00'::timestamptz`;
      return `CASE WHEN isfinite(${c}) THEN to_char(${c}, 'YYYY-MM-DD HH24:MI:SS.US') || CASE WHEN ${c} < ${bc} THEN ' BC' ELSE '' END ELSE ${c}::text END`;
    }
    case 'interval':
      return `round(extract(epoch FROM ${c}), 6)::text`;
    case 'inet':
      // the output form (no /32 or /128 on a host), which MariaDB's inet4/inet6 print; inet::text adds it
      return `abbrev(${c})`;
    case 'json':
    case 'jsonb':
      // MySQL JSON has no SQL form equal to jsonb's text: the digest carries its shape only (see digest.ts)
      return mode === 'json'
        ? `jsonb_typeof((${c})::jsonb) || CASE WHEN jsonb_typeof((${c})::jsonb) = 'array' THEN ':' || jsonb_array_length((${c})::jsonb) ELSE '' END`
        : `(${c})::text`;
    default:
      return `(${c})::text`;
  }
}

/** `<length>:<text>` per part, `N` for NULL, joined by `|`. */
function joined(parts: readonly string[]): string {
  return `concat_ws('|', ${parts.map((p) => `COALESCE(length(${p}) || ':' || ${p}, 'N')`).join(', ')})`;
}

/**
 * Rows of the bucket sets, as SQL. COPY takes no parameters: the bucket numbers are integers
 * written into the statement.
 */
function inBuckets(h: string, sets: readonly BucketSet[]): string {
  return '(' + sets.map((s) => `${h} >> ${32 - s.bits} = ANY('{${s.buckets.map((b) => Math.trunc(b)).join(',')}}'::bigint[])`).join(' OR ') + ')';
}

const h32 = (keyText: string): string => `('x' || substr(md5(${keyText}), 1, 8))::bit(32)::bigint`;
const r60 = (rowText: string): string => `('x' || substr(md5(${rowText}), 1, 15))::bit(60)::bigint`;

export class PgDigestSource implements DigestSource {
  readonly display: string;

  constructor(private readonly conn: PgConnection) {
    this.display = `postgresql://${conn.host}:${conn.port}/${conn.database}`;
  }

  async open(): Promise<DigestReader> {
    const pool = await createPool(this.conn, 1);
    let client: PoolClient | undefined;
    try {
      client = await pool.connect();
      await client.query("SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; SET extra_float_digits = 1; SET bytea_output = 'hex'");
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    } catch (e) {
      client?.release(true);
      await pool.end().catch(() => undefined);
      throw e;
    }
    return new PgDigestReader(pool, client);
  }
}

class PgDigestReader implements DigestReader {
  private readonly bases = new Map<string, Map<string, string>>();
  private closed = false;

  constructor(
    private readonly pool: Pool,
    private readonly client: PoolClient,
  ) {}

  async describe(table: TableRef): Promise<DigestTableInfo | undefined> {
    const res = await this.client.query<{ estimate: number; columns: { name: string; type: string; base: string }[] | null; pk: string[] | null }>(DESCRIBE_SQL, [table.schema, table.table]);
    const r = res.rows[0];
    if (!r || !r.columns) return undefined;
    this.bases.set(tableName(table), new Map(r.columns.map((c) => [c.name, c.base])));
    const columns: DigestColumn[] = r.columns.map((c) => ({ name: c.name, type: c.type, sqlExact: true }));
    return { columns, primaryKey: r.pk ?? [], ...(r.estimate > 0 ? { estimatedRows: Math.round(r.estimate) } : {}) };
  }

  async digest(plan: DigestPlan, bits: number, within?: BucketSet): Promise<BucketDigest[]> {
    const { keyText, rowText } = this.texts(plan);
    const sql = `SELECT h >> ${32 - bits} AS b, count(*)::int AS n, sum(r)::text AS s
                   FROM (SELECT ${h32(keyText)} AS h, ${r60(rowText)} AS r FROM ${tableName(plan.table)}) q
                  ${within ? `WHERE h >> ${32 - within.bits} = ANY($1::bigint[])` : ''} GROUP BY 1`;
    // bigint: at depth 32 a bucket number passes int's range
    const res = await this.client.query<{ b: string; n: number; s: string }>(sql, within ? [within.buckets] : []);
    return res.rows.map((x) => ({ bucket: Number(x.b), rows: x.n, sum: x.s }));
  }

  async *rows(plan: DigestPlan, within: readonly BucketSet[]): AsyncGenerator<HashedRow> {
    const { keyText, keys, values } = this.texts(plan);
    const h = h32(keyText);
    const sql = `SELECT ${h}, ${[...keys, ...values].join(', ')} FROM ${tableName(plan.table)} WHERE ${inBuckets(h, within)} ORDER BY 1`;
    for await (const r of this.copyRows(sql, 1 + keys.length + values.length)) {
      yield { hash: Number(r[0]), key: r.slice(1, 1 + keys.length).map((k) => k ?? 'NULL'), values: r.slice(1 + keys.length) };
    }
  }

  async *jsonRows(plan: DigestPlan, within?: BucketSet): AsyncGenerator<JsonRow> {
    const { keyText, keys } = this.texts(plan);
    const docs = plan.columns.filter((c) => c.mode === 'json').map((c) => `${ident(c.name)}::text`);
    const h = h32(keyText);
    const sql = `SELECT ${h}, ${[...keys, ...docs].join(', ')} FROM ${tableName(plan.table)}${within ? ` WHERE ${inBuckets(h, [within])}` : ''}`;
    for await (const r of this.copyRows(sql, 1 + keys.length + docs.length)) {
      yield { hash: Number(r[0]), key: r.slice(1, 1 + keys.length).map((k) => k ?? 'NULL'), docs: r.slice(1 + keys.length) };
    }
  }

  /** A query's rows as text arrays, streamed with COPY (the stream is paused while the consumer works). */
  private async *copyRows(select: string, width: number): AsyncGenerator<(string | null)[]> {
    const names = Array.from({ length: width }, (_, i) => `c${i}`);
    const stream = this.client.query(copyTo(`COPY (${select}) TO STDOUT`));
    stream.setEncoding('utf8');
    const parser = new CopyTextParser(names);
    const str = (x: unknown): string | null => (typeof x === 'string' ? x : null);
    for await (const chunk of stream as AsyncIterable<string>) {
      for (const r of parser.push(chunk)) yield names.map((n) => str(r[n]));
    }
    parser.end();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.client.query('COMMIT').catch(() => undefined);
    this.client.release(true);
    await this.pool.end().catch(() => undefined);
  }

  /** Canonical expressions of the key and the columns; the key and row texts they join into. */
  private texts(plan: DigestPlan): { keys: string[]; values: string[]; keyText: string; rowText: string } {
    const bases = this.bases.get(tableName(plan.table));
    if (!bases) throw new Error(`describe ${tableName(plan.table)} before digesting it`);
    const canon = (name: string, mode: 'exact' | 'json'): string => {
      const base = bases.get(name);
      if (base === undefined) throw new Error(`column ${name} is not in ${tableName(plan.table)}`);
      return plan.canon === 'postgresql' ? `${ident(name)}::text` : pgCanonical(ident(name), base, mode);
    };
    const keys = plan.key.map((k) => canon(k, 'exact'));
    // rows() hands json documents over as stored, for the comparison after parsing
    const values = plan.columns.map((c) => (c.mode === 'json' ? `${ident(c.name)}::text` : canon(c.name, c.mode)));
    const digested = plan.columns.map((c) => canon(c.name, c.mode));
    return { keys, values, keyText: joined(keys), rowText: joined(digested) };
  }
}
