/**
 * Is the target equal to the workload's final state? Row count + md5 over a canonical text of
 * every row, computed the same way from the generator (JS) and from the table (SQL). A run whose
 * target differs is reported FAIL, whatever its speed.
 */
import { createHash } from 'node:crypto';
import type { Client } from 'pg';
import { orderRow, orderRowText } from '../test/fixtures/factory';
import { quoteIdent } from './stack';
import type { Workload } from './workload';

/** typed: columns carry the schema's types; raw: schemaless, values as the JSON had them. */
export type Flavour = 'typed' | 'raw';

/** One row's canonical line: id|customer_id|status|amount|note|created_at|updated_at. */
export function canonicalLine(id: number, version: number, flavour: Flavour, o: DigestOptions = {}): string {
  const r = orderRow(id, version);
  const note = r.note === null || o.withoutNote === true ? '\\N' : String(r.note);
  if (flavour === 'raw') {
    return [id, r.customer_id, r.status, r.amount, note, r.created_at, r.updated_at].join('|');
  }
  const [, customer, status, amount, , created] = orderRowText(id, version);
  return [id, customer, status, amount, note, created, new Date(String(r.updated_at)).toISOString()].join('|');
}

/** withoutNote: the target has no note column (merge-filtered excludes it); the line holds \N there. */
export interface DigestOptions {
  readonly withoutNote?: boolean;
}

export interface TableDigest {
  rows: number;
  md5: string;
}

export function expectedDigest(w: Workload, flavour: Flavour, o: DigestOptions = {}): TableDigest {
  const ids = [...w.live.keys()].sort((a, b) => a - b);
  const h = createHash('md5');
  ids.forEach((id, i) => h.update((i ? '\n' : '') + canonicalLine(id, w.live.get(id)!, flavour, o)));
  return { rows: ids.length, md5: ids.length ? h.digest('hex') : createHash('md5').update('').digest('hex') };
}

// Casts make the text independent of the exact column types each writer chose
// (numeric vs numeric(12,2), timestamp(6) vs timestamp, timestamptz vs text).
const TYPED_LINE = `concat_ws('|', id, coalesce(customer_id::text, '\\N'), coalesce(status, '\\N'),
  coalesce(amount::numeric(12,2)::text, '\\N'), coalesce(note, '\\N'), coalesce(created_at::timestamp::text, '\\N'),
  coalesce(to_char(updated_at::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), '\\N'))`;
const RAW_LINE = `concat_ws('|', id, coalesce(customer_id::text, '\\N'), coalesce(status, '\\N'), coalesce(amount::text, '\\N'),
  coalesce(note, '\\N'), coalesce(created_at::text, '\\N'), coalesce(updated_at::text, '\\N'))`;

/**
 * Digest of the rows with id ≤ maxId (prefilled rows live above it). Needs TimeZone UTC.
 * `liveOnly`: a delete_mode soft target, whose deleted rows stay marked in _nilus_deleted_at.
 */
export async function tableDigest(c: Client, schema: string, table: string, flavour: Flavour, maxId: number, liveOnly = false, o: DigestOptions = {}): Promise<TableDigest> {
  const full = flavour === 'typed' ? TYPED_LINE : RAW_LINE;
  const line = o.withoutNote === true ? full.replace("coalesce(note, '\\N')", "'\\N'") : full;
  const live = liveOnly ? ' AND _nilus_deleted_at IS NULL' : '';
  const { rows } = await c.query<{ n: string; md5: string }>(
    `SELECT count(*)::bigint AS n, md5(coalesce(string_agg(line, E'\\n' ORDER BY id), '')) AS md5
       FROM (SELECT id, ${line} AS line FROM ${quoteIdent(schema)}.${quoteIdent(table)} WHERE id <= $1${live}) s`,
    [maxId],
  );
  return { rows: Number(rows[0]!.n), md5: rows[0]!.md5 };
}

export interface Verdict {
  ok: boolean;
  detail: string;
}

export function compareDigest(expected: TableDigest, actual: TableDigest): Verdict {
  const ok = expected.rows === actual.rows && expected.md5 === actual.md5;
  return {
    ok,
    detail: ok
      ? `${actual.rows} rows, md5 ${actual.md5}`
      : `expected ${expected.rows} rows md5 ${expected.md5}, found ${actual.rows} rows md5 ${actual.md5}`,
  };
}
