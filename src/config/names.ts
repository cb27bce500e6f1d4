/**
 * Table names in the manifest: `dest_table`, `source_table`, dead-letter tables, and the CDC
 * include/exclude lists.
 *
 * Case: names are kept exactly as written and quoted end to end (every SQL statement goes through
 * ident()), so `analytics.Orders` writes to the table PostgreSQL knows as "Orders". A part may
 * also be written in double quotes (`analytics."Order.Lines"`) when it holds a dot or a quote.
 * Unquoted names in psql fold to lower case, so a mixed-case target must be queried quoted;
 * that is why a mixed-case name draws a warning (see docs/manifest.md).
 */
import type { SourceTable, TableRef } from '../kernel/types';
import { identifierBytes, PG_MAX_IDENT_BYTES } from '../kernel/text';

const PLACEHOLDER = /\{([^{}]*)\}/g;
const KNOWN_PLACEHOLDERS = new Set(['schema', 'table']);

/** Split `a.b` / `"A.b"."c"` into parts, honouring double quotes ("" escapes a quote). */
export function splitQualified(s: string): string[] | string {
  const parts: string[] = [];
  let cur = '';
  let quoted = false;
  let wasQuoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quoted) {
      if (c === '"' && s[i + 1] === '"') { cur += '"'; i++; } else if (c === '"') quoted = false; else cur += c;
    } else if (c === '"') {
      if (cur.length > 0) return 'a double quote may only open a name part';
      quoted = true;
      wasQuoted = true;
    } else if (c === '.') {
      parts.push(cur);
      cur = '';
      wasQuoted = false;
    } else {
      if (wasQuoted) return 'text after a closing double quote';
      cur += c;
    }
  }
  if (quoted) return 'unclosed double quote';
  parts.push(cur);
  return parts;
}

/** `<schema>.<table>` → TableRef, or an error message quoting the seed's rule. */
export function parseTableName(s: string): TableRef | string {
  const parts = splitQualified(s.trim());
  if (typeof parts === 'string') return `${parts} in "${s}"`;
  if (parts.length !== 2 || parts.some((p) => p.trim() === '')) {
    return `dest_table must be \`<schema>.<table>\` (got "${s}"): use the explicit <schema>.<table> form, e.g. analytics.orders`;
  }
  if (parts.some((p) => identifierBytes(p) > PG_MAX_IDENT_BYTES)) {
    return `"${s}": a name part is longer than PostgreSQL's ${PG_MAX_IDENT_BYTES}-byte limit (bytes of UTF-8); PostgreSQL would silently cut it, so shorten it`;
  }
  return { schema: parts[0], table: parts[1] };
}

/** Placeholders used in a name that are not {schema} or {table}. */
export function unknownPlaceholders(s: string): string[] {
  return [...s.matchAll(PLACEHOLDER)].map((m) => m[1]).filter((p) => !KNOWN_PLACEHOLDERS.has(p));
}

export function hasTablePlaceholder(s: string): boolean {
  return s.includes('{table}');
}

export function isMixedCase(t: TableRef): boolean {
  const strip = (x: string): string => x.replace(PLACEHOLDER, '');
  return [t.schema, t.table].some((p) => strip(p) !== strip(p).toLowerCase());
}

/**
 * The destination of one source table: `{schema}` and `{table}` are replaced by the source's
 * names (case kept). Call this for every source table; a plain dest_table resolves to itself.
 */
export function resolveDestTable(destTable: string, source: SourceTable): TableRef {
  const t = parseTableName(destTable);
  if (typeof t === 'string') throw new TypeError(t);
  const fill = (p: string): string => p.replace(/\{schema\}/g, source.schema).replace(/\{table\}/g, source.table);
  return { schema: fill(t.schema), table: fill(t.table) };
}

/** Debezium-style list: comma-separated regexes, each anchored at both ends. */
export function compileList(list: string | undefined): { regexes: RegExp[]; bad: string[] } {
  const regexes: RegExp[] = [];
  const bad: string[] = [];
  for (const raw of (typeof list === 'string' ? list : '').split(',')) {
    const r = raw.trim();
    if (!r) continue;
    try {
      regexes.push(new RegExp(`^(?:${r})$`));
    } catch (e) {
      bad.push(`"${r}": ${(e as Error).message}`);
    }
  }
  return { regexes, bad };
}

/** True when a list entry names exactly one `<schema>.<table>` (dots, escaped or not, are separators). */
export function isSingleTableEntry(entry: string): boolean {
  return /^[A-Za-z0-9_$]+(\\?\.)[A-Za-z0-9_$]+$/.test(entry.trim());
}

/** Whether the include/exclude lists can select more than one source table. */
export function canMatchSeveral(includeList: string | undefined): boolean {
  const entries = (includeList ?? '').split(',').map((e) => e.trim()).filter(Boolean);
  return entries.length !== 1 || !isSingleTableEntry(entries[0]);
}

/** Whether `<schema>.<table>` is selected by anchored include/exclude regexes (empty include = all). */
export function tableSelected(sel: { include: readonly RegExp[]; exclude: readonly RegExp[] }, t: SourceTable): boolean {
  const name = `${t.schema}.${t.table}`;
  if (sel.include.length > 0 && !sel.include.some((r) => r.test(name))) return false;
  return !sel.exclude.some((r) => r.test(name));
}
