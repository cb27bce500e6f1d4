/**
 * PostgreSQL side of `nilus-pg verify` (the source of a PostgreSQL batch pipeline, and every
 * target): one REPEATABLE READ READ ONLY snapshot, bucket digests and bucket rows computed by SQL.
 *
 * Canonical text of a column (docs/types.md, "How verify compares values"):
 *  - plan.canon 'postgresql' (both sides PostgreSQL, same types): `col::text` under fixed session
 *    settings (TimeZone UTC, DateStyle ISO, IntervalStyle postgres, extra_float_digits 1, bytea hex);
 *  - plan.canon 'mysql' (the other side is MySQL/MariaDB): the form ./mysql-digest.ts can produce
 *    for the MySQL type the column was mapped from (see pgCanonical below);
 *  - plan.canon 'debezium' (a CDC pipeline from PostgreSQL): each column rendered by its *source*
 *    type on both sides, the source value as Debezium delivers it (see cdcCanonical below).
 */
import type { PoolClient, Pool } from '../pg/pool';
import { copyTo } from '../pg/copy';
import type { PgConnection } from '../config/types';
import type { TableRef } from '../kernel/types';
import { createPool } from '../pg/pool';
import { ident, tableName } from '../pg/ident';
import { CopyTextParser } from '../copy-text/parse';
import { BUILTIN_TYPES, bucketDigest, bucketRows, countWhere, DESCRIBE_TABLE, DIGEST_SESSION, DIGEST_TABLES, hashedRows, keysWhere } from '../tables/sql/postgresql';
import type { BucketDigest, BucketSet, CdcCanon, CdcColumnType, DigestColumn, DigestPlan, DigestReader, DigestSource, DigestTableInfo, HashedRow, JsonRow, KnownLoss } from './digest';

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
  // MySQL JSON has no SQL form equal to jsonb's text: the digest carries its shape only (see
  // digest.ts), whatever the target column is (jsonb from the batch copy, text from CDC)
  if (mode === 'json') return `jsonb_typeof((${c})::jsonb) || CASE WHEN jsonb_typeof((${c})::jsonb) = 'array' THEN ':' || jsonb_array_length((${c})::jsonb) ELSE '' END`;
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
    case 'time':
      // a MySQL time landed by CDC (Debezium's MicroTime) rather than as an interval by the batch copy
      return `round(extract(epoch FROM ${c}), 6)::text`;
    case 'json':
    case 'jsonb':
      return `(${c})::text`;
    default:
      return `(${c})::text`;
  }
}

/** The canonical text of a CDC column, and on the source side the rows Debezium cannot carry exactly. */
export interface CdcRendering {
  readonly expr: string;
  /** Source side only: SQL true for a row whose value the connector changes (docs/types.md, losses). */
  readonly loss?: { readonly where: string; readonly what: string };
}

/** Fraction digits dropped: `3.10` → `3.1`, `0.000` → `0` (VariableScaleDecimal drops them; trim_scale needs PostgreSQL 13). */
const trimmedNumeric = (t: string): string => `CASE WHEN position('.' in ${t}) > 0 THEN rtrim(rtrim(${t}, '0'), '.') ELSE ${t} END`;

/**
 * Column `c` (own base type `ownBase`) of a CDC pipeline from PostgreSQL, rendered by the source
 * column's type `t` so that a value and the value Debezium delivers for it give the same text:
 *  - the target column (auto-created as text, jsonb, bit varying… per docs/types.md) is first cast
 *    to the source type through its text (`'ab   '::text::character(5)`), so both sides print by
 *    the same type's rules; enums and other user types, which exist at the source only, compare as text;
 *  - representation changes that keep the value are canonicalised on both sides: json as jsonb,
 *    unconstrained numeric without trailing fractional zeros, timetz in UTC, intervals as
 *    Debezium's microseconds (months as 30.4375 days) unless interval.handling.mode=string;
 *  - on the source side, Debezium's documented losses are applied (NaN → NULL, no XML declaration,
 *    varbit without leading zeros, BC dates as AD, multi-dimensional arrays as their rows, each NULL),
 *    and each such column has a `loss` predicate, counted by knownLosses.
 */
