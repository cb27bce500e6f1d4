/**
 * The wide workload of the `merge-wide` run: a documents table whose every row carries a text
 * column of 8–16 KiB, so a backlog of few events is many times the memory budget in raw bytes.
 * Rows are deterministic in (id, version); the check compares md5 of each body, not the bodies.
 */
import { createHash } from 'node:crypto';
import type { Client } from 'pg';
import type { TableDef, Values } from '../test/fixtures/factory';
import type { TableDigest } from './check';
import { quoteIdent } from './stack';
import type { Workload } from './workload';

export const WIDE_TABLE = 'documents';

export function wideTable(prefix: string): TableDef {
  return {
    prefix,
    schema: 'public',
    table: WIDE_TABLE,
    key: ['id'],
    fields: [
      { name: 'id', type: 'int64', optional: false },
      { name: 'rev', type: 'int32', optional: true },
      { name: 'body', type: 'string', optional: true },
    ],
  };
}

/** 64 KiB of pseudo-random letters (seeded): bodies are slices of it, so PostgreSQL cannot compress them much. */
const BASE = (() => {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 .';
  let seed = 7;
  let s = '';
  for (let i = 0; i < 65_536; i++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    s += alphabet[seed >>> 26];
  }
  return s;
})();

const MIN_BODY = 8 * 1024;
const SPAN = 8 * 1024;

/** The body of (id, version): 8–16 KiB of ASCII, different for every version. */
export function wideBody(id: number, version: number): string {
  const h = (Math.imul(id, 0x9e3779b1) ^ Math.imul(version + 1, 0x85ebca6b)) >>> 0;
  const len = MIN_BODY + (h % SPAN);
  const at = (Math.imul(h, 2654435761) >>> 0) % (BASE.length - MIN_BODY - SPAN);
  return `${id}.${version} ${BASE.slice(at, at + len)}`;
}

export function wideRow(id: number, version: number): Values {
  return { id, rev: version, body: wideBody(id, version) };
}

export function wideLine(id: number, version: number): string {
  return `${id}|${version}|${createHash('md5').update(wideBody(id, version)).digest('hex')}`;
}

export function expectedWideDigest(w: Workload): TableDigest {
  const ids = [...w.live.keys()].sort((a, b) => a - b);
  const h = createHash('md5');
  ids.forEach((id, i) => h.update((i ? '\n' : '') + wideLine(id, w.live.get(id)!)));
  return { rows: ids.length, md5: h.digest('hex') };
}

export async function wideTableDigest(c: Client, schema: string): Promise<TableDigest> {
  const { rows } = await c.query<{ n: string; md5: string }>(
    `SELECT count(*)::bigint AS n, md5(coalesce(string_agg(concat_ws('|', id, rev, md5(body)), E'\\n' ORDER BY id), '')) AS md5
       FROM ${quoteIdent(schema)}.${quoteIdent(WIDE_TABLE)}`,
  );
  return { rows: Number(rows[0]!.n), md5: rows[0]!.md5 };
}
