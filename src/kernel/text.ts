/**
 * Text that came from a record (its bytes, or a message quoting them) made safe to store in a
 * PostgreSQL `text` column, a log line or a Kafka header: PostgreSQL text cannot hold NUL, and a
 * lone UTF-16 surrogate (from a record cut in the middle of a character) is not valid UTF-8.
 *
 * NUL becomes the six characters `\u0000`; lone surrogates become U+FFFD. Everything else is kept
 * as it is, so an ordinary message reads the same.
 */

const NUL = /\u0000/g;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export function safeText(s: string): string {
  let out = s.includes('\u0000') ? s.replace(NUL, '\\u0000') : s;
  LONE_SURROGATE.lastIndex = 0;
  if (LONE_SURROGATE.test(out)) out = out.replace(LONE_SURROGATE, '\uFFFD');
  LONE_SURROGATE.lastIndex = 0;
  return out;
}

const UTF8 = new TextEncoder();

/**
 * The name PostgreSQL actually uses for an identifier: at most NAMEDATALEN-1 = 63 bytes of UTF-8,
 * cut on a character boundary (PostgreSQL's truncate_identifier with pg_mbcliplen). Longer names
 * are silently truncated by the server, so two different long names can end up as one table.
 */
export const PG_MAX_IDENT_BYTES = 63;

export function pgIdentifier(name: string): string {
  if (name.length <= PG_MAX_IDENT_BYTES / 3) return name; // ≤ 21 UTF-16 units is ≤ 63 bytes
  const bytes = UTF8.encode(name);
  if (bytes.length <= PG_MAX_IDENT_BYTES) return name;
  let out = '';
  let used = 0;
  for (const ch of name) {
    const n = UTF8.encode(ch).length;
    if (used + n > PG_MAX_IDENT_BYTES) break;
    out += ch;
    used += n;
  }
  return out;
}

export function identifierBytes(name: string): number {
  return UTF8.encode(name).length;
}