export function cdcCanonical(c: string, ownBase: string, t: CdcColumnType, o: Pick<CdcCanon, 'side' | 'intervalString' | 'binaryMode'>): CdcRendering {
  const src = o.side === 'source';
  if (!t.builtin) return { expr: `(${c})::text` };
  if (t.base === 'bit' && /^bit\(1\)$/.test(t.type)) {
    // Debezium sends bit(1) as a boolean
    const x = src || ownBase === 'bit' ? c : ownBase === 'bool' ? `(${c})::bit(1)` : `(${c})::text::bit(1)`;
    return { expr: ownBase === 'bool' && !src ? `(${c})::text` : `((${x}) = B'1')::text` };
  }
  if (t.base === 'bytea' && o.binaryMode !== 'bytes') {
    const enc = (x: string) => (o.binaryMode === 'hex' ? `encode(${x}, 'hex')` : `translate(encode(${x}, 'base64'), E'\\n', '')`);
    return { expr: src || ownBase === 'bytea' ? enc(c) : `(${c})::text` };
  }
  // the target value, as the source type
  const x = src || ownBase === t.base ? c : `(${c})::text::${t.type}`;
  const loss = (where: string, what: string): CdcRendering['loss'] => (src ? { where, what } : undefined);
  const r = (expr: string, l?: CdcRendering['loss']): CdcRendering => (l ? { expr, loss: l } : { expr });
  switch (t.base) {
    case 'json':
      return r(`(${x})::jsonb::text`);
    case 'timetz':
      return r(`(${x} AT TIME ZONE 'UTC')::text`, loss(`extract(timezone FROM ${c}) <> 0`, 'the UTC offset (the instant is kept)'));
    case 'interval':
      if (o.intervalString) return r(`(${x})::text`);
      // Debezium's MicroDuration: ((years * 12 + months) * 30.4375 + days) days + time; PostgreSQL's
      // epoch counts a year as 365.25 days too but a month as 30: 0.4375 days (37800 s) per month more
      return r(`round((extract(epoch FROM ${x}) + extract(month FROM ${x}) * 37800)::numeric, 6)::text`,
        loss(`(extract(year FROM ${c}) <> 0 OR extract(month FROM ${c}) <> 0)`, 'years and months (sent as 365.25 and 30.4375 days)'));
    case 'numeric': {
      const text = t.type === 'numeric' ? trimmedNumeric(`(${x})::text`) : `(${x})::text`;
      return r(src ? `CASE WHEN ${c} = 'NaN' THEN NULL ELSE ${text} END` : text, loss(`${c} = 'NaN'`, 'NaN (sent as NULL)'));
    }
    case 'xml':
      return r(src ? `regexp_replace((${c})::text, '^\\s*<\\?xml[^>]*\\?>\\s*', '')` : `(${x})::text`,
        loss(`(${c})::text ~ '^\\s*<\\?xml'`, 'the XML declaration'));
    case 'varbit':
      return r(`ltrim((${x})::text, '0')`, loss(`(${c})::text LIKE '0%'`, 'leading zero bits'));
    case 'date':
      return r(`CASE WHEN isfinite(${x}) THEN to_char(${x}, 'YYYY-MM-DD') ELSE (${x})::text END`,
        loss(`(isfinite(${c}) AND ${c} < '0001-01-01'::date)`, 'the era of BC dates (sent as the same day AD)'));
    default:
      if (t.base.startsWith('_')) {
        return r(src ? `CASE WHEN array_ndims(${c}) > 1 THEN '{' || array_to_string(array_fill('NULL'::text, ARRAY[array_length(${c}, 1)]), ',') || '}' ELSE (${c})::text END` : `(${x})::text`,
          loss(`array_ndims(${c}) > 1`, 'the inner dimensions of multi-dimensional arrays (sent as NULLs)'));
      }
      return r(`(${x})::text`);
  }
}

/** `<length>:<text>` per part, `N` for NULL, joined by `|`. */
function joined(parts: readonly string[]): string {
  return `concat_ws('|', ${parts.map((p) => `COALESCE(length(${p}) || ':' || ${p}, 'N')`).join(', ')})`;
}

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
      await client.query(DIGEST_SESSION);
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
    const res = await this.client.query<{ estimate: number; columns: { name: string; type: string; base: string }[] | null; pk: string[] | null }>(DESCRIBE_TABLE, [table.schema, table.table]);
    const r = res.rows[0];
    if (!r || !r.columns) return undefined;
    this.bases.set(tableName(table), new Map(r.columns.map((c) => [c.name, c.base])));
    const b = await this.client.query<{ name: string; builtin: boolean }>(BUILTIN_TYPES, [table.schema, table.table]);
    const builtin = new Map(b.rows.map((x) => [x.name, x.builtin]));
    const columns: DigestColumn[] = r.columns.map((c) => ({ name: c.name, type: c.type, sqlExact: true, base: c.base, builtin: builtin.get(c.name) ?? false }));
    return { columns, primaryKey: r.pk ?? [], ...(r.estimate > 0 ? { estimatedRows: Math.round(r.estimate) } : {}) };
  }

  async digest(plan: DigestPlan, bits: number, within?: BucketSet): Promise<BucketDigest[]> {
    const { keyText, rowText } = this.texts(plan);
    // bigint: at depth 32 a bucket number passes int's range
    const res = await this.client.query<{ b: string; n: number; s: string }>(bucketDigest(plan.table, keyText, rowText, bits, within, plan.live), within ? [within.buckets] : []);
    return res.rows.map((x) => ({ bucket: Number(x.b), rows: x.n, sum: x.s }));
  }

  async *rows(plan: DigestPlan, within: readonly BucketSet[]): AsyncGenerator<HashedRow> {
    const { keyText, keys, values } = this.texts(plan);
    for await (const r of this.copyRows(bucketRows(plan.table, keyText, [...keys, ...values], within, plan.live), 1 + keys.length + values.length)) {
      yield { hash: Number(r[0]), key: r.slice(1, 1 + keys.length).map((k) => k ?? 'NULL'), values: r.slice(1 + keys.length) };
    }
  }

  async *jsonRows(plan: DigestPlan, within?: BucketSet): AsyncGenerator<JsonRow> {
    const { keyText, keys } = this.texts(plan);
    const docs = plan.columns.filter((c) => c.mode === 'json').map((c) => `${ident(c.name)}::text`);
    for await (const r of this.copyRows(hashedRows(plan.table, keyText, [...keys, ...docs], within, plan.live), 1 + keys.length + docs.length)) {
      yield { hash: Number(r[0]), key: r.slice(1, 1 + keys.length).map((k) => k ?? 'NULL'), docs: r.slice(1 + keys.length) };
    }
  }

  /** A COPY … TO STDOUT's rows as text arrays (the stream is paused while the consumer works). */
  private async *copyRows(copy: string, width: number): AsyncGenerator<(string | null)[]> {
    const names = Array.from({ length: width }, (_, i) => `c${i}`);
    const stream = this.client.query(copyTo(copy));
    stream.setEncoding('utf8');
    const parser = new CopyTextParser(names);
    const str = (x: unknown): string | null => (typeof x === 'string' ? x : null);
    for await (const chunk of stream as AsyncIterable<string>) {
      for (const r of parser.push(chunk)) yield names.map((n) => str(r[n]));
    }
    parser.end();
  }

  async tables(): Promise<TableRef[]> {
    return (await this.client.query<TableRef>(DIGEST_TABLES)).rows.map((r) => ({ schema: r.schema, table: r.table }));
  }

  async knownLosses(plan: DigestPlan, samples: number): Promise<KnownLoss[]> {
    const cdc = plan.cdc;
    if (plan.canon !== 'debezium' || cdc?.side !== 'source') return [];
    const bases = this.basesOf(plan);
    const lossy = plan.columns.flatMap((col) => {
      const t = cdc.types[col.name];
      const loss = t ? cdcCanonical(ident(col.name), bases.get(col.name) ?? t.base, t, cdc).loss : undefined;
      return loss ? [{ column: col.name, ...loss }] : [];
    });
    if (lossy.length === 0) return [];
    const counts = await this.client.query<Record<string, string>>(countWhere(plan.table, lossy.map((l) => l.where)));
    const { keys } = this.texts(plan);
    const out: KnownLoss[] = [];
    for (const [i, l] of lossy.entries()) {
      const rows = Number(counts.rows[0]?.[`c${i}`] ?? 0);
      if (rows === 0) continue;
      const res = await this.client.query<{ k: (string | null)[] }>(keysWhere(plan.table, keys, l.where, samples));
      const show = (k: (string | null)[]): string => (k.length === 1 ? k[0] ?? 'NULL' : `(${k.map((x) => x ?? 'NULL').join(', ')})`);
      out.push({ column: l.column, what: l.what, rows, samples: res.rows.map((x) => show(x.k)) });
    }
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.client.query('COMMIT').catch(() => undefined);
    this.client.release(true);
    await this.pool.end().catch(() => undefined);
  }

  /** Canonical expressions of the key and the columns; the key and row texts they join into. */
  private basesOf(plan: DigestPlan): Map<string, string> {
    const bases = this.bases.get(tableName(plan.table));
    if (!bases) throw new Error(`describe ${tableName(plan.table)} before digesting it`);
    return bases;
  }

  private texts(plan: DigestPlan): { keys: string[]; values: string[]; keyText: string; rowText: string } {
    const bases = this.basesOf(plan);
    const canon = (name: string, mode: 'exact' | 'json'): string => {
      const base = bases.get(name);
      if (base === undefined) throw new Error(`column ${name} is not in ${tableName(plan.table)}`);
      if (plan.canon === 'debezium') {
        const t = plan.cdc?.types[name];
        if (!plan.cdc || !t) throw new Error(`no source type for column ${name} of ${tableName(plan.table)}`);
        return cdcCanonical(ident(name), base, t, plan.cdc).expr;
      }
      return plan.canon === 'postgresql' ? `${ident(name)}::text` : pgCanonical(ident(name), base, mode);
    };
    const keys = plan.key.map((k) => canon(k, 'exact'));
    // rows() hands json documents over as stored, for the comparison after parsing
    const values = plan.columns.map((c) => (c.mode === 'json' ? `${ident(c.name)}::text` : canon(c.name, c.mode)));
    const digested = plan.columns.map((c) => canon(c.name, c.mode));
    return { keys, values, keyText: joined(keys), rowText: joined(digested) };
  }
}
